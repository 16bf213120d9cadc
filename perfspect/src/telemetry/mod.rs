//! `perfspect telemetry`: samples the system every interval and writes the
//! time series as txt, json, csv or html.
//!
//! /proc and /sys are read natively every interval ([`sample`]); turbostat
//! (x86) and `perf stat -I` run as children for the whole duration. Ctrl-C
//! ends the run and still writes every output: the signal thread exits the
//! process, and an `atexit` hook renders what was recorded until then.

pub mod child;
mod perf;
pub mod render;
pub mod sample;
pub mod series;
pub(crate) mod turbostat;

use crate::util::{self, usage_bail};
use anyhow::{Context, Result};
use serde::Serialize;
use series::{GROUPS, Series, Table, Unavailable};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use render::Format;

#[derive(clap::Args)]
#[command(
    after_help = "Every interval: CPU utilisation by category and per CPU, interrupts, \
context switches and run queue (/proc/stat); reads, writes, throughput, await and utilisation per \
block device (/proc/diskstats); memory, swap, page faults and NUMA hits/misses (/proc/meminfo, \
/proc/vmstat); packets, bytes, errors and drops per interface (/proc/net/dev); cpufreq frequency \
and hwmon/thermal temperatures where present. On x86, turbostat (override dir or PATH) adds \
frequency, C-states, power, temperature and IPC; with a hardware PMU, `perf stat` adds IPC and \
cache misses. Series that cannot be recorded are listed with the reason. Ctrl-C ends the run and \
still writes every output."
)]
pub struct Args {
    /// How long to record, in seconds; 0 records until Ctrl-C
    #[arg(long, short = 'd', default_value = "0", value_name = "SECS", value_parser = duration)]
    pub duration: f64,
    /// Seconds between samples
    #[arg(long, short = 'i', default_value = "2", value_name = "SECS", value_parser = util::parse_seconds)]
    pub interval: f64,
    /// Output formats; repeat or separate with commas
    #[arg(
        long,
        short = 'f',
        value_enum,
        value_delimiter = ',',
        default_value = "txt"
    )]
    pub format: Vec<Format>,
    /// Write telemetry.<format> files into this existing directory instead of stdout
    #[arg(long, short = 'o', value_name = "DIR")]
    pub output: Option<PathBuf>,
}

fn duration(s: &str) -> std::result::Result<f64, String> {
    if s.trim() == "0" {
        return Ok(0.0);
    }
    util::parse_seconds(s)
}

/// A telemetry recording, as written to JSON.
#[derive(Debug, Serialize)]
pub struct Recording {
    /// Version of perfspect that recorded it.
    pub perfspect_version: String,
    /// Host name.
    pub host: String,
    /// Start of the recording, UTC.
    pub started: String,
    /// Seconds between samples.
    pub interval_secs: f64,
    /// True if Ctrl-C (or SIGTERM/SIGHUP) ended the run before its duration.
    pub interrupted: bool,
    /// End of each interval, in seconds since the start.
    pub times: Vec<f64>,
    /// The time series, grouped by table.
    pub series: Vec<Series>,
    /// Tables that could not be recorded (or only in part), with the reason.
    pub unavailable: Vec<Unavailable>,
}

enum Tool {
    Running(child::Running),
    Absent(String),
}

/// What the sampler has so far; global so the exit hook can write it.
struct State {
    started: String,
    interval: f64,
    table: Table,
    times: Vec<f64>,
    turbostat: Option<Tool>,
    perf: Tool,
    formats: Vec<Format>,
    output: Option<PathBuf>,
    written: bool,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

fn lock() -> std::sync::MutexGuard<'static, Option<State>> {
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

fn start_perf(interval: f64) -> Tool {
    if !crate::telemetry::sample::has_hardware_pmu() {
        return Tool::Absent(
            "no hardware PMU (as in most VMs): IPC and cache misses need hardware counters".into(),
        );
    }
    let mut cmd = match crate::tools::command("perf") {
        Ok(c) => c,
        Err(e) => return Tool::Absent(format!("{e:#}")),
    };
    cmd.args(perf::args(interval));
    match child::start(cmd) {
        Ok(r) => Tool::Running(r),
        Err(e) => Tool::Absent(format!("cannot start perf: {e}")),
    }
}

fn start_turbostat(interval: f64) -> Option<Tool> {
    if std::env::consts::ARCH != "x86_64" {
        return None;
    }
    Some(match turbostat::locate() {
        None => Tool::Absent(format!(
            "turbostat is not bundled in this build and not on PATH: drop it into {} \
             or install it (Debian: apt-get install linux-cpupower)",
            crate::tools::override_dir().display()
        )),
        Some(p) => match child::start(turbostat::command(p, interval)) {
            Ok(r) => Tool::Running(r),
            Err(e) => Tool::Absent(format!("cannot start turbostat: {e}")),
        },
    })
}

/// Merges the children's rows into the table and says what is missing.
fn finish(mut st: State, interrupted: bool) -> Recording {
    let n = st.times.len();
    let mut unavailable = Vec::new();
    let mut take = |tool: Option<Tool>, group: &str, table: &mut Table| {
        let Some(tool) = tool else { return };
        match tool {
            Tool::Absent(reason) => unavailable.push(Unavailable {
                group: group.into(),
                reason,
            }),
            Tool::Running(mut r) => {
                let exited = r.exited();
                let lines = if interrupted {
                    r.snapshot()
                } else {
                    r.stop(Duration::from_secs(3))
                };
                let (rows, other) = if group == GROUPS[8] {
                    turbostat::parse(&lines)
                } else {
                    perf::parse(&lines)
                };
                let any = rows.iter().any(|r| !r.is_empty());
                for (i, row) in rows.into_iter().enumerate().take(n) {
                    table.set(i, row);
                }
                if !any {
                    let reason = if group == GROUPS[8] {
                        turbostat::failure_reason(&other, exited)
                    } else if other.is_empty() {
                        format!("perf stat printed no interval: {}", lines.join(" | "))
                    } else {
                        format!("perf cannot count {}", other.join(", "))
                    };
                    unavailable.push(Unavailable {
                        group: group.into(),
                        reason,
                    });
                }
            }
        }
    };
    take(st.turbostat.take(), GROUPS[8], &mut st.table);
    take(Some(st.perf), GROUPS[9], &mut st.table);
    let series = st.table.finish(n);
    for (g, what) in [
        (
            GROUPS[7],
            "no cpufreq (/sys/devices/system/cpu/cpu*/cpufreq) nor hwmon/thermal sensors on this system",
        ),
        (GROUPS[3], "no block device in /proc/diskstats"),
    ] {
        if !series.iter().any(|s| s.group == g) && n > 0 {
            unavailable.push(Unavailable {
                group: g.into(),
                reason: what.into(),
            });
        }
    }
    Recording {
        perfspect_version: crate::VERSION.to_string(),
        host: sample::host(),
        started: st.started,
        interval_secs: st.interval,
        interrupted,
        times: st.times,
        series,
        unavailable,
    }
}

fn write_outputs(
    r: &Recording,
    formats: &[Format],
    output: Option<&std::path::Path>,
) -> Result<()> {
    for f in formats {
        let text = render::render(*f, r);
        match output {
            None => util::print_out(&text)?,
            Some(dir) => {
                let path = dir.join(format!("telemetry.{}", f.ext()));
                let tmp = dir.join(format!(".telemetry.{}.tmp", f.ext()));
                std::fs::write(&tmp, &text)
                    .and_then(|_| std::fs::rename(&tmp, &path))
                    .with_context(|| format!("cannot write {}", path.display()))?;
                eprintln!("wrote {}", path.display());
            }
        }
    }
    Ok(())
}

/// Takes the state (once) and writes every output.
fn write_state(interrupted: bool) -> Result<()> {
    let mut guard = lock();
    let Some(st) = guard.as_mut() else {
        return Ok(());
    };
    if st.written {
        return Ok(());
    }
    st.written = true;
    let formats = st.formats.clone();
    let output = st.output.clone();
    let st = std::mem::replace(
        st,
        State {
            started: String::new(),
            interval: 0.0,
            table: Table::default(),
            times: Vec::new(),
            turbostat: None,
            perf: Tool::Absent(String::new()),
            formats: Vec::new(),
            output: None,
            written: true,
        },
    );
    let rec = finish(st, interrupted);
    write_outputs(&rec, &formats, output.as_deref())
}

extern "C" fn at_exit() {
    if crate::signals::interrupted() {
        let _ = std::panic::catch_unwind(|| {
            if let Err(e) = write_state(true) {
                eprintln!("error: {e:#}");
            }
        });
    }
}

pub fn cmd(a: &Args) -> Result<()> {
    if a.duration > 0.0 && a.duration < a.interval {
        usage_bail!(
            "--duration {} is shorter than one --interval {}: nothing would be sampled",
            a.duration,
            a.interval
        );
    }
    if let Some(dir) = &a.output {
        util::check_writable_dir(dir, "output directory")?;
    }
    let mut formats: Vec<Format> = Vec::new();
    for f in &a.format {
        if !formats.contains(f) {
            formats.push(*f);
        }
    }
    let start = Instant::now();
    let mut prev = sample::Snapshot::read();
    *lock() = Some(State {
        started: util::now_utc_iso(),
        interval: a.interval,
        table: Table::default(),
        times: Vec::new(),
        turbostat: start_turbostat(a.interval),
        perf: start_perf(a.interval),
        formats,
        output: a.output.clone(),
        written: false,
    });
    // SAFETY: registering a plain extern "C" function.
    unsafe { libc::atexit(at_exit) };
    let count = if a.duration > 0.0 {
        (a.duration / a.interval).round().max(1.0) as u64
    } else {
        u64::MAX
    };
    eprintln!(
        "perfspect telemetry: sampling every {} s {}",
        a.interval,
        if a.duration > 0.0 {
            format!("for {} s", a.duration)
        } else {
            "until Ctrl-C".to_string()
        }
    );
    let mut last = start;
    for k in 1..=count {
        let due = start + Duration::from_secs_f64(a.interval * k as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let cur = sample::Snapshot::read();
        let now = Instant::now();
        let points = series::derive(&prev, &cur, (now - last).as_secs_f64());
        prev = cur;
        last = now;
        let mut g = lock();
        let Some(st) = g.as_mut() else { break };
        if st.written {
            break;
        }
        st.table.push(points);
        st.times.push(util::round((now - start).as_secs_f64(), 3));
    }
    write_state(false)
}
