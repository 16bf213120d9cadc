//! The embedded tools (perf, fio): lookup, override, extraction, verification.
//!
//! Lookup order for a tool `NAME`:
//! 1. `<directory of the running binary>/tools/<arch>/NAME` (an override,
//!    used in place, or copied to the private directory if not executable);
//! 2. the copy embedded at build time, extracted on first use into a private
//!    directory (mode 0700, random name, created with `mkdir` that fails if it
//!    exists), written with mode 0700 and its sha256 checked against the value
//!    computed by build.rs BEFORE it is run. The directory is removed on exit
//!    and on SIGINT/SIGTERM/SIGHUP (see `signals`).

use crate::signals;
use crate::util::{self, UsageError, human_bytes, usage_bail};
use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

pub struct EmbeddedTool {
    pub name: &'static str,
    pub data: &'static [u8],
    pub sha256: &'static str,
    pub size: u64,
}

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

pub const TOOL_NAMES: [&str; 2] = ["perf", "fio"];

/// Architecture name used in the tools layout (`x86_64`, `aarch64`).
pub fn arch() -> &'static str {
    std::env::consts::ARCH
}

pub enum Source {
    Override(PathBuf),
    Embedded(&'static EmbeddedTool),
}

impl Source {
    pub fn describe(&self) -> String {
        match self {
            Source::Override(p) => format!("override {}", p.display()),
            Source::Embedded(_) => "embedded".to_string(),
        }
    }
}

fn exe_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let exe = fs::canonicalize(&exe).unwrap_or(exe);
    exe.parent().map(Path::to_path_buf)
}

/// `<dir of the running binary>/tools/<arch>`.
pub fn override_dir() -> PathBuf {
    exe_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("tools")
        .join(arch())
}

pub fn embedded(name: &str) -> Option<&'static EmbeddedTool> {
    EMBEDDED.iter().find(|t| t.name == name)
}

pub fn find(name: &str) -> Option<Source> {
    let over = override_dir().join(name);
    if fs::metadata(&over).map(|m| m.is_file()).unwrap_or(false) {
        return Some(Source::Override(over));
    }
    embedded(name).map(Source::Embedded)
}

/// The message of a tool-less build.
pub fn no_tools_message(name: &str) -> String {
    let base = exe_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_else(|| ".".to_string());
    format!(
        "{name} is not available: no tools are embedded in this build: build a release with \
         `cargo dist` or drop perf/fio into {base}/tools/{}/",
        arch()
    )
}

static SESSION: Mutex<Option<PathBuf>> = Mutex::new(None);
static READY: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);

fn is_noexec(dir: &Path) -> bool {
    crate::os::statvfs(dir).map_or(true, |fs| fs.noexec)
}

/// The private directory of this run, created on first use.
pub fn session_dir() -> Result<PathBuf> {
    let mut guard = SESSION.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = guard.as_ref() {
        return Ok(p.clone());
    }
    // $TMPDIR, then /tmp; noexec mounts are skipped for the common fallbacks
    // since the tools are executed from there.
    let mut bases: Vec<PathBuf> = Vec::new();
    if let Some(t) = std::env::var_os("TMPDIR") {
        let t = PathBuf::from(t);
        if t.is_absolute() {
            bases.push(t);
        }
    }
    for b in ["/tmp", "/var/tmp", "/dev/shm"] {
        bases.push(PathBuf::from(b));
    }
    bases.retain(|b| b.is_dir());
    // Prefer mounts that allow executing programs (stable: keeps the order).
    bases.sort_by_key(|b| is_noexec(b));
    let mut last_err = None;
    for base in &bases {
        for _ in 0..8 {
            let dir = base.join(format!("perfspect-{}", util::random_hex(12)?));
            match fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => {
                    // Registered before anything is written in it.
                    signals::register_cleanup(dir.clone());
                    // Be explicit in case the umask was unusual.
                    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
                    *guard = Some(dir.clone());
                    return Ok(dir);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    last_err = Some((base.clone(), e));
                    break;
                }
            }
        }
    }
    match last_err {
        Some((base, e)) => bail!(
            "cannot create a private directory in {}: {e}",
            base.display()
        ),
        None => bail!("cannot create a private directory: no usable temporary directory"),
    }
}

/// Writes `data` to `path` (which must not exist) with `mode`, then checks
/// the sha256 of what is on disk against `expected`.
fn write_verified(path: &Path, data: &[u8], mode: u32, expected: &str, name: &str) -> Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(data)
        .and_then(|_| f.flush())
        .with_context(|| format!("cannot write {}", path.display()))?;
    drop(f);
    let got =
        util::sha256_file(path).with_context(|| format!("cannot read back {}", path.display()))?;
    if got != expected {
        let _ = fs::remove_file(path);
        bail!(
            "checksum mismatch for {name} written to {}: expected sha256 {expected}, got {got}; refusing to run it",
            path.display()
        );
    }
    Ok(())
}

/// Path of a runnable, verified copy of the tool `name`.
pub fn get(name: &str) -> Result<PathBuf> {
    {
        let ready = READY.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = ready.as_ref().and_then(|m| m.get(name)) {
            return Ok(p.clone());
        }
    }
    let path = match find(name) {
        None => return Err(anyhow::Error::new(UsageError(no_tools_message(name)))),
        Some(Source::Override(p)) => {
            let meta = fs::metadata(&p)?;
            if meta.permissions().mode() & 0o111 != 0 {
                p
            } else {
                // Dropped without the executable bit: run a private copy.
                let data = fs::read(&p).with_context(|| format!("cannot read {}", p.display()))?;
                let sha = util::sha256_hex(&data);
                let dest = session_dir()?.join(name);
                write_verified(&dest, &data, 0o700, &sha, name)?;
                dest
            }
        }
        Some(Source::Embedded(t)) => {
            let dest = session_dir()?.join(t.name);
            write_verified(&dest, t.data, 0o700, t.sha256, t.name)?;
            dest
        }
    };
    READY
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashMap::new)
        .insert(name.to_string(), path.clone());
    Ok(path)
}

/// A command for the tool with a neutral environment for parseable output.
pub fn command(name: &str) -> Result<Command> {
    let path = get(name)?;
    let mut cmd = Command::new(path);
    cmd.env("LC_ALL", "C").env_remove("LANG");
    Ok(cmd)
}

/// Version of a tool as it reports it (`perf version 6.1.176` -> `6.1.176`).
pub fn version(name: &str) -> Result<String> {
    let out = command(name)?
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {name}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    match parse_version(&text) {
        Some(v) if out.status.success() => Ok(v),
        _ => {
            let err = String::from_utf8_lossy(&out.stderr);
            let first = err
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("no output");
            bail!("`{name} --version` failed ({}): {first}", out.status)
        }
    }
}

pub fn parse_version(text: &str) -> Option<String> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let v = line
        .strip_prefix("perf version ")
        .or_else(|| line.strip_prefix("fio-"))
        .unwrap_or(line);
    Some(v.trim().to_string())
}

struct ToolInfo {
    name: &'static str,
    source: Option<Source>,
    version: Option<String>,
    size: Option<u64>,
    sha256: Option<String>,
    problem: Option<String>,
}

fn inspect(name: &'static str) -> ToolInfo {
    let source = find(name);
    let mut info = ToolInfo {
        name,
        source: None,
        version: None,
        size: None,
        sha256: None,
        problem: None,
    };
    match &source {
        None => info.problem = Some("not available".into()),
        Some(Source::Embedded(t)) => {
            info.size = Some(t.size);
            info.sha256 = Some(t.sha256.to_string());
        }
        Some(Source::Override(p)) => {
            info.size = fs::metadata(p).ok().map(|m| m.len());
            info.sha256 = util::sha256_file(p).ok();
        }
    }
    if source.is_some() {
        match version(name) {
            Ok(v) => info.version = Some(v),
            Err(e) => info.problem = Some(format!("{e:#}")),
        }
    }
    info.source = source;
    info
}

pub fn cmd_list(json: bool) -> Result<()> {
    let infos: Vec<ToolInfo> = TOOL_NAMES.iter().map(|n| inspect(n)).collect();
    if json {
        let list: Vec<serde_json::Value> = infos
            .iter()
            .map(|i| {
                let (source, path) = match &i.source {
                    None => ("none", None),
                    Some(Source::Embedded(_)) => ("embedded", None),
                    Some(Source::Override(p)) => ("override", Some(p.display().to_string())),
                };
                serde_json::json!({
                    "name": i.name,
                    "version": i.version,
                    "arch": arch(),
                    "size_bytes": i.size,
                    "sha256": i.sha256,
                    "source": source,
                    "path": path,
                    "problem": i.problem,
                })
            })
            .collect();
        let doc = serde_json::json!({ "arch": arch(), "build_arch": BUILD_ARCH, "tools": list });
        util::print_out(&(serde_json::to_string_pretty(&doc)? + "\n"))?;
    } else {
        let rows: Vec<Vec<String>> = infos
            .iter()
            .map(|i| {
                vec![
                    i.name.to_string(),
                    i.version.clone().unwrap_or_else(|| "-".into()),
                    arch().to_string(),
                    i.size.map(human_bytes).unwrap_or_else(|| "-".into()),
                    i.sha256.clone().unwrap_or_else(|| "-".into()),
                    match &i.source {
                        None => "not available".to_string(),
                        Some(s) => s.describe(),
                    },
                ]
            })
            .collect();
        let table = util::text_table(
            &["NAME", "VERSION", "ARCH", "SIZE", "SHA256", "SOURCE"],
            &rows,
            &[false, false, false, true, false, false],
        );
        util::print_out(&table)?;
    }
    if let Some(missing) = infos.iter().find(|i| i.source.is_none()) {
        return Err(anyhow::Error::new(UsageError(no_tools_message(
            missing.name,
        ))));
    }
    if let Some(bad) = infos.iter().find(|i| i.problem.is_some()) {
        bail!(
            "{}: {}",
            bad.name,
            bad.problem.as_deref().unwrap_or_default()
        );
    }
    Ok(())
}

pub fn cmd_extract(dir: &Path) -> Result<()> {
    util::check_writable_dir(dir, "directory")?;
    // Fail before writing anything if a tool is missing.
    for name in TOOL_NAMES {
        if find(name).is_none() {
            return Err(anyhow::Error::new(UsageError(no_tools_message(name))));
        }
    }
    let mut report = String::new();
    for name in TOOL_NAMES {
        let (data, expected, source): (std::borrow::Cow<'static, [u8]>, String, String) =
            match find(name) {
                Some(Source::Embedded(t)) => {
                    (t.data.into(), t.sha256.to_string(), "embedded".into())
                }
                Some(Source::Override(p)) => {
                    let data =
                        fs::read(&p).with_context(|| format!("cannot read {}", p.display()))?;
                    let sha = util::sha256_hex(&data);
                    (data.into(), sha, format!("override {}", p.display()))
                }
                None => usage_bail!("{}", no_tools_message(name)),
            };
        let dest = dir.join(name);
        let tmp = dir.join(format!(".{name}.perfspect-{}", util::random_hex(6)?));
        signals::register_cleanup(tmp.clone());
        write_verified(&tmp, &data, 0o755, &expected, name)?;
        fs::rename(&tmp, &dest).with_context(|| format!("cannot write {}", dest.display()))?;
        report.push_str(&format!(
            "{name}: {} ({}, {source}, sha256 {expected})\n",
            dest.display(),
            human_bytes(data.len() as u64)
        ));
    }
    util::print_out(&report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(
            parse_version("perf version 6.1.176\n").as_deref(),
            Some("6.1.176")
        );
        assert_eq!(parse_version("fio-3.33\n").as_deref(), Some("3.33"));
        assert_eq!(parse_version("\n\n"), None);
    }

    #[test]
    fn verification_refuses_a_mismatch() {
        let dir =
            std::env::temp_dir().join(format!("perfspect-verify-{}", util::random_hex(8).unwrap()));
        fs::create_dir(&dir).unwrap();
        let good = util::sha256_hex(b"#!/bin/sh\n");
        write_verified(&dir.join("ok"), b"#!/bin/sh\n", 0o700, &good, "ok").unwrap();
        assert_eq!(
            fs::metadata(dir.join("ok")).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let err = write_verified(&dir.join("bad"), b"tampered", 0o700, &good, "perf").unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("checksum mismatch for perf") && msg.contains("refusing"),
            "{msg}"
        );
        assert!(!dir.join("bad").exists(), "a bad copy is removed");
        // Never overwrites an existing file.
        assert!(write_verified(&dir.join("ok"), b"#!/bin/sh\n", 0o700, &good, "ok").is_err());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn embedded_tools_are_consistent() {
        for t in EMBEDDED {
            assert!(TOOL_NAMES.contains(&t.name));
            assert_eq!(t.data.len() as u64, t.size);
            assert_eq!(util::sha256_hex(t.data), t.sha256);
        }
        assert!(EMBEDDED.is_empty() || EMBEDDED.len() == 2);
        assert!(BUILD_ARCH.is_empty() || BUILD_ARCH == arch());
    }
}
