//! Helpers shared by the integration tests (all but cli.rs, which keeps its
//! own): one scratch directory, one command runner with a timeout, one
//! headless-Chromium loader ([`browser`]), one perfspect binary with perf and
//! fio as an override ([`tools`]) and the load/process helpers of the
//! telemetry and flamegraph tests ([`process`]).
// Each test binary includes this module and uses only part of it.
#![allow(dead_code)]

pub mod browser;
pub mod process;
pub mod tools;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The perfspect binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_perfspect");

/// A fresh empty directory under cargo's scratch space, unique per call.
pub fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "perfspect-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `bin` with `args`, no stdin, and collects its output.
pub fn run_bin(bin: &Path, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run perfspect")
}

/// Runs a command with a generous timeout (slow, loaded CI VMs); kills it
/// and fails past that.
pub fn run_with_timeout(cmd: &mut Command, limit: Duration) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let start = Instant::now();
    let out = std::thread::scope(|sc| {
        let id = child.id();
        let watchdog = sc.spawn(move || {
            while start.elapsed() < limit {
                std::thread::sleep(Duration::from_millis(100));
                if std::fs::metadata(format!("/proc/{id}")).is_err() {
                    return false;
                }
            }
            // SAFETY: kill of our own child's pid.
            unsafe { libc::kill(id as i32, libc::SIGKILL) };
            true
        });
        let out = child.wait_with_output().unwrap();
        let _ = watchdog;
        out
    });
    assert!(start.elapsed() < limit, "{cmd:?} timed out after {limit:?}");
    out
}
