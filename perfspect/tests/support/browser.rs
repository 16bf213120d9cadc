//! Real readers of perfspect's outputs: Debian's chromium renders the HTML
//! pages, openpyxl (python3-openpyxl) opens the xlsx. Nothing is mocked: a
//! missing reader fails the test with the package to install.

use super::{run_with_timeout, scratch};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// What Chromium saw loading a page.
pub struct Loaded {
    /// The DOM after load and after the page's scripts ran (--dump-dom).
    pub dom: String,
    /// Console messages (headless Chromium logs them without their level, so
    /// any message counts as an error).
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

/// Loads `page` in headless Chromium, as root or not, with a new profile, and
/// reports what it saw. Tests of real pages use [`load_clean`]; this is for
/// the self-tests that show a bad page is caught.
pub fn load(page: &Path) -> Loaded {
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
            // No name resolves: a request leaving the page fails (and still
            // shows in the net log).
            "--host-resolver-rules=MAP * ~NOTFOUND",
            &format!("--user-data-dir={}", dir.join("profile").display()),
            "--enable-logging=stderr",
            "--v=0",
            &format!("--log-net-log={}", netlog.display()),
            // Lets the scripts of the telemetry and flamegraph pages finish.
            "--virtual-time-budget=3000",
            "--dump-dom",
            &format!("file://{}", page.display()),
        ]),
        // Generous: a loaded 2-CPU VM can take long to start Chromium.
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

/// Loads `page` in headless Chromium; fails on any console message of the
/// page or any request leaving it. Returns the DOM after scripts ran.
pub fn load_clean(page: &Path) -> String {
    let seen = load(page);
    assert!(
        seen.console.is_empty(),
        "console messages: {:?}",
        seen.console
    );
    assert!(
        seen.outside_requests.is_empty(),
        "requests left the page: {:?}",
        seen.outside_requests
    );
    seen.dom
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
