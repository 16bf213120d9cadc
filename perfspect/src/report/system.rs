//! Reading the system: every file the report reads goes through [`Sys`],
//! rooted at `/` or at `PERFSPECT_SYSROOT` (a saved tree, or a fake one in tests).

use crate::util::read_trim;
use std::path::{Path, PathBuf};

pub struct Sys {
    root: PathBuf,
}

impl Sys {
    pub fn new() -> Sys {
        let root = std::env::var_os("PERFSPECT_SYSROOT")
            .filter(|r| !r.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/"));
        Sys { root }
    }
    /// A root with nothing in it: every read fails (a fallback after a panic).
    pub fn at_nowhere() -> Sys {
        Sys {
            root: PathBuf::from("/nonexistent/perfspect-sysroot"),
        }
    }
    #[cfg(test)]
    pub fn at(root: PathBuf) -> Sys {
        Sys { root }
    }
    pub fn is_real(&self) -> bool {
        self.root == Path::new("/")
    }
    pub fn path(&self, p: &str) -> PathBuf {
        self.root.join(p.trim_start_matches('/'))
    }
    pub fn read(&self, p: &str) -> Option<String> {
        read_trim(&self.path(p))
    }
    pub fn read_raw(&self, p: &str) -> Option<String> {
        std::fs::read_to_string(self.path(p)).ok()
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
