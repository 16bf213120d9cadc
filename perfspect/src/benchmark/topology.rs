//! Where the benchmark threads run: the CPUs this process may use, pinning a
//! thread to one of them, NUMA nodes, and the data cache sizes of CPU 0.

use crate::report::parse::{parse_cache_size, parse_cpulist};
use std::path::Path;

/// CPUs this process may run on (its affinity mask), in order.
pub fn allowed_cpus() -> Vec<usize> {
    // SAFETY: sched_getaffinity fills a plain cpu_set_t.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let ok =
        unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if ok != 0 {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        return (0..n).collect();
    }
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: i < CPU_SETSIZE.
        .filter(|&i| unsafe { libc::CPU_ISSET(i, &set) })
        .collect()
}

/// Pins the calling thread to `cpu`; false if the kernel refused.
pub fn pin(cpu: usize) -> bool {
    // SAFETY: a zeroed cpu_set_t with one bit set, for the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

/// NUMA nodes with CPUs this process may use: (node, its allowed CPUs).
/// One node 0 with every allowed CPU where sysfs has no node directory.
pub fn numa_nodes(allowed: &[usize]) -> Vec<(u32, Vec<usize>)> {
    let mut nodes = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/sys/devices/system/node") {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(n) = name
                .strip_prefix("node")
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let cpus: Vec<usize> = std::fs::read_to_string(e.path().join("cpulist"))
                .map(|s| parse_cpulist(&s))
                .unwrap_or_default()
                .into_iter()
                .map(|c| c as usize)
                .filter(|c| allowed.contains(c))
                .collect();
            if !cpus.is_empty() {
                nodes.push((n, cpus));
            }
        }
    }
    nodes.sort();
    if nodes.is_empty() {
        nodes.push((0, allowed.to_vec()));
    }
    nodes
}

/// A data (or unified) cache of CPU 0, as sysfs describes it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Cache {
    /// "L1", "L2", "L3".
    pub level: String,
    /// Bytes of one instance.
    pub size_bytes: u64,
}

/// The data and unified caches of CPU 0 below `root` (normally `/`), by level.
pub fn data_caches(root: &Path) -> Vec<Cache> {
    let base = root.join("sys/devices/system/cpu/cpu0/cache");
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(&base) else {
        return out;
    };
    for e in rd.flatten() {
        if !e.file_name().to_string_lossy().starts_with("index") {
            continue;
        }
        let read =
            |f: &str| std::fs::read_to_string(e.path().join(f)).map(|s| s.trim().to_string());
        if read("type").is_ok_and(|t| t == "Instruction") {
            continue;
        }
        if let (Ok(level), Some(size)) = (
            read("level"),
            read("size").ok().and_then(|s| parse_cache_size(&s)),
        ) {
            out.push(Cache {
                level: format!("L{level}"),
                size_bytes: size,
            });
        }
    }
    out.sort_by(|a, b| a.level.cmp(&b.level));
    out
}
