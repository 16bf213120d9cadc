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
    p.push(point(
        g,
        "context switches",
        "/s",
        rate(a.stat.ctxt, b.stat.ctxt),
    ));
    p.push(point(g, "run queue", "tasks", b.stat.procs_running as f64));
    p.push(point(
        g,
        "blocked on I/O",
        "tasks",
        b.stat.procs_blocked as f64,
    ));

    // Block devices (iostat -x).
    for (name, d) in &b.disks {
        let Some(o) = a.disks.get(name) else { continue };
        let g = GROUPS[3];
        let ios = delta(o.reads, d.reads) + delta(o.writes, d.writes);
        let wait_ms = delta(o.read_ms, d.read_ms) + delta(o.write_ms, d.write_ms);
        p.push(point(
            g,
            format!("{name} reads"),
            "/s",
            rate(o.reads, d.reads),
        ));
        p.push(point(
            g,
            format!("{name} writes"),
            "/s",
            rate(o.writes, d.writes),
        ));
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
        p.push(point(
            g,
            format!("{name} rx packets"),
            "/s",
            rate(o.rx_packets, n.rx_packets),
        ));
        p.push(point(
            g,
            format!("{name} tx packets"),
            "/s",
            rate(o.tx_packets, n.tx_packets),
        ));
        p.push(point(
            g,
            format!("{name} rx"),
            "KiB/s",
            rate(o.rx_bytes, n.rx_bytes) / 1024.0,
        ));
        p.push(point(
            g,
            format!("{name} tx"),
            "KiB/s",
            rate(o.tx_bytes, n.tx_bytes) / 1024.0,
        ));
        let errs = rate(o.rx_errors, n.rx_errors) + rate(o.tx_errors, n.tx_errors);
        let drops = rate(o.rx_drops, n.rx_drops) + rate(o.tx_drops, n.tx_drops);
        p.push(point(g, format!("{name} errors"), "/s", errs));
        p.push(point(g, format!("{name} drops"), "/s", drops));
    }

    // Frequency and temperature (cpufreq, hwmon, thermal zones).
    let g = GROUPS[7];
    for (cpu, khz) in &b.freq_khz {
        p.push(point(
            g,
            format!("cpu{cpu} frequency"),
            "MHz",
            *khz as f64 / 1000.0,
        ));
    }
    for (sensor, mc) in &b.temp_milli_c {
        p.push(point(
            g,
            format!("{sensor} temperature"),
            "°C",
            *mc as f64 / 1000.0,
        ));
    }
    p
}

#[cfg(test)]
mod tests {
    use super::super::sample::*;
    use super::*;

    macro_rules! data {
        ($f:literal) => {
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/", $f))
        };
    }

    fn snap(stat: &str, disk: &str, vm: &str, net: &str) -> Snapshot {
        Snapshot {
            stat: parse_stat(stat),
            disks: parse_diskstats(disk, |n| n == "vda"),
            meminfo: parse_keyed(data!("meminfo-x86_64-vm.txt")),
            vmstat: parse_keyed(vm),
            net: parse_net_dev(net),
            ..Default::default()
        }
    }

    /// Two captures of this VM 1 s apart, during a 200 MiB O_DIRECT dd.
    fn recorded() -> Vec<Point> {
        let a = snap(
            data!("proc-stat-x86_64-vm-a.txt"),
            data!("proc-diskstats-x86_64-vm-a.txt"),
            data!("proc-vmstat-x86_64-vm-a.txt"),
            data!("proc-net-dev-x86_64-vm-a.txt"),
        );
        let b = snap(
            data!("proc-stat-x86_64-vm-b.txt"),
            data!("proc-diskstats-x86_64-vm-b.txt"),
            data!("proc-vmstat-x86_64-vm-b.txt"),
            data!("proc-net-dev-x86_64-vm-b.txt"),
        );
        derive(&a, &b, 1.0)
    }

    fn get(p: &[Point], group: &str, name: &str) -> f64 {
        p.iter()
            .find(|x| x.group == group && x.name == name)
            .unwrap_or_else(|| panic!("no {group}/{name}"))
            .value
    }

    #[test]
    fn cpu_series_from_proc_stat() {
        let p = recorded();
        let total: f64 = CPU_CATEGORIES.iter().map(|c| get(&p, GROUPS[0], c)).sum();
        assert!((total - 100.0).abs() < 1e-6, "categories add up: {total}");
        for cpu in ["cpu0 busy", "cpu1 busy"] {
            let v = get(&p, GROUPS[1], cpu);
            assert!((0.0..=100.0).contains(&v), "{cpu} {v}");
        }
        let a = parse_stat(data!("proc-stat-x86_64-vm-a.txt"));
        let b = parse_stat(data!("proc-stat-x86_64-vm-b.txt"));
        assert_eq!(
            get(&p, GROUPS[2], "context switches"),
            (b.ctxt - a.ctxt) as f64
        );
        assert_eq!(get(&p, GROUPS[2], "interrupts"), (b.intr - a.intr) as f64);
        assert_eq!(get(&p, GROUPS[2], "run queue"), b.procs_running as f64);
        assert_eq!(a.cpus.len(), 2);
    }

    #[test]
    fn disk_series_from_diskstats() {
        let p = recorded();
        // 407 writes, 409648 sectors (200 MiB) in the second.
        assert_eq!(get(&p, GROUPS[3], "vda writes"), 407.0);
        let mib = get(&p, GROUPS[3], "vda write");
        assert!((mib - 409_648.0 * 512.0 / 1048576.0).abs() < 1e-9, "{mib}");
        assert_eq!(get(&p, GROUPS[3], "vda reads"), 1731.0);
        let util = get(&p, GROUPS[3], "vda utilisation");
        assert!((util - 16.8).abs() < 1e-9, "{util}");
        let wait = get(&p, GROUPS[3], "vda await");
        assert!(
            (wait - (6234.0 + 231.0) / (1731.0 + 407.0)).abs() < 1e-9,
            "{wait}"
        );
    }

    #[test]
    fn memory_paging_and_network_series() {
        let p = recorded();
        let m = parse_keyed(data!("meminfo-x86_64-vm.txt"));
        let avail = m["MemAvailable"] as f64 / 1024.0;
        assert_eq!(get(&p, GROUPS[4], "available"), avail);
        let used = get(&p, GROUPS[4], "used");
        assert!(used > 0.0 && used < m["MemTotal"] as f64 / 1024.0);
        get(&p, GROUPS[4], "dirty");
        get(&p, GROUPS[4], "swap used");
        let va = parse_keyed(data!("proc-vmstat-x86_64-vm-a.txt"));
        let vb = parse_keyed(data!("proc-vmstat-x86_64-vm-b.txt"));
        assert_eq!(
            get(&p, GROUPS[5], "page faults"),
            (vb["pgfault"] - va["pgfault"]) as f64
        );
        assert_eq!(
            get(&p, GROUPS[5], "NUMA hits"),
            (vb["numa_hit"] - va["numa_hit"]) as f64
        );
        get(&p, GROUPS[5], "NUMA misses");
        let na = parse_net_dev(data!("proc-net-dev-x86_64-vm-a.txt"));
        assert!(na.contains_key("lo") && na.contains_key("eth0"), "{na:?}");
        for s in ["rx packets", "tx packets", "rx", "tx", "errors", "drops"] {
            get(&p, GROUPS[6], &format!("eth0 {s}"));
        }
    }

    #[test]
    fn net_dev_fields() {
        let text = "Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs drop fifo colls carrier compressed\n  eth0: 2048 10 1 2 0 0 0 0 4096 20 3 4 0 0 0 0\n";
        let n = &parse_net_dev(text)["eth0"];
        assert_eq!(
            (n.rx_bytes, n.rx_packets, n.rx_errors, n.rx_drops),
            (2048, 10, 1, 2)
        );
        assert_eq!(
            (n.tx_bytes, n.tx_packets, n.tx_errors, n.tx_drops),
            (4096, 20, 3, 4)
        );
    }

    #[test]
    fn frequency_and_temperature_from_sysfs() {
        let root = std::env::temp_dir().join(format!("perfspect-sysfs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let w = |p: &str, v: &str| {
            let p = root.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, v).unwrap();
        };
        // The layout of the kernel's cpufreq, hwmon and thermal sysfs.
        w("cpu/cpu0/cpufreq/scaling_cur_freq", "2400000\n");
        w("cpu/cpu1/cpufreq/scaling_cur_freq", "800000\n");
        w("cpu/cpufreq/boost", "1\n");
        w("class/hwmon/hwmon0/name", "coretemp\n");
        w("class/hwmon/hwmon0/temp1_input", "45000\n");
        w("class/hwmon/hwmon0/temp1_label", "Package id 0\n");
        w("class/thermal/thermal_zone0/type", "x86_pkg_temp\n");
        w("class/thermal/thermal_zone0/temp", "47500\n");
        let a = Snapshot::default();
        let b = Snapshot {
            freq_khz: read_cpufreq(&root.join("cpu")),
            temp_milli_c: read_temperatures(&root.join("class")),
            ..Default::default()
        };
        let _ = std::fs::remove_dir_all(&root);
        let p = derive(&a, &b, 1.0);
        assert_eq!(get(&p, GROUPS[7], "cpu0 frequency"), 2400.0);
        assert_eq!(get(&p, GROUPS[7], "cpu1 frequency"), 800.0);
        assert_eq!(
            get(&p, GROUPS[7], "coretemp/Package id 0 temperature"),
            45.0
        );
        assert_eq!(
            get(&p, GROUPS[7], "thermal_zone0/x86_pkg_temp temperature"),
            47.5
        );
    }

    #[test]
    fn summary_statistics() {
        let v: Vec<Option<f64>> = (1..=20).map(|x| Some(x as f64)).chain([None]).collect();
        let s = Summary::of(&v).unwrap();
        assert_eq!((s.min, s.mean, s.max, s.p95), (1.0, 10.5, 20.0, 19.0));
        assert!(Summary::of(&[None, None]).is_none());
    }

    #[test]
    fn table_aligns_late_series() {
        let mut t = Table::default();
        t.push(vec![point(GROUPS[2], "a", "/s", 1.0)]);
        t.push(vec![
            point(GROUPS[2], "a", "/s", 2.0),
            point(GROUPS[0], "b", "%", 5.0),
        ]);
        t.set(0, vec![point(GROUPS[8], "IPC", "x", 1.5)]);
        let s = t.finish(2);
        assert_eq!(s[0].name, "b");
        assert_eq!(s[0].values, vec![None, Some(5.0)]);
        assert_eq!(s[1].values, vec![Some(1.0), Some(2.0)]);
        assert_eq!(s[2].values, vec![Some(1.5), None]);
    }
}
