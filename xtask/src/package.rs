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

/// The entries of a release tarball, sorted: `perfspect/` with the binary,
/// the legal files and the empty `tools/<arch>/` folders for user overrides.
pub fn entries(binary: Vec<u8>, docs: &Docs) -> Vec<Entry> {
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
        dir("tools/"),
        dir("tools/x86_64/"),
        dir("tools/aarch64/"),
    ];
    entries.sort_by(|a, b| a.path().cmp(b.path()));
    entries
}

/// A gzipped tar of `entries`, the same bytes for the same input on any machine.
pub fn tgz(entries: &[Entry], mtime: u64) -> Result<Vec<u8>> {
    let gz = GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::default());
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

/// THIRD_PARTY_PROGRAMS: the bundled tools, the source versions they were
/// built from and their licences.
pub fn third_party_programs(versions: &BTreeMap<String, String>) -> String {
    let v = |key: &str| versions.get(key).map(String::as_str).unwrap_or("unknown");
    format!(
        "perfspect embeds the following third-party programs, built from the Debian\n\
         source packages named below. Their complete sources and licence texts are in\n\
         oss_source.tgz, published beside this archive.\n\n\
         perf\n  source: Debian package linux {}\n  licence: GPL-2.0-only\n  home: https://www.kernel.org/\n\n\
         fio\n  source: Debian package fio {}\n  licence: GPL-2.0-only\n  home: https://github.com/axboe/fio\n\n\
         Both are statically linked with libraries of Debian 12 (glibc: LGPL-2.1+; elfutils:\n\
         LGPL-3.0+/GPL-2.0+; zlib, xz, bzip2, zstd, libnuma, libaio, libcap, slang, libunwind\n\
         under their own licences), whose sources Debian publishes at https://sources.debian.org/.\n",
        v("LINUX_VERSION"),
        v("FIO_VERSION")
    )
}

/// Where each architecture's binary comes from and what its tarball is called.
pub struct Binaries {
    pub x86_64: PathBuf,
    pub aarch64: PathBuf,
}

/// Writes every artifact into `out` (a staging directory), the two tarballs
/// compressed in parallel.
pub fn write_all(
    out: &Path,
    binaries: &Binaries,
    docs: &Docs,
    version: &str,
    commit: &Commit,
    mtime: u64,
    oss_source: &Path,
) -> Result<()> {
    let archive = |binary: &Path, name: &str| -> Result<(String, Vec<u8>)> {
        let content = fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
        Ok((name.to_string(), tgz(&entries(content, docs), mtime)?))
    };
    let (a, b) = std::thread::scope(|s| {
        let aarch64 = s.spawn(|| archive(&binaries.aarch64, "perfspect-aarch64.tgz"));
        let x86_64 = archive(&binaries.x86_64, "perfspect.tgz");
        (x86_64, aarch64.join().expect("packaging thread panicked"))
    });
    let mut artifacts: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (name, bytes) in [a?, b?] {
        artifacts.insert(
            format!("{name}.md5.txt"),
            md5_line(&bytes, &name).into_bytes(),
        );
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
    fs::copy(oss_source, out.join("oss_source.tgz"))
        .context("copying oss_source.tgz from tools-cache/")?;
    sums.insert(
        "oss_source.tgz".into(),
        crate::tools_cache::sha256_file(&out.join("oss_source.tgz"))?,
    );
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
        let paths: Vec<String> = entries(b"bin".to_vec(), &docs())
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
                "perfspect/tools/",
                "perfspect/tools/aarch64/",
                "perfspect/tools/x86_64/",
            ]
        );
    }

    #[test]
    fn tarball_headers_are_fixed() {
        let bytes = tgz(&entries(b"\x7fELF".to_vec(), &docs()), 1_700_000_000).unwrap();
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
        let a = tgz(&entries(vec![7; 100_000], &docs()), 1).unwrap();
        let b = tgz(&entries(vec![7; 100_000], &docs()), 1).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, tgz(&entries(vec![7; 100_000], &docs()), 2).unwrap());
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
    fn third_party_names_the_pinned_versions() {
        let versions = BTreeMap::from([
            ("LINUX_VERSION".to_string(), "6.1.176-1".to_string()),
            ("FIO_VERSION".to_string(), "3.33-3".to_string()),
        ]);
        let text = third_party_programs(&versions);
        assert!(text.contains("linux 6.1.176-1") && text.contains("fio 3.33-3"));
    }
}
