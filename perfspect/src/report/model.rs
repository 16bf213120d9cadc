//! The report's data model and its three renderings (text, JSON, HTML).
//!
//! A report is a list of sections; a section has key/value fields and tables.
//! JSON: `{ "perfspect": {...}, "<section key>": { "<field key>": value, ...,
//! "<table key>": [ { "<column key>": value, ... } ] } }`. Unknown values are
//! `null` in JSON and "unknown" in text and HTML. Quantities are plain numbers
//! in JSON (the key names the unit: `_bytes`, `_mhz`, ...) and human-readable
//! in text and HTML.

use crate::util::human_bytes;
use serde_json::{Map, Value, json};
use std::fmt::Write as _;

#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Text(String),
    Int(i64),
    Bytes(u64),
    Mhz(f64),
    Bool(bool),
    List(Vec<String>),
    /// A duration in seconds: a number in JSON, "3d 4h 5m" in text.
    Secs(u64),
    Missing,
}

impl Val {
    pub fn text(s: impl Into<String>) -> Val {
        Val::Text(s.into())
    }
    pub fn opt_text(s: Option<impl Into<String>>) -> Val {
        s.map(|s| Val::Text(s.into())).unwrap_or(Val::Missing)
    }
    pub fn opt_int(v: Option<impl TryInto<i64>>) -> Val {
        v.and_then(|v| v.try_into().ok())
            .map(Val::Int)
            .unwrap_or(Val::Missing)
    }
    pub fn opt_bytes(v: Option<u64>) -> Val {
        v.map(Val::Bytes).unwrap_or(Val::Missing)
    }
    pub fn opt_mhz(v: Option<f64>) -> Val {
        v.map(Val::Mhz).unwrap_or(Val::Missing)
    }
    pub fn opt_bool(v: Option<bool>) -> Val {
        v.map(Val::Bool).unwrap_or(Val::Missing)
    }

    pub fn is_missing(&self) -> bool {
        matches!(self, Val::Missing)
    }

    pub fn to_json(&self) -> Value {
        match self {
            Val::Text(s) => json!(s),
            Val::Int(i) => json!(i),
            Val::Bytes(b) => json!(b),
            Val::Mhz(m) => json!((m * 10.0).round() / 10.0),
            Val::Bool(b) => json!(b),
            Val::List(l) => json!(l),
            Val::Secs(s) => json!(s),
            Val::Missing => Value::Null,
        }
    }

    pub fn display(&self) -> String {
        match self {
            Val::Text(s) => s.clone(),
            Val::Int(i) => i.to_string(),
            Val::Bytes(b) => human_bytes(*b),
            Val::Mhz(m) if *m >= 1000.0 => format!("{:.2} GHz", m / 1000.0),
            Val::Mhz(m) => format!("{m:.0} MHz"),
            Val::Bool(true) => "yes".into(),
            Val::Bool(false) => "no".into(),
            Val::List(l) if l.is_empty() => "none".into(),
            Val::List(l) => l.join(" "),
            Val::Secs(s) => {
                let (d, h, m) = (s / 86_400, (s / 3600) % 24, (s / 60) % 60);
                match (d, h) {
                    (0, 0) => format!("{m}m {}s", s % 60),
                    (0, _) => format!("{h}h {m}m"),
                    _ => format!("{d}d {h}h {m}m"),
                }
            }
            Val::Missing => "unknown".into(),
        }
    }
}

pub struct Field {
    pub key: &'static str,
    pub label: &'static str,
    pub val: Val,
}

pub struct Table {
    pub key: &'static str,
    pub title: &'static str,
    pub columns: Vec<(&'static str, &'static str)>,
    pub rows: Vec<Vec<Val>>,
}

pub struct Section {
    pub key: &'static str,
    pub title: &'static str,
    pub fields: Vec<Field>,
    pub tables: Vec<Table>,
    pub notes: Vec<String>,
}

impl Section {
    pub fn new(key: &'static str, title: &'static str) -> Section {
        Section {
            key,
            title,
            fields: Vec::new(),
            tables: Vec::new(),
            notes: Vec::new(),
        }
    }
    pub fn field(&mut self, key: &'static str, label: &'static str, val: Val) -> &mut Self {
        self.fields.push(Field { key, label, val });
        self
    }
}

pub struct Report {
    pub version: String,
    pub generated: String,
    pub hostname: String,
    pub sections: Vec<Section>,
}

// ---------------------------------------------------------------- JSON

pub fn to_json(r: &Report) -> Value {
    let mut root = Map::new();
    root.insert(
        "perfspect".into(),
        json!({ "version": r.version, "generated_utc": r.generated, "report_format": 1 }),
    );
    for s in &r.sections {
        let mut obj = Map::new();
        for f in &s.fields {
            obj.insert(f.key.into(), f.val.to_json());
        }
        for t in &s.tables {
            let rows: Vec<Value> = t
                .rows
                .iter()
                .map(|row| {
                    let mut o = Map::new();
                    for ((k, _), v) in t.columns.iter().zip(row) {
                        o.insert((*k).into(), v.to_json());
                    }
                    Value::Object(o)
                })
                .collect();
            obj.insert(t.key.into(), Value::Array(rows));
        }
        if !s.notes.is_empty() {
            obj.insert("notes".into(), json!(s.notes));
        }
        root.insert(s.key.into(), Value::Object(obj));
    }
    Value::Object(root)
}

// ---------------------------------------------------------------- text

pub fn to_text(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "perfspect {} host report: {} ({})",
        r.version, r.hostname, r.generated
    );
    for s in &r.sections {
        let _ = writeln!(out, "\n== {} ==", s.title);
        let width = s
            .fields
            .iter()
            .map(|f| f.label.chars().count())
            .max()
            .unwrap_or(0);
        for f in &s.fields {
            let _ = writeln!(out, "{:<width$}  {}", f.label, f.val.display());
        }
        for t in &s.tables {
            if !s.fields.is_empty() || s.tables.len() > 1 {
                let _ = writeln!(out, "\n{}:", t.title);
            }
            if t.rows.is_empty() {
                out.push_str("  (none found)\n");
                continue;
            }
            let header: Vec<String> = t.columns.iter().map(|(_, l)| l.to_string()).collect();
            let header: Vec<&str> = header.iter().map(String::as_str).collect();
            let rows: Vec<Vec<String>> = t
                .rows
                .iter()
                .map(|r| r.iter().map(|v| v.display()).collect())
                .collect();
            let right: Vec<bool> = t.rows[0]
                .iter()
                .map(|v| matches!(v, Val::Int(_) | Val::Bytes(_) | Val::Mhz(_)))
                .collect();
            for line in crate::util::text_table(&header, &rows, &right).lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
        for n in &s.notes {
            let _ = writeln!(out, "note: {n}");
        }
    }
    out
}

// ---------------------------------------------------------------- HTML

pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

const CSS: &str = r#"
:root { --fg:#1d2330; --muted:#5b6475; --line:#dde2ea; --head:#f3f5f9; --accent:#0b5cad;
        --ok:#1a7f37; --warn:#9a6700; --bad:#cf222e; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
       color:var(--fg); background:#fafbfc; }
header { background:#14233c; color:#fff; padding:18px 28px; }
header h1 { margin:0; font-size:22px; font-weight:600; }
header p { margin:4px 0 0; color:#c5d1e6; }
nav { position:sticky; top:0; background:#fff; border-bottom:1px solid var(--line); padding:8px 28px;
      display:flex; flex-wrap:wrap; gap:6px 16px; z-index:1; }
nav a { color:var(--accent); text-decoration:none; }
nav a:hover { text-decoration:underline; }
main { padding:8px 28px 40px; max-width:1200px; }
.summary { display:grid; grid-template-columns:repeat(auto-fill,minmax(220px,1fr)); gap:12px; margin:18px 0 8px; }
.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:10px 14px; }
.card .k { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.card .v { font-size:15px; font-weight:600; margin-top:2px; overflow-wrap:anywhere; }
section { background:#fff; border:1px solid var(--line); border-radius:8px; padding:6px 18px 14px; margin:18px 0; }
h2 { font-size:18px; margin:10px 0 8px; }
h3 { font-size:14px; margin:16px 0 6px; color:var(--muted); }
table { border-collapse:collapse; width:100%; margin:4px 0; }
th, td { text-align:left; padding:5px 10px; border-bottom:1px solid var(--line); vertical-align:top; }
table.kv th { width:230px; color:var(--muted); font-weight:500; }
table.grid thead th { background:var(--head); font-weight:600; white-space:nowrap; }
table.grid tbody tr:nth-child(even) { background:#fbfcfe; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
.unknown { color:#9aa3b2; font-style:italic; }
.chip { display:inline-block; background:#eef3fb; border:1px solid #d5e1f3; border-radius:10px;
        padding:0 8px; margin:1px 2px; font-size:12px; font-family:ui-monospace,SFMono-Regular,Menlo,monospace; }
.ok { color:var(--ok); } .warn { color:var(--warn); } .bad { color:var(--bad); font-weight:600; }
code, .mono { font-family:ui-monospace,SFMono-Regular,Menlo,monospace; font-size:12.5px; overflow-wrap:anywhere; }
p.note { color:var(--muted); margin:8px 0 0; }
footer { color:var(--muted); padding:0 28px 30px; font-size:12px; }
"#;

fn html_val(v: &Val, key: &str) -> (String, &'static str) {
    match v {
        Val::Missing => ("<span class=\"unknown\">unknown</span>".into(), ""),
        Val::List(l) if l.is_empty() => ("none".into(), ""),
        Val::List(l) => (
            l.iter()
                .map(|x| format!("<span class=\"chip\">{}</span>", escape(x)))
                .collect::<Vec<_>>()
                .join(" "),
            "",
        ),
        Val::Int(_) | Val::Bytes(_) | Val::Mhz(_) => (escape(&v.display()), "num"),
        Val::Text(s) if key == "status" => {
            let class = if s.starts_with("Vulnerable") {
                "bad"
            } else if s.starts_with("Not affected") {
                "ok"
            } else {
                "warn"
            };
            (format!("<span class=\"{class}\">{}</span>", escape(s)), "")
        }
        Val::Text(s) if key == "cmdline" || key == "sha256" || key == "mac" => {
            (format!("<span class=\"mono\">{}</span>", escape(s)), "")
        }
        _ => (escape(&v.display()), ""),
    }
}

/// Picks a few headline values for the summary cards.
fn summary_cards(r: &Report) -> Vec<(String, String)> {
    let find = |sec: &str, key: &str| -> Option<String> {
        let s = r.sections.iter().find(|s| s.key == sec)?;
        let f = s.fields.iter().find(|f| f.key == key)?;
        if f.val.is_missing() {
            None
        } else {
            Some(f.val.display())
        }
    };
    let mut cards = Vec::new();
    let mut add = |label: &str, v: Option<String>| {
        if let Some(v) = v {
            cards.push((label.to_string(), v));
        }
    };
    add("Operating system", find("host", "os"));
    add("Kernel", find("host", "kernel"));
    add("CPU", find("cpu", "model"));
    add("Microarchitecture", find("cpu", "microarchitecture"));
    let topo = match (
        find("cpu", "sockets"),
        find("cpu", "cores"),
        find("cpu", "threads"),
    ) {
        (Some(s), Some(c), Some(t)) => Some(format!(
            "{s} socket{}, {c} cores, {t} threads",
            if s == "1" { "" } else { "s" }
        )),
        (_, _, Some(t)) => Some(format!("{t} logical CPUs")),
        _ => None,
    };
    add("Topology", topo);
    add("Memory", find("memory", "total_bytes"));
    add("Virtualization", find("host", "virtualization"));
    add("Governor", find("power", "governor"));
    cards
}

pub fn to_html(r: &Report) -> String {
    let mut h = String::new();
    let title = format!("perfspect report: {}", r.hostname);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"perfspect {}\">\n<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n",
        escape(&r.version),
        escape(&title),
        CSS
    );
    let _ = writeln!(
        h,
        "<header><h1>{}</h1><p>Generated {} by perfspect {}</p></header>",
        escape(&r.hostname),
        escape(&r.generated),
        escape(&r.version)
    );
    h.push_str("<nav>");
    for s in &r.sections {
        let _ = write!(h, "<a href=\"#{}\">{}</a>", s.key, escape(s.title));
    }
    h.push_str("</nav>\n<main>\n<div class=\"summary\">\n");
    for (k, v) in summary_cards(r) {
        let _ = writeln!(
            h,
            "<div class=\"card\"><div class=\"k\">{}</div><div class=\"v\">{}</div></div>",
            escape(&k),
            escape(&v)
        );
    }
    h.push_str("</div>\n");
    for s in &r.sections {
        let _ = writeln!(
            h,
            "<section id=\"{}\">\n<h2>{}</h2>",
            s.key,
            escape(s.title)
        );
        if !s.fields.is_empty() {
            h.push_str("<table class=\"kv\">\n<tbody>\n");
            for f in &s.fields {
                let (v, _) = html_val(&f.val, f.key);
                let _ = writeln!(h, "<tr><th>{}</th><td>{v}</td></tr>", escape(f.label));
            }
            h.push_str("</tbody>\n</table>\n");
        }
        for t in &s.tables {
            if !s.fields.is_empty() || s.tables.len() > 1 {
                let _ = writeln!(h, "<h3>{}</h3>", escape(t.title));
            }
            if t.rows.is_empty() {
                h.push_str("<p class=\"note\">None found.</p>\n");
                continue;
            }
            h.push_str("<table class=\"grid\">\n<thead><tr>");
            for (i, (_, label)) in t.columns.iter().enumerate() {
                let numeric = t
                    .rows
                    .iter()
                    .any(|r| matches!(r.get(i), Some(Val::Int(_) | Val::Bytes(_) | Val::Mhz(_))));
                let class = if numeric { " class=\"num\"" } else { "" };
                let _ = write!(h, "<th{class}>{}</th>", escape(label));
            }
            h.push_str("</tr></thead>\n<tbody>\n");
            for row in &t.rows {
                h.push_str("<tr>");
                for ((key, _), v) in t.columns.iter().zip(row) {
                    let (cell, class) = html_val(v, key);
                    if class.is_empty() {
                        let _ = write!(h, "<td>{cell}</td>");
                    } else {
                        let _ = write!(h, "<td class=\"{class}\">{cell}</td>");
                    }
                }
                h.push_str("</tr>\n");
            }
            h.push_str("</tbody>\n</table>\n");
        }
        for n in &s.notes {
            let _ = writeln!(h, "<p class=\"note\">{}</p>", escape(n));
        }
        h.push_str("</section>\n");
    }
    let _ = writeln!(
        h,
        "</main>\n<footer>perfspect {} &middot; values read from /proc, /sys and /etc/os-release; \
         &ldquo;unknown&rdquo; means the system does not expose it (common in containers and virtual machines).</footer>\n</body>\n</html>",
        escape(&r.version)
    );
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let mut s = Section::new("cpu", "CPU");
        s.field("model", "Model", Val::text("Test <CPU> & co"))
            .field("threads", "Logical CPUs", Val::Int(8))
            .field("l2", "L2", Val::Missing);
        s.tables.push(Table {
            key: "caches",
            title: "Caches",
            columns: vec![("level", "Level"), ("size_bytes", "Size")],
            rows: vec![vec![Val::Int(1), Val::Bytes(48 << 10)]],
        });
        Report {
            version: "1.0_dev".into(),
            generated: "2026-01-01T00:00:00Z".into(),
            hostname: "h".into(),
            sections: vec![s],
        }
    }

    #[test]
    fn json_shape() {
        let j = to_json(&sample());
        assert_eq!(j["cpu"]["model"], "Test <CPU> & co");
        assert_eq!(j["cpu"]["threads"], 8);
        assert!(j["cpu"]["l2"].is_null());
        assert_eq!(j["cpu"]["caches"][0]["size_bytes"], 49152);
        assert_eq!(j["perfspect"]["version"], "1.0_dev");
    }

    #[test]
    fn text_and_html() {
        let t = to_text(&sample());
        assert!(t.contains("== CPU =="));
        assert!(t.contains("L2            unknown"));
        assert!(t.contains("48 KiB"));
        let h = to_html(&sample());
        assert!(h.contains("Test &lt;CPU&gt; &amp; co"));
        assert!(h.starts_with("<!DOCTYPE html>"));
        assert!(h.trim_end().ends_with("</html>"));
    }

    #[test]
    fn values() {
        assert_eq!(Val::Mhz(2600.0).display(), "2.60 GHz");
        assert_eq!(Val::Mhz(800.0).display(), "800 MHz");
        assert_eq!(Val::List(vec![]).display(), "none");
        assert_eq!(Val::Secs(59).display(), "0m 59s");
        assert_eq!(Val::Secs(5836).display(), "1h 37m");
        assert_eq!(Val::Secs(90_061).display(), "1d 1h 1m");
        assert_eq!(Val::opt_int(Some(3u32)), Val::Int(3));
        assert_eq!(Val::opt_int(None::<u32>), Val::Missing);
    }
}
