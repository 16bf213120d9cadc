//! End-to-end tests of `perfspect flamegraph` on this machine.

mod support;

use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::browser::load_clean;
use support::process::*;
use support::tools::install;
use support::{BIN, scratch};

fn no_pmu() -> bool {
    !std::fs::read_dir("/sys/bus/event_source/devices")
        .unwrap()
        .flatten()
        .any(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n == "cpu" || n.starts_with("cpu_") || n.starts_with("arm")
        })
}

#[test]
fn hot_function_is_named_in_every_output() {
    let dir = scratch("flamegraph-hot");
    let bin = install(&dir);
    let hot = hot_program(&dir);
    let mut prog = spawn_pinned(Command::new(&hot).arg("60"), first_cpu());
    let pid = prog.id().to_string();
    let mut run = Command::new(&bin)
        .args(["flamegraph", "--duration", "4", "--pids", &pid])
        .args(["--format", "html,svg,json,folded", "--output"])
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let st = wait_for(&mut run, Duration::from_secs(180));
    let _ = prog.kill();
    let _ = prog.wait();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut run.stderr.take().unwrap(), &mut err).unwrap();
    assert!(st.success(), "exit {st}: {err}");
    if no_pmu() {
        assert!(
            err.contains("cpu-clock"),
            "says it sampled a software event: {err}"
        );
    }

    let svg = std::fs::read_to_string(dir.join("flamegraph.svg")).unwrap();
    assert!(
        svg.contains("perfspect_hot_spin"),
        "SVG names the hot function"
    );
    assert!(
        svg.contains("function search("),
        "inferno's interactive SVG"
    );
    let folded = std::fs::read_to_string(dir.join("flamegraph.folded")).unwrap();
    assert!(
        folded.lines().all(|l| l.starts_with("hot;")),
        "only the process"
    );
    let j: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("flamegraph.json")).unwrap())
            .unwrap();
    let top = j["stacks"][0]["frames"].as_array().unwrap();
    assert_eq!(top.last().unwrap(), "perfspect_hot_spin", "{top:?}");
    let total = j["total_weight"].as_u64().unwrap();
    let hot_weight: u64 = j["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["frames"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f == "perfspect_hot_spin")
        })
        .map(|s| s["weight"].as_u64().unwrap())
        .sum();
    assert!(hot_weight * 2 > total, "{hot_weight} of {total}");
    if no_pmu() {
        assert_eq!(j["event"], "cpu-clock");
        assert!(j["notes"][0].as_str().unwrap().contains("no hardware PMU"));
    }

    let dom = load_clean(&dir.join("flamegraph.html"));
    assert!(dom.contains("perfspect_hot_spin"));
    // inferno's init() ran: it drops the root's fixed width to fit the page.
    let root = &dom[dom.find("<svg").unwrap()..];
    let root = &root[..root.find('>').unwrap()];
    assert!(
        root.contains("onload=\"init(evt)\"") && !root.contains(" width="),
        "{root}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ctrl_c_at_three_seconds_still_writes_every_output() {
    let dir = scratch("flamegraph-sigint");
    let bin = install(&dir);
    let hot = hot_program(&dir);
    let mut prog = spawn_pinned(Command::new(&hot).arg("60"), first_cpu());
    let mut run = Command::new(&bin)
        .args([
            "flamegraph",
            "--duration",
            "60",
            "-f",
            "html,svg,json,folded",
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
    let st = wait_for(&mut run, Duration::from_secs(120));
    let _ = prog.kill();
    let _ = prog.wait();
    assert_eq!(st.code(), Some(130), "{st}");
    let j: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("flamegraph.json")).unwrap())
            .unwrap();
    assert_eq!(j["interrupted"], true);
    assert_eq!(j["target"], "system-wide");
    assert!(j["duration_secs"].as_f64().unwrap() < 30.0);
    assert!(j["total_weight"].as_u64().unwrap() > 0);
    let svg = std::fs::read_to_string(dir.join("flamegraph.svg")).unwrap();
    assert!(svg.trim_end().ends_with("</svg>") && svg.contains("perfspect_hot_spin"));
    let html = std::fs::read_to_string(dir.join("flamegraph.html")).unwrap();
    assert!(html.trim_end().ends_with("</html>"));
    assert!(
        !std::fs::read_to_string(dir.join("flamegraph.folded"))
            .unwrap()
            .is_empty()
    );
    let leftovers: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("perfspect-flamegraph-{}-", run.id()))
        })
        .collect();
    assert!(leftovers.is_empty(), "work directory removed");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_pid_is_a_usage_error() {
    let o = Command::new(BIN)
        .args(["flamegraph", "--pids", "999999999", "-o", "/tmp"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no process with pid 999999999"), "{err}");
}

/// DWARF unwinding recovers the frames that frame pointers skip (main, which
/// -O1 compiles without setting up a frame).
#[test]
fn dwarf_call_graph_unwinds_through_main() {
    let dir = scratch("flamegraph-dwarf");
    let bin = install(&dir);
    let hot = hot_program(&dir);
    let mut prog = spawn_pinned(Command::new(&hot).arg("60"), first_cpu());
    let pid = prog.id().to_string();
    let mut run = Command::new(&bin)
        .args(["flamegraph", "-d", "2", "-p", &pid, "--call-graph", "dwarf"])
        .args(["-f", "folded,json", "-o"])
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let st = wait_for(&mut run, Duration::from_secs(180));
    let _ = prog.kill();
    let _ = prog.wait();
    assert!(st.success(), "exit {st}");
    let folded = std::fs::read_to_string(dir.join("flamegraph.folded")).unwrap();
    assert!(folded.contains(";main;perfspect_hot_spin "), "{folded}");
    let j: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("flamegraph.json")).unwrap())
            .unwrap();
    assert_eq!(j["call_graph"], "dwarf");
    let _ = std::fs::remove_dir_all(&dir);
}
