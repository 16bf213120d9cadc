//! `cargo xtask verify`: a release straight from `cargo dist` passes every
//! check; each way of damaging it is named. The damaged copies have their
//! checksum files rewritten, as a careful forger would, so only the check
//! that should see the problem can.

use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use crate::support::*;

/// A copy of `<checkout>/dist` to damage.
fn copy_of(dist: &Path, name: &str) -> PathBuf {
    // Beside the scratch checkout, not in it: an untracked directory there
    // would make its next build "-dirty".
    let root = dist.parent().unwrap();
    let copy = root.with_extension(format!("dist-{name}"));
    let _ = fs::remove_dir_all(&copy);
    run(
        "cp",
        &["-a", dist.to_str().unwrap(), copy.to_str().unwrap()],
    );
    copy
}

/// A copy of `dist` damaged by `edit`, its checksum files rewritten to match.
pub fn damaged_copy(dist: &Path, name: &str, edit: impl FnOnce(&Path)) -> PathBuf {
    let copy = copy_of(dist, name);
    remove_when_passed(&copy);
    edit(&copy);
    reseal(&copy);
    copy
}

/// Rewrites the md5 files and SHA256SUMS to match the files as they are now.
fn reseal(dir: &Path) {
    let mut sums = String::new();
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "SHA256SUMS")
        .collect();
    for tarball in ["perfspect.tgz", "perfspect-aarch64.tgz"] {
        let md5 = run("md5sum", &[dir.join(tarball).to_str().unwrap()]);
        let md5 = md5.split_whitespace().next().unwrap();
        fs::write(
            dir.join(format!("{tarball}.md5.txt")),
            format!("{md5}  {tarball}\n"),
        )
        .unwrap();
    }
    names.sort();
    for name in names {
        sums += &format!("{}  {name}\n", sha256(&dir.join(&name)));
    }
    fs::write(dir.join("SHA256SUMS"), sums).unwrap();
}

/// Rewrites the gzipped tar at `path`, passing each file entry through `edit`
/// (which may drop it by returning None); headers are kept as they were.
pub fn repack(path: &Path, mut edit: impl FnMut(&str, Vec<u8>) -> Option<Vec<u8>>) {
    let bytes = fs::read(path).unwrap();
    let mut input = tar::Archive::new(flate2::read::GzDecoder::new(bytes.as_slice()));
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut output = tar::Builder::new(gz);
    for entry in input.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut header = entry.header().clone();
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        let Some(content) = edit(&name, content) else {
            continue;
        };
        header.set_size(content.len() as u64);
        header.set_cksum();
        output.append(&header, content.as_slice()).unwrap();
    }
    fs::write(path, output.into_inner().unwrap().finish().unwrap()).unwrap();
}

pub fn verify_fails(root: &Path, dir: &Path) -> String {
    let err = fails(xtask(root, &["verify", dir.to_str().unwrap()], &[]));
    assert!(err.contains("checks failed for"), "{}", tail(&err));
    err
}

#[test]
fn verify_passes_a_fresh_release_and_names_each_kind_of_damage() {
    let _serial = serial();
    let root = warm_repo("verify");
    let err = ok(xtask(&root, &["dist"], &[]));
    assert!(err.contains("==> verify: done in "), "{}", tail(&err));
    let dist = root.join("dist");
    let err = ok(xtask(&root, &["verify"], &[]));
    for line in [
        "ok      files: the 9 artifacts of a release, nothing else",
        "ok      SHA256SUMS: 8 files match",
        "ok      perfspect.tgz tools: the binary embeds ethtool, fio, intel-speed-select, ipmitool, lspci, pci.ids, perf, smartctl, turbostat by the SBOM's sha256",
        "ok      perfspect-aarch64.tgz tools: the binary embeds ethtool, fio, ipmitool, lspci, pci.ids, perf, smartctl by the SBOM's sha256",
        "ok      oss_source.tgz: the source and licence texts of all",
    ] {
        assert!(err.contains(line), "{line} missing from {}", tail(&err));
    }
    assert!(!err.contains("FAILED"), "{}", tail(&err));

    // A changed byte in a tarball.
    let bad = copy_of(&dist, "byte");
    remove_when_passed(&bad);
    flip_byte(&bad.join("perfspect-aarch64.tgz"), 1000);
    let err = verify_fails(&root, &bad);
    assert!(
        err.contains("FAILED  perfspect-aarch64.tgz md5: "),
        "{}",
        tail(&err)
    );
    assert!(
        err.contains("FAILED  SHA256SUMS: perfspect-aarch64.tgz has sha256 "),
        "{}",
        tail(&err)
    );

    // An SBOM that omits a crate, inside the tarball and beside it.
    let drop_crate = |text: Vec<u8>| -> Vec<u8> {
        let mut doc: serde_json::Value = serde_json::from_slice(&text).unwrap();
        doc["packages"]
            .as_array_mut()
            .unwrap()
            .retain(|p| p["name"] != "anyhow");
        (serde_json::to_string_pretty(&doc).unwrap() + "\n").into_bytes()
    };
    let bad = damaged_copy(&dist, "crate", |bad| {
        let beside = bad.join("perfspect.tgz.spdx.json");
        fs::write(&beside, drop_crate(fs::read(&beside).unwrap())).unwrap();
        repack(&bad.join("perfspect.tgz"), |name, content| {
            Some(if name == "perfspect/sbom.spdx.json" {
                drop_crate(content)
            } else {
                content
            })
        });
    });
    let err = verify_fails(&root, &bad);
    assert!(
        err.contains("FAILED  perfspect.tgz crates: the SBOM omits the crate anyhow "),
        "{}",
        tail(&err)
    );
    assert_eq!(err.matches("FAILED").count(), 1, "{}", tail(&err));

    // oss_source.tgz without one statically linked library's source.
    let bad = damaged_copy(&dist, "oss", |bad| {
        repack(&bad.join("oss_source.tgz"), |name, content| {
            (!name.starts_with("oss_source/zlib_")).then_some(content)
        });
    });
    let err = verify_fails(&root, &bad);
    assert!(
        err.contains("FAILED  oss_source.tgz: the source of zlib "),
        "{}",
        tail(&err)
    );
    assert_eq!(err.matches("FAILED").count(), 1, "{}", tail(&err));

    // A manifest.json with another commit.
    let bad = damaged_copy(&dist, "manifest", |bad| {
        let path = bad.join("manifest.json");
        let mut manifest: serde_json::Value =
            serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        manifest["commit"] = "0badc0de".into();
        fs::write(
            &path,
            serde_json::to_string_pretty(&manifest).unwrap() + "\n",
        )
        .unwrap();
    });
    let err = verify_fails(&root, &bad);
    assert!(
        err.contains("FAILED  perfspect.tgz manifest.json: manifest.json says "),
        "{}",
        tail(&err)
    );
    assert!(
        err.contains("_0badc0de (version_date_commit), but the binary's --version prints"),
        "{}",
        tail(&err)
    );
}
