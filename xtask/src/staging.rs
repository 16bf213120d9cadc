//! Staging: outputs are assembled in a directory of their own and renamed
//! into place only when complete, so `dist/` and `tools-cache/` are never
//! half-written.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// A staging directory, removed when dropped unless it was moved into place.
/// (A killed run cannot drop it: the next run clears `.staging/` under the lock.)
pub struct Staging {
    path: PathBuf,
}

impl Staging {
    /// A new, empty staging directory for `what`, on the same filesystem as the
    /// checkout so the final rename is atomic.
    pub fn fresh(what: &str) -> Result<Staging> {
        let path = crate::staging_dir().join(format!("{what}.{}", std::process::id()));
        if path.exists() {
            fs::remove_dir_all(&path).with_context(|| format!("removing {}", path.display()))?;
        }
        fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Staging { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Replaces `dest` with this complete directory. The old `dest` is moved
    /// aside first and removed once the new one is in place, so `dest` is at
    /// every moment the old complete directory, absent, or the new one.
    pub fn replace(self, dest: &Path) -> Result<()> {
        let old = self.path.with_extension("old");
        if dest.exists() {
            fs::rename(dest, &old)
                .with_context(|| format!("moving the old {} aside", dest.display()))?;
        }
        crate::pause::point("replace");
        fs::rename(&self.path, dest)
            .with_context(|| format!("moving the new {} into place", dest.display()))?;
        if old.exists() {
            fs::remove_dir_all(&old).with_context(|| format!("removing {}", old.display()))?;
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
        // Leave no empty .staging/ behind; it stays while another output is assembled.
        let _ = fs::remove_dir(crate::staging_dir());
    }
}
