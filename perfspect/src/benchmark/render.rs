//! Text and HTML renderings of a benchmark run (JSON is the serde form of
//! [`Results`]). The HTML page is self-contained: inline CSS and SVG, no
//! script, nothing fetched.

use super::Results;
use super::frequency::{Frequency, Isa};
use super::memory::{Kind, LatencyPoint, Step};
use super::power::Power;
use super::stats::Spread;
use super::storage;
use crate::util::{human_bytes, text_table};
use std::fmt::Write as _;

fn spread(s: &Spread, decimals: usize) -> String {
    format!("{:.decimals$} ±{:.1}%", s.median, s.spread_pct)
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Triad => "triad (a = b + s*c)",
        Kind::Read => "read (sum)",
    }
}

fn step_text(s: &Step) -> String {
    format!(
        "{} -> {}: {:.1} -> {:.1} ns{}",
        human_bytes(s.from_bytes),
        human_bytes(s.to_bytes),
        s.from_ns,
        s.to_ns,
        s.cache
            .as_ref()
            .map(|c| format!(" ({c})"))
            .unwrap_or_default()
    )
}

/// The summary table first (one line per part), then each part's detail.
pub fn txt(r: &Results) -> String {
    let mut s = String::from("perfspect benchmark\n\n");
    let mut rows: Vec<Vec<String>> = Vec::new();
    if let Some(c) = &r.cpu {
        rows.push(vec![
            "cpu".into(),
            format!(
                "score {} on 1 CPU, {} on {} CPUs",
                spread(&c.score_single, 1),
                spread(&c.score_all, 1),
                c.cpus
            ),
            format!("{:.1}", c.duration_s),
        ]);
    }
    if let Some(f) = &r.frequency {
        let at = |isa: Isa, first: bool| {
            let mut p = f.points.iter().filter(|p| p.isa == isa);
            let p = if first { p.next() } else { p.next_back() };
            p.map(|p| format!("{:.2}", p.ghz))
                .unwrap_or_else(|| "-".into())
        };
        rows.push(vec![
            "frequency".into(),
            format!(
                "scalar {} GHz on 1 CPU, {} on all; avx512 {} on all",
                at(Isa::Scalar, true),
                at(Isa::Scalar, false),
                at(Isa::Avx512, false)
            ),
            format!("{:.1}", f.duration_s),
        ]);
    }
    if let Some(p) = &r.power {
        rows.push(vec![
            "power".into(),
            if p.unavailable.is_empty() {
                format!(
                    "package {} W idle, {} W under load",
                    fmt_val(p.idle.package_watts, 1),
                    fmt_val(p.load.package_watts, 1)
                )
            } else {
                format!("unavailable: {}", p.unavailable[0])
            },
            format!("{:.1}", p.duration_s),
        ]);
    }
    if let Some(m) = &r.memory {
        let bw = |k: Kind| {
            m.bandwidth
                .iter()
                .find(|b| b.scope == "all" && b.kind == k)
                .map(|b| format!("{:.1}", b.gb_per_s.max))
                .unwrap_or_else(|| "-".into())
        };
        let levels: Vec<String> = m.steps.iter().filter_map(|s| s.cache.clone()).collect();
        rows.push(vec![
            "memory".into(),
            format!(
                "triad {} GB/s, read {} GB/s; latency steps at {}",
                bw(Kind::Triad),
                bw(Kind::Read),
                if levels.is_empty() {
                    "no cache level".into()
                } else {
                    levels.join(", ")
                }
            ),
            format!("{:.1}", m.duration_s),
        ]);
    }
    if let Some(st) = &r.storage {
        let iops = |n: &str| {
            st.jobs
                .iter()
                .find(|j| j.name == n)
                .map(|j| format!("{:.0}", j.iops))
                .unwrap_or_else(|| "-".into())
        };
        let bw = |n: &str| {
            st.jobs
                .iter()
                .find(|j| j.name == n)
                .map(|j| storage::fmt_bw(j.bandwidth_bytes_per_s as f64))
                .unwrap_or_else(|| "-".into())
        };
        rows.push(vec![
            "storage".into(),
            format!(
                "4k random read {} IOPS, 1m sequential read {}",
                iops("randread-4k"),
                bw("seqread-1m")
            ),
            format!("{:.1}", st.duration_s),
        ]);
    }
    s.push_str(&text_table(
        &["PART", "RESULT", "SECONDS"],
        &rows,
        &[false, false, true],
    ));

    if let Some(c) = &r.cpu {
        let _ = writeln!(
            s,
            "\ncpu: M ops/s, median of {} runs of {} s ± spread (max-min over median)",
            c.score_single.runs, c.seconds_per_run
        );
        let mut rows: Vec<Vec<String>> = c
            .kernels
            .iter()
            .map(|k| {
                vec![
                    k.name.to_string(),
                    k.description.to_string(),
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
        let all = format!("{} CPUS", c.cpus);
        s.push_str(&text_table(
            &["KERNEL", "WHAT", "1 CPU", &all],
            &rows,
            &[false, false, true, true],
        ));
    }
    if let Some(f) = &r.frequency {
        s.push_str(&frequency_txt(f));
    }
    if let Some(p) = &r.power {
        s.push_str(&power_txt(p));
    }
    if let Some(m) = &r.memory {
        s.push_str("\nmemory bandwidth: GB/s (10^9 bytes), best of the runs ± spread\n");
        let rows: Vec<Vec<String>> = m
            .bandwidth
            .iter()
            .map(|b| {
                vec![
                    b.scope.clone(),
                    b.cpus.to_string(),
                    kind_name(b.kind).into(),
                    human_bytes(b.array_bytes),
                    format!("{:.2} ±{:.1}%", b.gb_per_s.max, b.gb_per_s.spread_pct),
                ]
            })
            .collect();
        s.push_str(&text_table(
            &["SCOPE", "CPUS", "KERNEL", "ARRAY/THREAD", "GB/S"],
            &rows,
            &[false, true, false, true, true],
        ));
        s.push_str("\nmemory latency: ns per dependent load by working set\n");
        let rows: Vec<Vec<String>> = m
            .latency
            .iter()
            .map(|p| vec![human_bytes(p.size_bytes), format!("{:.2}", p.ns)])
            .collect();
        s.push_str(&text_table(&["SIZE", "NS"], &rows, &[true, true]));
        let caches: Vec<String> = m
            .caches
            .iter()
            .map(|c| format!("{} {}", c.level, human_bytes(c.size_bytes)))
            .collect();
        let _ = writeln!(s, "caches (sysfs): {}", caches.join(", "));
        for st in &m.steps {
            let _ = writeln!(s, "step: {}", step_text(st));
        }
    }
    if let Some(st) = &r.storage {
        s.push('\n');
        s.push_str(&storage::render_txt(st));
    }
    s
}

fn fmt_val(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.decimals$}"))
}

fn power_rows(p: &Power) -> Vec<Vec<String>> {
    [("idle", &p.idle), ("load", &p.load)]
        .iter()
        .map(|(phase, r)| {
            vec![
                phase.to_string(),
                fmt_val(r.package_watts, 1),
                fmt_val(r.dram_watts, 1),
                fmt_val(r.package_celsius, 0),
            ]
        })
        .collect()
}

fn power_txt(p: &Power) -> String {
    let mut s = format!(
        "\npower: turbostat {}, {} s per phase\n",
        p.turbostat.as_deref().unwrap_or("(not found)"),
        p.seconds_per_phase
    );
    s.push_str(&text_table(
        &["PHASE", "PACKAGE W", "DRAM W", "PACKAGE C"],
        &power_rows(p),
        &[false, true, true, true],
    ));
    for u in &p.unavailable {
        let _ = writeln!(s, "note: {u}");
    }
    s
}

fn frequency_txt(f: &Frequency) -> String {
    let mut s = format!(
        "\nfrequency: GHz while dependent-add loops run on N CPUs ({} s each; rate per CPU-second)\n",
        f.seconds_per_point
    );
    let rows: Vec<Vec<String>> = f
        .points
        .iter()
        .map(|p| {
            vec![
                p.isa.name().into(),
                p.active_cpus.to_string(),
                format!("{:.2}", p.ghz),
                format!("{:.2}", p.min_ghz),
                p.aperf_mperf
                    .map(|r| format!("{r:.3}"))
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    s.push_str(&text_table(
        &["ISA", "CPUS", "GHZ", "MIN GHZ", "APERF/MPERF"],
        &rows,
        &[false, true, true, true, true],
    ));
    for isa in &f.skipped {
        let _ = writeln!(s, "note: {} not measured: this CPU lacks it", isa.name());
    }
    if let Some(why) = &f.aperf_mperf_unavailable {
        let _ = writeln!(s, "note: APERF/MPERF unavailable: {why}");
    }
    s
}

/// GHz by active CPUs, one line per instruction set.
pub fn frequency_svg(f: &Frequency) -> String {
    let (w, h, l, b) = (560.0, 280.0, 50.0, 40.0);
    let max_n = f
        .points
        .iter()
        .map(|p| p.active_cpus)
        .max()
        .unwrap_or(1)
        .max(2) as f64;
    let max_g = f
        .points
        .iter()
        .map(|p| p.ghz)
        .fold(0.0, f64::max)
        .max(0.5)
        .ceil();
    let px = |n: f64| l + (n - 1.0) / (max_n - 1.0) * (w - l - 90.0);
    let py = |g: f64| (h - b) - g / max_g * (h - b - 20.0);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"frequency by active CPUs\">\
         <line x1=\"{l}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"#333\"/>\
         <line x1=\"{l}\" y1=\"20\" x2=\"{l}\" y2=\"{0}\" stroke=\"#333\"/>",
        h - b,
        w - 90.0
    );
    let _ = write!(
        s,
        "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{max_g} GHz</text>\
         <text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">0</text>",
        l - 4.0,
        py(max_g) + 4.0,
        l - 4.0,
        h - b
    );
    let mut n = 1.0;
    while n <= max_n {
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{n}</text>",
            px(n),
            h - b + 16.0
        );
        n += (max_n / 8.0).ceil();
    }
    // Labels stacked at the top right, in ISA order, so close lines stay readable.
    for (k, (isa, colour)) in [
        (Isa::Scalar, "#2a6"),
        (Isa::Avx2, "#26a"),
        (Isa::Avx512, "#a62"),
    ]
    .into_iter()
    .enumerate()
    {
        let pts: Vec<String> = f
            .points
            .iter()
            .filter(|p| p.isa == isa)
            .map(|p| format!("{:.1},{:.1}", px(p.active_cpus as f64), py(p.ghz)))
            .collect();
        if let Some(last) = pts.last() {
            let x = last.split_once(',').map_or("0", |(x, _)| x);
            let y = 30.0 + 14.0 * k as f64;
            let _ = write!(
                s,
                "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>\
                 <text x=\"{}\" y=\"{y}\" font-size=\"11\" fill=\"{colour}\">{}</text>",
                pts.join(" "),
                x.parse::<f64>().unwrap_or(0.0) + 6.0,
                isa.name()
            );
        }
    }
    s.push_str("</svg>");
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
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

/// Latency by working-set size: log2 x axis, log y axis, cache sizes marked.
pub fn latency_svg(points: &[LatencyPoint], caches: &[(String, u64)]) -> String {
    let (w, h, l, b) = (720.0, 320.0, 60.0, 40.0);
    let valid: Vec<&LatencyPoint> = points.iter().filter(|p| p.ns > 0.0).collect();
    if valid.len() < 2 {
        return String::new();
    }
    let lx = |s: u64| (s as f64).log2();
    let (x0, x1) = (
        lx(valid[0].size_bytes),
        lx(valid[valid.len() - 1].size_bytes),
    );
    let ys: Vec<f64> = valid.iter().map(|p| p.ns.log10()).collect();
    let y0 = ys.iter().copied().fold(f64::INFINITY, f64::min).floor();
    let y1 = ys
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max)
        .ceil()
        .max(y0 + 1.0);
    let px = |x: f64| l + (x - x0) / (x1 - x0).max(1e-9) * (w - l - 20.0);
    let py = |y: f64| (h - b) - (y - y0) / (y1 - y0) * (h - b - 20.0);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"latency by working-set size\">"
    );
    let _ = write!(
        s,
        "<line x1=\"{l}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#333\"/>",
        h - b,
        w - 20.0,
        h - b
    );
    let _ = write!(
        s,
        "<line x1=\"{l}\" y1=\"20\" x2=\"{l}\" y2=\"{}\" stroke=\"#333\"/>",
        h - b
    );
    let mut d = y0 as i32;
    while d as f64 <= y1 {
        let y = py(d as f64);
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{} ns</text>",
            l - 4.0,
            y + 4.0,
            10f64.powi(d)
        );
        d += 1;
    }
    for (name, size) in caches {
        let x = lx(*size);
        if x >= x0 && x <= x1 {
            let _ = write!(
                s,
                "<line x1=\"{0}\" y1=\"20\" x2=\"{0}\" y2=\"{1}\" stroke=\"#c33\" stroke-dasharray=\"4 3\"/>\
                 <text x=\"{2}\" y=\"16\" font-size=\"11\" fill=\"#c33\">{3} {4}</text>",
                px(x),
                h - b,
                px(x) + 2.0,
                esc(name),
                human_bytes(*size)
            );
        }
    }
    let mut e = x0.ceil() as i32;
    while e as f64 <= x1 {
        if e % 2 == 0 {
            let _ = write!(
                s,
                "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
                px(e as f64),
                h - b + 16.0,
                human_bytes(1u64 << e)
            );
        }
        e += 1;
    }
    let path: Vec<String> = valid
        .iter()
        .map(|p| format!("{:.1},{:.1}", px(lx(p.size_bytes)), py(p.ns.log10())))
        .collect();
    let _ = write!(
        s,
        "<polyline fill=\"none\" stroke=\"#2a6\" stroke-width=\"2\" points=\"{}\"/>",
        path.join(" ")
    );
    s.push_str("</svg>");
    s
}

pub fn html(r: &Results) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_chart() {
        let pts: Vec<LatencyPoint> = [(16u64 << 10, 1.2), (1 << 20, 4.0), (64 << 20, 90.0)]
            .iter()
            .map(|&(size_bytes, ns)| LatencyPoint { size_bytes, ns })
            .collect();
        let svg = latency_svg(&pts, &[("L2".into(), 1 << 20)]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert!(
            svg.contains("L2 1.0 MiB") || svg.contains("L2 1 MiB"),
            "{svg}"
        );
        assert!(!svg.contains("NaN"));
        assert!(latency_svg(&pts[..1], &[]).is_empty());
    }
}
