//! The checks on a release read into memory: one made consistent, then
//! damaged one way at a time.

use super::*;
use crate::sbom::{Embedded, Subject};
use crate::toolbox::Library;

const VERSION: &str = "3.0.0_2026-11-24_1a2b3c4d";

fn krate() -> Crate {
    Crate {
        name: "anyhow".into(),
        version: "1.0.105".into(),
        licence: "MIT OR Apache-2.0".into(),
        checksum: "aa".repeat(32),
    }
}

fn sbom_for(arch: &str, fio_sha: &str) -> Vec<u8> {
    let tools = [Embedded {
        name: "fio".into(),
        source: "fio".into(),
        source_version: "3.33-3".into(),
        sha256: fio_sha.into(),
        libraries: vec![Library {
            source: "zlib".into(),
            version: "1:1.2.13.dfsg-1".into(),
            files: vec!["libz.a (zlib1g-dev 1:1.2.13.dfsg-1)".into()],
        }],
    }];
    let subject = Subject {
        version: VERSION,
        arch,
        sha256: &"bb".repeat(32),
        licence: "BSD-3-Clause",
        epoch: 0,
    };
    sbom::document(&subject, &[krate()], &tools)
        .unwrap()
        .into_bytes()
}

fn good() -> Release {
    let mut release = Release::default();
    for name in expected_files() {
        release.sha256.insert(name.clone(), "cc".repeat(32));
        release.present.insert(name);
    }
    let sums: String = expected_files()
        .iter()
        .filter(|n| *n != "SHA256SUMS")
        .map(|n| format!("{}  {n}\n", "cc".repeat(32)))
        .collect();
    release.texts.insert("SHA256SUMS".into(), sums.into_bytes());
    release.texts.insert(
        "manifest.json".into(),
        br#"{"version": "3.0.0", "date": "2026-11-24", "time": "01:02:03", "commit": "1a2b3c4d"}"#
            .to_vec(),
    );
    for arch in ARCHES {
        let tarball = package::tarball_name(arch);
        release.md5.insert(tarball.clone(), "dd".repeat(16));
        release.texts.insert(
            format!("{tarball}.md5.txt"),
            format!("{}  {tarball}\n", "dd".repeat(16)).into_bytes(),
        );
        let sbom = sbom_for(arch, &"ee".repeat(32));
        release
            .texts
            .insert(format!("{tarball}.spdx.json"), sbom.clone());
        release.arches.insert(
            arch.to_string(),
            ArchRelease {
                entries: expected_layout()
                    .into_iter()
                    .map(|(path, mode)| TarEntry {
                        path,
                        mode,
                        owner: (0, 0),
                    })
                    .collect(),
                unreadable: None,
                binary_sha256: Some("bb".repeat(32)),
                sbom_inside: Some(sbom.clone()),
                sbom_beside: Some(sbom),
                version_output: Ok(format!("perfspect {VERSION}\n")),
                listed: Ok(vec![Listed {
                    name: "fio".into(),
                    source: "embedded".into(),
                    sha256: Some("ee".repeat(32)),
                }]),
                checkout_crates: Ok(vec![krate()]),
            },
        );
    }
    release.oss_entries = Ok([
        "oss_source/fio_3.33-3.dsc",
        "oss_source/licenses/fio/COPYING",
        "oss_source/zlib_1.2.13.dfsg-1.dsc",
        "oss_source/licenses/zlib/copyright",
    ]
    .map(String::from)
    .into());
    release
}

fn failures(release: &Release) -> Vec<String> {
    checks(release)
        .into_iter()
        .filter_map(|c| c.outcome.err().map(|why| format!("{}: {why}", c.name)))
        .collect()
}

#[test]
fn a_consistent_release_passes_every_check() {
    let checks = checks(&good());
    assert!(checks.len() > 10);
    assert_eq!(failures(&good()), Vec::<String>::new());
}

#[test]
fn a_changed_tarball_fails_md5_and_sha256() {
    let mut r = good();
    r.md5.insert("perfspect.tgz".into(), "00".repeat(16));
    r.sha256.insert("perfspect.tgz".into(), "00".repeat(32));
    let f = failures(&r);
    assert!(
        f.iter()
            .any(|l| l.starts_with("perfspect.tgz md5: perfspect.tgz.md5.txt says")),
        "{f:?}"
    );
    assert!(
        f.iter()
            .any(|l| l.starts_with("SHA256SUMS: perfspect.tgz has sha256 0000")),
        "{f:?}"
    );
    assert_eq!(f.len(), 2, "{f:?}");
}

#[test]
fn a_swapped_tool_is_named_with_both_digests() {
    let mut r = good();
    r.arches.get_mut("aarch64").unwrap().listed = Ok(vec![Listed {
        name: "fio".into(),
        source: "embedded".into(),
        sha256: Some("ff".repeat(32)),
    }]);
    let f = failures(&r);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].contains("the aarch64 binary embeds fio with sha256 ffff"),
        "{f:?}"
    );
    assert!(
        f[0].contains(&format!("the SBOM says {}", "ee".repeat(32))),
        "{f:?}"
    );
}

#[test]
fn an_sbom_that_omits_a_crate_fails() {
    let mut r = good();
    let extra = Crate {
        name: "itoa".into(),
        version: "1.0.19".into(),
        ..krate()
    };
    r.arches.get_mut("x86_64").unwrap().checkout_crates = Ok(vec![krate(), extra]);
    let f = failures(&r);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].contains("the SBOM omits the crate itoa 1.0.19"),
        "{f:?}"
    );
}

#[test]
fn an_sbom_changed_inside_or_beside_fails() {
    let mut r = good();
    r.arches.get_mut("x86_64").unwrap().sbom_beside = Some(b"{}".to_vec());
    let f = failures(&r);
    assert!(
        f.iter()
            .any(|l| l.contains("differs from perfspect.tgz.spdx.json")),
        "{f:?}"
    );
}

#[test]
fn a_missing_library_source_fails() {
    let mut r = good();
    if let Ok(entries) = &mut r.oss_entries {
        entries.remove("oss_source/zlib_1.2.13.dfsg-1.dsc");
    }
    let f = failures(&r);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].contains("the source of zlib 1:1.2.13.dfsg-1"), "{f:?}");
}

#[test]
fn a_manifest_with_another_commit_fails() {
    let mut r = good();
    r.texts.insert(
        "manifest.json".into(),
        br#"{"version": "3.0.0", "date": "2026-11-24", "time": "01:02:03", "commit": "99999999"}"#
            .to_vec(),
    );
    let f = failures(&r);
    assert_eq!(f.len(), 2, "one per binary: {f:?}");
    assert!(
        f[0].contains("manifest.json says 3.0.0_2026-11-24_99999999"),
        "{f:?}"
    );
}

#[test]
fn extra_and_missing_files_and_entries_are_named() {
    let mut r = good();
    r.present.insert("notes.txt".into());
    r.present.remove("perfspect-aarch64.tgz.spdx.json");
    let a = r.arches.get_mut("x86_64").unwrap();
    a.entries.push(TarEntry {
        path: "perfspect/tools/x86_64/fio".into(),
        mode: 0o755,
        owner: (0, 0),
    });
    let f = failures(&r);
    assert!(
        f.iter().any(|l| l
            == "files: missing perfspect-aarch64.tgz.spdx.json; not part of a release: notes.txt"),
        "{f:?}"
    );
    assert!(
        f.iter()
            .any(|l| l.contains("perfspect/tools/x86_64/fio is not part of a release")),
        "{f:?}"
    );
}

#[test]
fn an_unreadable_tarball_is_a_finding_not_an_abort() {
    let mut r = good();
    let a = r.arches.get_mut("aarch64").unwrap();
    a.unreadable = Some(
        "perfspect-aarch64.tgz cannot be read as a gzipped tar: corrupt deflate stream".into(),
    );
    let f = failures(&r);
    assert!(
        f.iter()
            .any(|l| l
                .starts_with("perfspect-aarch64.tgz layout: perfspect-aarch64.tgz cannot be read")),
        "{f:?}"
    );
}
