# intel-speed-select (x86_64 only: Intel Speed Select Technology), from the
# linux source package (tools/linux.Dockerfile). Its netlink part links libnl.
# `linux-source` is the stage of tools/linux.Dockerfile, built before this one.
# hadolint ignore=DL3006
FROM linux-source AS intel-speed-select-x86_64
WORKDIR /src/linux/tools/power/x86/intel-speed-select
RUN make LDFLAGS="-static $LINK_MAP" \
 && mkdir -p /out && strip -o /out/intel-speed-select intel-speed-select \
 && cp intel-speed-select.ldmap /out/
