//! The report's data model, rendered by `render/`.
//!
//! A report is a list of sections, each in one of upstream's groups (Summary,
//! Software, CPU, ...); a section has key/value fields and tables. A value
//! that could not be read carries the reason ([`Val::Na`]); [`Val::Missing`]
//! is a file the kernel does not expose here. Quantities are plain numbers in
//! JSON (the key names the unit: `_bytes`, `_mhz`, ...) and human-readable in
//! text, HTML and xlsx.

use crate::util::human_bytes;
use serde_json::{Value, json};

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
    /// The kernel does not expose this file here.
    Missing,
    /// Not available, and why: "needs root", "no IPMI device", ...
    Na(String),
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

    pub fn na(why: impl Into<String>) -> Val {
        Val::Na(why.into())
    }
    /// `v`, or "not available" with `why` when `v` is None.
    pub fn or_na(v: Option<impl Into<String>>, why: &str) -> Val {
        v.map(|s| Val::Text(s.into()))
            .unwrap_or_else(|| Val::na(why))
    }

    /// This value, or `why` when it is [`Val::Missing`].
    pub fn or_why(self, why: impl Into<String>) -> Val {
        match self {
            Val::Missing => Val::Na(why.into()),
            v => v,
        }
    }

    pub fn is_missing(&self) -> bool {
        matches!(self, Val::Missing | Val::Na(_))
    }

    /// Why a value is absent, for the JSON `why_null` entries.
    pub fn why(&self) -> Option<&str> {
        match self {
            Val::Missing => Some(MISSING),
            Val::Na(w) => Some(w),
            _ => None,
        }
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
            Val::Missing | Val::Na(_) => Value::Null,
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
            Val::Missing => MISSING.into(),
            Val::Na(w) => format!("n/a: {w}"),
        }
    }
}

/// What a [`Val::Missing`] says: the file was not there.
pub const MISSING: &str = "not exposed by this kernel or machine";

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
    /// Why the table has no rows, when that is known ("no IPMI device").
    pub why_empty: Option<String>,
}

impl Table {
    pub fn new(
        key: &'static str,
        title: &'static str,
        columns: &[(&'static str, &'static str)],
    ) -> Table {
        Table {
            key,
            title,
            columns: columns.to_vec(),
            rows: Vec::new(),
            why_empty: None,
        }
    }
    /// A table with no rows, and why.
    pub fn empty_because(mut self, why: impl Into<String>) -> Table {
        self.why_empty = Some(why.into());
        self
    }
}

pub struct Section {
    /// Upstream's group this section belongs to: one HTML menu entry, one xlsx sheet.
    pub group: &'static str,
    pub key: &'static str,
    pub title: &'static str,
    pub fields: Vec<Field>,
    pub tables: Vec<Table>,
    pub notes: Vec<String>,
}

impl Section {
    pub fn new(key: &'static str, title: &'static str) -> Section {
        Section {
            group: "",
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

/// Upstream's groups, in its order.
pub const GROUPS: &[&str] = &[
    "Summary", "Software", "CPU", "Power", "Memory", "Network", "Storage", "Devices", "Security",
    "Status", "Logs", "Insights",
];

pub struct Report {
    pub version: String,
    pub generated: String,
    pub hostname: String,
    pub sections: Vec<Section>,
}

impl Report {
    /// The sections of one group, in order.
    pub fn group(&self, g: &str) -> impl Iterator<Item = &Section> {
        self.sections.iter().filter(move |s| s.group == g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::render::{html::to_html, json::to_json, txt::to_text};

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
            why_empty: None,
        });
        s.group = "CPU";
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
        assert!(t.contains("L2            not exposed"));
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
