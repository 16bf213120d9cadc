//! The power part (`--power`, x86_64): package and DRAM power and the
//! package temperature, idle and under the CPU part's kernels on every CPU,
//! from turbostat: the override (`tools/<arch>/turbostat` next to the
//! binary), else the embedded copy (x86_64 releases), else PATH; when it is
//! absent or fails, every value is null and says why.

use super::cpu;
use crate::tools;
use serde::Serialize;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The columns asked of turbostat.
const COLUMNS: [&str; 3] = ["PkgWatt", "RAMWatt", "PkgTmp"];

/// One phase's readings (turbostat's summary row).
#[derive(Debug, Default, PartialEq, Serialize)]
pub struct Reading {
    /// Package power, watts (all packages).
    pub package_watts: Option<f64>,
    /// DRAM power, watts (all packages), where the CPU reports it.
    pub dram_watts: Option<f64>,
    /// Package temperature, °C (the hottest package).
    pub package_celsius: Option<f64>,
}

/// The power part's result.
#[derive(Debug, Serialize)]
pub struct Power {
    /// Where turbostat came from, if found.
    pub turbostat: Option<String>,
    pub idle: Reading,
    /// While the CPU kernels ran on every allowed CPU.
    pub load: Reading,
    /// Why values are missing: turbostat absent, failing, or a column unsupported.
    pub unavailable: Vec<String>,
    /// Seconds per phase.
    pub seconds_per_phase: f64,
    /// Seconds the part took.
    pub duration_s: f64,
}

/// turbostat in the override directory, else embedded, else on PATH.
fn find_turbostat() -> Option<PathBuf> {
    if let Some(p) = tools::bundled("turbostat") {
        return Some(p);
    }
    std::env::var_os("PATH")?
        .to_string_lossy()
        .split(':')
        .map(|d| PathBuf::from(d).join("turbostat"))
        .find(|p| p.is_file())
}

/// Parses `turbostat --quiet --Summary --show ...` output: a header of
/// tab-separated column names, then one row per interval. Values of the
/// last complete row, by column; `-` (unsupported) is None.
pub fn parse_turbostat(text: &str) -> Option<Vec<(String, Option<f64>)>> {
    let mut header: Option<Vec<&str>> = None;
    let mut last: Option<Vec<&str>> = None;
    for line in text.lines() {
        let cells: Vec<&str> = line.split_whitespace().collect();
        if cells.is_empty() {
            continue;
        }
        if cells.iter().any(|c| COLUMNS.contains(c)) {
            header = Some(cells);
        } else if let Some(h) = &header {
            if cells.len() == h.len() && cells.iter().all(|c| *c == "-" || c.parse::<f64>().is_ok())
            {
                last = Some(cells);
            }
        }
    }
    let (h, row) = (header?, last?);
    Some(
        h.iter()
            .zip(row)
            .map(|(k, v)| (k.to_string(), v.parse::<f64>().ok()))
            .collect(),
    )
}

fn reading(cols: &[(String, Option<f64>)]) -> Reading {
    let get = |name: &str| cols.iter().find(|(k, _)| k == name).and_then(|(_, v)| *v);
    Reading {
        package_watts: get("PkgWatt"),
        dram_watts: get("RAMWatt").or_else(|| get("RamWatt")),
        package_celsius: get("PkgTmp"),
    }
}

/// Runs turbostat for `seconds`, with `load` running meanwhile when asked.
fn phase(turbostat: &PathBuf, seconds: f64, load: bool) -> Result<Reading, String> {
    let secs = seconds.ceil().max(1.0) as u64;
    let child = Command::new(turbostat)
        .args(["--quiet", "--Summary", "--show", &COLUMNS.join(",")])
        .args(["--interval", &secs.to_string(), "--num_iterations", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", turbostat.display()))?;
    if load {
        cpu::load_all(Instant::now() + Duration::from_secs(secs));
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("turbostat: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    match parse_turbostat(&text) {
        Some(cols) if out.status.success() => Ok(reading(&cols)),
        _ => Err(format!(
            "turbostat failed ({}): {}",
            out.status,
            err.lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no output")
        )),
    }
}

pub fn run(seconds: f64, progress: bool) -> Power {
    let started = Instant::now();
    let mut unavailable = Vec::new();
    let found = find_turbostat();
    let (mut idle, mut load) = (Reading::default(), Reading::default());
    match &found {
        None => unavailable.push(format!(
            "turbostat not found: not bundled in this build nor on PATH: put it in {} or install it (Debian: linux-cpupower)",
            tools::override_dir().display()
        )),
        Some(t) => {
            if progress {
                eprintln!("power: idle, then under load, {seconds} s each ...");
            }
            match phase(t, seconds, false) {
                Ok(r) => {
                    idle = r;
                    match phase(t, seconds, true) {
                        Ok(r) => load = r,
                        Err(e) => unavailable.push(format!("load: {e}")),
                    }
                }
                // Failing idle fails under load too: no load for nothing.
                Err(e) => unavailable.push(format!("idle and load: {e}")),
            }
            for (what, v) in [
                ("package power", idle.package_watts.or(load.package_watts)),
                ("DRAM power", idle.dram_watts.or(load.dram_watts)),
                ("package temperature", idle.package_celsius.or(load.package_celsius)),
            ] {
                if v.is_none() && unavailable.is_empty() {
                    unavailable.push(format!(
                        "{what}: turbostat reports none here (no RAPL or thermal MSRs, usual in virtual machines)"
                    ));
                }
            }
        }
    }
    Power {
        turbostat: found.map(|p| p.display().to_string()),
        idle,
        load,
        unavailable,
        seconds_per_phase: seconds,
        duration_s: super::stats::round_sig(started.elapsed().as_secs_f64()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// HAND-WRITTEN to turbostat 2023's `--quiet --Summary --show
    /// PkgWatt,RAMWatt,PkgTmp` output (tab-separated), a two-socket server.
    const TWO_SOCKETS: &str = "PkgTmp\tPkgWatt\tRAMWatt\n61\t412.37\t48.92\n";

    #[test]
    fn turbostat_summary() {
        let cols = parse_turbostat(TWO_SOCKETS).unwrap();
        let r = reading(&cols);
        assert_eq!(r.package_watts, Some(412.37));
        assert_eq!(r.dram_watts, Some(48.92));
        assert_eq!(r.package_celsius, Some(61.0));
        // A client part without DRAM RAPL: `-` is no value.
        let r = reading(&parse_turbostat("PkgTmp\tPkgWatt\tRAMWatt\n45\t12.5\t-\n").unwrap());
        assert_eq!((r.package_watts, r.dram_watts), (Some(12.5), None));
        // Errors and no rows: nothing to read.
        assert_eq!(parse_turbostat("turbostat: no /dev/cpu/0/msr\n"), None);
        assert_eq!(parse_turbostat("PkgTmp\tPkgWatt\n"), None);
    }
}
