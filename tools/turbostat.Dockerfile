# turbostat (x86_64 only: it reads Intel and AMD MSRs), from the linux source
# package (tools/linux.Dockerfile).
# `linux-source` is the stage of tools/linux.Dockerfile, built before this one.
# hadolint ignore=DL3006
FROM linux-source AS turbostat-x86_64
WORKDIR /src/linux/tools/power/x86/turbostat
RUN make LDFLAGS="-static $LINK_MAP" \
 && mkdir -p /out && strip -o /out/turbostat turbostat \
 && cp turbostat.ldmap /out/
