//! The report's renderings, one file per format.

pub mod html;
pub mod json;
pub mod txt;
pub mod xlsx;

use super::model::Report;
use anyhow::Result;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Txt,
    Json,
    Html,
    Xlsx,
}

impl Format {
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Txt => "report.txt",
            Format::Json => "report.json",
            Format::Html => "report.html",
            Format::Xlsx => "report.xlsx",
        }
    }
}

/// The report in one format, as the bytes to write.
pub fn render(r: &Report, f: Format) -> Result<Vec<u8>> {
    Ok(match f {
        Format::Txt => txt::to_text(r).into_bytes(),
        Format::Json => (serde_json::to_string_pretty(&json::to_json(r))? + "\n").into_bytes(),
        Format::Html => html::to_html(r).into_bytes(),
        Format::Xlsx => xlsx::to_xlsx(r)?,
    })
}
