//! Loads a benchmark HTML page in headless Chromium (Debian's `chromium`)
//! and reports what it rendered, its console messages and any request that
//! left the page (from Chromium's net log; no name resolves, so none
//! succeeds). Chromium's own background requests to Google's update and
//! account services are not the page's and are left out.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct Loaded {
    /// The DOM after loading (`--dump-dom`).
    pub dom: String,
    /// Console messages: the pages have no script, so any message is an
    /// error (headless Chromium logs them without their level).
    pub console_errors: Vec<String>,
    /// URLs other than file:// the page asked for.
    pub requests: Vec<String>,
}

pub fn load(page: &Path, scratch: &Path) -> Loaded {
    let chromium = Path::new("/usr/bin/chromium");
    assert!(
        chromium.is_file(),
        "/usr/bin/chromium is missing: apt-get install -y chromium (cargo xtask setup installs it)"
    );
    let profile = scratch.join("chromium-profile");
    std::fs::create_dir_all(&profile).unwrap();
    let url = format!("file://{}", page.display());
    let net_log = scratch.join("chromium-net-log.json");
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            // Any request that leaves the page fails, and says so on the console.
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--log-net-log={}", net_log.display()))
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    // Generous: a loaded 2-CPU VM can take long to start Chromium.
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let console_errors = err
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    let log = std::fs::read_to_string(&net_log).expect("chromium wrote its net log");
    let browser_own = [".google.com/", ".googleapis.com/", ".gstatic.com/"];
    let mut requests: Vec<String> = log
        .split("\"url\":\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|u| !u.starts_with("file://") && !u.starts_with("data:"))
        .filter(|u| !browser_own.iter().any(|h| u.contains(h)))
        .map(str::to_string)
        .collect();
    requests.dedup();
    Loaded {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        console_errors,
        requests,
    }
}
