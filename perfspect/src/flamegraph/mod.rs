//! `perfspect flamegraph`: `perf record` system-wide or for some processes,
//! `perf script`, folded and drawn with inferno.
//!
//! perf record runs untracked by the signal thread, so Ctrl-C ends the
//! recording early: an `atexit` hook stops perf (which writes its data on
//! SIGINT) and still writes every output.

pub mod fold;
mod record;
pub mod render;

use crate::telemetry::child;
use crate::util::{self, usage_bail};
use anyhow::{Context, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use render::Format;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CallGraph {
    /// Frame pointers (cheap; needs code built with frame pointers)
    Fp,
    /// DWARF unwinding of copied stack (works without frame pointers; larger data)
    Dwarf,
}

#[derive(clap::Args)]
#[command(
    after_help = "Runs the embedded perf: `perf record -e EVENT -F FREQ --call-graph \
fp|dwarf -a` (or `-p PIDS`) for the duration, then `perf script`; stacks are folded and drawn \
with the inferno crate. The HTML page and the SVG are interactive (click to zoom, Search or \
Ctrl-F to highlight) and load nothing from the network. Where the CPU exposes no hardware \
counters (most VMs) the cpu-clock software event is sampled instead of cycles, and the output \
says so. Ctrl-C ends the recording early and still writes every output."
)]
pub struct Args {
    /// How long to record, in seconds
    #[arg(long, short = 'd', default_value = "10", value_name = "SECS", value_parser = util::parse_seconds)]
    pub duration: f64,
    /// Record only these processes (comma separated) instead of the whole system
    #[arg(long, short = 'p', value_name = "PID", value_delimiter = ',')]
    pub pids: Vec<u32>,
    /// Samples per second per CPU
    #[arg(long, short = 'F', default_value = "99", value_name = "HZ", value_parser = clap::value_parser!(u32).range(1..=100000))]
    pub frequency: u32,
    /// How stacks are unwound
    #[arg(long, value_enum, default_value = "fp")]
    pub call_graph: CallGraph,
    /// Output formats; repeat or separate with commas
    #[arg(
        long,
        short = 'f',
        value_enum,
        value_delimiter = ',',
        default_value = "html"
    )]
    pub format: Vec<Format>,
    /// Write flamegraph.<format> files into this existing directory (default: current directory)
    #[arg(long, short = 'o', value_name = "DIR", default_value = ".")]
    pub output: PathBuf,
}

/// A recorded profile, as written to JSON.
#[derive(Debug, Serialize)]
pub struct Profile {
    /// Version of perfspect that recorded it.
    pub perfspect_version: String,
    /// Host name.
    pub host: String,
    /// Start of the recording, UTC.
    pub started: String,
    /// `system-wide` or `pids 1,2`.
    pub target: String,
    /// Seconds recorded (less than asked if interrupted).
    pub duration_secs: f64,
    /// Samples per second per CPU asked of perf.
    pub frequency_hz: u32,
    /// The perf event sampled (`cycles`, or `cpu-clock` without a PMU).
    pub event: String,
    /// `fp` or `dwarf`.
    pub call_graph: String,
    /// True if Ctrl-C ended the recording early.
    pub interrupted: bool,
    /// Remarks about the recording (software event fallback, empty result).
    pub notes: Vec<String>,
    /// Sum of the weights of all stacks (ns of CPU time for cpu-clock, cycles for cycles).
    pub total_weight: u64,
    /// Distinct stacks, most sampled first.
    pub stacks: Vec<fold::Stack>,
    /// The same stacks in folded form (`frame;frame count` lines), as fed to inferno.
    #[serde(skip)]
    pub folded: String,
}

/// A recording in progress; global so the exit hook can finish it.
struct Pending {
    perf: PathBuf,
    work: PathBuf,
    data: PathBuf,
    running: child::Running,
    start: Instant,
    profile: Profile,
    formats: Vec<Format>,
    output: PathBuf,
}

static PENDING: Mutex<Option<Pending>> = Mutex::new(None);

/// Stops perf, folds its stacks and writes the outputs; removes the work dir.
fn complete(p: Pending, interrupted: bool) -> Result<()> {
    let work = p.work.clone();
    let r = complete_inner(p, interrupted);
    let _ = std::fs::remove_dir_all(&work);
    r
}

fn complete_inner(mut p: Pending, interrupted: bool) -> Result<()> {
    p.profile.duration_secs = util::round(p.start.elapsed().as_secs_f64(), 2);
    let lines = p.running.stop(Duration::from_secs(30));
    if !p.data.exists() {
        let why = lines
            .iter()
            .find(|l| !l.trim().is_empty() && !l.starts_with('['))
            .cloned()
            .unwrap_or_else(|| "no perf.data written".into());
        anyhow::bail!(
            "perf record failed: {why} (needs root, CAP_PERFMON or kernel.perf_event_paranoid <= 1)"
        );
    }
    let t0 = Instant::now();
    let script = record::script(&p.perf, &p.data)?;
    let script_secs = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let folded = fold::fold(&script).context("cannot fold perf script output")?;
    let stacks = fold::parse_folded(&folded);
    p.profile.total_weight = stacks.iter().map(|s| s.weight).sum();
    if stacks.is_empty() {
        p.profile
            .notes
            .push("perf recorded no samples (an idle target?)".into());
    }
    for (f, n) in fold::self_time(&stacks).iter().take(5) {
        let share = 100.0 * *n as f64 / p.profile.total_weight.max(1) as f64;
        eprintln!("  {share:5.1}%  {f}");
    }
    p.profile.stacks = stacks;
    p.profile.folded = folded;
    p.profile.interrupted = interrupted;
    for f in &p.formats {
        let text = render::render(*f, &p.profile)?;
        let path = p.output.join(format!("flamegraph.{}", f.ext()));
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    eprintln!(
        "perfspect flamegraph: perf script took {script_secs:.2} s, folding and writing {:.2} s",
        t1.elapsed().as_secs_f64()
    );
    Ok(())
}

extern "C" fn at_exit() {
    if !crate::signals::interrupted() {
        return;
    }
    let _ = std::panic::catch_unwind(|| {
        let pending = PENDING.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(p) = pending {
            if let Err(e) = complete(p, true) {
                eprintln!("error: {e:#}");
            }
        }
    });
}

fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

pub fn cmd(a: &Args) -> Result<()> {
    util::check_writable_dir(&a.output, "output directory")?;
    for pid in &a.pids {
        if !pid_alive(*pid) {
            usage_bail!("no process with pid {pid}");
        }
    }
    let mut formats: Vec<Format> = Vec::new();
    for f in &a.format {
        if !formats.contains(f) {
            formats.push(*f);
        }
    }
    let tool = crate::tools::get("perf")?;
    let work = std::env::temp_dir().join(format!(
        "perfspect-flamegraph-{}-{}",
        std::process::id(),
        util::random_hex(4)?
    ));
    std::fs::create_dir(&work).with_context(|| format!("cannot create {}", work.display()))?;
    // A private copy of perf: the exit hook runs `perf script` after the
    // signal thread has removed the tools' session directory.
    let perf = work.join("perf");
    std::fs::copy(&tool, &perf)
        .with_context(|| format!("cannot copy perf into {}", work.display()))?;
    let data = work.join("perf.data");
    let (event, note) = record::event(crate::telemetry::sample::has_hardware_pmu());
    let mut cmd = std::process::Command::new(&perf);
    cmd.args(record::record_args(
        &data,
        event,
        a.frequency,
        a.call_graph == CallGraph::Dwarf,
        &a.pids,
    ))
    .env("LC_ALL", "C");
    let running = match child::start(cmd) {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&work);
            anyhow::bail!("cannot start perf record: {e}");
        }
    };
    let target = if a.pids.is_empty() {
        "system-wide".to_string()
    } else {
        format!(
            "pids {}",
            a.pids
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",")
        )
    };
    if let Some(n) = &note {
        eprintln!("perfspect flamegraph: {n}");
    }
    eprintln!(
        "perfspect flamegraph: recording {target} for {} s",
        a.duration
    );
    let start = Instant::now();
    *PENDING.lock().unwrap_or_else(|e| e.into_inner()) = Some(Pending {
        perf,
        work,
        data,
        running,
        start,
        profile: Profile {
            perfspect_version: crate::VERSION.to_string(),
            host: crate::telemetry::sample::host(),
            started: util::now_utc_iso(),
            target,
            duration_secs: 0.0,
            frequency_hz: a.frequency,
            event: event.to_string(),
            call_graph: if a.call_graph == CallGraph::Dwarf {
                "dwarf"
            } else {
                "fp"
            }
            .into(),
            interrupted: false,
            notes: note.into_iter().collect(),
            total_weight: 0,
            stacks: Vec::new(),
            folded: String::new(),
        },
        formats,
        output: a.output.clone(),
    });
    // SAFETY: registering a plain extern "C" function.
    unsafe { libc::atexit(at_exit) };
    let deadline = start + Duration::from_secs_f64(a.duration);
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let mut g = PENDING.lock().unwrap_or_else(|e| e.into_inner());
        let Some(p) = g.as_mut() else {
            crate::signals::park_if_interrupted();
            return Ok(());
        };
        let targets_gone = !a.pids.is_empty() && !a.pids.iter().any(|p| pid_alive(*p));
        if Instant::now() >= deadline || p.running.exited() || targets_gone {
            // Keep the lock while finishing: a Ctrl-C now waits for the outputs.
            let p = g.take().expect("checked above");
            return complete(p, false);
        }
    }
}
