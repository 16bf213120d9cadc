//! `cargo dist`: every artifact, byte-identical on every rerun and from a clone elsewhere.

use std::fs;

use crate::support::*;

#[test]
fn dist_builds_every_artifact_byte_identical_on_every_rerun() {
    let _serial = serial();
    // Warm: the shared build compiled this tree once; dist-b below compiles it
    // cold and must give the same bytes.
    let a = warm_repo("dist-a");
    let err = ok(xtask(&a, &["dist"], &[]));
    for stage in ["tools", "builder", "build", "check", "package", "verify"] {
        assert!(
            err.contains(&format!("==> {stage}: started")),
            "{}",
            tail(&err)
        );
        assert!(
            err.contains(&format!("==> {stage}: done in ")),
            "{}",
            tail(&err)
        );
    }
    // What the check stage compared is in the log, per architecture.
    assert!(
        err.contains(
            "embedded tools match tools-cache/ by sha256 (x86_64: ethtool, fio, intel-speed-select, ipmitool, lspci, pci.ids, perf, smartctl, turbostat; aarch64: ethtool, fio, ipmitool, lspci, pci.ids, perf, smartctl)"
        ),
        "{}",
        tail(&err)
    );
    check_dist(&a);
    exercise_packaged_binaries(&a);
    // The first release, kept aside to compare every later one with.
    let first = a.with_extension("first");
    remove_when_passed(&first);
    let _ = fs::remove_dir_all(&first);
    run(
        "cp",
        &[
            "-a",
            a.join("dist").to_str().unwrap(),
            first.to_str().unwrap(),
        ],
    );

    // A corrupted cached binary is detected, only its tool is rebuilt, and
    // the release is the same.
    flip_byte(&a.join("tools-cache/bin/x86_64/perf"), 4096);
    let err = ok(xtask(&a, &["dist"], &[]));
    assert!(
        err.contains("perf: rebuilding from source: tools-cache/bin/x86_64/perf does not match")
            && err.contains("built from source: perf; reused: turbostat,"),
        "{}",
        tail(&err)
    );
    same_release(&first, &a.join("dist"), "after a cache rebuild");

    // Rerun in place: nothing changed, nothing differs; a detached HEAD at the
    // same commit builds the same release.
    ok(xtask(&a, &["dist"], &[]));
    same_release(&first, &a.join("dist"), "on a rerun");
    git(&a, &["checkout", "-q", "--detach"]);
    ok(xtask(&a, &["dist"], &[]));
    same_release(&first, &a.join("dist"), "from a detached HEAD");

    // A clone of the same commit at another path, with another umask, time
    // zone and locale, and its own cold compile.
    let b = workspace().join("target/e2e/elsewhere/dist-b");
    remove_when_passed(b.parent().unwrap());
    if b.exists() {
        fs::remove_dir_all(&b).unwrap();
    }
    fs::create_dir_all(b.parent().unwrap()).unwrap();
    git(
        &workspace(),
        &["clone", "--quiet", a.to_str().unwrap(), b.to_str().unwrap()],
    );
    let mut cmd = xtask_command(&b, &["dist"]);
    // SAFETY: umask is async-signal-safe, so it may run between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::umask(0o077);
            Ok(())
        });
    }
    let out = cmd
        .env("TZ", "Pacific/Kiritimati")
        .env("LANG", "fr_FR.UTF-8")
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap();
    ok(out);
    // The variation took: what the run created is private to its owner.
    let lock = fs::metadata(b.join("target/xtask.lock")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&lock.permissions()) & 0o077,
        0
    );
    same_release(&first, &b.join("dist"), "from a clone at another path");

    // A dirty tree builds, says so, and the binary says so too.
    let main_rs = a.join("perfspect/src/main.rs");
    fs::write(
        &main_rs,
        fs::read_to_string(&main_rs).unwrap() + "\n// an uncommitted edit\n",
    )
    .unwrap();
    let err = ok(xtask(&a, &["dist"], &[]));
    // An edit outside tools/ leaves the tools cache valid.
    assert!(
        err.contains("==> tools: done in") && err.contains("(cache hit"),
        "{}",
        tail(&err)
    );
    assert!(
        err.contains("warning: the working tree has uncommitted changes"),
        "{}",
        tail(&err)
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(a.join("dist/manifest.json")).unwrap()).unwrap();
    let commit = manifest["commit"].as_str().unwrap().to_string();
    let bin = a.join("target/dist-build/x86_64-unknown-linux-gnu/release/perfspect");
    let version = run(bin.to_str().unwrap(), &["--version"]);
    assert!(version.contains(&format!("{commit}-dirty")), "{version}");
}
