//! Stage 6, package: the artifacts of dist/, written in-process: reproducible tarballs
//! (sorted entries, root-owned, fixed modes, mtime from the commit, gzip
//! header without name or time), their md5 lines, manifest.json and SHA256SUMS.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use flate2::{Compression, GzBuilder};
use md5::{Digest as _, Md5};
use sha2::Sha256;

use crate::git::Commit;
use crate::sbom::Embedded;
use crate::tools_cache::hex;

/// One entry of a release tarball.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Dir {
        path: String,
    },
    File {
        path: String,
        mode: u32,
        content: Vec<u8>,
    },
}

impl Entry {
    pub fn path(&self) -> &str {
        match self {
            Entry::Dir { path } | Entry::File { path, .. } => path,
        }
    }
}

/// What goes into each architecture's tarball besides its binary.
pub struct Docs {
    pub license: Vec<u8>,
    pub notice: Vec<u8>,
    pub third_party: Vec<u8>,
}

/// The tarball each architecture ships in.
pub fn tarball_name(arch: &str) -> String {
    match arch {
        "x86_64" => "perfspect.tgz".into(),
        other => format!("perfspect-{other}.tgz"),
    }
}

/// The entries of a release tarball, sorted: `perfspect/` with the binary,
/// its SBOM, the legal files and the empty `tools/<arch>/` folders for user
/// overrides.
pub fn entries(binary: Vec<u8>, sbom: Vec<u8>, docs: &Docs) -> Vec<Entry> {
    let file = |name: &str, mode: u32, content: Vec<u8>| Entry::File {
        path: format!("perfspect/{name}"),
        mode,
        content,
    };
    let dir = |name: &str| Entry::Dir {
        path: format!("perfspect/{name}"),
    };
    let mut entries = vec![
        dir(""),
        file("perfspect", 0o755, binary),
        file("LICENSE", 0o644, docs.license.clone()),
        file("NOTICE", 0o644, docs.notice.clone()),
        file("THIRD_PARTY_PROGRAMS", 0o644, docs.third_party.clone()),
        file("sbom.spdx.json", 0o644, sbom),
        dir("tools/"),
        dir("tools/x86_64/"),
        dir("tools/aarch64/"),
    ];
    entries.sort_by(|a, b| a.path().cmp(b.path()));
    entries
}

/// A gzipped tar of `entries`, the same bytes for the same input on any machine.
pub fn tgz(entries: &[Entry], mtime: u64) -> Result<Vec<u8>> {
    tgz_at(entries, mtime, Compression::default())
}

/// [`tgz`] at a given compression level.
pub fn tgz_at(entries: &[Entry], mtime: u64, level: Compression) -> Result<Vec<u8>> {
    let gz = GzBuilder::new().mtime(0).write(Vec::new(), level);
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    for entry in entries {
        let mut header = tar::Header::new_ustar();
        header.set_uid(0);
        header.set_gid(0);
        header.set_username("root")?;
        header.set_groupname("root")?;
        header.set_mtime(mtime);
        match entry {
            Entry::Dir { path } => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                tar.append_data(&mut header, path, std::io::empty())?;
            }
            Entry::File {
                path,
                mode,
                content,
            } => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(*mode);
                header.set_size(content.len() as u64);
                tar.append_data(&mut header, path, content.as_slice())?;
            }
        }
    }
    let gz = tar.into_inner()?;
    Ok(gz.finish()?)
}

/// One line of `md5sum` output: 32 hex digits, two spaces, the bare name.
pub fn md5_line(content: &[u8], name: &str) -> String {
    format!("{}  {name}\n", hex(&Md5::digest(content)))
}

/// `sha256sum` output over `files` (name, sha256), sorted by name.
pub fn sha256sums(files: &BTreeMap<String, String>) -> String {
    files
        .iter()
        .map(|(name, sha)| format!("{sha}  {name}\n"))
        .collect()
}

/// manifest.json: exactly the four string fields a self-update reads.
pub fn manifest_json(version: &str, commit: &Commit) -> String {
    let q = |s: &str| serde_json::Value::from(s).to_string();
    format!(
        "{{\n  \"version\": {},\n  \"date\": {},\n  \"time\": {},\n  \"commit\": {}\n}}\n",
        q(version),
        q(&commit.date),
        q(&commit.time),
        q(&commit.short)
    )
}

/// THIRD_PARTY_PROGRAMS: each bundled tool, the source package it was built
/// from, its licence and, per architecture, the libraries its link used (the
/// same facts as the SBOMs).
pub fn third_party_programs(per_arch: &[(&str, Vec<Embedded>)]) -> Result<String> {
    let mut text = String::from(
        "perfspect embeds the following third-party programs, built from the Debian\n\
         (bookworm) source packages named below and statically linked with the\n\
         libraries listed under each. The complete sources of all of them, with their\n\
         licence texts, are in oss_source.tgz, published beside this archive; each\n\
         tarball's perfspect/sbom.spdx.json describes the same in SPDX 2.3.\n",
    );
    let Some((_, first)) = per_arch.first() else {
        return Ok(text);
    };
    for tool in first {
        let linked = per_arch.iter().any(|(_, tools)| {
            tools
                .iter()
                .any(|t| t.name == tool.name && !t.libraries.is_empty())
        });
        text += &format!(
            "\n{}\n  source: Debian package {} {}\n  licence: {}\n  {}\n",
            tool.name,
            tool.source,
            tool.source_version,
            crate::toolbox::licence(&tool.source)?,
            if linked {
                "statically linked with:"
            } else {
                "a data file, linked with nothing"
            }
        );
        if !linked {
            continue;
        }
        for (arch, tools) in per_arch {
            let Some(t) = tools.iter().find(|t| t.name == tool.name) else {
                continue;
            };
            let libs: Vec<String> = t
                .libraries
                .iter()
                .map(|l| {
                    Ok(format!(
                        "{} {} ({})",
                        l.source,
                        l.version,
                        crate::toolbox::licence(&l.source)?
                    ))
                })
                .collect::<Result<_>>()?;
            text += &format!("    {arch}: {}\n", libs.join(", "));
        }
    }
    Ok(text)
}

/// Where each architecture's binary comes from.
pub struct Binaries {
    pub x86_64: PathBuf,
    pub aarch64: PathBuf,
}

impl Binaries {
    pub fn by_arch(&self) -> [(&'static str, &Path); 2] {
        [("x86_64", &self.x86_64), ("aarch64", &self.aarch64)]
    }
}

/// One architecture's release: its binary and the SBOM describing it.
pub struct Release {
    pub arch: &'static str,
    pub binary: Vec<u8>,
    pub sbom: Vec<u8>,
}

/// Writes every artifact into `out` (a staging directory), the tarballs
/// compressed in parallel: each tarball, its md5 line and its SBOM beside it,
/// manifest.json, oss_source.tgz (path and verified sha256) and SHA256SUMS
/// over all of them.
pub fn write_all(
    out: &Path,
    releases: Vec<Release>,
    docs: &Docs,
    version: &str,
    commit: &Commit,
    mtime: u64,
    oss_source: (&Path, &str),
) -> Result<()> {
    // (tarball name, its bytes, its SBOM)
    type Archived = (String, Vec<u8>, Vec<u8>);
    let archived: Vec<Result<Archived>> = std::thread::scope(|s| {
        let handles: Vec<_> = releases
            .into_iter()
            .map(|r| {
                s.spawn(move || {
                    let name = tarball_name(r.arch);
                    let bytes = tgz(&entries(r.binary, r.sbom.clone(), docs), mtime)?;
                    Ok((name, bytes, r.sbom))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("packaging thread panicked"))
            .collect()
    });
    let mut artifacts: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for result in archived {
        let (name, bytes, sbom) = result?;
        artifacts.insert(
            format!("{name}.md5.txt"),
            md5_line(&bytes, &name).into_bytes(),
        );
        artifacts.insert(format!("{name}{}", crate::sbom::SUFFIX), sbom);
        artifacts.insert(name, bytes);
    }
    artifacts.insert(
        "manifest.json".into(),
        manifest_json(version, commit).into_bytes(),
    );

    let mut sums: BTreeMap<String, String> = BTreeMap::new();
    for (name, bytes) in &artifacts {
        write_file(&out.join(name), bytes)?;
        sums.insert(name.clone(), hex(&Sha256::digest(bytes)));
    }
    crate::pause::point("package");
    fs::copy(oss_source.0, out.join("oss_source.tgz"))
        .context("copying oss_source.tgz from tools-cache/")?;
    // The sha256 the tools stage verified; `verify` hashes the copy.
    sums.insert("oss_source.tgz".into(), oss_source.1.to_string());
    write_file(&out.join("SHA256SUMS"), sha256sums(&sums).as_bytes())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    f.sync_all()
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn docs() -> Docs {
        Docs {
            license: b"L".to_vec(),
            notice: b"N".to_vec(),
            third_party: b"T".to_vec(),
        }
    }

    #[test]
    fn archive_layout_matches_upstream() {
        let paths: Vec<String> = entries(b"bin".to_vec(), b"{}".to_vec(), &docs())
            .iter()
            .map(|e| e.path().to_string())
            .collect();
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
    }

    #[test]
    fn tarball_headers_are_fixed() {
        let bytes = tgz(
            &entries(b"\x7fELF".to_vec(), b"{}".to_vec(), &docs()),
            1_700_000_000,
        )
        .unwrap();
        // gzip header: magic, deflate, no flags (so no name), mtime zero.
        assert_eq!(&bytes[..8], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(bytes.as_slice()));
        for entry in tar.entries().unwrap() {
            let mut entry = entry.unwrap();
            let h = entry.header().clone();
            assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (0, 0));
            assert_eq!(h.username().unwrap(), Some("root"));
            assert_eq!(h.mtime().unwrap(), 1_700_000_000);
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let expected = if path.ends_with('/') || path == "perfspect/perfspect" {
                0o755
            } else {
                0o644
            };
            assert_eq!(h.mode().unwrap(), expected, "{path}");
            if path == "perfspect/perfspect" {
                let mut content = Vec::new();
                entry.read_to_end(&mut content).unwrap();
                assert_eq!(content, b"\x7fELF");
            }
        }
    }

    #[test]
    fn tarball_is_deterministic() {
        let a = tgz(&entries(vec![7; 100_000], vec![], &docs()), 1).unwrap();
        let b = tgz(&entries(vec![7; 100_000], vec![], &docs()), 1).unwrap();
        assert_eq!(a, b);
        assert_ne!(
            a,
            tgz(&entries(vec![7; 100_000], vec![], &docs()), 2).unwrap()
        );
    }

    #[test]
    fn md5_line_is_md5sum_format() {
        assert_eq!(
            md5_line(b"", "perfspect.tgz"),
            "d41d8cd98f00b204e9800998ecf8427e  perfspect.tgz\n"
        );
    }

    #[test]
    fn sha256sums_are_sorted_lines() {
        let sums = BTreeMap::from([
            ("b".to_string(), "2".to_string()),
            ("a".to_string(), "1".to_string()),
        ]);
        assert_eq!(sha256sums(&sums), "1  a\n2  b\n");
    }

    #[test]
    fn manifest_has_exactly_four_string_fields() {
        let commit = Commit {
            short: "1a2b3c4d".into(),
            date: "2026-11-24".into(),
            time: "01:02:03".into(),
            epoch: 0,
            dirty: false,
        };
        let text = manifest_json("3.0.0", &commit);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let obj = v.as_object().unwrap();
        assert_eq!(obj.len(), 4);
        assert_eq!(v["version"], "3.0.0");
        assert_eq!(v["date"], "2026-11-24");
        assert_eq!(v["time"], "01:02:03");
        assert_eq!(v["commit"], "1a2b3c4d");
        assert!(text.starts_with("{\n  \"version\""));
    }

    #[test]
    fn third_party_names_each_tool_and_its_libraries_per_arch() {
        let tool = |libs: &[(&str, &str)]| Embedded {
            name: "fio".into(),
            source: "fio".into(),
            source_version: "3.33-3".into(),
            sha256: String::new(),
            libraries: libs
                .iter()
                .map(|(s, v)| crate::toolbox::Library {
                    source: s.to_string(),
                    version: v.to_string(),
                    files: vec![],
                })
                .collect(),
        };
        let text = third_party_programs(&[
            (
                "x86_64",
                vec![tool(&[("glibc", "2.36-9"), ("zlib", "1:1.2.13.dfsg-1")])],
            ),
            ("aarch64", vec![tool(&[("glibc", "2.36-9")])]),
        ])
        .unwrap();
        assert!(
            text.contains("fio\n  source: Debian package fio 3.33-3\n  licence: GPL-2.0-only\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "    x86_64: glibc 2.36-9 (LGPL-2.1-or-later), zlib 1:1.2.13.dfsg-1 (Zlib)\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("    aarch64: glibc 2.36-9 (LGPL-2.1-or-later)\n"),
            "{text}"
        );
        let ids = Embedded {
            name: "pci.ids".into(),
            source: "pciutils".into(),
            ..tool(&[])
        };
        let text = third_party_programs(&[("x86_64", vec![ids])]).unwrap();
        assert!(
            text.ends_with("pci.ids\n  source: Debian package pciutils 3.33-3\n  licence: GPL-2.0-or-later\n  a data file, linked with nothing\n"),
            "{text}"
        );
    }
}
