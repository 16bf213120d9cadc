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
      libelf-dev libdw-dev libbz2-dev libzstd-dev liblzma-dev zlib1g-dev \
      libunwind-dev libcap-dev libnuma-dev libiberty-dev libaio-dev \
      libc6-dev:arm64 libgcc-12-dev:arm64 \
      libelf-dev:arm64 libdw-dev:arm64 libbz2-dev:arm64 libzstd-dev:arm64 liblzma-dev:arm64 \
      zlib1g-dev:arm64 libunwind-dev:arm64 libcap-dev:arm64 \
      libnuma-dev:arm64 libiberty-dev:arm64 libaio-dev:arm64 \
 && rm -rf /var/lib/apt/lists/*
# Every link writes a map beside its output ($@ is expanded by make at link
# time); the oss stage reads each tool's map. The aarch64 links take libc
# and libgcc from the arm64 packages of glibc and gcc-12 (libc6-dev:arm64,
# libgcc-12-dev:arm64): the cross toolchain's own copies come from source
# packages the mirror does not serve (cross-toolchain-base, gcc-12-cross), and
# nothing is shipped without its source. -B puts those directories ahead of the
# cross compiler's for start-up files and libraries.
ENV LINK_MAP='-Wl,-Map=$@.ldmap' \
    ARM64_LIBS='-B/usr/lib/aarch64-linux-gnu/ -B/usr/lib/gcc/aarch64-linux-gnu/12/'

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
RUN LDFLAGS="$LINK_MAP" ./configure --disable-native --build-static \
 && make -j"$(nproc)" fio \
 && mkdir -p /out && strip -o /out/fio fio \
 && cp fio.ldmap /out/

FROM sources AS fio-aarch64
WORKDIR /src/fio
RUN LDFLAGS="$ARM64_LIBS $LINK_MAP" ./configure --disable-native --build-static --cc=aarch64-linux-gnu-gcc \
 && make -j"$(nproc)" fio \
 && mkdir -p /out && aarch64-linux-gnu-strip -o /out/fio fio \
 && cp fio.ldmap /out/

# Flags for a static perf: the Makefile.perf entry point keeps command-line
# overrides (the tools/perf/Makefile wrapper drops some), DWARFLIBS avoids the
# -lebl elfutils no longer ships, and the NO_* switches leave out what cannot
# link statically, carries an incompatible licence or (slang, for the TUI
# perfspect does not use) has no source on the mirror.
FROM sources AS perf-base
ENV PERF_FLAGS="DLFILTERS= WERROR=0 PYTHON=python3 \
 NO_LIBPYTHON=1 NO_LIBPERL=1 NO_GTK2=1 NO_JVMTI=1 NO_LIBBFD=1 \
 NO_LIBDEBUGINFOD=1 NO_LIBCRYPTO=1 NO_LIBBABELTRACE=1 NO_SLANG=1"
ENV PERF_DWARFLIBS="-ldw -lelf -ldl -lz -llzma -lbz2 -lzstd"

# On x86_64 perf unwinds call graphs with libdw; the static libunwind feature
# check fails there, so it is left to report itself off.
FROM perf-base AS perf-x86_64
WORKDIR /src/linux
# PERF_FLAGS is split into words on purpose.
# hadolint ignore=SC2086
RUN mkdir -p /build /out \
 && make -C tools/perf -f Makefile.perf O=/build -j"$(nproc)" $PERF_FLAGS \
      LDFLAGS="-static $LINK_MAP" DWARFLIBS="$PERF_DWARFLIBS" \
 && strip -o /out/perf /build/perf \
 && cp /build/perf.ldmap /out/

FROM perf-base AS perf-aarch64
WORKDIR /src/linux
# hadolint ignore=SC2086
RUN mkdir -p /build /out \
 && make -C tools/perf -f Makefile.perf O=/build -j"$(nproc)" $PERF_FLAGS \
      ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- \
      LDFLAGS="-static $ARM64_LIBS $LINK_MAP" DWARFLIBS="$PERF_DWARFLIBS" \
      LIBUNWIND_LIBS="-lunwind -lunwind-aarch64 -llzma" \
      FEATURE_CHECK_LDFLAGS-libunwind-aarch64="-lunwind -lunwind-aarch64 -llzma" \
 && aarch64-linux-gnu-strip -o /out/perf /build/perf \
 && cp /build/perf.ldmap /out/

# What each link used, from its map: the archives members were taken from
# ("Archive member included" section) and the objects it loaded (LOAD lines),
# outside the trees built here, each with the Debian package that owns it, as
# /linked/<arch>/<tool>.tsv (path, package, version, source package, source
# version). A linked file no package owns fails the build: its source could not
# be shipped.
#
# Then the exact sources of what ships, archived reproducibly (sorted,
# root-owned, fixed mtime, no gzip name or time): the tools' Debian source
# packages as fetched, and those of every library in those lists, each with its
# licence texts.
FROM sources AS oss
ARG DEBIAN_MIRROR=http://deb.debian.org/debian
COPY --from=perf-x86_64 /out/perf.ldmap /linked/x86_64/perf.ldmap
COPY --from=fio-x86_64 /out/fio.ldmap /linked/x86_64/fio.ldmap
COPY --from=perf-aarch64 /out/perf.ldmap /linked/aarch64/perf.ldmap
COPY --from=fio-aarch64 /out/fio.ldmap /linked/aarch64/fio.ldmap
WORKDIR /oss/oss_source
# The pipes run under the SHELL with pipefail set in the base stage, which
# hadolint does not follow across stages; the awk programs are quoted on purpose.
# hadolint ignore=DL4006,SC2016
RUN for map in /linked/*/*.ldmap; do \
      awk 'function keep(f) { if (f ~ /^\// && f !~ /^\/(src|build|tmp)\//) print f } \
           /^Archive member included/ { on = 1; next } \
           /^(Discarded input sections|Allocating common symbols|Memory Configuration)/ { on = 0 } \
           on && /^\// { sub(/\(.*/, "", $1); keep($1) } \
           $1 == "LOAD" && $2 ~ /\.o$/ { keep($2) }' "$map" \
      | xargs -r realpath -e | sort -u > /tmp/files || exit 1; \
      test -s /tmp/files || { echo "error: $map lists no linked file: the link map format changed" >&2; exit 1; }; \
      while read -r file; do \
        owner=$( { dpkg -S "$file" || dpkg -S "${file#/usr}"; } 2>/dev/null | head -n1 | sed 's/: .*//'); \
        test -n "$owner" || { echo "error: ${map%.ldmap}: the link used $file, which no Debian package owns: its source cannot be shipped" >&2; exit 1; }; \
        dpkg-query -W -f "$file\t\${binary:Package}\t\${Version}\t\${source:Package}\t\${source:Version}\n" "$owner" || exit 1; \
      done < /tmp/files > "${map%.ldmap}.tsv" || exit 1; \
      rm "$map"; \
    done \
 && mkdir -p licenses/linux licenses/fio \
 && cp /pkg/* . \
 && cp /src/linux/COPYING /src/linux/debian/copyright licenses/linux/ \
 && cp -r /src/linux/LICENSES licenses/linux/ \
 && cp /src/fio/COPYING /src/fio/MORAL-LICENSE /src/fio/debian/copyright licenses/fio/ \
 && { apt-get update -q -o APT::Update::Error-Mode=any \
      || { echo "error: the Debian mirror $DEBIAN_MIRROR is not reachable from the build containers: check Docker's network and proxy settings, or set PERFSPECT_DEBIAN_MIRROR to a mirror that is" >&2; exit 1; }; } \
 && cut -f2,4,5 /linked/*/*.tsv | sort -u -t "$(printf '\t')" -k2,3 > /tmp/libraries \
 && while IFS="$(printf '\t')" read -r binary source version; do \
      apt-get source -q --download-only "$source=$version" > /dev/null \
      || { echo "error: the source of $source $version, linked into the tools, is not on $DEBIAN_MIRROR: build the tools without that library (a release never ships a library without its source)" >&2; exit 1; }; \
      mkdir -p "licenses/$source" \
      && cp -L "/usr/share/doc/${binary%%:*}/copyright" "licenses/$source/copyright" \
      || exit 1; \
    done < /tmp/libraries \
 && rm -rf /var/lib/apt/lists/* \
 && tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --mode=u+rw,go=rX \
      -C /oss -cf - oss_source | gzip -n -6 > /oss/oss_source.tgz \
 && md5sum /oss/oss_source.tgz | sed 's| /oss/| |' > /oss/oss_source.tgz.md5

FROM scratch
COPY --from=perf-x86_64 /out/perf /bin/x86_64/perf
COPY --from=fio-x86_64 /out/fio /bin/x86_64/fio
COPY --from=perf-aarch64 /out/perf /bin/aarch64/perf
COPY --from=fio-aarch64 /out/fio /bin/aarch64/fio
COPY --from=oss /oss/oss_source.tgz /oss/oss_source.tgz.md5 /
COPY --from=oss /linked /linked
