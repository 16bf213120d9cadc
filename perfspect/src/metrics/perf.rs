//! Running `perf stat`: the command line, reading its CSV as it arrives,
//! sampling /proc/stat at each interval's end, and a watchdog.

use super::parse::{Collector, Interval};
use crate::report::parse::{self as sysparse, CpuTimes, Utilisation};
use crate::signals;
use crate::tools;
use anyhow::{Context, Result};
use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// System-wide utilisation since the `prev` sample of /proc/stat, which it
/// then replaces: one value per completed perf interval.
fn utilisation_since(prev: &mut Option<CpuTimes>) -> Option<Utilisation> {
    let now = read_proc_stat();
    let util = match (*prev, now) {
        (Some(a), Some(b)) => sysparse::utilisation(&a, &b),
        _ => None,
    };
    *prev = now;
    util
}

fn read_proc_stat() -> Option<CpuTimes> {
    sysparse::parse_proc_stat(&std::fs::read_to_string("/proc/stat").ok()?)
}

/// What to count.
pub enum Counting<'a> {
    /// These events (`-e`).
    Events(&'a [&'a str]),
    /// perf's metric group (`-M`): perf derives the metrics itself.
    Group(&'a str),
}

/// How to run perf.
pub struct Plan<'a> {
    pub counting: Counting<'a>,
    pub interval_ms: u64,
    pub count: u64,
    pub pid: Option<u32>,
    /// Seconds after which the watchdog stops perf.
    pub limit_s: f64,
}

pub struct Run {
    pub intervals: Vec<Interval>,
    /// /proc/stat utilisation over each interval.
    pub utils: Vec<Option<Utilisation>>,
    /// /proc/stat utilisation over the whole run.
    pub total_util: Option<Utilisation>,
    /// perf's lines that were not counts (errors, warnings).
    pub other: Vec<String>,
    pub status: std::process::ExitStatus,
}

pub fn args(p: &Plan) -> Vec<String> {
    let mut a: Vec<String> = vec![
        "stat".into(),
        "-x,".into(),
        "-I".into(),
        p.interval_ms.to_string(),
        "--interval-count".into(),
        p.count.to_string(),
    ];
    match p.counting {
        Counting::Events(e) => a.extend(["-e".into(), e.join(",")]),
        Counting::Group(g) => a.extend(["-M".into(), g.to_string()]),
    }
    match p.pid {
        None => a.push("-a".into()),
        Some(pid) => a.extend(["-p".into(), pid.to_string()]),
    }
    a
}

/// Runs perf; calls `on_interval` with each interval as soon as it is complete.
pub fn run(p: &Plan, on_interval: &mut dyn FnMut(&Interval, Option<Utilisation>)) -> Result<Run> {
    let mut cmd = tools::command("perf")?;
    cmd.args(args(p))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());

    let mut prev = read_proc_stat();
    let first = prev;
    let mut child = signals::spawn_tracked(&mut cmd).context("cannot start perf")?;
    // Watchdog: perf stops by itself after --interval-count; make sure.
    let pid = child.id() as libc::pid_t;
    let limit = Duration::from_secs_f64(p.limit_s);
    let finished = Arc::new(AtomicBool::new(false));
    {
        let finished = finished.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            while start.elapsed() < limit {
                std::thread::sleep(Duration::from_millis(200));
                if finished.load(Ordering::SeqCst) {
                    return;
                }
            }
            if !finished.load(Ordering::SeqCst) {
                // SAFETY: signalling our own child, not yet waited for.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
        });
    }
    let mut stdout = child.stdout.take().context("perf stdout")?;
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let stderr = child.stderr.take().context("perf stderr")?;
    // With -M the number of lines per interval is unknown: an interval ends
    // when the next one starts.
    let expected = match p.counting {
        Counting::Events(e) => e.len(),
        Counting::Group(_) => usize::MAX,
    };
    let mut col = Collector::new(expected);
    let mut utils: Vec<Option<Utilisation>> = Vec::new();
    let mut emit =
        |col: &Collector, utils: &mut Vec<Option<Utilisation>>, prev: &mut Option<CpuTimes>| {
            while utils.len() < col.done.len() {
                let u = utilisation_since(prev);
                utils.push(u);
                on_interval(&col.done[utils.len() - 1], u);
            }
        };
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        if col.push(&line) > 0 {
            emit(&col, &mut utils, &mut prev);
        }
    }
    col.finish();
    emit(&col, &mut utils, &mut prev);
    let status = signals::wait_tracked(&mut child).context("waiting for perf")?;
    finished.store(true, Ordering::SeqCst);
    let stdout_text = out_thread.join().unwrap_or_default();
    let mut other = col.other;
    other.extend(
        stdout_text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(String::from),
    );
    let total_util = match (first, prev) {
        (Some(a), Some(b)) => sysparse::utilisation(&a, &b),
        _ => None,
    };
    Ok(Run {
        intervals: col.done,
        utils,
        total_util,
        other,
        status,
    })
}

/// perf's metric groups for this CPU (`perf list --raw-dump metricgroups`).
pub fn metric_groups() -> Result<Vec<String>> {
    let out = tools::command("perf")?
        .args(["list", "--raw-dump", "metricgroups"])
        .stdin(Stdio::null())
        .output()
        .context("cannot run perf list")?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(String::from)
        .collect())
}

pub fn permission_problem(lines: &[String]) -> bool {
    lines.iter().any(|l| {
        l.contains("Access to performance monitoring")
            || l.contains("perf_event_paranoid")
            || l.contains("No permission")
            || l.contains("Permission denied")
    })
}

pub fn perf_error(lines: &[String]) -> String {
    let useful: Vec<&str> = lines
        .iter()
        .map(String::as_str)
        .filter(|l| !l.starts_with("Usage:") && !l.starts_with('-') && !l.is_empty())
        .take(3)
        .collect();
    if useful.is_empty() {
        "no output".into()
    } else {
        useful.join(" / ")
    }
}
