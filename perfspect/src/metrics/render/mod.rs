//! The outputs of a metrics run, one file per format behind one trait: each
//! format says how a run starts, how each interval shows as it completes
//! (what `--live` streams) and how the run ends. All read the metric table
//! in `derive`.

mod csv;
mod json;
mod txt;

use super::Format;
use super::derive::{Metrics, Mode};
use super::parse::Interval;
use super::summary::Stats;

/// What is known before perf starts.
pub struct Header {
    pub mode: Mode,
    pub interval_s: f64,
    pub count: u64,
    pub perf_version: String,
    pub perf_source: String,
    pub ncpus: usize,
    /// perf's metric group, when one was asked for (`--group`).
    pub group: Option<String>,
}

impl Header {
    pub fn requested_duration_s(&self) -> f64 {
        self.interval_s * self.count as f64
    }
}

/// A finished run.
pub struct Report<'a> {
    pub header: &'a Header,
    pub intervals: &'a [Interval],
    /// The metrics of each interval.
    pub per: &'a [Metrics],
    /// The whole run as one interval, and its metrics.
    pub total: &'a Interval,
    pub summary: &'a Metrics,
    /// Min, mean, max, p95 of each metric of the table, in table order.
    pub stats: &'a [Option<Stats>],
    /// The same for perf's own metrics (`--group`), by name.
    pub perf_stats: &'a [(String, Option<Stats>)],
    pub unavailable: &'a [(String, String)],
    pub notes: &'a [String],
}

pub trait Renderer {
    /// Printed once, before the first interval (empty: nothing).
    fn start(&self, h: &Header, first: &Interval) -> String;
    /// One completed interval.
    fn interval(&self, h: &Header, iv: &Interval, m: &Metrics) -> String;
    /// After the last interval.
    fn finish(&self, r: &Report) -> anyhow::Result<String>;
    /// Whether the intervals are part of the output without `--live` (JSON
    /// has them in its final document instead).
    fn rows_in_output(&self) -> bool {
        true
    }
}

pub fn renderer(f: Format) -> Box<dyn Renderer> {
    match f {
        Format::Txt => Box::new(txt::Txt),
        Format::Json => Box::new(json::Json),
        Format::Csv => Box::new(csv::Csv),
    }
}

/// The whole output of a run, as the renderer streams it.
#[cfg(test)]
pub fn whole(f: Format, r: &Report) -> String {
    let out = renderer(f);
    let mut s = String::new();
    if !out.rows_in_output() {
        return out.finish(r).unwrap();
    }
    if let Some(first) = r.intervals.first() {
        s += &out.start(r.header, first);
    }
    for (iv, m) in r.intervals.iter().zip(r.per) {
        s += &out.interval(r.header, iv, m);
    }
    s + &out.finish(r).unwrap()
}
