//! What the end-to-end tests share: scratch repositories, running the xtask,
//! checks of a release, snapshots and a small disk of our own.

#[allow(dead_code)]
#[path = "../../../src/settings.rs"]
mod settings;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard, OnceLock};

/// The image tags are global to the daemon: one scenario at a time.
static DOCKER: Mutex<()> = Mutex::new(());

/// Scratch directories the running scenario made.
static SCRATCH: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// One scenario's turn on the engine. When it ends, the scratch directories
/// the scenario made are removed if it passed (each holds a copy of the tree
/// and a compiled target/: kept, a whole run needs tens of GB more disk) and
/// kept to look at if it failed.
/// Each scenario's duration is appended to target/e2e/durations.log (where a
/// slow CI run's time went).
pub struct Serial {
    _turn: MutexGuard<'static, ()>,
    started: std::time::Instant,
}

pub fn serial() -> Serial {
    let turn = DOCKER.lock().unwrap_or_else(|e| e.into_inner());
    scratch_list().clear();
    Serial {
        _turn: turn,
        started: std::time::Instant::now(),
    }
}

impl Drop for Serial {
    fn drop(&mut self) {
        let made = std::mem::take(&mut *scratch_list());
        let passed = !std::thread::panicking();
        if passed {
            for dir in made {
                let _ = fs::remove_dir_all(dir);
            }
        }
        let line = format!(
            "{:>7.1} s  {}  {}\n",
            self.started.elapsed().as_secs_f64(),
            if passed { "passed" } else { "FAILED" },
            std::thread::current().name().unwrap_or("?")
        );
        let log = workspace().join("target/e2e/durations.log");
        let _ = fs::create_dir_all(log.parent().unwrap());
        if let Ok(mut file) = fs::OpenOptions::new().create(true).append(true).open(log) {
            let _ = file.write_all(line.as_bytes());
        }
    }
}

fn scratch_list() -> MutexGuard<'static, Vec<PathBuf>> {
    SCRATCH.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes `dir` when the running scenario passes.
pub fn remove_when_passed(dir: &Path) {
    scratch_list().push(dir.to_path_buf());
}

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A copy of the working tree (tracked and untracked, not ignored files) at
/// target/e2e/<name>, committed with a fixed author and date so every copy
/// of the same content has the same commit; removed when the scenario passes.
pub fn scratch_repo(name: &str) -> PathBuf {
    let first = Path::new(name).components().next().unwrap();
    remove_when_passed(&workspace().join("target/e2e").join(first));
    shared_scratch_repo(name)
}

/// A scratch repo kept for the whole test run (what scenarios share).
fn shared_scratch_repo(name: &str) -> PathBuf {
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

pub fn git(dir: &Path, args: &[&str]) -> String {
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
pub fn xtask_command(root: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.args(args)
        .current_dir(root)
        .env("CARGO_MANIFEST_DIR", root.join("xtask"));
    // Every setting the xtask reads, from its own list: a run sees only
    // what the test gives it.
    for var in settings::ALL {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs `xtask <args>` on the scratch repo `root` with extra environment.
pub fn xtask(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = xtask_command(root, args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    append_log(
        root,
        &format!(
            "\n$ xtask {args:?} {env:?} -> {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
    );
    out
}

/// Keeps the log of every run next to the scratch repo `root`, for post-mortems.
fn append_log(root: &Path, entry: &str) {
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(root.with_extension("log"))
        .and_then(|mut log| log.write_all(entry.as_bytes()))
        .unwrap();
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[track_caller]
pub fn ok(out: Output) -> String {
    let err = stderr(&out);
    assert!(out.status.success(), "xtask failed:\n{}", tail(&err));
    err
}

#[track_caller]
pub fn fails(out: Output) -> String {
    let err = stderr(&out);
    assert!(
        !out.status.success(),
        "xtask succeeded but should have failed:\n{}",
        tail(&err)
    );
    err
}

pub fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Runs `program` here; its stdout and stderr, once it has succeeded.
pub fn run(program: &str, args: &[&str]) -> String {
    check_output(Path::new("."), program, args)
}

/// Runs `bin`, built for `arch`, on this x86_64 host: natively, or under qemu.
pub fn run_built_for(arch: &str, bin: &Path, args: &[&str]) -> String {
    let bin = bin.to_str().unwrap();
    if arch == "x86_64" {
        run(bin, args)
    } else {
        run("qemu-aarch64-static", &[&[bin], args].concat())
    }
}

pub fn sha256_bytes(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

pub fn sha256(path: &Path) -> String {
    sha256_bytes(&fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

pub fn flip_byte(path: &Path, offset: usize) {
    let mut bytes = fs::read(path).unwrap();
    bytes[offset] ^= 0xff;
    fs::write(path, bytes).unwrap();
}

/// tools-cache/manifest.json of the scratch repo `root`.
pub fn cache_manifest(root: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(root.join("tools-cache/manifest.json")).unwrap()).unwrap()
}

pub fn cache_is_intact(root: &Path) {
    let manifest = cache_manifest(root);
    for (file, sha) in manifest["files"].as_object().unwrap() {
        assert_eq!(&sha256(&root.join("tools-cache").join(file)), sha, "{file}");
    }
}

/// sha256 of every file under `dir`, by relative path (empty when absent).
pub fn snapshot(dir: &Path) -> Vec<(String, String)> {
    fn walk(base: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                walk(base, &entry.path(), files);
            } else if kind.is_file() {
                let rel = entry
                    .path()
                    .strip_prefix(base)
                    .unwrap()
                    .display()
                    .to_string();
                files.push((rel, sha256(&entry.path())));
            }
        }
    }
    let mut files = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut files);
    }
    files.sort();
    files
}

/// Runs `program` in `dir`; its stdout and stderr, once it has succeeded.
pub fn check_output(dir: &Path, program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
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
pub fn same_release(reference: &Path, other: &Path, what: &str) {
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
pub fn check_dist(root: &Path) {
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
            "perfspect-aarch64.tgz.spdx.json",
            "perfspect.tgz",
            "perfspect.tgz.md5.txt",
            "perfspect.tgz.spdx.json",
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
        8,
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
                "perfspect/sbom.spdx.json",
                "perfspect/tools/",
                "perfspect/tools/aarch64/",
                "perfspect/tools/x86_64/",
            ]
        );
        // Each SBOM is valid SPDX by a real validator.
        check_output(
            &dist,
            "pyspdxtools",
            &["-i", &format!("{tarball}.spdx.json")],
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
        let version = run_built_for(arch, &bin, &["--version"]);
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
/// The release's other commands on the packaged x86_64 binary: the report in
/// all four formats as root and as an unprivileged user (the xlsx opened by
/// openpyxl), telemetry, a flame graph and the CPU benchmark.
fn exercise_every_command(x86: &str, out: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let open_to_all = |dir: &Path| {
        fs::create_dir_all(dir).unwrap();
        fs::set_permissions(dir, fs::Permissions::from_mode(0o777)).unwrap();
    };
    // A copy anyone can reach, whatever the modes above the checkout.
    let shared = std::env::temp_dir().join(format!("perfspect-e2e-{}", std::process::id()));
    open_to_all(&shared);
    let bin = shared.join("perfspect");
    fs::copy(x86, &bin).unwrap();
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
    let bin = bin.to_str().unwrap();
    let unprivileged = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ];
    for (who, prefix) in [("root", &[][..]), ("nobody", &unprivileged[..])] {
        let dir = shared.join(who);
        open_to_all(&dir);
        let mut argv: Vec<&str> = prefix.to_vec();
        argv.extend([
            bin,
            "report",
            "-f",
            "txt,json,html,xlsx",
            "-o",
            dir.to_str().unwrap(),
        ]);
        run(argv[0], &argv[1..]);
        for file in ["report.txt", "report.json", "report.html", "report.xlsx"] {
            let len = fs::metadata(dir.join(file)).map(|m| m.len()).unwrap_or(0);
            assert!(len > 0, "{who}: {file} is missing or empty");
        }
        let sheets = run(
            "/usr/bin/python3",
            &[
                "-c",
                "import openpyxl, sys; print(len(openpyxl.load_workbook(sys.argv[1]).sheetnames))",
                dir.join("report.xlsx").to_str().unwrap(),
            ],
        );
        assert!(
            sheets.trim().parse::<usize>().unwrap() >= 10,
            "{who}: {sheets}"
        );
    }
    open_to_all(out);
    let out_arg = out.to_str().unwrap();
    run(
        bin,
        &[
            "telemetry",
            "-d",
            "3",
            "-i",
            "1",
            "-f",
            "json",
            "-o",
            out_arg,
        ],
    );
    let telemetry: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("telemetry.json")).unwrap()).unwrap();
    assert!(
        telemetry.as_object().is_some_and(|o| !o.is_empty()),
        "{telemetry}"
    );
    run(bin, &["flamegraph", "-d", "2", "-f", "svg", "-o", out_arg]);
    let svg = fs::read_to_string(out.join("flamegraph.svg")).unwrap();
    assert!(svg.contains("<svg"), "{svg}");
    let cpu = std::process::Command::new(bin)
        .args(["benchmark", "--cpu", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        cpu.status.success(),
        "{}",
        String::from_utf8_lossy(&cpu.stderr)
    );
    let cpu: serde_json::Value = serde_json::from_slice(&cpu.stdout).unwrap();
    assert!(
        cpu["cpu"]["score_single"]["median"]
            .as_f64()
            .is_some_and(|s| s > 0.0),
        "{cpu}"
    );
    let _ = fs::remove_dir_all(&shared);
}

pub fn exercise_packaged_binaries(root: &Path) {
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
    let table: Vec<&str> = xtask::toolbox::tools_for("x86_64")
        .flat_map(|t| t.files())
        .collect();
    assert_eq!(names, table, "{tools}");
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

    exercise_every_command(x86, &unpack.join("commands"));

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
    let report = run_built_for("aarch64", &arm, &["report", "--format", "json"]);
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

/// The compiled outputs every warm repo starts from: target/dist-build of
/// one `cargo dist` of this tree, made once per test run
/// (the one cold compile the suite shares; the container compiles at fixed
/// paths, so a copy is warm wherever it lands).
fn warm_outputs() -> &'static Path {
    static WARM: OnceLock<PathBuf> = OnceLock::new();
    WARM.get_or_init(|| {
        // An earlier test run's compiled outputs are kept across the fresh
        // copy: cargo recompiles only what changed since.
        let e2e = workspace().join("target/e2e");
        let (previous, kept) = (e2e.join("warm/target/dist-build"), e2e.join("warm-kept"));
        let _ = fs::remove_dir_all(&kept);
        let _ = fs::rename(&previous, &kept);
        let root = shared_scratch_repo("warm");
        if kept.is_dir() {
            fs::create_dir_all(root.join("target")).unwrap();
            fs::rename(&kept, root.join("target/dist-build")).unwrap();
        }
        ok(xtask(&root, &["dist"], &[]));
        root
    })
}

/// A scratch repo whose target/dist-build is a copy of the shared warm one
/// (tools-cache/ it makes itself, from Docker's layer cache).
pub fn warm_repo(name: &str) -> PathBuf {
    let root = scratch_repo(name);
    copy_output(warm_outputs(), &root, "target/dist-build");
    root
}

/// The tools-cache/ every cached repo starts from: one `xtask tools` of this
/// tree, made once per test run (the extraction the tools tests share).
fn cached_outputs() -> &'static Path {
    static CACHED: OnceLock<PathBuf> = OnceLock::new();
    CACHED.get_or_init(|| {
        let root = shared_scratch_repo("cached");
        ok(xtask(&root, &["tools"], &[]));
        root
    })
}

/// A scratch repo with a valid tools-cache/ (a copy of the shared one) on
/// which `xtask tools` has run once, a cache hit: where every tools
/// scenario after the cold build starts.
#[track_caller]
pub fn cached_repo(name: &str) -> PathBuf {
    let root = scratch_repo(name);
    copy_output(cached_outputs(), &root, "tools-cache");
    let err = ok(xtask(&root, &["tools"], &[]));
    assert!(err.contains("cache hit"), "{}", tail(&err));
    root
}

/// Copies the directory `rel` of the scratch repo `from` into `to`.
fn copy_output(from: &Path, to: &Path, rel: &str) {
    let dest = to.join(rel);
    fs::create_dir_all(dest.parent().unwrap()).unwrap();
    run(
        "cp",
        &[
            "-a",
            from.join(rel).to_str().unwrap(),
            dest.to_str().unwrap(),
        ],
    );
}

/// Containers a run in the scratch repo `root` started, running or not: each
/// carries the owner label with the checkout's id (the first 12 hex digits of
/// the sha256 of its path), so another checkout's runs on the same engine
/// are not counted.
pub fn our_containers(root: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let id = &sha256_bytes(root.as_os_str().as_bytes())[..12];
    run(
        "docker",
        &[
            "ps",
            "--all",
            "--quiet",
            "--filter",
            &format!("label=org.perfspect.owner={id}"),
        ],
    )
}

/// Images of ours that no tag names any more.
pub fn our_dangling_images() -> String {
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

/// A run's stderr lines, each with when it arrived, and whether it succeeded.
pub type TimedRun = (Vec<(std::time::Instant, String)>, bool);

/// Starts `xtask <command>` in `root`; the handle yields its timed output.
pub fn spawn_timed(root: &Path, command: &str) -> std::thread::JoinHandle<TimedRun> {
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

/// A tmpfs of `size` at target/e2e/<name>, unmounted when dropped: a small
/// disk of our own (mounting needs root, as CI is).
pub struct SmallDisk(pub PathBuf);

impl SmallDisk {
    pub fn mount(name: &str, size: &str) -> SmallDisk {
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
    pub fn fill(&self) {
        // The run writes while we measure: a size read a moment ago may no
        // longer fit, so take what is free in steps until 1 MiB is left.
        for n in 0..20 {
            let out = run("df", &["-B1", "--output=avail", self.0.to_str().unwrap()]);
            let free: u64 = out.lines().nth(1).unwrap().trim().parse().unwrap();
            if free <= 2 << 20 {
                return;
            }
            let ballast = self.0.join(format!("ballast-{n}"));
            let _ = Command::new("fallocate")
                .args(["-l", &(free - (1 << 20)).to_string()])
                .arg(&ballast)
                .output();
        }
        panic!("could not fill {}", self.0.display());
    }

    pub fn empty(&self) {
        for entry in fs::read_dir(&self.0).unwrap().flatten() {
            if entry.file_name().to_string_lossy().starts_with("ballast-") {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// The probes' findings, one line each, for the closing note.
pub fn write_probe_log(name: &str, lines: &[String]) {
    let path = workspace()
        .join("target/e2e")
        .join(format!("{name}.probes"));
    fs::write(path, lines.join("\n") + "\n").unwrap();
}

/// Runs `xtask <args>` in `root` and calls `action` once, `after` the first
/// stderr line containing `trigger`, with the run's process group. Returns the run's stderr, whether it
/// succeeded, and whether the action ran (the run may end first).
pub fn run_and_act_at(
    root: &Path,
    args: &[&str],
    trigger: &str,
    after: std::time::Duration,
    action: impl FnOnce(i32),
) -> (String, bool, bool) {
    run_and_act_at_with(root, args, &[], trigger, after, action)
}

/// `run_and_act_at` with extra environment for the run.
pub fn run_and_act_at_with(
    root: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    trigger: &str,
    after: std::time::Duration,
    action: impl FnOnce(i32),
) -> (String, bool, bool) {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::CommandExt;
    // Its own process group, so the action can signal the run and every
    // process it started, as Ctrl-C in a terminal does.
    let mut command = xtask_command(root, args);
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let group = child.id() as i32;
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let trigger = trigger.to_string();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains(&trigger) {
                let _ = tx.send(());
            }
            text += &line;
            text.push('\n');
        }
        text
    });
    let acted = match rx.recv() {
        Ok(()) => {
            std::thread::sleep(after);
            action(group);
            true
        }
        Err(_) => false,
    };
    let text = reader.join().unwrap();
    let success = child.wait().unwrap().success();
    append_log(
        root,
        &format!("\n$ xtask {args:?} (acted: {acted}) -> success {success}\n{text}"),
    );
    (text, success, acted)
}
