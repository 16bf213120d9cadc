//! The perfspect release build: `cargo xtask <command>` (see `flags.rs`).
//! A library with a thin `main.rs`, so the fuzz targets under `fuzz/` reach
//! the parsers of outside text (versions.env, the cache manifest, docker's
//! and perfspect's output).
//!
//! `dist` runs the pipeline, one module per stage, in this order (README
//! numbers them the same):
//! 1. `preflight`: the host can run the build;
//! 2. `tools`: the external tools, with `tools_cache` deciding;
//! 3. `builder`: the build environment image;
//! 4. `build`: perfspect compiled in a container;
//! 5. `embedded`: the tools each binary embeds are the cache's;
//! 6. `package`: the artifacts, with an SBOM per tarball (`sbom`, from
//!    `crates` and `toolbox`);
//! 7. `verify`: the artifacts checked as a user would, then swapped into
//!    `dist/` whole (`cargo xtask verify` runs the same checks).
//!
//! Around them: `docker` is the only module that runs docker, `settings` and
//! `flags` the command line and variables, `failure` how failed commands
//! explain themselves, `staging`/`lock`/`pause` the run's safety.

mod bench;
mod build;
mod builder;
mod clean_tools_cache;
mod crates;
mod dist;
pub mod docker;
pub mod embedded;
pub mod failure;
mod flags;
pub mod fuzzing;
mod git;
pub mod layer_cache;
mod lock;
mod oss;
mod package;
mod pause;
mod preflight;
mod recipe;
pub mod sbom;
pub mod settings;
mod setup;
mod stage;
mod staging;
pub mod toolbox;
mod tools;
pub mod tools_cache;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use xshell::Shell;

/// Errors end the run with one line, the causes chained after colons.
pub fn main() -> ExitCode {
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
    }) || failure::mentions_disk_full(&text);
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
    let cli = match flags::Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version print as clap renders them.
        Err(err) if !err.use_stderr() => err.exit(),
        // A usage error or a bad setting: one line, as every error here.
        Err(err) => anyhow::bail!("{}", clap_one_line(&err)),
    };
    let sh = Shell::new()?;
    sh.change_dir(project_root());
    match cli.command {
        flags::Command::Setup(cmd) => cmd.run(&sh),
        flags::Command::Tools(cmd) => cmd.run(&sh),
        flags::Command::Dist(cmd) => cmd.run(&sh),
        flags::Command::Verify(cmd) => cmd.run(&sh),
        flags::Command::CleanToolsCache(cmd) => cmd.run(&sh),
        flags::Command::Bench(cmd) => cmd.run(&sh),
    }
}

/// clap's message without its `error: ` prefix and usage tail, on one line.
fn clap_one_line(err: &clap::Error) -> String {
    let text = err.to_string();
    let text = text.trim_start_matches("error: ");
    text.split("\n\n")
        .next()
        .unwrap_or(text)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
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
