//! The Power group: governor, driver, frequency limits, idle states.

use super::model::{Section, Table, Val};
use super::system::{Sys, khz_to_mhz, numbered};
use std::collections::BTreeMap;

pub fn power(sys: &Sys) -> Section {
    let base = "/sys/devices/system/cpu";
    let cpus = numbered(&sys.list(base), "cpu");
    let mut governors: BTreeMap<String, usize> = BTreeMap::new();
    for (_, c) in &cpus {
        if let Some(g) = sys.read(&format!("{base}/{c}/cpufreq/scaling_governor")) {
            *governors.entry(g).or_default() += 1;
        }
    }
    let governor = match governors.len() {
        0 => None,
        1 => governors.keys().next().cloned(),
        _ => Some(
            governors
                .iter()
                .map(|(g, n)| format!("{g} ({n} CPUs)"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    };
    let cpu0 = cpus
        .first()
        .map(|(_, c)| c.clone())
        .unwrap_or_else(|| "cpu0".into());
    let turbo = if let Some(nt) = sys.read(&format!("{base}/intel_pstate/no_turbo")) {
        Some(nt == "0")
    } else {
        sys.read(&format!("{base}/cpufreq/boost")).map(|b| b == "1")
    };
    // One read of cpu0's idle states feeds both the summary field and the table.
    let states: Vec<IdleState> = numbered(&sys.list(&format!("{base}/{cpu0}/cpuidle")), "state")
        .iter()
        .filter_map(|(_, st)| {
            let p = |f: &str| format!("{base}/{cpu0}/cpuidle/{st}/{f}");
            let disabled_on = cpus
                .iter()
                .filter(|(_, c)| {
                    sys.read(&format!("{base}/{c}/cpuidle/{st}/disable"))
                        .as_deref()
                        == Some("1")
                })
                .count();
            Some(IdleState {
                name: sys.read(&p("name"))?,
                desc: sys.read(&p("desc")),
                latency: sys.num(&p("latency")),
                residency: sys.num(&p("residency")),
                disabled_on,
                usage: sys.num(&p("usage")),
            })
        })
        .collect();
    let idle_states: Vec<String> = states
        .iter()
        .map(|st| match (st.disabled_on > 0, st.latency) {
            (true, _) => format!("{} (disabled)", st.name),
            (false, Some(l)) => format!("{} ({l} us)", st.name),
            (false, None) => st.name.clone(),
        })
        .collect();
    let mut s = Section::new("power", "Power and frequency");
    s.field(
        "scaling_driver",
        "Scaling driver",
        Val::opt_text(sys.read(&format!("{base}/{cpu0}/cpufreq/scaling_driver"))),
    )
    .field("governor", "Frequency governor", Val::opt_text(governor))
    .field(
        "energy_performance_preference",
        "Energy/performance preference",
        Val::opt_text(sys.read(&format!(
            "{base}/{cpu0}/cpufreq/energy_performance_preference"
        ))),
    )
    .field(
        "intel_pstate",
        "intel_pstate status",
        Val::opt_text(sys.read(&format!("{base}/intel_pstate/status"))),
    )
    .field("turbo", "Turbo/boost enabled", Val::opt_bool(turbo))
    .field(
        "scaling_min_mhz",
        "Scaling min frequency (cpu0)",
        Val::opt_mhz(khz_to_mhz(
            sys.num(&format!("{base}/{cpu0}/cpufreq/scaling_min_freq")),
        )),
    )
    .field(
        "scaling_max_mhz",
        "Scaling max frequency (cpu0)",
        Val::opt_mhz(khz_to_mhz(
            sys.num(&format!("{base}/{cpu0}/cpufreq/scaling_max_freq")),
        )),
    )
    .field(
        "cpuidle_driver",
        "Idle driver",
        Val::opt_text(sys.read(&format!("{base}/cpuidle/current_driver"))),
    )
    .field(
        "cpuidle_governor",
        "Idle governor",
        Val::opt_text(
            sys.read(&format!("{base}/cpuidle/current_governor_ro"))
                .or_else(|| sys.read(&format!("{base}/cpuidle/current_governor"))),
        ),
    )
    .field(
        "idle_states",
        "Idle states (cpu0, exit latency)",
        if idle_states.is_empty() {
            Val::Missing
        } else {
            Val::text(idle_states.join(", "))
        },
    );
    let mut t = Table::new(
        "cstates",
        "C-states (idle states)",
        &[
            ("name", "C-state"),
            ("description", "Description"),
            ("exit_latency_us", "Exit latency (us)"),
            ("target_residency_us", "Target residency (us)"),
            ("status", "Status"),
            ("usage_cpu0", "Entries on cpu0"),
        ],
    );
    for st in &states {
        t.rows.push(vec![
            Val::text(st.name.clone()),
            Val::opt_text(st.desc.clone()),
            Val::opt_int(st.latency),
            Val::opt_int(st.residency),
            Val::text(match st.disabled_on {
                0 => "enabled".to_string(),
                n if n == cpus.len() => "disabled".to_string(),
                n => format!("disabled on {n} of {} CPUs", cpus.len()),
            }),
            Val::opt_int(st.usage),
        ]);
    }
    if states.is_empty() {
        t = t.empty_because("no cpuidle states: the idle driver exposes none (or cpuidle is off)");
    }
    s.tables.push(t);
    if governors.is_empty() {
        s.notes.push(
            "no cpufreq interface: frequency is managed by the hypervisor or firmware".into(),
        );
    }
    s
}

/// One cpuidle state of cpu0, and on how many CPUs it is disabled.
struct IdleState {
    name: String,
    desc: Option<String>,
    latency: Option<u64>,
    residency: Option<u64>,
    disabled_on: usize,
    usage: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cstates_table_counts_cpus_with_a_state_disabled() {
        let root = std::env::temp_dir().join(format!("perfspect-cstates-{}", std::process::id()));
        for (cpu, c6_disabled) in [(0, "0"), (1, "1")] {
            for (i, name, lat, dis) in [(0, "POLL", "0", "0"), (1, "C6", "170", c6_disabled)] {
                let d = root.join(format!("sys/devices/system/cpu/cpu{cpu}/cpuidle/state{i}"));
                std::fs::create_dir_all(&d).unwrap();
                for (f, v) in [
                    ("name", name),
                    ("latency", lat),
                    ("residency", "600"),
                    ("disable", dis),
                    ("usage", "42"),
                ] {
                    std::fs::write(d.join(f), format!("{v}\n")).unwrap();
                }
            }
        }
        let s = power(&Sys::at(root.clone()));
        let t = s.tables.iter().find(|t| t.key == "cstates").unwrap();
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[1][0], Val::text("C6"));
        assert_eq!(t.rows[1][2], Val::Int(170));
        assert_eq!(t.rows[1][4], Val::text("disabled on 1 of 2 CPUs"));
        assert_eq!(t.rows[0][4], Val::text("enabled"));
        let f = s.fields.iter().find(|f| f.key == "idle_states").unwrap();
        assert_eq!(f.val, Val::text("POLL (0 us), C6 (disabled)"));
        std::fs::remove_dir_all(root).unwrap();
    }
}
