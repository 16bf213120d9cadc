//! Real readers of perfspect report's outputs: Debian's chromium renders the
//! HTML, openpyxl (python3-openpyxl) opens the xlsx. Nothing is mocked: a
//! missing reader fails the test with the package to install.
// Each test binary that includes this module uses part of it.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A fresh empty directory under the target's tmp dir, unique per call.
pub fn scratch(name: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "perfspect-report-{name}-{}-{n}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs a command with a generous timeout (slow, loaded CI VMs).
pub fn run_with_timeout(cmd: &mut Command, limit: Duration) -> std::process::Output {
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

/// What Chromium saw loading a page.
pub struct Loaded {
    /// The DOM after load (--dump-dom).
    pub dom: String,
    /// Console messages (any message from a script-less page is an error).
    pub console: Vec<String>,
    /// URLs the page itself requested that are not file: or data:.
    pub outside_requests: Vec<String>,
}

pub fn chromium() -> PathBuf {
    let p = PathBuf::from("/usr/bin/chromium");
    assert!(
        p.exists(),
        "/usr/bin/chromium is missing: apt-get install -y chromium (cargo xtask setup installs it)"
    );
    p
}

/// Loads `page` in headless Chromium, as root or not, with a new profile.
pub fn load_in_chromium(page: &Path) -> Loaded {
    let dir = scratch(&format!(
        "chromium-{}",
        page.file_stem().unwrap().to_string_lossy()
    ));
    let netlog = dir.join("netlog.json");
    let out = run_with_timeout(
        Command::new(chromium()).args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", dir.join("profile").display()),
            "--enable-logging=stderr",
            "--v=0",
            &format!("--log-net-log={}", netlog.display()),
            "--dump-dom",
            &format!("file://{}", page.display()),
        ]),
        Duration::from_secs(180),
    );
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let console = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(String::from)
        .collect();
    // Requests of the page carry its file:// isolation key; Chromium's own
    // background requests (update, accounts) carry none and are not the page's.
    let log: Value = serde_json::from_str(&std::fs::read_to_string(&netlog).unwrap())
        .expect("chromium's net log is JSON");
    let mut outside: Vec<String> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            let p = &e["params"];
            let url = p["url"].as_str()?;
            let key = p["network_isolation_key"].as_str()?;
            (key.starts_with("file://") && !url.starts_with("file:") && !url.starts_with("data:"))
                .then(|| url.to_string())
        })
        .collect();
    outside.dedup();
    let _ = std::fs::remove_dir_all(&dir);
    Loaded {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        console,
        outside_requests: outside,
    }
}

/// Opens an xlsx with openpyxl: {"sheet name": [[cell, ...], ...]}.
pub fn read_xlsx(path: &Path) -> Value {
    const SCRIPT: &str = r#"
import json, sys
try:
    import openpyxl
except ImportError:
    sys.exit("openpyxl missing: apt-get install -y python3-openpyxl")
wb = openpyxl.load_workbook(sys.argv[1], read_only=True)
print(json.dumps({ws.title: [[c for c in row] for row in ws.iter_rows(values_only=True)] for ws in wb.worksheets}, default=str))
"#;
    let out = run_with_timeout(
        Command::new("/usr/bin/python3")
            .args(["-c", SCRIPT])
            .arg(path),
        Duration::from_secs(120),
    );
    assert!(
        out.status.success(),
        "openpyxl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
