//! A perfspect binary with perf (and fio) for the tests that run them. The
//! tools come from `PERFSPECT_TEST_TOOLS_DIR` (`<arch>/perf`, `<arch>/fio`),
//! else the xtask's `tools-cache/bin/<arch>/`, else the host (Debian
//! `linux-perf`); they are installed as an override next to a copy of the
//! binary. With none, the test fails saying to run `cargo tools` (no test is
//! skipped and counted as passed).

use super::{BIN, run_bin, scratch};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The directory holding perf (and fio, when there is one) for the tests.
fn source_dir() -> PathBuf {
    let arch = std::env::consts::ARCH;
    if let Some(d) = std::env::var_os("PERFSPECT_TEST_TOOLS_DIR").filter(|d| !d.is_empty()) {
        let d = PathBuf::from(d).join(arch);
        assert!(
            d.join("perf").is_file(),
            "PERFSPECT_TEST_TOOLS_DIR set but {} missing",
            d.join("perf").display()
        );
        return d;
    }
    [
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tools-cache/bin")
            .join(arch),
        PathBuf::from("/usr/bin"),
    ]
    .into_iter()
    .find(|d| d.join("perf").is_file())
    .expect("no perf for the tests: run `cargo tools` first (it fills tools-cache/), set PERFSPECT_TEST_TOOLS_DIR, or apt-get install linux-perf")
}

/// A copy of perfspect in `dir` with perf (and fio, where found) as its
/// override in `dir/tools/<arch>/`; returns the binary.
pub fn install(dir: &Path) -> PathBuf {
    let src = source_dir();
    let bin = dir.join("perfspect");
    std::fs::copy(BIN, &bin).unwrap();
    let tools = dir.join("tools").join(std::env::consts::ARCH);
    std::fs::create_dir_all(&tools).unwrap();
    for name in ["perf", "fio"] {
        if src.join(name).is_file() {
            std::fs::copy(src.join(name), tools.join(name)).unwrap();
        }
    }
    bin
}

/// Whether perf and fio, the tools these tests run, work in `bin`. Not the
/// status of `tools list`: it covers the whole toolbox (lspci, ethtool, ...)
/// and fails when any is missing, as with the override installed here.
fn has_tools(bin: &Path) -> bool {
    let o = run_bin(bin, &["tools", "list", "--format", "json"]);
    let Ok(j) = serde_json::from_slice::<serde_json::Value>(&o.stdout) else {
        return false;
    };
    let tools = j["tools"].as_array().cloned().unwrap_or_default();
    ["perf", "fio"].iter().all(|name| {
        tools
            .iter()
            .any(|t| t["name"] == *name && t["source"] != "none" && t["problem"].is_null())
    })
}

/// The binary with both perf and fio, shared by a test binary's tests: the
/// binary itself when it has its tools (and no tools dir is forced), else an
/// installed copy; panics when there are none.
pub fn tooled() -> &'static Path {
    static T: OnceLock<PathBuf> = OnceLock::new();
    T.get_or_init(|| {
        let forced = std::env::var_os("PERFSPECT_TEST_TOOLS_DIR").is_some_and(|d| !d.is_empty());
        if !forced && has_tools(Path::new(BIN)) {
            return PathBuf::from(BIN);
        }
        let bin = install(&scratch("tooled"));
        assert!(
            has_tools(&bin),
            "no perf/fio for the tests: run `cargo tools` first (it fills tools-cache/), or set PERFSPECT_TEST_TOOLS_DIR"
        );
        bin
    })
}
