//! `perfspect metrics`: counts events with the embedded perf and derives
//! CPU utilisation, IPC/CPI, cache and branch miss rates per interval.
//!
//! perf runs as `perf stat -x, -I <ms> --interval-count <n> -e <events>
//! (-a | -p PID)`; its CSV lines (on stderr) are parsed as they arrive. The
//! hardware events are requested together with software ones: where the PMU
//! lacks them (most VMs) perf prints `<not supported>` for those and the
//! software metrics remain. System-wide CPU utilisation comes from /proc/stat
//! deltas sampled as each interval completes, since perf's task-clock counts
//! idle time in `-a` mode.

use crate::report::parse::{self as sysparse, CpuTimes, Utilisation};
use crate::signals;
use crate::tools;
use crate::util::{self, fmt_opt, json_num, usage_bail};
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Txt,
    Json,
    Csv,
}

pub const HW_EVENTS: [&str; 6] = [
    "cycles",
    "instructions",
    "cache-references",
    "cache-misses",
    "branches",
    "branch-misses",
];
pub const SW_EVENTS: [&str; 4] = [
    "task-clock",
    "context-switches",
    "cpu-migrations",
    "page-faults",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Counted,
    NotCounted,
    NotSupported,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StatLine {
    pub time: f64,
    pub value: f64,
    pub status: Status,
    pub unit: String,
    pub event: String,
    pub run_pct: Option<f64>,
}

/// `cpu_core/cycles/` -> `cycles`, `cycles:u` -> `cycles`.
pub fn normalize_event(e: &str) -> String {
    let e = e.trim();
    let inner = match e.split_once('/') {
        Some((_, rest)) => rest.split('/').next().unwrap_or(rest),
        None => e,
    };
    inner.split(':').next().unwrap_or(inner).to_string()
}

/// Parses one line of `perf stat -x, -I` output:
/// `time,value,unit,event,run_time,run_pct,metric_value,metric_unit`.
pub fn parse_stat_line(line: &str) -> Option<StatLine> {
    let f: Vec<&str> = line.trim().split(',').collect();
    if f.len() < 4 {
        return None;
    }
    let time: f64 = f[0].trim().parse().ok()?;
    let (value, status) = match f[1].trim() {
        "<not supported>" => (0.0, Status::NotSupported),
        "<not counted>" => (0.0, Status::NotCounted),
        v => (v.parse::<f64>().ok()?, Status::Counted),
    };
    // Event names with commas (`cpu/event=0x3c,umask=0/`) span several fields.
    let (event, rest) = if f.len() > 8 {
        (f[3..f.len() - 4].join(","), &f[f.len() - 4..])
    } else {
        (f[3].to_string(), &f[4..])
    };
    if event.trim().is_empty() {
        return None;
    }
    let run_pct = rest.get(1).and_then(|p| p.trim().parse::<f64>().ok());
    Some(StatLine {
        time,
        value,
        status,
        unit: f[2].trim().to_string(),
        event: normalize_event(&event),
        run_pct,
    })
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Count {
    pub value: f64,
    pub status: Status,
    /// Lowest share of time the counter ran (< 100: multiplexed, scaled).
    pub run_pct: Option<f64>,
}

impl Count {
    fn merge(&mut self, o: &Count) {
        self.value += o.value;
        self.status = match (self.status, o.status) {
            (Status::Counted, _) | (_, Status::Counted) => Status::Counted,
            (Status::NotCounted, _) | (_, Status::NotCounted) => Status::NotCounted,
            _ => Status::NotSupported,
        };
        self.run_pct = match (self.run_pct, o.run_pct) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    fn counted(&self) -> Option<f64> {
        (self.status == Status::Counted).then_some(self.value)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Interval {
    pub start: f64,
    pub end: f64,
    pub counts: BTreeMap<String, Count>,
}

impl Interval {
    fn add(&mut self, l: &StatLine) {
        let c = Count {
            value: l.value,
            status: l.status,
            run_pct: l.run_pct,
        };
        self.counts
            .entry(l.event.clone())
            .and_modify(|x| x.merge(&c))
            .or_insert(c);
    }
    pub fn secs(&self) -> f64 {
        self.end - self.start
    }
    pub fn get(&self, e: &str) -> Option<f64> {
        self.counts.get(e).and_then(Count::counted)
    }
}

/// Groups parsed lines into intervals as they arrive. An interval is complete
/// when it has as many lines as expected (the number of events, corrected by
/// what perf actually printed for the first interval), or when a new time
/// stamp appears.
pub struct Collector {
    expected: usize,
    cur: Option<Interval>,
    cur_lines: usize,
    last_end: f64,
    pub done: Vec<Interval>,
    pub other: Vec<String>,
}

impl Collector {
    pub fn new(expected: usize) -> Collector {
        Collector {
            expected: expected.max(1),
            cur: None,
            cur_lines: 0,
            last_end: 0.0,
            done: Vec::new(),
            other: Vec::new(),
        }
    }

    /// Feeds one line; returns how many intervals completed.
    pub fn push(&mut self, line: &str) -> usize {
        let Some(l) = parse_stat_line(line) else {
            if !line.trim().is_empty() {
                self.other.push(line.trim().to_string());
            }
            return 0;
        };
        let mut completed = 0;
        // A late line of an interval already closed (hybrid PMUs print more
        // lines than events): fold it in and learn the real line count.
        if self.cur.is_none() {
            if let Some(last) = self.done.last_mut() {
                if (last.end - l.time).abs() < 1e-9 {
                    last.add(&l);
                    self.cur_lines += 1;
                    self.expected = self.expected.max(self.cur_lines);
                    return 0;
                }
            }
        }
        if let Some(cur) = &self.cur {
            if (cur.end - l.time).abs() > 1e-9 {
                // New time stamp: the current interval is over.
                self.expected = self.cur_lines;
                completed += self.close();
            }
        }
        if self.cur.is_none() {
            self.cur = Some(Interval {
                start: self.last_end,
                end: l.time,
                counts: BTreeMap::new(),
            });
            self.cur_lines = 0;
        }
        if let Some(cur) = self.cur.as_mut() {
            cur.add(&l);
        }
        self.cur_lines += 1;
        if self.cur_lines >= self.expected {
            completed += self.close();
        }
        completed
    }

    fn close(&mut self) -> usize {
        match self.cur.take() {
            Some(i) => {
                self.last_end = i.end;
                self.done.push(i);
                1
            }
            None => 0,
        }
    }

    pub fn finish(&mut self) -> usize {
        self.close()
    }
}

/// Pure: all intervals of a complete perf output.
#[cfg(test)]
pub fn parse_intervals(text: &str, events: usize) -> (Vec<Interval>, Vec<String>) {
    let mut c = Collector::new(events);
    for line in text.lines() {
        c.push(line);
    }
    c.finish();
    (c.done, c.other)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    SystemWide,
    Pid(u32),
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Metrics {
    pub cpu_util_pct: Option<f64>,
    pub cpus_busy: Option<f64>,
    pub user_pct: Option<f64>,
    pub system_pct: Option<f64>,
    pub iowait_pct: Option<f64>,
    pub steal_pct: Option<f64>,
    pub ipc: Option<f64>,
    pub cpi: Option<f64>,
    pub ghz: Option<f64>,
    pub cache_miss_pct: Option<f64>,
    pub cache_mpki: Option<f64>,
    pub branch_miss_pct: Option<f64>,
    pub branch_mpki: Option<f64>,
    pub ctx_switches_per_s: Option<f64>,
    pub migrations_per_s: Option<f64>,
    pub page_faults_per_s: Option<f64>,
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// Derives the metrics of one interval (or of the whole run).
pub fn compute(iv: &Interval, mode: Mode, util: Option<Utilisation>, ncpus: usize) -> Metrics {
    let secs = iv.secs();
    let rate = |e: &str| ratio(iv.get(e), Some(secs));
    let cycles = iv.get("cycles");
    let instr = iv.get("instructions");
    let mut m = Metrics {
        ipc: ratio(instr, cycles),
        cpi: ratio(cycles, instr),
        cache_miss_pct: ratio(iv.get("cache-misses"), iv.get("cache-references"))
            .map(|r| r * 100.0),
        cache_mpki: ratio(iv.get("cache-misses"), instr).map(|r| r * 1000.0),
        branch_miss_pct: ratio(iv.get("branch-misses"), iv.get("branches")).map(|r| r * 100.0),
        branch_mpki: ratio(iv.get("branch-misses"), instr).map(|r| r * 1000.0),
        ctx_switches_per_s: rate("context-switches"),
        migrations_per_s: rate("cpu-migrations"),
        page_faults_per_s: rate("page-faults"),
        ..Default::default()
    };
    let ncpus = ncpus.max(1) as f64;
    match mode {
        Mode::SystemWide => {
            if let Some(u) = util {
                m.cpu_util_pct = Some(u.busy_pct);
                m.cpus_busy = Some(u.busy_pct / 100.0 * ncpus);
                m.user_pct = Some(u.user_pct);
                m.system_pct = Some(u.system_pct);
                m.iowait_pct = Some(u.iowait_pct);
                m.steal_pct = Some(u.steal_pct);
            }
            // Cycles only tick while a CPU is busy.
            m.ghz = ratio(cycles, m.cpus_busy.map(|b| b * secs)).map(|r| r / 1e9);
        }
        Mode::Pid(_) => {
            // task-clock is in msec.
            let busy = ratio(iv.get("task-clock"), Some(secs * 1000.0));
            m.cpus_busy = busy;
            m.cpu_util_pct = busy.map(|b| b / ncpus * 100.0);
            m.ghz = ratio(cycles, iv.get("task-clock").map(|ms| ms * 1e6));
        }
    }
    m
}

/// The whole run as one interval: counts summed.
pub fn total(intervals: &[Interval]) -> Option<Interval> {
    let first = intervals.first()?;
    let last = intervals.last()?;
    let mut t = Interval {
        start: first.start,
        end: last.end,
        counts: BTreeMap::new(),
    };
    for iv in intervals {
        for (e, c) in &iv.counts {
            t.counts
                .entry(e.clone())
                .and_modify(|x| x.merge(c))
                .or_insert(*c);
        }
    }
    Some(t)
}

/// Metrics that could not be computed, with the reason.
pub fn unavailable(total: &Interval, mode: Mode, have_util: bool) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let all_hw_unsupported = HW_EVENTS.iter().all(|e| {
        total
            .counts
            .get(*e)
            .map(|c| c.status == Status::NotSupported)
            .unwrap_or(true)
    });
    let why = |events: &[&str]| -> Option<String> {
        let mut unsupported = Vec::new();
        let mut uncounted = Vec::new();
        let mut missing = Vec::new();
        for e in events {
            match total.counts.get(*e).map(|c| c.status) {
                Some(Status::Counted) => {}
                Some(Status::NotSupported) => unsupported.push(*e),
                Some(Status::NotCounted) => uncounted.push(*e),
                None => missing.push(*e),
            }
        }
        if !unsupported.is_empty() {
            let base = format!("{} <not supported>", unsupported.join(", "));
            return Some(if all_hw_unsupported {
                format!(
                    "{base}: no hardware performance counters are available (usual in virtual machines \
                     and containers whose hypervisor exposes no PMU)"
                )
            } else {
                format!("{base}: this CPU's PMU has no such generic event")
            });
        }
        if !uncounted.is_empty() {
            return Some(format!(
                "{} <not counted>: the counter never ran (the task did not run, or too many events for \
                 the available counters)",
                uncounted.join(", ")
            ));
        }
        if !missing.is_empty() {
            return Some(format!("perf reported no value for {}", missing.join(", ")));
        }
        None
    };
    let check = |out: &mut Vec<(String, String)>, name: &str, events: &[&str]| {
        if let Some(r) = why(events) {
            out.push((name.to_string(), r));
        }
    };
    if all_hw_unsupported && HW_EVENTS.iter().any(|e| total.counts.contains_key(*e)) {
        // One explanation for all of them rather than the same one thrice.
        out.push((
            "IPC, CPI, effective frequency, cache and branch miss rates".to_string(),
            "the hardware events (cycles, instructions, cache-references, cache-misses, branches, \
             branch-misses) are <not supported>: no hardware performance counters are available \
             (usual in virtual machines and containers whose hypervisor exposes no PMU)"
                .to_string(),
        ));
    } else {
        check(&mut out, "IPC / CPI", &["cycles", "instructions"]);
        check(
            &mut out,
            "cache miss rate",
            &["cache-references", "cache-misses"],
        );
        check(&mut out, "branch miss rate", &["branches", "branch-misses"]);
    }
    match mode {
        Mode::Pid(_) => check(&mut out, "CPU utilisation", &["task-clock"]),
        Mode::SystemWide if !have_util => out.push((
            "CPU utilisation".to_string(),
            "/proc/stat is not readable".to_string(),
        )),
        Mode::SystemWide => {}
    }
    out
}

/// Notes about the quality of the counts (multiplexing).
pub fn multiplex_note(total: &Interval) -> Option<String> {
    let mux: Vec<String> = total
        .counts
        .iter()
        .filter(|(_, c)| {
            c.status == Status::Counted && c.run_pct.map(|p| p < 99.5).unwrap_or(false)
        })
        .map(|(e, c)| format!("{e} {:.0}%", c.run_pct.unwrap_or(0.0)))
        .collect();
    if mux.is_empty() {
        None
    } else {
        Some(format!(
            "counters were multiplexed (time counted: {}); perf scaled those counts, so they are estimates",
            mux.join(", ")
        ))
    }
}

// ------------------------------------------------------------------ command

pub struct Options {
    pub duration: f64,
    pub interval: f64,
    pub pid: Option<u32>,
    pub format: Format,
}

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

fn ncpus() -> usize {
    std::fs::read_to_string("/sys/devices/system/cpu/online")
        .ok()
        .map(|s| sysparse::parse_cpulist(&s).len())
        .filter(|n| *n > 0)
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1)
}

fn validate(o: &Options) -> Result<()> {
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

struct Run {
    intervals: Vec<Interval>,
    utils: Vec<Option<Utilisation>>,
    total_util: Option<Utilisation>,
    other: Vec<String>,
    status: std::process::ExitStatus,
}

struct Header<'a> {
    mode: Mode,
    opts: &'a Options,
    perf_version: String,
    perf_source: String,
    ncpus: usize,
    count: u64,
}

const COLS: [&str; 10] = [
    "TIME(s)",
    "CPU%",
    "CPUS",
    "IPC",
    "CPI",
    "CACHE-MISS%",
    "BR-MISS%",
    "CTXSW/s",
    "MIGR/s",
    "FAULTS/s",
];

/// One line of the live table: fixed-width, right-aligned columns.
fn fixed_line<S: AsRef<str>>(cells: &[S]) -> String {
    let mut l = String::new();
    for (i, c) in cells.iter().enumerate() {
        let w = COLS.get(i).map(|h| h.len()).unwrap_or(8).max(7);
        if i > 0 {
            l.push_str("  ");
        }
        let _ = write!(l, "{:>w$}", c.as_ref());
    }
    l.push('\n');
    l
}

fn txt_row(end: f64, m: &Metrics) -> Vec<String> {
    vec![
        format!("{end:.2}"),
        fmt_opt(m.cpu_util_pct, 1),
        fmt_opt(m.cpus_busy, 2),
        fmt_opt(m.ipc, 2),
        fmt_opt(m.cpi, 2),
        fmt_opt(m.cache_miss_pct, 2),
        fmt_opt(m.branch_miss_pct, 2),
        fmt_opt(m.ctx_switches_per_s, 0),
        fmt_opt(m.migrations_per_s, 1),
        fmt_opt(m.page_faults_per_s, 0),
    ]
}

fn run_perf(events: &[&str], o: &Options, h: &Header, live: bool) -> Result<Run> {
    let mut cmd = tools::command("perf")?;
    cmd.arg("stat")
        .arg("-x,")
        .arg("-I")
        .arg(format!("{}", (o.interval * 1000.0).round() as u64))
        .arg("--interval-count")
        .arg(h.count.to_string())
        .arg("-e")
        .arg(events.join(","));
    match h.mode {
        Mode::SystemWide => cmd.arg("-a"),
        Mode::Pid(p) => cmd.arg("-p").arg(p.to_string()),
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());

    let mut prev = read_proc_stat();
    let first = prev;
    let mut child = signals::spawn_tracked(&mut cmd).context("cannot start perf")?;
    // Watchdog: perf stops by itself after --interval-count; make sure.
    let pid = child.id() as libc::pid_t;
    let limit = std::time::Duration::from_secs_f64(o.duration + 15.0);
    let finished = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let finished = finished.clone();
        std::thread::spawn(move || {
            let start = std::time::Instant::now();
            while start.elapsed() < limit {
                std::thread::sleep(std::time::Duration::from_millis(200));
                if finished.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
            }
            if !finished.load(std::sync::atomic::Ordering::SeqCst) {
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
    let mut col = Collector::new(events.len());
    let mut utils: Vec<Option<Utilisation>> = Vec::new();
    let mut rows_printed = 0usize;
    // The header goes out with the first row, so that a perf that fails at
    // once leaves only the error message.
    let mut header = live.then(|| header_text(h) + &fixed_line(&COLS));
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        let n = col.push(&line);
        for _ in 0..n {
            utils.push(utilisation_since(&mut prev));
        }
        if live {
            while rows_printed < col.done.len() {
                let iv = &col.done[rows_printed];
                let m = compute(
                    iv,
                    h.mode,
                    utils.get(rows_printed).copied().flatten(),
                    h.ncpus,
                );
                let row = header.take().unwrap_or_default() + &fixed_line(&txt_row(iv.end, &m));
                let _ = util::print_out(&row);
                rows_printed += 1;
            }
        }
    }
    if col.finish() > 0 {
        utils.push(utilisation_since(&mut prev));
        if live {
            let iv = &col.done[col.done.len() - 1];
            let m = compute(iv, h.mode, utils.last().copied().flatten(), h.ncpus);
            let row = header.take().unwrap_or_default() + &fixed_line(&txt_row(iv.end, &m));
            let _ = util::print_out(&row);
        }
    }
    let status = signals::wait_tracked(&mut child).context("waiting for perf")?;
    finished.store(true, std::sync::atomic::Ordering::SeqCst);
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

fn header_text(h: &Header) -> String {
    let target = match h.mode {
        Mode::SystemWide => format!("system-wide, {} CPUs", h.ncpus),
        Mode::Pid(p) => format!("pid {p}"),
    };
    format!(
        "perfspect metrics: {target}, {} s in {} s intervals, perf {} ({})\n",
        h.opts.interval * h.count as f64,
        h.opts.interval,
        h.perf_version,
        h.perf_source
    )
}

pub fn cmd(o: &Options) -> Result<()> {
    validate(o)?;
    let perf_source = tools::find("perf")
        .map(|s| s.describe())
        .ok_or_else(|| anyhow::Error::new(util::UsageError(tools::no_tools_message("perf"))))?;
    let perf_version = tools::version("perf").unwrap_or_else(|_| "unknown".into());
    let mode = match o.pid {
        Some(p) => Mode::Pid(p),
        None => Mode::SystemWide,
    };
    let count = ((o.duration / o.interval) - 1e-9).ceil().max(1.0) as u64;
    let h = Header {
        mode,
        opts: o,
        perf_version,
        perf_source,
        ncpus: ncpus(),
        count,
    };
    let live = o.format == Format::Txt;
    let all: Vec<&str> = HW_EVENTS.iter().chain(SW_EVENTS.iter()).copied().collect();
    let mut notes = Vec::new();
    let mut run = run_perf(&all, o, &h, live)?;
    if run.intervals.is_empty() && !run.status.success() && !permission_problem(&run.other) {
        // Some PMUs reject the whole event list: retry with software events.
        if live {
            eprintln!("perf failed with hardware events; retrying with software events only");
        }
        let first_err = perf_error(&run.other);
        run = run_perf(&SW_EVENTS, o, &h, live)?;
        notes.push(format!(
            "hardware events were rejected by perf ({first_err}); software events only"
        ));
    }
    if run.intervals.is_empty() {
        let err = perf_error(&run.other);
        let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        let hint = if !root && mode == Mode::SystemWide {
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
        };
        bail!("perf counted nothing ({}): {err}{hint}", run.status);
    }
    if let Mode::Pid(p) = mode {
        let expected = h.opts.interval * count as f64;
        if run
            .intervals
            .last()
            .map(|i| i.end + h.opts.interval * 0.5 < expected)
            .unwrap_or(false)
        {
            notes.push(format!(
                "process {p} exited before the end of the measurement"
            ));
        }
    }
    if let Mode::Pid(_) = mode {
        for iv in &mut run.intervals {
            zero_uncounted_software(iv);
        }
    }
    let total = total(&run.intervals).expect("intervals is not empty");
    let have_util = mode != Mode::SystemWide || run.total_util.is_some();
    let unavailable = unavailable(&total, mode, have_util);
    notes.extend(multiplex_note(&total));
    let per: Vec<Metrics> = run
        .intervals
        .iter()
        .enumerate()
        .map(|(i, iv)| compute(iv, mode, run.utils.get(i).copied().flatten(), h.ncpus))
        .collect();
    let summary = compute(&total, mode, run.total_util, h.ncpus);
    let text = match o.format {
        Format::Txt => render_txt_summary(&total, &summary, &unavailable, &notes),
        Format::Json => render_json(
            &h,
            &run.intervals,
            &per,
            &total,
            &summary,
            &unavailable,
            &notes,
        )?,
        Format::Csv => render_csv(&run.intervals, &per, &total, &summary),
    };
    util::print_out(&text)
}

fn permission_problem(lines: &[String]) -> bool {
    lines.iter().any(|l| {
        l.contains("Access to performance monitoring")
            || l.contains("perf_event_paranoid")
            || l.contains("No permission")
            || l.contains("Permission denied")
    })
}

/// In `-p` mode a software event is `<not counted>` only when the task never
/// ran in the interval (software events are never multiplexed): that is 0.
pub fn zero_uncounted_software(iv: &mut Interval) {
    for e in SW_EVENTS {
        if let Some(c) = iv.counts.get_mut(e) {
            if c.status == Status::NotCounted {
                *c = Count {
                    value: 0.0,
                    status: Status::Counted,
                    run_pct: c.run_pct,
                };
            }
        }
    }
}

fn perf_error(lines: &[String]) -> String {
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

fn render_txt_summary(
    total: &Interval,
    m: &Metrics,
    unavailable: &[(String, String)],
    notes: &[String],
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "\nsummary over {:.2} s:", total.secs());
    let mut line = |label: &str, v: String| {
        let _ = writeln!(s, "  {label:<32} {v}");
    };
    line(
        "CPU utilisation",
        match (m.cpu_util_pct, m.cpus_busy) {
            (Some(p), Some(b)) => format!("{p:.1} % ({b:.2} CPUs busy)"),
            _ => "unavailable".into(),
        },
    );
    if let (Some(u), Some(sy)) = (m.user_pct, m.system_pct) {
        line(
            "  user / system / iowait / steal",
            format!(
                "{u:.1} / {sy:.1} / {} / {} %",
                fmt_opt(m.iowait_pct, 1),
                fmt_opt(m.steal_pct, 1)
            ),
        );
    }
    let opt = |v: Option<f64>, d: usize, unit: &str| match v {
        Some(x) => format!("{x:.d$}{unit}"),
        None => "unavailable".into(),
    };
    line("IPC", opt(m.ipc, 3, ""));
    line("CPI", opt(m.cpi, 3, ""));
    line("Effective frequency", opt(m.ghz, 2, " GHz"));
    line("Cache miss rate", opt(m.cache_miss_pct, 2, " %"));
    line("Cache misses per kilo-instr", opt(m.cache_mpki, 2, ""));
    line("Branch miss rate", opt(m.branch_miss_pct, 2, " %"));
    line("Branch misses per kilo-instr", opt(m.branch_mpki, 2, ""));
    line("Context switches", opt(m.ctx_switches_per_s, 1, " /s"));
    line("CPU migrations", opt(m.migrations_per_s, 1, " /s"));
    line("Page faults", opt(m.page_faults_per_s, 1, " /s"));
    if !unavailable.is_empty() {
        let _ = writeln!(s, "\nunavailable metrics:");
        for (name, why) in unavailable {
            let _ = writeln!(s, "  {name}: {why}");
        }
    }
    for n in notes {
        let _ = writeln!(s, "note: {n}");
    }
    s
}

fn metrics_json(m: &Metrics) -> Value {
    json!({
        "cpu_utilisation_pct": json_num(m.cpu_util_pct, 2),
        "cpus_busy": json_num(m.cpus_busy, 3),
        "user_pct": json_num(m.user_pct, 2),
        "system_pct": json_num(m.system_pct, 2),
        "iowait_pct": json_num(m.iowait_pct, 2),
        "steal_pct": json_num(m.steal_pct, 2),
        "ipc": json_num(m.ipc, 4),
        "cpi": json_num(m.cpi, 4),
        "effective_ghz": json_num(m.ghz, 3),
        "cache_miss_pct": json_num(m.cache_miss_pct, 3),
        "cache_mpki": json_num(m.cache_mpki, 3),
        "branch_miss_pct": json_num(m.branch_miss_pct, 3),
        "branch_mpki": json_num(m.branch_mpki, 3),
        "context_switches_per_s": json_num(m.ctx_switches_per_s, 2),
        "cpu_migrations_per_s": json_num(m.migrations_per_s, 2),
        "page_faults_per_s": json_num(m.page_faults_per_s, 2),
    })
}

fn counts_json(iv: &Interval) -> Value {
    let mut o = serde_json::Map::new();
    for (e, c) in &iv.counts {
        o.insert(
            e.clone(),
            match c.status {
                Status::Counted => json!(c.value),
                Status::NotCounted => json!("<not counted>"),
                Status::NotSupported => json!("<not supported>"),
            },
        );
    }
    Value::Object(o)
}

fn render_json(
    h: &Header,
    intervals: &[Interval],
    per: &[Metrics],
    total: &Interval,
    summary: &Metrics,
    unavailable: &[(String, String)],
    notes: &[String],
) -> Result<String> {
    let doc = json!({
        "perfspect_version": crate::VERSION,
        "mode": match h.mode { Mode::SystemWide => "system-wide", Mode::Pid(_) => "pid" },
        "pid": match h.mode { Mode::Pid(p) => json!(p), Mode::SystemWide => Value::Null },
        "cpus": h.ncpus,
        "interval_s": h.opts.interval,
        "requested_duration_s": h.opts.interval * h.count as f64,
        "perf": { "version": h.perf_version, "source": h.perf_source },
        "intervals": intervals.iter().zip(per).map(|(iv, m)| json!({
            "start_s": util::round(iv.start, 3),
            "end_s": util::round(iv.end, 3),
            "metrics": metrics_json(m),
            "counts": counts_json(iv),
        })).collect::<Vec<_>>(),
        "summary": {
            "duration_s": util::round(total.secs(), 3),
            "metrics": metrics_json(summary),
            "counts": counts_json(total),
        },
        "unavailable": unavailable.iter().map(|(m, r)| json!({"metric": m, "reason": r})).collect::<Vec<_>>(),
        "notes": notes,
    });
    Ok(serde_json::to_string_pretty(&doc)? + "\n")
}

fn render_csv(
    intervals: &[Interval],
    per: &[Metrics],
    total: &Interval,
    summary: &Metrics,
) -> String {
    let mut s = String::from(
        "period,start_s,end_s,cpu_utilisation_pct,cpus_busy,ipc,cpi,effective_ghz,cache_miss_pct,cache_mpki,\
         branch_miss_pct,branch_mpki,context_switches_per_s,cpu_migrations_per_s,page_faults_per_s\n",
    );
    let c = |v: Option<f64>, d: usize| match v {
        Some(x) if x.is_finite() => format!("{x:.d$}"),
        _ => String::new(),
    };
    let mut row = |period: &str, iv: &Interval, m: &Metrics| {
        let _ = writeln!(
            s,
            "{period},{:.3},{:.3},{},{},{},{},{},{},{},{},{},{},{},{}",
            iv.start,
            iv.end,
            c(m.cpu_util_pct, 2),
            c(m.cpus_busy, 3),
            c(m.ipc, 4),
            c(m.cpi, 4),
            c(m.ghz, 3),
            c(m.cache_miss_pct, 3),
            c(m.cache_mpki, 3),
            c(m.branch_miss_pct, 3),
            c(m.branch_mpki, 3),
            c(m.ctx_switches_per_s, 2),
            c(m.migrations_per_s, 2),
            c(m.page_faults_per_s, 2),
        );
    };
    for (iv, m) in intervals.iter().zip(per) {
        row("interval", iv, m);
    }
    row("summary", total, summary);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const SW: &str = include_str!("../tests/data/perf-stat-sw-only-x86_64-vm.csv");
    const PID: &str = include_str!("../tests/data/perf-stat-pid-x86_64-vm.csv");
    const HW: &str = include_str!("../tests/data/perf-stat-hw-sample.csv");

    fn util(busy: f64) -> Utilisation {
        Utilisation {
            busy_pct: busy,
            user_pct: busy,
            system_pct: 0.0,
            iowait_pct: 0.0,
            steal_pct: 0.0,
        }
    }

    #[test]
    fn lines() {
        let l = parse_stat_line(
            "     1.001081918,2003.06,msec,task-clock,2003054730,100.00,2.003,CPUs utilized",
        )
        .unwrap();
        assert_eq!(l.time, 1.001081918);
        assert_eq!(l.value, 2003.06);
        assert_eq!(l.unit, "msec");
        assert_eq!(l.event, "task-clock");
        assert_eq!(l.status, Status::Counted);
        assert_eq!(l.run_pct, Some(100.0));
        let u = parse_stat_line("     1.001081918,<not supported>,,cycles,0,100.00,,").unwrap();
        assert_eq!(u.status, Status::NotSupported);
        assert_eq!(u.event, "cycles");
        let n = parse_stat_line("0.5,<not counted>,msec,task-clock,0,100.00,,").unwrap();
        assert_eq!(n.status, Status::NotCounted);
        // Hybrid PMU and user-only modifiers are normalised.
        assert_eq!(
            parse_stat_line("1.0,5,,cpu_core/cycles/,10,100.00,,")
                .unwrap()
                .event,
            "cycles"
        );
        assert_eq!(
            parse_stat_line("1.0,5,,cycles:u,10,100.00,,")
                .unwrap()
                .event,
            "cycles"
        );
        // Raw events with commas in their name.
        let raw = parse_stat_line("1.0,7,,cpu/event=0x3c,umask=0x0/,10,50.00,,").unwrap();
        assert_eq!(raw.event, "event=0x3c,umask=0x0");
        assert_eq!(raw.run_pct, Some(50.0));
        for bad in [
            "",
            "# comment",
            "Error: something",
            "event syntax error: 'x'",
            "a,b,c,d",
        ] {
            assert_eq!(parse_stat_line(bad), None, "{bad}");
        }
    }

    #[test]
    fn software_only_capture() {
        let (ivs, other) = parse_intervals(SW, 10);
        assert!(other.is_empty(), "{other:?}");
        assert_eq!(ivs.len(), 3);
        assert!((ivs[0].start - 0.0).abs() < 1e-9);
        assert!((ivs[1].start - ivs[0].end).abs() < 1e-9);
        assert!((ivs[0].secs() - 1.0).abs() < 0.01);
        assert_eq!(ivs[0].counts["cycles"].status, Status::NotSupported);
        assert!(ivs[0].get("task-clock").unwrap() > 1900.0);
        let m = compute(&ivs[0], Mode::SystemWide, Some(util(12.5)), 2);
        assert_eq!(m.ipc, None);
        assert_eq!(m.cache_miss_pct, None);
        assert_eq!(m.cpu_util_pct, Some(12.5));
        assert_eq!(m.cpus_busy, Some(0.25));
        assert!(m.ctx_switches_per_s.unwrap() > 100.0);
        let t = total(&ivs).unwrap();
        let un = unavailable(&t, Mode::SystemWide, true);
        assert_eq!(un.len(), 1, "{un:?}");
        assert!(un[0].1.contains("no hardware performance counters"));
        assert!(un[0].0.contains("IPC"));
        assert_eq!(multiplex_note(&t), None);
        // Without /proc/stat there is no system-wide utilisation.
        assert_eq!(unavailable(&t, Mode::SystemWide, false).len(), 2);
    }

    #[test]
    fn pid_capture() {
        let (ivs, _) = parse_intervals(PID, 10);
        assert_eq!(ivs.len(), 4);
        let m = compute(&ivs[0], Mode::Pid(42), None, 2);
        // A busy loop: one CPU, half of this 2-CPU VM.
        let busy = m.cpus_busy.unwrap();
        assert!(busy > 0.9 && busy < 1.1, "{busy}");
        assert!((m.cpu_util_pct.unwrap() - busy * 50.0).abs() < 1e-9);
        assert_eq!(m.ghz, None);
        let t = total(&ivs).unwrap();
        let un = unavailable(&t, Mode::Pid(42), true);
        assert!(!un.iter().any(|(n, _)| n == "CPU utilisation"));
    }

    #[test]
    fn idle_process_counts_zero() {
        let text = "0.5,<not supported>,,cycles,0,100.00,,\n0.5,<not counted>,msec,task-clock,0,100.00,,\n\
                    0.5,<not counted>,,context-switches,0,100.00,,\n";
        let (mut ivs, _) = parse_intervals(text, 3);
        zero_uncounted_software(&mut ivs[0]);
        let m = compute(&ivs[0], Mode::Pid(1), None, 2);
        assert_eq!(m.cpus_busy, Some(0.0));
        assert_eq!(m.ctx_switches_per_s, Some(0.0));
        assert_eq!(ivs[0].counts["cycles"].status, Status::NotSupported);
        assert!(permission_problem(&[
            "Error:".into(),
            "Access to performance monitoring and observability operations is limited.".into()
        ]));
        assert!(!permission_problem(&["event syntax error".into()]));
    }

    #[test]
    fn hardware_sample() {
        let (ivs, other) = parse_intervals(HW, 10);
        assert_eq!(ivs.len(), 2);
        assert_eq!(other.len(), 7, "the header comment lines");
        let m = compute(&ivs[1], Mode::SystemWide, Some(util(100.0)), 2);
        assert!((m.ipc.unwrap() - 1.0).abs() < 1e-9);
        assert!((m.cpi.unwrap() - 1.0).abs() < 1e-9);
        assert!((m.cache_miss_pct.unwrap() - 10.0).abs() < 1e-9);
        assert!((m.branch_miss_pct.unwrap() - 0.5).abs() < 1e-9);
        assert!((m.branch_mpki.unwrap() - 1.0).abs() < 1e-9);
        // 2.6e9 cycles over 2 busy CPUs for ~1 s: ~1.3 GHz.
        assert!((m.ghz.unwrap() - 1.3).abs() < 0.01);
        let t = total(&ivs).unwrap();
        let s = compute(&t, Mode::SystemWide, Some(util(100.0)), 2);
        let ipc = (3_006_404_320.0 + 2_600_000_000.0) / (2_405_123_456.0 + 2_600_000_000.0);
        assert!((s.ipc.unwrap() - ipc).abs() < 1e-9);
        assert!(unavailable(&t, Mode::SystemWide, true).is_empty());
        let note = multiplex_note(&t).unwrap();
        assert!(note.contains("cache-misses 75%"), "{note}");
    }

    #[test]
    fn partial_support_and_hybrid() {
        let text = "1.0,100,,cycles,10,100.00,,\n1.0,50,,instructions,10,100.00,,\n\
                    1.0,<not supported>,,cache-references,0,100.00,,\n1.0,<not supported>,,cache-misses,0,100.00,,\n\
                    1.0,<not counted>,,branches,0,0.00,,\n1.0,<not counted>,,branch-misses,0,0.00,,\n";
        let (ivs, _) = parse_intervals(text, 6);
        let t = total(&ivs).unwrap();
        let un = unavailable(&t, Mode::SystemWide, true);
        assert_eq!(un.len(), 2, "{un:?}");
        assert!(un[0].1.contains("PMU has no such generic event"));
        assert!(un[1].1.contains("<not counted>"));
        assert_eq!(compute(&ivs[0], Mode::SystemWide, None, 1).ipc, Some(0.5));

        // Hybrid: two lines per event; the collector learns the line count.
        let mut c = Collector::new(2);
        let mut completed = 0;
        for l in [
            "1.0,10,,cpu_core/cycles/,1,100.00,,",
            "1.0,20,,cpu_core/instructions/,1,100.00,,",
            "1.0,5,,cpu_atom/cycles/,1,100.00,,",
            "1.0,5,,cpu_atom/instructions/,1,100.00,,",
            "2.0,10,,cpu_core/cycles/,1,100.00,,",
            "2.0,20,,cpu_core/instructions/,1,100.00,,",
            "2.0,5,,cpu_atom/cycles/,1,100.00,,",
            "2.0,5,,cpu_atom/instructions/,1,100.00,,",
        ] {
            completed += c.push(l);
        }
        completed += c.finish();
        assert_eq!(completed, 2);
        assert_eq!(c.done.len(), 2);
        assert_eq!(c.done[0].get("cycles"), Some(15.0));
        assert_eq!(c.done[1].get("instructions"), Some(25.0));
        assert!((c.done[1].start - 1.0).abs() < 1e-9);
    }

    #[test]
    fn csv_and_json_render() {
        let (ivs, _) = parse_intervals(HW, 10);
        let per: Vec<Metrics> = ivs
            .iter()
            .map(|i| compute(i, Mode::SystemWide, Some(util(50.0)), 2))
            .collect();
        let t = total(&ivs).unwrap();
        let s = compute(&t, Mode::SystemWide, Some(util(50.0)), 2);
        let csv = render_csv(&ivs, &per, &t, &s);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 4);
        let cols = lines[0].split(',').count();
        assert!(lines.iter().all(|l| l.split(',').count() == cols));
        assert!(lines[3].starts_with("summary,"));
        assert!(lines[2].contains(",1.0000,1.0000,"), "{}", lines[2]);
    }
}
