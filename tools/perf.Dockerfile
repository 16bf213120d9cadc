# perf, from the linux source package (tools/linux.Dockerfile).
# Flags for a static perf: the Makefile.perf entry point keeps command-line
# overrides (the tools/perf/Makefile wrapper drops some), DWARFLIBS avoids the
# -lebl elfutils no longer ships, and the NO_* switches leave out what cannot
# link statically, carries an incompatible licence or (slang, for the TUI
# perfspect does not use) has no source on the mirror.
# `linux-source` is the stage of tools/linux.Dockerfile, built before this one.
# hadolint ignore=DL3006
FROM linux-source AS perf-base
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
