//! The Security group: the kernel's view of CPU vulnerabilities.

use super::model::{Section, Table, Val};
use super::system::Sys;

pub fn vulnerabilities(sys: &Sys) -> Section {
    let base = "/sys/devices/system/cpu/vulnerabilities";
    let rows: Vec<Vec<Val>> = sys
        .list(base)
        .into_iter()
        .map(|n| {
            let status = sys.read(&format!("{base}/{n}"));
            vec![Val::text(n), Val::opt_text(status)]
        })
        .collect();
    let vulnerable = rows
        .iter()
        .filter(|r| matches!(&r[1], Val::Text(t) if t.starts_with("Vulnerable")))
        .count();
    let mut s = Section::new("vulnerabilities", "CPU vulnerabilities");
    s.field(
        "vulnerable_count",
        "Vulnerable (unmitigated)",
        if rows.is_empty() {
            Val::Missing
        } else {
            Val::Int(vulnerable as i64)
        },
    );
    let cmdline = sys.read("/proc/cmdline").unwrap_or_default();
    let mitigations = cmdline
        .split_whitespace()
        .find_map(|a| a.strip_prefix("mitigations="))
        .unwrap_or("auto (default)");
    s.field(
        "mitigations_param",
        "mitigations= boot parameter",
        Val::text(mitigations),
    );
    s.tables.push(Table {
        key: "list",
        title: "Status",
        columns: vec![("name", "Vulnerability"), ("status", "Status")],
        rows,
        why_empty: None,
    });
    s
}
