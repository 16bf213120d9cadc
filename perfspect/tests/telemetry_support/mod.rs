//! Helpers of the telemetry and flamegraph tests: a copy of the binary with
//! perf installed as an override, a CPU-bound load pinned to one CPU, and
//! headless Chromium checks of the HTML pages.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_perfspect");

/// A fresh directory under cargo's scratch space.
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

/// perf for the tests: `PERFSPECT_TEST_TOOLS_DIR`, the xtask's tools cache,
/// or the host's perf (Debian `linux-perf`); fails if none.
pub fn perf() -> PathBuf {
    let arch = std::env::consts::ARCH;
    let mut candidates = Vec::new();
    if let Some(d) = std::env::var_os("PERFSPECT_TEST_TOOLS_DIR") {
        let p = PathBuf::from(d).join(arch).join("perf");
        assert!(
            p.is_file(),
            "PERFSPECT_TEST_TOOLS_DIR set but {} missing",
            p.display()
        );
        return p;
    }
    candidates.push(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tools-cache/bin")
            .join(arch)
            .join("perf"),
    );
    candidates.push(PathBuf::from("/usr/bin/perf"));
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .expect("no perf: run `cargo tools` or apt-get install linux-perf")
}

/// A copy of perfspect in `dir` with perf as its override; returns the binary.
pub fn install(dir: &Path) -> PathBuf {
    let bin = dir.join("perfspect");
    std::fs::copy(BIN, &bin).unwrap();
    let tools = dir.join("tools").join(std::env::consts::ARCH);
    std::fs::create_dir_all(&tools).unwrap();
    std::fs::copy(perf(), tools.join("perf")).unwrap();
    bin
}

/// The first CPU of this process's affinity mask.
pub fn first_cpu() -> usize {
    // SAFETY: sched_getaffinity fills a plain cpu_set_t.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        assert_eq!(
            libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set),
            0
        );
        (0..libc::CPU_SETSIZE as usize)
            .find(|c| libc::CPU_ISSET(*c, &set))
            .expect("an allowed CPU")
    }
}

/// Runs `cmd` pinned to `cpu`.
pub fn spawn_pinned(cmd: &mut Command, cpu: usize) -> Child {
    use std::os::unix::process::CommandExt;
    // SAFETY: sched_setaffinity is async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.stdin(Stdio::null()).spawn().expect("spawn load")
}

/// Compiles a C program whose hot function is `perfspect_hot_spin`; it spins
/// for the number of seconds given as its argument.
pub fn hot_program(dir: &Path) -> PathBuf {
    let src = dir.join("hot.c");
    std::fs::write(
        &src,
        "#include <stdlib.h>\n#include <time.h>\nvolatile unsigned long sink;\n\
         void perfspect_hot_spin(unsigned long n) { unsigned long x = 0; \
         for (unsigned long i = 0; i < n; i++) x += i * i; sink = x; }\n\
         int main(int argc, char **argv) { time_t end = time(0) + atoi(argv[1]); \
         while (time(0) < end) perfspect_hot_spin(1000000); return 0; }\n",
    )
    .unwrap();
    let exe = dir.join("hot");
    let st = Command::new("gcc")
        .args(["-O1", "-fno-omit-frame-pointer", "-fno-inline", "-o"])
        .arg(&exe)
        .arg(&src)
        .status()
        .expect("gcc (Debian gcc) is needed");
    assert!(st.success());
    exe
}

/// Waits for `child` up to `limit`; kills it and fails past that.
pub fn wait_for(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("perfspect did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn sigint(child: &Child) {
    // SAFETY: signalling our own child.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
}

/// Chromium's own background services, which its flags cannot all silence;
/// any other http(s) URL in the net log is a request of the page.
const CHROMIUM_SERVICE_HOSTS: [&str; 4] = [
    "clients2.google.com",
    "update.googleapis.com",
    "accounts.google.com",
    "optimizationguide-pa.googleapis.com",
];

/// Loads `page` in headless Chromium; fails on any console message of the
/// page or any request leaving it. Returns the DOM after scripts ran.
pub fn chromium_dom(page: &Path) -> String {
    let chromium = Path::new("/usr/bin/chromium");
    assert!(
        chromium.is_file(),
        "needs Debian's chromium (apt-get install -y chromium)"
    );
    let dir = scratch("chromium");
    let netlog = dir.join("netlog.json");
    let out = Command::new(chromium)
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
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(format!("--log-net-log={}", netlog.display()))
        .arg("--virtual-time-budget=3000")
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .output()
        .expect("run chromium");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chromium failed: {stderr}");
    let console: Vec<&str> = stderr.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:?}");
    let log = std::fs::read_to_string(&netlog).unwrap_or_default();
    let mut outside = Vec::new();
    for part in log.split("\"url\":\"").skip(1) {
        let url = part.split('"').next().unwrap_or("");
        let lower = url.to_ascii_lowercase();
        if !(lower.starts_with("http:") || lower.starts_with("https:") || lower.starts_with("ws")) {
            continue;
        }
        let host = url
            .split("://")
            .nth(1)
            .unwrap_or("")
            .split(['/', ':', '?'])
            .next()
            .unwrap_or("");
        if !CHROMIUM_SERVICE_HOSTS.contains(&host) {
            outside.push(url.to_string());
        }
    }
    assert!(
        outside.is_empty(),
        "the page made outside requests: {outside:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    String::from_utf8_lossy(&out.stdout).into_owned()
}
