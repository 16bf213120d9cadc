# lspci, from Debian's pciutils source package, with the pci.ids database its
# tarball carries (perfspect passes it with -i wherever it extracts it).
# Without zlib, DNS, udev's hwdb or kmod: none links statically here, and
# perfspect needs only the device names.
# `env` is the stage of tools/env.Dockerfile, which `cargo tools` puts first.
# hadolint ignore=DL3006
FROM env AS pciutils-source
ARG PCIUTILS_VERSION
ARG DEBIAN_MIRROR=http://deb.debian.org/debian
RUN test -n "$PCIUTILS_VERSION" \
 && { apt-get source -q --download-only "pciutils=$PCIUTILS_VERSION" \
      || { echo "error: pciutils $PCIUTILS_VERSION is not on $DEBIAN_MIRROR: update PCIUTILS_VERSION in tools/versions.env" >&2; exit 1; }; } \
 && mkdir -p /oss/licenses/pciutils && mv ./*.dsc ./*.tar.* /oss/ \
 && dpkg-source -x /oss/pciutils_*.dsc pciutils \
 && cp pciutils/COPYING pciutils/debian/copyright /oss/licenses/pciutils/
ENV PCI_FLAGS="SHARED=no ZLIB=no DNS=no HWDB=no LIBKMOD=no"

FROM pciutils-source AS lspci-x86_64
WORKDIR /src/pciutils
# PCI_FLAGS is split into words on purpose.
# hadolint ignore=SC2086
RUN make $PCI_FLAGS LDFLAGS="-static $LINK_MAP" lspci \
 && mkdir -p /out && strip -o /out/lspci lspci \
 && cp lspci.ldmap pci.ids /out/

FROM pciutils-source AS lspci-aarch64
WORKDIR /src/pciutils
# hadolint ignore=SC2086
RUN make $PCI_FLAGS CROSS_COMPILE=aarch64-linux-gnu- HOST=aarch64-linux \
      LDFLAGS="-static $ARM64_LIBS $LINK_MAP" lspci \
 && mkdir -p /out && aarch64-linux-gnu-strip -o /out/lspci lspci \
 && cp lspci.ldmap pci.ids /out/
