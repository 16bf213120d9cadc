//! Renderings of a benchmark run, one file per format behind one trait:
//! text (txt.rs), HTML (html.rs, with the charts of svg.rs) and JSON (the
//! serde form of [`Results`]).

mod html;
mod svg;
mod txt;

use super::Format;
use super::Results;
use super::memory::{Kind, Step};
use super::power::Power;
use super::stats::Spread;
use crate::util::human_bytes;

pub trait Renderer {
    fn render(&self, r: &Results) -> anyhow::Result<String>;
}

struct Json;

impl Renderer for Json {
    fn render(&self, r: &Results) -> anyhow::Result<String> {
        Ok(serde_json::to_string_pretty(r)? + "\n")
    }
}

pub fn renderer(f: Format) -> Box<dyn Renderer> {
    match f {
        Format::Txt => Box::new(txt::Txt),
        Format::Json => Box::new(Json),
        Format::Html => Box::new(html::Html),
    }
}

pub fn spread(s: &Spread, decimals: usize) -> String {
    format!("{:.decimals$} ±{:.1}%", s.median, s.spread_pct)
}

pub fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Triad => "triad (a = b + s*c)",
        Kind::Read => "read (sum)",
    }
}

pub fn step_text(s: &Step) -> String {
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

/// A value with `decimals`, or `-`.
pub fn fmt_val(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.decimals$}"))
}

pub fn power_rows(p: &Power) -> Vec<Vec<String>> {
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
