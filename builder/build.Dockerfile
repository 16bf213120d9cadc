# The build environment of perfspect: Debian's Rust toolchain (1.85, the
# workspace's rust-version), the aarch64 cross linker and standard library, and
# the tools of perfspect-tools:v1 at a fixed path the build embeds them from.
# Built by `cargo dist` with plain `docker build`, after the tools stage, so the
# local tools image is the one used.
ARG BASE_IMAGE=debian:bookworm
ARG TOOLS_IMAGE=perfspect-tools:v1

FROM ${TOOLS_IMAGE} AS tools

FROM ${BASE_IMAGE}
ARG DEBIAN_MIRROR=http://deb.debian.org/debian
ARG RUST_VERSION=1.85.0+dfsg3-1~deb12u3
ENV DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
RUN rm -f /etc/apt/sources.list.d/* \
 && printf 'deb %s bookworm main\n' "$DEBIAN_MIRROR" > /etc/apt/sources.list \
 && dpkg --add-architecture arm64 \
 && { apt-get update -q -o APT::Update::Error-Mode=any \
      || { echo "error: the Debian mirror $DEBIAN_MIRROR is not reachable from the build containers: check Docker's network and proxy settings, or set PERFSPECT_DEBIAN_MIRROR to a mirror that is" >&2; exit 1; }; } \
 && apt-get install -y -q --no-install-recommends \
      "rustc-web=$RUST_VERSION" "cargo-web=$RUST_VERSION" \
      "libstd-rust-web-dev=$RUST_VERSION" "libstd-rust-web-dev:arm64=$RUST_VERSION" \
      gcc libc6-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
 && rm -rf /var/lib/apt/lists/*
# Static binaries for both targets (x86_64 comes out static-pie); RUSTFLAGS
# does not reach build scripts when --target is given, so they stay dynamic.
ENV CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
    RUSTFLAGS="-C target-feature=+crt-static" \
    PERFSPECT_TOOLS_DIR=/opt/perfspect-tools/bin
COPY --from=tools /bin/ /opt/perfspect-tools/bin/
COPY --from=tools /oss_source.tgz /oss_source.tgz.md5 /opt/perfspect-tools/
