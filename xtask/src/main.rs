//! The perfspect release build: `cargo xtask <command>` (see `flags.rs`).
//!
//! The pipeline reads in module order: preflight checks the host, tools builds
//! or reuses the external tools (with tools_cache deciding), builder makes the
//! build environment, build compiles perfspect in a container, package writes
//! the artifacts, and dist composes them into `dist/`.

mod bench;
mod build;
mod builder;
mod clean_tools_cache;
mod dist;
mod docker;
mod flags;
mod git;
mod lock;
mod package;
mod pause;
mod preflight;
mod setup;
mod stage;
mod staging;
mod tools;
mod tools_cache;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use xshell::Shell;

/// Errors end the run with one line, the causes chained after colons.
fn main() -> ExitCode {
    match try_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

/// The error as one line; a full disk, whichever step met it, gets the fix.
fn one_line(err: &anyhow::Error) -> String {
    let text = format!("{err:#}");
    let disk_full = err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::StorageFull)
    }) || docker::mentions_disk_full(&text);
    if disk_full {
        format!(
            "{text}: the disk is full; free space beside the checkout ({}) or in Docker's data directory (`docker system prune`), then rerun",
            project_root().display()
        )
    } else {
        text
    }
}

fn try_main() -> anyhow::Result<()> {
    let cli = flags::Cli::parse();
    let sh = Shell::new()?;
    sh.change_dir(project_root());
    match cli.command {
        flags::Command::Setup(cmd) => cmd.run(&sh),
        flags::Command::Tools(cmd) => cmd.run(&sh),
        flags::Command::Dist(cmd) => cmd.run(&sh),
        flags::Command::CleanToolsCache(cmd) => cmd.run(&sh),
        flags::Command::Bench(cmd) => cmd.run(&sh),
    }
}

/// The workspace root, one level above this crate. `cargo run` sets
/// CARGO_MANIFEST_DIR at run time too; reading it then, rather than only at
/// compile time, lets the end-to-end tests point one xtask binary at scratch
/// copies of the repository.
pub(crate) fn project_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

pub(crate) fn dist_dir() -> PathBuf {
    project_root().join("dist")
}

pub(crate) fn tools_cache_dir() -> PathBuf {
    project_root().join("tools-cache")
}

pub(crate) fn tools_dir() -> PathBuf {
    project_root().join("tools")
}

/// Where half-made outputs live until they are complete and renamed into
/// place; on the same filesystem as `dist/` and `tools-cache/` so the rename
/// is atomic.
pub(crate) fn staging_dir() -> PathBuf {
    project_root().join(".staging")
}

pub(crate) fn target_dir() -> PathBuf {
    project_root().join("target")
}

/// A short id of this checkout's path, labelling the containers it starts so a
/// later run can find and remove those an interrupted run left.
pub(crate) fn checkout_id() -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(project_root().as_os_str().as_encoded_bytes());
    tools_cache::hex(&digest[..6])
}

#[cfg(test)]
mod tests {
    use anyhow::Context;

    use super::*;

    #[test]
    fn a_full_disk_gets_the_fix_however_it_was_met() {
        let io: anyhow::Result<()> = Err(std::io::Error::from_raw_os_error(28).into());
        let err = io.context("writing dist/perfspect.tgz").unwrap_err();
        let line = one_line(&err);
        assert!(
            line.starts_with("writing dist/perfspect.tgz: No space left on device")
                && line.contains("the disk is full; free space"),
            "{line}"
        );
        let err = anyhow::anyhow!("container x failed: no space left on device");
        assert!(one_line(&err).contains("the disk is full"));
        let err = anyhow::anyhow!("building image failed: see Docker's output above");
        assert_eq!(
            one_line(&err),
            "building image failed: see Docker's output above"
        );
        assert!(!one_line(&err).contains('\n'));
    }
}
