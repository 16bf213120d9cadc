//! The tools stage: cold build, cache hits and every kind of miss, the forced rebuild, the buildx path.

use std::fs;
use std::path::Path;

use crate::support::*;
use xtask::toolbox;

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
    rebuilt(&root, &[], "rebuilding from source: tools-cache/ is absent");

    // Every binary of the table: static, stripped, for the right
    // architecture, and it answers its smoke command (aarch64 under qemu-user).
    let mut checked = 0;
    for (arch, file_says) in [("x86_64", "x86-64"), ("aarch64", "ARM aarch64")] {
        for tool in toolbox::tools_for(arch) {
            let bin = cache.join("bin").join(arch).join(tool.name);
            let file = run("file", &[bin.to_str().unwrap()]);
            assert!(
                file.contains(file_says)
                    && file.contains("statically linked")
                    && file.contains(", stripped"),
                "{file}"
            );
            let (args, says) = tool.smoke;
            let out = run_built_for(arch, &bin, args);
            assert!(out.contains(says), "{arch}/{}: {out}", tool.name);
            checked += 1;
            for data in tool.data {
                assert!(cache.join("bin").join(arch).join(data).is_file());
            }
        }
    }
    assert_eq!(
        checked,
        8 + 6,
        "the table has 8 tools for x86_64 and 6 for aarch64"
    );
    // lspci names devices with the pci.ids it ships with.
    let ids = cache.join("bin/x86_64/pci.ids");
    let lspci = run(
        cache.join("bin/x86_64/lspci").to_str().unwrap(),
        &["-i", ids.to_str().unwrap(), "-mm"],
    );
    assert!(
        lspci.lines().any(|l| !l.contains("Device ")),
        "lspci named no device: {lspci}"
    );
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
fn a_flipped_byte_in_a_cached_binary_rebuilds_that_tool_only() {
    let _serial = serial();
    let root = cached_repo("tools-flipped-binary");
    let fio = root.join("tools-cache/bin/x86_64/fio");
    let before = snapshot(&root.join("tools-cache"));
    flip_byte(&fio, 1000);
    let err = rebuilt(
        &root,
        &[],
        "fio: rebuilding from source: tools-cache/bin/x86_64/fio does not match its recorded sha256",
    );
    assert!(
        err.contains("built from source: fio; reused: perf, turbostat, intel-speed-select, lspci, ethtool, ipmitool, smartctl; oss_source.tgz: kept"),
        "{}",
        tail(&err)
    );
    assert_eq!(snapshot(&root.join("tools-cache")), before);
}

#[test]
fn a_recipe_edit_compiles_that_tool_only() {
    let _serial = serial();
    let root = cached_repo("tools-recipe-edit");
    let before = cache_manifest(&root)["files"].clone();
    let recipe = root.join("tools/ethtool.Dockerfile");
    // Without the register dump pretty-printers: another ethtool binary.
    let text = fs::read_to_string(&recipe).unwrap();
    assert_eq!(text.matches("--disable-netlink").count(), 2, "{text}");
    fs::write(
        &recipe,
        text.replace(
            "--disable-netlink",
            "--disable-netlink --disable-pretty-dump",
        ),
    )
    .unwrap();
    let err = rebuilt(
        &root,
        &[],
        "ethtool: rebuilding from source: its recipe, pin",
    );
    assert!(
        err.contains("built from source: ethtool; reused: perf, turbostat, intel-speed-select, fio, lspci, ipmitool, smartctl; oss_source.tgz: ethtool fetched"),
        "{}",
        tail(&err)
    );
    // ethtool was compiled (its configure ran), nothing else was.
    assert!(
        err.contains("[ethtool-x86_64 2/2] RUN ./configure"),
        "{}",
        tail(&err)
    );
    for other in [
        "perf-x86_64",
        "fio-x86_64",
        "lspci-x86_64",
        "smartctl-x86_64",
    ] {
        assert!(
            !err.contains(&format!("[{other} ")),
            "{other} was built:\n{}",
            tail(&err)
        );
    }
    let after = cache_manifest(&root)["files"].clone();
    for (path, sha) in before.as_object().unwrap() {
        let same = after[path] == *sha;
        let ethtool = path.ends_with("/ethtool") || path.ends_with("/ethtool.tsv");
        if path.starts_with("bin/") && path.ends_with("/ethtool") {
            assert!(!same, "{path} did not change");
        } else if !ethtool && path.starts_with("bin/") {
            assert!(same, "{path} changed");
        }
    }
    let err = ok(xtask(&root, &["tools"], &[]));
    assert!(err.contains("cache hit"), "{}", tail(&err));
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
        "tools-cache/bin/x86_64/extra belongs to no tool: dropped",
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
fn an_edit_of_the_shared_environment_even_a_comment_makes_every_tool_stale() {
    let _serial = serial();
    let root = cached_repo("tools-stale");
    let env = root.join("tools/env.Dockerfile");
    fs::write(&env, fs::read_to_string(&env).unwrap() + "# an edit\n").unwrap();
    let err = rebuilt(&root, &[], "stale");
    for tool in &toolbox::TOOLS {
        assert!(
            err.contains(&format!(
                "{}: rebuilding from source: its recipe",
                tool.name
            )),
            "{}",
            tail(&err)
        );
    }
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
        "warning: TOOLS_CACHE_HIT=true but the restored cache is not wholly usable",
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
fn buildx_path_builds_the_same_tools_as_plain_docker() {
    let _serial = serial();
    let root = scratch_repo("buildx");
    ok(xtask(&root, &["tools"], &[]));
    let plain = cache_manifest(&root)["files"].clone();
    let env = root.join("tools/env.Dockerfile");
    fs::write(&env, fs::read_to_string(&env).unwrap() + "# buildx\n").unwrap();

    // A setting the engine refuses is one line before anything is built;
    // a bad value is refused at parse time.
    let err = fails(xtask(&root, &["tools"], &[("PERFSPECT_LAYER_CACHE", "s3")]));
    assert!(
        err.contains("PERFSPECT_LAYER_CACHE has unexpected value `s3`"),
        "{}",
        tail(&err)
    );

    // The buildx --load path, with the cache kind any BuildKit exports.
    let err = ok(xtask(
        &root,
        &["tools"],
        &[("PERFSPECT_LAYER_CACHE", "inline")],
    ));
    assert!(
        err.contains(
            "docker buildx build --builder=default --load --progress=plain --cache-to type=inline"
        ),
        "{}",
        tail(&err)
    );
    assert_eq!(
        cache_manifest(&root)["files"],
        plain,
        "buildx and plain docker built different tools"
    );
}
