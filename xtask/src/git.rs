//! What the release is stamped with: version.txt and HEAD's commit.

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

/// HEAD as the artifacts describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// `git rev-parse --short=8 HEAD`.
    pub short: String,
    /// Commit date `YYYY-MM-DD` and time `HH:MM:SS`, in the commit's own time zone.
    pub date: String,
    pub time: String,
    /// Commit time as Unix seconds: the mtime of every archive entry.
    pub epoch: u64,
    /// The work tree differs from HEAD (changed, deleted or new files that are not ignored).
    pub dirty: bool,
}

pub fn head(sh: &Shell) -> Result<Commit> {
    let inside = cmd!(sh, "git rev-parse --is-inside-work-tree")
        .quiet()
        .ignore_stderr()
        .read();
    if inside.ok().as_deref().map(str::trim) != Some("true") {
        bail!(
            "{} is not a git work tree: the release is stamped from git, so build from a clone",
            sh.current_dir().display()
        );
    }
    let short = cmd!(sh, "git rev-parse --short=8 HEAD")
        .quiet()
        .ignore_stderr()
        .read()
        .map_err(|_| anyhow::anyhow!("HEAD has no commit yet: commit once, then build"))?;
    let show = |args: &[&str]| -> Result<String> {
        let out = cmd!(sh, "git show -s --no-show-signature {args...} HEAD")
            .quiet()
            .read()?;
        Ok(out.trim().to_string())
    };
    let date = show(&["--format=%cd", "--date=format:%Y-%m-%d"])?;
    let time = show(&["--format=%cd", "--date=format:%H:%M:%S"])?;
    let epoch = show(&["--format=%ct"])?
        .parse()
        .context("reading HEAD's commit time")?;
    let status = cmd!(sh, "git status --porcelain").quiet().read()?;
    Ok(Commit {
        short: short.trim().to_string(),
        date,
        time,
        epoch,
        dirty: !status.trim().is_empty(),
    })
}

/// The content of version.txt, checked: one line of letters, digits, `.`, `-` or `+`.
pub fn parse_version(text: &str) -> Result<String> {
    let version = text.trim();
    if version.is_empty() {
        bail!("version.txt is empty: write the release version in it, e.g. 3.0.0");
    }
    if !version
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".-+".contains(c))
    {
        bail!(
            "version.txt holds `{}`, not a version like 3.0.0: fix it",
            version.escape_default()
        );
    }
    Ok(version.to_string())
}

pub fn read_version() -> Result<String> {
    let path = crate::project_root().join("version.txt");
    let text = std::fs::read_to_string(&path)
        .context("reading version.txt (it holds the release version)")?;
    parse_version(&text)
}

/// The string `perfspect --version` prints: `<version>_<date>_<commit>[-dirty]`.
pub fn version_string(version: &str, commit: &Commit) -> String {
    let dirty = if commit.dirty { "-dirty" } else { "" };
    format!("{version}_{}_{}{dirty}", commit.date, commit.short)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(dirty: bool) -> Commit {
        Commit {
            short: "1a2b3c4d".into(),
            date: "2026-11-24".into(),
            time: "12:00:00".into(),
            epoch: 0,
            dirty,
        }
    }

    #[test]
    fn version_string_matches_upstream_format() {
        assert_eq!(
            version_string("3.0.0", &commit(false)),
            "3.0.0_2026-11-24_1a2b3c4d"
        );
        assert_eq!(
            version_string("3.0.0", &commit(true)),
            "3.0.0_2026-11-24_1a2b3c4d-dirty"
        );
    }

    #[test]
    fn version_txt_is_checked() {
        assert_eq!(parse_version("3.0.0\n").unwrap(), "3.0.0");
        assert!(
            parse_version("\n")
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        assert!(parse_version("3.0 beta").is_err());
        assert!(parse_version("3.0.0\n4.0.0\n").is_err());
    }
}
