//! The HTML page's charts as inline SVG: latency by working-set size and
//! frequency by active CPUs.

use crate::benchmark::frequency::{Frequency, Isa};
use crate::benchmark::memory::LatencyPoint;
use crate::util::human_bytes;
use std::fmt::Write as _;

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
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
