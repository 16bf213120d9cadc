//! `cargo xtask clean-tools-cache`: removes tools-cache/, the next build recompiles the tools.

use std::fs;

use anyhow::{Context, Result};
use xshell::Shell;

use crate::{flags, lock};

impl flags::CleanToolsCache {
    pub fn run(self, sh: &Shell) -> Result<()> {
        // A build in progress may be reading or replacing the cache: wait for it.
        let _lock = lock::acquire(sh)?;
        let dir = crate::tools_cache_dir();
        if !dir.exists() {
            eprintln!("tools-cache/ does not exist: nothing to remove");
            return Ok(());
        }
        let (files, bytes) = usage(&dir);
        fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        eprintln!(
            "removed tools-cache/ ({files} files, {:.1} MB)",
            bytes as f64 / 1e6
        );
        Ok(())
    }
}

fn usage(dir: &std::path::Path) -> (usize, u64) {
    let mut files = 0;
    let mut bytes = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).into_iter().flatten().flatten() {
            match entry.metadata() {
                Ok(m) if m.is_dir() => stack.push(entry.path()),
                Ok(m) => {
                    files += 1;
                    bytes += m.len();
                }
                Err(_) => {}
            }
        }
    }
    (files, bytes)
}
