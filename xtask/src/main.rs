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
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
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
