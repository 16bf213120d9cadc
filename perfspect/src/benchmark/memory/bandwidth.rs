//! Bandwidth: every allowed CPU (and, where there are several NUMA nodes,
//! the CPUs of each node) runs a pinned thread over its own arrays, first
//! touched by that thread so the memory is local: a STREAM-like triad
//! (`a[i] = b[i] + s * c[i]`, 24 bytes counted per element as STREAM does)
//! and a read-only sum. Best of the repetitions, as STREAM reports.

use super::region::Region;
use crate::benchmark::stats::Spread;
use crate::benchmark::topology;
use serde::Serialize;
use std::sync::{Arc, Barrier};
use std::time::Instant;

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
    let mut s = [0u64; 4];
    for c in a.chunks_exact(4) {
        for (x, y) in s.iter_mut().zip(c) {
            *x = x.wrapping_add(*y);
        }
    }
    s.iter().fold(0, |x, y| x.wrapping_add(*y))
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
pub fn measure(cpus: &[usize], elements: usize, reps: usize) -> Vec<(Kind, Spread)> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
