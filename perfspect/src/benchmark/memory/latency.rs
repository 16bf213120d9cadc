//! Latency: a dependent pointer chase over 64-byte lines linked in one
//! random cycle (Sattolo's shuffle), for working sets from 16 KiB to twice
//! the last-level cache. Each load waits for the one before, so the time per
//! load is the latency of whichever level holds the set: the cache levels
//! show as steps in the curve. Best of five passes per size.

use super::region::Region;
use crate::benchmark::stats::round_sig;
use crate::benchmark::topology::Cache;
use serde::Serialize;
use std::time::Instant;

const LINE: usize = 64;

/// xorshift64*: the shuffle's random numbers.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as usize % n
    }
}

/// Sattolo's shuffle: a permutation of 0..n that is one single cycle, so a
/// chase started anywhere visits every line before it repeats.
pub fn sattolo(n: usize, seed: u64) -> Vec<usize> {
    let mut p: Vec<usize> = (0..n).collect();
    let mut rng = Rng(seed | 1);
    for i in (1..n).rev() {
        let j = rng.below(i);
        p.swap(i, j);
    }
    p
}

/// Follows `steps` pointers from `start`; returns where it ended.
#[cfg(target_arch = "x86_64")]
fn chase(start: *const u64, steps: u64) -> *const u64 {
    let mut p = start;
    // SAFETY: every line holds the address of another line of the region.
    unsafe {
        std::arch::asm!(
            "2:",
            "mov {p}, [{p}]",
            "dec {n}",
            "jnz 2b",
            p = inout(reg) p,
            n = inout(reg) steps.max(1) => _,
            options(nostack, readonly),
        );
    }
    p
}

#[cfg(target_arch = "aarch64")]
fn chase(start: *const u64, steps: u64) -> *const u64 {
    let mut p = start;
    // SAFETY: every line holds the address of another line of the region.
    unsafe {
        std::arch::asm!(
            "2:",
            "ldr {p}, [{p}]",
            "subs {n}, {n}, #1",
            "b.ne 2b",
            p = inout(reg) p,
            n = inout(reg) steps.max(1) => _,
            options(nostack, readonly),
        );
    }
    p
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn chase(start: *const u64, steps: u64) -> *const u64 {
    let mut p = start;
    for _ in 0..steps.max(1) {
        // SAFETY: every line holds the address of another line of the region.
        p = unsafe { std::ptr::read_volatile(p) } as *const u64;
    }
    p
}

/// Nanoseconds per dependent load over a working set of `bytes`.
pub fn latency_ns(bytes: usize, seed: u64) -> f64 {
    let lines = (bytes / LINE).max(2);
    let mut region = Region::new(lines * LINE);
    let base = region.ptr as usize;
    let perm = sattolo(lines, seed);
    let words = region.words();
    for (i, next) in perm.iter().enumerate() {
        words[i * LINE / 8] = (base + next * LINE) as u64;
    }
    let start = base as *const u64;
    // Warm up (about one pass), then time passes of at least 10 ms: the
    // best of five, so that a preempted pass does not count.
    let mut p = chase(start, (lines as u64).clamp(1 << 16, 1 << 18));
    let mut steps = 1u64 << 16;
    loop {
        let t = Instant::now();
        p = chase(p, steps);
        if t.elapsed().as_secs_f64() >= 0.01 {
            break;
        }
        steps *= 2;
    }
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        p = chase(p, steps);
        best = best.min(t.elapsed().as_secs_f64() / steps as f64);
    }
    std::hint::black_box(p);
    best * 1e9
}

/// Working-set sizes: 16 KiB up to `max`, four per doubling (x1, x1.25, x1.5, x1.75).
pub fn sizes(max: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let mut p = 16u64 << 10;
    while p <= max {
        for q in [4, 5, 6, 7] {
            let s = p / 4 * q;
            if s <= max {
                out.push(s);
            }
        }
        p *= 2;
    }
    out
}

/// A rise of the latency curve: where it starts and ends, and by how much.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    /// Largest working set before the rise.
    pub from_bytes: u64,
    /// Working set where the rise ends.
    pub to_bytes: u64,
    pub from_ns: f64,
    pub to_ns: f64,
    /// The cache level whose size lies in the rise, if any (from sysfs).
    pub cache: Option<String>,
}

/// Whether a cache of `size` bytes explains a rise from `from` to `to` bytes.
pub fn explains(size: u64, from: u64, to: u64) -> bool {
    size >= from / 2 && size <= to * 2
}

/// Each point's latency replaced by the median of it and its neighbours: a
/// pass slowed by other load on the machine is no step.
pub fn smooth(points: &[(u64, f64)]) -> Vec<(u64, f64)> {
    (0..points.len())
        .map(|i| {
            if i == 0 || i + 1 == points.len() {
                return points[i];
            }
            let mut w = [points[i - 1].1, points[i].1, points[i + 1].1];
            w.sort_by(f64::total_cmp);
            (points[i].0, w[1])
        })
        .collect()
}

/// Steps of a latency curve (smoothed): runs of points each at least 10%
/// slower than the one before, rising at least 1.4x in all. A cache of size
/// C explains a step from A to B when A/2 <= C <= 2B: the rise can end well
/// before the cache is full (associativity over randomly placed 4 KiB pages,
/// the TLB's reach: on this project's AMD VMs the 1 MiB L2's rise ran from
/// 448 to 896 KiB on one machine, from 512 to 768 KiB on another).
pub fn steps(points: &[(u64, f64)], caches: &[Cache]) -> Vec<Step> {
    let points = &smooth(points)[..];
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < points.len() {
        if points[i + 1].1 >= points[i].1 * 1.10 {
            let mut j = i + 1;
            while j + 1 < points.len() && points[j + 1].1 >= points[j].1 * 1.10 {
                j += 1;
            }
            let (a, b) = (points[i], points[j]);
            if b.1 >= a.1 * 1.4 {
                let cache = caches
                    .iter()
                    .find(|c| explains(c.size_bytes, a.0, b.0))
                    .map(|c| c.level.clone());
                out.push(Step {
                    from_bytes: a.0,
                    to_bytes: b.0,
                    from_ns: round_sig(a.1),
                    to_ns: round_sig(b.1),
                    cache,
                });
            }
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cache_explains_a_rise_around_its_size() {
        let mib = 1 << 20;
        // Recorded on this VM: the 1 MiB L2's rise ran from 448 to 896 KiB.
        assert!(explains(mib, 448 << 10, 896 << 10));
        // Recorded on a CI machine of the same kind: from 512 to 768 KiB.
        assert!(explains(mib, 512 << 10, 768 << 10));
        assert!(!explains(32 * mib, 4 * mib, 8 * mib));
        assert!(explains(mib, mib, 2 * mib));
        assert!(!explains(mib, 64 << 10, 128 << 10));
        assert!(!explains(mib, 4 * mib, 8 * mib));
    }

    #[test]
    fn sattolo_is_one_cycle() {
        for n in [2, 3, 10, 1000] {
            let p = sattolo(n, 42);
            let mut seen = vec![false; n];
            let mut i = 0;
            for _ in 0..n {
                assert!(!seen[i], "revisited {i} of {n}");
                seen[i] = true;
                i = p[i];
            }
            assert_eq!(i, 0, "back at the start after {n} steps");
        }
    }

    #[test]
    fn size_ladder() {
        let s = sizes(64 << 10);
        assert_eq!(
            s,
            [
                16384, 20480, 24576, 28672, 32768, 40960, 49152, 57344, 65536
            ]
        );
    }

    /// A curve recorded on this 2-vCPU VM (sysfs: L1d 32 KiB, L2 1 MiB, L3
    /// 32 MiB; the host's L3 share shows at about 4 MiB) by `benchmark --memory`
    /// while other builds ran.
    const CURVE: [(u64, f64); 49] = [
        (16384, 1.164),
        (20480, 1.108),
        (24576, 1.098),
        (28672, 1.099),
        (32768, 1.169),
        (40960, 3.824),
        (49152, 3.825),
        (57344, 3.844),
        (65536, 3.834),
        (81920, 3.838),
        (98304, 3.836),
        (114688, 3.831),
        (131072, 3.843),
        (163840, 4.474),
        (196608, 3.865),
        (229376, 3.843),
        (262144, 4.893),
        (327680, 4.19),
        (393216, 4.482),
        (458752, 5.03),
        (524288, 4.904),
        (655360, 6.843),
        (786432, 6.228),
        (917504, 9.76),
        (1048576, 11.62),
        (1310720, 17.6),
        (1572864, 24.24),
        (1835008, 23.25),
        (2097152, 13.22),
        (2621440, 13.7),
        (3145728, 14.54),
        (3670016, 15.58),
        (4194304, 37.61),
        (5242880, 64.63),
        (6291456, 111.0),
        (7340032, 87.98),
        (8388608, 190.5),
        (10485760, 260.1),
        (12582912, 188.9),
        (14680064, 202.0),
        (16777216, 156.0),
        (20971520, 160.9),
        (25165824, 141.5),
        (29360128, 197.8),
        (33554432, 207.7),
        (41943040, 211.7),
        (50331648, 227.9),
        (58720256, 155.9),
        (67108864, 157.2),
    ];

    #[test]
    fn latency_steps() {
        let caches = [
            Cache {
                level: "L1".into(),
                size_bytes: 32 << 10,
            },
            Cache {
                level: "L2".into(),
                size_bytes: 1 << 20,
            },
            Cache {
                level: "L3".into(),
                size_bytes: 32 << 20,
            },
        ];
        let s = steps(&CURVE, &caches);
        let levels: Vec<Option<&str>> = s.iter().map(|s| s.cache.as_deref()).collect();
        // The third: the host's share of L3 (about 4 MiB) to DRAM, at no size sysfs lists.
        assert_eq!(levels, [Some("L1"), Some("L2"), None], "{s:?}");
        assert_eq!((s[0].from_bytes, s[0].to_bytes), (32 << 10, 40 << 10));
        assert_eq!((s[1].from_bytes, s[1].to_bytes), (768 << 10, 1536 << 10));
        assert_eq!((s[1].from_ns, s[1].to_ns), (6.843, 23.25));
        // A single slow point on a plateau is no step.
        let spike = [
            (1u64 << 14, 4.0),
            (1 << 15, 4.1),
            (1 << 16, 9.0),
            (1 << 17, 4.0),
            (1 << 18, 4.1),
        ];
        assert!(
            steps(&spike, &caches).is_empty(),
            "{:?}",
            steps(&spike, &caches)
        );
        // Noise of a few percent on a plateau is no step.
        let flat: Vec<(u64, f64)> = (0..10)
            .map(|i| (1u64 << (14 + i), 4.0 + (i % 2) as f64 * 0.3))
            .collect();
        assert!(steps(&flat, &caches).is_empty());
        // A rise away from every cache size is reported without a level.
        let odd = [(1u64 << 14, 1.0), (1 << 30, 5.0)];
        assert_eq!(steps(&odd, &caches)[0].cache, Some("L1".into()));
        let far = [(1u64 << 33, 1.0), (1 << 34, 5.0)];
        assert_eq!(steps(&far, &caches)[0].cache, None);
    }

    #[test]
    fn chase_follows_the_cycle() {
        let lines = 1024;
        let mut r = Region::new(lines * LINE);
        let base = r.ptr as usize;
        let p = sattolo(lines, 7);
        let w = r.words();
        for (i, n) in p.iter().enumerate() {
            w[i * LINE / 8] = (base + n * LINE) as u64;
        }
        let start = base as *const u64;
        assert_eq!(chase(start, lines as u64), start);
        assert_eq!(chase(start, 1) as usize, base + p[0] * LINE);
    }
}
