//! Checkouts sharing one Docker engine, at once, each ship their own tools.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::support::*;

/// Gives `root`'s cached x86_64 fio one more byte (an ELF runs the same with
/// trailing bytes) and rewrites the manifest as the xtask would: a cache of
/// other, valid tool content for the same tools/.
fn other_fio(root: &Path) -> String {
    let fio = root.join("tools-cache/bin/x86_64/fio");
    let mut bytes = std::fs::read(&fio).unwrap();
    bytes.push(0);
    std::fs::write(&fio, &bytes).unwrap();
    let sha = sha256_bytes(&bytes);
    let path = root.join("tools-cache/manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    manifest["files"]["bin/x86_64/fio"] = sha.clone().into();
    manifest["digest"] = "".into();
    let body = serde_json::to_string_pretty(&manifest).unwrap() + "\n";
    manifest["digest"] = sha256_bytes(body.as_bytes()).into();
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&manifest).unwrap() + "\n",
    )
    .unwrap();
    sha
}

/// The sha256 the packaged x86_64 binary reports for its embedded fio.
fn shipped_fio(root: &Path) -> String {
    let unpack = root.with_extension("unpacked");
    remove_when_passed(&unpack);
    let _ = std::fs::remove_dir_all(&unpack);
    std::fs::create_dir_all(&unpack).unwrap();
    run(
        "tar",
        &[
            "-xzf",
            root.join("dist/perfspect.tgz").to_str().unwrap(),
            "-C",
            unpack.to_str().unwrap(),
        ],
    );
    let list = run(
        unpack.join("perfspect/perfspect").to_str().unwrap(),
        &["tools", "list", "--format", "json"],
    );
    let doc: serde_json::Value = serde_json::from_str(&list).unwrap();
    let fio = doc["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "fio")
        .unwrap();
    assert_eq!(fio["source"], "embedded", "{list}");
    fio["sha256"].as_str().unwrap().to_string()
}

/// Our images named by content, so the next round builds them again and the
/// two runs race through the tools and builder stages for real.
fn remove_content_tagged_images() {
    for repo in ["perfspect-tools", "perfspect-builder"] {
        let tags = run(
            "docker",
            &["images", repo, "--format", "{{.Repository}}:{{.Tag}}"],
        );
        for tag in tags.lines().filter(|t| !t.ends_with(":v1")) {
            let _ = std::process::Command::new("docker")
                .args(["rmi", "--force", tag])
                .output();
        }
    }
}

fn spawn_dist(root: &Path) -> Child {
    xtask_command(root, &["dist"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn checkouts_sharing_one_engine_each_ship_their_own_tools() {
    let _serial = serial();
    let a = warm_repo("shared-a");
    let b = warm_repo("shared-b");
    ok(xtask(&a, &["tools"], &[]));
    ok(xtask(&b, &["tools"], &[]));
    let fio_a = sha256(&a.join("tools-cache/bin/x86_64/fio"));
    let fio_b = other_fio(&b);
    assert_ne!(fio_a, fio_b);
    let mut findings = Vec::new();
    let mut releases: Vec<[Vec<(String, String)>; 2]> = Vec::new();
    for delay_ms in [0u64, 1500, 4000] {
        remove_content_tagged_images();
        let first = spawn_dist(&a);
        std::thread::sleep(Duration::from_millis(delay_ms));
        let second = spawn_dist(&b);
        for (root, child) in [(&a, first), (&b, second)] {
            let out = child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(
                out.status.success(),
                "{} failed with B {delay_ms} ms after A:\n{}",
                root.display(),
                tail(&err)
            );
            assert!(
                err.contains("==> check: done in")
                    && err.contains("embedded tools match tools-cache/"),
                "{}",
                tail(&err)
            );
        }
        assert_eq!(
            shipped_fio(&a),
            fio_a,
            "A shipped B's fio (B {delay_ms} ms after A)"
        );
        assert_eq!(
            shipped_fio(&b),
            fio_b,
            "B shipped A's fio (B {delay_ms} ms after A)"
        );
        assert_eq!(sha256(&a.join("tools-cache/bin/x86_64/fio")), fio_a);
        assert_eq!(sha256(&b.join("tools-cache/bin/x86_64/fio")), fio_b);
        findings.push(format!(
            "B started {delay_ms} ms after A: each shipped its own fio"
        ));
        releases.push([snapshot(&a.join("dist")), snapshot(&b.join("dist"))]);
    }
    // What each checkout builds alone, with the images the races left: the
    // same releases, so no reused image holds the other checkout's content.
    for (i, root) in [&a, &b].into_iter().enumerate() {
        ok(xtask(root, &["dist"], &[]));
        let alone = snapshot(&root.join("dist"));
        for (round, pair) in releases.iter().enumerate() {
            assert_eq!(
                pair[i],
                alone,
                "{} round {round} differs from its lone build",
                root.display()
            );
        }
    }
    // The names people use still point at images of ours.
    for name in ["perfspect-tools:v1", "perfspect-builder:v1"] {
        run("docker", &["image", "inspect", "--format", "{{.Id}}", name]);
    }
    write_probe_log("shared-engine", &findings);
}

#[test]
fn a_binary_that_embeds_other_tools_is_refused_before_packaging() {
    let _serial = serial();
    let root = warm_repo("embedded-check");
    ok(xtask(&root, &["dist"], &[]));
    // Keep the binaries that embed this cache's fio, then build again from a
    // cache with another fio.
    let release = root.join("target/dist-build/x86_64-unknown-linux-gnu/release/perfspect");
    let kept = root.with_extension("kept-binary");
    remove_when_passed(&kept);
    std::fs::copy(&release, &kept).unwrap();
    let fio_before = sha256(&root.join("tools-cache/bin/x86_64/fio"));
    let fio = other_fio(&root);
    ok(xtask(&root, &["dist"], &[]));
    let before = snapshot(&root.join("dist"));

    // `verify` sees a tarball whose binary was swapped for one built with
    // another fio (the first build's), its SBOM kept and the checksum files
    // rewritten to match: the binary itself reports what it embeds.
    let other_binary = std::fs::read(&kept).unwrap();
    let swapped = crate::verify::damaged_copy(&root.join("dist"), "swapped", |copy| {
        crate::verify::repack(&copy.join("perfspect.tgz"), |name, content| {
            Some(if name == "perfspect/perfspect" {
                other_binary.clone()
            } else {
                content
            })
        });
    });
    let err = crate::verify::verify_fails(&root, &swapped);
    assert!(
        err.contains(&format!(
            "FAILED  perfspect.tgz tools: the x86_64 binary embeds fio with sha256 {fio_before}, the SBOM says {fio}"
        )),
        "{}",
        tail(&err)
    );
    // A stale binary in place of the new one, newer than its inputs, as a
    // build against another checkout's image would leave: cargo sees nothing
    // to do, so only the check stands between it and dist/.
    std::fs::copy(&kept, &release).unwrap();
    let err = fails(xtask(&root, &["dist"], &[]));
    assert!(
        err.contains("the x86_64 binary embeds fio with sha256 "),
        "{}",
        tail(&err)
    );
    assert!(
        err.contains(&format!("but tools-cache/ has {fio}")),
        "{}",
        tail(&err)
    );
    assert!(err.contains("==> check: failed"), "{}", tail(&err));
    assert_eq!(snapshot(&root.join("dist")), before, "dist/ changed");
}
