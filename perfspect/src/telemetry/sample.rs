//! Reading the system: one snapshot of the kernel's counters from /proc and
//! /sys (what mpstat, iostat and sar read). Parsers take the file's text, so
//! they are tested on recorded files.

use std::collections::BTreeMap;
use std::path::Path;

/// Jiffies of one CPU line of /proc/stat, in the kernel's order: user, nice,
/// system, idle, iowait, irq, softirq, steal (guest time is inside user/nice).
pub type CpuTimes = [u64; 8];

/// Categories of [`CpuTimes`], in order.
pub const CPU_CATEGORIES: [&str; 8] = [
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
];

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stat {
    /// The `cpu` line (all CPUs).
    pub total: CpuTimes,
    /// `cpuN` lines, by CPU number.
    pub cpus: BTreeMap<u32, CpuTimes>,
    /// Interrupts serviced since boot.
    pub intr: u64,
    /// Context switches since boot.
    pub ctxt: u64,
    /// Runnable tasks now.
    pub procs_running: u64,
    /// Tasks blocked on I/O now.
    pub procs_blocked: u64,
}

pub fn parse_stat(text: &str) -> Stat {
    let mut s = Stat::default();
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let Some(key) = it.next() else { continue };
        let nums: Vec<u64> = it.filter_map(|v| v.parse().ok()).collect();
        let first = nums.first().copied().unwrap_or(0);
        if let Some(rest) = key.strip_prefix("cpu") {
            let mut t = [0u64; 8];
            for (i, v) in nums.iter().take(8).enumerate() {
                t[i] = *v;
            }
            if rest.is_empty() {
                s.total = t;
            } else if let Ok(n) = rest.parse() {
                s.cpus.insert(n, t);
            }
        } else {
            match key {
                "intr" => s.intr = first,
                "ctxt" => s.ctxt = first,
                "procs_running" => s.procs_running = first,
                "procs_blocked" => s.procs_blocked = first,
                _ => {}
            }
        }
    }
    s
}

/// One line of /proc/diskstats.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Disk {
    pub reads: u64,
    pub read_sectors: u64,
    pub read_ms: u64,
    pub writes: u64,
    pub write_sectors: u64,
    pub write_ms: u64,
    /// Milliseconds with I/O in flight.
    pub io_ms: u64,
}

/// Devices of /proc/diskstats whose name `keep` accepts.
pub fn parse_diskstats(text: &str, keep: impl Fn(&str) -> bool) -> BTreeMap<String, Disk> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 14 || !keep(f[2]) {
            continue;
        }
        let n = |i: usize| f[i].parse::<u64>().unwrap_or(0);
        out.insert(
            f[2].to_string(),
            Disk {
                reads: n(3),
                read_sectors: n(5),
                read_ms: n(6),
                writes: n(7),
                write_sectors: n(9),
                write_ms: n(10),
                io_ms: n(12),
            },
        );
    }
    out
}

/// Whole block devices worth showing: those in /sys/block, not loop or ram.
pub fn is_shown_disk(name: &str) -> bool {
    !(name.starts_with("loop") || name.starts_with("ram") || name.starts_with("zram"))
        && Path::new("/sys/block").join(name).exists()
}

/// `Key: value` files (/proc/meminfo, in kB) and `key value` files
/// (/proc/vmstat), as a map.
pub fn parse_keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let k = it.next()?.trim_end_matches(':');
            let v = it.next()?.parse().ok()?;
            Some((k.to_string(), v))
        })
        .collect()
}

/// One interface of /proc/net/dev.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Net {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_drops: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_drops: u64,
}

pub fn parse_net_dev(text: &str) -> BTreeMap<String, Net> {
    let mut out = BTreeMap::new();
    for line in text.lines().skip(2) {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        let v: Vec<u64> = rest
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if v.len() < 12 {
            continue;
        }
        out.insert(
            name.trim().to_string(),
            Net {
                rx_bytes: v[0],
                rx_packets: v[1],
                rx_errors: v[2],
                rx_drops: v[3],
                tx_bytes: v[8],
                tx_packets: v[9],
                tx_errors: v[10],
                tx_drops: v[11],
            },
        );
    }
    out
}

/// Everything read at one instant.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub stat: Stat,
    pub disks: BTreeMap<String, Disk>,
    /// /proc/meminfo, kB.
    pub meminfo: BTreeMap<String, u64>,
    /// /proc/vmstat counters.
    pub vmstat: BTreeMap<String, u64>,
    pub net: BTreeMap<String, Net>,
    /// cpufreq current frequency per CPU, kHz.
    pub freq_khz: BTreeMap<u32, u64>,
    /// Temperature sensors (hwmon `name/label`, thermal zone type), milli-°C.
    pub temp_milli_c: BTreeMap<String, i64>,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

impl Snapshot {
    /// Reads the running system.
    pub fn read() -> Snapshot {
        Snapshot {
            stat: parse_stat(&read("/proc/stat")),
            disks: parse_diskstats(&read("/proc/diskstats"), is_shown_disk),
            meminfo: parse_keyed(&read("/proc/meminfo")),
            vmstat: parse_keyed(&read("/proc/vmstat")),
            net: parse_net_dev(&read("/proc/net/dev")),
            freq_khz: read_cpufreq(Path::new("/sys/devices/system/cpu")),
            temp_milli_c: read_temperatures(Path::new("/sys/class")),
        }
    }
}

/// `cpuN/cpufreq/scaling_cur_freq` under `root` (/sys/devices/system/cpu).
pub fn read_cpufreq(root: &Path) -> BTreeMap<u32, u64> {
    let mut out = BTreeMap::new();
    let Ok(rd) = std::fs::read_dir(root) else {
        return out;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(n) = name.strip_prefix("cpu").and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let v = crate::util::read_trim(&e.path().join("cpufreq/scaling_cur_freq"));
        if let Some(khz) = v.and_then(|v| v.parse().ok()) {
            out.insert(n, khz);
        }
    }
    out
}

/// hwmon `temp*_input` and thermal zones under `root` (/sys/class).
pub fn read_temperatures(root: &Path) -> BTreeMap<String, i64> {
    use crate::util::read_trim;
    let mut out = BTreeMap::new();
    if let Ok(rd) = std::fs::read_dir(root.join("hwmon")) {
        for e in rd.flatten() {
            let dir = e.path();
            let chip = read_trim(&dir.join("name")).unwrap_or_else(|| "hwmon".into());
            let Ok(files) = std::fs::read_dir(&dir) else {
                continue;
            };
            for f in files.flatten() {
                let fname = f.file_name().to_string_lossy().into_owned();
                let Some(stem) = fname.strip_suffix("_input") else {
                    continue;
                };
                if !stem.starts_with("temp") {
                    continue;
                }
                let label = read_trim(&dir.join(format!("{stem}_label")))
                    .unwrap_or_else(|| stem.to_string());
                if let Some(v) = read_trim(&f.path()).and_then(|v| v.parse().ok()) {
                    out.insert(format!("{chip}/{label}"), v);
                }
            }
        }
    }
    if let Ok(rd) = std::fs::read_dir(root.join("thermal")) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.starts_with("thermal_zone") {
                continue;
            }
            let kind = read_trim(&e.path().join("type")).unwrap_or_else(|| name.clone());
            if let Some(v) = read_trim(&e.path().join("temp")).and_then(|v| v.parse().ok()) {
                out.insert(format!("{name}/{kind}"), v);
            }
        }
    }
    out
}

/// Whether the kernel has a hardware PMU for perf: a core PMU in
/// /sys/bus/event_source/devices (x86 `cpu`, hybrid `cpu_core`/`cpu_atom`,
/// Arm `armv8_*`). VMs usually expose none, leaving only software events.
pub fn has_hardware_pmu() -> bool {
    std::fs::read_dir("/sys/bus/event_source/devices")
        .map(|rd| {
            rd.flatten().any(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n == "cpu"
                    || n.starts_with("cpu_")
                    || n.starts_with("armv8")
                    || n.starts_with("arm_")
            })
        })
        .unwrap_or(false)
}

/// The host name (/proc/sys/kernel/hostname).
pub fn host() -> String {
    crate::util::read_trim(Path::new("/proc/sys/kernel/hostname")).unwrap_or_default()
}
