//! Running perf: `perf record` for the duration, then `perf script`.

use std::path::Path;
use std::process::Command;

/// The perf event sampled, and the note that goes with it.
pub fn event(hardware_pmu: bool) -> (&'static str, Option<String>) {
    if hardware_pmu {
        ("cycles", None)
    } else {
        (
            "cpu-clock",
            Some(
                "no hardware PMU on this system (as in most VMs): sampled the cpu-clock \
                 software event (a timer), so the graph shows CPU time, not cycles"
                    .to_string(),
            ),
        )
    }
}

/// `perf record` arguments.
pub fn record_args(
    data: &Path,
    event: &str,
    frequency: u32,
    dwarf: bool,
    pids: &[u32],
) -> Vec<String> {
    let mut a: Vec<String> = ["record", "-e", event, "-F", &frequency.to_string()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    a.push("--call-graph".into());
    a.push(if dwarf { "dwarf" } else { "fp" }.into());
    if pids.is_empty() {
        a.push("-a".into());
    } else {
        a.push("-p".into());
        a.push(
            pids.iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(","),
        );
    }
    a.push("-o".into());
    a.push(data.display().to_string());
    a
}

/// Runs `perf script` on the recorded data.
pub fn script(perf: &Path, data: &Path) -> anyhow::Result<String> {
    let out = Command::new(perf)
        .args(["script", "-i"])
        .arg(data)
        .env("LC_ALL", "C")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run perf script: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        anyhow::bail!("perf script failed ({}): {first}", out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
