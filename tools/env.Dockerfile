# The shared build environment of the bundled tools: every compiler and
# library they build with, for x86_64 natively and aarch64 cross-compiled.
# `cargo tools` puts this file first in the one Dockerfile it builds the tools
# that miss with, followed by their recipes (tools/<tool>.Dockerfile, and
# tools/linux.Dockerfile for the kernel tree's tools): see xtask/src/recipe.rs.
# An edit here rebuilds every tool; an edit to a recipe rebuilds its tool.
ARG BASE_IMAGE=debian:bookworm

FROM ${BASE_IMAGE} AS env
ARG DEBIAN_MIRROR=http://deb.debian.org/debian
ENV DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Only bookworm main: the pinned source versions come from there, and the same
# mirror serves both architectures' build dependencies. The package lists stay
# in this layer: every recipe fetches its source package with them.
# hadolint ignore=DL3009
RUN rm -f /etc/apt/sources.list.d/* \
 && printf 'deb %s bookworm main\ndeb-src %s bookworm main\n' "$DEBIAN_MIRROR" "$DEBIAN_MIRROR" > /etc/apt/sources.list \
 && dpkg --add-architecture arm64 \
 && { apt-get update -q -o APT::Update::Error-Mode=any \
      || { echo "error: the Debian mirror $DEBIAN_MIRROR is not reachable from the build containers: check Docker's network and proxy settings, or set PERFSPECT_DEBIAN_MIRROR to a mirror that is" >&2; exit 1; }; } \
 && apt-get install -y -q --no-install-recommends \
      build-essential dpkg-dev pkg-config flex bison python3 python3-dev xz-utils \
      autoconf automake libtool \
      gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu \
      systemtap-sdt-dev \
      libelf-dev libdw-dev libbz2-dev libzstd-dev liblzma-dev zlib1g-dev \
      libunwind-dev libcap-dev libnuma-dev libiberty-dev libaio-dev \
      libnl-3-dev libnl-genl-3-dev \
      libc6-dev:arm64 libgcc-12-dev:arm64 libstdc++-12-dev:arm64 \
      libelf-dev:arm64 libdw-dev:arm64 libbz2-dev:arm64 libzstd-dev:arm64 liblzma-dev:arm64 \
      zlib1g-dev:arm64 libunwind-dev:arm64 libcap-dev:arm64 \
      libnuma-dev:arm64 libiberty-dev:arm64 libaio-dev:arm64
# Every link writes a map beside its output ($@ is expanded by make at link
# time); the links stage (tools/links.Dockerfile) reads each tool's map. The
# aarch64 links take libc, libgcc and libstdc++ from the arm64 packages of
# glibc and gcc-12: the cross toolchain's own copies come from source packages
# the mirror does not serve (cross-toolchain-base, gcc-12-cross), and nothing
# is shipped without its source. -B puts those directories ahead of the cross
# compiler's for start-up files and libraries.
ENV LINK_MAP='-Wl,-Map=$@.ldmap' \
    ARM64_LIBS='-B/usr/lib/aarch64-linux-gnu/ -B/usr/lib/gcc/aarch64-linux-gnu/12/'
WORKDIR /src
