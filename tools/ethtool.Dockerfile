# ethtool, from Debian's ethtool source package, without netlink: its library
# (libmnl) has no source on the mirror; the ioctl interface covers driver,
# features, rings, coalescing and link settings.
# `env` is the stage of tools/env.Dockerfile, which `cargo tools` puts first.
# hadolint ignore=DL3006
FROM env AS ethtool-source
ARG ETHTOOL_VERSION
ARG DEBIAN_MIRROR=http://deb.debian.org/debian
RUN test -n "$ETHTOOL_VERSION" \
 && { apt-get source -q --download-only "ethtool=$ETHTOOL_VERSION" \
      || { echo "error: ethtool $ETHTOOL_VERSION is not on $DEBIAN_MIRROR: update ETHTOOL_VERSION in tools/versions.env" >&2; exit 1; }; } \
 && mkdir -p /oss/licenses/ethtool && mv ./*.dsc ./*.tar.* /oss/ \
 && dpkg-source -x /oss/ethtool_*.dsc ethtool \
 && cp ethtool/COPYING ethtool/LICENSE ethtool/debian/copyright /oss/licenses/ethtool/

FROM ethtool-source AS ethtool-x86_64
WORKDIR /src/ethtool
RUN ./configure --disable-netlink LDFLAGS=-static \
 && make -j"$(nproc)" LDFLAGS="-static $LINK_MAP" ethtool \
 && mkdir -p /out && strip -o /out/ethtool ethtool \
 && cp ethtool.ldmap /out/

FROM ethtool-source AS ethtool-aarch64
WORKDIR /src/ethtool
RUN ./configure --host=aarch64-linux-gnu --disable-netlink LDFLAGS="-static $ARM64_LIBS" \
 && make -j"$(nproc)" LDFLAGS="-static $ARM64_LIBS $LINK_MAP" ethtool \
 && mkdir -p /out && aarch64-linux-gnu-strip -o /out/ethtool ethtool \
 && cp ethtool.ldmap /out/
