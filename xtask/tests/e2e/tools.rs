//! The tools stage: cold build, cache hits and every kind of miss, the forced rebuild, the buildx path.

use std::fs;
use std::path::Path;

use crate::support::*;

/// `xtask tools` on a repo whose cache something spoiled: the run says `why`
/// it rebuilds, and leaves a valid cache and no image of ours untagged (a
/// rebuild moves the tools image's tag).
#[track_caller]
fn rebuilt(root: &Path, env: &[(&str, &str)], why: &str) -> String {
    let err = ok(xtask(root, &["tools"], env));
    assert!(err.contains(why), "{}", tail(&err));
    cache_is_intact(root);
    assert_eq!(
        our_dangling_images(),
        "",
        "dangling images of ours were left"
    );
    err
}

#[test]
fn a_cold_build_makes_static_tools_that_run() {
    let _serial = serial();
    let root = scratch_repo("tools-cold");
    let cache = root.join("tools-cache");
    rebuilt(&root, &[], "tools cache miss: tools-cache/ is absent");

    // The binaries: static, for the right architecture, and they run.
    for (arch, file_says) in [("x86_64", "x86-64"), ("aarch64", "ARM aarch64")] {
        for tool in ["perf", "fio"] {
            let bin = cache.join("bin").join(arch).join(tool);
            let file = run("file", &[bin.to_str().unwrap()]);
            assert!(
                file.contains(file_says) && file.contains("statically linked"),
                "{file}"
            );
            let version = run_built_for(arch, &bin, &["--version"]);
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
}

#[test]
fn an_unchanged_tree_is_a_cache_hit() {
    let _serial = serial();
    let root = cached_repo("tools-hit");
    let err = ok(xtask(&root, &["tools"], &[]));
    assert!(err.contains("cache hit"), "{}", tail(&err));
}

#[test]
fn a_flipped_byte_in_a_cached_binary_is_rebuilt() {
    let _serial = serial();
    let root = cached_repo("tools-flipped-binary");
    let fio = root.join("tools-cache/bin/x86_64/fio");
    let original = sha256(&fio);
    flip_byte(&fio, 1000);
    rebuilt(
        &root,
        &[],
        "tools-cache/bin/x86_64/fio does not match its recorded sha256",
    );
    assert_eq!(sha256(&fio), original);
}

#[test]
fn a_missing_cache_file_is_rebuilt() {
    let _serial = serial();
    let root = cached_repo("tools-missing-file");
    fs::remove_file(root.join("tools-cache/oss_source.tgz.md5")).unwrap();
    rebuilt(&root, &[], "tools-cache/oss_source.tgz.md5 is missing");
}

#[test]
fn a_truncated_cache_file_is_rebuilt() {
    let _serial = serial();
    let root = cached_repo("tools-truncated-file");
    let oss = root.join("tools-cache/oss_source.tgz");
    let len = fs::metadata(&oss).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&oss)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    rebuilt(
        &root,
        &[],
        "tools-cache/oss_source.tgz does not match its recorded sha256",
    );
}

#[test]
fn an_unexpected_file_in_the_cache_is_removed_by_the_rebuild() {
    let _serial = serial();
    let root = cached_repo("tools-unexpected-file");
    let extra = root.join("tools-cache/bin/x86_64/extra");
    fs::write(&extra, "x").unwrap();
    rebuilt(
        &root,
        &[],
        "tools-cache/bin/x86_64/extra is not a file the cache should hold",
    );
    assert!(!extra.exists());
}

#[test]
fn a_flipped_byte_in_the_cache_manifest_is_rebuilt() {
    let _serial = serial();
    let root = cached_repo("tools-flipped-manifest");
    flip_byte(&root.join("tools-cache/manifest.json"), 20);
    rebuilt(&root, &[], "tools-cache/manifest.json is corrupt");
}

#[test]
fn an_edit_under_tools_even_a_comment_makes_the_cache_stale() {
    let _serial = serial();
    let root = cached_repo("tools-stale");
    let versions = root.join("tools/versions.env");
    fs::write(
        &versions,
        fs::read_to_string(&versions).unwrap() + "# an edit\n",
    )
    .unwrap();
    rebuilt(&root, &[], "stale");
    // The rebuilt cache is for the edited tree: the next run is a hit.
    let err = ok(xtask(&root, &["tools"], &[]));
    assert!(err.contains("cache hit"), "{}", tail(&err));
}

#[test]
fn a_pin_the_mirror_does_not_serve_fails_naming_it_and_keeps_the_cache() {
    let _serial = serial();
    let root = cached_repo("tools-unserved-pin");
    let before = snapshot(&root.join("tools-cache"));
    let versions = root.join("tools/versions.env");
    let pinned = fs::read_to_string(&versions).unwrap();
    fs::write(
        &versions,
        pinned.replace("FIO_VERSION=3.33-3", "FIO_VERSION=0.0-0"),
    )
    .unwrap();
    // It fails in one line naming the pin to update.
    let err = fails(xtask(&root, &["tools"], &[]));
    let last = err.trim_end().lines().last().unwrap();
    assert!(
        last.contains("fio 0.0-0 is not on")
            && last.contains("update FIO_VERSION in tools/versions.env"),
        "{}",
        tail(&err)
    );
    // And leaves the cache as it was.
    cache_is_intact(&root);
    assert_eq!(
        snapshot(&root.join("tools-cache")),
        before,
        "tools-cache/ changed"
    );
    assert_eq!(
        our_dangling_images(),
        "",
        "dangling images of ours were left"
    );
}

#[test]
fn a_cache_ci_says_it_restored_is_still_verified() {
    let _serial = serial();
    let root = cached_repo("tools-ci-restored");
    flip_byte(&root.join("tools-cache/bin/aarch64/perf"), 5000);
    rebuilt(
        &root,
        &[("TOOLS_CACHE_HIT", "true")],
        "warning: TOOLS_CACHE_HIT=true but the restored cache is not usable",
    );
}

#[test]
fn an_unexpected_skip_tools_cache_value_is_refused_naming_the_variable() {
    let _serial = serial();
    let root = cached_repo("tools-bad-skip-value");
    let err = fails(xtask(&root, &["tools"], &[("SKIP_TOOLS_CACHE", "maybe")]));
    assert!(
        err.contains("SKIP_TOOLS_CACHE has unexpected value `maybe`"),
        "{err}"
    );
}

#[test]
fn clean_tools_cache_removes_it_then_finds_nothing_to_remove() {
    let _serial = serial();
    let root = cached_repo("tools-clean");
    let err = ok(xtask(&root, &["clean-tools-cache"], &[]));
    assert!(err.contains("removed tools-cache/"), "{err}");
    assert!(!root.join("tools-cache").exists());
    let err = ok(xtask(&root, &["clean-tools-cache"], &[]));
    assert!(err.contains("nothing to remove"), "{err}");
}

#[test]
fn forced_rebuild_compiles_from_source_and_refreshes_the_cache() {
    let _serial = serial();
    let root = scratch_repo("forced");
    ok(xtask(&root, &["tools"], &[]));
    let before = cache_manifest(&root);
    // SKIP_TOOLS_CACHE=1 is --no-cache: the cache and Docker's layers are ignored.
    let err = ok(xtask(&root, &["tools"], &[("SKIP_TOOLS_CACHE", "1")]));
    assert!(
        err.contains("a rebuild from source was asked for"),
        "{}",
        tail(&err)
    );
    // In the compile from source only the base image itself may be reported
    // as cached; every step runs. (The image then made from the refreshed
    // cache may reuse its layers: the rebuild gave the same bytes.)
    let source = &err[err.find("build.Dockerfile").unwrap()..];
    let source = &source[..source.find("\n$ docker build").unwrap_or(source.len())];
    assert_eq!(
        source.matches("CACHED").count(),
        1,
        "a forced rebuild reused Docker layers:\n{}",
        tail(source)
    );
    assert!(
        err.contains("LD      /build/perf-in.o"),
        "perf was not compiled:\n{}",
        tail(&err)
    );
    cache_is_intact(&root);
    let after = cache_manifest(&root);
    assert_eq!(after["key"], before["key"]);
    // perf and fio build reproducibly: the same bytes from a cold compile.
    assert_eq!(
        after["files"], before["files"],
        "a cold rebuild gave different tools"
    );
}

#[test]
fn buildx_path_builds_the_same_tools_as_plain_docker() {
    let _serial = serial();
    let root = scratch_repo("buildx");
    ok(xtask(&root, &["tools"], &[]));
    let plain = cache_manifest(&root)["files"].clone();
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
    remove_when_passed(&cache_dir);
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
            cache_manifest(&root)["files"],
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
        cache_manifest(&root)["files"],
        plain,
        "buildx and plain docker built different tools"
    );
}
