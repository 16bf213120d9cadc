//! `cargo xtask verify [DIR]` (and the last stage of `cargo dist`): checks a
//! release directory the way a careful user would, and more. One line per
//! check; any failure makes the command fail.
//!
//! The comparisons are pure functions of what was read ([`Release`]); reading
//! the directory, the tarballs and running the binaries is kept in [`read`].

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use md5::Md5;
use sha2::{Digest, Sha256};
use xshell::Shell;

use crate::crates::{self, Crate};
use crate::embedded::{self, Listed};
use crate::package::{self, Docs};
use crate::sbom::{self, Contents};
use crate::toolbox::{self, ARCHES};
use crate::tools_cache::hex;

/// The outcome of one check: what was checked, and what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub outcome: Result<String, String>,
}

impl Check {
    fn new(name: impl Into<String>, outcome: Result<String, String>) -> Check {
        Check {
            name: name.into(),
            outcome,
        }
    }

    pub fn line(&self) -> String {
        match &self.outcome {
            Ok(what) => format!("ok      {}: {what}", self.name),
            Err(why) => format!("FAILED  {}: {why}", self.name),
        }
    }
}

/// The artifacts a release directory holds, in SHA256SUMS order.
pub fn expected_files() -> BTreeSet<String> {
    let mut files = BTreeSet::new();
    for arch in ARCHES {
        let tarball = package::tarball_name(arch);
        files.insert(format!("{tarball}.md5.txt"));
        files.insert(format!("{tarball}{}", sbom::SUFFIX));
        files.insert(tarball);
    }
    for name in ["manifest.json", "oss_source.tgz", "SHA256SUMS"] {
        files.insert(name.to_string());
    }
    files
}

/// One tarball entry as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarEntry {
    pub path: String,
    pub mode: u32,
    pub owner: (u64, u64),
}

/// One architecture's tarball, read and run.
#[derive(Debug)]
pub struct ArchRelease {
    pub entries: Vec<TarEntry>,
    /// Why the tarball could not be read to its end, if it could not.
    pub unreadable: Option<String>,
    pub binary_sha256: Option<String>,
    pub sbom_inside: Option<Vec<u8>>,
    pub sbom_beside: Option<Vec<u8>>,
    /// `--version`'s output, or why it could not be run.
    pub version_output: Result<String, String>,
    pub listed: Result<Vec<Listed>, String>,
    /// The crates the checkout compiles into this architecture's binary.
    pub checkout_crates: Result<Vec<Crate>, String>,
}

/// Everything read from a release directory.
#[derive(Debug)]
pub struct Release {
    pub present: BTreeSet<String>,
    /// sha256 of each present file.
    pub sha256: BTreeMap<String, String>,
    /// md5 of each present tarball.
    pub md5: BTreeMap<String, String>,
    /// Text files, by name.
    pub texts: BTreeMap<String, Vec<u8>>,
    pub arches: BTreeMap<String, ArchRelease>,
    /// Entry paths of oss_source.tgz, or why it could not be read.
    pub oss_entries: Result<BTreeSet<String>, String>,
}

impl Default for Release {
    fn default() -> Release {
        Release {
            present: BTreeSet::new(),
            sha256: BTreeMap::new(),
            md5: BTreeMap::new(),
            texts: BTreeMap::new(),
            arches: BTreeMap::new(),
            oss_entries: Err("oss_source.tgz was not read".into()),
        }
    }
}

/// Runs every check over `release`.
pub fn checks(release: &Release) -> Vec<Check> {
    let mut out = vec![files(release), sums(release)];
    let mut sources_named = BTreeSet::new();
    for arch in ARCHES {
        let tarball = package::tarball_name(arch);
        out.push(md5(release, &tarball));
        let Some(a) = release.arches.get(arch) else {
            out.push(Check::new(
                tarball.to_string(),
                Err("missing, so nothing in it could be checked".into()),
            ));
            continue;
        };
        out.push(layout(&tarball, a));
        let described = sbom_document(&tarball, a);
        if let Ok(d) = &described {
            sources_named.extend(d.debian_sources.iter().cloned());
        }
        let ok = described.as_ref().ok();
        out.push(Check::new(
            format!("{tarball} sbom"),
            described.as_ref().map(|d| {
                format!(
                    "SPDX 2.3, the same inside and beside: {} crates, {} tools, {} Debian source packages",
                    d.crates.len(),
                    d.tools.len(),
                    d.debian_sources.len()
                )
            }).map_err(Clone::clone),
        ));
        out.push(Check::new(
            format!("{tarball} binary"),
            binary_vs_sbom(a, ok),
        ));
        out.push(Check::new(
            format!("{tarball} tools"),
            tools_vs_sbom(arch, a, ok),
        ));
        out.push(Check::new(
            format!("{tarball} crates"),
            crates_vs_sbom(a, ok),
        ));
        out.push(Check::new(
            format!("{tarball} manifest.json"),
            manifest_vs_version(release.texts.get("manifest.json"), &a.version_output),
        ));
    }
    out.push(oss(release, &sources_named));
    out
}

fn files(release: &Release) -> Check {
    let expected = expected_files();
    let missing: Vec<&String> = expected.difference(&release.present).collect();
    let extra: Vec<&String> = release.present.difference(&expected).collect();
    let outcome = if missing.is_empty() && extra.is_empty() {
        Ok(format!(
            "the {} artifacts of a release, nothing else",
            expected.len()
        ))
    } else {
        let mut why = Vec::new();
        if !missing.is_empty() {
            why.push(format!("missing {}", join(&missing)));
        }
        if !extra.is_empty() {
            why.push(format!("not part of a release: {}", join(&extra)));
        }
        Err(why.join("; "))
    };
    Check::new("files", outcome)
}

fn join(names: &[&String]) -> String {
    names
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn sums(release: &Release) -> Check {
    let Some(text) = release.texts.get("SHA256SUMS") else {
        return Check::new("SHA256SUMS", Err("missing".into()));
    };
    let text = String::from_utf8_lossy(text);
    let mut listed = BTreeMap::new();
    for line in text.lines() {
        match line.split_once("  ") {
            Some((sum, name)) if sum.len() == 64 && sum.chars().all(|c| c.is_ascii_hexdigit()) => {
                listed.insert(name.to_string(), sum.to_string());
            }
            _ => {
                return Check::new(
                    "SHA256SUMS",
                    Err(format!("`{line}` is not a sha256sum line")),
                );
            }
        }
    }
    let mut problems = Vec::new();
    for name in expected_files().iter().filter(|n| *n != "SHA256SUMS") {
        match (listed.get(name), release.sha256.get(name)) {
            (None, _) => problems.push(format!("{name} is not listed")),
            (Some(_), None) => problems.push(format!("{name} is listed but missing")),
            (Some(want), Some(have)) if want != have => {
                problems.push(format!("{name} has sha256 {have}, SHA256SUMS says {want}"))
            }
            _ => {}
        }
    }
    for name in listed.keys().filter(|n| !expected_files().contains(*n)) {
        problems.push(format!("it lists {name}, which is not part of a release"));
    }
    let outcome = if problems.is_empty() {
        Ok(format!("{} files match", listed.len()))
    } else {
        Err(problems.join("; "))
    };
    Check::new("SHA256SUMS", outcome)
}

fn md5(release: &Release, tarball: &str) -> Check {
    let name = format!("{tarball}.md5.txt");
    let outcome = match (release.texts.get(&name), release.md5.get(tarball)) {
        (None, _) => Err(format!("{name} is missing")),
        (_, None) => Err(format!("{tarball} is missing")),
        (Some(text), Some(md5)) => {
            let want = format!("{md5}  {tarball}\n");
            if text.as_slice() == want.as_bytes() {
                Ok(format!("{name} matches ({md5})"))
            } else {
                Err(format!(
                    "{name} says `{}`, but {tarball}'s md5 is {md5}",
                    String::from_utf8_lossy(text).trim()
                ))
            }
        }
    };
    Check::new(format!("{tarball} md5"), outcome)
}

/// The entries `cargo dist` writes, with their modes.
fn expected_layout() -> Vec<(String, u32)> {
    let docs = Docs {
        license: vec![],
        notice: vec![],
        third_party: vec![],
    };
    package::entries(vec![], vec![], &docs)
        .iter()
        .map(|e| match e {
            package::Entry::Dir { path } => (path.clone(), 0o755),
            package::Entry::File { path, mode, .. } => (path.clone(), *mode),
        })
        .collect()
}

fn layout(tarball: &str, a: &ArchRelease) -> Check {
    if let Some(why) = &a.unreadable {
        return Check::new(format!("{tarball} layout"), Err(why.clone()));
    }
    let expected = expected_layout();
    let actual: Vec<(String, u32)> = a.entries.iter().map(|e| (e.path.clone(), e.mode)).collect();
    let mut problems = Vec::new();
    for (path, mode) in &expected {
        match actual.iter().find(|(p, _)| p == path) {
            None => problems.push(format!("{path} is missing")),
            Some((_, m)) if m != mode => {
                problems.push(format!("{path} has mode {m:o}, not {mode:o}"))
            }
            _ => {}
        }
    }
    for (path, _) in actual
        .iter()
        .filter(|(p, _)| !expected.iter().any(|(e, _)| e == p))
    {
        problems.push(format!("{path} is not part of a release"));
    }
    if let Some(e) = a.entries.iter().find(|e| e.owner != (0, 0)) {
        problems.push(format!("{} is not owned by root", e.path));
    }
    let outcome = if problems.is_empty() {
        Ok(format!(
            "{} entries, root-owned, the release layout",
            actual.len()
        ))
    } else {
        Err(problems.join("; "))
    };
    Check::new(format!("{tarball} layout"), outcome)
}

fn sbom_document(tarball: &str, a: &ArchRelease) -> Result<Contents, String> {
    let beside = format!("{tarball}{}", sbom::SUFFIX);
    let (Some(inside), Some(outside)) = (&a.sbom_inside, &a.sbom_beside) else {
        return Err(format!("{} or {beside} is missing", sbom::IN_TARBALL));
    };
    if inside != outside {
        return Err(format!("{} differs from {beside}", sbom::IN_TARBALL));
    }
    sbom::read(inside).map_err(|why| format!("{beside} cannot be read: {why}"))
}

fn binary_vs_sbom(a: &ArchRelease, sbom: Option<&Contents>) -> Result<String, String> {
    let sbom = sbom.ok_or("no SBOM to compare with")?;
    let have = a
        .binary_sha256
        .as_deref()
        .ok_or("perfspect/perfspect is missing")?;
    match sbom.perfspect_sha256.as_deref() {
        Some(want) if want == have => Ok(format!("sha256 {have}, as the SBOM says")),
        Some(want) => Err(format!(
            "perfspect/perfspect has sha256 {have}, the SBOM says {want}"
        )),
        None => Err("the SBOM gives no sha256 for perfspect".into()),
    }
}

fn tools_vs_sbom(arch: &str, a: &ArchRelease, sbom: Option<&Contents>) -> Result<String, String> {
    let sbom = sbom.ok_or("no SBOM to compare with")?;
    let listed = a.listed.as_ref().map_err(Clone::clone)?;
    let embedded: BTreeMap<&str, &str> = listed
        .iter()
        .filter(|l| l.source == "embedded")
        .map(|l| (l.name.as_str(), l.sha256.as_deref().unwrap_or("(none)")))
        .collect();
    let mut problems = Vec::new();
    for (name, want) in &sbom.tools {
        match embedded.get(name.as_str()) {
            None => problems.push(format!(
                "the SBOM lists {name}, which the {arch} binary does not embed"
            )),
            Some(have) if have != want => problems.push(format!(
                "the {arch} binary embeds {name} with sha256 {have}, the SBOM says {want}"
            )),
            _ => {}
        }
    }
    for (name, have) in &embedded {
        if !sbom.tools.contains_key(*name) {
            problems.push(format!(
                "the {arch} binary embeds {name} (sha256 {have}), which the SBOM omits"
            ));
        }
    }
    if problems.is_empty() {
        Ok(format!(
            "the binary embeds {} by the SBOM's sha256 (`perfspect tools list`)",
            embedded.keys().copied().collect::<Vec<_>>().join(", ")
        ))
    } else {
        Err(problems.join("; "))
    }
}

fn crates_vs_sbom(a: &ArchRelease, sbom: Option<&Contents>) -> Result<String, String> {
    let sbom = sbom.ok_or("no SBOM to compare with")?;
    let crates = a.checkout_crates.as_ref().map_err(Clone::clone)?;
    let mut problems = Vec::new();
    for c in crates {
        let key = format!("{}@{}", c.name, c.version);
        match sbom.crates.get(&key) {
            None => problems.push(format!("the SBOM omits the crate {} {}", c.name, c.version)),
            Some(sum) if *sum != c.checksum => problems.push(format!(
                "the SBOM gives {key} checksum {sum}, Cargo.lock {}",
                c.checksum
            )),
            _ => {}
        }
    }
    for key in sbom.crates.keys() {
        if !crates
            .iter()
            .any(|c| format!("{}@{}", c.name, c.version) == *key)
        {
            problems.push(format!(
                "the SBOM lists {key}, which this checkout does not compile in"
            ));
        }
    }
    if problems.is_empty() {
        Ok(format!(
            "{} crates, as this checkout's Cargo.lock compiles them",
            crates.len()
        ))
    } else {
        Err(problems.join("; ") + " (verify from a checkout of the release's commit)")
    }
}

fn manifest_vs_version(
    manifest: Option<&Vec<u8>>,
    version: &Result<String, String>,
) -> Result<String, String> {
    let manifest = manifest.ok_or("manifest.json is missing")?;
    let value: serde_json::Value =
        serde_json::from_slice(manifest).map_err(|e| format!("manifest.json is not JSON: {e}"))?;
    let fields = ["version", "date", "time", "commit"];
    let obj = value.as_object().ok_or("manifest.json is not an object")?;
    if obj.len() != fields.len()
        || fields
            .iter()
            .any(|f| !obj.get(*f).is_some_and(|v| v.is_string()))
    {
        return Err(
            "manifest.json must hold exactly version, date, time and commit, as strings".into(),
        );
    }
    let field = |f: &str| obj[f].as_str().unwrap_or_default().to_string();
    let stamp = format!("{}_{}_{}", field("version"), field("date"), field("commit"));
    let printed = version.as_ref().map_err(Clone::clone)?;
    let printed = printed.trim();
    let matches = printed
        .split_whitespace()
        .any(|w| w == stamp || w.strip_suffix("-dirty") == Some(&stamp));
    if matches {
        Ok(format!(
            "version {}, commit {}: the binary prints `{printed}`",
            field("version"),
            field("commit")
        ))
    } else {
        Err(format!(
            "manifest.json says {stamp} (version_date_commit), but the binary's --version prints `{printed}`"
        ))
    }
}

/// `wanted`: the Debian source packages (and versions) the readable SBOMs name.
fn oss(release: &Release, wanted: &BTreeSet<(String, String)>) -> Check {
    let outcome = (|| {
        let entries = release.oss_entries.as_ref().map_err(Clone::clone)?;
        if wanted.is_empty() {
            return Err("no SBOM names a source package to look for".to_string());
        }
        let mut problems = Vec::new();
        for (source, version) in wanted {
            let dsc = format!("oss_source/{}", toolbox::dsc_name(source, version));
            if !entries.contains(&dsc) {
                problems.push(format!(
                    "the source of {source} {version} ({dsc}) is missing"
                ));
            }
            let licences = format!("oss_source/licenses/{source}/");
            if !entries
                .iter()
                .any(|e| e.starts_with(&licences) && e.len() > licences.len())
            {
                problems.push(format!(
                    "the licence texts of {source} ({licences}) are missing"
                ));
            }
        }
        if problems.is_empty() {
            Ok(format!(
                "the source and licence texts of all {} Debian source packages the SBOMs name",
                wanted.len()
            ))
        } else {
            Err(problems.join("; "))
        }
    })();
    Check::new("oss_source.tgz", outcome)
}

// ---- Reading a release directory --------------------------------------------

/// Reads `dir`, its tarballs and oss_source.tgz, and runs each binary.
pub fn read(dir: &Path) -> Result<Release> {
    let mut release = Release::default();
    let listing = fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in listing {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            release
                .present
                .insert(entry.file_name().to_string_lossy().into_owned());
        }
    }
    let present = release.present.clone();
    // oss_source.tgz is the big one: hash and list it beside the rest.
    let oss_path = dir.join("oss_source.tgz");
    let oss = std::thread::scope(|s| {
        let oss = s.spawn(|| read_oss(&oss_path));
        let rest = read_small(dir, &present, &mut release);
        (oss.join().expect("oss_source.tgz reader panicked"), rest)
    });
    let ((oss_sha, oss_entries), rest) = oss;
    rest?;
    if let Some(sha) = oss_sha {
        release.sha256.insert("oss_source.tgz".into(), sha);
    }
    release.oss_entries = oss_entries;
    Ok(release)
}

fn read_oss(path: &Path) -> (Option<String>, Result<BTreeSet<String>, String>) {
    let Ok(file) = fs::File::open(path) else {
        return (None, Err("oss_source.tgz is missing".into()));
    };
    // One pass: the bytes feed the sha256 and the gzip reader at once.
    struct Hashing<R> {
        inner: R,
        hash: Sha256,
    }
    impl<R: std::io::Read> std::io::Read for Hashing<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.hash.update(&buf[..n]);
            Ok(n)
        }
    }
    let mut reader = Hashing {
        inner: std::io::BufReader::with_capacity(1 << 20, file),
        hash: Sha256::new(),
    };
    let entries = (|| -> Result<BTreeSet<String>, String> {
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&mut reader));
        let mut names = BTreeSet::new();
        for entry in tar.entries().map_err(|e| e.to_string())? {
            let entry = entry.map_err(|e| format!("oss_source.tgz is damaged: {e}"))?;
            names.insert(
                entry
                    .path()
                    .map_err(|e| e.to_string())?
                    .to_string_lossy()
                    .into_owned(),
            );
        }
        Ok(names)
    })();
    // Hash whatever the tar reader left unread (gzip's trailer, padding).
    let _ = std::io::copy(&mut reader, &mut std::io::sink());
    (Some(hex(&reader.hash.finalize())), entries)
}

fn read_small(dir: &Path, present: &BTreeSet<String>, release: &mut Release) -> Result<()> {
    for name in present.iter().filter(|n| *n != "oss_source.tgz") {
        let bytes = fs::read(dir.join(name)).with_context(|| format!("reading {name}"))?;
        release
            .sha256
            .insert(name.clone(), hex(&Sha256::digest(&bytes)));
        if name.ends_with(".tgz") {
            release.md5.insert(name.clone(), hex(&Md5::digest(&bytes)));
            continue;
        }
        release.texts.insert(name.clone(), bytes);
    }
    let work = crate::target_dir().join(format!("verify.{}", std::process::id()));
    let _cleanup = RemoveOnDrop(work.clone());
    // What this checkout compiles in, one `cargo tree` at a time (they would
    // wait for each other's lock on cargo's package cache anyway).
    let sh = Shell::new()?;
    sh.change_dir(crate::project_root());
    let mut crates: BTreeMap<&str, Result<Vec<Crate>, String>> = ARCHES
        .into_iter()
        .map(|arch| {
            let compiled = crates::compiled_into_perfspect(&sh, crate::build::target_of(arch));
            (
                arch,
                compiled.map(|c| c.crates).map_err(|e| format!("{e:#}")),
            )
        })
        .collect();
    // Each architecture's tarball is unpacked on a thread of its own, and then
    // each binary is run on a thread of its own (the aarch64 one under
    // qemu-user is the slow one). Not both at once: a binary still open for
    // writing in one thread is inherited by a process another thread forks,
    // and exec'ing it then fails with ETXTBSY.
    let arches: Vec<(&str, Result<Unpacked>)> = std::thread::scope(|s| {
        let handles: Vec<_> = ARCHES
            .into_iter()
            .filter(|arch| present.contains(&package::tarball_name(arch)))
            .map(|arch| {
                let beside = release
                    .texts
                    .get(&format!("{}{}", package::tarball_name(arch), sbom::SUFFIX))
                    .cloned();
                let work = work.join(arch);
                let crates = crates.remove(arch).expect("one per arch");
                (
                    arch,
                    s.spawn(move || read_arch(dir, arch, beside, crates, &work)),
                )
            })
            .collect();
        handles
            .into_iter()
            .map(|(arch, h)| (arch, h.join().expect("verify thread panicked")))
            .collect()
    });
    let mut unpacked = Vec::new();
    for (arch, a) in arches {
        unpacked.push((arch, a?));
    }
    let ran: Vec<(&str, ArchRelease)> = std::thread::scope(|s| {
        let handles: Vec<_> = unpacked
            .into_iter()
            .map(|(arch, (mut a, exe))| {
                let handle = s.spawn(move || {
                    if let Some(exe) = exe {
                        run_binary(arch, &exe, &mut a);
                    }
                    a
                });
                (arch, handle)
            })
            .collect();
        handles
            .into_iter()
            .map(|(arch, h)| (arch, h.join().expect("verify thread panicked")))
            .collect()
    });
    for (arch, a) in ran {
        release.arches.insert(arch.to_string(), a);
    }
    Ok(())
}

/// Runs a release binary's `--version` and `tools list`, recording both.
fn run_binary(arch: &str, exe: &Path, a: &mut ArchRelease) {
    let sh = match Shell::new() {
        Ok(sh) => sh,
        Err(e) => {
            a.version_output = Err(format!("cannot run the {arch} binary: {e}"));
            return;
        }
    };
    a.version_output = run_text(&sh, arch, exe, &["--version"]);
    a.listed = embedded::list(&sh, arch, exe).map_err(|e| format!("{e:#}"));
}

/// A tarball read, and where its binary was written out, if it has one.
type Unpacked = (ArchRelease, Option<PathBuf>);

/// One architecture's tarball: its entries, its SBOM, and its binary written
/// out to be run. A damaged tarball is a finding (in `unreadable`), not an error.
fn read_arch(
    dir: &Path,
    arch: &str,
    sbom_beside: Option<Vec<u8>>,
    checkout_crates: Result<Vec<Crate>, String>,
    work: &Path,
) -> Result<Unpacked> {
    let tarball = package::tarball_name(arch);
    const MISSING: &str = "perfspect/perfspect is missing from the tarball";
    let mut a = ArchRelease {
        entries: Vec::new(),
        unreadable: None,
        binary_sha256: None,
        sbom_inside: None,
        sbom_beside,
        version_output: Err(MISSING.into()),
        listed: Err(MISSING.into()),
        checkout_crates,
    };
    let bytes = fs::read(dir.join(&tarball)).with_context(|| format!("reading {tarball}"))?;
    let mut binary = None;
    let read = (|| -> std::io::Result<()> {
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(bytes.as_slice()));
        for entry in tar.entries()? {
            let mut entry = entry?;
            let header = entry.header().clone();
            let path = entry.path()?.to_string_lossy().into_owned();
            a.entries.push(TarEntry {
                path: path.clone(),
                mode: header.mode()?,
                owner: (header.uid()?, header.gid()?),
            });
            let mut content = Vec::new();
            if path == "perfspect/perfspect" || path == sbom::IN_TARBALL {
                entry.read_to_end(&mut content)?;
            }
            if path == "perfspect/perfspect" {
                binary = Some(content);
            } else if path == sbom::IN_TARBALL {
                a.sbom_inside = Some(content);
            }
        }
        Ok(())
    })();
    if let Err(e) = read {
        a.unreadable = Some(format!("{tarball} cannot be read as a gzipped tar: {e}"));
        return Ok((a, None));
    }
    if let Some(binary) = binary {
        a.binary_sha256 = Some(hex(&Sha256::digest(&binary)));
        return Ok((a, Some(write_executable(work, &binary)?)));
    }
    Ok((a, None))
}

fn write_executable(dir: &Path, bytes: &[u8]) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("perfspect");
    fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755))?;
    Ok(path)
}

fn run_text(sh: &Shell, arch: &str, exe: &Path, args: &[&str]) -> Result<String, String> {
    let out = embedded::run(sh, arch, exe, args).map_err(|e| format!("{e:#}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "the {arch} binary's {} failed: {}",
            args.join(" "),
            crate::failure::reason(&out.stderr, "no output")
        ))
    }
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

impl crate::flags::Verify {
    pub fn run(self, _sh: &Shell) -> Result<()> {
        let dir = match self.dir {
            None => crate::dist_dir(),
            Some(dir) if dir.is_absolute() => dir,
            Some(dir) => std::env::current_dir()?.join(dir),
        };
        let summary = verify(&dir)?;
        eprintln!("{}: {summary}", dir.display());
        Ok(())
    }
}

/// Verifies `dir`, printing one line per check; fails if any check failed.
pub fn verify(dir: &Path) -> Result<String> {
    let release = read(dir)?;
    let checks = checks(&release);
    for check in &checks {
        eprintln!("{}", check.line());
    }
    let failed: Vec<&Check> = checks.iter().filter(|c| c.outcome.is_err()).collect();
    if let Some(first) = failed.first() {
        bail!(
            "{} of {} checks failed for {}, the first: {}",
            failed.len(),
            checks.len(),
            dir.display(),
            first.line().trim_start_matches("FAILED  ")
        );
    }
    Ok(format!("{} checks passed", checks.len()))
}

#[cfg(test)]
mod tests;
