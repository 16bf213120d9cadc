//! Pure parsers for the text files the report reads. No I/O here.

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One `processor` block of /proc/cpuinfo.
pub type CpuBlock = BTreeMap<String, String>;

/// Splits /proc/cpuinfo into per-processor blocks (key -> value). Blocks
/// without a `processor` key (the trailing `Hardware`/`Revision` block of old
/// ARM kernels, or the single summary block of some) are kept separately.
pub fn parse_cpuinfo(text: &str) -> (Vec<CpuBlock>, CpuBlock) {
    let mut procs = Vec::new();
    let mut extra = CpuBlock::new();
    let mut cur = CpuBlock::new();
    let flush = |cur: &mut CpuBlock, procs: &mut Vec<CpuBlock>, extra: &mut CpuBlock| {
        if cur.is_empty() {
            return;
        }
        let block = std::mem::take(cur);
        if block.contains_key("processor") {
            procs.push(block);
        } else {
            extra.extend(block);
        }
    };
    for line in text.lines() {
        if line.trim().is_empty() {
            flush(&mut cur, &mut procs, &mut extra);
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            let k = k.trim().to_string();
            // A new `processor` line without a blank line before it.
            if k == "processor" && cur.contains_key("processor") {
                flush(&mut cur, &mut procs, &mut extra);
            }
            cur.insert(k, v.trim().to_string());
        }
    }
    flush(&mut cur, &mut procs, &mut extra);
    (procs, extra)
}

/// What the report needs from /proc/cpuinfo.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CpuInfo {
    pub logical_cpus: usize,
    pub vendor: Option<String>,
    pub model_name: Option<String>,
    pub family: Option<u32>,
    pub model: Option<u32>,
    pub stepping: Option<u32>,
    pub microcode: Option<String>,
    pub mhz: Option<f64>,
    pub bogomips: Option<f64>,
    pub flags: Vec<String>,
    /// ARM `CPU implementer`, `CPU part`, `CPU variant`, `CPU revision`.
    pub implementer: Option<u32>,
    pub part: Option<u32>,
    pub variant: Option<u32>,
    pub revision: Option<u32>,
    pub arm_architecture: Option<String>,
    /// Distinct `physical id` values (x86 only).
    pub sockets: Option<usize>,
    /// Distinct (`physical id`, `core id`) pairs (x86 only).
    pub cores: Option<usize>,
    /// Distinct (implementer, part) pairs: more than one on big.LITTLE.
    pub arm_core_types: Vec<(u32, u32)>,
}

fn num(s: &str) -> Option<u32> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

pub fn cpuinfo_summary(text: &str) -> CpuInfo {
    let (procs, extra) = parse_cpuinfo(text);
    let first = procs.first().cloned().unwrap_or_default();
    let get = |k: &str| {
        first
            .get(k)
            .or_else(|| extra.get(k))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    let mut info = CpuInfo {
        logical_cpus: procs.len(),
        vendor: get("vendor_id"),
        model_name: get("model name")
            .or_else(|| get("Processor"))
            .or_else(|| get("cpu model")),
        family: get("cpu family").as_deref().and_then(num),
        model: get("model").as_deref().and_then(num),
        stepping: get("stepping").as_deref().and_then(num),
        microcode: get("microcode"),
        mhz: get("cpu MHz").and_then(|v| v.parse().ok()),
        bogomips: get("bogomips")
            .or_else(|| get("BogoMIPS"))
            .and_then(|v| v.parse().ok()),
        flags: get("flags")
            .or_else(|| get("Features"))
            .map(|f| f.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default(),
        implementer: get("CPU implementer").as_deref().and_then(num),
        part: get("CPU part").as_deref().and_then(num),
        variant: get("CPU variant").as_deref().and_then(num),
        revision: get("CPU revision").as_deref().and_then(num),
        arm_architecture: get("CPU architecture"),
        ..Default::default()
    };
    let phys: BTreeSet<&str> = procs
        .iter()
        .filter_map(|p| p.get("physical id").map(String::as_str))
        .collect();
    if !phys.is_empty() {
        info.sockets = Some(phys.len());
        let cores: BTreeSet<(&str, &str)> = procs
            .iter()
            .filter_map(|p| Some((p.get("physical id")?.as_str(), p.get("core id")?.as_str())))
            .collect();
        if !cores.is_empty() {
            info.cores = Some(cores.len());
        }
    }
    let mut types: Vec<(u32, u32)> = procs
        .iter()
        .filter_map(|p| Some((num(p.get("CPU implementer")?)?, num(p.get("CPU part")?)?)))
        .collect();
    types.sort_unstable();
    types.dedup();
    info.arm_core_types = types;
    info
}

/// /proc/meminfo as (key, bytes) for `kB` lines and (key, count) for the others.
pub fn parse_meminfo(text: &str) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for line in text.lines() {
        let Some((k, rest)) = line.split_once(':') else {
            continue;
        };
        let mut it = rest.split_whitespace();
        let Some(v) = it.next().and_then(|v| v.parse::<u64>().ok()) else {
            continue;
        };
        let v = match it.next() {
            Some("kB") => v * 1024,
            _ => v,
        };
        m.insert(k.trim().to_string(), v);
    }
    m
}

/// /etc/os-release: KEY=value with optional shell quoting.
pub fn parse_os_release(text: &str) -> HashMap<String, String> {
    let mut m = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        m.insert(k.trim().to_string(), unquote(v.trim()));
    }
    m
}

fn unquote(v: &str) -> String {
    let bytes = v.as_bytes();
    if bytes.len() >= 2 {
        let q = bytes[0];
        if (q == b'"' || q == b'\'') && bytes[bytes.len() - 1] == q {
            let inner = &v[1..v.len() - 1];
            if q == b'\'' {
                return inner.to_string();
            }
            let mut out = String::new();
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                } else {
                    out.push(c);
                }
            }
            return out;
        }
    }
    v.to_string()
}

/// "0-3,8,10-11" -> [0,1,2,3,8,10,11]. Invalid parts are ignored.
pub fn parse_cpulist(s: &str) -> Vec<u32> {
    let mut v = Vec::new();
    for part in s.trim().split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.trim().parse::<u32>(), b.trim().parse::<u32>()) {
                    if a <= b && b - a < 1 << 20 {
                        v.extend(a..=b);
                    }
                }
            }
            None => {
                if let Ok(a) = part.parse() {
                    v.push(a);
                }
            }
        }
    }
    v
}

/// Sysfs cache sizes: "48K", "2048K", "32M", "1024".
pub fn parse_cache_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (n, mult) = match s.chars().last()? {
        'K' | 'k' => (&s[..s.len() - 1], 1u64 << 10),
        'M' | 'm' => (&s[..s.len() - 1], 1 << 20),
        'G' | 'g' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    n.trim().parse::<u64>().ok().map(|n| n * mult)
}

/// The bracketed choice of a sysfs selector: "always [madvise] never" -> madvise.
pub fn bracketed(s: &str) -> Option<&str> {
    let start = s.find('[')?;
    let end = s[start..].find(']')? + start;
    Some(&s[start + 1..end])
}

/// Topology of one logical CPU from sysfs.
#[derive(Debug, Clone, Default)]
pub struct CpuTopo {
    pub package: Option<i64>,
    /// `topology/core_cpus_list` (or `thread_siblings_list`): the logical CPUs
    /// sharing this CPU's core.
    pub core_siblings: Option<String>,
    pub core_id: Option<i64>,
}

/// (sockets, physical cores) from per-CPU topology; `None` if unknown.
pub fn summarize_topology(cpus: &[CpuTopo]) -> (Option<usize>, Option<usize>) {
    if cpus.is_empty() {
        return (None, None);
    }
    let packages: BTreeSet<i64> = cpus.iter().filter_map(|c| c.package).collect();
    let sockets = if packages.is_empty() {
        None
    } else {
        Some(packages.len())
    };
    let cores = if cpus.iter().all(|c| c.core_siblings.is_some()) {
        let s: BTreeSet<Vec<u32>> = cpus
            .iter()
            .filter_map(|c| c.core_siblings.as_deref().map(parse_cpulist))
            .collect();
        Some(s.len())
    } else if cpus
        .iter()
        .all(|c| c.package.is_some() && c.core_id.is_some())
    {
        let s: BTreeSet<(i64, i64)> = cpus
            .iter()
            .filter_map(|c| Some((c.package?, c.core_id?)))
            .collect();
        Some(s.len())
    } else {
        None
    };
    (sockets, cores)
}

/// Aggregate CPU times from the first line of /proc/stat, in clock ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuTimes {
    pub user: u64,
    pub nice: u64,
    pub system: u64,
    pub idle: u64,
    pub iowait: u64,
    pub irq: u64,
    pub softirq: u64,
    pub steal: u64,
}

impl CpuTimes {
    pub fn total(&self) -> u64 {
        self.user
            + self.nice
            + self.system
            + self.idle
            + self.iowait
            + self.irq
            + self.softirq
            + self.steal
    }
    pub fn busy(&self) -> u64 {
        self.total() - self.idle - self.iowait
    }
}

pub fn parse_proc_stat(text: &str) -> Option<CpuTimes> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let g = |i: usize| v.get(i).copied().unwrap_or(0);
    if v.len() < 4 {
        return None;
    }
    Some(CpuTimes {
        user: g(0),
        nice: g(1),
        system: g(2),
        idle: g(3),
        iowait: g(4),
        irq: g(5),
        softirq: g(6),
        steal: g(7),
    })
}

/// Busy percentage (0-100) of all CPUs between two /proc/stat samples, and
/// the user/system/iowait/steal shares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Utilisation {
    pub busy_pct: f64,
    pub user_pct: f64,
    pub system_pct: f64,
    pub iowait_pct: f64,
    pub steal_pct: f64,
}

pub fn utilisation(a: &CpuTimes, b: &CpuTimes) -> Option<Utilisation> {
    let total = b.total().checked_sub(a.total())? as f64;
    if total <= 0.0 {
        return None;
    }
    let pct = |x: u64, y: u64| y.saturating_sub(x) as f64 * 100.0 / total;
    Some(Utilisation {
        busy_pct: pct(a.busy(), b.busy()),
        user_pct: pct(a.user + a.nice, b.user + b.nice),
        system_pct: pct(a.system + a.irq + a.softirq, b.system + b.irq + b.softirq),
        iowait_pct: pct(a.iowait, b.iowait),
        steal_pct: pct(a.steal, b.steal),
    })
}

/// A line of /proc/mounts: (device, mount point, fs type, options).
pub fn parse_mounts(text: &str) -> Vec<(String, String, String, String)> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((
                unescape_octal(it.next()?),
                unescape_octal(it.next()?),
                it.next()?.to_string(),
                it.next().unwrap_or("").to_string(),
            ))
        })
        .collect()
}

/// /proc/mounts escapes space, tab, newline and backslash as \ooo.
fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// "Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz" -> 2300 MHz.
pub fn mhz_from_model_name(name: &str) -> Option<f64> {
    let at = name.rfind('@')?;
    let rest = name[at + 1..].trim();
    let lower = rest.to_ascii_lowercase();
    if let Some(v) = lower.strip_suffix("ghz") {
        return v.trim().parse::<f64>().ok().map(|g| (g * 1000.0).round());
    }
    if let Some(v) = lower.strip_suffix("mhz") {
        return v.trim().parse::<f64>().ok();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpulists() {
        assert_eq!(parse_cpulist("0-3,8,10-11\n"), vec![0, 1, 2, 3, 8, 10, 11]);
        assert_eq!(parse_cpulist(""), Vec::<u32>::new());
        assert_eq!(parse_cpulist("5"), vec![5]);
        assert_eq!(parse_cpulist("3-1,x"), Vec::<u32>::new());
    }

    #[test]
    fn cache_sizes() {
        assert_eq!(parse_cache_size("48K"), Some(48 << 10));
        assert_eq!(parse_cache_size("32M"), Some(32 << 20));
        assert_eq!(parse_cache_size("1024"), Some(1024));
        assert_eq!(parse_cache_size(""), None);
    }

    #[test]
    fn brackets() {
        assert_eq!(bracketed("always [madvise] never"), Some("madvise"));
        assert_eq!(bracketed("[none] mq-deadline"), Some("none"));
        assert_eq!(bracketed("none"), None);
    }

    #[test]
    fn topology() {
        let t = |p: i64, s: &str| CpuTopo {
            package: Some(p),
            core_siblings: Some(s.to_string()),
            core_id: None,
        };
        // 2 sockets x 2 cores x 2 threads.
        let cpus = vec![
            t(0, "0,4"),
            t(0, "1,5"),
            t(1, "2,6"),
            t(1, "3,7"),
            t(0, "0,4"),
            t(0, "1,5"),
            t(1, "2,6"),
            t(1, "3,7"),
        ];
        assert_eq!(summarize_topology(&cpus), (Some(2), Some(4)));
        assert_eq!(summarize_topology(&[]), (None, None));
        let no_siblings = vec![
            CpuTopo {
                package: Some(0),
                core_siblings: None,
                core_id: Some(0),
            },
            CpuTopo {
                package: Some(0),
                core_siblings: None,
                core_id: Some(1),
            },
        ];
        assert_eq!(summarize_topology(&no_siblings), (Some(1), Some(2)));
    }

    #[test]
    fn proc_stat() {
        let a = parse_proc_stat("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n").unwrap();
        let b = parse_proc_stat("cpu  200 0 100 1600 100 0 0 0 0 0\n").unwrap();
        let u = utilisation(&a, &b).unwrap();
        assert!((u.busy_pct - 15.0).abs() < 1e-9);
        assert!((u.user_pct - 10.0).abs() < 1e-9);
        assert!((u.iowait_pct - 5.0).abs() < 1e-9);
        assert!(utilisation(&a, &a).is_none());
        assert!(parse_proc_stat("intr 1 2 3").is_none());
    }

    #[test]
    fn mounts() {
        let m =
            parse_mounts("/dev/vda / ext4 rw,relatime 0 0\nmy\\040disk /mnt/a\\040b xfs ro 0 0\n");
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].0, "my disk");
        assert_eq!(m[1].1, "/mnt/a b");
        assert_eq!(m[1].2, "xfs");
    }

    #[test]
    fn model_name_freq() {
        assert_eq!(
            mhz_from_model_name("Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz"),
            Some(2300.0)
        );
        assert_eq!(mhz_from_model_name("Intel(R) Xeon(R) Processor"), None);
        assert_eq!(mhz_from_model_name("AMD EPYC 7R13 Processor"), None);
    }

    #[test]
    fn os_release_quoting() {
        let m = parse_os_release("NAME=\"Foo \\\"Bar\\\"\"\nID=foo\nX='a b'\n# c\n\nBAD\n");
        assert_eq!(m["NAME"], "Foo \"Bar\"");
        assert_eq!(m["ID"], "foo");
        assert_eq!(m["X"], "a b");
        assert_eq!(m.len(), 3);
    }

    const X86: &str = include_str!("../../tests/data/cpuinfo-x86_64-sapphire-rapids-vm.txt");
    const ARM: &str = include_str!("../../tests/data/cpuinfo-aarch64-graviton2.txt");

    #[test]
    fn cpuinfo_x86_64() {
        let c = cpuinfo_summary(X86);
        assert_eq!(c.logical_cpus, 2);
        assert_eq!(c.vendor.as_deref(), Some("GenuineIntel"));
        assert_eq!(c.model_name.as_deref(), Some("Intel(R) Xeon(R) Processor"));
        assert_eq!(
            (c.family, c.model, c.stepping),
            (Some(6), Some(167), Some(1))
        );
        assert_eq!(c.mhz, Some(2600.0));
        assert_eq!(c.sockets, Some(1));
        assert_eq!(c.cores, Some(2));
        assert!(c.flags.iter().any(|f| f == "amx_tile"));
        assert!(c.flags.iter().any(|f| f == "avx512f"));
        assert_eq!(c.implementer, None);
        assert!(c.arm_core_types.is_empty());
    }

    #[test]
    fn cpuinfo_aarch64() {
        let c = cpuinfo_summary(ARM);
        assert_eq!(c.logical_cpus, 4);
        assert_eq!(c.model_name, None);
        assert_eq!(c.vendor, None);
        assert_eq!(c.implementer, Some(0x41));
        assert_eq!(c.part, Some(0xd0c));
        assert_eq!(c.variant, Some(3));
        assert_eq!(c.revision, Some(1));
        assert_eq!(c.bogomips, Some(243.75));
        assert_eq!(c.arm_architecture.as_deref(), Some("8"));
        assert_eq!(c.arm_core_types, vec![(0x41, 0xd0c)]);
        assert!(c.flags.iter().any(|f| f == "atomics"));
        assert_eq!(c.sockets, None);
    }

    #[test]
    fn cpuinfo_edge_cases() {
        assert_eq!(cpuinfo_summary("").logical_cpus, 0);
        // Old ARM kernels: a trailing block without `processor`.
        let old = "processor\t: 0\nBogoMIPS\t: 50.00\n\nprocessor\t: 1\nBogoMIPS\t: 50.00\n\nHardware\t: BCM2835\nRevision\t: a02082\n";
        let (procs, extra) = parse_cpuinfo(old);
        assert_eq!(procs.len(), 2);
        assert_eq!(extra.get("Hardware").map(String::as_str), Some("BCM2835"));
        // No blank line between processors.
        let dense = "processor : 0\nflags : a\nprocessor : 1\nflags : a\n";
        assert_eq!(cpuinfo_summary(dense).logical_cpus, 2);
    }

    #[test]
    fn meminfo_captured() {
        let m = parse_meminfo(include_str!("../../tests/data/meminfo-x86_64-vm.txt"));
        assert_eq!(m["MemTotal"], 24_684_084 * 1024);
        assert!(m["MemAvailable"] <= m["MemTotal"]);
        assert_eq!(m["HugePages_Total"], 0);
        assert_eq!(m["Hugepagesize"], 2048 * 1024);
        assert!(m.len() > 40);
    }

    #[test]
    fn os_release_captured() {
        let m = parse_os_release(include_str!("../../tests/data/os-release-debian12.txt"));
        assert_eq!(m["PRETTY_NAME"], "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(m["ID"], "debian");
        assert_eq!(m["VERSION_ID"], "12");
        assert_eq!(m["HOME_URL"], "https://www.debian.org/");
    }
}
