//! tools-cache/: what it holds, the key each tool was built for, and the
//! verdict, tool by tool, on what can be reused. Deciding is pure
//! ([`verdict`]); reading the disk ([`observe`]) is kept apart.
//!
//! The layout CI caches rely on: `bin/<arch>/<file>` (each tool's binary and
//! data files), `linked/<arch>/<tool>.tsv` (what each link used),
//! `oss_source.tgz` and its `.md5`, and `manifest.json`. The manifest records
//! per tool its key and files, per source package its key and its entries in
//! oss_source.tgz (so one package's sources can be replaced without fetching
//! the others again), the libraries' sources likewise, and the sha256 of
//! every file.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

pub const MANIFEST: &str = "manifest.json";
pub const OSS: &str = "oss_source.tgz";
pub const OSS_MD5: &str = "oss_source.tgz.md5";
const FORMAT: u64 = 2;

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
        bail!(
            "tools/versions.env pins no versions: it needs one per source package in xtask/src/toolbox.rs"
        );
    }
    Ok(pins)
}

/// A hash of named parts (each length-prefixed, so no two lists collide).
pub fn key(parts: &[(&str, &[u8])]) -> String {
    let mut h = Sha256::new();
    for (name, content) in parts {
        h.update(name.as_bytes());
        h.update([0]);
        h.update((content.len() as u64).to_le_bytes());
        h.update(content);
    }
    hex(&h.finalize())
}

/// One thing the cache keeps and rebuilds as a whole: a tool (its files in
/// the cache) or a source package's part of oss_source.tgz (its entries).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unit {
    pub key: String,
    pub paths: Vec<String>,
}

/// The cache's own record of what it holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub tools: BTreeMap<String, Unit>,
    /// Each tool source package's entries in oss_source.tgz.
    pub sources: BTreeMap<String, Unit>,
    /// The linked libraries' entries in oss_source.tgz.
    pub libraries: Unit,
    /// sha256 of every file of the cache but the manifest.
    pub files: BTreeMap<String, String>,
    pub versions: BTreeMap<String, String>,
}

fn unit_json(unit: &Unit) -> serde_json::Value {
    serde_json::json!({ "key": unit.key, "paths": unit.paths })
}

fn unit_from(value: &serde_json::Value, what: &str) -> Result<Unit, String> {
    let key = value["key"]
        .as_str()
        .ok_or(format!("`{what}.key` is missing"))?;
    let paths = value["paths"]
        .as_array()
        .ok_or(format!("`{what}.paths` is missing"))?
        .iter()
        .map(|p| p.as_str().map(str::to_string))
        .collect::<Option<Vec<_>>>()
        .ok_or(format!("`{what}.paths` holds a non-string"))?;
    Ok(Unit {
        key: key.to_string(),
        paths,
    })
}

impl Manifest {
    pub fn sha256(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(String::as_str)
    }

    fn body(&self, digest: &str) -> String {
        let units = |m: &BTreeMap<String, Unit>| -> serde_json::Map<String, serde_json::Value> {
            m.iter().map(|(k, u)| (k.clone(), unit_json(u))).collect()
        };
        let value = serde_json::json!({
            "format": FORMAT,
            "tools": units(&self.tools),
            "sources": units(&self.sources),
            "libraries": unit_json(&self.libraries),
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
        if value["format"].as_u64() != Some(FORMAT) {
            return Err(format!(
                "it is not format {FORMAT} (an older xtask wrote it)"
            ));
        }
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
        let unit_map = |field: &str| -> Result<BTreeMap<String, Unit>, String> {
            value[field]
                .as_object()
                .ok_or(format!("`{field}` is missing"))?
                .iter()
                .map(|(k, v)| Ok((k.clone(), unit_from(v, &format!("{field}.{k}"))?)))
                .collect()
        };
        let manifest = Manifest {
            tools: unit_map("tools")?,
            sources: unit_map("sources")?,
            libraries: unit_from(&value["libraries"], "libraries")?,
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

/// Why a tool or a part of oss_source.tgz must be built again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Miss {
    Absent,
    Forced,
    ManifestMissing,
    ManifestCorrupt(String),
    /// The cache holds nothing for it yet.
    New,
    /// Its recipe, pin, the shared build environment or the base image changed.
    Stale,
    MissingFile(String),
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
            Miss::New => write!(f, "not in tools-cache/ yet"),
            Miss::Stale => write!(
                f,
                "its recipe, pin, the shared build environment or the base image changed (the key differs)"
            ),
            Miss::MissingFile(p) => write!(f, "tools-cache/{p} is missing"),
            Miss::ChecksumMismatch(p) => write!(
                f,
                "tools-cache/{p} does not match its recorded sha256 (corrupt)"
            ),
        }
    }
}

/// What the cache must hold for the current tools/: each tool's key and
/// files, each source package's key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    pub tools: Vec<(String, Unit)>,
    pub sources: Vec<(String, String)>,
}

/// The verdict, tool by tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The manifest, when it is present and intact.
    pub manifest: Option<Manifest>,
    /// The tools to build again, each with why.
    pub tools: Vec<(String, Miss)>,
    /// The source packages whose part of oss_source.tgz must be fetched again.
    pub sources: Vec<(String, Miss)>,
    /// oss_source.tgz and its .md5, whole and as recorded, or why not.
    pub oss: Result<(), Miss>,
    /// Files the cache holds that no tool or source accounts for.
    pub extras: Vec<String>,
}

impl Verdict {
    /// Everything the current tools/ needs is there and intact (the
    /// libraries' part of oss_source.tgz is judged apart: its key comes from
    /// what the links used).
    pub fn all_reused(&self) -> bool {
        self.tools.is_empty()
            && self.sources.is_empty()
            && self.oss.is_ok()
            && self.extras.is_empty()
    }

    fn everything(expected: &Expected, why: Miss) -> Verdict {
        Verdict {
            manifest: None,
            tools: expected
                .tools
                .iter()
                .map(|(n, _)| (n.clone(), why.clone()))
                .collect(),
            sources: expected
                .sources
                .iter()
                .map(|(n, _)| (n.clone(), why.clone()))
                .collect(),
            oss: Err(why),
            extras: Vec::new(),
        }
    }
}

/// Decides, tool by tool and source by source, what the observed cache can
/// give for `expected`.
pub fn verdict(observation: &Observation, expected: &Expected) -> Verdict {
    let Observation::Present { manifest, files } = observation else {
        return Verdict::everything(expected, Miss::Absent);
    };
    let Some(manifest) = manifest else {
        return Verdict::everything(expected, Miss::ManifestMissing);
    };
    let manifest = match Manifest::parse(manifest) {
        Ok(m) => m,
        Err(why) => return Verdict::everything(expected, Miss::ManifestCorrupt(why)),
    };
    let intact = |path: &str| -> Result<(), Miss> {
        match (files.get(path), manifest.files.get(path)) {
            (None, _) => Err(Miss::MissingFile(path.into())),
            (Some(_), None) => Err(Miss::New),
            (Some(a), Some(b)) if a != b => Err(Miss::ChecksumMismatch(path.into())),
            _ => Ok(()),
        }
    };
    let tools = expected
        .tools
        .iter()
        .filter_map(|(name, want)| {
            let why = match manifest.tools.get(name) {
                None => Miss::New,
                Some(have) if have != want => Miss::Stale,
                Some(_) => match want.paths.iter().try_for_each(|p| intact(p)) {
                    Ok(()) => return None,
                    Err(why) => why,
                },
            };
            Some((name.clone(), why))
        })
        .collect();
    let oss = intact(OSS).and_then(|()| intact(OSS_MD5));
    let sources = expected
        .sources
        .iter()
        .filter_map(|(name, want)| {
            let why = match manifest.sources.get(name) {
                None => Miss::New,
                Some(have) if &have.key != want => Miss::Stale,
                Some(_) => oss.clone().err()?,
            };
            Some((name.clone(), why))
        })
        .collect();
    let accounted = |path: &str| {
        path == OSS
            || path == OSS_MD5
            || expected
                .tools
                .iter()
                .any(|(_, u)| u.paths.iter().any(|p| p == path))
    };
    let extras = files.keys().filter(|p| !accounted(p)).cloned().collect();
    Verdict {
        manifest: Some(manifest),
        tools,
        sources,
        oss,
        extras,
    }
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
pub fn list_files(root: &Path) -> Result<Vec<String>> {
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

    fn unit(key: &str, paths: &[&str]) -> Unit {
        Unit {
            key: key.into(),
            paths: paths.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn expected() -> Expected {
        Expected {
            tools: vec![
                (
                    "fio".into(),
                    unit("kf", &["bin/x86_64/fio", "linked/x86_64/fio.tsv"]),
                ),
                (
                    "perf".into(),
                    unit("kp", &["bin/x86_64/perf", "linked/x86_64/perf.tsv"]),
                ),
            ],
            sources: vec![("fio".into(), "sf".into()), ("linux".into(), "sl".into())],
        }
    }

    fn manifest() -> Manifest {
        let e = expected();
        let mut files: BTreeMap<String, String> = e
            .tools
            .iter()
            .flat_map(|(_, u)| u.paths.clone())
            .map(|p| (p.clone(), format!("sha-{p}")))
            .collect();
        files.insert(OSS.into(), "sha-oss".into());
        files.insert(OSS_MD5.into(), "sha-md5".into());
        Manifest {
            tools: e.tools.into_iter().collect(),
            sources: e
                .sources
                .into_iter()
                .map(|(n, k)| (n.clone(), unit(&k, &[&format!("{n}.dsc")])))
                .collect(),
            libraries: unit("kl", &["zlib.dsc"]),
            files,
            versions: [("FIO_VERSION".to_string(), "3.33-3".to_string())].into(),
        }
    }

    fn observed(m: &Manifest, edit: impl FnOnce(&mut BTreeMap<String, String>)) -> Observation {
        let mut files = m.files.clone();
        edit(&mut files);
        Observation::Present {
            manifest: Some(m.render().into_bytes()),
            files,
        }
    }

    type Named<'a> = Vec<(&'a str, &'a Miss)>;

    fn misses(v: &Verdict) -> (Named<'_>, Named<'_>) {
        (
            v.tools.iter().map(|(n, w)| (n.as_str(), w)).collect(),
            v.sources.iter().map(|(n, w)| (n.as_str(), w)).collect(),
        )
    }

    #[test]
    fn intact_cache_with_the_same_keys_reuses_everything() {
        let v = verdict(&observed(&manifest(), |_| {}), &expected());
        assert!(v.all_reused(), "{v:?}");
        assert_eq!(v.manifest, Some(manifest()));
    }

    #[test]
    fn absent_or_unreadable_caches_rebuild_everything_saying_why() {
        let v = verdict(&Observation::Absent, &expected());
        assert_eq!(v.tools.len(), 2);
        assert_eq!(v.sources.len(), 2);
        assert!(v.tools.iter().all(|(_, w)| *w == Miss::Absent));
        let v = verdict(
            &Observation::Present {
                manifest: None,
                files: manifest().files,
            },
            &expected(),
        );
        assert!(v.tools.iter().all(|(_, w)| *w == Miss::ManifestMissing));
    }

    #[test]
    fn a_changed_key_rebuilds_that_tool_only() {
        let mut e = expected();
        e.tools[1].1.key = "kp2".into();
        let v = verdict(&observed(&manifest(), |_| {}), &e);
        assert_eq!(misses(&v), (vec![("perf", &Miss::Stale)], vec![]));
        assert!(v.oss.is_ok());
    }

    #[test]
    fn a_corrupt_or_missing_file_rebuilds_its_tool_only() {
        let v = verdict(
            &observed(&manifest(), |f| {
                f.insert("bin/x86_64/fio".into(), "other".into());
            }),
            &expected(),
        );
        assert_eq!(
            misses(&v),
            (
                vec![("fio", &Miss::ChecksumMismatch("bin/x86_64/fio".into()))],
                vec![]
            )
        );
        let v = verdict(
            &observed(&manifest(), |f| {
                f.remove("linked/x86_64/perf.tsv");
            }),
            &expected(),
        );
        assert_eq!(
            misses(&v).0,
            [("perf", &Miss::MissingFile("linked/x86_64/perf.tsv".into()))]
        );
    }

    #[test]
    fn a_new_tool_is_built_and_the_others_kept() {
        let mut e = expected();
        e.tools
            .push(("lspci".into(), unit("kl", &["bin/x86_64/lspci"])));
        let v = verdict(&observed(&manifest(), |_| {}), &e);
        assert_eq!(misses(&v).0, [("lspci", &Miss::New)]);
    }

    #[test]
    fn a_damaged_oss_source_refetches_every_source_but_no_tool() {
        let v = verdict(
            &observed(&manifest(), |f| {
                f.insert(OSS.into(), "other".into());
            }),
            &expected(),
        );
        assert!(v.tools.is_empty());
        assert_eq!(v.sources.len(), 2);
        assert_eq!(v.oss, Err(Miss::ChecksumMismatch(OSS.into())));
        let mut e = expected();
        e.sources[0].1 = "sf2".into();
        let v = verdict(&observed(&manifest(), |_| {}), &e);
        assert_eq!(misses(&v).1, [("fio", &Miss::Stale)]);
    }

    #[test]
    fn files_no_tool_accounts_for_are_extras() {
        let v = verdict(
            &observed(&manifest(), |f| {
                f.insert("bin/x86_64/extra".into(), "x".into());
            }),
            &expected(),
        );
        assert_eq!(v.extras, ["bin/x86_64/extra"]);
        assert!(!v.all_reused());
        assert!(v.tools.is_empty());
    }

    #[test]
    fn any_changed_byte_of_the_manifest_is_corruption() {
        let text = manifest().render().into_bytes();
        let files = manifest().files;
        for i in (0..text.len()).step_by(3) {
            let mut bad = text.clone();
            bad[i] ^= 0x01;
            let obs = Observation::Present {
                manifest: Some(bad),
                files: files.clone(),
            };
            let v = verdict(&obs, &expected());
            assert!(
                matches!(v.tools[0].1, Miss::ManifestCorrupt(_)),
                "flipping byte {i} went unnoticed"
            );
        }
        assert_eq!(Manifest::parse(&text), Ok(manifest()));
    }

    #[test]
    fn key_depends_on_names_and_contents() {
        let a = key(&[("a", b"1"), ("b", b"2")]);
        assert_ne!(a, key(&[("c", b"1"), ("b", b"2")]));
        assert_ne!(a, key(&[("a", b"1 "), ("b", b"2")]));
        assert_ne!(a, key(&[("a", b"12"), ("b", b"")]));
    }

    #[test]
    fn pins_parse_and_reject_garbage() {
        let pins =
            parse_pins("# c\nLINUX_VERSION=6.1.176-1\n\nPCIUTILS_VERSION=1:3.9.0-4\n").unwrap();
        assert_eq!(pins[0], ("LINUX_VERSION".into(), "6.1.176-1".into()));
        assert_eq!(pins.len(), 2);
        assert!(parse_pins("FIO_VERSION\n").is_err());
        assert!(parse_pins("FIO_VERSION=3.33 ; rm -rf /\n").is_err());
        assert!(parse_pins("# nothing\n").is_err());
    }

    #[test]
    fn shipped_pins_cover_every_source_package() {
        let text = fs::read_to_string(crate::tools_dir().join("versions.env")).unwrap();
        let pins = parse_pins(&text).unwrap();
        for source in crate::toolbox::SOURCES {
            assert!(
                pins.iter().any(|(k, _)| k == source.pin),
                "{} is not pinned",
                source.pin
            );
        }
        assert_eq!(pins.len(), crate::toolbox::SOURCES.len());
    }
}
