//! JSON: the whole run as one [`Document`] at the end; with `--live`, each
//! interval first as one line (JSON Lines, an [`IntervalOut`]) as it
//! completes.

use super::{Header, Renderer, Report};
use crate::metrics::derive::{Metrics, Mode};
use crate::metrics::parse::{Interval, PerfMetric, Status};
use crate::metrics::summary::Stats;
use crate::util;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use std::collections::BTreeMap;

pub struct Json;

/// The document `metrics --format json` prints.
#[derive(Serialize)]
pub struct Document<'a> {
    /// perfspect's version.
    pub perfspect_version: &'static str,
    /// `system-wide` or `pid`.
    pub mode: &'static str,
    /// The process measured in `pid` mode, else null.
    pub pid: Option<u32>,
    /// Online CPUs.
    pub cpus: usize,
    /// Length of one interval, seconds.
    pub interval_s: f64,
    /// Intervals x interval length, seconds.
    pub requested_duration_s: f64,
    /// The perf that counted.
    pub perf: PerfInfo<'a>,
    /// perf's metric group shown (`--group`); null: the generic metrics.
    pub group: Option<&'a str>,
    /// Each interval, in order.
    pub intervals: Vec<IntervalOut<'a>>,
    /// The whole run.
    pub summary: SummaryOut<'a>,
    /// Metrics that could not be derived, and why.
    pub unavailable: Vec<Unavailable<'a>>,
    /// Anything that changed how the run went (fallbacks, multiplexing).
    pub notes: &'a [String],
}

#[derive(Serialize)]
pub struct PerfInfo<'a> {
    /// `perf --version`.
    pub version: &'a str,
    /// Where perf came from (embedded, override).
    pub source: &'a str,
}

/// One interval (also one line of `--live`).
#[derive(Serialize)]
pub struct IntervalOut<'a> {
    /// Seconds since perf started.
    pub start_s: f64,
    pub end_s: f64,
    /// The metric table's keys, in table order; null where unavailable.
    pub metrics: MetricsOut<'a>,
    /// perf's own metrics (`--group`), by name.
    pub perf_metrics: BTreeMap<&'a str, PerfMetricOut<'a>>,
    /// perf's counts by event: a number, `<not counted>` or `<not supported>`.
    pub counts: BTreeMap<&'a str, CountOut>,
}

#[derive(Serialize)]
pub struct SummaryOut<'a> {
    /// Seconds the intervals covered.
    pub duration_s: f64,
    /// The metrics of the whole run (counts summed, then derived).
    pub metrics: MetricsOut<'a>,
    /// perf's own metrics averaged over the intervals.
    pub perf_metrics: BTreeMap<&'a str, PerfMetricOut<'a>>,
    /// Min, mean, max, p95 over the intervals, by metric key or perf metric name.
    pub statistics: BTreeMap<&'a str, Option<StatsOut>>,
    /// Counts summed over the intervals.
    pub counts: BTreeMap<&'a str, CountOut>,
}

#[derive(Serialize)]
pub struct PerfMetricOut<'a> {
    pub value: f64,
    /// `%` for the TMA and pipeline fractions; empty when perf gives none.
    pub unit: &'a str,
}

#[derive(Serialize)]
pub struct StatsOut {
    pub min: f64,
    pub mean: f64,
    pub max: f64,
    /// Nearest-rank 95th percentile.
    pub p95: f64,
    /// Intervals with a value.
    pub intervals: usize,
}

#[derive(Serialize)]
#[serde(untagged)]
pub enum CountOut {
    Counted(f64),
    /// `<not counted>` or `<not supported>`.
    Not(&'static str),
}

#[derive(Serialize)]
pub struct Unavailable<'a> {
    pub metric: &'a str,
    pub reason: &'a str,
}

/// A [`Metrics`] as a map of the table's keys, in table order, rounded to
/// each metric's precision.
pub struct MetricsOut<'a>(&'a Metrics);

impl Serialize for MetricsOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.0.len()))?;
        for (d, v) in self.0.iter() {
            let v = v
                .filter(|x| x.is_finite())
                .map(|x| util::round(x, d.decimals));
            map.serialize_entry(d.key, &v)?;
        }
        map.end()
    }
}

fn counts(iv: &Interval) -> BTreeMap<&str, CountOut> {
    iv.counts
        .iter()
        .map(|(e, c)| {
            let v = match c.status {
                Status::Counted => CountOut::Counted(c.value),
                Status::NotCounted => CountOut::Not("<not counted>"),
                Status::NotSupported => CountOut::Not("<not supported>"),
            };
            (e.as_str(), v)
        })
        .collect()
}

fn perf_metrics(m: &BTreeMap<String, PerfMetric>) -> BTreeMap<&str, PerfMetricOut<'_>> {
    m.iter()
        .map(|(n, p)| {
            (
                n.as_str(),
                PerfMetricOut {
                    value: util::round(p.value, 3),
                    unit: &p.unit,
                },
            )
        })
        .collect()
}

fn interval<'a>(iv: &'a Interval, m: &'a Metrics) -> IntervalOut<'a> {
    IntervalOut {
        start_s: util::round(iv.start, 3),
        end_s: util::round(iv.end, 3),
        metrics: MetricsOut(m),
        perf_metrics: perf_metrics(&iv.perf_metrics),
        counts: counts(iv),
    }
}

fn stats(st: &Option<Stats>, decimals: i32) -> Option<StatsOut> {
    st.as_ref().map(|s| StatsOut {
        min: util::round(s.min, decimals),
        mean: util::round(s.mean, decimals),
        max: util::round(s.max, decimals),
        p95: util::round(s.p95, decimals),
        intervals: s.intervals,
    })
}

impl Renderer for Json {
    fn rows_in_output(&self) -> bool {
        false
    }

    fn start(&self, _: &Header, _: &Interval) -> String {
        String::new()
    }

    fn interval(&self, _: &Header, iv: &Interval, m: &Metrics) -> String {
        serde_json::to_string(&interval(iv, m)).unwrap_or_default() + "\n"
    }

    fn finish(&self, r: &Report) -> anyhow::Result<String> {
        let h = r.header;
        let mut statistics: BTreeMap<&str, Option<StatsOut>> = r
            .summary
            .iter()
            .zip(r.stats)
            .map(|((d, _), st)| (d.key, stats(st, d.decimals)))
            .collect();
        for (name, st) in r.perf_stats {
            statistics.insert(name, stats(st, 3));
        }
        let doc = Document {
            perfspect_version: crate::VERSION,
            mode: match h.mode {
                Mode::SystemWide => "system-wide",
                Mode::Pid(_) => "pid",
            },
            pid: match h.mode {
                Mode::Pid(p) => Some(p),
                Mode::SystemWide => None,
            },
            cpus: h.ncpus,
            interval_s: h.interval_s,
            requested_duration_s: h.requested_duration_s(),
            perf: PerfInfo {
                version: &h.perf_version,
                source: &h.perf_source,
            },
            group: h.group.as_deref(),
            intervals: r
                .intervals
                .iter()
                .zip(r.per)
                .map(|(iv, m)| interval(iv, m))
                .collect(),
            summary: SummaryOut {
                duration_s: util::round(r.total.secs(), 3),
                metrics: MetricsOut(r.summary),
                perf_metrics: perf_metrics(&r.total.perf_metrics),
                statistics,
                counts: counts(r.total),
            },
            unavailable: r
                .unavailable
                .iter()
                .map(|(m, why)| Unavailable {
                    metric: m,
                    reason: why,
                })
                .collect(),
            notes: r.notes,
        };
        Ok(serde_json::to_string_pretty(&doc)? + "\n")
    }
}
