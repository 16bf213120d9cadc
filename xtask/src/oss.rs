//! oss_source.tgz, assembled from its parts: each tool source package's files
//! and licence texts, and the linked libraries' (see tools_cache.rs for which
//! entries belong to which part). The same parts give the same bytes: sorted
//! entries, root-owned, modes 0644/0755, time 0, a gzip header without name
//! or time, whichever parts were fetched this run and which were kept.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::package::{self, Entry};

/// The folder every entry is under.
pub const ROOT: &str = "oss_source/";

/// The files of a part: path below oss_source/ and content.
pub type Files = BTreeMap<String, Vec<u8>>;

/// Reads from oss_source.tgz the files of `wanted` (paths below oss_source/);
/// fails naming the first one it does not hold.
pub fn read(tgz: &Path, wanted: &BTreeSet<String>) -> Result<Files> {
    let file = std::fs::File::open(tgz).with_context(|| format!("opening {}", tgz.display()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut files = Files::new();
    for entry in archive
        .entries()
        .with_context(|| format!("reading {}", tgz.display()))?
    {
        let mut entry = entry.with_context(|| format!("reading {}", tgz.display()))?;
        let path = entry.path()?.to_string_lossy().into_owned();
        let Some(rel) = path.strip_prefix(ROOT) else {
            continue;
        };
        if wanted.contains(rel) {
            let mut content = Vec::with_capacity(entry.size() as usize);
            entry.read_to_end(&mut content)?;
            files.insert(rel.to_string(), content);
        }
    }
    if let Some(missing) = wanted.iter().find(|p| !files.contains_key(*p)) {
        bail!(
            "{} lacks {ROOT}{missing}, which its manifest records: rebuild with `cargo tools --no-cache`",
            tgz.display()
        );
    }
    Ok(files)
}

/// Adds the files of one part; two parts may hold the same file only with the
/// same content (two tools' sources never differ under one name).
pub fn merge(into: &mut Files, part: &str, files: Files) -> Result<()> {
    for (path, content) in files {
        match into.get(&path) {
            Some(existing) if *existing != content => bail!(
                "oss_source.tgz: {part} brings {ROOT}{path}, which another part holds with other content"
            ),
            _ => {
                into.insert(path, content);
            }
        }
    }
    Ok(())
}

/// The archive of `files`, with an entry for every folder. Stored without
/// compression inside the gzip stream: nearly every byte is in an already
/// compressed source tarball (measured: gzip -6 saves 0.25% of 278 MB and
/// takes 7 s to write and 2 s to read back on each partial rebuild).
pub fn archive(files: Files) -> Result<Vec<u8>> {
    let mut dirs = BTreeSet::from([ROOT.to_string()]);
    for path in files.keys() {
        let mut at = 0;
        while let Some(i) = path[at..].find('/') {
            at += i + 1;
            dirs.insert(format!("{ROOT}{}", &path[..at]));
        }
    }
    let mut entries: Vec<Entry> = dirs.into_iter().map(|path| Entry::Dir { path }).collect();
    entries.extend(files.into_iter().map(|(path, content)| Entry::File {
        path: format!("{ROOT}{path}"),
        mode: 0o644,
        content,
    }));
    entries.sort_by(|a, b| a.path().cmp(b.path()));
    package::tgz_at(&entries, 0, flate2::Compression::none())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> Files {
        list.iter()
            .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn archive_reads_back_and_is_the_same_whatever_the_order_of_parts() {
        let dir = std::env::temp_dir().join(format!("perfspect-oss-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut a = Files::new();
        merge(
            &mut a,
            "fio",
            files(&[("fio_3.33-3.dsc", "d"), ("licenses/fio/COPYING", "g")]),
        )
        .unwrap();
        merge(&mut a, "libraries", files(&[("zlib_1.dsc", "z")])).unwrap();
        let mut b = Files::new();
        merge(&mut b, "libraries", files(&[("zlib_1.dsc", "z")])).unwrap();
        merge(
            &mut b,
            "fio",
            files(&[("licenses/fio/COPYING", "g"), ("fio_3.33-3.dsc", "d")]),
        )
        .unwrap();
        let bytes = archive(a).unwrap();
        assert_eq!(bytes, archive(b).unwrap());
        let tgz = dir.join("oss_source.tgz");
        std::fs::write(&tgz, &bytes).unwrap();
        let wanted: BTreeSet<String> = ["licenses/fio/COPYING".to_string()].into();
        assert_eq!(
            read(&tgz, &wanted).unwrap(),
            files(&[("licenses/fio/COPYING", "g")])
        );
        let err = read(&tgz, &["nope.dsc".to_string()].into())
            .unwrap_err()
            .to_string();
        assert!(err.contains("oss_source/nope.dsc"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn two_parts_with_one_name_and_other_content_are_refused() {
        let mut all = files(&[("glibc_2.36.dsc", "a")]);
        merge(&mut all, "same", files(&[("glibc_2.36.dsc", "a")])).unwrap();
        let err = merge(&mut all, "perf", files(&[("glibc_2.36.dsc", "b")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("perf brings oss_source/glibc_2.36.dsc"),
            "{err}"
        );
    }
}
