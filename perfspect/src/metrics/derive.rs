//! The metrics: one table defines each (its key in JSON, CSV and
//! Prometheus, its label and unit in text, its precision), and `compute`
//! derives them from an interval's counts. Every renderer reads the table.

use super::parse::{Interval, Status};
use crate::report::parse::Utilisation;

pub const HW_EVENTS: [&str; 6] = [
    "cycles",
    "instructions",
    "cache-references",
    "cache-misses",
    "branches",
    "branch-misses",
];
pub const SW_EVENTS: [&str; 4] = [
    "task-clock",
    "context-switches",
    "cpu-migrations",
    "page-faults",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    SystemWide,
    Pid(u32),
}

/// One metric, as every output names and shows it.
#[derive(Debug)]
pub struct Def {
    /// Key in JSON, CSV column, and Prometheus name after `perfspect_`.
    pub key: &'static str,
    /// Label in the text summary and Prometheus HELP.
    pub label: &'static str,
    /// Unit after the value in text ("" for a plain number).
    pub unit: &'static str,
    /// Header of the live text table's column; None: summary only.
    pub column: Option<&'static str>,
    /// Decimals in text.
    pub txt_decimals: usize,
    /// Decimals in JSON and CSV.
    pub decimals: i32,
}

impl Def {
    /// The Prometheus name: `perfspect_` and the key, with units spelt out
    /// as Prometheus' conventions (and promtool) want them.
    pub fn prometheus_name(&self) -> String {
        let key = match self.key.strip_suffix("_per_s") {
            Some(stem) => format!("{stem}_per_second"),
            None => self.key.to_string(),
        };
        format!("perfspect_{key}")
    }
}

/// Index of a metric in [`DEFS`] and in [`Metrics`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Id {
    CpuUtil,
    CpusBusy,
    User,
    System,
    Iowait,
    Steal,
    Ipc,
    Cpi,
    Ghz,
    CacheMiss,
    CacheMpki,
    BranchMiss,
    BranchMpki,
    CtxSwitches,
    Migrations,
    PageFaults,
}

const fn def(
    key: &'static str,
    label: &'static str,
    unit: &'static str,
    column: Option<&'static str>,
    txt_decimals: usize,
    decimals: i32,
) -> Def {
    Def {
        key,
        label,
        unit,
        column,
        txt_decimals,
        decimals,
    }
}

/// Every metric, in the order of [`Id`]: the order of every output.
pub const DEFS: [Def; 16] = [
    def(
        "cpu_utilisation_pct",
        "CPU utilisation",
        "%",
        Some("CPU%"),
        1,
        2,
    ),
    def("cpus_busy", "CPUs busy", "", Some("CPUS"), 2, 3),
    def("user_pct", "user", "%", None, 1, 2),
    def("system_pct", "system", "%", None, 1, 2),
    def("iowait_pct", "iowait", "%", None, 1, 2),
    def("steal_pct", "steal", "%", None, 1, 2),
    def("ipc", "IPC", "", Some("IPC"), 3, 4),
    def("cpi", "CPI", "", Some("CPI"), 3, 4),
    def("effective_ghz", "Effective frequency", "GHz", None, 2, 3),
    def(
        "cache_miss_pct",
        "Cache miss rate",
        "%",
        Some("CACHE-MISS%"),
        2,
        3,
    ),
    def("cache_mpki", "Cache misses per kilo-instr", "", None, 2, 3),
    def(
        "branch_miss_pct",
        "Branch miss rate",
        "%",
        Some("BR-MISS%"),
        2,
        3,
    ),
    def(
        "branch_mpki",
        "Branch misses per kilo-instr",
        "",
        None,
        2,
        3,
    ),
    def(
        "context_switches_per_s",
        "Context switches",
        "/s",
        Some("CTXSW/s"),
        1,
        2,
    ),
    def(
        "cpu_migrations_per_s",
        "CPU migrations",
        "/s",
        Some("MIGR/s"),
        1,
        2,
    ),
    def(
        "page_faults_per_s",
        "Page faults",
        "/s",
        Some("FAULTS/s"),
        1,
        2,
    ),
];

/// The value of each metric of [`DEFS`] for one interval (None: unavailable).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Metrics(pub [Option<f64>; DEFS.len()]);

impl Metrics {
    pub fn get(&self, id: Id) -> Option<f64> {
        self.0[id as usize]
    }
    fn set(&mut self, id: Id, v: Option<f64>) {
        self.0[id as usize] = v.filter(|x| x.is_finite());
    }
    /// (definition, value) pairs in table order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static Def, Option<f64>)> + '_ {
        DEFS.iter().zip(self.0.iter().copied())
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// Derives the metrics of one interval (or of the whole run).
pub fn compute(iv: &Interval, mode: Mode, util: Option<Utilisation>, ncpus: usize) -> Metrics {
    let secs = iv.secs();
    let rate = |e: &str| ratio(iv.get(e), Some(secs));
    let cycles = iv.get("cycles");
    let instr = iv.get("instructions");
    let mut m = Metrics::default();
    m.set(Id::Ipc, ratio(instr, cycles));
    m.set(Id::Cpi, ratio(cycles, instr));
    m.set(
        Id::CacheMiss,
        ratio(iv.get("cache-misses"), iv.get("cache-references")).map(|r| r * 100.0),
    );
    m.set(
        Id::CacheMpki,
        ratio(iv.get("cache-misses"), instr).map(|r| r * 1000.0),
    );
    m.set(
        Id::BranchMiss,
        ratio(iv.get("branch-misses"), iv.get("branches")).map(|r| r * 100.0),
    );
    m.set(
        Id::BranchMpki,
        ratio(iv.get("branch-misses"), instr).map(|r| r * 1000.0),
    );
    m.set(Id::CtxSwitches, rate("context-switches"));
    m.set(Id::Migrations, rate("cpu-migrations"));
    m.set(Id::PageFaults, rate("page-faults"));
    let ncpus = ncpus.max(1) as f64;
    match mode {
        Mode::SystemWide => {
            if let Some(u) = util {
                m.set(Id::CpuUtil, Some(u.busy_pct));
                m.set(Id::CpusBusy, Some(u.busy_pct / 100.0 * ncpus));
                m.set(Id::User, Some(u.user_pct));
                m.set(Id::System, Some(u.system_pct));
                m.set(Id::Iowait, Some(u.iowait_pct));
                m.set(Id::Steal, Some(u.steal_pct));
            }
            // Cycles only tick while a CPU is busy.
            let busy_secs = m.get(Id::CpusBusy).map(|b| b * secs);
            m.set(Id::Ghz, ratio(cycles, busy_secs).map(|r| r / 1e9));
        }
        Mode::Pid(_) => {
            // task-clock is in msec.
            let busy = ratio(iv.get("task-clock"), Some(secs * 1000.0));
            m.set(Id::CpusBusy, busy);
            m.set(Id::CpuUtil, busy.map(|b| b / ncpus * 100.0));
            m.set(
                Id::Ghz,
                ratio(cycles, iv.get("task-clock").map(|ms| ms * 1e6)),
            );
        }
    }
    m
}

/// Metrics that could not be computed, with the reason.
pub fn unavailable(total: &Interval, mode: Mode, have_util: bool) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let all_hw_unsupported = HW_EVENTS.iter().all(|e| {
        total
            .counts
            .get(*e)
            .map(|c| c.status == Status::NotSupported)
            .unwrap_or(true)
    });
    let why = |events: &[&str]| -> Option<String> {
        let mut unsupported = Vec::new();
        let mut uncounted = Vec::new();
        let mut missing = Vec::new();
        for e in events {
            match total.counts.get(*e).map(|c| c.status) {
                Some(Status::Counted) => {}
                Some(Status::NotSupported) => unsupported.push(*e),
                Some(Status::NotCounted) => uncounted.push(*e),
                None => missing.push(*e),
            }
        }
        if !unsupported.is_empty() {
            let base = format!("{} <not supported>", unsupported.join(", "));
            return Some(if all_hw_unsupported {
                format!(
                    "{base}: no hardware performance counters are available (usual in virtual machines \
                     and containers whose hypervisor exposes no PMU)"
                )
            } else {
                format!("{base}: this CPU's PMU has no such generic event")
            });
        }
        if !uncounted.is_empty() {
            return Some(format!(
                "{} <not counted>: the counter never ran (the task did not run, or too many events for \
                 the available counters)",
                uncounted.join(", ")
            ));
        }
        if !missing.is_empty() {
            return Some(format!("perf reported no value for {}", missing.join(", ")));
        }
        None
    };
    let check = |out: &mut Vec<(String, String)>, name: &str, events: &[&str]| {
        if let Some(r) = why(events) {
            out.push((name.to_string(), r));
        }
    };
    if all_hw_unsupported && HW_EVENTS.iter().any(|e| total.counts.contains_key(*e)) {
        // One explanation for all of them rather than the same one thrice.
        out.push((
            "IPC, CPI, effective frequency, cache and branch miss rates".to_string(),
            "the hardware events (cycles, instructions, cache-references, cache-misses, branches, \
             branch-misses) are <not supported>: no hardware performance counters are available \
             (usual in virtual machines and containers whose hypervisor exposes no PMU)"
                .to_string(),
        ));
    } else {
        check(&mut out, "IPC / CPI", &["cycles", "instructions"]);
        check(
            &mut out,
            "cache miss rate",
            &["cache-references", "cache-misses"],
        );
        check(&mut out, "branch miss rate", &["branches", "branch-misses"]);
    }
    match mode {
        Mode::Pid(_) => check(&mut out, "CPU utilisation", &["task-clock"]),
        Mode::SystemWide if !have_util => out.push((
            "CPU utilisation".to_string(),
            "/proc/stat is not readable".to_string(),
        )),
        Mode::SystemWide => {}
    }
    out
}

/// Notes about the quality of the counts (multiplexing).
pub fn multiplex_note(total: &Interval) -> Option<String> {
    let mux: Vec<String> = total
        .counts
        .iter()
        .filter(|(_, c)| {
            c.status == Status::Counted && c.run_pct.map(|p| p < 99.5).unwrap_or(false)
        })
        .map(|(e, c)| format!("{e} {:.0}%", c.run_pct.unwrap_or(0.0)))
        .collect();
    if mux.is_empty() {
        None
    } else {
        Some(format!(
            "counters were multiplexed (time counted: {}); perf scaled those counts, so they are estimates",
            mux.join(", ")
        ))
    }
}
