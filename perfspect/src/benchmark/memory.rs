//! The memory part (`--memory`): what Intel MLC gives upstream's users,
//! without MLC.
//!
//! Latency: a dependent pointer chase over 64-byte lines linked in one random
//! cycle (Sattolo's shuffle), for working sets from 16 KiB to twice the last-level
//! cache. Each load waits for the one before, so the time per load
//! is the latency of whichever level holds the set: the cache levels show as
//! steps in the curve. Best of five passes per size.
//!
//! Bandwidth: every allowed CPU (and, where there are several NUMA nodes,
//! the CPUs of each node) runs a pinned thread over its own arrays, first
//! touched by that thread so the memory is local: a STREAM-like triad
//! (`a[i] = b[i] + s * c[i]`, 24 bytes counted per element as STREAM does)
//! and a read-only sum. Best of the repetitions, as STREAM reports.

use super::stats::{Spread, round_sig};
use super::topology::{self, Cache};
use serde::Serialize;
use std::sync::{Arc, Barrier};
use std::time::Instant;

const LINE: usize = 64;

/// Anonymous memory, huge-page backed where the kernel agrees (fewer TLB
/// misses blurring the cache steps), unmapped on drop.
struct Region {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: a private mapping owned by one Region; callers synchronise access.
unsafe impl Send for Region {}

impl Region {
    fn new(len: usize) -> Region {
        let len = len.max(4096).next_multiple_of(2 << 20);
        // SAFETY: anonymous private mapping; checked for MAP_FAILED below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert!(ptr != libc::MAP_FAILED, "cannot map {len} bytes of memory");
        // SAFETY: advice on our own mapping; failure only loses huge pages.
        unsafe { libc::madvise(ptr, len, libc::MADV_HUGEPAGE) };
        Region {
            ptr: ptr.cast(),
            len,
        }
    }

    fn words(&mut self) -> &mut [u64] {
        // SAFETY: the mapping is len bytes, page aligned, zero filled.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.cast(), self.len / 8) }
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: unmapping the mapping made in new().
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

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
fn latency_ns(bytes: usize, seed: u64) -> f64 {
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
/// C explains a step from A to B when A/2 <= C <= B.
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
                    .find(|c| c.size_bytes >= a.0 / 2 && c.size_bytes <= b.0)
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

/// Bytes counted per element and repetition, and the loop itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// a[i] = b[i] + s * c[i]: 24 bytes per element (2 reads, 1 write).
    Triad,
    /// sum += a[i]: 8 bytes per element.
    Read,
}

impl Kind {
    pub fn bytes_per_element(self) -> u64 {
        match self {
            Kind::Triad => 24,
            Kind::Read => 8,
        }
    }
}

/// Bytes per second of `elements` elements per thread on `threads` threads
/// in `secs`.
pub fn bandwidth(kind: Kind, elements: u64, threads: usize, secs: f64) -> f64 {
    (kind.bytes_per_element() * elements * threads as u64) as f64 / secs
}

#[cfg(target_arch = "x86_64")]
fn read_kernel(a: &[u64]) -> u64 {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi64, _mm_cvtsi128_si64, _mm_setzero_si128, _mm_unpackhi_epi64,
    };
    let n = a.len() / 8 * 8;
    if n == 0 {
        return 0;
    }
    // SAFETY: 16-byte aligned (page-aligned region), n words in bounds.
    unsafe {
        let mut s0: __m128i = _mm_setzero_si128();
        let mut s1: __m128i = _mm_setzero_si128();
        let mut s2: __m128i = _mm_setzero_si128();
        let mut s3: __m128i = _mm_setzero_si128();
        std::arch::asm!(
            "2:",
            "paddq {s0}, [{p}]",
            "paddq {s1}, [{p} + 16]",
            "paddq {s2}, [{p} + 32]",
            "paddq {s3}, [{p} + 48]",
            "add {p}, 64",
            "cmp {p}, {end}",
            "jb 2b",
            s0 = inout(xmm_reg) s0,
            s1 = inout(xmm_reg) s1,
            s2 = inout(xmm_reg) s2,
            s3 = inout(xmm_reg) s3,
            p = inout(reg) a.as_ptr() => _,
            end = in(reg) a.as_ptr().add(n),
            options(nostack, readonly),
        );
        let s = _mm_add_epi64(_mm_add_epi64(s0, s1), _mm_add_epi64(s2, s3));
        _mm_cvtsi128_si64(_mm_add_epi64(s, _mm_unpackhi_epi64(s, s))) as u64
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn read_kernel(a: &[u64]) -> u64 {
    a.chunks_exact(4)
        .fold([0u64; 4], |mut s, c| {
            for k in 0..4 {
                s[k] = s[k].wrapping_add(c[k]);
            }
            s
        })
        .iter()
        .fold(0, |x, y| x.wrapping_add(*y))
}

#[cfg(target_arch = "x86_64")]
fn triad_kernel(a: &mut [f64], b: &[f64], c: &[f64], s: f64) {
    use std::arch::x86_64::_mm_set1_pd;
    let n = a.len().min(b.len()).min(c.len()) / 4 * 4;
    if n == 0 {
        return;
    }
    // SAFETY: the three arrays are 16-byte aligned and hold n elements.
    unsafe {
        let sv = _mm_set1_pd(s);
        std::arch::asm!(
            "xor {i}, {i}",
            "2:",
            "movapd {x0}, [{c} + {i}]",
            "movapd {x1}, [{c} + {i} + 16]",
            "mulpd {x0}, {sv}",
            "mulpd {x1}, {sv}",
            "addpd {x0}, [{b} + {i}]",
            "addpd {x1}, [{b} + {i} + 16]",
            "movapd [{a} + {i}], {x0}",
            "movapd [{a} + {i} + 16], {x1}",
            "add {i}, 32",
            "cmp {i}, {len}",
            "jb 2b",
            a = in(reg) a.as_mut_ptr(),
            b = in(reg) b.as_ptr(),
            c = in(reg) c.as_ptr(),
            len = in(reg) n * 8,
            sv = in(xmm_reg) sv,
            i = out(reg) _,
            x0 = out(xmm_reg) _,
            x1 = out(xmm_reg) _,
            options(nostack),
        );
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn triad_kernel(a: &mut [f64], b: &[f64], c: &[f64], s: f64) {
    for ((x, y), z) in a.iter_mut().zip(b).zip(c) {
        *x = y + s * z;
    }
}

/// One thread's arrays: three regions of `elements` f64 each.
struct Arrays {
    a: Region,
    b: Region,
    c: Region,
    elements: usize,
}

impl Arrays {
    fn new(elements: usize) -> Arrays {
        let mut r = Arrays {
            a: Region::new(elements * 8),
            b: Region::new(elements * 8),
            c: Region::new(elements * 8),
            elements,
        };
        // First touch by the pinned thread: the pages land on its node.
        for (i, w) in r.a.words().iter_mut().enumerate() {
            *w = i as u64;
        }
        r.b.words().fill(1.0f64.to_bits());
        r.c.words().fill(2.0f64.to_bits());
        r
    }

    fn run(&mut self, kind: Kind) -> u64 {
        let n = self.elements;
        let f = |r: &mut Region| -> *mut f64 { r.ptr.cast() };
        let (a, b, c) = (f(&mut self.a), f(&mut self.b), f(&mut self.c));
        // SAFETY: three distinct mappings of at least n f64 each.
        unsafe {
            match kind {
                Kind::Triad => {
                    triad_kernel(
                        std::slice::from_raw_parts_mut(a, n),
                        std::slice::from_raw_parts(b, n),
                        std::slice::from_raw_parts(c, n),
                        3.0,
                    );
                    0
                }
                Kind::Read => read_kernel(std::slice::from_raw_parts(a.cast::<u64>(), n)),
            }
        }
    }
}

/// Bandwidth (GB/s) of `reps` runs of each kernel on `cpus`. Each thread
/// times itself: a run lasts from the first thread's start to the last
/// one's end (the coordinating thread may not even be running meanwhile).
fn measure_bandwidth(cpus: &[usize], elements: usize, reps: usize) -> Vec<(Kind, Spread)> {
    let kinds = [Kind::Triad, Kind::Read];
    let n = cpus.len();
    let go = Arc::new(Barrier::new(n));
    let times: Vec<Vec<Vec<(Instant, Instant)>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = cpus
            .iter()
            .map(|&cpu| {
                let go = go.clone();
                scope.spawn(move || {
                    topology::pin(cpu);
                    let mut arrays = Arrays::new(elements);
                    let mut sink = 0u64;
                    let mut t = vec![Vec::new(); kinds.len()];
                    for _ in 0..reps {
                        for (k, kind) in kinds.iter().enumerate() {
                            go.wait();
                            let start = Instant::now();
                            sink = sink.wrapping_add(arrays.run(*kind));
                            t[k].push((start, Instant::now()));
                        }
                    }
                    std::hint::black_box(sink);
                    t
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    kinds
        .iter()
        .enumerate()
        .map(|(k, &kind)| {
            let bw: Vec<f64> = (0..reps)
                .filter_map(|r| {
                    let start = times.iter().map(|t| t[k][r].0).min()?;
                    let end = times.iter().map(|t| t[k][r].1).max()?;
                    let secs = end.duration_since(start).as_secs_f64().max(1e-9);
                    Some(bandwidth(kind, elements as u64, n, secs) / 1e9)
                })
                .collect();
            (kind, Spread::of(&bw))
        })
        .collect()
}

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
        eprintln!("memory: latency over {} sizes ...", sizes(max).len());
    }
    let latency: Vec<LatencyPoint> = {
        let pin_to = topology::allowed_cpus()[0];
        std::thread::spawn(move || {
            topology::pin(pin_to);
            sizes(max)
                .into_iter()
                .enumerate()
                .map(|(i, s)| LatencyPoint {
                    size_bytes: s,
                    ns: round_sig(latency_ns(s as usize, 0x1234_5678 + i as u64)),
                })
                .collect()
        })
        .join()
        .unwrap_or_default()
    };
    let points: Vec<(u64, f64)> = latency.iter().map(|p| (p.size_bytes, p.ns)).collect();
    let steps = steps(&points, &caches);

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
        for (kind, gb) in measure_bandwidth(&cpus, elements, 5) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn bandwidth_arithmetic() {
        // 1 Mi elements per thread, 2 threads, 10 ms.
        let t = bandwidth(Kind::Triad, 1 << 20, 2, 0.01);
        assert!((t - 24.0 * 2.0 * (1u64 << 20) as f64 / 0.01).abs() < 1.0);
        assert_eq!(bandwidth(Kind::Read, 1000, 1, 1.0), 8000.0);
    }

    #[test]
    fn kernels_touch_every_element() {
        let mut arrays = Arrays::new(1 << 12);
        // a[i] = i: the read kernel sums 0..n.
        let n = 1u64 << 12;
        assert_eq!(arrays.run(Kind::Read), n * (n - 1) / 2);
        arrays.run(Kind::Triad);
        // SAFETY: a holds n f64 after the triad.
        let a = unsafe { std::slice::from_raw_parts(arrays.a.ptr.cast::<f64>(), n as usize) };
        assert!(a.iter().all(|&x| x == 1.0 + 3.0 * 2.0));
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
