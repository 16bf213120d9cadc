//! Reading the system: every file the report reads goes through [`Sys`],
//! rooted at `/` or at `PERFSPECT_SYSROOT` (a saved tree, or a fake one in tests).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// No file the report reads is larger on a real system; a bigger one (a
/// damaged saved tree) is read up to this much, and said so.
pub const READ_CAP: usize = 4 << 20;

pub struct Sys {
    root: PathBuf,
    /// Files that could not be read as they should (path, why), for the
    /// report's own section. In the running kernel's /proc and /sys an empty
    /// file or an error is the kernel's answer; in a saved tree
    /// (PERFSPECT_SYSROOT) it is damage, and recorded.
    problems: Mutex<Vec<(String, String)>>,
}

impl Sys {
    pub fn new() -> Sys {
        let root = std::env::var_os("PERFSPECT_SYSROOT")
            .filter(|r| !r.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/"));
        Sys::rooted(root)
    }
    fn rooted(root: PathBuf) -> Sys {
        Sys {
            root,
            problems: Mutex::new(Vec::new()),
        }
    }
    /// A root with nothing in it: every read fails (a fallback after a panic).
    pub fn at_nowhere() -> Sys {
        Sys::rooted(PathBuf::from("/nonexistent/perfspect-sysroot"))
    }
    #[cfg(test)]
    pub fn at(root: PathBuf) -> Sys {
        Sys::rooted(root)
    }
    pub fn is_real(&self) -> bool {
        self.root == Path::new("/")
    }
    pub fn path(&self, p: &str) -> PathBuf {
        self.root.join(p.trim_start_matches('/'))
    }
    /// The file's text, trimmed; None when absent, empty or unreadable.
    pub fn read(&self, p: &str) -> Option<String> {
        let text = self.read_raw(p)?;
        let t = text.trim();
        (!t.is_empty()).then(|| t.to_string())
    }
    /// The file's text as it is (at most [`READ_CAP`] bytes of it).
    pub fn read_raw(&self, p: &str) -> Option<String> {
        let mut buf = Vec::new();
        let read = std::fs::File::open(self.path(p))
            .and_then(|f| f.take(READ_CAP as u64 + 1).read_to_end(&mut buf));
        if let Err(e) = read {
            let expected = matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
            );
            if !expected && !self.is_real() {
                self.problem(p, &format!("cannot be read ({e})"));
            }
            return None;
        }
        if buf.len() > READ_CAP {
            buf.truncate(READ_CAP);
            self.problem(p, "is larger than 4 MiB: only its first 4 MiB were read");
        }
        if buf.is_empty() && !self.is_real() {
            self.problem(p, "is empty");
        }
        match String::from_utf8(buf) {
            Ok(text) => Some(text),
            Err(e) => {
                // A cut at the cap may split a character: keep what is whole.
                let valid = e.utf8_error().valid_up_to();
                let bytes = e.into_bytes();
                if bytes.len() == READ_CAP && bytes.len() - valid < 4 {
                    return Some(String::from_utf8_lossy(&bytes[..valid]).into_owned());
                }
                self.problem(p, "is not text (not valid UTF-8)");
                None
            }
        }
    }
    fn problem(&self, p: &str, why: &str) {
        let mut problems = self.problems.lock().unwrap_or_else(|e| e.into_inner());
        if !problems.iter().any(|(path, _)| path == p) {
            problems.push((p.to_string(), why.to_string()));
        }
    }
    /// The files that could not be read as they should, in the order met.
    pub fn problems(&self) -> Vec<(String, String)> {
        self.problems
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
    pub fn num<T: std::str::FromStr>(&self, p: &str) -> Option<T> {
        self.read(p)?.parse().ok()
    }
    /// Names in a directory, sorted naturally (cpu2 before cpu10).
    pub fn list(&self, p: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.path(p))
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort_by_key(|a| natural_key(a));
        v
    }
    pub fn link_name(&self, p: &str) -> Option<String> {
        let target = std::fs::read_link(self.path(p)).ok()?;
        Some(target.file_name()?.to_string_lossy().into_owned())
    }
}

impl Default for Sys {
    fn default() -> Self {
        Sys::new()
    }
}

pub fn natural_key(s: &str) -> (String, u64, String) {
    let start = s.find(|c: char| c.is_ascii_digit()).unwrap_or(s.len());
    let rest = &s[start..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    (
        s[..start].to_string(),
        rest[..end].parse().unwrap_or(0),
        rest[end..].to_string(),
    )
}

/// Numbered entries like cpu0, cpu1, node0: (number, name).
pub fn numbered(names: &[String], prefix: &str) -> Vec<(u32, String)> {
    names
        .iter()
        .filter_map(|n| Some((n.strip_prefix(prefix)?.parse().ok()?, n.clone())))
        .collect()
}

/// A kHz value from cpufreq as MHz (0 means not reported).
pub fn khz_to_mhz(v: Option<u64>) -> Option<f64> {
    v.filter(|k| *k > 0).map(|k| k as f64 / 1000.0)
}
