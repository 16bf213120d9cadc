//! The memory part (`--memory`): what Intel MLC gives upstream's users,
//! without MLC: bandwidth (bandwidth.rs) and latency by working-set size
//! (latency.rs).

mod bandwidth;
mod latency;
mod region;

pub use bandwidth::Kind;
pub use latency::{Step, explains};

use super::stats::{Spread, round_sig};
use super::topology::{self, Cache};
use serde::Serialize;
use std::time::Instant;

/// The memory part's result.
#[derive(Debug, Serialize)]
pub struct Memory {
    /// Bandwidth over every allowed CPU, then per NUMA node where there are several.
    pub bandwidth: Vec<Bandwidth>,
    /// Nanoseconds per dependent load by working-set size.
    pub latency: Vec<LatencyPoint>,
    /// Rises of the latency curve, with the cache level each matches.
    pub steps: Vec<Step>,
    /// Data caches of CPU 0, from sysfs.
    pub caches: Vec<Cache>,
    /// Seconds the part took.
    pub duration_s: f64,
}

#[derive(Debug, Serialize)]
pub struct Bandwidth {
    /// `all`, or `node<N>`.
    pub scope: String,
    pub cpus: usize,
    /// Bytes per array per thread.
    pub array_bytes: u64,
    pub kind: Kind,
    /// GB/s (10^9 bytes), over the repetitions; the best is `max`.
    pub gb_per_s: Spread,
}

#[derive(Debug, Serialize)]
pub struct LatencyPoint {
    pub size_bytes: u64,
    pub ns: f64,
}

pub fn run(progress: bool) -> Memory {
    let started = Instant::now();
    let caches = topology::data_caches(std::path::Path::new("/"));
    let llc = caches
        .iter()
        .map(|c| c.size_bytes)
        .max()
        .unwrap_or(32 << 20);
    let max = (llc * 2).clamp(32 << 20, 512 << 20);
    if progress {
        eprintln!(
            "memory: latency over {} sizes ...",
            latency::sizes(max).len()
        );
    }
    let latency: Vec<LatencyPoint> = {
        let pin_to = topology::allowed_cpus()[0];
        std::thread::spawn(move || {
            topology::pin(pin_to);
            latency::sizes(max)
                .into_iter()
                .enumerate()
                .map(|(i, s)| LatencyPoint {
                    size_bytes: s,
                    ns: round_sig(latency::latency_ns(s as usize, 0x1234_5678 + i as u64)),
                })
                .collect()
        })
        .join()
        .unwrap_or_default()
    };
    let points: Vec<(u64, f64)> = latency.iter().map(|p| (p.size_bytes, p.ns)).collect();
    let steps = latency::steps(&points, &caches);

    let cpus = topology::allowed_cpus();
    // Arrays well beyond the caches: 4x the LLC over all threads, 8 MiB at least each.
    let per_thread = ((llc * 4) / cpus.len() as u64).max(8 << 20);
    let elements = (per_thread / 8) as usize / 4 * 4;
    let mut scopes = vec![("all".to_string(), cpus.clone())];
    let nodes = topology::numa_nodes(&cpus);
    if nodes.len() > 1 {
        scopes.extend(nodes.into_iter().map(|(n, c)| (format!("node{n}"), c)));
    }
    let mut bandwidth = Vec::new();
    for (scope, cpus) in scopes {
        if progress {
            eprintln!("memory: bandwidth on {scope} ({} CPUs) ...", cpus.len());
        }
        for (kind, gb) in bandwidth::measure(&cpus, elements, 5) {
            bandwidth.push(Bandwidth {
                scope: scope.clone(),
                cpus: cpus.len(),
                array_bytes: elements as u64 * 8,
                kind,
                gb_per_s: gb,
            });
        }
    }
    Memory {
        bandwidth,
        latency,
        steps,
        caches,
        duration_s: round_sig(started.elapsed().as_secs_f64()),
    }
}
