# fio, from Debian's fio source package.
# `env` is the stage of tools/env.Dockerfile, which `cargo tools` puts first.
# hadolint ignore=DL3006
FROM env AS fio-source
ARG FIO_VERSION
ARG DEBIAN_MIRROR=http://deb.debian.org/debian
RUN test -n "$FIO_VERSION" \
 && { apt-get source -q --download-only "fio=$FIO_VERSION" \
      || { echo "error: fio $FIO_VERSION is not on $DEBIAN_MIRROR: update FIO_VERSION in tools/versions.env" >&2; exit 1; }; } \
 && mkdir -p /oss/licenses/fio && mv ./*.dsc ./*.tar.* /oss/ \
 && dpkg-source -x /oss/fio_*.dsc fio \
 && cp fio/COPYING fio/MORAL-LICENSE fio/debian/copyright /oss/licenses/fio/

FROM fio-source AS fio-x86_64
WORKDIR /src/fio
RUN LDFLAGS="$LINK_MAP" ./configure --disable-native --build-static \
 && make -j"$(nproc)" fio \
 && mkdir -p /out && strip -o /out/fio fio \
 && cp fio.ldmap /out/

FROM fio-source AS fio-aarch64
WORKDIR /src/fio
RUN LDFLAGS="$ARM64_LIBS $LINK_MAP" ./configure --disable-native --build-static --cc=aarch64-linux-gnu-gcc \
 && make -j"$(nproc)" fio \
 && mkdir -p /out && aarch64-linux-gnu-strip -o /out/fio fio \
 && cp fio.ldmap /out/
