//! CSV: one row per interval, then min, mean, max, p95 and summary rows.
//! Columns: the metric table's keys, then perf's metrics (`--group`).

use super::{Header, Renderer, Report};
use crate::metrics::derive::{DEFS, Metrics};
use crate::metrics::parse::Interval;
use std::fmt::Write as _;

pub struct Csv;

fn cell(v: Option<f64>, d: i32) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.0$}", d.max(0) as usize),
        _ => String::new(),
    }
}

fn row(period: &str, start: f64, end: f64, values: &[String]) -> String {
    format!("{period},{start:.3},{end:.3},{}\n", values.join(","))
}

impl Renderer for Csv {
    fn start(&self, _: &Header, first: &Interval) -> String {
        let mut s = String::from("period,start_s,end_s");
        for d in &DEFS {
            let _ = write!(s, ",{}", d.key);
        }
        for name in first.perf_metrics.keys() {
            let _ = write!(s, ",{name}");
        }
        s.push('\n');
        s
    }

    fn interval(&self, _: &Header, iv: &Interval, m: &Metrics) -> String {
        let mut v: Vec<String> = m.iter().map(|(d, x)| cell(x, d.decimals)).collect();
        v.extend(iv.perf_metrics.values().map(|p| cell(Some(p.value), 3)));
        row("interval", iv.start, iv.end, &v)
    }

    fn finish(&self, r: &Report) -> anyhow::Result<String> {
        let mut s = String::new();
        let (start, end) = (r.total.start, r.total.end);
        type Pick = fn(&crate::metrics::summary::Stats) -> f64;
        let picks: [(&str, Pick); 4] = [
            ("min", |s| s.min),
            ("mean", |s| s.mean),
            ("max", |s| s.max),
            ("p95", |s| s.p95),
        ];
        for (period, pick) in picks {
            let mut v: Vec<String> = DEFS
                .iter()
                .zip(r.stats)
                .map(|(d, st)| cell(st.as_ref().map(pick), d.decimals))
                .collect();
            v.extend(
                r.perf_stats
                    .iter()
                    .map(|(_, st)| cell(st.as_ref().map(pick), 3)),
            );
            s += &row(period, start, end, &v);
        }
        let mut v: Vec<String> = r.summary.iter().map(|(d, x)| cell(x, d.decimals)).collect();
        v.extend(
            r.perf_stats
                .iter()
                .map(|(n, _)| cell(r.total.perf_metrics.get(n).map(|p| p.value), 3)),
        );
        s += &row("summary", start, end, &v);
        Ok(s)
    }
}
