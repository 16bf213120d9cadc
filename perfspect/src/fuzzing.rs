//! What each perfspect fuzz target under `fuzz/` does with its input, here
//! so that `tests/fuzz_regressions.rs` replays kept inputs through exactly
//! the same code. The parsers read text the kernel, a saved tree or a tool
//! wrote: none may panic, whatever it holds.

use crate::benchmark::{power, storage};
use crate::flamegraph::fold;
use crate::metrics::parse as perf_stat;
use crate::report::{devices, disks, ipmi, network, parse, software, status, system};
use crate::telemetry::{sample, turbostat};

/// /proc and /sys files, as the report and telemetry read them.
pub fn proc_sys(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = parse::parse_cpuinfo(&text);
    let _ = parse::cpuinfo_summary(&text);
    let _ = parse::parse_meminfo(&text);
    let _ = parse::parse_os_release(&text);
    let _ = parse::parse_cpulist(&text);
    let _ = parse::parse_cache_size(&text);
    let _ = parse::bracketed(&text);
    let _ = parse::parse_proc_stat(&text);
    let _ = parse::parse_mounts(&text);
    let _ = status::parse_stat(&text);
    let _ = system::natural_key(&text);
    let _ = sample::parse_stat(&text);
    let _ = sample::parse_diskstats(&text, |_| true);
    let _ = sample::parse_keyed(&text);
    let _ = sample::parse_net_dev(&text);
}

/// What the bundled and host tools print: lspci, ethtool, ipmitool,
/// smartctl's JSON, a CPUID dump, version lines, turbostat.
pub fn tool_output(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = devices::parse_lspci(&text);
    let _ = network::parse_ethtool_i(&text);
    let _ = network::parse_ethtool_g(&text);
    let _ = network::parse_ethtool_c(&text);
    let _ = network::is_pci_address(&text);
    let _ = ipmi::parse_bars(&text);
    let _ = ipmi::parse_colon(&text);
    let _ = disks::parse_smartctl(&text);
    let _ = software::version_of(&text);
    for name in crate::tools::known("x86_64") {
        let _ = crate::tools::parse_version(name, &text);
    }
    let _ = crate::tools::pci_ids_version(&text);
    let _ = crate::tools::package_version(&text);
    let _ = power::parse_turbostat(&text);
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let _ = turbostat::parse(&lines);
}

/// perf's own output: `perf stat -x,` lines and intervals, `perf script`
/// stacks folded by inferno.
pub fn perf_output(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut collector = perf_stat::Collector::new(10);
    for line in text.lines() {
        let _ = perf_stat::parse_stat_line(line);
        collector.push(line);
    }
    collector.finish();
    if let Ok(folded) = fold::fold(&text) {
        let stacks = fold::parse_folded(&folded);
        let _ = fold::self_time(&stacks);
    }
    let stacks = fold::parse_folded(&text);
    let _ = fold::self_time(&stacks);
}

/// fio's JSON output.
pub fn fio_json(data: &[u8]) {
    let _ = storage::parse_fio_json(&String::from_utf8_lossy(data));
}

/// An SMBIOS table (/sys/firmware/dmi/tables/DMI).
pub fn smbios(data: &[u8]) {
    let _ = crate::report::smbios::parse(data);
}

/// What a target does with one input.
pub type Target = fn(&[u8]);

/// Each target by the name of its directory under fuzz/.
pub const TARGETS: [(&str, Target); 5] = [
    ("perfspect_proc_sys", proc_sys),
    ("perfspect_tool_output", tool_output),
    ("perfspect_perf_output", perf_output),
    ("perfspect_fio_json", fio_json),
    ("perfspect_smbios", smbios),
];
