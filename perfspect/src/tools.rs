//! The embedded toolbox (perf, fio, lspci and its pci.ids, ...): lookup,
//! override, extraction, verification, versions.
//!
//! Lookup order for a tool `NAME`:
//! 1. `<directory of the running binary>/tools/<arch>/NAME` (an override,
//!    used in place, or copied to the private directory if not executable);
//! 2. the copy embedded at build time, extracted on first use into a private
//!    directory (mode 0700, random name, created with `mkdir` that fails if it
//!    exists), written with mode 0700 (0600 for a data file such as pci.ids)
//!    and its sha256 checked against the value computed by build.rs BEFORE it
//!    is used. The directory is removed on exit and on SIGINT/SIGTERM/SIGHUP
//!    (see `signals`).

use crate::signals;
use crate::util::{self, UsageError, human_bytes, usage_bail};
use anyhow::{Context, Result, anyhow, bail};
use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

pub struct EmbeddedTool {
    pub name: &'static str,
    pub data: &'static [u8],
    pub sha256: &'static str,
    pub size: u64,
    /// The Debian source package and version it was built from
    /// (`linux 6.1.176-1`); empty when the build did not say.
    pub package: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// The PCI ID database lspci reads: a data file, never run.
pub const PCI_IDS: &str = "pci.ids";

/// The toolbox a release embeds for x86_64, in the order `tools list` shows it.
const X86_64_TOOLS: &[&str] = &[
    "perf",
    "turbostat",
    "intel-speed-select",
    "fio",
    "lspci",
    PCI_IDS,
    "ethtool",
    "ipmitool",
    "smartctl",
];

/// The toolbox a release embeds for aarch64 (turbostat and
/// intel-speed-select are Intel-only).
const AARCH64_TOOLS: &[&str] = &[
    "perf", "fio", "lspci", PCI_IDS, "ethtool", "ipmitool", "smartctl",
];

/// The tools perfspect knows for `arch`. An architecture without a release
/// toolbox still lists perf and fio, which its own commands need and which
/// can be dropped in as overrides.
pub fn known(arch: &str) -> &'static [&'static str] {
    match arch {
        "x86_64" => X86_64_TOOLS,
        "aarch64" => AARCH64_TOOLS,
        _ => &["perf", "fio"],
    }
}

/// What `tools list` and `tools extract` cover: the known tools of the running
/// architecture, then any other embedded file (none in a release).
pub fn names() -> Vec<&'static str> {
    let mut names = known(arch()).to_vec();
    for t in EMBEDDED {
        if !names.contains(&t.name) {
            names.push(t.name);
        }
    }
    names
}

/// Whether `name` is data read by a tool rather than a program to run.
fn is_data(name: &str) -> bool {
    name == PCI_IDS
}

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
    find_in(&override_dir(), name)
}

/// `name` as an override in `over`, else embedded.
fn find_in(over: &Path, name: &str) -> Option<Source> {
    let path = over.join(name);
    if fs::metadata(&path).map(|m| m.is_file()).unwrap_or(false) {
        return Some(Source::Override(path));
    }
    embedded(name).map(Source::Embedded)
}

/// The override or embedded copy of `name` ready to use, if perfspect has
/// one; the callers fall back to the host's copy otherwise.
pub fn bundled(name: &str) -> Option<PathBuf> {
    find(name)?;
    get(name).ok()
}

/// The message of a tool that is neither embedded nor dropped in.
pub fn no_tools_message(name: &str) -> String {
    let base = exe_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_else(|| ".".to_string());
    let dir = format!("{base}/tools/{}/", arch());
    if EMBEDDED.is_empty() {
        format!(
            "{name} is not available: no tools are embedded in this build: build a release with \
             `cargo dist` or drop the tools ({}) into {dir}",
            known(arch()).join(", ")
        )
    } else {
        format!("{name} is not available: this build does not embed it: drop it into {dir}")
    }
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

/// Path of a verified copy of the tool `name`: runnable, or readable for a
/// data file.
pub fn get(name: &str) -> Result<PathBuf> {
    // Held while extracting, so two threads asking for the same tool do not
    // both write it (the second `create_new` would fail).
    let mut ready = READY.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = ready.as_ref().and_then(|m| m.get(name)) {
        return Ok(p.clone());
    }
    let path = match find(name) {
        None => return Err(anyhow::Error::new(UsageError(no_tools_message(name)))),
        Some(source) => materialize(name, source)?,
    };
    ready
        .get_or_insert_with(HashMap::new)
        .insert(name.to_string(), path.clone());
    Ok(path)
}

/// Extracts the tools in `names` that perfspect has, before threads start
/// running them. A file being written in one thread while another starts a
/// process stays open for writing in that child until it execs, and running
/// the file meanwhile fails with "Text file busy" (ETXTBSY). A failure here
/// is left to the tool's user, which gets it again from [`get`].
pub fn prepare(names: &[&str]) {
    for name in names {
        if find(name).is_some() {
            let _ = get(name);
        }
    }
}

/// Where `source` can be used from: an override in place (a program without
/// its executable bit is copied to the private directory), an embedded copy
/// written to the private directory.
fn materialize(name: &str, source: Source) -> Result<PathBuf> {
    let mode = if is_data(name) { 0o600 } else { 0o700 };
    match source {
        Source::Override(p) => {
            let meta = fs::metadata(&p)?;
            if is_data(name) || meta.permissions().mode() & 0o111 != 0 {
                return Ok(p);
            }
            // Dropped without the executable bit: run a private copy.
            let data = fs::read(&p).with_context(|| format!("cannot read {}", p.display()))?;
            let sha = util::sha256_hex(&data);
            let dest = session_dir()?.join(name);
            write_verified(&dest, &data, mode, &sha, name)?;
            Ok(dest)
        }
        Source::Embedded(t) => {
            let dest = session_dir()?.join(t.name);
            write_verified(&dest, t.data, mode, t.sha256, t.name)?;
            Ok(dest)
        }
    }
}

/// A command for the tool with a neutral environment for parseable output,
/// and the arguments it always needs (see [`fixed_args`]).
pub fn command(name: &str) -> Result<Command> {
    let mut cmd = bare_command(name)?;
    cmd.args(fixed_args(name)?);
    Ok(cmd)
}

/// The tool with a neutral environment and no argument: `lspci --version`
/// answers only when it is the sole argument.
fn bare_command(name: &str) -> Result<Command> {
    let path = get(name)?;
    let mut cmd = Command::new(path);
    cmd.env("LC_ALL", "C").env_remove("LANG");
    Ok(cmd)
}

/// Arguments every run of `name` needs, before its own: lspci is pointed at
/// perfspect's pci.ids, since the host often has none (containers, minimal
/// installs) or an older one, and lspci then prints numbers for names.
pub fn fixed_args(name: &str) -> Result<Vec<OsString>> {
    if name == "lspci" {
        lspci_args(&override_dir())
    } else {
        Ok(Vec::new())
    }
}

/// `-i <pci.ids>` with the override in `over`, else the embedded copy; none
/// when perfspect has no pci.ids (lspci then reads the host's).
fn lspci_args(over: &Path) -> Result<Vec<OsString>> {
    let path = match find_in(over, PCI_IDS) {
        None => return Ok(Vec::new()),
        // A data file is read in place.
        Some(Source::Override(p)) => p,
        Some(Source::Embedded(_)) => get(PCI_IDS)?,
    };
    Ok(vec!["-i".into(), path.into_os_string()])
}

/// How `tools list` learns the version of a tool.
#[derive(Debug, Clone, Copy, PartialEq)]
enum VersionFrom {
    /// Run it with these arguments: the first line of its output starts with
    /// the prefix, and the version is the word that follows.
    Run(&'static [&'static str], &'static str),
    /// The version of the package it was built from: intel-speed-select
    /// exits before printing its version on a machine without the Intel SST
    /// driver, so running it says nothing.
    Package,
    /// The `Version:` line of the pci.ids header.
    Header,
}

fn version_from(name: &str) -> VersionFrom {
    match name {
        "perf" => VersionFrom::Run(&["--version"], "perf version "),
        "fio" => VersionFrom::Run(&["--version"], "fio-"),
        "lspci" => VersionFrom::Run(&["--version"], "lspci version "),
        "ethtool" => VersionFrom::Run(&["--version"], "ethtool version "),
        "ipmitool" => VersionFrom::Run(&["-V"], "ipmitool version "),
        "smartctl" => VersionFrom::Run(&["--version"], "smartctl "),
        // turbostat prints it on stderr.
        "turbostat" => VersionFrom::Run(&["--version"], "turbostat version "),
        "intel-speed-select" => VersionFrom::Package,
        PCI_IDS => VersionFrom::Header,
        // Not in a release (see `names`): its first word is the best guess.
        _ => VersionFrom::Run(&["--version"], ""),
    }
}

/// Version of a tool as it reports it (`perf version 6.1.176` -> `6.1.176`).
pub fn version(name: &str) -> Result<String> {
    let Some(source) = find(name) else {
        usage_bail!("{}", no_tools_message(name));
    };
    version_of(name, &source)?.ok_or_else(|| anyhow!("the version of {name} is not known"))
}

/// The version of `name` from `source`; `None` when it cannot be known and
/// that is fine (an intel-speed-select override, a build without packages).
fn version_of(name: &str, source: &Source) -> Result<Option<String>> {
    match (version_from(name), source) {
        (VersionFrom::Run(args, prefix), _) => run_version(name, args, prefix).map(Some),
        (VersionFrom::Package, Source::Embedded(t)) => {
            Ok(package_version(t.package).map(str::to_string))
        }
        (VersionFrom::Package, Source::Override(_)) => Ok(None),
        (VersionFrom::Header, _) => {
            let head = header(source)?;
            match pci_ids_version(&head) {
                Some(v) => Ok(Some(v)),
                None => bail!(
                    "{name} has no `# Version:` header line: it is not a PCI ID database, replace it"
                ),
            }
        }
    }
}

/// Runs `name args` and reads its version from the first line of its
/// standard output, or of its standard error when it printed nothing else.
fn run_version(name: &str, args: &[&str], prefix: &str) -> Result<String> {
    let shown = format!("`{name} {}`", args.join(" "));
    let out = bare_command(name)?
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {name}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let text = version_output(&stdout, &stderr);
    if !out.status.success() {
        bail!(
            "{shown} failed ({}): {}",
            out.status,
            first_line(&stderr)
                .or_else(|| first_line(&stdout))
                .unwrap_or("no output")
        );
    }
    parse_with(prefix, text).ok_or_else(|| {
        anyhow!(
            "{shown} printed {:?}, not a version: check that the file is {name}",
            first_line(text).unwrap_or("nothing")
        )
    })
}

/// Where a version command answered: standard output, else standard error
/// (turbostat prints its version there).
fn version_output<'a>(stdout: &'a str, stderr: &'a str) -> &'a str {
    if stdout.trim().is_empty() {
        stderr
    } else {
        stdout
    }
}

fn first_line(text: &str) -> Option<&str> {
    text.lines().map(str::trim).find(|l| !l.is_empty())
}

/// The version in what `name`'s version command printed (see
/// [`version_from`]); `None` for the tools that are not asked.
pub fn parse_version(name: &str, text: &str) -> Option<String> {
    match version_from(name) {
        VersionFrom::Run(_, prefix) => parse_with(prefix, text),
        VersionFrom::Package | VersionFrom::Header => None,
    }
}

/// The word after `prefix` on the first non-empty line of `text`.
fn parse_with(prefix: &str, text: &str) -> Option<String> {
    let rest = first_line(text)?.strip_prefix(prefix)?;
    rest.split_whitespace().next().map(str::to_string)
}

/// The version part of a package (`linux 6.1.176-1` -> `6.1.176-1`).
pub fn package_version(package: &str) -> Option<&str> {
    let (_, version) = package.trim().split_once(' ')?;
    Some(version.trim()).filter(|v| !v.is_empty())
}

/// The `Version:` of a pci.ids header (`#\tVersion: 2022.11.20`): the first
/// comment lines of the file, before the first entry.
pub fn pci_ids_version(text: &str) -> Option<String> {
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let comment = line.strip_prefix('#')?;
        if let Some(v) = comment.trim().strip_prefix("Version:") {
            return v.split_whitespace().next().map(str::to_string);
        }
    }
    None
}

/// The start of a data file, enough for its header: the embedded bytes or
/// the override read from disk (the whole database is not needed).
fn header(source: &Source) -> Result<String> {
    const HEADER_BYTES: u64 = 64 * 1024;
    let bytes = match source {
        Source::Embedded(t) => t.data[..t.data.len().min(HEADER_BYTES as usize)].to_vec(),
        Source::Override(p) => {
            let mut buf = Vec::new();
            fs::File::open(p)
                .and_then(|f| f.take(HEADER_BYTES).read_to_end(&mut buf))
                .with_context(|| format!("cannot read {}", p.display()))?;
            buf
        }
    };
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

struct ToolInfo {
    name: &'static str,
    source: Option<Source>,
    version: Option<String>,
    size: Option<u64>,
    sha256: Option<String>,
    /// The package an embedded file was built from, when the build said.
    package: Option<&'static str>,
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
        package: None,
        problem: None,
    };
    match &source {
        None => info.problem = Some("not available".into()),
        Some(Source::Embedded(t)) => {
            info.size = Some(t.size);
            info.sha256 = Some(t.sha256.to_string());
            info.package = Some(t.package).filter(|p| !p.is_empty());
        }
        Some(Source::Override(p)) => {
            info.size = fs::metadata(p).ok().map(|m| m.len());
            info.sha256 = util::sha256_file(p).ok();
        }
    }
    if let Some(s) = &source {
        match version_of(name, s) {
            Ok(v) => info.version = v,
            Err(e) => info.problem = Some(format!("{e:#}")),
        }
    }
    info.source = source;
    info
}

/// Inspects every tool, one after another. Not on threads: under qemu-user,
/// which is how the release checks run the aarch64 binary, a fork while
/// another thread is inside the emulator can leave the child deadlocked
/// before its exec (seen: a release check that never ended).
fn inspect_all() -> Vec<ToolInfo> {
    let names = names();
    prepare(&names);
    names.iter().map(|&name| inspect(name)).collect()
}

pub fn cmd_list(json: bool) -> Result<()> {
    let infos = inspect_all();
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
                    "package": i.package,
                    "problem": i.problem,
                })
            })
            .collect();
        let doc = serde_json::json!({ "arch": arch(), "build_arch": BUILD_ARCH, "tools": list });
        util::print_out(&(serde_json::to_string_pretty(&doc)? + "\n"))?;
    } else {
        let dash = || "-".to_string();
        let rows: Vec<Vec<String>> = infos
            .iter()
            .map(|i| {
                vec![
                    i.name.to_string(),
                    i.version.clone().unwrap_or_else(dash),
                    arch().to_string(),
                    i.size.map(human_bytes).unwrap_or_else(dash),
                    i.sha256.clone().unwrap_or_else(dash),
                    match &i.source {
                        None => "not available".to_string(),
                        Some(s) => s.describe(),
                    },
                    i.package.map(str::to_string).unwrap_or_else(dash),
                ]
            })
            .collect();
        let table = util::text_table(
            &[
                "NAME", "VERSION", "ARCH", "SIZE", "SHA256", "SOURCE", "PACKAGE",
            ],
            &rows,
            &[false, false, false, true, false, false, false],
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
    let names = names();
    // Fail before writing anything if a tool is missing.
    for name in &names {
        if find(name).is_none() {
            return Err(anyhow::Error::new(UsageError(no_tools_message(name))));
        }
    }
    let mut report = String::new();
    for name in names {
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
        let mode = if is_data(name) { 0o644 } else { 0o755 };
        let dest = dir.join(name);
        let tmp = dir.join(format!(".{name}.perfspect-{}", util::random_hex(6)?));
        signals::register_cleanup(tmp.clone());
        write_verified(&tmp, &data, mode, &expected, name)?;
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

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("perfspect-{name}-{}", util::random_hex(8).unwrap()));
        fs::create_dir(&dir).unwrap();
        dir
    }

    #[test]
    fn versions() {
        let cases = [
            ("perf", "perf version 6.1.176\n", "6.1.176"),
            ("fio", "fio-3.33\n", "3.33"),
            ("lspci", "lspci version 3.9.0\n", "3.9.0"),
            ("ethtool", "ethtool version 6.1\n", "6.1"),
            ("ipmitool", "ipmitool version 1.8.19\n", "1.8.19"),
            (
                "smartctl",
                "smartctl 7.3 2022-02-28 r5338 [x86_64-linux-6.1.0] (local build)\n\
                 Copyright (C) 2002-22, Bruce Allen, Christian Franke, www.smartmontools.org\n",
                "7.3",
            ),
            (
                "turbostat",
                "\nturbostat version 2022.10.04 - Len Brown <lenb@kernel.org>\n",
                "2022.10.04",
            ),
        ];
        for (name, text, want) in cases {
            assert_eq!(parse_version(name, text).as_deref(), Some(want), "{name}");
        }
        assert_eq!(parse_version("perf", "\n\n"), None);
        assert_eq!(parse_version("perf", "fio-3.33"), None, "another tool");
        assert_eq!(parse_version("intel-speed-select", "anything"), None);
        assert_eq!(package_version("linux 6.1.176-1"), Some("6.1.176-1"));
        assert_eq!(package_version("pciutils 1:3.9.0-4"), Some("1:3.9.0-4"));
        assert_eq!(package_version(""), None);
        let ids = "#\n#\tList of PCI ID's\n#\n#\tVersion: 2022.11.20\n\
                   #\tDate:    2022-11-20 03:15:02\n\n0001  SafeNet (wrong ID)\n";
        assert_eq!(pci_ids_version(ids).as_deref(), Some("2022.11.20"));
        assert_eq!(pci_ids_version("0001  SafeNet\n#\tVersion: 1\n"), None);
        assert_eq!(pci_ids_version(""), None);
    }

    #[test]
    fn a_version_comes_from_stderr_when_stdout_is_empty() {
        let turbostat = "turbostat version 2022.10.04 - Len Brown\n";
        let text = version_output(" \n", turbostat);
        assert_eq!(
            parse_version("turbostat", text).as_deref(),
            Some("2022.10.04")
        );
        assert_eq!(version_output("fio-3.33\n", "warning\n"), "fio-3.33\n");
    }

    #[test]
    fn known_tools_per_arch() {
        assert_eq!(known("x86_64").len(), 9);
        assert_eq!(
            known("aarch64"),
            [
                "perf", "fio", "lspci", "pci.ids", "ethtool", "ipmitool", "smartctl"
            ]
        );
        for arch in ["x86_64", "aarch64", "riscv64"] {
            let k = known(arch);
            assert!(k.contains(&"perf") && k.contains(&"fio"), "{arch}");
        }
        let names = names();
        assert!(names.starts_with(known(arch())));
        assert!(EMBEDDED.iter().all(|t| names.contains(&t.name)));
    }

    #[test]
    fn lspci_reads_the_pci_ids_override() {
        let dir = scratch("lspci");
        let ids = dir.join(PCI_IDS);
        fs::write(&ids, "#\tVersion: 2022.11.20\n").unwrap();
        assert_eq!(
            lspci_args(&dir).unwrap(),
            [OsString::from("-i"), ids.clone().into_os_string()]
        );
        match find_in(&dir, PCI_IDS) {
            Some(s @ Source::Override(_)) => {
                assert_eq!(
                    version_of(PCI_IDS, &s).unwrap().as_deref(),
                    Some("2022.11.20")
                );
            }
            _ => panic!("the override comes first"),
        }
        fs::remove_file(&ids).unwrap();
        // Without an override: the embedded copy, else no `-i` at all.
        let args = lspci_args(&dir).unwrap();
        match embedded(PCI_IDS) {
            None => assert!(args.is_empty(), "{args:?}"),
            Some(t) => {
                assert_eq!(args[0], "-i");
                assert_eq!(util::sha256_file(Path::new(&args[1])).unwrap(), t.sha256);
            }
        }
        assert!(fixed_args("perf").unwrap().is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn verification_refuses_a_mismatch() {
        let dir = scratch("verify");
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
        let known = known(BUILD_ARCH);
        for t in EMBEDDED {
            assert!(known.contains(&t.name), "{} is not a known tool", t.name);
            assert_eq!(t.data.len() as u64, t.size);
            assert_eq!(util::sha256_hex(t.data), t.sha256);
            assert!(t.package.is_empty() || package_version(t.package).is_some());
        }
        let names: Vec<&str> = EMBEDDED.iter().map(|t| t.name).collect();
        assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted, unique");
        assert!(BUILD_ARCH.is_empty() || BUILD_ARCH == arch());
    }
}
