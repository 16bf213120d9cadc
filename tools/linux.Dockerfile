# Debian's linux source package, for the kernel tree's tools (perf, turbostat,
# intel-speed-select: their recipes build FROM linux-source). Its files and
# licence texts go to oss_source.tgz as /oss/.
# `env` is the stage of tools/env.Dockerfile, which `cargo tools` puts first.
# hadolint ignore=DL3006
FROM env AS linux-source
ARG LINUX_VERSION
ARG DEBIAN_MIRROR=http://deb.debian.org/debian
RUN test -n "$LINUX_VERSION" \
 && { apt-get source -q --download-only "linux=$LINUX_VERSION" \
      || { echo "error: linux $LINUX_VERSION is not on $DEBIAN_MIRROR: update LINUX_VERSION in tools/versions.env" >&2; exit 1; }; } \
 && mkdir -p /oss/licenses/linux && mv ./*.dsc ./*.tar.* /oss/ \
 && dpkg-source -x /oss/linux_*.dsc linux \
 && cp linux/COPYING linux/debian/copyright /oss/licenses/linux/ \
 && cp -r linux/LICENSES /oss/licenses/linux/
