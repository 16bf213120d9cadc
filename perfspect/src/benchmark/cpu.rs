//! The CPU part (`--cpu`): a fixed set of kernels, each timed on one CPU and
//! on every allowed CPU at once (one pinned thread per CPU), repeated.
//!
//! | kernel  | what it stresses                                              |
//! |---------|---------------------------------------------------------------|
//! | integer | xorshift hashing: dependent shifts, xors and adds             |
//! | float   | four independent f64 multiply-add chains                      |
//! | vector  | packed f64 multiply-add on 128-bit registers (SSE2/NEON)      |
//! | memory  | independent random 8-byte reads over a 64 MiB table           |
//!
//! A kernel's rate is millions of its operations per second of CPU time
//! (CLOCK_THREAD_CPUTIME_ID), summed over threads: time the scheduler gives
//! to other processes does not count, so a busy machine disturbs it less
//! than wall-clock rates (it still shares caches and cores). Each repetition
//! yields one score, the geometric mean of the kernels' rates in that
//! repetition; the score reported is the median over repetitions, with the
//! spread (max - min over median) that tells how repeatable it was.

use super::stats::{Spread, geomean, round_sig};
use super::topology;
use serde::Serialize;
use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// Entries of the memory kernel's table (8 bytes each: 64 MiB).
const TABLE_LEN: usize = 8 << 20;

pub struct Kernel {
    pub name: &'static str,
    pub description: &'static str,
    /// Runs `n` operations; returns a value that depends on all of them.
    run: fn(n: u64, table: &[u64]) -> u64,
}

pub const KERNELS: [Kernel; 4] = [
    Kernel {
        name: "integer",
        description: "xorshift hashing (64-bit shifts, xors, adds)",
        run: integer,
    },
    Kernel {
        name: "float",
        description: "four f64 multiply-add chains",
        run: float,
    },
    Kernel {
        name: "vector",
        description: "packed f64 multiply-add, 128-bit vectors",
        run: vector,
    },
    Kernel {
        name: "memory",
        description: "independent random reads over 64 MiB",
        run: memory,
    },
];

fn integer(n: u64, _: &[u64]) -> u64 {
    let mut x = black_box(0x9e37_79b9_7f4a_7c15u64);
    let mut acc = 0u64;
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        acc = acc.wrapping_add(x);
    }
    acc
}

fn float(n: u64, _: &[u64]) -> u64 {
    let (m, c) = (black_box(0.999_999), black_box(1e-7));
    let (mut a, mut b, mut d, mut e) = (1.0f64, 2.0f64, 3.0f64, 4.0f64);
    for _ in 0..n / 4 {
        a = a * m + c;
        b = b * m + c;
        d = d * m + c;
        e = e * m + c;
    }
    (a + b + d + e).to_bits()
}

/// `n` packed multiply-adds of two f64 lanes, in four independent chains.
#[cfg(target_arch = "x86_64")]
fn vector(n: u64, _: &[u64]) -> u64 {
    use std::arch::x86_64::{_mm_cvtsd_f64, _mm_set1_pd};
    let iters = (n / 8).max(1);
    // SAFETY: SSE2 is part of x86_64; registers only, no memory access.
    let out = unsafe {
        let m = _mm_set1_pd(black_box(0.999_999));
        let c = _mm_set1_pd(black_box(1e-7));
        let mut a = _mm_set1_pd(1.0);
        std::arch::asm!(
            "movapd {b}, {a}",
            "movapd {d}, {a}",
            "movapd {e}, {a}",
            "2:",
            "mulpd {a}, {m}", "addpd {a}, {c}",
            "mulpd {b}, {m}", "addpd {b}, {c}",
            "mulpd {d}, {m}", "addpd {d}, {c}",
            "mulpd {e}, {m}", "addpd {e}, {c}",
            "dec {i}",
            "jnz 2b",
            "addpd {a}, {b}",
            "addpd {a}, {d}",
            "addpd {a}, {e}",
            a = inout(xmm_reg) a,
            b = out(xmm_reg) _,
            d = out(xmm_reg) _,
            e = out(xmm_reg) _,
            m = in(xmm_reg) m,
            c = in(xmm_reg) c,
            i = inout(reg) iters => _,
            options(nomem, nostack),
        );
        _mm_cvtsd_f64(a)
    };
    out.to_bits()
}

#[cfg(not(target_arch = "x86_64"))]
fn vector(n: u64, _: &[u64]) -> u64 {
    let (m, c) = (black_box([0.999_999f64; 2]), black_box([1e-7f64; 2]));
    let mut v = [[1.0f64; 2]; 4];
    for _ in 0..n / 8 {
        for lanes in v.iter_mut() {
            for (x, (m, c)) in lanes.iter_mut().zip(m.iter().zip(c.iter())) {
                *x = *x * m + c;
            }
        }
    }
    // Lane 0 of the four chains, as the x86_64 version returns.
    v.iter().map(|lanes| lanes[0]).sum::<f64>().to_bits()
}

fn memory(n: u64, table: &[u64]) -> u64 {
    let mask = (table.len() - 1) as u64;
    let mut x = black_box(0x2545_f491_4f6c_dd1du64);
    let mut acc = 0u64;
    for _ in 0..n {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        acc = acc.wrapping_add(table[((x >> 33) & mask) as usize]);
    }
    acc
}

/// The CPU part's result.
#[derive(Debug, Serialize)]
pub struct Cpu {
    /// Geometric mean of the kernels' rates (M ops/s) on one CPU.
    pub score_single: Spread,
    /// Geometric mean of the kernels' rates (M ops/s, all threads) on every CPU.
    pub score_all: Spread,
    /// CPUs used for the all-CPU runs.
    pub cpus: usize,
    /// Seconds per timed run of one kernel.
    pub seconds_per_run: f64,
    pub kernels: Vec<KernelResult>,
    /// Seconds the part took.
    pub duration_s: f64,
}

#[derive(Debug, Serialize)]
pub struct KernelResult {
    pub name: &'static str,
    pub description: &'static str,
    /// Millions of operations per second on one CPU.
    pub single_mops: Spread,
    /// Millions of operations per second, all CPUs together.
    pub all_mops: Spread,
}

/// Per kernel, per repetition rates -> one score per repetition.
pub fn scores(rates: &[Vec<f64>]) -> Vec<f64> {
    let reps = rates.iter().map(Vec::len).min().unwrap_or(0);
    (0..reps)
        .map(|r| geomean(&rates.iter().map(|k| k[r]).collect::<Vec<_>>()))
        .collect()
}

/// Operations of `k` that take about `target` on this CPU.
fn calibrate(k: &Kernel, table: &[u64], target: Duration) -> u64 {
    let mut n = 1u64 << 12;
    loop {
        let t = Instant::now();
        black_box((k.run)(n, table));
        let e = t.elapsed();
        if e >= target / 8 || n >= 1 << 40 {
            let per = e.as_secs_f64() / n as f64;
            return ((target.as_secs_f64() / per.max(1e-12)) as u64).max(1 << 12);
        }
        n *= 4;
    }
}

/// Seconds of CPU time the calling thread has used.
fn thread_cpu_secs() -> f64 {
    // SAFETY: clock_gettime fills a plain timespec.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// M ops/s of `n` operations of `k` on each of `cpus` at once: the sum over
/// threads of operations per second of CPU time each got, so that other
/// load on the machine (which takes CPU time away) lowers it little.
fn timed(k: &'static Kernel, n: u64, cpus: &[usize], table: &Arc<Vec<u64>>) -> f64 {
    let start = Arc::new(Barrier::new(cpus.len()));
    let handles: Vec<_> = cpus
        .iter()
        .map(|&cpu| {
            let (start, table) = (start.clone(), table.clone());
            std::thread::spawn(move || {
                topology::pin(cpu);
                start.wait();
                let t0 = thread_cpu_secs();
                black_box((k.run)(n, &table));
                thread_cpu_secs() - t0
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| {
            h.join()
                .map_or(f64::NAN, |secs| n as f64 / secs.max(1e-9) / 1e6)
        })
        .sum()
}

/// Keeps every allowed CPU busy with the kernels, in turn, until `deadline`:
/// the load of the power part.
pub fn load_all(deadline: Instant) {
    let table: Arc<Vec<u64>> = Arc::new((0..TABLE_LEN as u64).collect());
    let handles: Vec<_> = topology::allowed_cpus()
        .into_iter()
        .map(|cpu| {
            let table = table.clone();
            std::thread::spawn(move || {
                topology::pin(cpu);
                let mut i = 0;
                while Instant::now() < deadline {
                    black_box((KERNELS[i % KERNELS.len()].run)(1 << 18, &table));
                    i += 1;
                }
            })
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
}

pub fn run(seconds_per_run: f64, reps: usize, progress: bool) -> Cpu {
    let started = Instant::now();
    let cpus = topology::allowed_cpus();
    let table: Arc<Vec<u64>> = Arc::new(
        (0..TABLE_LEN as u64)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .collect(),
    );
    let target = Duration::from_secs_f64(seconds_per_run);
    let mut single = Vec::new();
    let mut all = Vec::new();
    for k in &KERNELS {
        if progress {
            eprintln!("cpu: {} kernel ...", k.name);
        }
        let n = {
            let table = table.clone();
            let cpu = cpus[0];
            std::thread::spawn(move || {
                topology::pin(cpu);
                calibrate(k, &table, target)
            })
            .join()
            .unwrap_or(1 << 20)
        };
        let mut s = Vec::new();
        let mut a = Vec::new();
        for _ in 0..reps {
            s.push(timed(k, n, &cpus[..1], &table));
            a.push(timed(k, n, &cpus, &table));
        }
        single.push(s);
        all.push(a);
    }
    let kernels = KERNELS
        .iter()
        .zip(single.iter().zip(&all))
        .map(|(k, (s, a))| KernelResult {
            name: k.name,
            description: k.description,
            single_mops: Spread::of(s),
            all_mops: Spread::of(a),
        })
        .collect();
    Cpu {
        score_single: Spread::of(&scores(&single)),
        score_all: Spread::of(&scores(&all)),
        cpus: cpus.len(),
        seconds_per_run,
        kernels,
        duration_s: round_sig(started.elapsed().as_secs_f64()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_per_repetition() {
        // Two kernels, three repetitions (rates recorded on this VM, M ops/s).
        let rates = vec![vec![400.0, 410.0, 390.0], vec![100.0, 90.0, 110.0]];
        let s = scores(&rates);
        assert_eq!(s.len(), 3);
        assert!((s[0] - 200.0).abs() < 1e-9);
        assert!((s[1] - (410.0f64 * 90.0).sqrt()).abs() < 1e-9);
        let sp = Spread::of(&s);
        assert_eq!(sp.median, 200.0);
        assert!(sp.spread_pct > 0.0 && sp.spread_pct < 10.0, "{sp:?}");
    }

    #[test]
    fn kernels_compute() {
        let table: Vec<u64> = (0..1024).collect();
        for k in &KERNELS {
            // Deterministic: the same work gives the same result.
            assert_eq!((k.run)(1000, &table), (k.run)(1000, &table), "{}", k.name);
        }
        assert_ne!(integer(10, &table), integer(11, &table));
        // The vector kernel's four chains each did 1000 multiply-adds.
        let mut x = 1.0f64;
        for _ in 0..1000 {
            x = x * 0.999_999 + 1e-7;
        }
        assert_eq!(f64::from_bits(vector(8 * 1000, &table)), 4.0 * x);
    }
}
