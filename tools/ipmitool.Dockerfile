# ipmitool, from Debian's ipmitool source package: the local (open) interface
# perfspect reads sensors and the event log through. Without the USB and
# LAN+ interfaces and the interactive shell (its readline does not link
# statically). libtool drops a plain -static, hence -all-static.
# `env` is the stage of tools/env.Dockerfile, which `cargo tools` puts first.
# hadolint ignore=DL3006
FROM env AS ipmitool-source
ARG IPMITOOL_VERSION
ARG DEBIAN_MIRROR=http://deb.debian.org/debian
RUN test -n "$IPMITOOL_VERSION" \
 && { apt-get source -q --download-only "ipmitool=$IPMITOOL_VERSION" \
      || { echo "error: ipmitool $IPMITOOL_VERSION is not on $DEBIAN_MIRROR: update IPMITOOL_VERSION in tools/versions.env" >&2; exit 1; }; } \
 && mkdir -p /oss/licenses/ipmitool && mv ./*.dsc ./*.tar.* /oss/ \
 && dpkg-source -x /oss/ipmitool_*.dsc ipmitool \
 && cp ipmitool/COPYING ipmitool/debian/copyright /oss/licenses/ipmitool/
WORKDIR /src/ipmitool
RUN test -x configure || autoreconf -fi
ENV IPMITOOL_FLAGS="--disable-shared --enable-static --disable-intf-usb \
 --disable-intf-lanplus --disable-ipmishell"

FROM ipmitool-source AS ipmitool-x86_64
WORKDIR /src/ipmitool
# IPMITOOL_FLAGS is split into words on purpose.
# hadolint ignore=SC2086
RUN ./configure $IPMITOOL_FLAGS \
 && make -j"$(nproc)" LDFLAGS="-all-static $LINK_MAP" \
 && mkdir -p /out && strip -o /out/ipmitool src/ipmitool \
 && cp src/ipmitool.ldmap /out/

FROM ipmitool-source AS ipmitool-aarch64
WORKDIR /src/ipmitool
# hadolint ignore=SC2086
RUN ./configure --host=aarch64-linux-gnu $IPMITOOL_FLAGS \
 && make -j"$(nproc)" LDFLAGS="-all-static $ARM64_LIBS $LINK_MAP" \
 && mkdir -p /out && aarch64-linux-gnu-strip -o /out/ipmitool src/ipmitool \
 && cp src/ipmitool.ldmap /out/
