//! Stage 1, preflight: checks run before anything else: each failure is one line naming what is wrong
//! and the command that fixes it, and nothing has been written yet.

use std::path::Path;

use anyhow::{Result, bail};
use xshell::{Shell, cmd};

use crate::docker;
use crate::layer_cache::LayerCache;

const GIB: u64 = 1 << 30;
/// Free space a build needs beside the checkout (the artifacts, the tools cache, target/).
pub const MIN_FREE_CHECKOUT: u64 = 2 * GIB;
/// Free space Docker's data directory needs for a run that builds no image
/// (the build container's own layer and logs).
pub const MIN_FREE_DOCKER: u64 = GIB;
/// ... before the tools are compiled from source: one compile keeps about
/// 3.9 GB of layers (the linux source tree alone 1.7 GB), measured.
pub const MIN_FREE_DOCKER_TOOLS_BUILD: u64 = 5 * GIB;
/// ... before the builder image is built: it measures 2.1 GB.
pub const MIN_FREE_DOCKER_BUILDER: u64 = 3 * GIB;

pub fn check(sh: &Shell, base_image: &str) -> Result<()> {
    if !on_path("docker") {
        bail!("the docker CLI is not installed: run `cargo xtask setup`");
    }
    if docker::server_version(sh).is_err() {
        bail!(
            "the Docker daemon is not reachable: run `cargo xtask setup` (it starts dockerd) or start it yourself"
        );
    }
    if !docker::buildx_available(sh) {
        bail!("docker buildx is not installed: run `cargo xtask setup`");
    }
    if docker::image_id(sh, base_image).is_none() {
        bail!(
            "the base image {base_image} is not present: run `cargo xtask setup` to pull or make it"
        );
    }
    check_space(
        sh,
        &crate::project_root(),
        MIN_FREE_CHECKOUT,
        "the checkout",
        "free space there",
    )?;
    docker_space(sh, MIN_FREE_DOCKER, "")
}

/// Refuses a layer cache the engine cannot export, before anything is built.
pub fn layer_cache(sh: &Shell, cache: &LayerCache) -> Result<()> {
    if cache.needs_cache_export() && !docker::exports_caches(sh)? {
        bail!(
            "{}={} needs an engine that exports BuildKit caches (Docker with the containerd image store), which this one is not: run `cargo xtask setup` (it installs and configures one) or set {}=none",
            crate::settings::LAYER_CACHE,
            cache.describe(),
            crate::settings::LAYER_CACHE
        );
    }
    Ok(())
}

/// Checks Docker's data directory has `need` bytes free before a step that
/// writes that much there (`doing` says which, for the message).
pub fn docker_space(sh: &Shell, need: u64, doing: &str) -> Result<()> {
    match docker::root_dir(sh).filter(|r| r.exists()) {
        Some(root) => check_space(
            sh,
            &root,
            need,
            &format!("Docker's data directory{doing}"),
            "free space there (`docker builder prune` removes Docker's build cache)",
        ),
        // A remote engine's disk cannot be read from here: it reports its own.
        None => Ok(()),
    }
}

pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

fn check_space(sh: &Shell, path: &Path, need: u64, what: &str, fix: &str) -> Result<()> {
    let out = cmd!(sh, "df -Pk {path}").quiet().read()?;
    let available = parse_df_available(&out).ok_or_else(|| {
        anyhow::anyhow!(
            "could not read the free space of {} from df",
            path.display()
        )
    })?;
    enough_space(available, need, what, path, fix)
}

/// Fails when `available` bytes are fewer than `need`, saying how much to
/// free and how (`fix`).
pub fn enough_space(available: u64, need: u64, what: &str, path: &Path, fix: &str) -> Result<()> {
    if available < need {
        bail!(
            "not enough free disk for {what} ({}): {:.1} GiB free, {:.1} GiB needed; {fix}",
            path.display(),
            available as f64 / GIB as f64,
            need as f64 / GIB as f64
        );
    }
    Ok(())
}

/// Available bytes from `df -Pk` output (the fourth column of the second line).
pub fn parse_df_available(out: &str) -> Option<u64> {
    let line = out.lines().nth(1)?;
    let kib: u64 = line.split_whitespace().nth(3)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn df_output_is_parsed() {
        let out = "Filesystem     1024-blocks     Used Available Capacity Mounted on\n\
                   /dev/vda        263174212 11345680 83843528      12% /\n";
        assert_eq!(parse_df_available(out), Some(83843528 * 1024));
        assert_eq!(parse_df_available("garbage"), None);
    }

    #[test]
    fn too_little_space_names_the_place_and_the_fix() {
        let err = enough_space(GIB, 2 * GIB, "the checkout", Path::new("/x"), "free it")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "not enough free disk for the checkout (/x): 1.0 GiB free, 2.0 GiB needed; free it"
        );
        assert!(enough_space(3 * GIB, 2 * GIB, "the checkout", Path::new("/x"), "").is_ok());
    }
}
