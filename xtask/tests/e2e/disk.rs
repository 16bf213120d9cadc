//! A full disk, before and during a run.

use std::fs;
use std::path::Path;

use crate::support::*;

#[test]
fn a_full_disk_is_refused_before_anything_is_written() {
    let _serial = serial();
    // 64 MiB stands in for a nearly full disk.
    let _disk = SmallDisk::mount("small-disk", "64m");
    let root = scratch_repo("small-disk/repo");
    let err = fails(xtask(&root, &["dist"], &[]));
    let last = err.trim_end().lines().last().unwrap().to_string();
    assert!(
        last.contains("not enough free disk for the checkout") && last.contains("GiB needed"),
        "{err}"
    );
    assert!(
        !root.join("dist").exists()
            && !root.join("tools-cache").exists()
            && !root.join(".staging").exists()
    );
}

/// Runs `xtask <args>` and fills `disk` as soon as the run prints a line
/// starting with `trigger`; returns whether it succeeded and its output.
fn fill_during(root: &Path, args: &[&str], trigger: &str, disk: &SmallDisk) -> (bool, String) {
    use std::io::{BufRead, BufReader};
    let mut child = xtask_command(root, args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut text = String::new();
    let mut filled = false;
    for line in BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok)
    {
        if !filled && line.starts_with(trigger) {
            disk.fill();
            filled = true;
        }
        text += &line;
        text += "\n";
    }
    let status = child.wait().unwrap();
    assert!(
        filled,
        "the run never printed `{trigger}`:\n{}",
        tail(&text)
    );
    (status.success(), text)
}

#[test]
fn a_disk_that_fills_during_a_run_fails_it_in_one_line_and_keeps_outputs_whole() {
    let _serial = serial();
    // Room enough for the preflight check (2 GiB); then it fills mid-run.
    let disk = SmallDisk::mount("filling-disk", "3200m");
    let root = warm_repo("filling-disk/repo");
    let mut found = Vec::new();
    let mut full = |when: &str, text: &str| {
        let last = text.trim_end().lines().last().unwrap_or("");
        let lower = last.to_ascii_lowercase();
        assert!(
            lower.starts_with("error: ")
                && lower.contains("no space left on device")
                && lower.contains("the disk is full; free space"),
            "{}",
            tail(text)
        );
        found.push(format!("disk full {when}: {last}"));
    };
    let no_staging = |root: &Path| assert!(!root.join(".staging").exists(), "staging left behind");

    // While the tools are copied out of their image into a new cache.
    let (succeeded, text) = fill_during(&root, &["dist"], "==> tools: started", &disk);
    assert!(!succeeded);
    full("during the tools extraction", &text);
    assert!(!root.join("tools-cache").exists() && !root.join("dist").exists());
    no_staging(&root);
    disk.empty();
    ok(xtask(&root, &["tools"], &[]));

    // While the build container compiles into target/.
    let main_rs = root.join("perfspect/src/main.rs");
    fs::write(
        &main_rs,
        fs::read_to_string(&main_rs).unwrap() + "\n// fill\n",
    )
    .unwrap();
    let (succeeded, text) = fill_during(&root, &["dist"], "$ docker run", &disk);
    assert!(!succeeded);
    full("during the compile", &text);
    assert!(!root.join("dist").exists());
    cache_is_intact(&root);
    no_staging(&root);
    disk.empty();
    git(&root, &["checkout", "-q", "perfspect/src/main.rs"]);
    ok(xtask(&root, &["dist"], &[]));
    check_dist(&root);
    let complete = snapshot(&root.join("dist"));

    // While the artifacts are written: the previous dist/ stays whole.
    fs::write(
        &main_rs,
        fs::read_to_string(&main_rs).unwrap() + "\n// fill\n",
    )
    .unwrap();
    let (succeeded, text) = fill_during(&root, &["dist"], "==> package: started", &disk);
    assert!(!succeeded);
    full("during packaging", &text);
    assert_eq!(snapshot(&root.join("dist")), complete);
    no_staging(&root);
    disk.empty();

    write_probe_log("filling-disk", &found);

    // Once there is room again, the same commit builds the same release.
    git(&root, &["checkout", "-q", "perfspect/src/main.rs"]);
    ok(xtask(&root, &["dist"], &[]));
    assert_eq!(snapshot(&root.join("dist")), complete);
}
