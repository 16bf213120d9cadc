# turbostat (x86_64 only: it reads Intel and AMD MSRs), from the linux source
# package (tools/linux.Dockerfile).
FROM linux-source AS turbostat-x86_64
WORKDIR /src/linux/tools/power/x86/turbostat
RUN make LDFLAGS="-static $LINK_MAP" \
 && mkdir -p /out && strip -o /out/turbostat turbostat \
 && cp turbostat.ldmap /out/
