//! The frequency part (`--frequency`, x86_64): what avx-turbo gives
//! upstream's users. A chain of dependent additions (one cycle each) runs
//! on 1, 2, … all allowed CPUs at once, as scalar, AVX2 and AVX-512 code
//! where the CPU has them; the frequency is the chain's additions per second
//! of CPU time each thread got. Where the APERF/MPERF MSRs are readable
//! (root, the msr module, real hardware) their ratio is reported too: the
//! share of the nominal (TSC) frequency the cores ran at.

use super::stats::round_sig;
use super::topology;
use serde::Serialize;
use std::sync::{Arc, Barrier};

/// An instruction set of the loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Isa {
    Scalar,
    Avx2,
    Avx512,
}

impl Isa {
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    #[cfg(target_arch = "x86_64")]
    fn available(self) -> bool {
        match self {
            Isa::Scalar => true,
            Isa::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            Isa::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
        }
    }

    /// The loops are x86_64 code; the command refuses --frequency elsewhere.
    #[cfg(not(target_arch = "x86_64"))]
    fn available(self) -> bool {
        false
    }
}

/// Additions per loop iteration (all dependent: one cycle each).
const CHAIN: u64 = 8;

#[cfg(not(target_arch = "x86_64"))]
fn chain(_: Isa, _: u64) {}

/// Runs `iters` iterations of the chain; the additions are 8 per iteration.
#[cfg(target_arch = "x86_64")]
fn chain(isa: Isa, iters: u64) {
    let iters = iters.max(1);
    // SAFETY: register-only loops; AVX code only runs where the CPU has it
    // (checked by the caller), and vzeroupper leaves the upper halves clean.
    unsafe {
        match isa {
            Isa::Scalar => std::arch::asm!(
                "2:",
                "add {x}, 1", "add {x}, 1", "add {x}, 1", "add {x}, 1",
                "add {x}, 1", "add {x}, 1", "add {x}, 1", "add {x}, 1",
                "dec {n}",
                "jnz 2b",
                x = inout(reg) 0u64 => _,
                n = inout(reg) iters => _,
                options(nomem, nostack),
            ),
            Isa::Avx2 => std::arch::asm!(
                "vpxor xmm0, xmm0, xmm0",
                "vpxor xmm1, xmm1, xmm1",
                "2:",
                "vpaddd ymm0, ymm0, ymm1", "vpaddd ymm0, ymm0, ymm1",
                "vpaddd ymm0, ymm0, ymm1", "vpaddd ymm0, ymm0, ymm1",
                "vpaddd ymm0, ymm0, ymm1", "vpaddd ymm0, ymm0, ymm1",
                "vpaddd ymm0, ymm0, ymm1", "vpaddd ymm0, ymm0, ymm1",
                "dec {n}",
                "jnz 2b",
                "vzeroupper",
                n = inout(reg) iters => _,
                out("xmm0") _,
                out("xmm1") _,
                options(nomem, nostack),
            ),
            Isa::Avx512 => std::arch::asm!(
                "vpxor xmm0, xmm0, xmm0",
                "vpxor xmm1, xmm1, xmm1",
                "2:",
                "vpaddd zmm0, zmm0, zmm1", "vpaddd zmm0, zmm0, zmm1",
                "vpaddd zmm0, zmm0, zmm1", "vpaddd zmm0, zmm0, zmm1",
                "vpaddd zmm0, zmm0, zmm1", "vpaddd zmm0, zmm0, zmm1",
                "vpaddd zmm0, zmm0, zmm1", "vpaddd zmm0, zmm0, zmm1",
                "dec {n}",
                "jnz 2b",
                "vzeroupper",
                n = inout(reg) iters => _,
                out("xmm0") _,
                out("xmm1") _,
                options(nomem, nostack),
            ),
        }
    }
}

fn thread_cpu_secs() -> f64 {
    // SAFETY: clock_gettime fills a plain timespec.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// GHz of `adds` dependent additions in `secs` of CPU time.
pub fn ghz(adds: u64, secs: f64) -> f64 {
    adds as f64 / secs.max(1e-9) / 1e9
}

/// APERF (0xE8) and MPERF (0xE7) of `cpu`, if /dev/cpu/N/msr lets us read them.
fn aperf_mperf(cpu: usize) -> Result<(u64, u64), String> {
    use std::os::unix::fs::FileExt;
    let f = std::fs::File::open(format!("/dev/cpu/{cpu}/msr")).map_err(|e| {
        format!("/dev/cpu/{cpu}/msr: {e} (needs root and the msr module: modprobe msr)")
    })?;
    let read = |reg: u64| -> Result<u64, String> {
        let mut b = [0u8; 8];
        f.read_exact_at(&mut b, reg).map_err(|e| {
            format!("MSR {reg:#x} of CPU {cpu}: {e} (virtual machines seldom expose it)")
        })?;
        Ok(u64::from_le_bytes(b))
    };
    Ok((read(0xE8)?, read(0xE7)?))
}

/// One measurement: an ISA on a number of CPUs.
#[derive(Debug, Serialize)]
pub struct Point {
    pub isa: Isa,
    /// CPUs running the loop at once.
    pub active_cpus: usize,
    /// Mean over the threads of additions per CPU-second, GHz.
    pub ghz: f64,
    /// Lowest thread's GHz.
    pub min_ghz: f64,
    /// Mean APERF/MPERF ratio over the threads (1.0: nominal frequency), where readable.
    pub aperf_mperf: Option<f64>,
}

/// The frequency part's result.
#[derive(Debug, Serialize)]
pub struct Frequency {
    pub points: Vec<Point>,
    /// Instruction sets this CPU lacks (not measured).
    pub skipped: Vec<Isa>,
    /// Why APERF/MPERF is missing, when it is.
    pub aperf_mperf_unavailable: Option<String>,
    /// Seconds each measurement ran.
    pub seconds_per_point: f64,
    /// Seconds the part took.
    pub duration_s: f64,
}

/// 1, 2, 3, … all; for more than 8 CPUs, 1, 2, 4, 8, … and all.
pub fn active_counts(n: usize) -> Vec<usize> {
    if n <= 8 {
        return (1..=n).collect();
    }
    let mut v: Vec<usize> = std::iter::successors(Some(1usize), |x| Some(x * 2))
        .take_while(|x| *x < n)
        .collect();
    v.push(n);
    v
}

fn measure(isa: Isa, cpus: &[usize], iters: u64) -> (Vec<f64>, Vec<Result<f64, String>>) {
    let go = Arc::new(Barrier::new(cpus.len()));
    let handles: Vec<_> = cpus
        .iter()
        .map(|&cpu| {
            let go = go.clone();
            std::thread::spawn(move || {
                topology::pin(cpu);
                go.wait();
                let msr0 = aperf_mperf(cpu);
                let t0 = thread_cpu_secs();
                chain(isa, iters);
                let secs = thread_cpu_secs() - t0;
                let ratio = match (msr0, aperf_mperf(cpu)) {
                    (Ok((a0, m0)), Ok((a1, m1))) if m1 > m0 => {
                        Ok((a1 - a0) as f64 / (m1 - m0) as f64)
                    }
                    (Err(e), _) | (_, Err(e)) => Err(e),
                    _ => Err("MPERF did not advance".to_string()),
                };
                (ghz(iters * CHAIN, secs), ratio)
            })
        })
        .collect();
    handles.into_iter().filter_map(|h| h.join().ok()).unzip()
}

pub fn run(seconds: f64, progress: bool) -> Frequency {
    let started = std::time::Instant::now();
    let cpus = topology::allowed_cpus();
    let mut points = Vec::new();
    let mut skipped = Vec::new();
    let mut why_no_msr = None;
    for isa in [Isa::Scalar, Isa::Avx2, Isa::Avx512] {
        if !isa.available() {
            skipped.push(isa);
            continue;
        }
        if progress {
            eprintln!("frequency: {} ...", isa.name());
        }
        // Calibrate on one CPU: iterations for `seconds`.
        let (g, _) = measure(isa, &cpus[..1], 1 << 20);
        let iters = ((seconds * g[0].max(0.1) * 1e9) / CHAIN as f64) as u64;
        for n in active_counts(cpus.len()) {
            let (g, ratios) = measure(isa, &cpus[..n], iters);
            let ok: Vec<f64> = ratios
                .iter()
                .filter_map(|r| r.as_ref().ok().copied())
                .collect();
            if let Some(Err(e)) = ratios.iter().find(|r| r.is_err()) {
                why_no_msr.get_or_insert_with(|| e.clone());
            }
            points.push(Point {
                isa,
                active_cpus: n,
                ghz: round_sig(g.iter().sum::<f64>() / g.len().max(1) as f64),
                min_ghz: round_sig(g.iter().copied().fold(f64::INFINITY, f64::min)),
                aperf_mperf: (ok.len() == n).then(|| round_sig(ok.iter().sum::<f64>() / n as f64)),
            });
        }
    }
    Frequency {
        points,
        skipped,
        aperf_mperf_unavailable: why_no_msr,
        seconds_per_point: seconds,
        duration_s: round_sig(started.elapsed().as_secs_f64()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_of_active_cpus() {
        assert_eq!(active_counts(1), [1]);
        assert_eq!(active_counts(2), [1, 2]);
        assert_eq!(active_counts(8), [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(active_counts(12), [1, 2, 4, 8, 12]);
        assert_eq!(active_counts(16), [1, 2, 4, 8, 16]);
    }

    #[test]
    fn arithmetic() {
        // 8e9 additions in 2.5 s: 3.2 GHz.
        assert!((ghz(8_000_000_000, 2.5) - 3.2).abs() < 1e-12);
    }

    #[test]
    fn loops_run_on_this_cpu() {
        for isa in [Isa::Scalar, Isa::Avx2, Isa::Avx512] {
            if isa.available() {
                let (g, r) = measure(isa, &[topology::allowed_cpus()[0]], 1 << 16);
                // Any real CPU runs between 0.2 and 10 GHz; a broken loop
                // (skipped or unrolled away) would be far outside.
                assert!(g[0] > 0.2 && g[0] < 10.0, "{isa:?}: {} GHz", g[0]);
                assert_eq!(r.len(), 1);
            }
        }
    }
}
