# smartctl, from Debian's smartmontools source package (C++), without
# systemd, SELinux and libcap-ng: smartctl itself needs none of them.
# `env` is the stage of tools/env.Dockerfile, which `cargo tools` puts first.
# hadolint ignore=DL3006
FROM env AS smartmontools-source
ARG SMARTMONTOOLS_VERSION
ARG DEBIAN_MIRROR=http://deb.debian.org/debian
RUN test -n "$SMARTMONTOOLS_VERSION" \
 && { apt-get source -q --download-only "smartmontools=$SMARTMONTOOLS_VERSION" \
      || { echo "error: smartmontools $SMARTMONTOOLS_VERSION is not on $DEBIAN_MIRROR: update SMARTMONTOOLS_VERSION in tools/versions.env" >&2; exit 1; }; } \
 && mkdir -p /oss/licenses/smartmontools && mv ./*.dsc ./*.tar.* /oss/ \
 && dpkg-source -x /oss/smartmontools_*.dsc smartmontools \
 && cp smartmontools/COPYING smartmontools/debian/copyright /oss/licenses/smartmontools/
ENV SMART_FLAGS="--without-libsystemd --without-selinux --without-libcap-ng"

FROM smartmontools-source AS smartctl-x86_64
WORKDIR /src/smartmontools
# SMART_FLAGS is split into words on purpose.
# hadolint ignore=SC2086
RUN ./configure $SMART_FLAGS LDFLAGS=-static \
 && make -j"$(nproc)" LDFLAGS="-static $LINK_MAP" smartctl \
 && mkdir -p /out && strip -o /out/smartctl smartctl \
 && cp smartctl.ldmap /out/

FROM smartmontools-source AS smartctl-aarch64
WORKDIR /src/smartmontools
# hadolint ignore=SC2086
RUN ./configure --host=aarch64-linux-gnu $SMART_FLAGS LDFLAGS="-static $ARM64_LIBS" \
 && make -j"$(nproc)" LDFLAGS="-static $ARM64_LIBS $LINK_MAP" smartctl \
 && mkdir -p /out && aarch64-linux-gnu-strip -o /out/smartctl smartctl \
 && cp smartctl.ldmap /out/
