//! The kernel tunables upstream shows, and the clock source (network
//! sysctls are in the Network group).

use super::model::{Section, Table, Val};
use super::system::Sys;

const TUNABLES: &[(&str, &str)] = &[
    (
        "kernel.perf_event_paranoid",
        "/proc/sys/kernel/perf_event_paranoid",
    ),
    ("kernel.nmi_watchdog", "/proc/sys/kernel/nmi_watchdog"),
    ("kernel.kptr_restrict", "/proc/sys/kernel/kptr_restrict"),
    ("kernel.numa_balancing", "/proc/sys/kernel/numa_balancing"),
    (
        "kernel.sched_autogroup_enabled",
        "/proc/sys/kernel/sched_autogroup_enabled",
    ),
    (
        "kernel.randomize_va_space",
        "/proc/sys/kernel/randomize_va_space",
    ),
    ("kernel.pid_max", "/proc/sys/kernel/pid_max"),
    ("vm.swappiness", "/proc/sys/vm/swappiness"),
    ("vm.dirty_ratio", "/proc/sys/vm/dirty_ratio"),
    (
        "vm.dirty_background_ratio",
        "/proc/sys/vm/dirty_background_ratio",
    ),
    ("vm.overcommit_memory", "/proc/sys/vm/overcommit_memory"),
    ("vm.zone_reclaim_mode", "/proc/sys/vm/zone_reclaim_mode"),
    ("vm.max_map_count", "/proc/sys/vm/max_map_count"),
    ("vm.nr_hugepages", "/proc/sys/vm/nr_hugepages"),
    ("fs.file-max", "/proc/sys/fs/file-max"),
];

pub fn kernel(sys: &Sys) -> Section {
    let mut s = Section::new("kernel", "Kernel settings");
    s.field(
        "clocksource",
        "Clock source",
        Val::opt_text(sys.read("/sys/devices/system/clocksource/clocksource0/current_clocksource")),
    );
    let rows = TUNABLES
        .iter()
        .filter_map(|(name, path)| {
            Some(vec![
                Val::text(*name),
                Val::text(sys.read(path)?.replace('\t', " ")),
            ])
        })
        .collect();
    s.tables.push(Table {
        key: "tunables",
        title: "Tunables",
        columns: vec![("name", "Name"), ("value", "Value")],
        rows,
        why_empty: None,
    });
    s
}
