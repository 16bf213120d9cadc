//! tools-cache/: what it must hold, the key it was built for, and the verdict
//! on whether it can be used. Deciding is pure ([`verdict`]); reading the disk
//! ([`observe`]) is kept apart.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

/// The files a complete cache holds besides its manifest, in the layout the
/// original builder used (CI caches depend on it).
/// `linked/` lists what each link used (toolbox.rs reads them for the SBOMs).
pub const REQUIRED_FILES: [&str; 10] = [
    "bin/aarch64/fio",
    "bin/aarch64/perf",
    "bin/x86_64/fio",
    "bin/x86_64/perf",
    "linked/aarch64/fio.tsv",
    "linked/aarch64/perf.tsv",
    "linked/x86_64/fio.tsv",
    "linked/x86_64/perf.tsv",
    "oss_source.tgz",
    "oss_source.tgz.md5",
];
pub const MANIFEST: &str = "manifest.json";
const FORMAT: u64 = 1;

/// The pinned source versions of tools/versions.env, in file order.
pub type Pins = Vec<(String, String)>;

/// Parses `KEY=VALUE` lines; `#` starts a comment line.
pub fn parse_pins(text: &str) -> Result<Pins> {
    let mut pins = Pins::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            bail!(
                "tools/versions.env line {}: expected KEY=VALUE, found `{line}`",
                n + 1
            );
        };
        let valid_key = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        let valid_value = !value.is_empty()
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".+-~:_".contains(c));
        if !valid_key || !valid_value {
            bail!(
                "tools/versions.env line {}: `{line}` is not a valid pin like FIO_VERSION=3.33-3",
                n + 1
            );
        }
        pins.push((key.to_string(), value.to_string()));
    }
    if pins.is_empty() {
        bail!("tools/versions.env pins no versions: it needs LINUX_VERSION and FIO_VERSION");
    }
    Ok(pins)
}

/// The cache key: a hash of every file under tools/ (relative path and content),
/// so any edit there, a comment included, makes the cache stale.
pub fn key(files: &[(String, Vec<u8>)]) -> String {
    let mut sorted: Vec<&(String, Vec<u8>)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut h = Sha256::new();
    for (path, content) in sorted {
        h.update(path.as_bytes());
        h.update([0]);
        h.update((content.len() as u64).to_le_bytes());
        h.update(content);
    }
    hex(&h.finalize())
}

/// The cache's own record of what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub key: String,
    /// sha256 of each of [`REQUIRED_FILES`].
    pub files: BTreeMap<String, String>,
    pub versions: BTreeMap<String, String>,
}

impl Manifest {
    fn body(&self, digest: &str) -> String {
        let value = serde_json::json!({
            "format": FORMAT,
            "key": self.key,
            "files": self.files,
            "versions": self.versions,
            "digest": digest,
        });
        serde_json::to_string_pretty(&value).expect("a json value always serialises") + "\n"
    }

    /// The canonical text, ending in a digest of itself so that a change to any
    /// byte, even one that still parses, is detected.
    pub fn render(&self) -> String {
        let digest = hex(&Sha256::digest(self.body("").as_bytes()));
        self.body(&digest)
    }

    /// Parses a manifest and checks it is exactly what [`render`] would write.
    pub fn parse(text: &[u8]) -> Result<Manifest, String> {
        let value: serde_json::Value =
            serde_json::from_slice(text).map_err(|e| format!("it is not valid JSON ({e})"))?;
        let string_map = |field: &str| -> Result<BTreeMap<String, String>, String> {
            value[field]
                .as_object()
                .ok_or(format!("`{field}` is missing"))?
                .iter()
                .map(|(k, v)| {
                    Ok((
                        k.clone(),
                        v.as_str()
                            .ok_or(format!("`{field}.{k}` is not a string"))?
                            .to_string(),
                    ))
                })
                .collect()
        };
        let manifest = Manifest {
            key: value["key"].as_str().ok_or("`key` is missing")?.to_string(),
            files: string_map("files")?,
            versions: string_map("versions")?,
        };
        if manifest.render().as_bytes() != text {
            return Err("its content does not match its digest".into());
        }
        Ok(manifest)
    }
}

/// What is on disk in tools-cache/, read but not judged.
#[derive(Debug, Clone)]
pub enum Observation {
    Absent,
    Present {
        manifest: Option<Vec<u8>>,
        /// sha256 of every other regular file, by path relative to the cache.
        files: BTreeMap<String, String>,
    },
}

/// Why the cache cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Miss {
    Absent,
    Forced,
    ManifestMissing,
    ManifestCorrupt(String),
    Stale,
    MissingFile(String),
    UnexpectedFile(String),
    ChecksumMismatch(String),
}

impl fmt::Display for Miss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Miss::Absent => write!(f, "tools-cache/ is absent"),
            Miss::Forced => write!(
                f,
                "a rebuild from source was asked for (--no-cache or SKIP_TOOLS_CACHE)"
            ),
            Miss::ManifestMissing => write!(f, "tools-cache/{MANIFEST} is missing"),
            Miss::ManifestCorrupt(why) => write!(f, "tools-cache/{MANIFEST} is corrupt: {why}"),
            Miss::Stale => write!(
                f,
                "tools/ changed since tools-cache/ was built (the cache key differs): stale"
            ),
            Miss::MissingFile(p) => write!(f, "tools-cache/{p} is missing"),
            Miss::UnexpectedFile(p) => {
                write!(f, "tools-cache/{p} is not a file the cache should hold")
            }
            Miss::ChecksumMismatch(p) => write!(
                f,
                "tools-cache/{p} does not match its recorded sha256 (corrupt)"
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Hit(Manifest),
    Miss(Miss),
}

/// Decides whether the observed cache is complete, intact and built for `key`.
pub fn verdict(observation: &Observation, key: &str) -> Verdict {
    let Observation::Present { manifest, files } = observation else {
        return Verdict::Miss(Miss::Absent);
    };
    let Some(manifest) = manifest else {
        return Verdict::Miss(Miss::ManifestMissing);
    };
    let manifest = match Manifest::parse(manifest) {
        Ok(m) => m,
        Err(why) => return Verdict::Miss(Miss::ManifestCorrupt(why)),
    };
    if manifest.files.keys().map(String::as_str).ne(REQUIRED_FILES) {
        return Verdict::Miss(Miss::ManifestCorrupt(
            "it does not list the required files".into(),
        ));
    }
    if manifest.key != key {
        return Verdict::Miss(Miss::Stale);
    }
    if let Some(missing) = REQUIRED_FILES.iter().find(|f| !files.contains_key(**f)) {
        return Verdict::Miss(Miss::MissingFile(missing.to_string()));
    }
    if let Some(extra) = files.keys().find(|f| !REQUIRED_FILES.contains(&f.as_str())) {
        return Verdict::Miss(Miss::UnexpectedFile(extra.clone()));
    }
    if let Some((path, _)) = manifest
        .files
        .iter()
        .find(|(path, sha)| files.get(*path) != Some(sha))
    {
        return Verdict::Miss(Miss::ChecksumMismatch(path.clone()));
    }
    Verdict::Hit(manifest)
}

// ---- reading and writing the disk ----

/// Reads every file under `root` (relative path with `/`, content), sorted.
pub fn read_tree(root: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for path in list_files(root)? {
        let content = fs::read(root.join(&path))
            .with_context(|| format!("reading {}", root.join(&path).display()))?;
        out.push((path, content));
    }
    Ok(out)
}

/// Relative paths of every file (and anything that is not a directory) under `root`, sorted.
fn list_files(root: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![String::new()];
    while let Some(rel) = stack.pop() {
        let dir = if rel.is_empty() {
            root.to_path_buf()
        } else {
            root.join(&rel)
        };
        for entry in fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            if entry.file_type()?.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads tools-cache/ and hashes every file in it. The largest file is hashed
/// on a second thread: the cache check is on the path of every build.
pub fn observe(dir: &Path) -> Result<Observation> {
    if !dir.is_dir() {
        return Ok(Observation::Absent);
    }
    let mut paths = list_files(dir)?;
    let manifest = match paths.iter().position(|p| p == MANIFEST) {
        Some(i) => {
            paths.remove(i);
            Some(fs::read(dir.join(MANIFEST)).context("reading the tools cache manifest")?)
        }
        None => None,
    };
    let files = hash_files(dir, &paths)?;
    Ok(Observation::Present { manifest, files })
}

/// sha256 of each of `paths` under `dir`, spread over two threads by size.
pub fn hash_files(dir: &Path, paths: &[String]) -> Result<BTreeMap<String, String>> {
    let largest = paths
        .iter()
        .max_by_key(|p| {
            fs::symlink_metadata(dir.join(p))
                .map(|m| m.len())
                .unwrap_or(0)
        })
        .cloned();
    let (big, rest): (Vec<&String>, Vec<&String>) =
        paths.iter().partition(|p| Some(*p) == largest.as_ref());
    std::thread::scope(|s| {
        let hash_all = move |list: Vec<&String>| -> Result<Vec<(String, String)>> {
            list.into_iter()
                .map(|p| Ok((p.clone(), sha256_file(&dir.join(p))?)))
                .collect()
        };
        let big = s.spawn(move || hash_all(big));
        let mut out: BTreeMap<String, String> = hash_all(rest)?.into_iter().collect();
        out.extend(big.join().expect("hashing thread panicked")?);
        Ok(out)
    })
}

pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            key: "k1".into(),
            files: REQUIRED_FILES
                .iter()
                .map(|f| (f.to_string(), format!("sha-{f}")))
                .collect(),
            versions: [("FIO_VERSION".to_string(), "3.33-3".to_string())].into(),
        }
    }

    fn good() -> Observation {
        let m = manifest();
        Observation::Present {
            manifest: Some(m.render().into_bytes()),
            files: m.files.clone(),
        }
    }

    fn with_files(edit: impl FnOnce(&mut BTreeMap<String, String>)) -> Observation {
        let Observation::Present {
            manifest,
            mut files,
        } = good()
        else {
            unreachable!()
        };
        edit(&mut files);
        Observation::Present { manifest, files }
    }

    #[test]
    fn intact_cache_with_same_key_is_a_hit() {
        assert_eq!(verdict(&good(), "k1"), Verdict::Hit(manifest()));
    }

    #[test]
    fn absent_cache() {
        assert_eq!(
            verdict(&Observation::Absent, "k1"),
            Verdict::Miss(Miss::Absent)
        );
    }

    #[test]
    fn edited_tools_make_it_stale() {
        assert_eq!(verdict(&good(), "k2"), Verdict::Miss(Miss::Stale));
    }

    #[test]
    fn missing_file_is_named() {
        let obs = with_files(|f| {
            f.remove("bin/x86_64/fio");
        });
        assert_eq!(
            verdict(&obs, "k1"),
            Verdict::Miss(Miss::MissingFile("bin/x86_64/fio".into()))
        );
    }

    #[test]
    fn unexpected_file_is_named() {
        let obs = with_files(|f| {
            f.insert("bin/x86_64/extra".into(), "x".into());
        });
        assert_eq!(
            verdict(&obs, "k1"),
            Verdict::Miss(Miss::UnexpectedFile("bin/x86_64/extra".into()))
        );
    }

    #[test]
    fn changed_content_is_named() {
        let obs = with_files(|f| {
            f.insert("oss_source.tgz".into(), "other".into());
        });
        assert_eq!(
            verdict(&obs, "k1"),
            Verdict::Miss(Miss::ChecksumMismatch("oss_source.tgz".into()))
        );
    }

    #[test]
    fn manifest_missing() {
        let Observation::Present { files, .. } = good() else {
            unreachable!()
        };
        let obs = Observation::Present {
            manifest: None,
            files,
        };
        assert_eq!(verdict(&obs, "k1"), Verdict::Miss(Miss::ManifestMissing));
    }

    #[test]
    fn any_changed_byte_of_the_manifest_is_corruption() {
        let text = manifest().render().into_bytes();
        let Observation::Present { files, .. } = good() else {
            unreachable!()
        };
        for i in 0..text.len() {
            let mut bad = text.clone();
            bad[i] ^= 0x01;
            let obs = Observation::Present {
                manifest: Some(bad),
                files: files.clone(),
            };
            assert!(
                matches!(verdict(&obs, "k1"), Verdict::Miss(Miss::ManifestCorrupt(_))),
                "flipping byte {i} went unnoticed"
            );
        }
        let obs = Observation::Present {
            manifest: Some(text[..text.len() - 2].to_vec()),
            files,
        };
        assert!(matches!(
            verdict(&obs, "k1"),
            Verdict::Miss(Miss::ManifestCorrupt(_))
        ));
    }

    #[test]
    fn key_depends_on_paths_and_contents_not_order() {
        let a = vec![
            ("a".to_string(), b"1".to_vec()),
            ("b".to_string(), b"2".to_vec()),
        ];
        let reordered = vec![a[1].clone(), a[0].clone()];
        let renamed = vec![("c".to_string(), b"1".to_vec()), a[1].clone()];
        let edited = vec![("a".to_string(), b"1 ".to_vec()), a[1].clone()];
        assert_eq!(key(&a), key(&reordered));
        assert_ne!(key(&a), key(&renamed));
        assert_ne!(key(&a), key(&edited));
    }

    #[test]
    fn pins_parse_and_reject_garbage() {
        let pins = parse_pins("# c\nLINUX_VERSION=6.1.176-1\n\nFIO_VERSION=3.33-3\n").unwrap();
        assert_eq!(pins[0], ("LINUX_VERSION".into(), "6.1.176-1".into()));
        assert_eq!(pins.len(), 2);
        assert!(parse_pins("FIO_VERSION\n").is_err());
        assert!(parse_pins("FIO_VERSION=3.33 ; rm -rf /\n").is_err());
        assert!(parse_pins("# nothing\n").is_err());
    }

    #[test]
    fn shipped_pins_are_valid() {
        let text = fs::read_to_string(crate::tools_dir().join("versions.env")).unwrap();
        let pins = parse_pins(&text).unwrap();
        let keys: Vec<&str> = pins.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["LINUX_VERSION", "FIO_VERSION"]);
    }
}
