//! `perfspect metrics`: counts events with the embedded perf and derives
//! CPU utilisation, IPC/CPI, cache and branch miss rates per interval, or
//! shows the metrics of one of perf's own metric groups (`--group`).
//!
//! parse: perf's CSV into intervals; derive: the metric table and the
//! formulas; perf: running perf; summary: min/mean/max/p95; render: one
//! file per output format; prometheus: the `--prometheus` endpoint.
//!
//! perf runs as `perf stat -x, -I <ms> --interval-count <n> (-e <events> |
//! -M <group>) (-a | -p PID)`; its CSV lines (on stderr) are parsed as they
//! arrive. The hardware events are requested together with software ones:
//! where the PMU lacks them (most VMs) perf prints `<not supported>` for
//! those and the software metrics remain. System-wide CPU utilisation comes
//! from /proc/stat deltas sampled as each interval completes, since perf's
//! task-clock counts idle time in `-a` mode.

mod derive;
pub(crate) mod parse;
mod perf;
mod prometheus;
mod render;
mod summary;
#[cfg(test)]
mod tests;

use crate::report::parse as sysparse;
use crate::tools;
use crate::util::{self, usage_bail};
use anyhow::{Result, bail};
use derive::{HW_EVENTS, Metrics, Mode, SW_EVENTS, compute, multiplex_note, unavailable};
use parse::{total, zero_uncounted_software};
use render::{Header, Report, renderer};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Txt,
    Json,
    Csv,
}

/// The `metrics` subcommand's arguments.
#[derive(clap::Args)]
#[command(
    after_help = "Counts cycles, instructions, cache-references, cache-misses, branches, \
branch-misses, task-clock, context-switches, cpu-migrations and page-faults with the embedded perf \
(`perf stat -x, -I <ms> -a` or `-p PID`). System-wide CPU utilisation comes from /proc/stat. \
Where the CPU exposes no hardware counters (most virtual machines) the software metrics remain \
and the output says which metrics are unavailable and why. With --group, perf's own metric group \
for this CPU model (`perf stat -M`, e.g. TopdownL1 on Intel, PipelineL1 on AMD; see --list) is \
shown instead; where perf cannot count it the generic metrics are the fallback, said in the output. \
Every format ends with min, mean, max and p95 of each metric over the intervals. The duration is \
rounded up to whole intervals. Needs root, CAP_PERFMON or kernel.perf_event_paranoid <= 0 for \
system-wide counting."
)]
pub struct Args {
    /// How long to measure, in seconds
    #[arg(long, short = 'd', default_value = "10", value_name = "SECS", value_parser = secs, allow_negative_numbers = true)]
    pub duration: f64,
    /// Length of one reporting interval, in seconds
    #[arg(long, short = 'i', default_value = "1", value_name = "SECS", value_parser = secs, allow_negative_numbers = true)]
    pub interval: f64,
    /// Measure this process instead of the whole system
    #[arg(long, short = 'p', value_name = "PID")]
    pub pid: Option<u32>,
    /// Output format
    #[arg(long, short = 'f', value_enum, default_value = "txt")]
    pub format: Format,
    /// Show perf's metric group NAME (perf stat -M) instead of the generic metrics
    #[arg(long, short = 'M', value_name = "NAME")]
    pub group: Option<String>,
    /// List perf's metric groups for this CPU and exit
    #[arg(long)]
    pub list: bool,
    /// Print each interval as it completes (txt always does; CSV rows, JSON lines)
    #[arg(long)]
    pub live: bool,
    /// Serve the latest interval's metrics in Prometheus text format on HOST:PORT
    #[arg(long, value_name = "ADDR")]
    pub prometheus: Option<String>,
}

fn secs(s: &str) -> Result<f64, String> {
    util::parse_seconds(s)
}

fn ncpus() -> usize {
    std::fs::read_to_string("/sys/devices/system/cpu/online")
        .ok()
        .map(|s| sysparse::parse_cpulist(&s).len())
        .filter(|n| *n > 0)
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1)
}

fn validate(o: &Args) -> Result<()> {
    if !(o.duration.is_finite() && o.duration > 0.0) {
        usage_bail!("--duration must be more than 0 seconds");
    }
    if !(o.interval.is_finite() && o.interval >= 0.01) {
        usage_bail!("--interval must be at least 0.01 seconds");
    }
    if o.interval > o.duration {
        usage_bail!(
            "--interval ({} s) must not be longer than --duration ({} s)",
            o.interval,
            o.duration
        );
    }
    if o.duration > 7.0 * 86_400.0 {
        usage_bail!("--duration must be at most one week");
    }
    if let Some(pid) = o.pid {
        if pid == 0 || !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            usage_bail!("no process with pid {pid}");
        }
    }
    Ok(())
}

fn perf_source() -> Result<String> {
    tools::find("perf")
        .map(|s| s.describe())
        .ok_or_else(|| anyhow::Error::new(util::UsageError(tools::no_tools_message("perf"))))
}

fn cmd_list() -> Result<()> {
    perf_source()?;
    let groups = perf::metric_groups()?;
    if groups.is_empty() {
        bail!("perf lists no metric groups for this CPU: use the generic metrics (no --group)");
    }
    util::print_out(&(groups.join("\n") + "\n"))
}

/// Why perf's group cannot be counted here (it counts nothing of it), if so.
fn group_problem(group: &str, pid: Option<u32>) -> Result<Option<String>> {
    let plan = perf::Plan {
        counting: perf::Counting::Group(group),
        interval_ms: 100,
        count: 1,
        pid,
        limit_s: 30.0,
    };
    let run = perf::run(&plan, &mut |_, _| {})?;
    if run.intervals.iter().any(|i| !i.perf_metrics.is_empty()) {
        return Ok(None);
    }
    Ok(Some(perf::perf_error(&run.other)))
}

/// The metric group to count: the one asked for, or None (the generic
/// metrics) when perf cannot count it here, with a note saying why.
fn countable_group(o: &Args, notes: &mut Vec<String>) -> Result<Option<String>> {
    let Some(g) = &o.group else {
        return Ok(None);
    };
    let Some(why) = group_problem(g, o.pid)? else {
        return Ok(Some(g.clone()));
    };
    notes.push(format!(
        "perf cannot count metric group {g} here ({why}): generic metrics instead \
         (virtual machines usually expose no PMU; see metrics --list)"
    ));
    if o.format != Format::Json {
        eprintln!("note: {}", notes[notes.len() - 1]);
    }
    Ok(None)
}

/// Why perf may have counted nothing: privileges and the paranoid setting.
fn why_nothing_counted(mode: Mode) -> String {
    let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    let root = crate::os::is_root();
    if !root && mode == Mode::SystemWide {
        format!(
            " (system-wide counting needs root, CAP_PERFMON or kernel.perf_event_paranoid <= 0; it is {paranoid})"
        )
    } else if !root {
        format!(
            " (another user's process needs root or CAP_PERFMON; kernel.perf_event_paranoid is {paranoid})"
        )
    } else {
        format!(
            " (kernel.perf_event_paranoid is {paranoid}; in a container perf_event_open may be blocked by seccomp)"
        )
    }
}

pub fn cmd(o: &Args) -> Result<()> {
    if o.list {
        return cmd_list();
    }
    validate(o)?;
    let perf_source = perf_source()?;
    let prom = o
        .prometheus
        .as_deref()
        .map(prometheus::Server::start)
        .transpose()
        .map_err(|e| anyhow::Error::new(util::UsageError(format!("{e:#}"))))?;
    if let Some(p) = &prom {
        eprintln!("serving Prometheus metrics on http://{}/metrics", p.addr);
    }
    let perf_version = tools::version("perf").unwrap_or_else(|_| "unknown".into());
    let mode = match o.pid {
        Some(p) => Mode::Pid(p),
        None => Mode::SystemWide,
    };
    let mut notes = Vec::new();
    let group = countable_group(o, &mut notes)?;
    let count = ((o.duration / o.interval) - 1e-9).ceil().max(1.0) as u64;
    let h = Header {
        mode,
        interval_s: o.interval,
        count,
        perf_version,
        perf_source,
        ncpus: ncpus(),
        group: group.clone(),
    };
    let out = renderer(o.format);
    let live = o.live || o.format == Format::Txt;
    let mut started = false;
    let mut on_interval = |iv: &parse::Interval, u| {
        let mut iv = iv.clone();
        if let Mode::Pid(_) = mode {
            zero_uncounted_software(&mut iv);
        }
        let m = compute(&iv, mode, u, h.ncpus);
        if let Some(p) = &prom {
            p.update(prometheus::exposition(&iv, &m));
        }
        if live {
            let mut text = String::new();
            if !started {
                text += &out.start(&h, &iv);
                started = true;
            }
            text += &out.interval(&h, &iv, &m);
            let _ = util::print_out(&text);
        }
    };
    let all: Vec<&str> = HW_EVENTS.iter().chain(SW_EVENTS.iter()).copied().collect();
    let plan = |counting| perf::Plan {
        counting,
        interval_ms: (o.interval * 1000.0).round() as u64,
        count,
        pid: o.pid,
        limit_s: o.duration + 15.0,
    };
    let mut run = match &group {
        Some(g) => perf::run(&plan(perf::Counting::Group(g)), &mut on_interval)?,
        None => perf::run(&plan(perf::Counting::Events(&all)), &mut on_interval)?,
    };
    if group.is_none()
        && run.intervals.is_empty()
        && !run.status.success()
        && !perf::permission_problem(&run.other)
    {
        // Some PMUs reject the whole event list: retry with software events.
        if live {
            eprintln!("perf failed with hardware events; retrying with software events only");
        }
        let first_err = perf::perf_error(&run.other);
        run = perf::run(&plan(perf::Counting::Events(&SW_EVENTS)), &mut on_interval)?;
        notes.push(format!(
            "hardware events were rejected by perf ({first_err}); software events only"
        ));
    }
    if run.intervals.is_empty() {
        let err = perf::perf_error(&run.other);
        bail!(
            "perf counted nothing ({}): {err}{}",
            run.status,
            why_nothing_counted(mode)
        );
    }
    if let Mode::Pid(p) = mode {
        let expected = h.requested_duration_s();
        if run
            .intervals
            .last()
            .is_some_and(|i| i.end + h.interval_s * 0.5 < expected)
        {
            notes.push(format!(
                "process {p} exited before the end of the measurement"
            ));
        }
        for iv in &mut run.intervals {
            zero_uncounted_software(iv);
        }
    }
    let total = total(&run.intervals).expect("intervals is not empty");
    let have_util = mode != Mode::SystemWide || run.total_util.is_some();
    let unavailable = if group.is_some() {
        Vec::new()
    } else {
        unavailable(&total, mode, have_util)
    };
    notes.extend(multiplex_note(&total));
    let per: Vec<Metrics> = run
        .intervals
        .iter()
        .enumerate()
        .map(|(i, iv)| compute(iv, mode, run.utils.get(i).copied().flatten(), h.ncpus))
        .collect();
    let summary_metrics = compute(&total, mode, run.total_util, h.ncpus);
    let stats = summary::per_metric(&per);
    let perf_stats: Vec<(String, Option<summary::Stats>)> = total
        .perf_metrics
        .keys()
        .map(|name| {
            let v: Vec<f64> = run
                .intervals
                .iter()
                .filter_map(|iv| iv.perf_metrics.get(name).map(|p| p.value))
                .collect();
            (name.clone(), summary::stats(&v))
        })
        .collect();
    let report = Report {
        header: &h,
        intervals: &run.intervals,
        per: &per,
        total: &total,
        summary: &summary_metrics,
        stats: &stats,
        perf_stats: &perf_stats,
        unavailable: &unavailable,
        notes: &notes,
    };
    let mut text = String::new();
    if !live && out.rows_in_output() {
        text += &out.start(&h, &run.intervals[0]);
        for (iv, m) in run.intervals.iter().zip(&per) {
            text += &out.interval(&h, iv, m);
        }
    }
    text += &out.finish(&report)?;
    util::print_out(&text)
}
