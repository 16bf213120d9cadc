//! Staging: outputs are assembled in a directory of their own and swapped
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

    /// Replaces `dest` with this complete directory. When `dest` exists the two
    /// are swapped in one atomic step, so `dest` is at every moment the old
    /// complete directory or the new one; the old one, now here, goes when
    /// this is dropped (or, after a kill, with the next run's `.staging/`).
    pub fn replace(self, dest: &Path) -> Result<()> {
        if !dest.exists() {
            return fs::rename(&self.path, dest)
                .with_context(|| format!("moving the new {} into place", dest.display()));
        }
        match exchange(&self.path, dest) {
            Ok(()) => {
                crate::pause::point("replace");
                Ok(())
            }
            // A filesystem without atomic exchange: move the old one aside
            // first, so `dest` is only ever old, absent or new.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                let old = self.path.with_extension("old");
                fs::rename(dest, &old)
                    .with_context(|| format!("moving the old {} aside", dest.display()))?;
                crate::pause::point("replace");
                fs::rename(&self.path, dest)
                    .with_context(|| format!("moving the new {} into place", dest.display()))?;
                fs::rename(&old, &self.path).ok();
                Ok(())
            }
            Err(e) => Err(e).with_context(|| format!("swapping in the new {}", dest.display())),
        }
    }
}

/// Swaps two paths atomically (Linux's renameat2 with RENAME_EXCHANGE).
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let a = CString::new(a.as_os_str().as_bytes())?;
    let b = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both are valid NUL-terminated paths that outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
        // Leave no empty .staging/ behind; it stays while another output is assembled.
        let _ = fs::remove_dir(crate::staging_dir());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchange_swaps_two_directories() {
        let dir = std::env::temp_dir().join(format!("xtask-exchange-{}", std::process::id()));
        let (a, b) = (dir.join("a"), dir.join("b"));
        fs::create_dir_all(&a).unwrap();
        fs::create_dir_all(&b).unwrap();
        fs::write(a.join("new"), "").unwrap();
        fs::write(b.join("old"), "").unwrap();
        exchange(&a, &b).unwrap();
        assert!(b.join("new").exists() && a.join("old").exists());
        assert!(exchange(&a, &dir.join("absent")).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
