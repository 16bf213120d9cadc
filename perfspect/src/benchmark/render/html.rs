//! HTML: one self-contained page (inline CSS and SVG, no script, nothing
//! fetched).

use super::svg::{esc, frequency_svg, latency_svg};
use super::{Renderer, kind_name, power_rows, spread, step_text};
use crate::benchmark::Results;
use crate::benchmark::storage;
use std::fmt::Write as _;

pub struct Html;

impl Renderer for Html {
    fn render(&self, r: &Results) -> anyhow::Result<String> {
        Ok(html(r))
    }
}

fn html_table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    out.push_str("<table><tr>");
    for h in header {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr>");
    for r in rows {
        out.push_str("<tr>");
        for c in r {
            let _ = write!(out, "<td>{}</td>", esc(c));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>\n");
}

fn html(r: &Results) -> String {
    let mut s = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>perfspect benchmark</title><style>\
         body{font-family:sans-serif;margin:2em;color:#222}\
         table{border-collapse:collapse;margin:.5em 0 1.5em}\
         th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}\
         th{background:#eee}</style></head><body>\n<h1>perfspect benchmark</h1>\n",
    );
    let _ = writeln!(
        s,
        "<p>perfspect {}, started {}</p>",
        esc(r.perfspect_version),
        esc(&r.started)
    );
    if let Some(c) = &r.cpu {
        s.push_str("<h2>CPU</h2>\n");
        let mut rows: Vec<Vec<String>> = c
            .kernels
            .iter()
            .map(|k| {
                vec![
                    k.name.into(),
                    k.description.into(),
                    spread(&k.single_mops, 1),
                    spread(&k.all_mops, 1),
                ]
            })
            .collect();
        rows.push(vec![
            "score".into(),
            "geometric mean".into(),
            spread(&c.score_single, 1),
            spread(&c.score_all, 1),
        ]);
        html_table(
            &mut s,
            &[
                "kernel",
                "what",
                "1 CPU (M ops/s)",
                &format!("{} CPUs (M ops/s)", c.cpus),
            ],
            &rows,
        );
    }
    if let Some(f) = &r.frequency {
        s.push_str("<h2>Frequency by active CPUs</h2>\n");
        s.push_str(&frequency_svg(f));
        let rows: Vec<Vec<String>> = f
            .points
            .iter()
            .map(|p| {
                vec![
                    p.isa.name().into(),
                    p.active_cpus.to_string(),
                    format!("{:.2}", p.ghz),
                    p.aperf_mperf
                        .map(|r| format!("{r:.3}"))
                        .unwrap_or_else(|| "-".into()),
                ]
            })
            .collect();
        html_table(&mut s, &["ISA", "CPUs", "GHz", "APERF/MPERF"], &rows);
    }
    if let Some(p) = &r.power {
        s.push_str("<h2>Power and temperature</h2>\n");
        html_table(
            &mut s,
            &["phase", "package W", "DRAM W", "package °C"],
            &power_rows(p),
        );
        for u in &p.unavailable {
            let _ = writeln!(s, "<p>{}</p>", esc(u));
        }
    }
    if let Some(m) = &r.memory {
        s.push_str("<h2>Memory</h2>\n");
        let rows: Vec<Vec<String>> = m
            .bandwidth
            .iter()
            .map(|b| {
                vec![
                    b.scope.clone(),
                    b.cpus.to_string(),
                    kind_name(b.kind).into(),
                    format!("{:.2}", b.gb_per_s.max),
                ]
            })
            .collect();
        html_table(&mut s, &["scope", "CPUs", "kernel", "GB/s (best)"], &rows);
        s.push_str("<h3>Latency by working-set size</h3>\n");
        let caches: Vec<(String, u64)> = m
            .caches
            .iter()
            .map(|c| (c.level.clone(), c.size_bytes))
            .collect();
        s.push_str(&latency_svg(&m.latency, &caches));
        s.push_str("\n<ul>");
        for st in &m.steps {
            let _ = write!(s, "<li>{}</li>", esc(&step_text(st)));
        }
        s.push_str("</ul>\n");
    }
    if let Some(st) = &r.storage {
        s.push_str("<h2>Storage</h2>\n");
        let rows: Vec<Vec<String>> = st
            .jobs
            .iter()
            .map(|j| {
                vec![
                    j.name.into(),
                    format!("{:.0}", j.iops),
                    storage::fmt_bw(j.bandwidth_bytes_per_s as f64),
                    storage::fmt_lat(j.latency_us.p99.map(|u| u * 1000.0)),
                ]
            })
            .collect();
        html_table(&mut s, &["job", "IOPS", "bandwidth", "p99 latency"], &rows);
    }
    s.push_str("</body></html>\n");
    s
}
