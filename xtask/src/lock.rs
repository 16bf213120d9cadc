//! One build at a time per checkout: `cargo dist` and `cargo tools` hold an
//! exclusive lock on target/xtask.lock, which the kernel releases when the
//! holder exits, however it exits.

use std::fs::{self, File, TryLockError};

use anyhow::{Context, Result};
use xshell::Shell;

/// Held for the whole run; dropping it releases the lock.
pub struct ProjectLock {
    _file: File,
    /// The dangling-image cleanup, running beside the first stage.
    pruning: Option<std::thread::JoinHandle<()>>,
}

impl Drop for ProjectLock {
    fn drop(&mut self) {
        if let Some(pruning) = self.pruning.take() {
            let _ = pruning.join();
        }
    }
}

/// Waits for the checkout's lock (saying so when another run holds it), then
/// clears what an interrupted earlier run may have left: staging directories,
/// containers of ours, and images of ours a rebuild had untagged.
pub fn acquire(sh: &Shell) -> Result<ProjectLock> {
    let path = crate::target_dir().join("xtask.lock");
    fs::create_dir_all(crate::target_dir()).context("creating target/")?;
    let file = File::create(&path).with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            eprintln!(
                "another cargo dist or cargo tools is running in this checkout: waiting for it to finish"
            );
            file.lock()
                .with_context(|| format!("waiting for {}", path.display()))?;
        }
        Err(TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("locking {}", path.display()));
        }
    }
    let staging = crate::staging_dir();
    if staging.exists() {
        fs::remove_dir_all(&staging)
            .with_context(|| format!("removing {} left by an earlier run", staging.display()))?;
    }
    // Before any container of this run exists: the filter would match it too.
    crate::docker::remove_leftover_containers(sh, &crate::checkout_id());
    // Pruning only ever removes untagged images, so it can overlap the run
    // (it would otherwise add ~40 ms to a cache hit).
    let pruning = std::thread::spawn(|| {
        if let Ok(sh) = Shell::new() {
            crate::docker::remove_dangling_images(&sh);
        }
    });
    Ok(ProjectLock {
        _file: file,
        pruning: Some(pruning),
    })
}
