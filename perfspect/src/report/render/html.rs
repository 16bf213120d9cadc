//! Self-contained HTML: inline CSS, no script, no request leaves the page.

use crate::report::model::{GROUPS, Report, Val};
use std::fmt::Write as _;

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
nav .group b { color:var(--muted); font-weight:600; }
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
        Val::Missing | Val::Na(_) => (
            format!("<span class=\"unknown\">{}</span>", escape(&v.display())),
            "",
        ),
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
    for g in GROUPS {
        let mut sections = r.group(g).peekable();
        if sections.peek().is_none() {
            continue;
        }
        let _ = write!(h, "<span class=\"group\"><b>{}</b>", escape(g));
        for s in sections {
            let _ = write!(h, " <a href=\"#{}\">{}</a>", s.key, escape(s.title));
        }
        h.push_str("</span>");
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
    for s in GROUPS.iter().flat_map(|g| r.group(g)) {
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
                let why = t.why_empty.as_deref().unwrap_or("None found.");
                let _ = writeln!(h, "<p class=\"note\">{}</p>", escape(why));
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
         a value that could not be read says why.</footer>\n</body>\n</html>",
        escape(&r.version)
    );
    h
}
