//! A perfspect binary with perf and fio, for the benchmark and metrics
//! tests, found the way tests/cli.rs finds one: `PERFSPECT_TEST_TOOLS_DIR`
//! (`<arch>/perf`, `<arch>/fio`), the binary itself when it has tools, the
//! xtask's `tools-cache/bin/<arch>/`, or the host's perf and fio; installed
//! as an override next to a copy of the binary. With none, the test fails
//! saying to run `cargo tools` (no test is skipped and counted as passed).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

pub const BIN: &str = env!("CARGO_BIN_EXE_perfspect");

pub fn run_bin(bin: &Path, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run perfspect")
}

/// A fresh directory under cargo's scratch space.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("perfspect-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn install(perf: &Path, fio: &Path) -> PathBuf {
    let dir = scratch(&format!("tooled-{}", module_path!().replace("::", "-")));
    let bin = dir.join("perfspect");
    std::fs::copy(BIN, &bin).unwrap();
    let tools = dir.join("tools").join(std::env::consts::ARCH);
    std::fs::create_dir_all(&tools).unwrap();
    std::fs::copy(perf, tools.join("perf")).unwrap();
    std::fs::copy(fio, tools.join("fio")).unwrap();
    bin
}

fn has_tools(bin: &Path) -> bool {
    run_bin(bin, &["tools", "list"]).status.success()
}

/// The binary with tools; panics when there are none.
pub fn tooled() -> &'static Path {
    static T: OnceLock<PathBuf> = OnceLock::new();
    T.get_or_init(|| {
        let arch = std::env::consts::ARCH;
        let mut candidates = Vec::new();
        if let Some(d) = std::env::var_os("PERFSPECT_TEST_TOOLS_DIR").filter(|d| !d.is_empty()) {
            let d = PathBuf::from(d).join(arch);
            candidates.push((d.join("perf"), d.join("fio")));
        } else {
            if has_tools(Path::new(BIN)) {
                return PathBuf::from(BIN);
            }
            let cache = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../tools-cache/bin")
                .join(arch);
            candidates.push((cache.join("perf"), cache.join("fio")));
            candidates.push(("/usr/bin/perf".into(), "/usr/bin/fio".into()));
        }
        for (perf, fio) in candidates {
            if perf.is_file() && fio.is_file() {
                let bin = install(&perf, &fio);
                if has_tools(&bin) {
                    return bin;
                }
            }
        }
        panic!(
            "no perf/fio for the tests: run `cargo tools` first (it fills tools-cache/), or set PERFSPECT_TEST_TOOLS_DIR"
        )
    })
}
