//! The Memory group: /proc/meminfo, huge pages, NUMA nodes.

use super::model::{Section, Table, Val};
use super::parse;
use super::system::{Sys, numbered};

pub fn memory(sys: &Sys) -> Section {
    let mi = parse::parse_meminfo(&sys.read_raw("/proc/meminfo").unwrap_or_default());
    let b = |k: &str| Val::opt_bytes(mi.get(k).copied());
    let thp = sys
        .read("/sys/kernel/mm/transparent_hugepage/enabled")
        .and_then(|v| parse::bracketed(&v).map(String::from));
    let thp_defrag = sys
        .read("/sys/kernel/mm/transparent_hugepage/defrag")
        .and_then(|v| parse::bracketed(&v).map(String::from));
    let mut s = Section::new("memory", "Memory");
    s.field("total_bytes", "Total", b("MemTotal"))
        .field("available_bytes", "Available", b("MemAvailable"))
        .field("free_bytes", "Free", b("MemFree"))
        .field("buffers_bytes", "Buffers", b("Buffers"))
        .field("cached_bytes", "Cached", b("Cached"))
        .field("swap_total_bytes", "Swap total", b("SwapTotal"))
        .field("swap_free_bytes", "Swap free", b("SwapFree"))
        .field("dirty_bytes", "Dirty", b("Dirty"))
        .field(
            "anon_hugepages_bytes",
            "Anonymous huge pages",
            b("AnonHugePages"),
        )
        .field(
            "hugepages_total",
            "Huge pages (total)",
            Val::opt_int(mi.get("HugePages_Total").copied()),
        )
        .field(
            "hugepages_free",
            "Huge pages (free)",
            Val::opt_int(mi.get("HugePages_Free").copied()),
        )
        .field("hugepage_size_bytes", "Huge page size", b("Hugepagesize"))
        .field("thp_enabled", "Transparent huge pages", Val::opt_text(thp))
        .field("thp_defrag", "THP defrag", Val::opt_text(thp_defrag));
    if mi.is_empty() {
        s.notes.push("/proc/meminfo is not readable".into());
    }
    s
}

pub fn numa(sys: &Sys) -> Section {
    let base = "/sys/devices/system/node";
    let nodes = numbered(&sys.list(base), "node");
    let rows: Vec<Vec<Val>> = nodes
        .iter()
        .map(|(n, name)| {
            let mi = parse::parse_meminfo(
                &sys.read_raw(&format!("{base}/{name}/meminfo"))
                    .unwrap_or_default()
                    .lines()
                    // "Node 0 MemTotal:  16318828 kB" -> "MemTotal:  16318828 kB"
                    .map(|l| l.splitn(3, ' ').nth(2).unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
            vec![
                Val::Int(i64::from(*n)),
                Val::opt_text(sys.read(&format!("{base}/{name}/cpulist"))),
                Val::opt_bytes(mi.get("MemTotal").copied()),
                Val::opt_bytes(mi.get("MemFree").copied()),
                Val::opt_text(sys.read(&format!("{base}/{name}/distance"))),
            ]
        })
        .collect();
    let mut s = Section::new("numa", "NUMA");
    s.field(
        "nodes",
        "Nodes",
        Val::opt_int(if nodes.is_empty() {
            None
        } else {
            Some(nodes.len())
        }),
    )
    .field(
        "numa_balancing",
        "Automatic NUMA balancing",
        Val::opt_text(sys.read("/proc/sys/kernel/numa_balancing")),
    );
    s.tables.push(Table {
        key: "node_list",
        title: "Nodes",
        columns: vec![
            ("node", "Node"),
            ("cpus", "CPUs"),
            ("memory_total_bytes", "Memory"),
            ("memory_free_bytes", "Free"),
            ("distances", "Distances"),
        ],
        rows,
        why_empty: None,
    });
    s
}
