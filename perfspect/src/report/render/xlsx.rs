//! xlsx: one sheet per group; in a sheet each section is a bold title, its
//! fields as label/value rows, then its tables with a header row. Numbers stay
//! numbers (bytes, MHz, counts) so a spreadsheet can sort and sum them.

use crate::report::model::{GROUPS, Report, Val};
use anyhow::{Context, Result};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

pub fn to_xlsx(r: &Report) -> Result<Vec<u8>> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let title = Format::new().set_bold().set_font_size(13);
    for g in GROUPS {
        let mut sections = r.group(g).peekable();
        if sections.peek().is_none() {
            continue;
        }
        let ws = wb.add_worksheet();
        ws.set_name(*g).context("cannot name an xlsx sheet")?;
        let mut row: u32 = 0;
        let mut widest = [10usize; 64];
        for s in sections {
            ws.write_with_format(row, 0, s.title, &title)?;
            row += 1;
            for f in &s.fields {
                ws.write_with_format(row, 0, f.label, &bold)?;
                cell(ws, row, 1, &f.val, &mut widest)?;
                widest[0] = widest[0].max(f.label.len());
                row += 1;
            }
            for t in &s.tables {
                row += 1;
                ws.write_with_format(row, 0, t.title, &bold)?;
                row += 1;
                if t.rows.is_empty() {
                    ws.write(row, 0, t.why_empty.as_deref().unwrap_or("none found"))?;
                    row += 2;
                    continue;
                }
                for (c, (_, label)) in t.columns.iter().enumerate() {
                    ws.write_with_format(row, c as u16, *label, &bold)?;
                }
                row += 1;
                for r in &t.rows {
                    for (c, v) in r.iter().enumerate() {
                        cell(ws, row, c as u16, v, &mut widest)?;
                    }
                    row += 1;
                }
            }
            for n in &s.notes {
                ws.write(row, 0, format!("note: {n}"))?;
                row += 1;
            }
            row += 1;
        }
        for (c, w) in widest.iter().enumerate() {
            ws.set_column_width(c as u16, (*w).min(60) as f64 + 2.0)?;
        }
    }
    wb.save_to_buffer()
        .context("cannot build the xlsx workbook")
}

fn cell(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    v: &Val,
    widest: &mut [usize; 64],
) -> Result<(), XlsxError> {
    let text = v.display();
    if let Some(w) = widest.get_mut(col as usize) {
        *w = (*w).max(text.chars().count());
    }
    match v {
        Val::Int(i) => ws.write_number(row, col, *i as f64)?,
        Val::Bytes(b) => ws.write_number(row, col, *b as f64)?,
        Val::Mhz(m) => ws.write_number(row, col, (m * 10.0).round() / 10.0)?,
        Val::Secs(s) => ws.write_number(row, col, *s as f64)?,
        _ => ws.write_string(row, col, text)?,
    };
    Ok(())
}
