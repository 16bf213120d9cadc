//! End-to-end tests of the perfspect binary.
//!
//! Tests that need perf and fio use, in this order:
//! 1. `PERFSPECT_TEST_TOOLS_DIR`, a directory with `<arch>/perf` and
//!    `<arch>/fio` (the layout of `PERFSPECT_TOOLS_DIR`), installed as an
//!    override next to a copy of the binary. If the variable is set but the
//!    tools are missing or unusable, those tests FAIL;
//! 2. the binary itself, if it has tools (embedded, or an override already
//!    next to it);
//! 3. the xtask's tools cache (`tools-cache/bin/<arch>/`) or the host's perf
//!    and fio (Debian's `linux-perf` and `fio`), installed as an override;
//! 4. otherwise they fail, saying to run `cargo tools` first: no test is
//!    skipped and counted as passed.
//!
//! The no-tools test runs against a copy of the binary with no override; the
//! test build must not embed tools (PERFSPECT_TOOLS_DIR unset).
//!
//! Only perf and fio are needed from the toolbox: the list and extract test
//! fills the rest of it (lspci, pci.ids, ethtool, ...) with stand-ins that
//! print a version line, where the binary does not embed them.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_perfspect");

fn arch() -> &'static str {
    std::env::consts::ARCH
}

fn run_bin(bin: &Path, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run perfspect")
}

fn run(args: &[&str]) -> Output {
    run_bin(Path::new(BIN), args)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Removes scratch directories left by earlier test runs whose process is gone
/// (they hold copies of the tools).
fn sweep_stale() {
    let Ok(rd) = std::fs::read_dir(env!("CARGO_TARGET_TMPDIR")) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("perfspect-cli-") else {
            continue;
        };
        let mut parts = rest.rsplit('-');
        let (_n, pid) = (parts.next(), parts.next());
        if let Some(pid) = pid.and_then(|p| p.parse::<u32>().ok()) {
            if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

/// A fresh directory under cargo's scratch space for integration tests.
fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    static SWEPT: OnceLock<()> = OnceLock::new();
    SWEPT.get_or_init(sweep_stale);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "perfspect-cli-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A copy (hard link if possible) of the binary in `dir`.
fn binary_copy(dir: &Path) -> PathBuf {
    let dest = dir.join("perfspect");
    if std::fs::hard_link(BIN, &dest).is_err() {
        std::fs::copy(BIN, &dest).unwrap();
    }
    dest
}

/// Installs perf and fio from `src_dir` as an override next to a copy of the binary.
fn install_override(perf: &Path, fio: &Path) -> PathBuf {
    let dir = scratch("tooled");
    let bin = binary_copy(&dir);
    let tools = dir.join("tools").join(arch());
    std::fs::create_dir_all(&tools).unwrap();
    std::fs::copy(perf, tools.join("perf")).unwrap();
    std::fs::copy(fio, tools.join("fio")).unwrap();
    bin
}

/// The toolbox of the running architecture, in the order `tools list` shows it.
fn known_tools() -> &'static [&'static str] {
    match arch() {
        "x86_64" => &[
            "perf",
            "turbostat",
            "intel-speed-select",
            "fio",
            "lspci",
            "pci.ids",
            "ethtool",
            "ipmitool",
            "smartctl",
        ],
        "aarch64" => &[
            "perf", "fio", "lspci", "pci.ids", "ethtool", "ipmitool", "smartctl",
        ],
        _ => &["perf", "fio"],
    }
}

/// `tools list --format json` of `bin`, whatever its exit status (it fails
/// when a tool is missing, and still lists them all).
fn tool_list(bin: &Path) -> (Output, Vec<Value>) {
    let o = run_bin(bin, &["tools", "list", "--format", "json"]);
    let j: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("invalid JSON ({e}): {}{}", stdout(&o), stderr(&o)));
    let tools = j["tools"].as_array().cloned().unwrap_or_default();
    (o, tools)
}

fn listed<'a>(tools: &'a [Value], name: &str) -> &'a Value {
    tools
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not listed: {tools:?}"))
}

/// Whether perf and fio, the tools these tests run, work in `bin`. Not the
/// status of `tools list`: it covers the whole toolbox and fails when any
/// tool is missing, as with an override of perf and fio only.
fn has_tools(bin: &Path) -> bool {
    let (_, tools) = tool_list(bin);
    ["perf", "fio"].iter().all(|name| {
        tools
            .iter()
            .any(|t| t["name"] == *name && t["source"] != "none" && t["problem"].is_null())
    })
}

/// A perfspect binary with working tools; panics when there are none.
fn tooled() -> &'static Path {
    static T: OnceLock<Option<PathBuf>> = OnceLock::new();
    T.get_or_init(|| {
        if let Some(dir) = std::env::var_os("PERFSPECT_TEST_TOOLS_DIR").filter(|d| !d.is_empty()) {
            let dir = PathBuf::from(dir).join(arch());
            let (perf, fio) = (dir.join("perf"), dir.join("fio"));
            assert!(
                perf.is_file() && fio.is_file(),
                "PERFSPECT_TEST_TOOLS_DIR is set but {} or {} is missing",
                perf.display(),
                fio.display()
            );
            let bin = install_override(&perf, &fio);
            if !has_tools(&bin) {
                let o = run_bin(&bin, &["tools", "list"]);
                panic!(
                    "PERFSPECT_TEST_TOOLS_DIR tools are unusable: {}{}",
                    stdout(&o),
                    stderr(&o)
                );
            }
            return Some(bin);
        }
        if has_tools(Path::new(BIN)) {
            return Some(PathBuf::from(BIN));
        }
        let cache = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tools-cache/bin")
            .join(arch());
        let mut candidates: Vec<(PathBuf, PathBuf)> = vec![(cache.join("perf"), cache.join("fio"))];
        let mut host_perf: Vec<PathBuf> = std::fs::read_dir("/usr/bin")
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| {
                        p.file_name()
                            .and_then(|n| n.to_str())
                            .map(|n| n.starts_with("perf_"))
                            .unwrap_or(false)
                    })
                    .collect()
            })
            .unwrap_or_default();
        host_perf.sort();
        host_perf.push(PathBuf::from("/usr/bin/perf"));
        for p in host_perf {
            candidates.push((p, PathBuf::from("/usr/bin/fio")));
        }
        for (perf, fio) in candidates {
            if perf.is_file() && fio.is_file() {
                let bin = install_override(&perf, &fio);
                if has_tools(&bin) {
                    return Some(bin);
                }
            }
        }
        panic!(
            "no perf/fio for the tests: run `cargo tools` first (it fills tools-cache/), or set PERFSPECT_TEST_TOOLS_DIR"
        );
    })
    .as_deref()
    .expect("tooled() returns a binary or panics")
}

macro_rules! need_tools {
    () => {
        tooled()
    };
}

fn assert_one_line_error(o: &Output, code: i32, contains: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert!(err.starts_with("error: "), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "stderr: {err}");
    assert!(err.contains(contains), "expected {contains:?} in {err}");
    assert!(o.stdout.is_empty() || code != 2, "stdout: {}", stdout(o));
}

fn json(o: &Output) -> Value {
    assert!(o.status.success(), "stderr: {}", stderr(o));
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("invalid JSON ({e}): {}", stdout(o)))
}

// ---------------------------------------------------------------- version

#[test]
fn version() {
    let o = run(&["--version"]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1);
    let expected = match option_env!("PERFSPECT_VERSION") {
        Some(v) if !v.trim().is_empty() => v.trim().to_string(),
        _ => format!("{}_dev", env!("CARGO_PKG_VERSION")),
    };
    assert_eq!(out.trim_end(), format!("perfspect {expected}"));
}

#[test]
fn help() {
    let o = run(&["--help"]);
    assert!(o.status.success());
    for cmd in ["report", "metrics", "benchmark", "tools"] {
        assert!(stdout(&o).contains(cmd));
    }
}

// ---------------------------------------------------------------- report

#[test]
fn report_txt_default() {
    let start = Instant::now();
    let o = run(&["report"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(start.elapsed() < Duration::from_secs(5));
    let out = stdout(&o);
    for s in [
        "== System ==",
        "== CPU ==",
        "== Memory ==",
        "== Storage ==",
        "== Network ==",
        "== CPU vulnerabilities ==",
    ] {
        assert!(out.contains(s), "missing {s}");
    }
    assert!(out.starts_with("perfspect "));
}

#[test]
fn report_json() {
    let j = json(&run(&["report", "--format", "json"]));
    assert!(
        j["perfspect"]["version"]
            .as_str()
            .unwrap()
            .contains(env!("CARGO_PKG_VERSION"))
    );
    for (section, keys) in [
        (
            "host",
            &["hostname", "os", "kernel", "architecture", "virtualization"][..],
        ),
        (
            "cpu",
            &[
                "model",
                "vendor",
                "microarchitecture",
                "sockets",
                "cores",
                "threads",
                "numa_nodes",
                "base_frequency_mhz",
                "max_frequency_mhz",
                "isa",
                "caches",
            ],
        ),
        ("power", &["governor", "scaling_driver"]),
        (
            "memory",
            &[
                "total_bytes",
                "available_bytes",
                "hugepage_size_bytes",
                "thp_enabled",
            ],
        ),
        ("numa", &["nodes", "node_list"]),
        ("storage", &["devices", "filesystems"]),
        ("network", &["interfaces"]),
        ("vulnerabilities", &["list", "vulnerable_count"]),
        ("kernel", &["tunables", "clocksource"]),
    ] {
        for k in keys {
            assert!(j[section].get(k).is_some(), "missing {section}.{k}");
        }
    }
    assert_eq!(j["host"]["architecture"], arch());
    let threads = j["cpu"]["threads"].as_u64().expect("threads is a number");
    assert!(threads >= 1);
    assert!(j["memory"]["total_bytes"].as_u64().unwrap() > 0);
    assert!(j["cpu"]["caches"].is_array());
    assert!(j["cpu"]["isa"].is_array());
    assert!(
        j["network"]["interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["name"] == "lo")
    );
}

/// A minimal well-formedness check: every non-void element is closed, in order.
fn check_html(h: &str) {
    const VOID: [&str; 6] = ["meta", "br", "hr", "img", "link", "input"];
    let mut stack: Vec<String> = Vec::new();
    let mut rest = h;
    let mut in_style = false;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>').expect("unclosed tag");
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if in_style && tag != "/style" {
            continue;
        }
        if tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack.pop().unwrap_or_else(|| panic!("stray </{name}>"));
            assert_eq!(open, name, "mismatched </{name}>");
            in_style = false;
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if VOID.contains(&name.as_str()) || tag.ends_with('/') {
            continue;
        }
        in_style = name == "style";
        stack.push(name);
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
}

#[test]
fn report_html() {
    let o = run(&["report", "--format", "html"]);
    assert!(o.status.success());
    let h = stdout(&o);
    assert!(h.starts_with("<!DOCTYPE html>"));
    assert!(h.trim_end().ends_with("</html>"));
    assert!(h.contains("<style>"));
    assert!(!h.contains("<script"));
    for external in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!h.contains(external), "not self-contained: {external}");
    }
    for id in [
        "host",
        "cpu",
        "memory",
        "storage",
        "network",
        "vulnerabilities",
    ] {
        assert!(
            h.contains(&format!("<section id=\"{id}\">")),
            "section {id}"
        );
    }
    check_html(&h);
}

#[test]
fn report_output_dir_all_formats() {
    let dir = scratch("report");
    let o = run(&[
        "report",
        "--format",
        "txt,json",
        "--format",
        "html",
        "--output",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let txt = std::fs::read_to_string(dir.join("report.txt")).unwrap();
    assert!(txt.contains("== CPU =="));
    let j: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert!(j["cpu"].is_object());
    check_html(&std::fs::read_to_string(dir.join("report.html")).unwrap());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["report.html", "report.json", "report.txt"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------- bad input

#[test]
fn bad_format() {
    assert_one_line_error(&run(&["report", "--format", "xml"]), 2, "xml");
    assert_one_line_error(&run(&["metrics", "--format", "html"]), 2, "html");
    assert_one_line_error(
        &run(&["benchmark", "--storage", "--format", "csv"]),
        2,
        "csv",
    );
}

#[test]
fn bad_output_dir() {
    assert_one_line_error(
        &run(&["report", "--output", "/nonexistent/perfspect"]),
        2,
        "does not exist",
    );
    assert_one_line_error(&run(&["report", "--output", "/proc"]), 2, "not writable");
    let dir = scratch("not-a-dir");
    let file = dir.join("file");
    std::fs::write(&file, "x").unwrap();
    assert_one_line_error(
        &run(&["report", "--output", file.to_str().unwrap()]),
        2,
        "not a directory",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_metrics_args() {
    assert_one_line_error(&run(&["metrics", "--duration", "0"]), 2, "0");
    assert_one_line_error(&run(&["metrics", "--duration", "-1"]), 2, "duration");
    assert_one_line_error(&run(&["metrics", "--duration", "abc"]), 2, "abc");
    assert_one_line_error(
        &run(&["metrics", "--duration", "1", "--interval", "2"]),
        2,
        "--interval",
    );
    assert_one_line_error(
        &run(&["metrics", "--pid", "2147483646"]),
        2,
        "no process with pid 2147483646",
    );
    assert_one_line_error(&run(&["metrics", "--pid", "x"]), 2, "x");
}

#[test]
fn bad_benchmark_args() {
    assert_one_line_error(&run(&["benchmark"]), 2, "--storage");
    let missing = run(&["benchmark", "--storage", "--dir", "/nonexistent/perfspect"]);
    assert_one_line_error(&missing, 2, "does not exist");
    let dir = scratch("bench-bad");
    let d = dir.to_str().unwrap();
    assert_one_line_error(
        &run(&["benchmark", "--storage", "--dir", d, "--size", "1000T"]),
        2,
        "not enough free space",
    );
    assert_one_line_error(
        &run(&["benchmark", "--storage", "--dir", d, "--size", "12Q"]),
        2,
        "12Q",
    );
    assert_one_line_error(
        &run(&["benchmark", "--storage", "--dir", d, "--size", "1M"]),
        2,
        "--size",
    );
    assert_one_line_error(
        &run(&["benchmark", "--storage", "--dir", d, "--runtime", "0"]),
        2,
        "--runtime",
    );
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "nothing left behind"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_command_line() {
    assert_one_line_error(&run(&["frobnicate"]), 2, "frobnicate");
    assert_one_line_error(&run(&["report", "--bogus"]), 2, "--bogus");
    assert_one_line_error(&run(&["tools", "extract"]), 2, "DIR");
    let none = run(&[]);
    assert_eq!(none.status.code(), Some(2));
}

// ---------------------------------------------------------------- no tools

#[test]
fn no_tools_message() {
    let dir = scratch("untooled");
    let bin = binary_copy(&dir);
    assert!(
        !has_tools(&bin),
        "this test build embeds tools: run the tests with PERFSPECT_TOOLS_DIR unset"
    );
    let expected_dir = format!(
        "{}/tools/{}/",
        std::fs::canonicalize(&dir).unwrap().display(),
        arch()
    );
    let bench_dir = scratch("untooled-bench");
    for args in [
        vec!["metrics", "--duration", "1"],
        vec![
            "benchmark",
            "--storage",
            "--dir",
            bench_dir.to_str().unwrap(),
            "--size",
            "16M",
        ],
        vec!["tools", "extract", bench_dir.to_str().unwrap()],
    ] {
        let o = run_bin(&bin, &args);
        assert_one_line_error(&o, 2, "no tools are embedded in this build");
        let err = stderr(&o);
        assert!(err.contains("cargo dist"), "{err}");
        assert!(
            err.contains(&expected_dir),
            "{err} should name {expected_dir}"
        );
    }
    let list = run_bin(&bin, &["tools", "list"]);
    assert_ne!(list.status.code(), Some(0));
    assert!(stderr(&list).contains("no tools are embedded in this build"));
    assert!(stdout(&list).contains("not available"));
    // The whole toolbox is listed as missing, in order.
    let (o, tools) = tool_list(&bin);
    assert_eq!(o.status.code(), Some(2));
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, known_tools());
    for t in &tools {
        assert_eq!(t["source"], "none", "{t}");
        assert_eq!(t["problem"], "not available", "{t}");
        assert!(t["package"].is_null(), "{t}");
    }
    assert_eq!(std::fs::read_dir(&bench_dir).unwrap().count(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&bench_dir).unwrap();
}

// ---------------------------------------------------------------- tools

/// A stand-in for the tool `name` that prints the version line the real one
/// does (turbostat on stderr), whatever its arguments; pci.ids gets a header.
fn stand_in(name: &str) -> (String, u32) {
    let line = match name {
        "pci.ids" => return ("#\n#\tVersion: 2022.11.20\n#\n".into(), 0o644),
        "turbostat" => "echo 'turbostat version 2022.10.04 - Len Brown' >&2",
        "lspci" => "echo 'lspci version 3.9.0'",
        "ethtool" => "echo 'ethtool version 6.1'",
        "ipmitool" => "echo 'ipmitool version 1.8.19'",
        "smartctl" => "echo 'smartctl 7.3 2022-02-28 r5338 [x86_64-linux-6.1.0] (local build)'",
        // Not run by `tools list`: its version is its package's.
        "intel-speed-select" => "exit 1",
        other => panic!("no stand-in for {other}: the test needs the real one"),
    };
    (format!("#!/bin/sh\n{line}\n"), 0o755)
}

/// A private copy of `bin` whose toolbox is complete: what the binary lacks
/// (not embedded, no override) is added as a stand-in override.
fn complete_toolbox(bin: &Path) -> PathBuf {
    let bin = private_copy(bin, "toolbox");
    let over = bin.parent().unwrap().join("tools").join(arch());
    std::fs::create_dir_all(&over).unwrap();
    let (_, tools) = tool_list(&bin);
    for t in tools.iter().filter(|t| t["source"] == "none") {
        let name = t["name"].as_str().unwrap();
        let (text, mode) = stand_in(name);
        std::fs::write(over.join(name), text).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(over.join(name), std::fs::Permissions::from_mode(mode)).unwrap();
    }
    bin
}

#[test]
fn tools_list_and_extract() {
    let bin = complete_toolbox(need_tools!());
    let j = json(&run_bin(&bin, &["tools", "list", "--format", "json"]));
    let tools = j["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, known_tools());
    for t in tools {
        assert_eq!(t["arch"], arch());
        // intel-speed-select's version is its package's: none for an override.
        let unknown = t["name"] == "intel-speed-select" && t["package"].is_null();
        if !unknown {
            assert!(
                t["version"]
                    .as_str()
                    .unwrap()
                    .chars()
                    .next()
                    .unwrap()
                    .is_ascii_digit(),
                "{t}"
            );
        }
        assert_eq!(t["sha256"].as_str().unwrap().len(), 64);
        assert!(t["size_bytes"].as_u64().unwrap() > 0);
        assert!(t["source"] == "embedded" || t["source"] == "override");
        assert!(t["problem"].is_null(), "{t}");
        if t["source"] == "override" {
            assert!(t["package"].is_null(), "{t}");
        }
    }
    for (name, version) in [("lspci", "3.9.0"), ("pci.ids", "2022.11.20")] {
        if listed(tools, name)["source"] == "override" {
            assert_eq!(listed(tools, name)["version"], version);
        }
    }
    let txt = stdout(&run_bin(&bin, &["tools", "list"]));
    assert!(txt.starts_with("NAME"));
    assert!(txt.lines().next().unwrap().ends_with("PACKAGE"), "{txt}");
    assert_eq!(txt.lines().count(), tools.len() + 1);

    let dir = scratch("extract");
    let o = run_bin(&bin, &["tools", "extract", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), tools.len());
    for t in tools {
        let name = t["name"].as_str().unwrap();
        let path = dir.join(name);
        let data = std::fs::read(&path).unwrap();
        assert_eq!(data.len() as u64, t["size_bytes"].as_u64().unwrap());
        use std::os::unix::fs::PermissionsExt;
        let exec = std::fs::metadata(&path).unwrap().permissions().mode() & 0o111;
        assert_eq!(exec == 0, name == "pci.ids", "{name}: mode");
    }
    for name in ["perf", "fio"] {
        let v = Command::new(dir.join(name))
            .arg("--version")
            .output()
            .unwrap();
        assert!(v.status.success());
    }
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(bin.parent().unwrap()).unwrap();
}

/// One override among embedded tools replaces that tool only; in a build
/// without embedded tools the others stay missing.
#[test]
fn one_override_among_the_others() {
    let dir = scratch("one-override");
    let bin = binary_copy(&dir);
    let (_, before) = tool_list(&bin);
    let over = dir.join("tools").join(arch());
    std::fs::create_dir_all(&over).unwrap();
    let ethtool = over.join("ethtool");
    std::fs::write(&ethtool, "#!/bin/sh\necho 'ethtool version 9.9'\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&ethtool, std::fs::Permissions::from_mode(0o755)).unwrap();

    let (o, after) = tool_list(&bin);
    assert_eq!(after.len(), before.len());
    let t = listed(&after, "ethtool");
    assert_eq!(t["source"], "override", "{t}");
    assert_eq!(t["version"], "9.9", "{t}");
    assert!(t["package"].is_null(), "{t}");
    let canonical = std::fs::canonicalize(&ethtool).unwrap();
    assert_eq!(t["path"], canonical.to_str().unwrap());
    let embeds = before.iter().any(|t| t["source"] == "embedded");
    for t in after.iter().filter(|t| t["name"] != "ethtool") {
        let expected = if embeds { "embedded" } else { "none" };
        assert_eq!(t["source"], expected, "{t}");
    }
    if !embeds {
        assert_eq!(o.status.code(), Some(2), "the others are missing");
        assert!(stderr(&o).contains("no tools are embedded in this build"));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------- metrics

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

#[test]
fn metrics_system_wide_json() {
    let bin = need_tools!();
    let o = run_bin(
        bin,
        &[
            "metrics",
            "--duration",
            "1",
            "--interval",
            "0.5",
            "--format",
            "json",
        ],
    );
    if !is_root() && !o.status.success() {
        assert!(stderr(&o).contains("perf_event_paranoid"), "{}", stderr(&o));
        return;
    }
    let j = json(&o);
    assert_eq!(j["mode"], "system-wide");
    let ivs = j["intervals"].as_array().unwrap();
    assert!(!ivs.is_empty() && ivs.len() <= 3, "{ivs:?}");
    let s = &j["summary"]["metrics"];
    let util = s["cpu_utilisation_pct"]
        .as_f64()
        .expect("utilisation from /proc/stat");
    assert!((0.0..=100.0).contains(&util));
    assert!(s["context_switches_per_s"].as_f64().is_some());
    // Either the PMU gives IPC, or we say why not.
    let unavailable = j["unavailable"].as_array().unwrap();
    if s["ipc"].is_null() {
        assert!(
            unavailable
                .iter()
                .any(|u| u["metric"].as_str().unwrap().contains("IPC"))
        );
    }
    for u in unavailable {
        assert!(!u["reason"].as_str().unwrap().is_empty());
    }
    assert!(j["summary"]["counts"]["task-clock"].is_number());
}

#[test]
fn metrics_txt_and_csv() {
    let bin = need_tools!();
    if !is_root() {
        return;
    }
    let o = run_bin(bin, &["metrics", "--duration", "0.5", "--interval", "0.25"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("TIME(s)"), "{out}");
    assert!(out.contains("summary over"), "{out}");
    assert!(out.contains("CPU utilisation"), "{out}");

    let o = run_bin(
        bin,
        &[
            "metrics",
            "--duration",
            "0.5",
            "--interval",
            "0.25",
            "--format",
            "csv",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = stdout(&o);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("period,start_s,end_s,cpu_utilisation_pct"));
    assert!(lines.len() >= 3);
    assert!(lines.last().unwrap().starts_with("summary,"));
    let cols = lines[0].split(',').count();
    assert!(lines.iter().all(|l| l.split(',').count() == cols));
}

#[test]
fn metrics_pid() {
    let bin = need_tools!();
    let mut busy = Command::new("sh")
        .args(["-c", "i=0; while [ $i -lt 100000000 ]; do i=$((i+1)); done"])
        .spawn()
        .unwrap();
    let pid = busy.id().to_string();
    let o = run_bin(
        bin,
        &[
            "metrics",
            "--pid",
            &pid,
            "--duration",
            "1",
            "--interval",
            "0.5",
            "--format",
            "json",
        ],
    );
    let _ = busy.kill();
    let _ = busy.wait();
    let j = json(&o);
    assert_eq!(j["mode"], "pid");
    assert_eq!(j["pid"].as_u64().unwrap().to_string(), pid);
    let cpus = j["summary"]["metrics"]["cpus_busy"]
        .as_f64()
        .expect("task-clock based");
    // About one CPU, less when other work competes for the CPUs.
    assert!(
        cpus > 0.2 && cpus < 1.2,
        "a busy loop uses about one CPU: {cpus}"
    );
}

// ---------------------------------------------------------------- benchmark

#[test]
fn benchmark_storage_json() {
    let bin = need_tools!();
    let dir = scratch("bench");
    let tmp = scratch("bench-tmp");
    let o = Command::new(bin)
        .args([
            "benchmark",
            "--storage",
            "--dir",
            dir.to_str().unwrap(),
            "--size",
            "16M",
            "--runtime",
            "1",
            "--format",
            "json",
        ])
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    let j = &json(&o)["storage"];
    let jobs = j["jobs"].as_array().unwrap();
    let names: Vec<&str> = jobs.iter().map(|j| j["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["randread-4k", "randwrite-4k", "seqread-1m", "seqwrite-1m"]
    );
    for job in jobs {
        assert!(job["iops"].as_f64().unwrap() > 0.0, "{job}");
        assert!(job["bandwidth_bytes_per_s"].as_u64().unwrap() > 0);
        for p in ["mean", "p50", "p99", "p99_9"] {
            assert!(job["latency_us"][p].as_f64().unwrap() > 0.0, "{p} of {job}");
        }
    }
    assert_eq!(j["size_bytes"], 16u64 << 20);
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "the data file is removed"
    );
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "the private directory is removed"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// A private copy of a tooled binary (with its override, if any), so that the
/// processes it starts can be told apart from those of concurrent tests.
fn private_copy(bin: &Path, name: &str) -> PathBuf {
    let dir = scratch(name);
    let link = |from: &Path, to: &Path| {
        if std::fs::hard_link(from, to).is_err() {
            std::fs::copy(from, to).unwrap();
        }
    };
    let dest = dir.join("perfspect");
    link(bin, &dest);
    let tools = bin.parent().unwrap().join("tools").join(arch());
    if tools.is_dir() {
        let to = dir.join("tools").join(arch());
        std::fs::create_dir_all(&to).unwrap();
        for e in std::fs::read_dir(&tools).unwrap().flatten() {
            if e.path().is_file() {
                link(&e.path(), &to.join(e.file_name()));
            }
        }
    }
    dest
}

/// Processes whose executable path starts with `prefix`.
fn processes_under(prefix: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let argv0 = String::from_utf8_lossy(cmd.split(|b| *b == 0).next().unwrap_or_default())
                .into_owned();
            if argv0.starts_with(prefix.to_str().unwrap()) {
                found.push(argv0);
            }
        }
    }
    found
}

fn wait_exit(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("perfspect did not exit within {limit:?} of the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn benchmark_sigterm_cleans_up() {
    let bin = private_copy(need_tools!(), "bench-term-bin");
    let tools_home = bin.parent().unwrap().to_path_buf();
    let dir = scratch("bench-term");
    let tmp = scratch("bench-term-tmp");
    let mut child = Command::new(&bin)
        .args([
            "benchmark",
            "--storage",
            "--dir",
            dir.to_str().unwrap(),
            "--size",
            "16M",
            "--runtime",
            "10",
        ])
        .env("TMPDIR", &tmp)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until fio has created its file.
    let start = Instant::now();
    while std::fs::read_dir(&dir).unwrap().count() == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "fio never created its file"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = wait_exit(&mut child, Duration::from_secs(8));
    assert_eq!(status.code(), Some(143));
    let mut err = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains("interrupted"), "{err}");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "data file removed"
    );
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "private directory removed"
    );
    std::thread::sleep(Duration::from_millis(100));
    let left: Vec<String> = processes_under(&tools_home)
        .into_iter()
        .chain(processes_under(&tmp))
        .filter(|p| !p.ends_with("/perfspect"))
        .collect();
    assert!(left.is_empty(), "fio still running: {left:?}");
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&tmp).unwrap();
    std::fs::remove_dir_all(tools_home).unwrap();
}

#[test]
fn metrics_sigint_stops_perf() {
    let bin = private_copy(need_tools!(), "metrics-int-bin");
    if !is_root() {
        return;
    }
    let tools_home = bin.parent().unwrap().to_path_buf();
    let tmp = scratch("metrics-int-tmp");
    let mut child = Command::new(&bin)
        .args(["metrics", "--duration", "30"])
        .env("TMPDIR", &tmp)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The header is printed once perf runs.
    let mut out = child.stdout.take().unwrap();
    let mut buf = [0u8; 64];
    use std::io::Read;
    let _ = out.read(&mut buf).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = wait_exit(&mut child, Duration::from_secs(5));
    assert_eq!(status.code(), Some(130));
    std::thread::sleep(Duration::from_millis(100));
    let left: Vec<String> = processes_under(&tools_home)
        .into_iter()
        .chain(processes_under(&tmp))
        .filter(|p| !p.ends_with("/perfspect"))
        .collect();
    assert!(left.is_empty(), "perf still running: {left:?}");
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "private directory removed"
    );
    std::fs::remove_dir_all(&tmp).unwrap();
    std::fs::remove_dir_all(tools_home).unwrap();
}
