//! x86 frequency, C-state residency, power, temperature and IPC from
//! turbostat, run once for the whole duration (`--Summary`: one row of
//! system-wide values per interval).

use super::series::{GROUPS, Point};
use std::path::PathBuf;
use std::process::Command;

/// Where turbostat is: the override directory next to the binary, the
/// embedded copy (x86_64 releases), then PATH.
pub fn locate() -> Option<PathBuf> {
    if let Some(p) = crate::tools::bundled("turbostat") {
        return Some(p);
    }
    let path = std::env::var_os("PATH").filter(|p| !p.is_empty())?;
    std::env::split_paths(&path)
        .map(|d| d.join("turbostat"))
        .find(|p| p.is_file())
}

pub fn command(path: PathBuf, interval: f64) -> Command {
    let mut cmd = Command::new(path);
    cmd.args(["--quiet", "--Summary", "--interval", &format!("{interval}")])
        .env("LC_ALL", "C");
    cmd
}

/// Unit of a turbostat column worth charting, or `None` to leave it out.
fn unit(col: &str) -> Option<&'static str> {
    if col.ends_with("MHz") {
        Some("MHz")
    } else if col.contains('%') {
        Some("%")
    } else if col.ends_with("Watt") {
        Some("W")
    } else if col.ends_with("Tmp") {
        Some("°C")
    } else if col == "IPC" {
        Some("instructions/cycle")
    } else {
        None
    }
}

fn is_data(tokens: &[&str]) -> bool {
    tokens.iter().all(|t| *t == "-" || t.parse::<f64>().is_ok())
}

/// Parses turbostat's output: header lines name the columns, each data line
/// that follows is one interval. Returns the rows and the lines that were
/// neither (messages, errors).
pub fn parse(lines: &[String]) -> (Vec<Vec<Point>>, Vec<String>) {
    let mut header: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    let mut other = Vec::new();
    for line in lines {
        let toks: Vec<&str> = line.split_whitespace().collect();
        if toks.is_empty() {
            continue;
        }
        if is_data(&toks) && !header.is_empty() && toks.len() == header.len() {
            let mut row = Vec::new();
            for (col, tok) in header.iter().zip(&toks) {
                if let (Some(unit), Ok(v)) = (unit(col), tok.parse::<f64>()) {
                    row.push(Point {
                        group: GROUPS[8],
                        name: col.clone(),
                        unit,
                        value: v,
                    });
                }
            }
            rows.push(row);
        } else if toks.iter().any(|t| unit(t).is_some()) && !is_data(&toks) {
            header = toks.iter().map(|t| t.to_string()).collect();
        } else {
            other.push(line.trim().to_string());
        }
    }
    (rows, other)
}

/// Why turbostat gave nothing, from what it printed.
pub fn failure_reason(other: &[String], exited: bool) -> String {
    let msg = other
        .iter()
        .find(|l| !l.is_empty() && !l.starts_with("turbostat version"))
        .cloned()
        .unwrap_or_else(|| "no output".to_string());
    if exited {
        format!(
            "turbostat failed: {msg} (it needs root and MSR access: modprobe msr; not available in most VMs)"
        )
    } else {
        format!("turbostat printed no interval: {msg}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn summary_rows() {
        let l = lines(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/turbostat-summary-sample.txt"
        )));
        let (rows, other) = parse(&l);
        assert!(other.is_empty(), "{other:?}");
        assert_eq!(rows.len(), 3);
        let get = |i: usize, n: &str| {
            rows[i]
                .iter()
                .find(|p| p.name == n)
                .map(|p| (p.value, p.unit))
                .unwrap_or_else(|| panic!("no {n}"))
        };
        assert_eq!(get(0, "Bzy_MHz"), (2735.0, "MHz"));
        assert_eq!(get(1, "Busy%"), (99.8, "%"));
        assert_eq!(get(2, "CPU%c6"), (81.99, "%"));
        assert_eq!(get(1, "PkgWatt"), (201.75, "W"));
        assert_eq!(get(0, "RAMWatt"), (12.45, "W"));
        assert_eq!(get(1, "PkgTmp"), (74.0, "°C"));
        assert_eq!(get(2, "IPC"), (0.85, "instructions/cycle"));
        assert!(rows[0].iter().all(|p| p.name != "IRQ" && p.name != "SMI"));
        assert!(rows[0].iter().all(|p| p.group == GROUPS[8]));
    }

    #[test]
    fn failure_says_why() {
        let l = lines(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/turbostat-failure-vm.txt"
        )));
        let (rows, other) = parse(&l);
        assert!(rows.is_empty());
        let r = failure_reason(&other, true);
        assert!(r.contains("Failed to set rlimit"), "{r}");
        assert!(r.contains("MSR"), "{r}");
    }
}
