# Builds the external tools perfspect embeds: perf (from Debian's linux source
# package) and fio (from Debian's fio source package), static and stripped, for
# x86_64 natively and aarch64 cross-compiled. The final stage holds only the
# outputs, in the layout tools-cache/ mirrors.
#
# Driven by `cargo tools`, which passes the pins of tools/versions.env as build
# arguments; there are deliberately no defaults so a stale pin cannot hide here.
ARG BASE_IMAGE=debian:bookworm

FROM ${BASE_IMAGE} AS base
ARG DEBIAN_MIRROR=http://deb.debian.org/debian
ENV DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Only bookworm main: the pinned source versions come from there, and the same
# mirror serves both architectures' build dependencies.
RUN rm -f /etc/apt/sources.list.d/* \
 && printf 'deb %s bookworm main\ndeb-src %s bookworm main\n' "$DEBIAN_MIRROR" "$DEBIAN_MIRROR" > /etc/apt/sources.list \
 && dpkg --add-architecture arm64 \
 && { apt-get update -q -o APT::Update::Error-Mode=any \
      || { echo "error: the Debian mirror $DEBIAN_MIRROR is not reachable from the build containers: check Docker's network and proxy settings, or set PERFSPECT_DEBIAN_MIRROR to a mirror that is" >&2; exit 1; }; } \
 && apt-get install -y -q --no-install-recommends \
      build-essential dpkg-dev pkg-config flex bison python3 python3-dev xz-utils \
      gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu \
      systemtap-sdt-dev \
      libelf-dev libdw-dev libbz2-dev libzstd-dev liblzma-dev zlib1g-dev libslang2-dev \
      libunwind-dev libcap-dev libnuma-dev libiberty-dev libaio-dev \
      libelf-dev:arm64 libdw-dev:arm64 libbz2-dev:arm64 libzstd-dev:arm64 liblzma-dev:arm64 \
      zlib1g-dev:arm64 libslang2-dev:arm64 libunwind-dev:arm64 libcap-dev:arm64 \
      libnuma-dev:arm64 libiberty-dev:arm64 libaio-dev:arm64 \
 && rm -rf /var/lib/apt/lists/*

FROM base AS sources
ARG LINUX_VERSION
ARG FIO_VERSION
ARG DEBIAN_MIRROR=http://deb.debian.org/debian
WORKDIR /src
# apt lists were dropped from the base layer; fetch them again for the sources.
RUN test -n "$LINUX_VERSION" && test -n "$FIO_VERSION" \
 && { apt-get update -q -o APT::Update::Error-Mode=any \
      || { echo "error: the Debian mirror $DEBIAN_MIRROR is not reachable from the build containers: check Docker's network and proxy settings, or set PERFSPECT_DEBIAN_MIRROR to a mirror that is" >&2; exit 1; }; } \
 && { apt-get source -q --download-only "linux=$LINUX_VERSION" \
      || { echo "error: linux $LINUX_VERSION is not on $DEBIAN_MIRROR: update LINUX_VERSION in tools/versions.env" >&2; exit 1; }; } \
 && { apt-get source -q --download-only "fio=$FIO_VERSION" \
      || { echo "error: fio $FIO_VERSION is not on $DEBIAN_MIRROR: update FIO_VERSION in tools/versions.env" >&2; exit 1; }; } \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir /pkg && mv ./*.dsc ./*.tar.* /pkg/ \
 && dpkg-source -x /pkg/linux_*.dsc linux \
 && dpkg-source -x /pkg/fio_*.dsc fio

FROM sources AS fio-x86_64
WORKDIR /src/fio
RUN ./configure --disable-native --build-static \
 && make -j"$(nproc)" fio \
 && mkdir -p /out && strip -o /out/fio fio

FROM sources AS fio-aarch64
WORKDIR /src/fio
RUN ./configure --disable-native --build-static --cc=aarch64-linux-gnu-gcc \
 && make -j"$(nproc)" fio \
 && mkdir -p /out && aarch64-linux-gnu-strip -o /out/fio fio

# Flags for a static perf: the Makefile.perf entry point keeps command-line
# overrides (the tools/perf/Makefile wrapper drops some), DWARFLIBS avoids the
# -lebl elfutils no longer ships, and the NO_* switches leave out what cannot
# link statically or carries an incompatible licence.
FROM sources AS perf-base
ENV PERF_FLAGS="LDFLAGS=-static DLFILTERS= WERROR=0 PYTHON=python3 \
 NO_LIBPYTHON=1 NO_LIBPERL=1 NO_GTK2=1 NO_JVMTI=1 NO_LIBBFD=1 \
 NO_LIBDEBUGINFOD=1 NO_LIBCRYPTO=1 NO_LIBBABELTRACE=1"
ENV PERF_DWARFLIBS="-ldw -lelf -ldl -lz -llzma -lbz2 -lzstd"

# On x86_64 perf unwinds call graphs with libdw; the static libunwind feature
# check fails there, so it is left to report itself off.
FROM perf-base AS perf-x86_64
WORKDIR /src/linux
# PERF_FLAGS is split into words on purpose.
# hadolint ignore=SC2086
RUN mkdir -p /build /out \
 && make -C tools/perf -f Makefile.perf O=/build -j"$(nproc)" $PERF_FLAGS \
      DWARFLIBS="$PERF_DWARFLIBS" \
 && strip -o /out/perf /build/perf

FROM perf-base AS perf-aarch64
WORKDIR /src/linux
# hadolint ignore=SC2086
RUN mkdir -p /build /out \
 && make -C tools/perf -f Makefile.perf O=/build -j"$(nproc)" $PERF_FLAGS \
      ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- \
      DWARFLIBS="$PERF_DWARFLIBS" \
      LIBUNWIND_LIBS="-lunwind -lunwind-aarch64 -llzma" \
      FEATURE_CHECK_LDFLAGS-libunwind-aarch64="-lunwind -lunwind-aarch64 -llzma" \
 && aarch64-linux-gnu-strip -o /out/perf /build/perf

# The exact sources of what ships (Debian source packages as fetched) and their
# licence texts, archived reproducibly: sorted, root-owned, fixed mtime, no
# gzip name or time.
FROM sources AS oss
WORKDIR /oss
# The pipe runs under the SHELL with pipefail set in the base stage, which
# hadolint does not follow across stages.
# hadolint ignore=DL4006
RUN mkdir -p oss_source/licenses/linux oss_source/licenses/fio \
 && cp /pkg/* oss_source/ \
 && cp /src/linux/COPYING /src/linux/debian/copyright oss_source/licenses/linux/ \
 && cp -r /src/linux/LICENSES oss_source/licenses/linux/ \
 && cp /src/fio/COPYING /src/fio/MORAL-LICENSE /src/fio/debian/copyright oss_source/licenses/fio/ \
 && tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --mode=u+rw,go=rX \
      -cf - oss_source | gzip -n -6 > oss_source.tgz \
 && md5sum oss_source.tgz > oss_source.tgz.md5

FROM scratch
COPY --from=perf-x86_64 /out/perf /bin/x86_64/perf
COPY --from=fio-x86_64 /out/fio /bin/x86_64/fio
COPY --from=perf-aarch64 /out/perf /bin/aarch64/perf
COPY --from=fio-aarch64 /out/fio /bin/aarch64/fio
COPY --from=oss /oss/oss_source.tgz /oss/oss_source.tgz.md5 /
