//! JSON: the whole run as one document at the end; with `--live`, each
//! interval first as one line (JSON Lines) as it completes.

use super::{Header, Renderer, Report};
use crate::metrics::derive::{Metrics, Mode};
use crate::metrics::parse::{Interval, Status};
use crate::metrics::summary::Stats;
use crate::util::{self, json_num};
use serde_json::{Map, Value, json};

pub struct Json;

/// The metric table's keys and values.
pub fn metrics_json(m: &Metrics) -> Value {
    let mut o = Map::new();
    for (d, v) in m.iter() {
        o.insert(d.key.to_string(), json_num(v, d.decimals));
    }
    Value::Object(o)
}

fn counts_json(iv: &Interval) -> Value {
    let mut o = Map::new();
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

fn perf_metrics_json(iv: &Interval) -> Value {
    let mut o = Map::new();
    for (name, p) in &iv.perf_metrics {
        o.insert(
            name.clone(),
            json!({"value": util::round(p.value, 3), "unit": p.unit}),
        );
    }
    Value::Object(o)
}

fn interval_json(iv: &Interval, m: &Metrics) -> Value {
    json!({
        "start_s": util::round(iv.start, 3),
        "end_s": util::round(iv.end, 3),
        "metrics": metrics_json(m),
        "perf_metrics": perf_metrics_json(iv),
        "counts": counts_json(iv),
    })
}

fn stats_json(st: &Option<Stats>, decimals: i32) -> Value {
    match st {
        Some(s) => json!({
            "min": util::round(s.min, decimals),
            "mean": util::round(s.mean, decimals),
            "max": util::round(s.max, decimals),
            "p95": util::round(s.p95, decimals),
            "intervals": s.intervals,
        }),
        None => Value::Null,
    }
}

impl Renderer for Json {
    fn rows_in_output(&self) -> bool {
        false
    }

    fn start(&self, _: &Header, _: &Interval) -> String {
        String::new()
    }

    fn interval(&self, _: &Header, iv: &Interval, m: &Metrics) -> String {
        interval_json(iv, m).to_string() + "\n"
    }

    fn finish(&self, r: &Report) -> anyhow::Result<String> {
        let h = r.header;
        let mut statistics = Map::new();
        for ((d, _), st) in r.summary.iter().zip(r.stats) {
            statistics.insert(d.key.to_string(), stats_json(st, d.decimals));
        }
        for (name, st) in r.perf_stats {
            statistics.insert(name.clone(), stats_json(st, 3));
        }
        let doc = json!({
            "perfspect_version": crate::VERSION,
            "mode": match h.mode { Mode::SystemWide => "system-wide", Mode::Pid(_) => "pid" },
            "pid": match h.mode { Mode::Pid(p) => json!(p), Mode::SystemWide => Value::Null },
            "cpus": h.ncpus,
            "interval_s": h.interval_s,
            "requested_duration_s": h.requested_duration_s(),
            "perf": { "version": h.perf_version, "source": h.perf_source },
            "group": h.group,
            "intervals": r.intervals.iter().zip(r.per).map(|(iv, m)| interval_json(iv, m)).collect::<Vec<_>>(),
            "summary": {
                "duration_s": util::round(r.total.secs(), 3),
                "metrics": metrics_json(r.summary),
                "perf_metrics": perf_metrics_json(r.total),
                "statistics": statistics,
                "counts": counts_json(r.total),
            },
            "unavailable": r.unavailable.iter().map(|(m, why)| json!({"metric": m, "reason": why})).collect::<Vec<_>>(),
            "notes": r.notes,
        });
        Ok(serde_json::to_string_pretty(&doc)? + "\n")
    }
}
