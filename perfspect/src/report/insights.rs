//! The Insights group: rules that read the other tables and recommend, each
//! with the value that triggered it. A rule whose input is absent is silent.

use super::model::{Report, Section, Table, Val};

/// A field's value, if present.
fn field<'a>(r: &'a Report, section: &str, key: &str) -> Option<&'a Val> {
    let s = r.sections.iter().find(|s| s.key == section)?;
    s.fields
        .iter()
        .find(|f| f.key == key)
        .map(|f| &f.val)
        .filter(|v| !v.is_missing())
}

/// A table's rows as (column key -> value) lookups.
fn rows<'a>(r: &'a Report, table: &str) -> Vec<Vec<(&'static str, &'a Val)>> {
    r.sections
        .iter()
        .flat_map(|s| &s.tables)
        .filter(|t| t.key == table)
        .flat_map(|t| {
            t.rows
                .iter()
                .map(|row| t.columns.iter().map(|c| c.0).zip(row).collect())
        })
        .collect()
}

fn cell<'a>(row: &[(&'static str, &'a Val)], key: &str) -> Option<&'a Val> {
    row.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// (rule, triggering value, recommendation)
pub fn findings(r: &Report) -> Vec<(&'static str, String, String)> {
    let mut out = Vec::new();
    let text = |v: &Val| v.display();
    if let Some(g) = field(r, "power", "governor") {
        if !text(g).starts_with("performance") {
            out.push((
                "CPU frequency governor",
                text(g),
                "use the performance governor for throughput and latency (cpupower frequency-set -g performance)".into(),
            ));
        }
    }
    if let Some(e) = field(r, "power_limits", "epp") {
        let e = text(e);
        if e.contains("power") && !e.starts_with("performance") {
            out.push((
                "Energy performance preference",
                e,
                "set EPP to performance (or balance_performance) for performance-critical work"
                    .into(),
            ));
        }
    }
    if let Some(t) = field(r, "memory", "thp_enabled") {
        if text(t) == "never" {
            out.push((
                "Transparent huge pages",
                text(t),
                "enable THP (madvise or always) for large-memory workloads; it cuts TLB misses"
                    .into(),
            ));
        }
    }
    if let (Some(b), Some(n)) = (
        field(r, "numa", "numa_balancing"),
        field(r, "numa", "nodes"),
    ) {
        if text(b) == "1" && matches!(n, Val::Int(n) if *n > 1) {
            out.push(("Automatic NUMA balancing", "1".into(), "disable NUMA balancing (kernel.numa_balancing=0) when workloads are pinned to nodes".into()));
        }
    }
    if let Some(c) = field(r, "host", "cmdline") {
        if text(c).split_whitespace().any(|a| a == "mitigations=off") {
            out.push((
                "CPU mitigations",
                "mitigations=off".into(),
                "mitigations are off: acceptable only on a trusted, single-tenant host".into(),
            ));
        }
    }
    for row in rows(r, "list") {
        if let (Some(n), Some(s)) = (cell(&row, "name"), cell(&row, "status")) {
            if text(s).starts_with("Vulnerable") {
                out.push((
                    "CPU vulnerability",
                    format!("{}: {}", text(n), text(s)),
                    "update the microcode and kernel, or enable the mitigation".into(),
                ));
            }
        }
    }
    if let Some(i) = field(r, "power", "idle_states") {
        let i = text(i);
        if i.split(", ")
            .any(|s| s.starts_with("C6") && !s.contains("disabled"))
        {
            out.push(("C-states", i, "deep C-states (C6) add wake-up latency: limit them for latency-sensitive work (cpupower idle-set -D 2)".into()));
        }
    }
    if let Some(Val::Text(s)) = field(r, "nic", "irqbalance") {
        let queues: i64 = rows(r, "nics")
            .iter()
            .filter_map(|row| match cell(row, "rx_queues") {
                Some(Val::Int(q)) => Some(*q),
                _ => None,
            })
            .sum();
        if s == "not running" && queues > 1 {
            out.push((
                "irqbalance",
                s.clone(),
                "NIC interrupts are not balanced: run irqbalance or pin queue IRQs to local CPUs"
                    .into(),
            ));
        }
    }
    for row in rows(r, "dimms") {
        if let (Some(Val::Int(sp)), Some(Val::Int(cf)), Some(slot)) = (
            cell(&row, "speed_mts"),
            cell(&row, "configured_speed_mts"),
            cell(&row, "slot"),
        ) {
            if cf < sp {
                out.push(("Memory speed", format!("{}: {cf} of {sp} MT/s", text(slot)), "a DIMM runs below its rated speed: check the BIOS memory settings and population".into()));
                break;
            }
        }
    }
    if let (Some(Val::Int(p)), Some(Val::Int(t))) = (
        field(r, "dimms", "populated_channels"),
        field(r, "dimms", "total_channels"),
    ) {
        if p < t {
            out.push((
                "Memory channels",
                format!("{p} of {t} populated"),
                "populate every memory channel for full bandwidth".into(),
            ));
        }
    }
    for row in rows(r, "disks") {
        if let (Some(n), Some(Val::Text(h))) = (cell(&row, "name"), cell(&row, "health")) {
            if h == "FAILED" {
                out.push((
                    "Disk health",
                    format!("{}: SMART {h}", text(n)),
                    "replace the drive: its SMART self-assessment failed".into(),
                ));
            }
        }
    }
    out
}

pub fn insights(r: &Report) -> Section {
    let mut t = Table::new(
        "insights",
        "Insights",
        &[
            ("rule", "Rule"),
            ("value", "Value"),
            ("recommendation", "Recommendation"),
        ],
    );
    for (rule, value, rec) in findings(r) {
        t.rows
            .push(vec![Val::text(rule), Val::text(value), Val::text(rec)]);
    }
    if t.rows.is_empty() {
        t = t.empty_because("no rule fired: nothing to recommend");
    }
    let mut s = Section::new("insights", "Insights");
    s.tables.push(t);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(sections: Vec<Section>) -> Report {
        Report {
            version: "t".into(),
            generated: "t".into(),
            hostname: "h".into(),
            sections,
        }
    }

    #[test]
    fn rules_fire_with_their_value_and_stay_silent_otherwise() {
        let mut p = Section::new("power", "Power");
        p.field("governor", "Governor", Val::text("powersave"))
            .field(
                "idle_states",
                "Idle",
                Val::text("POLL (0 us), C1 (2 us), C6 (170 us)"),
            );
        let mut m = Section::new("memory", "Memory");
        m.field("thp_enabled", "THP", Val::text("never"));
        let mut n = Section::new("numa", "NUMA");
        n.field("nodes", "Nodes", Val::Int(2))
            .field("numa_balancing", "NB", Val::text("1"));
        let f = findings(&report(vec![p, m, n]));
        let rules: Vec<_> = f.iter().map(|x| (x.0, x.1.as_str())).collect();
        assert!(rules.contains(&("CPU frequency governor", "powersave")));
        assert!(rules.contains(&("Transparent huge pages", "never")));
        assert!(rules.contains(&("Automatic NUMA balancing", "1")));
        assert!(
            rules
                .iter()
                .any(|r| r.0 == "C-states" && r.1.contains("C6 (170 us)"))
        );

        let mut p = Section::new("power", "Power");
        p.field("governor", "Governor", Val::text("performance"))
            .field(
                "idle_states",
                "Idle",
                Val::text("POLL (0 us), C1 (2 us), C6 (disabled)"),
            );
        let mut n = Section::new("numa", "NUMA");
        n.field("nodes", "Nodes", Val::Int(1))
            .field("numa_balancing", "NB", Val::text("1"));
        assert!(findings(&report(vec![p, n])).is_empty());
        assert!(insights(&report(vec![])).tables[0].why_empty.is_some());
    }
}
