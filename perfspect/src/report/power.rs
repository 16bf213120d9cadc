//! The Power group: governor, driver, frequency limits, idle states.

use super::model::{Section, Val};
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
    let idle_states: Vec<String> = numbered(&sys.list(&format!("{base}/{cpu0}/cpuidle")), "state")
        .iter()
        .filter_map(|(_, st)| {
            let p = format!("{base}/{cpu0}/cpuidle/{st}");
            let name = sys.read(&format!("{p}/name"))?;
            let disabled = sys.read(&format!("{p}/disable")).as_deref() == Some("1");
            let lat = sys.read(&format!("{p}/latency"));
            Some(match (disabled, lat) {
                (true, _) => format!("{name} (disabled)"),
                (false, Some(l)) => format!("{name} ({l} us)"),
                (false, None) => name,
            })
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
    if governors.is_empty() {
        s.notes.push(
            "no cpufreq interface: frequency is managed by the hypervisor or firmware".into(),
        );
    }
    s
}
