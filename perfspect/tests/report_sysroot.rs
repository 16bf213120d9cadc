//! `perfspect report` over a damaged saved tree (PERFSPECT_SYSROOT): files
//! truncated, empty, binary or huge. It prints what it can, says which files
//! it could not read and why, and never fails or hangs on them.

mod support;

use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::{run_with_timeout, scratch};

const BIN: &str = env!("CARGO_BIN_EXE_perfspect");

/// The files of this machine the report reads most, copied into `root`.
const FILES: [&str; 8] = [
    "proc/cpuinfo",
    "proc/meminfo",
    "proc/stat",
    "proc/mounts",
    "proc/sys/kernel/hostname",
    "etc/os-release",
    "sys/devices/system/cpu/online",
    "sys/kernel/mm/transparent_hugepage/enabled",
];

fn copy_real_files(root: &Path) {
    for rel in FILES {
        let dest = root.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        let content = std::fs::read(Path::new("/").join(rel)).unwrap_or_default();
        std::fs::write(dest, content).unwrap();
    }
}

fn report_json(root: &Path) -> Value {
    let mut cmd = Command::new(BIN);
    cmd.args(["report", "--format", "json"])
        .env("PERFSPECT_SYSROOT", root);
    let out = run_with_timeout(&mut cmd, Duration::from_secs(120));
    assert!(
        out.status.success(),
        "report failed over {}: {}",
        root.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the report is JSON")
}

/// (path, problem) rows of the report's own section of unreadable files.
fn unreadable(report: &Value) -> Vec<(String, String)> {
    report["unreadable"]["unreadable_files"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    let cell = |k: &str| r[k].as_str().unwrap_or_default().to_string();
                    (cell("path"), cell("problem"))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_damaged_tree_is_reported_as_far_as_it_reads_and_its_damage_named() {
    let root = scratch("sysroot-damaged");
    copy_real_files(&root);
    // The intact tree reads whole: nothing unreadable, the hostname is there.
    let intact = report_json(&root);
    assert_eq!(unreadable(&intact), []);
    let hostname = std::fs::read_to_string(root.join("proc/sys/kernel/hostname")).unwrap();
    assert_eq!(intact["host"]["hostname"], hostname.trim());

    // Damage: cpuinfo cut mid-line, meminfo empty, version binary, os-release
    // far over the read cap.
    let cpuinfo = std::fs::read(root.join("proc/cpuinfo")).unwrap();
    std::fs::write(root.join("proc/cpuinfo"), &cpuinfo[..cpuinfo.len() / 2 + 3]).unwrap();
    std::fs::write(root.join("proc/meminfo"), b"").unwrap();
    std::fs::write(
        root.join("sys/kernel/mm/transparent_hugepage/enabled"),
        [0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28],
    )
    .unwrap();
    let mut huge = b"PRETTY_NAME=\"Huge\"\n".to_vec();
    huge.resize(9 << 20, b'x');
    std::fs::write(root.join("etc/os-release"), &huge).unwrap();

    let damaged = report_json(&root);
    let problems = unreadable(&damaged);
    let problem = |path: &str| {
        problems
            .iter()
            .find(|(p, _)| p.trim_start_matches('/') == path)
            .map(|(_, why)| why.as_str())
            .unwrap_or_else(|| panic!("{path} not reported in {problems:?}"))
    };
    assert!(problem("proc/meminfo").contains("empty"));
    assert!(problem("sys/kernel/mm/transparent_hugepage/enabled").contains("not text"));
    assert!(problem("etc/os-release").contains("larger than 4 MiB"));
    // What could be read still is: the hostname, and the text output too.
    assert_eq!(damaged["host"]["hostname"], hostname.trim());
    let out = run_with_timeout(
        Command::new(BIN)
            .args(["report", "--format", "txt"])
            .env("PERFSPECT_SYSROOT", &root),
        Duration::from_secs(120),
    );
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Files that could not be read"), "{text}");
    assert!(text.contains("transparent_hugepage/enabled"), "{text}");
}

/// Tiny deterministic generator (xorshift), so a failure replays.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_damage_to_every_file_never_fails_the_report() {
    let root = scratch("sysroot-random");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..12 {
        copy_real_files(&root);
        for rel in FILES {
            let path = root.join(rel);
            let mut bytes = std::fs::read(&path).unwrap();
            match rng.next() % 5 {
                0 => bytes.truncate((rng.next() as usize) % (bytes.len() + 1)),
                1 => bytes.clear(),
                2 => bytes = (0..(rng.next() % 4096)).map(|_| rng.next() as u8).collect(),
                3 => {
                    for _ in 0..8 {
                        if !bytes.is_empty() {
                            let i = (rng.next() as usize) % bytes.len();
                            bytes[i] = rng.next() as u8;
                        }
                    }
                }
                _ => {}
            }
            std::fs::write(&path, &bytes).unwrap();
        }
        let report = report_json(&root);
        assert!(
            report["host"].is_object() && report["insights"].is_object(),
            "round {round}: sections missing"
        );
    }
}
