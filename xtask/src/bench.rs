//! `cargo xtask bench`: the build's own figures.

use anyhow::Result;
use xshell::Shell;

use crate::flags;

impl flags::Bench {
    pub fn run(self, _sh: &Shell) -> Result<()> {
        anyhow::bail!("not yet")
    }
}
