//! The Docker engine going away mid-run: one line naming it, the previous
//! outputs intact, and the next run after the engine is back succeeds.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::*;

/// The daemon `cargo xtask setup` started (CI's and this machine's).
const PIDFILE: &str = "/run/dockerd-xtask.pid";

fn engine_up() -> bool {
    std::process::Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn stop_engine(_run: i32) {
    assert!(
        Path::new(PIDFILE).exists(),
        "this test stops the Docker daemon `cargo xtask setup` started ({PIDFILE}), which is not running here"
    );
    run(
        "start-stop-daemon",
        &[
            "--stop",
            "--pidfile",
            PIDFILE,
            "--remove-pidfile",
            "--retry",
            "TERM/30/KILL/5",
        ],
    );
    assert!(
        !engine_up(),
        "the daemon still answers after it was stopped"
    );
}

/// Starts it again the way a user would: `cargo xtask setup`.
fn start_engine(root: &Path) {
    ok(xtask(root, &["setup"], &[]));
    let start = Instant::now();
    while !engine_up() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the daemon did not come back"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn says_the_engine_went_away(err: &str) {
    let last = err
        .lines()
        .rev()
        .find(|l| l.starts_with("error: "))
        .unwrap_or("");
    assert!(
        last.contains("the Docker daemon stopped answering while")
            && last.contains("`cargo xtask setup`"),
        "{}",
        tail(err)
    );
}

/// Runs `cargo dist`, stops the engine `after` the line holding `trigger`,
/// starts it again, and checks the run failed saying so with dist/ (and
/// tools-cache/) as they were.
fn stop_the_engine_during(root: &Path, trigger: &str, after: Duration) {
    let dist = snapshot(&root.join("dist"));
    let cache = snapshot(&root.join("tools-cache"));
    let (err, success, acted) = run_and_act_at(root, &["dist"], trigger, after, stop_engine);
    if !engine_up() {
        start_engine(root);
    }
    assert!(acted && !success, "{}", tail(&err));
    says_the_engine_went_away(&err);
    assert_eq!(snapshot(&root.join("dist")), dist, "dist/ changed");
    assert_eq!(
        snapshot(&root.join("tools-cache")),
        cache,
        "tools-cache/ changed"
    );
}

fn append(path: &Path, text: &str) {
    let before = std::fs::read_to_string(path).unwrap();
    std::fs::write(path, before + text).unwrap();
}

#[test]
fn the_engine_going_away_mid_run_fails_in_one_line_and_the_next_run_recovers() {
    let _serial = serial();
    let root = warm_repo("engine-away");
    ok(xtask(&root, &["dist"], &[]));

    // During the tools stage: an edit under tools/ makes the cache stale, and
    // the engine stops while the tools are built.
    append(&root.join("tools/fio.Dockerfile"), "# engine-away probe\n");
    stop_the_engine_during(&root, "rebuilding from source", Duration::from_millis(500));
    let err = ok(xtask(&root, &["dist"], &[]));
    assert!(err.contains("tools-cache/ refreshed"), "{}", tail(&err));
    check_dist(&root);
    cache_is_intact(&root);

    // During the build container: an edit of the library makes perfspect
    // compile for a minute (an edit of main.rs alone builds in seconds).
    append(
        &root.join("perfspect/src/lib.rs"),
        "\n// engine-away probe\n",
    );
    stop_the_engine_during(&root, "==> build: started", Duration::from_secs(3));
    ok(xtask(&root, &["dist"], &[]));
    check_dist(&root);
}
