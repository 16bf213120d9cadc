//! Writing a recording: txt (summary tables), csv (one column per series),
//! json (the [`Recording`] struct) and self-contained html (inline SVG
//! charts drawn here, no script, no request leaving the page).

use super::Recording;
use super::series::{GROUPS, Series};
use crate::util::{fmt_opt, text_table};
use std::fmt::Write as _;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Txt,
    Json,
    Csv,
    Html,
}

impl Format {
    pub fn ext(self) -> &'static str {
        match self {
            Format::Txt => "txt",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Html => "html",
        }
    }
}

pub fn render(f: Format, r: &Recording) -> String {
    match f {
        Format::Txt => txt(r),
        Format::Json => serde_json::to_string_pretty(r).expect("plain data") + "\n",
        Format::Csv => csv(r),
        Format::Html => html(r),
    }
}

/// Number formatting that keeps small and large values readable.
fn num(v: f64) -> String {
    let a = v.abs();
    let d = if a >= 100.0 {
        0
    } else if a >= 1.0 {
        1
    } else {
        2
    };
    fmt_opt(Some(v), d)
}

fn groups(r: &Recording) -> Vec<(&'static str, Vec<&Series>, Vec<&str>)> {
    GROUPS
        .iter()
        .map(|g| {
            let series = r.series.iter().filter(|s| s.group == *g).collect();
            let notes = r
                .unavailable
                .iter()
                .filter(|u| u.group == *g)
                .map(|u| u.reason.as_str())
                .collect();
            (*g, series, notes)
        })
        .filter(|(_, s, n): &(_, Vec<&Series>, Vec<&str>)| !s.is_empty() || !n.is_empty())
        .collect()
}

fn header_lines(r: &Recording) -> String {
    format!(
        "perfspect {} telemetry of {}: {} interval(s) of {} s from {}{}\n",
        r.perfspect_version,
        r.host,
        r.times.len(),
        r.interval_secs,
        r.started,
        if r.interrupted {
            " (ended by a signal)"
        } else {
            ""
        }
    )
}

fn txt(r: &Recording) -> String {
    let mut out = header_lines(r);
    for (g, series, notes) in groups(r) {
        let _ = writeln!(out, "\n{g}");
        for n in notes {
            let _ = writeln!(out, "  unavailable: {n}");
        }
        if series.is_empty() {
            continue;
        }
        let rows: Vec<Vec<String>> = series
            .iter()
            .map(|s| {
                let sm = s.summary;
                vec![
                    s.name.clone(),
                    s.unit.clone(),
                    sm.map(|x| num(x.min)).unwrap_or("-".into()),
                    sm.map(|x| num(x.mean)).unwrap_or("-".into()),
                    sm.map(|x| num(x.max)).unwrap_or("-".into()),
                    sm.map(|x| num(x.p95)).unwrap_or("-".into()),
                ]
            })
            .collect();
        let table = text_table(
            &["series", "unit", "min", "mean", "max", "p95"],
            &rows,
            &[false, false, true, true, true, true],
        );
        for l in table.lines() {
            let _ = writeln!(out, "  {l}");
        }
    }
    out
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv(r: &Recording) -> String {
    let mut out = String::from("time_s");
    for s in &r.series {
        out.push(',');
        out.push_str(&csv_cell(&format!("{}: {} ({})", s.group, s.name, s.unit)));
    }
    out.push('\n');
    for (i, t) in r.times.iter().enumerate() {
        out.push_str(&format!("{t:.3}"));
        for s in &r.series {
            out.push(',');
            if let Some(Some(v)) = s.values.get(i) {
                let _ = write!(out, "{}", crate::util::round(*v, 4));
            }
        }
        out.push('\n');
    }
    out
}

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const W: f64 = 340.0;
const H: f64 = 120.0;
const PAD_L: f64 = 48.0;
const PAD_B: f64 = 18.0;

/// One series as an inline SVG line chart.
fn chart(s: &Series, times: &[f64]) -> String {
    let pts: Vec<(f64, f64)> = s
        .values
        .iter()
        .zip(times)
        .filter_map(|(v, t)| v.map(|v| (*t, v)))
        .collect();
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" \
         viewBox=\"0 0 {W} {H}\" role=\"img\"><title>{}</title>",
        esc(&format!("{} ({})", s.name, s.unit))
    );
    let t_max = times.last().copied().unwrap_or(1.0).max(1e-9);
    let v_max = pts.iter().map(|p| p.1).fold(0.0f64, f64::max);
    let v_min = pts.iter().map(|p| p.1).fold(0.0f64, f64::min);
    let span = if v_max - v_min > 0.0 {
        v_max - v_min
    } else {
        1.0
    };
    let x = |t: f64| PAD_L + (W - PAD_L - 6.0) * t / t_max;
    let y = |v: f64| 6.0 + (H - PAD_B - 6.0) * (1.0 - (v - v_min) / span);
    let _ = write!(
        svg,
        "<line x1=\"{PAD_L}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" class=\"ax\"/>\
         <line x1=\"{PAD_L}\" y1=\"6\" x2=\"{PAD_L}\" y2=\"{b}\" class=\"ax\"/>\
         <text x=\"{lx}\" y=\"12\" class=\"lb\" text-anchor=\"end\">{}</text>\
         <text x=\"{lx}\" y=\"{b}\" class=\"lb\" text-anchor=\"end\">{}</text>\
         <text x=\"{r}\" y=\"{tb}\" class=\"lb\" text-anchor=\"end\">{} s</text>",
        esc(&num(v_min + span)),
        esc(&num(v_min)),
        num(t_max),
        b = H - PAD_B,
        r = W - 6.0,
        lx = PAD_L - 4.0,
        tb = H - 4.0,
    );
    if pts.len() == 1 {
        let _ = write!(
            svg,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" class=\"pt\"/>",
            x(pts[0].0),
            y(pts[0].1)
        );
    } else if !pts.is_empty() {
        let path: Vec<String> = pts
            .iter()
            .map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v)))
            .collect();
        let _ = write!(
            svg,
            "<polyline points=\"{}\" class=\"ln\"/>",
            path.join(" ")
        );
    }
    svg.push_str("</svg>");
    svg
}

const CSS: &str = "body{font-family:sans-serif;margin:1.5em;color:#222}\
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:.5em 0}td,th{padding:2px 10px;border-bottom:1px solid #eee}\
td.n{text-align:right;font-variant-numeric:tabular-nums}\
.charts{display:flex;flex-wrap:wrap;gap:8px}figure{margin:0;border:1px solid #ddd;padding:4px}\
figcaption{font-size:.85em}.ax{stroke:#888;stroke-width:1}.lb{font-size:10px;fill:#555}\
.ln{fill:none;stroke:#1f6fb2;stroke-width:1.5}.pt{fill:#1f6fb2}.na{color:#a33}";

fn html(r: &Recording) -> String {
    let mut out = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>perfspect telemetry: {}</title><style>{CSS}</style></head><body>\
         <h1>perfspect telemetry</h1><p>{}</p>",
        esc(&r.host),
        esc(header_lines(r).trim())
    );
    for (g, series, notes) in groups(r) {
        let _ = write!(out, "<section><h2>{}</h2>", esc(g));
        for n in notes {
            let _ = write!(out, "<p class=\"na\">Unavailable: {}</p>", esc(n));
        }
        if !series.is_empty() {
            out.push_str(
                "<table><tr><th>series</th><th>unit</th><th>min</th><th>mean</th>\
                 <th>max</th><th>p95</th></tr>",
            );
            for s in &series {
                let c = |f: fn(&super::series::Summary) -> f64| {
                    s.summary.as_ref().map(|x| num(f(x))).unwrap_or("-".into())
                };
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                     <td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                    esc(&s.name),
                    esc(&s.unit),
                    c(|x| x.min),
                    c(|x| x.mean),
                    c(|x| x.max),
                    c(|x| x.p95)
                );
            }
            out.push_str("</table><div class=\"charts\">");
            for s in &series {
                let _ = write!(
                    out,
                    "<figure><figcaption>{} ({})</figcaption>{}</figure>",
                    esc(&s.name),
                    esc(&s.unit),
                    chart(s, &r.times)
                );
            }
            out.push_str("</div>");
        }
        out.push_str("</section>");
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::super::series::{Summary, Unavailable};
    use super::*;

    fn rec() -> Recording {
        let values = vec![Some(10.0), None, Some(30.0)];
        Recording {
            perfspect_version: "3.0.0".into(),
            host: "h<1>".into(),
            started: "2026-11-26T00:00:00Z".into(),
            interval_secs: 2.0,
            interrupted: true,
            times: vec![2.0, 4.0, 6.0],
            series: vec![Series {
                group: GROUPS[1].into(),
                name: "cpu0 busy".into(),
                unit: "%".into(),
                summary: Summary::of(&values),
                values,
            }],
            unavailable: vec![Unavailable {
                group: GROUPS[8].into(),
                reason: "turbostat is not bundled".into(),
            }],
        }
    }

    #[test]
    fn every_format_holds_the_series_and_the_reasons() {
        let r = rec();
        let t = render(Format::Txt, &r);
        assert!(t.contains("cpu0 busy") && t.contains("20.0"), "{t}");
        assert!(t.contains("unavailable: turbostat is not bundled"), "{t}");
        assert!(t.contains("ended by a signal"));
        let c = render(Format::Csv, &r);
        assert_eq!(
            c,
            "time_s,CPU utilisation per CPU: cpu0 busy (%)\n2.000,10\n4.000,\n6.000,30\n"
        );
        let j: serde_json::Value = serde_json::from_str(&render(Format::Json, &r)).unwrap();
        assert_eq!(
            j["series"][0]["values"],
            serde_json::json!([10.0, null, 30.0])
        );
        assert_eq!(j["series"][0]["summary"]["p95"], 30.0);
        assert_eq!(j["unavailable"][0]["group"], "turbostat");
        let h = render(Format::Html, &r);
        assert!(h.contains("<polyline points=") && h.contains("h&lt;1&gt;"));
        assert!(h.contains("Unavailable: turbostat is not bundled"));
        assert!(!h.contains("<script") && !h.contains("src=") && !h.contains("href="));
    }
}
