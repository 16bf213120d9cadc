//! End-to-end tests of `perfspect telemetry` on this machine.

mod support;

use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::browser::load_clean;
use support::process::*;
use support::tools::install;
use support::{BIN, scratch};

fn series<'a>(j: &'a Value, group: &str, name: &str) -> Option<&'a Value> {
    j["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["group"] == group && s["name"] == name)
}

fn values(s: &Value) -> Vec<f64> {
    s["values"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_f64)
        .collect()
}

#[test]
fn six_seconds_under_load_show_in_the_right_series() {
    let dir = scratch("telemetry-load");
    let bin = install(&dir);
    let cpu = first_cpu();
    let mut spin = spawn_pinned(Command::new("sh").args(["-c", "while :; do :; done"]), cpu);
    let mut run = Command::new(&bin)
        .args(["telemetry", "--duration", "6", "--interval", "1"])
        .args(["--format", "txt,json,csv,html", "--output"])
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // dd starts after perfspect's first snapshot, so all of it falls inside.
    std::thread::sleep(Duration::from_secs(1));
    let mut dd = Command::new("dd")
        .arg("if=/dev/zero")
        .arg(format!("of={}", dir.join("ddfile").display()))
        .args(["bs=1M", "count=192", "oflag=direct"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dd");
    let st = wait_for(&mut run, Duration::from_secs(120));
    let _ = spin.kill();
    let _ = spin.wait();
    let _ = dd.wait();
    assert!(st.success(), "exit {st}");

    let j: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("telemetry.json")).unwrap())
            .unwrap();
    assert_eq!(j["interrupted"], false);
    let n = j["times"].as_array().unwrap().len();
    assert_eq!(n, 6, "six 1 s intervals");

    // The pinned loop: its CPU is mostly busy (lenient: a loaded 2-CPU VM).
    let busy = values(series(&j, "CPU utilisation per CPU", &format!("cpu{cpu} busy")).unwrap());
    let mean = busy.iter().sum::<f64>() / busy.len() as f64;
    assert!(mean > 60.0, "cpu{cpu} busy mean {mean}: {busy:?}");
    let user = values(series(&j, "CPU utilisation", "user").unwrap());
    assert!(user.iter().sum::<f64>() > 0.0);

    // The dd: 192 MiB written with O_DIRECT show in the block devices' write
    // throughput (summed over devices and intervals; stacked devices may
    // count it twice, which only helps).
    let mut written = 0.0;
    for s in j["series"].as_array().unwrap() {
        if s["group"] == "Storage" && s["name"].as_str().unwrap().ends_with(" write") {
            written += values(s).iter().sum::<f64>() * 1.0;
        }
    }
    assert!(written >= 96.0, "only {written} MiB written seen");

    for (g, name) in [
        ("Memory", "available"),
        ("Paging and NUMA", "page faults"),
        ("Scheduler and interrupts", "context switches"),
        ("Scheduler and interrupts", "run queue"),
    ] {
        let s = series(&j, g, name).unwrap_or_else(|| panic!("no {g}/{name}"));
        assert_eq!(s["values"].as_array().unwrap().len(), n);
        assert!(s["summary"]["max"].as_f64().unwrap() > 0.0, "{g}/{name}");
    }
    assert!(
        j["series"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["group"] == "Network")
    );

    // Where turbostat or the PMU are missing, every format says why.
    let missing: Vec<String> = j["unavailable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["reason"].as_str().unwrap().to_string())
        .collect();
    let txt = std::fs::read_to_string(dir.join("telemetry.txt")).unwrap();
    let html = std::fs::read_to_string(dir.join("telemetry.html")).unwrap();
    for m in &missing {
        assert!(txt.contains(m.as_str()), "txt lacks {m}");
        assert!(
            html.contains(m.split(':').next().unwrap()),
            "html lacks {m}"
        );
    }
    if std::env::consts::ARCH == "x86_64"
        && !j["series"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["group"] == "turbostat")
    {
        assert!(
            j["unavailable"]
                .as_array()
                .unwrap()
                .iter()
                .any(|u| u["group"] == "turbostat")
        );
    }
    let csv = std::fs::read_to_string(dir.join("telemetry.csv")).unwrap();
    assert_eq!(csv.lines().count(), n + 1);
    assert!(csv.contains(&format!("cpu{cpu} busy")));

    // The page renders with no console error and no outside request.
    let dom = load_clean(&dir.join("telemetry.html"));
    assert!(dom.contains("<polyline"), "charts drawn");
    assert!(dom.contains(&format!("cpu{cpu} busy")));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ctrl_c_at_three_seconds_still_writes_every_output() {
    let dir = scratch("telemetry-sigint");
    let bin = install(&dir);
    let mut run = Command::new(&bin)
        .args([
            "telemetry",
            "--interval",
            "1",
            "-f",
            "txt,json,csv,html",
            "-o",
        ])
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    sigint(&run);
    let st = wait_for(&mut run, Duration::from_secs(60));
    assert_eq!(st.code(), Some(130), "{st}");
    let j: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("telemetry.json")).unwrap())
            .unwrap();
    assert_eq!(j["interrupted"], true);
    let n = j["times"].as_array().unwrap().len();
    assert!((1..=4).contains(&n), "{n} intervals in 3 s");
    let html = std::fs::read_to_string(dir.join("telemetry.html")).unwrap();
    assert!(html.trim_end().ends_with("</html>"));
    let csv = std::fs::read_to_string(dir.join("telemetry.csv")).unwrap();
    assert_eq!(csv.lines().count(), n + 1);
    let txt = std::fs::read_to_string(dir.join("telemetry.txt")).unwrap();
    assert!(txt.contains("ended by a signal") && txt.contains("CPU utilisation"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_arguments_are_usage_errors() {
    let o = Command::new(BIN)
        .args(["telemetry", "--duration", "1", "--interval", "2"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("shorter than one --interval"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

fn turbostat_reason(
    bin: &std::path::Path,
    dir: &std::path::Path,
    path_env: &str,
) -> (Value, String) {
    let o = Command::new(bin)
        .args(["telemetry", "-d", "2", "-i", "1", "-f", "json,txt", "-o"])
        .arg(dir)
        .env("PATH", path_env)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("telemetry.json")).unwrap())
            .unwrap();
    let txt = std::fs::read_to_string(dir.join("telemetry.txt")).unwrap();
    (j, txt)
}

fn unavailable(j: &Value, group: &str) -> Option<String> {
    j["unavailable"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["group"] == group)
        .map(|u| u["reason"].as_str().unwrap().to_string())
}

/// Debian's turbostat (package linux-cpupower) as an override: on bare metal
/// it fills the turbostat table; in a VM or container it fails and every
/// format quotes its reason.
#[test]
#[cfg(target_arch = "x86_64")]
fn turbostat_runs_or_says_why() {
    let dir = scratch("telemetry-turbostat");
    let bin = install(&dir);
    let real = std::path::Path::new("/usr/sbin/turbostat");
    assert!(
        real.is_file(),
        "needs Debian's turbostat: apt-get install linux-cpupower"
    );
    std::fs::copy(real, dir.join("tools/x86_64/turbostat")).unwrap();
    let (j, txt) = turbostat_reason(&bin, &dir, "/usr/bin:/bin");
    let has_series = j["series"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["group"] == "turbostat");
    match unavailable(&j, "turbostat") {
        None => assert!(has_series, "neither series nor a reason"),
        Some(r) => {
            assert!(!has_series);
            assert!(
                r.starts_with("turbostat failed: ")
                    || r.starts_with("turbostat printed no interval: "),
                "{r}"
            );
            assert!(!r.contains("not bundled"), "{r}");
            assert!(txt.contains(&r), "txt says why");
        }
    }

    // Neither bundled nor on PATH: said as well.
    std::fs::remove_file(dir.join("tools/x86_64/turbostat")).unwrap();
    let (j, txt) = turbostat_reason(&bin, &dir, "");
    let r = unavailable(&j, "turbostat").expect("a reason");
    assert!(
        r.contains("not bundled in this build and not on PATH"),
        "{r}"
    );
    assert!(txt.contains(&r));
    let _ = std::fs::remove_dir_all(&dir);
}
