//! Runs killed (SIGINT, SIGKILL) at timed moments and named points.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::support::*;

/// After the killed runs and a good one: no staging directory, no container
/// and no dangling image of theirs.
fn nothing_left_behind(root: &Path) {
    assert!(
        !root.join(".staging").exists(),
        "a staging directory was left behind"
    );
    assert_eq!(
        our_containers(root).trim(),
        "",
        "containers of ours were left behind"
    );
    assert_eq!(
        our_dangling_images(),
        "",
        "dangling images of ours were left"
    );
}

/// When a probe signals the run.
#[derive(Debug, Clone, Copy)]
enum At {
    /// This long after the start, wherever the run is.
    After(u64),
    /// Once the run holds still at this named point (PERFSPECT_XTASK_PAUSE_AT).
    Paused(&'static str),
}

/// Starts `xtask <command>` in its own process group and, at `at`, sends
/// `signal` to the whole group, as Ctrl-C in a terminal does. Returns the last
/// stage line the run had printed by then, whether it had already ended, and
/// when the signal was sent.
fn interrupt(
    root: &Path,
    command: &str,
    signal: &str,
    at: At,
) -> (String, bool, std::time::Instant) {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::CommandExt;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    let mut cmd = xtask_command(root, &[command]);
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .process_group(0);
    if let At::Paused(point) = at {
        cmd.env("PERFSPECT_XTASK_PAUSE_AT", point);
    }
    let mut child = cmd.spawn().unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut stage = "before any stage".to_string();
    let mut note = |line: &str| {
        if line.starts_with("==> ") {
            stage = line.to_string();
        } else if line.starts_with("$ docker ") {
            // The docker command under way, by its first words.
            let words: Vec<&str> = line.split_whitespace().take(3).collect();
            stage = format!(
                "{} / {}",
                stage.split(" / ").next().unwrap(),
                words.join(" ")
            );
        }
    };
    let start = Instant::now();
    let mut ended = false;
    match at {
        At::After(ms) => {
            let deadline = start + Duration::from_millis(ms);
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match rx.recv_timeout(left) {
                    Ok(line) => note(&line),
                    Err(mpsc::RecvTimeoutError::Timeout) => break,
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        ended = true;
                        std::thread::sleep(left);
                        break;
                    }
                }
            }
        }
        At::Paused(point) => loop {
            let line = rx
                .recv_timeout(Duration::from_secs(300))
                .unwrap_or_else(|e| panic!("the run never reached {point}: {e}"));
            note(&line);
            if line.starts_with(&format!("paused at {point}")) {
                break;
            }
        },
    }
    let group = format!("-{}", child.id());
    let signalled = Instant::now();
    let _ = Command::new("kill")
        .args([&format!("-{signal}"), "--", &group])
        .status();
    child.wait().unwrap();
    reader.join().unwrap();
    (stage, ended, signalled)
}

/// What a probe found in one output directory.
fn state(now: Option<Vec<(String, String)>>, before: &[(String, String)]) -> &'static str {
    match now {
        None => "absent",
        Some(now) if now == before => "previous",
        Some(_) => "new",
    }
}

/// A directory's snapshot, or None when it does not exist.
fn maybe_snapshot(dir: &Path) -> Option<Vec<(String, String)>> {
    dir.exists().then(|| snapshot(dir))
}

/// The finding of the probe whose line starts with `probe`.
fn finding<'a>(found: &'a [String], probe: &str) -> &'a str {
    found
        .iter()
        .find(|f| f.starts_with(probe))
        .unwrap_or_else(|| panic!("no probe {probe} ran"))
}

#[test]
fn interrupted_dist_leaves_a_complete_dist_and_the_next_run_succeeds() {
    let _serial = serial();
    let root = warm_repo("interrupt");
    ok(xtask(&root, &["dist"], &[]));
    let complete = snapshot(&root.join("dist"));
    let cache = sha256(&root.join("tools-cache/manifest.json"));
    let mut found = Vec::new();
    let mut ats: Vec<At> = [50u64, 300, 800, 1500, 2500, 4000].map(At::After).to_vec();
    ats.extend([At::Paused("package"), At::Paused("replace")]);
    let mut n = 0;
    for signal in ["INT", "KILL"] {
        for &at in &ats {
            // Each probe must do real work, and a release no earlier probe
            // made: a version of its own, so build and package run and a
            // release swapped in is told apart from the one before it.
            n += 1;
            fs::write(root.join("version.txt"), format!("3.0.{n}\n")).unwrap();
            let before = snapshot(&root.join("dist"));
            let (stage, ended, signalled) = interrupt(&root, "dist", signal, at);
            let mut stopped = String::new();
            if signal == "INT" {
                // Ctrl-C reaches the build container too: it stops promptly.
                while !our_containers(&root).trim().is_empty() {
                    assert!(
                        signalled.elapsed() < std::time::Duration::from_secs(10),
                        "a container outlived Ctrl-C by 10 s"
                    );
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                stopped = format!(
                    ", no container of ours {} ms after the signal",
                    signalled.elapsed().as_millis()
                );
            }
            let dist = root.join("dist");
            let dist_state = state(maybe_snapshot(&dist), &before);
            // dist/ existed before the probe, and is only ever swapped: never gone.
            assert_ne!(dist_state, "absent", "SIG{signal} at {at:?} ({stage})");
            if dist_state == "new" {
                // Killed after its atomic swap: the new release, complete.
                check_output(&dist, "sha256sum", &["-c", "SHA256SUMS"]);
                assert_eq!(snapshot(&dist).len(), complete.len());
            }
            let cache_state = if root.join("tools-cache").exists() {
                assert_eq!(
                    sha256(&root.join("tools-cache/manifest.json")),
                    cache,
                    "SIG{signal} at {at:?}"
                );
                cache_is_intact(&root);
                "previous"
            } else {
                "absent"
            };
            found.push(format!(
                "dist SIG{signal} {at:?}: during `{stage}`{}; dist/ {dist_state}, tools-cache/ {cache_state}{stopped}",
                if ended { " (had ended)" } else { "" }
            ));
        }
    }
    write_probe_log("interrupt-dist", &found);
    for signal in ["INT", "KILL"] {
        let probe = |point: &str| finding(&found, &format!("dist SIG{signal} Paused(\"{point}\")"));
        // Killed mid-packaging: caught there, and the previous release stands.
        let package = probe("package");
        assert!(
            package.contains("==> package: started") && package.contains("dist/ previous"),
            "{package}"
        );
        // Killed right after the swap: the new release is in place, whole.
        let replace = probe("replace");
        assert!(replace.contains("dist/ new"), "{replace}");
    }
    // The next run cleans up what the killed ones left and succeeds.
    git(&root, &["checkout", "-q", "version.txt"]);
    ok(xtask(&root, &["dist"], &[]));
    assert_eq!(snapshot(&root.join("dist")), complete);
    nothing_left_behind(&root);
    assert_eq!(found.len(), 16);
}

#[test]
fn interrupted_tools_runs_leave_a_complete_cache_and_the_next_run_succeeds() {
    let _serial = serial();
    let root = scratch_repo("interrupt-tools");
    ok(xtask(&root, &["tools"], &[]));
    let recipe = root.join("tools/fio.Dockerfile");
    let pinned = fs::read_to_string(&recipe).unwrap();
    let mut found = Vec::new();
    let mut ats: Vec<At> = [100u64, 500, 1000, 1800, 2600].map(At::After).to_vec();
    ats.extend([At::Paused("extract"), At::Paused("replace")]);
    let mut n = 0;
    for signal in ["INT", "KILL"] {
        for &at in &ats {
            let before = snapshot(&root.join("tools-cache"));
            // A new comment in fio's recipe each time: fio is stale, so it
            // is rebuilt (from Docker's layer cache) and extracted again, and
            // oss_source.tgz written again.
            n += 1;
            fs::write(&recipe, format!("{pinned}# probe {n}\n")).unwrap();
            let (stage, ended, _) = interrupt(&root, "tools", signal, at);
            let cache = root.join("tools-cache");
            let cache_state = if cache.exists() {
                cache_is_intact(&root);
                // Intact either way: the previous cache, or the new one when
                // the kill came after its atomic swap.
                if snapshot(&cache) == before {
                    "previous"
                } else {
                    "new"
                }
            } else {
                panic!("SIG{signal} at {at:?} ({stage}) left no tools-cache/");
            };
            found.push(format!(
                "tools SIG{signal} {at:?}: during `{stage}`{}; tools-cache/ {cache_state}",
                if ended { " (had ended)" } else { "" }
            ));
        }
    }
    write_probe_log("interrupt-tools", &found);
    for signal in ["INT", "KILL"] {
        let probe =
            |point: &str| finding(&found, &format!("tools SIG{signal} Paused(\"{point}\")"));
        // Killed mid-extraction: the previous cache stands.
        let extract = probe("extract");
        assert!(extract.contains("tools-cache/ previous"), "{extract}");
        // Killed right after the swap: the new cache is in place, whole.
        let replace = probe("replace");
        assert!(replace.contains("tools-cache/ new"), "{replace}");
    }
    // The next run rebuilds what is missing and leaves nothing of the killed ones.
    let err = ok(xtask(&root, &["tools"], &[]));
    cache_is_intact(&root);
    assert!(err.contains("==> tools: done in"), "{}", tail(&err));
    nothing_left_behind(&root);
    assert_eq!(found.len(), 14);
}
