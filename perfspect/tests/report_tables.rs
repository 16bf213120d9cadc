//! `perfspect report` on this machine, as it is and as an unprivileged user,
//! in all four formats: every group present, every absent value explained,
//! the xlsx opened by openpyxl, the HTML rendered by headless Chromium.

mod support;

use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::browser::{load, load_clean, read_xlsx};
use support::{run_with_timeout, scratch};

const BIN: &str = env!("CARGO_BIN_EXE_perfspect");

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Runs the report into `dir`; as uid/gid 65534 when `unprivileged` and we
/// are root (a test run as a user is unprivileged already).
fn report_into(dir: &Path, unprivileged: bool) {
    let mut cmd = if unprivileged && is_root() {
        // A copy of the binary nobody can reach, whatever the checkout's modes.
        let bin = dir.join("perfspect");
        std::fs::copy(BIN, &bin).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin);
        c
    } else {
        Command::new(BIN)
    };
    cmd.args(["report", "-f", "txt,json,html,xlsx", "-o"])
        .arg(dir);
    let out = run_with_timeout(&mut cmd, Duration::from_secs(120));
    assert!(
        out.status.success(),
        "report failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in ["report.txt", "report.json", "report.html", "report.xlsx"] {
        assert!(dir.join(f).exists(), "{f} not written");
        assert!(
            std::fs::metadata(dir.join(f)).unwrap().len() > 0,
            "{f} empty"
        );
    }
}

const GROUPS: [&str; 12] = [
    "Summary", "Software", "CPU", "Power", "Memory", "Network", "Storage", "Devices", "Security",
    "Status", "Logs", "Insights",
];

/// Every null in the JSON has its reason in the section's `why_null`.
fn every_null_explained(j: &Value) -> usize {
    let mut nulls = 0;
    for (key, sec) in j.as_object().unwrap() {
        if key == "perfspect" {
            continue;
        }
        let why = &sec["why_null"];
        for (k, v) in sec.as_object().unwrap() {
            if v.is_null() {
                nulls += 1;
                let w = why[k]
                    .as_str()
                    .unwrap_or_else(|| panic!("{key}.{k} is null with no reason"));
                assert!(!w.is_empty() && w != "unknown", "{key}.{k}: {w}");
            }
            if let Some(rows) = v.as_array() {
                for (i, row) in rows.iter().enumerate() {
                    for (c, cell) in row.as_object().into_iter().flatten() {
                        if cell.is_null() {
                            nulls += 1;
                            assert!(
                                why[format!("{k}.{i}.{c}")].is_string(),
                                "{key}.{k}[{i}].{c} is null with no reason"
                            );
                        }
                    }
                }
            }
        }
    }
    nulls
}

fn check_outputs(dir: &Path) -> Value {
    let j: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let groups: std::collections::BTreeSet<&str> = j
        .as_object()
        .unwrap()
        .values()
        .filter_map(|s| s["group"].as_str())
        .collect();
    for g in GROUPS {
        assert!(groups.contains(g), "group {g} missing");
    }
    for key in [
        "bios",
        "system",
        "baseboard",
        "chassis",
        "software",
        "cpu_details",
        "power_limits",
        "uncore",
        "speed_select",
        "dimms",
        "nic",
        "network_sysctls",
        "disks",
        "devices",
        "cve_msr",
        "processes",
        "ipmi_sensors",
        "chassis_status",
        "pmu",
        "ipmi_sel",
        "kernel_log",
        "insights",
    ] {
        assert!(j[key].is_object(), "section {key} missing");
    }
    assert!(
        every_null_explained(&j) > 0,
        "this VM has absent values; none found"
    );
    let txt = std::fs::read_to_string(dir.join("report.txt")).unwrap();
    assert!(
        txt.contains("n/a: "),
        "absent values carry their reason in the text report"
    );
    // The xlsx, read back by a real reader: one sheet per group, in order.
    let x = read_xlsx(&dir.join("report.xlsx"));
    let sheets: Vec<&String> = x.as_object().unwrap().keys().collect();
    for g in GROUPS {
        assert!(
            sheets.iter().any(|s| *s == g),
            "sheet {g} missing: {sheets:?}"
        );
    }
    let cpu = x["CPU"].as_array().unwrap();
    assert_eq!(cpu[0][0], "CPU", "first cell is the first section's title");
    let flat = serde_json::to_string(&x["Summary"]).unwrap();
    assert!(
        flat.contains(j["host"]["kernel"].as_str().unwrap()),
        "kernel in the Summary sheet"
    );
    j
}

fn check_html(dir: &Path) {
    // Fails on any console message and any request leaving the page.
    let dom = load_clean(&dir.join("report.html"));
    for g in GROUPS {
        assert!(dom.contains(&format!("<b>{g}</b>")), "menu entry {g}");
    }
    assert!(dom.contains("<section id=\"insights\">"));
}

#[test]
fn report_all_formats_as_this_user() {
    let dir = scratch("self");
    report_into(&dir, false);
    let j = check_outputs(&dir);
    check_html(&dir);
    if is_root() {
        // Root reads the SMBIOS table when there is one; never "needs root".
        let why = j["bios"]["why_null"]["vendor"].as_str().unwrap_or("");
        assert!(!why.starts_with("needs root"), "{why}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn report_all_formats_unprivileged() {
    // Under the system temp dir: the target dir may sit where nobody cannot go.
    let dir = std::env::temp_dir().join(format!("perfspect-report-nobody-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    report_into(&dir, true);
    let j = check_outputs(&dir);
    check_html(&dir);
    // What only root may read says so.
    let restricted = std::fs::read_to_string("/proc/sys/kernel/dmesg_restrict").unwrap_or_default();
    if restricted.trim() == "1" {
        let why = j["kernel_log"]["why_null"]["kernel_log"].as_str().unwrap();
        assert!(why.starts_with("needs root"), "{why}");
    }
    if Path::new("/sys/firmware/dmi/tables/DMI").exists() {
        let why = j["bios"]["why_null"]["vendor"].as_str().unwrap_or("");
        assert!(why.is_empty() || why.starts_with("needs root"), "{why}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The Chromium check catches what it is there to catch.
#[test]
fn chromium_check_sees_console_errors_and_outside_requests() {
    let dir = scratch("bad-page");
    let page = dir.join("bad.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><body><img src=\"http://perfspect.invalid/x.png\">\
         <script>console.error('boom')</script></body></html>",
    )
    .unwrap();
    let seen = load(&page);
    assert!(
        seen.console.iter().any(|c| c.contains("boom")),
        "{:?}",
        seen.console
    );
    assert_eq!(seen.outside_requests, ["http://perfspect.invalid/x.png"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn one_table() {
    let out = run_with_timeout(
        Command::new(BIN).args(["report", "--table", "isa_features", "-f", "json"]),
        Duration::from_secs(120),
    );
    assert!(out.status.success());
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys: Vec<&String> = j.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["cpu_details", "perfspect"]);
    assert!(j["cpu_details"]["isa_features"].is_array());
    assert!(j["cpu_details"].get("ppin").is_none(), "only the table");
    let bad = run_with_timeout(
        Command::new(BIN).args(["report", "--table", "nope"]),
        Duration::from_secs(120),
    );
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("no table named 'nope'") && err.contains("dimms"),
        "{err}"
    );
}

#[test]
fn xlsx_to_a_pipe() {
    let out = run_with_timeout(
        Command::new(BIN).args(["report", "-f", "xlsx"]),
        Duration::from_secs(120),
    );
    assert!(out.status.success());
    assert_eq!(&out.stdout[..2], b"PK", "an xlsx is a zip");
}
