//! End-to-end tests on the real Docker engine. Each runs the xtask binary
//! against a scratch copy of this repository (under target/e2e/), so the
//! developer's own dist/ and tools-cache/ are never touched. Docker's layer
//! cache is shared, so only the first build and the forced rebuild compile the
//! tools for real. Nothing here is skipped when Docker is missing: it fails.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

/// The image tags are global to the daemon: one scenario at a time.
static DOCKER: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    DOCKER.lock().unwrap_or_else(|e| e.into_inner())
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A copy of the working tree (tracked and untracked, not ignored files) at
/// target/e2e/<name>, committed with a fixed author and date so every copy
/// of the same content has the same commit.
fn scratch_repo(name: &str) -> PathBuf {
    let dest = workspace().join("target/e2e").join(name);
    if dest.exists() {
        fs::remove_dir_all(&dest).unwrap();
    }
    let _ = fs::remove_file(dest.with_extension("log"));
    fs::create_dir_all(&dest).unwrap();
    let listing = git(
        &workspace(),
        &[
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ],
    );
    for rel in listing.split('\0').filter(|p| !p.is_empty()) {
        let src = workspace().join(rel);
        if !src.is_file() {
            continue;
        }
        let dst = dest.join(rel);
        fs::create_dir_all(dst.parent().unwrap()).unwrap();
        fs::copy(&src, &dst).unwrap();
    }
    git(&dest, &["init", "-q"]);
    git(&dest, &["add", "-A"]);
    git(&dest, &["commit", "-q", "-m", "e2e"]);
    dest
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=e2e",
            "-c",
            "user.email=e2e@localhost",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_DATE", "2026-11-24T10:20:30+00:00")
        .env("GIT_COMMITTER_DATE", "2026-11-24T10:20:30+00:00")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `xtask <args>` on the scratch repo `root`, with none of the settings the
/// caller's environment (a CI runner, say) may carry.
fn xtask_command(root: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.args(args)
        .current_dir(root)
        .env("CARGO_MANIFEST_DIR", root.join("xtask"));
    for var in [
        "SKIP_TOOLS_CACHE",
        "TOOLS_CACHE_HIT",
        "GITHUB_ACTIONS",
        "SOURCE_DATE_EPOCH",
        "PERFSPECT_BUILDX_CACHE",
        "PERFSPECT_DEBIAN_MIRROR",
        "PERFSPECT_XTASK_PAUSE_AT",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs `xtask <args>` on the scratch repo `root` with extra environment.
fn xtask(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = xtask_command(root, args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    // Keep the log of every run next to the scratch repo, for post-mortems.
    let log = root.with_extension("log");
    let mut text = fs::read_to_string(&log).unwrap_or_default();
    text += &format!("\n$ xtask {args:?} {env:?} -> {}\n", out.status);
    text += &String::from_utf8_lossy(&out.stderr);
    fs::write(&log, text).unwrap();
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[track_caller]
fn ok(out: Output) -> String {
    let err = stderr(&out);
    assert!(out.status.success(), "xtask failed:\n{}", tail(&err));
    err
}

#[track_caller]
fn fails(out: Output) -> String {
    let err = stderr(&out);
    assert!(
        !out.status.success(),
        "xtask succeeded but should have failed:\n{}",
        tail(&err)
    );
    err
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn sha256(path: &Path) -> String {
    run("sha256sum", &[path.to_str().unwrap()])
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

fn flip_byte(path: &Path, offset: usize) {
    let mut bytes = fs::read(path).unwrap();
    bytes[offset] ^= 0xff;
    fs::write(path, bytes).unwrap();
}

fn cache_is_intact(root: &Path) {
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(root.join("tools-cache/manifest.json")).unwrap()).unwrap();
    for (file, sha) in manifest["files"].as_object().unwrap() {
        assert_eq!(&sha256(&root.join("tools-cache").join(file)), sha, "{file}");
    }
}

#[test]
fn tools_stage_cold_build_hit_and_every_kind_of_miss() {
    let _serial = serial();
    let root = scratch_repo("tools");
    let cache = root.join("tools-cache");

    // Cold: no cache at all.
    let err = ok(xtask(&root, &["tools"], &[]));
    assert!(
        err.contains("tools cache miss: tools-cache/ is absent"),
        "{}",
        tail(&err)
    );
    cache_is_intact(&root);

    // The binaries: static, for the right architecture, and they run.
    for (arch, file_says) in [("x86_64", "x86-64"), ("aarch64", "ARM aarch64")] {
        for tool in ["perf", "fio"] {
            let bin = cache.join("bin").join(arch).join(tool);
            let file = run("file", &[bin.to_str().unwrap()]);
            assert!(
                file.contains(file_says) && file.contains("statically linked"),
                "{file}"
            );
            let version = if arch == "x86_64" {
                run(bin.to_str().unwrap(), &["--version"])
            } else {
                run("qemu-aarch64-static", &[bin.to_str().unwrap(), "--version"])
            };
            let expected = if tool == "perf" {
                "perf version 6.1"
            } else {
                "fio-3.33"
            };
            assert!(version.contains(expected), "{arch}/{tool}: {version}");
        }
    }
    let job_dir = root.with_extension("fio");
    fs::create_dir_all(&job_dir).unwrap();
    let report = run(
        cache.join("bin/x86_64/fio").to_str().unwrap(),
        &[
            "--name=e2e",
            &format!("--directory={}", job_dir.display()),
            "--size=8M",
            "--rw=randrw",
            "--bs=4k",
            "--ioengine=psync",
            "--output-format=json",
        ],
    );
    let json: serde_json::Value =
        serde_json::from_str(&report[report.find('{').unwrap()..]).unwrap();
    assert_eq!(json["jobs"][0]["error"], 0);
    assert!(json["jobs"][0]["read"]["io_bytes"].as_u64().unwrap() > 0);
    fs::remove_dir_all(&job_dir).unwrap();

    // Hit: unchanged tree.
    let err = ok(xtask(&root, &["tools"], &[]));
    assert!(err.contains("cache hit"), "{}", tail(&err));
    let original = sha256(&cache.join("bin/x86_64/fio"));

    // A changed byte in a binary.
    flip_byte(&cache.join("bin/x86_64/fio"), 1000);
    let err = ok(xtask(&root, &["tools"], &[]));
    assert!(
        err.contains("tools-cache/bin/x86_64/fio does not match its recorded sha256"),
        "{}",
        tail(&err)
    );
    assert_eq!(sha256(&cache.join("bin/x86_64/fio")), original);

    // A missing file.
    fs::remove_file(cache.join("oss_source.tgz.md5")).unwrap();
    let err = ok(xtask(&root, &["tools"], &[]));
    assert!(
        err.contains("tools-cache/oss_source.tgz.md5 is missing"),
        "{}",
        tail(&err)
    );
    cache_is_intact(&root);

    // A truncated file.
    let oss = cache.join("oss_source.tgz");
    let len = fs::metadata(&oss).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&oss)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let err = ok(xtask(&root, &["tools"], &[]));
    assert!(
        err.contains("tools-cache/oss_source.tgz does not match its recorded sha256"),
        "{}",
        tail(&err)
    );
    cache_is_intact(&root);

    // An unexpected file.
    fs::write(cache.join("bin/x86_64/extra"), "x").unwrap();
    let err = ok(xtask(&root, &["tools"], &[]));
    assert!(
        err.contains("tools-cache/bin/x86_64/extra is not a file the cache should hold"),
        "{}",
        tail(&err)
    );
    assert!(!cache.join("bin/x86_64/extra").exists());

    // A changed byte in the cache's own manifest.
    flip_byte(&cache.join("manifest.json"), 20);
    let err = ok(xtask(&root, &["tools"], &[]));
    assert!(
        err.contains("tools-cache/manifest.json is corrupt"),
        "{}",
        tail(&err)
    );
    cache_is_intact(&root);

    // An edit under tools/, even a comment, makes the cache stale.
    let versions = root.join("tools/versions.env");
    fs::write(
        &versions,
        fs::read_to_string(&versions).unwrap() + "# an edit\n",
    )
    .unwrap();
    let err = ok(xtask(&root, &["tools"], &[]));
    assert!(err.contains("stale"), "{}", tail(&err));
    let err = ok(xtask(&root, &["tools"], &[]));
    assert!(err.contains("cache hit"), "{}", tail(&err));

    // A pin the mirror does not serve fails in one line naming the pin to
    // update, and leaves the cache as it was.
    let pinned = fs::read_to_string(&versions).unwrap();
    fs::write(
        &versions,
        pinned.replace("FIO_VERSION=3.33-3", "FIO_VERSION=0.0-0"),
    )
    .unwrap();
    let err = fails(xtask(&root, &["tools"], &[]));
    let last = err.trim_end().lines().last().unwrap();
    assert!(
        last.contains("fio 0.0-0 is not on")
            && last.contains("update FIO_VERSION in tools/versions.env"),
        "{}",
        tail(&err)
    );
    fs::write(&versions, pinned).unwrap();
    cache_is_intact(&root);

    // CI said it restored the cache: still verified.
    flip_byte(&cache.join("bin/aarch64/perf"), 5000);
    let err = ok(xtask(&root, &["tools"], &[("TOOLS_CACHE_HIT", "true")]));
    assert!(
        err.contains("warning: TOOLS_CACHE_HIT=true but the restored cache is not usable"),
        "{}",
        tail(&err)
    );
    cache_is_intact(&root);

    // Unexpected values are refused, with the variable named.
    let err = fails(xtask(&root, &["tools"], &[("SKIP_TOOLS_CACHE", "maybe")]));
    assert!(
        err.contains("SKIP_TOOLS_CACHE has unexpected value `maybe`"),
        "{err}"
    );

    // clean-tools-cache removes it, and succeeds when there is nothing left.
    let err = ok(xtask(&root, &["clean-tools-cache"], &[]));
    assert!(err.contains("removed tools-cache/"), "{err}");
    assert!(!cache.exists());
    let err = ok(xtask(&root, &["clean-tools-cache"], &[]));
    assert!(err.contains("nothing to remove"), "{err}");

    // Each rebuild moved the tools image's tag; the images it left untagged are gone.
    assert_eq!(
        our_dangling_images(),
        "",
        "dangling images of ours were left"
    );
}

#[test]
fn forced_rebuild_compiles_from_source_and_refreshes_the_cache() {
    let _serial = serial();
    let root = scratch_repo("forced");
    ok(xtask(&root, &["tools"], &[]));
    let before = fs::read_to_string(root.join("tools-cache/manifest.json")).unwrap();
    // SKIP_TOOLS_CACHE=1 is --no-cache: the cache and Docker's layers are ignored.
    let err = ok(xtask(&root, &["tools"], &[("SKIP_TOOLS_CACHE", "1")]));
    assert!(
        err.contains("a rebuild from source was asked for"),
        "{}",
        tail(&err)
    );
    // Only the base image itself may be reported as cached; every step runs.
    assert_eq!(
        err.matches("CACHED").count(),
        1,
        "a forced rebuild reused Docker layers:\n{}",
        tail(&err)
    );
    assert!(
        err.contains("LD      /build/perf-in.o"),
        "perf was not compiled:\n{}",
        tail(&err)
    );
    cache_is_intact(&root);
    let after: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(root.join("tools-cache/manifest.json")).unwrap())
            .unwrap();
    let before: serde_json::Value = serde_json::from_str(&before).unwrap();
    assert_eq!(after["key"], before["key"]);
    // perf and fio build reproducibly: the same bytes from a cold compile.
    assert_eq!(
        after["files"], before["files"],
        "a cold rebuild gave different tools"
    );
}

/// sha256 of every file in `dir`, by name.
fn snapshot(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                sha256(&e.path()),
            )
        })
        .collect();
    files.sort();
    files
}

fn check_output(dir: &Path, program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{program} {args:?} in {}: {text}",
        dir.display()
    );
    text
}

/// Asserts `other` holds the same files as `reference`, byte for byte; when
/// not, diffoscope explains each difference in the failure message.
fn same_release(reference: &Path, other: &Path, what: &str) {
    let (a, b) = (snapshot(reference), snapshot(other));
    if a == b {
        return;
    }
    let mut report = format!(
        "the release built {what} differs from the first one:\nfirst: {a:?}\nthis: {b:?}\n"
    );
    for (name, sha) in &a {
        if b.iter().any(|(n, s)| n == name && s == sha) {
            continue;
        }
        let out = Command::new("diffoscope")
            .args(["--text", "-", "--max-report-size", "20000"])
            .arg(reference.join(name))
            .arg(other.join(name))
            .output();
        report += &match out {
            Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
            Err(e) => format!("{name} differs (diffoscope could not run: {e})\n"),
        };
    }
    panic!("{report}");
}

/// Every artifact of dist/ as the release promises it.
fn check_dist(root: &Path) {
    let dist = root.join("dist");
    let names: Vec<String> = snapshot(&dist).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "SHA256SUMS",
            "manifest.json",
            "oss_source.tgz",
            "perfspect-aarch64.tgz",
            "perfspect-aarch64.tgz.md5.txt",
            "perfspect.tgz",
            "perfspect.tgz.md5.txt",
        ]
    );
    check_output(
        &dist,
        "md5sum",
        &[
            "-c",
            "perfspect.tgz.md5.txt",
            "perfspect-aarch64.tgz.md5.txt",
        ],
    );
    let sums = check_output(&dist, "sha256sum", &["-c", "SHA256SUMS"]);
    assert_eq!(
        sums.lines().filter(|l| l.ends_with(": OK")).count(),
        6,
        "{sums}"
    );
    assert_eq!(
        sha256(&dist.join("oss_source.tgz")),
        sha256(&root.join("tools-cache/oss_source.tgz"))
    );

    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(dist.join("manifest.json")).unwrap()).unwrap();
    let commit = git(root, &["rev-parse", "--short=8", "HEAD"])
        .trim()
        .to_string();
    let expected = serde_json::json!({
        "version": fs::read_to_string(root.join("version.txt")).unwrap().trim(),
        "date": git(root, &["show", "-s", "--format=%cd", "--date=format:%Y-%m-%d", "HEAD"]).trim(),
        "time": git(root, &["show", "-s", "--format=%cd", "--date=format:%H:%M:%S", "HEAD"]).trim(),
        "commit": commit,
    });
    assert_eq!(manifest, expected);

    let unpack = root.with_extension("unpack");
    for (tarball, arch, file_says) in [
        ("perfspect.tgz", "x86_64", "x86-64"),
        ("perfspect-aarch64.tgz", "aarch64", "ARM aarch64"),
    ] {
        let bytes = fs::read(dist.join(tarball)).unwrap();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes.as_slice()));
        let mut paths = Vec::new();
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            let h = entry.header();
            assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (0, 0));
            paths.push(entry.path().unwrap().to_string_lossy().into_owned());
        }
        assert_eq!(
            paths,
            [
                "perfspect/",
                "perfspect/LICENSE",
                "perfspect/NOTICE",
                "perfspect/THIRD_PARTY_PROGRAMS",
                "perfspect/perfspect",
                "perfspect/tools/",
                "perfspect/tools/aarch64/",
                "perfspect/tools/x86_64/",
            ]
        );
        if unpack.exists() {
            fs::remove_dir_all(&unpack).unwrap();
        }
        fs::create_dir_all(&unpack).unwrap();
        tar::Archive::new(flate2::read::GzDecoder::new(bytes.as_slice()))
            .unpack(&unpack)
            .unwrap();
        let bin = unpack.join("perfspect/perfspect");
        let file = run("file", &[bin.to_str().unwrap()]);
        assert!(
            file.contains(file_says) && file.contains("static"),
            "{tarball}: {file}"
        );
        let version = if arch == "x86_64" {
            run(bin.to_str().unwrap(), &["--version"])
        } else {
            run("qemu-aarch64-static", &[bin.to_str().unwrap(), "--version"])
        };
        let stamp = format!(
            "{}_{}_{commit}",
            expected["version"].as_str().unwrap(),
            expected["date"].as_str().unwrap()
        );
        assert!(
            version.contains(&stamp),
            "{tarball}: `{version}` lacks {stamp}"
        );
    }
    fs::remove_dir_all(&unpack).unwrap();
}

/// The packaged perfspect, run on this host with its embedded tools: every
/// command, and the aarch64 binary's report under qemu.
fn exercise_packaged_binaries(root: &Path) {
    let unpack = root.with_extension("run");
    let _ = fs::remove_dir_all(&unpack);
    for tarball in ["perfspect.tgz", "perfspect-aarch64.tgz"] {
        let dir = unpack.join(tarball);
        fs::create_dir_all(&dir).unwrap();
        let bytes = fs::read(root.join("dist").join(tarball)).unwrap();
        tar::Archive::new(flate2::read::GzDecoder::new(bytes.as_slice()))
            .unpack(&dir)
            .unwrap();
    }
    let x86 = unpack.join("perfspect.tgz/perfspect/perfspect");
    let x86 = x86.to_str().unwrap();
    let tools = run(x86, &["tools", "list", "--format", "json"]);
    let tools: serde_json::Value = serde_json::from_str(&tools).unwrap();
    let list = tools["tools"].as_array().unwrap();
    let names: Vec<&str> = list.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["perf", "fio"], "{tools}");
    assert!(list.iter().all(|t| t["source"] == "embedded"), "{tools}");

    let report: serde_json::Value =
        serde_json::from_str(&run(x86, &["report", "--format", "json"])).unwrap();
    assert!(
        report["cpu"].is_object() && report["memory"].is_object(),
        "{report}"
    );

    let metrics = run(x86, &["metrics", "--duration", "2", "--format", "json"]);
    let metrics: serde_json::Value = serde_json::from_str(&metrics).unwrap();
    assert!(metrics.is_object(), "{metrics}");

    let scratch = unpack.join("fio-dir");
    fs::create_dir_all(&scratch).unwrap();
    let bench = run(
        x86,
        &[
            "benchmark",
            "--storage",
            "--dir",
            scratch.to_str().unwrap(),
            "--size",
            "16M",
            "--runtime",
            "1",
            "--format",
            "json",
        ],
    );
    let bench: serde_json::Value = serde_json::from_str(&bench).unwrap();
    assert!(bench.is_object(), "{bench}");
    assert_eq!(
        fs::read_dir(&scratch).unwrap().count(),
        0,
        "the benchmark left files behind"
    );

    let arm = unpack.join("perfspect-aarch64.tgz/perfspect/perfspect");
    let report = run(
        "qemu-aarch64-static",
        &[arm.to_str().unwrap(), "report", "--format", "json"],
    );
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert!(report["cpu"].is_object(), "{report}");

    // The same binary with one byte of its embedded fio altered after the
    // build: perfspect checks what it extracted and refuses to run it.
    let fio = fs::read(root.join("tools-cache/bin/x86_64/fio")).unwrap();
    let mut binary = fs::read(x86).unwrap();
    let at = binary
        .windows(fio.len())
        .position(|w| w == fio.as_slice())
        .expect("the packaged binary embeds tools-cache's fio");
    binary[at + fio.len() / 2] ^= 0xff;
    let tampered = unpack.join("tampered-perfspect");
    fs::write(&tampered, binary).unwrap();
    run("chmod", &["755", tampered.to_str().unwrap()]);
    let out = Command::new(&tampered)
        .args(["benchmark", "--storage", "--dir"])
        .arg(&scratch)
        .args(["--size", "16M", "--runtime", "1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && err.contains("checksum mismatch for fio")
            && err.contains("refusing to run it"),
        "{err}"
    );
    assert_eq!(fs::read_dir(&scratch).unwrap().count(), 0);
    fs::remove_dir_all(&unpack).unwrap();
}

#[test]
fn dist_builds_every_artifact_byte_identical_on_every_rerun() {
    let _serial = serial();
    let a = scratch_repo("dist-a");
    let err = ok(xtask(&a, &["dist"], &[]));
    for stage in ["tools", "builder", "build", "package"] {
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
    check_dist(&a);
    exercise_packaged_binaries(&a);
    // The first release, kept aside to compare every later one with.
    let first = a.with_extension("first");
    let _ = fs::remove_dir_all(&first);
    run(
        "cp",
        &[
            "-a",
            a.join("dist").to_str().unwrap(),
            first.to_str().unwrap(),
        ],
    );

    // A corrupted cache is detected, rebuilt, and the release is the same.
    flip_byte(&a.join("tools-cache/bin/x86_64/perf"), 4096);
    let err = ok(xtask(&a, &["dist"], &[]));
    assert!(
        err.contains("tools-cache/bin/x86_64/perf does not match"),
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

#[test]
fn bad_hosts_and_inputs_fail_in_one_line_and_write_nothing() {
    let _serial = serial();
    let root = scratch_repo("refusals");
    let nothing_written = |root: &Path| {
        for output in ["dist", "tools-cache", ".staging"] {
            assert!(!root.join(output).exists(), "{output} was written");
        }
    };
    let last_line = |err: &str| err.trim_end().lines().last().unwrap_or("").to_string();

    // A stopped daemon: its socket file is still there, nothing listens on it.
    let stale = root.with_extension("docker.sock");
    let _ = fs::remove_file(&stale);
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let stopped = format!("unix://{}", stale.display());

    // Each bad host or setting: the command, its environment, and what the
    // last line of its output says.
    type Refusal<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let refusals: &[Refusal] = &[
        (
            &["dist", "--base-image", "perfspect-e2e-absent:none"],
            &[],
            "base image perfspect-e2e-absent:none is not present: run `cargo xtask setup`",
        ),
        (
            &["tools"],
            &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
            "Docker daemon is not reachable",
        ),
        (
            &["dist"],
            &[("DOCKER_HOST", &stopped)],
            "Docker daemon is not reachable",
        ),
        (
            &["tools"],
            &[("PATH", "/nonexistent")],
            "docker CLI is not installed: run `cargo xtask setup`",
        ),
        // The build containers cannot reach the Debian mirror (nothing
        // listens on port 9 of a container's loopback).
        (
            &["tools"],
            &[("PERFSPECT_DEBIAN_MIRROR", "http://127.0.0.1:9/debian")],
            "the Debian mirror http://127.0.0.1:9/debian is not reachable from the build containers: \
             check Docker's network and proxy settings, or set PERFSPECT_DEBIAN_MIRROR",
        ),
        (
            &["dist"],
            &[("PERFSPECT_DEBIAN_MIRROR", "deb.debian.org")],
            "PERFSPECT_DEBIAN_MIRROR has unexpected value `deb.debian.org`",
        ),
        (
            &["dist"],
            &[("TOOLS_CACHE_HIT", "perhaps")],
            "TOOLS_CACHE_HIT has unexpected value `perhaps`",
        ),
        (
            &["dist"],
            &[("SOURCE_DATE_EPOCH", "yesterday")],
            "SOURCE_DATE_EPOCH is `yesterday`",
        ),
    ];
    for (args, env, says) in refusals {
        let err = fails(xtask(&root, args, env));
        assert!(last_line(&err).contains(says), "{}", tail(&err));
        nothing_written(&root);
    }

    let err = fails(xtask(&root, &["frobnicate"], &[]));
    assert!(
        err.contains("unrecognized subcommand 'frobnicate'"),
        "{err}"
    );
    let err = fails(xtask(&root, &["dist", "--frob"], &[]));
    assert!(err.contains("unexpected argument '--frob'"), "{err}");

    fs::write(root.join("version.txt"), "\n").unwrap();
    let err = fails(xtask(&root, &["dist"], &[]));
    assert!(last_line(&err).contains("version.txt is empty"), "{err}");
    fs::write(root.join("version.txt"), "3.0 final\n").unwrap();
    let err = fails(xtask(&root, &["dist"], &[]));
    assert!(
        last_line(&err).contains("not a version like 3.0.0"),
        "{err}"
    );
    git(&root, &["checkout", "-q", "version.txt"]);

    // A directory without git is refused (the ceiling keeps git from finding
    // the repository this scratch copy lives in).
    fs::remove_dir_all(root.join(".git")).unwrap();
    let ceiling = root.parent().unwrap().to_str().unwrap().to_string();
    let err = fails(xtask(
        &root,
        &["dist"],
        &[("GIT_CEILING_DIRECTORIES", &ceiling)],
    ));
    assert!(last_line(&err).contains("is not a git work tree"), "{err}");
    nothing_written(&root);
}

/// A scratch repo whose target/dist-build is seeded from the first dist test's
/// (the container compiles at the same fixed paths, so the copy is warm).
fn warm_repo(name: &str) -> PathBuf {
    let root = scratch_repo(name);
    let warm = workspace().join("target/e2e/dist-a/target/dist-build");
    if warm.is_dir() {
        fs::create_dir_all(root.join("target")).unwrap();
        run(
            "cp",
            &[
                "-a",
                warm.to_str().unwrap(),
                root.join("target/dist-build").to_str().unwrap(),
            ],
        );
    }
    root
}

/// Containers of ours, running or not (every one carries the owner label).
fn our_containers() -> String {
    run(
        "docker",
        &[
            "ps",
            "--all",
            "--quiet",
            "--filter",
            "label=org.perfspect.owner",
        ],
    )
}

/// Images of ours that no tag names any more.
fn our_dangling_images() -> String {
    ["org.perfspect.tools.key", "org.perfspect.builder.key"]
        .iter()
        .map(|label| {
            run(
                "docker",
                &[
                    "images",
                    "--quiet",
                    "--filter",
                    "dangling=true",
                    "--filter",
                    &format!("label={label}"),
                ],
            )
        })
        .collect::<String>()
        .trim()
        .to_string()
}

/// When a probe signals the run.
#[derive(Debug, Clone, Copy)]
enum At {
    /// This long after the start, wherever the run is.
    After(u64),
    /// Once the run holds still at this named point (PERFSPECT_XTASK_PAUSE_AT).
    Paused(&'static str),
}

/// Starts `xtask <command>` in its own process group and, at `at`, sends
/// `signal` to the whole group, as Ctrl-C in a terminal does. Returns the last
/// stage line the run had printed by then, whether it had already ended, and
/// when the signal was sent.
fn interrupt(
    root: &Path,
    command: &str,
    signal: &str,
    at: At,
) -> (String, bool, std::time::Instant) {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::CommandExt;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    let mut cmd = xtask_command(root, &[command]);
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .process_group(0);
    if let At::Paused(point) = at {
        cmd.env("PERFSPECT_XTASK_PAUSE_AT", point);
    }
    let mut child = cmd.spawn().unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut stage = "before any stage".to_string();
    let mut note = |line: &str| {
        if line.starts_with("==> ") {
            stage = line.to_string();
        } else if line.starts_with("$ docker ") {
            // The docker command under way, by its first words.
            let words: Vec<&str> = line.split_whitespace().take(3).collect();
            stage = format!(
                "{} / {}",
                stage.split(" / ").next().unwrap(),
                words.join(" ")
            );
        }
    };
    let start = Instant::now();
    let mut ended = false;
    match at {
        At::After(ms) => {
            let deadline = start + Duration::from_millis(ms);
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match rx.recv_timeout(left) {
                    Ok(line) => note(&line),
                    Err(mpsc::RecvTimeoutError::Timeout) => break,
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        ended = true;
                        std::thread::sleep(left);
                        break;
                    }
                }
            }
        }
        At::Paused(point) => loop {
            let line = rx
                .recv_timeout(Duration::from_secs(300))
                .unwrap_or_else(|e| panic!("the run never reached {point}: {e}"));
            note(&line);
            if line.starts_with(&format!("paused at {point}")) {
                break;
            }
        },
    }
    let group = format!("-{}", child.id());
    let signalled = Instant::now();
    let _ = Command::new("kill")
        .args([&format!("-{signal}"), "--", &group])
        .status();
    child.wait().unwrap();
    reader.join().unwrap();
    (stage, ended, signalled)
}

/// What a probe found in one output directory.
fn state(now: Option<Vec<(String, String)>>, before: &[(String, String)]) -> &'static str {
    match now {
        None => "absent",
        Some(now) if now == before => "previous",
        Some(_) => "new",
    }
}

/// A directory's snapshot, or None when it does not exist.
fn maybe_snapshot(dir: &Path) -> Option<Vec<(String, String)>> {
    dir.exists().then(|| snapshot(dir))
}

/// The finding of the probe whose line starts with `probe`.
fn finding<'a>(found: &'a [String], probe: &str) -> &'a str {
    found
        .iter()
        .find(|f| f.starts_with(probe))
        .unwrap_or_else(|| panic!("no probe {probe} ran"))
}

/// The probes' findings, one line each, for the closing note.
fn write_probe_log(name: &str, lines: &[String]) {
    let path = workspace()
        .join("target/e2e")
        .join(format!("{name}.probes"));
    fs::write(path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn interrupted_dist_leaves_a_complete_dist_and_the_next_run_succeeds() {
    let _serial = serial();
    let root = warm_repo("interrupt");
    ok(xtask(&root, &["dist"], &[]));
    let complete = snapshot(&root.join("dist"));
    let cache = sha256(&root.join("tools-cache/manifest.json"));
    let mut found = Vec::new();
    let mut ats: Vec<At> = [50u64, 300, 800, 1500, 2500, 4000].map(At::After).to_vec();
    ats.extend([At::Paused("package"), At::Paused("replace")]);
    let mut n = 0;
    for signal in ["INT", "KILL"] {
        for &at in &ats {
            // Each probe must do real work, and a release no earlier probe
            // made: a version of its own, so build and package run and a
            // release swapped in is told apart from the one before it.
            n += 1;
            fs::write(root.join("version.txt"), format!("3.0.{n}\n")).unwrap();
            let before = snapshot(&root.join("dist"));
            let (stage, ended, signalled) = interrupt(&root, "dist", signal, at);
            let mut stopped = String::new();
            if signal == "INT" {
                // Ctrl-C reaches the build container too: it stops promptly.
                while !our_containers().trim().is_empty() {
                    assert!(
                        signalled.elapsed() < std::time::Duration::from_secs(10),
                        "a container outlived Ctrl-C by 10 s"
                    );
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                stopped = format!(
                    ", no container of ours {} ms after the signal",
                    signalled.elapsed().as_millis()
                );
            }
            let dist = root.join("dist");
            let dist_state = state(maybe_snapshot(&dist), &before);
            // dist/ existed before the probe, and is only ever swapped: never gone.
            assert_ne!(dist_state, "absent", "SIG{signal} at {at:?} ({stage})");
            if dist_state == "new" {
                // Killed after its atomic swap: the new release, complete.
                check_output(&dist, "sha256sum", &["-c", "SHA256SUMS"]);
                assert_eq!(snapshot(&dist).len(), complete.len());
            }
            let cache_state = if root.join("tools-cache").exists() {
                assert_eq!(
                    sha256(&root.join("tools-cache/manifest.json")),
                    cache,
                    "SIG{signal} at {at:?}"
                );
                cache_is_intact(&root);
                "previous"
            } else {
                "absent"
            };
            found.push(format!(
                "dist SIG{signal} {at:?}: during `{stage}`{}; dist/ {dist_state}, tools-cache/ {cache_state}{stopped}",
                if ended { " (had ended)" } else { "" }
            ));
        }
    }
    write_probe_log("interrupt-dist", &found);
    for signal in ["INT", "KILL"] {
        let probe = |point: &str| finding(&found, &format!("dist SIG{signal} Paused(\"{point}\")"));
        // Killed mid-packaging: caught there, and the previous release stands.
        let package = probe("package");
        assert!(
            package.contains("==> package: started") && package.contains("dist/ previous"),
            "{package}"
        );
        // Killed right after the swap: the new release is in place, whole.
        let replace = probe("replace");
        assert!(replace.contains("dist/ new"), "{replace}");
    }
    // The next run cleans up what the killed ones left and succeeds.
    git(&root, &["checkout", "-q", "version.txt"]);
    ok(xtask(&root, &["dist"], &[]));
    assert_eq!(snapshot(&root.join("dist")), complete);
    assert!(
        !root.join(".staging").exists(),
        "a staging directory was left behind"
    );
    assert_eq!(
        our_containers().trim(),
        "",
        "containers of ours were left behind"
    );
    assert_eq!(
        our_dangling_images(),
        "",
        "dangling images of ours were left"
    );
    assert_eq!(found.len(), 16);
}

#[test]
fn interrupted_tools_runs_leave_a_complete_cache_and_the_next_run_succeeds() {
    let _serial = serial();
    let root = scratch_repo("interrupt-tools");
    ok(xtask(&root, &["tools"], &[]));
    let versions = root.join("tools/versions.env");
    let pinned = fs::read_to_string(&versions).unwrap();
    let mut found = Vec::new();
    let mut ats: Vec<At> = [100u64, 500, 1000, 1800, 2600].map(At::After).to_vec();
    ats.extend([At::Paused("extract"), At::Paused("replace")]);
    let mut n = 0;
    for signal in ["INT", "KILL"] {
        for &at in &ats {
            let before = snapshot_tree(&root.join("tools-cache"));
            // A new comment under tools/ each time: stale, so the image is
            // rebuilt (from Docker's layer cache) and extracted again.
            n += 1;
            fs::write(&versions, format!("{pinned}# probe {n}\n")).unwrap();
            let (stage, ended, _) = interrupt(&root, "tools", signal, at);
            let cache = root.join("tools-cache");
            let cache_state = if cache.exists() {
                cache_is_intact(&root);
                // Intact either way: the previous cache, or the new one when
                // the kill came after its atomic swap.
                if snapshot_tree(&cache) == before {
                    "previous"
                } else {
                    "new"
                }
            } else {
                panic!("SIG{signal} at {at:?} ({stage}) left no tools-cache/");
            };
            found.push(format!(
                "tools SIG{signal} {at:?}: during `{stage}`{}; tools-cache/ {cache_state}",
                if ended { " (had ended)" } else { "" }
            ));
        }
    }
    write_probe_log("interrupt-tools", &found);
    for signal in ["INT", "KILL"] {
        let probe =
            |point: &str| finding(&found, &format!("tools SIG{signal} Paused(\"{point}\")"));
        // Killed mid-extraction: the previous cache stands.
        let extract = probe("extract");
        assert!(extract.contains("tools-cache/ previous"), "{extract}");
        // Killed right after the swap: the new cache is in place, whole.
        let replace = probe("replace");
        assert!(replace.contains("tools-cache/ new"), "{replace}");
    }
    // The next run rebuilds what is missing and leaves nothing of the killed ones.
    let err = ok(xtask(&root, &["tools"], &[]));
    cache_is_intact(&root);
    assert!(err.contains("==> tools: done in"), "{}", tail(&err));
    assert!(
        !root.join(".staging").exists(),
        "a staging directory was left behind"
    );
    assert_eq!(
        our_containers().trim(),
        "",
        "containers of ours were left behind"
    );
    assert_eq!(
        our_dangling_images(),
        "",
        "dangling images of ours were left"
    );
    assert_eq!(found.len(), 14);
}

/// sha256 of every file under `dir`, by relative path (empty when absent).
fn snapshot_tree(dir: &Path) -> Vec<(String, String)> {
    if !dir.exists() {
        return Vec::new();
    }
    let list = run("find", &[dir.to_str().unwrap(), "-type", "f"]);
    let mut files: Vec<(String, String)> = list
        .lines()
        .map(|p| {
            let rel = Path::new(p).strip_prefix(dir).unwrap();
            (rel.display().to_string(), sha256(Path::new(p)))
        })
        .collect();
    files.sort();
    files
}

/// A run's stderr lines, each with when it arrived, and whether it succeeded.
type TimedRun = (Vec<(std::time::Instant, String)>, bool);

/// Starts `xtask <command>` in `root`; the handle yields its timed output.
fn spawn_timed(root: &Path, command: &str) -> std::thread::JoinHandle<TimedRun> {
    use std::io::{BufRead, BufReader};
    let mut child = xtask_command(root, &[command])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        let lines = BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .map(|line| (std::time::Instant::now(), line))
            .collect();
        (lines, child.wait().unwrap().success())
    })
}

#[test]
fn a_second_run_in_the_same_checkout_waits_for_the_first() {
    let _serial = serial();
    let root = warm_repo("concurrent");
    ok(xtask(&root, &["dist"], &[]));
    // A new version, so the first run really builds and packages.
    fs::write(root.join("version.txt"), "3.0.1\n").unwrap();
    let first = spawn_timed(&root, "dist");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let second = spawn_timed(&root, "dist");
    let third = spawn_timed(&root, "tools");
    let runs = [first, second, third].map(|run| run.join().unwrap());
    let text = |lines: &[(std::time::Instant, String)]| {
        lines
            .iter()
            .map(|(_, l)| l.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    for (lines, success) in &runs {
        assert!(success, "{}", tail(&text(lines)));
    }
    let waiting = "another cargo dist or cargo tools is running in this checkout: waiting";
    let first_line_of = |lines: &[(std::time::Instant, String)], what: &str| {
        lines.iter().position(|(_, l)| l.starts_with(what))
    };
    assert_eq!(first_line_of(&runs[0].0, waiting), None);
    // Each later run says it waits before it starts any stage, and its stages
    // never overlap another run's: one run's output, then the next one's.
    let mut spans = Vec::new();
    for (lines, _) in &runs {
        let stages: Vec<_> = lines
            .iter()
            .filter(|(_, l)| l.starts_with("==> "))
            .collect();
        assert!(!stages.is_empty(), "{}", tail(&text(lines)));
        spans.push((stages[0].0, stages[stages.len() - 1].0));
    }
    for (lines, _) in &runs[1..] {
        let said = first_line_of(lines, waiting).unwrap_or_else(|| panic!("{}", text(lines)));
        assert!(said < first_line_of(lines, "==> ").unwrap());
    }
    // The first run, which held the lock, finished before the others began.
    let first_done = spans[0].1;
    let mut later = spans[1..].to_vec();
    later.sort();
    assert!(
        first_done < later[0].0,
        "a waiting run started a stage too early"
    );
    assert!(later[0].1 < later[1].0, "the two waiting runs overlapped");
    check_dist(&root);
    cache_is_intact(&root);
}

#[test]
fn buildx_path_builds_the_same_tools_as_plain_docker() {
    let _serial = serial();
    let root = scratch_repo("buildx");
    ok(xtask(&root, &["tools"], &[]));
    let manifest = |root: &Path| -> serde_json::Value {
        serde_json::from_slice(&fs::read(root.join("tools-cache/manifest.json")).unwrap()).unwrap()
    };
    let plain = manifest(&root)["files"].clone();
    let versions = root.join("tools/versions.env");
    fs::write(
        &versions,
        fs::read_to_string(&versions).unwrap() + "# buildx\n",
    )
    .unwrap();

    // A directory cache needs a builder that can export one. The default
    // builder's `docker` driver cannot, and a docker-container builder needs
    // the moby/buildkit image: with that driver the run is refused clearly.
    let cache_dir = root.with_extension("buildx-cache");
    let local = format!("local:{}", cache_dir.display());
    let env = [
        ("GITHUB_ACTIONS", "true"),
        ("PERFSPECT_BUILDX_CACHE", local.as_str()),
    ];
    let driver = run("docker", &["buildx", "inspect"]);
    if driver
        .lines()
        .any(|l| l.starts_with("Driver:") && l.trim_end().ends_with(" docker"))
    {
        let err = fails(xtask(&root, &["tools"], &env));
        assert!(
            err.contains("uses the `docker` driver, which cannot export"),
            "{}",
            tail(&err)
        );
        assert_eq!(
            manifest(&root)["files"],
            plain,
            "a refused run touched tools-cache/"
        );
    } else {
        let err = ok(xtask(&root, &["tools", "--no-cache"], &env));
        assert!(err.contains("docker buildx build --load"), "{}", tail(&err));
        assert!(cache_dir.is_dir());
    }

    // The buildx --load path itself, with the cache kind the docker driver exports.
    let err = ok(xtask(
        &root,
        &["tools"],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("PERFSPECT_BUILDX_CACHE", "inline"),
        ],
    ));
    assert!(
        err.contains("docker buildx build --load --progress=plain --cache-to type=inline"),
        "{}",
        tail(&err)
    );
    assert_eq!(
        manifest(&root)["files"],
        plain,
        "buildx and plain docker built different tools"
    );
}

/// A tmpfs of `size` at target/e2e/<name>, unmounted when dropped: a small
/// disk of our own (mounting needs root, as CI is).
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(name: &str, size: &str) -> SmallDisk {
        let mount = workspace().join("target/e2e").join(name);
        // A mount a crashed earlier run left (usually there is none).
        let _ = Command::new("umount")
            .arg(&mount)
            .stderr(std::process::Stdio::null())
            .status();
        let _ = fs::remove_dir_all(&mount);
        fs::create_dir_all(&mount).unwrap();
        run(
            "mount",
            &[
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "tmpfs",
                mount.to_str().unwrap(),
            ],
        );
        SmallDisk(mount)
    }

    /// Takes all but 1 MiB of the free space, as another program filling
    /// the disk would.
    fn fill(&self) {
        let out = run("df", &["-B1", "--output=avail", self.0.to_str().unwrap()]);
        let free: u64 = out.lines().nth(1).unwrap().trim().parse().unwrap();
        let ballast = self.0.join("ballast");
        run(
            "fallocate",
            &[
                "-l",
                &(free - (1 << 20)).to_string(),
                ballast.to_str().unwrap(),
            ],
        );
    }

    fn empty(&self) {
        let _ = fs::remove_file(self.0.join("ballast"));
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

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
    let disk = SmallDisk::mount("filling-disk", "2600m");
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
