//! The recorded time series: what each one is (one definition per fact) and
//! how an interval's values are derived from two snapshots.

use super::sample::{CPU_CATEGORIES, CpuTimes, Snapshot};
use serde::Serialize;

/// The tables of the output, in order; every series belongs to one.
pub const GROUPS: [&str; 10] = [
    "CPU utilisation",
    "CPU utilisation per CPU",
    "Scheduler and interrupts",
    "Storage",
    "Memory",
    "Paging and NUMA",
    "Network",
    "Frequency and temperature",
    "turbostat",
    "perf",
];

/// One value of one series for one interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub group: &'static str,
    pub name: String,
    pub unit: &'static str,
    pub value: f64,
}

fn point(group: &'static str, name: impl Into<String>, unit: &'static str, value: f64) -> Point {
    Point {
        group,
        name: name.into(),
        unit,
        value,
    }
}

/// Min, mean, max and 95th percentile of a series' values.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Summary {
    /// Smallest value.
    pub min: f64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Largest value.
    pub max: f64,
    /// 95th percentile (nearest rank).
    pub p95: f64,
}

impl Summary {
    pub fn of(values: &[Option<f64>]) -> Option<Summary> {
        let mut v: Vec<f64> = values.iter().flatten().copied().collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let rank = ((0.95 * v.len() as f64).ceil() as usize).clamp(1, v.len());
        Some(Summary {
            min: v[0],
            mean: v.iter().sum::<f64>() / v.len() as f64,
            max: v[v.len() - 1],
            p95: v[rank - 1],
        })
    }
}

/// One time series.
#[derive(Debug, Clone, Serialize)]
pub struct Series {
    /// The table it belongs to (one of [`GROUPS`]).
    pub group: String,
    /// What it measures, e.g. `cpu0 busy`, `sda reads`.
    pub name: String,
    /// Unit of the values, e.g. `%`, `/s`, `MiB`.
    pub unit: String,
    /// One value per interval (null where it was not measured).
    pub values: Vec<Option<f64>>,
    /// Statistics over the non-null values.
    pub summary: Option<Summary>,
}

/// A group whose series could not be recorded, and why.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Unavailable {
    /// The table (one of [`GROUPS`]).
    pub group: String,
    /// Why it is empty or incomplete, and what would fill it.
    pub reason: String,
}

/// Series built up interval by interval.
#[derive(Debug, Default)]
pub struct Table {
    pub series: Vec<Series>,
    pub intervals: usize,
}

impl Table {
    /// Appends one interval's points (series seen for the first time get
    /// nulls for the earlier intervals).
    pub fn push(&mut self, points: Vec<Point>) {
        self.set(self.intervals, points);
        self.intervals += 1;
        for s in &mut self.series {
            s.values.resize(self.intervals, None);
        }
    }

    /// Sets the points of interval `i` (used for the children's rows).
    pub fn set(&mut self, i: usize, points: Vec<Point>) {
        for p in points {
            let idx = match self
                .series
                .iter()
                .position(|s| s.group == p.group && s.name == p.name)
            {
                Some(idx) => idx,
                None => {
                    self.series.push(Series {
                        group: p.group.to_string(),
                        name: p.name,
                        unit: p.unit.to_string(),
                        values: Vec::new(),
                        summary: None,
                    });
                    self.series.len() - 1
                }
            };
            let s = &mut self.series[idx];
            if s.values.len() <= i {
                s.values.resize(i + 1, None);
            }
            s.values[i] = Some(p.value);
        }
    }

    /// Pads to `n` intervals, orders by group and computes the summaries.
    pub fn finish(mut self, n: usize) -> Vec<Series> {
        for s in &mut self.series {
            s.values.resize(n, None);
            s.summary = Summary::of(&s.values);
        }
        let rank = |g: &str| GROUPS.iter().position(|x| *x == g).unwrap_or(GROUPS.len());
        self.series.sort_by_key(|s| rank(&s.group)); // stable: keeps first-seen order
        self.series
    }
}

fn delta(a: u64, b: u64) -> f64 {
    b.saturating_sub(a) as f64
}

fn cpu_shares(a: &CpuTimes, b: &CpuTimes) -> Option<[f64; 8]> {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| delta(*x, *y)).collect();
    let total: f64 = d.iter().sum();
    if total <= 0.0 {
        return None;
    }
    let mut out = [0.0; 8];
    for (o, v) in out.iter_mut().zip(&d) {
        *o = 100.0 * v / total;
    }
    Some(out)
}

const MIB_PER_KB: f64 = 1.0 / 1024.0;

/// The /proc and /sys series of the interval between `a` and `b`, `dt`
/// seconds apart.
pub fn derive(a: &Snapshot, b: &Snapshot, dt: f64) -> Vec<Point> {
    let mut p = Vec::new();
    let rate = |x: u64, y: u64| delta(x, y) / dt;

    // CPU (mpstat).
    if let Some(sh) = cpu_shares(&a.stat.total, &b.stat.total) {
        for (cat, v) in CPU_CATEGORIES.iter().zip(sh) {
            p.push(point(GROUPS[0], *cat, "%", v));
        }
    }
    for (cpu, tb) in &b.stat.cpus {
        if let Some(sh) = a.stat.cpus.get(cpu).and_then(|ta| cpu_shares(ta, tb)) {
            // busy = everything but idle and iowait
            p.push(point(
                GROUPS[1],
                format!("cpu{cpu} busy"),
                "%",
                100.0 - sh[3] - sh[4],
            ));
        }
    }
    let g = GROUPS[2];
    p.push(point(g, "interrupts", "/s", rate(a.stat.intr, b.stat.intr)));
    p.push(point(g, "context switches", "/s", rate(a.stat.ctxt, b.stat.ctxt)));
    p.push(point(g, "run queue", "tasks", b.stat.procs_running as f64));
    p.push(point(g, "blocked on I/O", "tasks", b.stat.procs_blocked as f64));

    // Block devices (iostat -x).
    for (name, d) in &b.disks {
        let Some(o) = a.disks.get(name) else { continue };
        let g = GROUPS[3];
        let ios = delta(o.reads, d.reads) + delta(o.writes, d.writes);
        let wait_ms = delta(o.read_ms, d.read_ms) + delta(o.write_ms, d.write_ms);
        p.push(point(g, format!("{name} reads"), "/s", rate(o.reads, d.reads)));
        p.push(point(g, format!("{name} writes"), "/s", rate(o.writes, d.writes)));
        let mib = |x, y| rate(x, y) * 512.0 / 1048576.0;
        p.push(point(
            g,
            format!("{name} read"),
            "MiB/s",
            mib(o.read_sectors, d.read_sectors),
        ));
        p.push(point(
            g,
            format!("{name} write"),
            "MiB/s",
            mib(o.write_sectors, d.write_sectors),
        ));
        let wait = if ios > 0.0 { wait_ms / ios } else { 0.0 };
        p.push(point(g, format!("{name} await"), "ms", wait));
        let util = (delta(o.io_ms, d.io_ms) / (dt * 1000.0) * 100.0).min(100.0);
        p.push(point(g, format!("{name} utilisation"), "%", util));
    }

    // Memory (sar -r, -S).
    let m = &b.meminfo;
    let kb = |k: &str| m.get(k).map(|v| *v as f64);
    let g = GROUPS[4];
    if let (Some(total), Some(free)) = (kb("MemTotal"), kb("MemFree")) {
        let cache = kb("Cached").unwrap_or(0.0) + kb("Buffers").unwrap_or(0.0);
        p.push(point(g, "used", "MiB", (total - free - cache) * MIB_PER_KB));
        p.push(point(g, "cached", "MiB", cache * MIB_PER_KB));
    }
    for (key, name) in [("MemAvailable", "available"), ("Dirty", "dirty")] {
        if let Some(v) = kb(key) {
            p.push(point(g, name, "MiB", v * MIB_PER_KB));
        }
    }
    if let (Some(t), Some(f)) = (kb("SwapTotal"), kb("SwapFree")) {
        p.push(point(g, "swap used", "MiB", (t - f) * MIB_PER_KB));
    }

    // Paging and NUMA (sar -B, numastat).
    let g = GROUPS[5];
    for (key, name) in [
        ("pgfault", "page faults"),
        ("pgmajfault", "major page faults"),
        ("numa_hit", "NUMA hits"),
        ("numa_miss", "NUMA misses"),
    ] {
        if let (Some(x), Some(y)) = (a.vmstat.get(key), b.vmstat.get(key)) {
            p.push(point(g, name, "/s", rate(*x, *y)));
        }
    }

    // Network (sar -n DEV, EDEV).
    for (name, n) in &b.net {
        let Some(o) = a.net.get(name) else { continue };
        let g = GROUPS[6];
        p.push(point(g, format!("{name} rx packets"), "/s", rate(o.rx_packets, n.rx_packets)));
        p.push(point(g, format!("{name} tx packets"), "/s", rate(o.tx_packets, n.tx_packets)));
        p.push(point(g, format!("{name} rx"), "KiB/s", rate(o.rx_bytes, n.rx_bytes) / 1024.0));
        p.push(point(g, format!("{name} tx"), "KiB/s", rate(o.tx_bytes, n.tx_bytes) / 1024.0));
        let errs = rate(o.rx_errors, n.rx_errors) + rate(o.tx_errors, n.tx_errors);
        let drops = rate(o.rx_drops, n.rx_drops) + rate(o.tx_drops, n.tx_drops);
        p.push(point(g, format!("{name} errors"), "/s", errs));
        p.push(point(g, format!("{name} drops"), "/s", drops));
    }

    // Frequency and temperature (cpufreq, hwmon, thermal zones).
    let g = GROUPS[7];
    for (cpu, khz) in &b.freq_khz {
        p.push(point(g, format!("cpu{cpu} frequency"), "MHz", *khz as f64 / 1000.0));
    }
    for (sensor, mc) in &b.temp_milli_c {
        p.push(point(g, format!("{sensor} temperature"), "°C", *mc as f64 / 1000.0));
    }
    p
}
