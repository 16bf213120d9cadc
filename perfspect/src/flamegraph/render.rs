//! Writing a profile: folded text, inferno's interactive SVG, a
//! self-contained HTML page holding that SVG inline, or JSON.

use super::Profile;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Html,
    Svg,
    Folded,
    Json,
}

impl Format {
    pub fn ext(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Svg => "svg",
            Format::Folded => "folded",
            Format::Json => "json",
        }
    }
}

fn title(p: &Profile) -> String {
    format!(
        "perfspect flame graph ({}): {} s, {} Hz {} ({} call graph)",
        p.target, p.duration_secs, p.frequency_hz, p.event, p.call_graph
    )
}

/// inferno's SVG (search with Ctrl-F or the Search button, click to zoom).
pub fn svg(p: &Profile) -> std::io::Result<String> {
    let mut opt = inferno::flamegraph::Options::default();
    opt.title = title(p);
    opt.subtitle = p.notes.first().cloned();
    opt.count_name = if p.event == "cpu-clock" {
        "ns"
    } else {
        "cycles"
    }
    .into();
    let mut out = Vec::new();
    if p.folded.trim().is_empty() {
        // inferno refuses empty input; draw an empty graph that says so.
        opt.subtitle = Some("no samples were recorded".into());
        inferno::flamegraph::from_lines(&mut opt, ["perfspect;no-samples 1"], &mut out)?;
    } else {
        inferno::flamegraph::from_lines(&mut opt, p.folded.lines(), &mut out)?;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// A page holding the SVG inline (its script and style included).
pub fn html(p: &Profile) -> std::io::Result<String> {
    let svg = svg(p)?;
    let start = svg.find("<svg").unwrap_or(0);
    let esc = crate::telemetry::render::esc;
    let notes: String = p
        .notes
        .iter()
        .map(|n| format!("<p>{}</p>", esc(n)))
        .collect();
    Ok(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>body{{font-family:sans-serif;margin:1em}}</style></head><body>{notes}{}</body></html>\n",
        esc(&title(p)),
        &svg[start..]
    ))
}

pub fn render(f: Format, p: &Profile) -> std::io::Result<String> {
    Ok(match f {
        Format::Html => html(p)?,
        Format::Svg => svg(p)?,
        Format::Folded => p.folded.clone(),
        Format::Json => serde_json::to_string_pretty(p).expect("plain data") + "\n",
    })
}
