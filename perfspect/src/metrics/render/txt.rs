//! Text: a live table, one row per interval, then the summary.

use super::{Header, Renderer, Report};
use crate::metrics::derive::{DEFS, Metrics, Mode};
use crate::metrics::parse::Interval;
use crate::util::{fmt_opt, text_table};
use std::fmt::Write as _;

pub struct Txt;

/// The live table's columns: time, then the metrics that have one; with
/// `--group`, perf's metrics of the first interval.
fn columns(h: &Header, first: &Interval) -> Vec<String> {
    let mut c = vec!["TIME(s)".to_string()];
    if h.group.is_some() {
        c.extend(first.perf_metrics.keys().cloned());
    } else {
        c.extend(DEFS.iter().filter_map(|d| d.column).map(String::from));
    }
    c
}

fn fixed_line(widths: &[usize], cells: &[String]) -> String {
    let mut l = String::new();
    for (i, c) in cells.iter().enumerate() {
        let w = widths.get(i).copied().unwrap_or(8).max(7);
        if i > 0 {
            l.push_str("  ");
        }
        let _ = write!(l, "{c:>w$}");
    }
    l.push('\n');
    l
}

fn widths(h: &Header, iv: &Interval) -> Vec<usize> {
    columns(h, iv).iter().map(String::len).collect()
}

impl Renderer for Txt {
    fn start(&self, h: &Header, first: &Interval) -> String {
        let target = match h.mode {
            Mode::SystemWide => format!("system-wide, {} CPUs", h.ncpus),
            Mode::Pid(p) => format!("pid {p}"),
        };
        let group = h
            .group
            .as_ref()
            .map(|g| format!(", perf metric group {g}"))
            .unwrap_or_default();
        let cols = columns(h, first);
        format!(
            "perfspect metrics: {target}, {} s in {} s intervals{group}, perf {} ({})\n",
            h.requested_duration_s(),
            h.interval_s,
            h.perf_version,
            h.perf_source
        ) + &fixed_line(&widths(h, first), &cols)
    }

    fn interval(&self, h: &Header, iv: &Interval, m: &Metrics) -> String {
        let mut cells = vec![format!("{:.2}", iv.end)];
        if h.group.is_some() {
            cells.extend(iv.perf_metrics.values().map(|p| format!("{:.2}", p.value)));
        } else {
            cells.extend(
                m.iter()
                    .filter(|(d, _)| d.column.is_some())
                    .map(|(d, v)| fmt_opt(v, d.txt_decimals)),
            );
        }
        fixed_line(&widths(h, iv), &cells)
    }

    fn finish(&self, r: &Report) -> anyhow::Result<String> {
        let mut s = String::new();
        let _ = writeln!(s, "\nsummary over {:.2} s:", r.total.secs());
        let mut rows: Vec<Vec<String>> = Vec::new();
        for ((d, v), st) in r.summary.iter().zip(r.stats) {
            let f = |x: f64| fmt_opt(Some(x), d.txt_decimals);
            let label = if d.unit.is_empty() {
                d.label.to_string()
            } else {
                format!("{} ({})", d.label, d.unit)
            };
            let mut row = vec![label, v.map_or("unavailable".into(), f)];
            match st {
                Some(st) => row.extend([f(st.min), f(st.mean), f(st.max), f(st.p95)]),
                None => row.extend(["-".into(), "-".into(), "-".into(), "-".into()]),
            }
            rows.push(row);
        }
        for (name, st) in r.perf_stats {
            let p = &r.total.perf_metrics[name];
            let f = |x: f64| format!("{x:.2}");
            let label = if p.unit.is_empty() {
                name.clone()
            } else {
                format!("{name} ({})", p.unit)
            };
            let mut row = vec![label, f(p.value)];
            if let Some(st) = st {
                row.extend([f(st.min), f(st.mean), f(st.max), f(st.p95)]);
            }
            rows.push(row);
        }
        for line in text_table(
            &["METRIC", "WHOLE RUN", "MIN", "MEAN", "MAX", "P95"],
            &rows,
            &[false, true, true, true, true, true],
        )
        .lines()
        {
            let _ = writeln!(s, "  {line}");
        }
        s.push_str("  (min, mean, max and p95 over the intervals)\n");
        if !r.unavailable.is_empty() {
            let _ = writeln!(s, "\nunavailable metrics:");
            for (name, why) in r.unavailable {
                let _ = writeln!(s, "  {name}: {why}");
            }
        }
        for n in r.notes {
            let _ = writeln!(s, "note: {n}");
        }
        Ok(s)
    }
}
