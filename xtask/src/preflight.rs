//! Stage 1, preflight: checks run before anything else: each failure is one line naming what is wrong
//! and the command that fixes it, and nothing has been written yet.

use std::path::Path;

use anyhow::{Result, bail};
use xshell::{Shell, cmd};

use crate::docker;

const GIB: u64 = 1 << 30;
/// Free space a build needs beside the checkout (the artifacts, the tools cache, target/).
pub const MIN_FREE_CHECKOUT: u64 = 2 * GIB;
/// Free space the Docker daemon needs for a cold tools build (sources, layers, images).
pub const MIN_FREE_DOCKER: u64 = 8 * GIB;

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
    )?;
    if let Some(root) = docker::root_dir(sh).filter(|r| r.exists()) {
        check_space(sh, &root, MIN_FREE_DOCKER, "Docker's data directory")?;
    }
    Ok(())
}

pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

fn check_space(sh: &Shell, path: &Path, need: u64, what: &str) -> Result<()> {
    let out = cmd!(sh, "df -Pk {path}").quiet().read()?;
    let available = parse_df_available(&out).ok_or_else(|| {
        anyhow::anyhow!(
            "could not read the free space of {} from df",
            path.display()
        )
    })?;
    enough_space(available, need, what, path)
}

/// Fails when `available` bytes are fewer than `need`, saying how much to free.
pub fn enough_space(available: u64, need: u64, what: &str, path: &Path) -> Result<()> {
    if available < need {
        bail!(
            "not enough free disk for {what} ({}): {:.1} GiB free, {:.1} GiB needed; free space there (e.g. `docker system prune`)",
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
        let err = enough_space(GIB, 2 * GIB, "the checkout", Path::new("/x"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("the checkout (/x)") && err.contains("1.0 GiB free"),
            "{err}"
        );
        assert!(enough_space(3 * GIB, 2 * GIB, "the checkout", Path::new("/x")).is_ok());
    }
}
