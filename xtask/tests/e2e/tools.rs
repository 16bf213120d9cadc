//! The tools stage: cold build, cache hits and every kind of miss, the forced rebuild, the buildx path.

use std::fs;
use std::path::Path;

use crate::support::*;

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
