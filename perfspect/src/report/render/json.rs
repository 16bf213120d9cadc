//! JSON: `{ "perfspect": {...}, "<section key>": { "<field key>": value, ...,
//! "<table key>": [ { "<column key>": value, ... } ] } }`. A value that could
//! not be read is `null`, and the section's `why_null` object says why, by key
//! (`<table key>.<row>.<column key>` for a table cell).

use crate::report::model::Report;
use serde_json::{Map, Value, json};

pub fn to_json(r: &Report) -> Value {
    let mut root = Map::new();
    root.insert(
        "perfspect".into(),
        json!({ "version": r.version, "generated_utc": r.generated, "report_format": 1 }),
    );
    for s in &r.sections {
        let mut obj = Map::new();
        let mut why = Map::new();
        obj.insert("group".into(), json!(s.group));
        for f in &s.fields {
            obj.insert(f.key.into(), f.val.to_json());
            if let Some(w) = f.val.why() {
                why.insert(f.key.into(), json!(w));
            }
        }
        for t in &s.tables {
            let rows: Vec<Value> = t
                .rows
                .iter()
                .enumerate()
                .map(|(i, row)| {
                    let mut o = Map::new();
                    for ((k, _), v) in t.columns.iter().zip(row) {
                        o.insert((*k).into(), v.to_json());
                        if let Some(w) = v.why() {
                            why.insert(format!("{}.{i}.{k}", t.key), json!(w));
                        }
                    }
                    Value::Object(o)
                })
                .collect();
            obj.insert(t.key.into(), Value::Array(rows));
            if let Some(w) = &t.why_empty {
                why.insert(t.key.into(), json!(w));
            }
        }
        if !why.is_empty() {
            obj.insert("why_null".into(), Value::Object(why));
        }
        if !s.notes.is_empty() {
            obj.insert("notes".into(), json!(s.notes));
        }
        root.insert(s.key.into(), Value::Object(obj));
    }
    Value::Object(root)
}
