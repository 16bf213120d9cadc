//! Staging: outputs are assembled in a directory of their own and renamed
//! into place only when complete, so `dist/` and `tools-cache/` are never
//! half-written.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// A new, empty staging directory for `what`, on the same filesystem as the
/// checkout so the final rename is atomic.
pub fn fresh(what: &str) -> Result<PathBuf> {
    let dir = crate::staging_dir().join(format!("{what}.{}", std::process::id()));
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// Replaces `dest` with the complete `staging` directory. The old `dest` is
/// moved aside first and removed once the new one is in place, so `dest` is at
/// every moment the old complete directory, absent, or the new one.
pub fn replace(staging: &Path, dest: &Path) -> Result<()> {
    let old = staging.with_extension("old");
    if dest.exists() {
        fs::rename(dest, &old)
            .with_context(|| format!("moving the old {} aside", dest.display()))?;
    }
    fs::rename(staging, dest)
        .with_context(|| format!("moving the new {} into place", dest.display()))?;
    if old.exists() {
        fs::remove_dir_all(&old).with_context(|| format!("removing {}", old.display()))?;
    }
    // Leave no empty .staging/ behind; it stays if another output is still being assembled.
    let _ = fs::remove_dir(crate::staging_dir());
    Ok(())
}
