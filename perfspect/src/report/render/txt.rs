//! Plain text: one block per section, aligned tables.

use crate::report::model::{Report, Val};
use std::fmt::Write as _;

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
                let why = t.why_empty.as_deref().unwrap_or("none found");
                let _ = writeln!(out, "  ({why})");
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
