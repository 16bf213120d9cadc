//! Stage 4, build: a container of the builder image (run by id) compiles
//! perfspect for x86_64 and aarch64, offline, unprivileged, with the checkout read-only and
//! the compiled outputs kept in target/dist-build/ between runs.

use std::fs;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use xshell::{Shell, cmd};

use crate::docker::{self, ContainerRun, Mount};
use crate::failure;
use crate::package::Binaries;
use crate::tools_cache::hex;

pub const TARGETS: [&str; 2] = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"];

/// The target triple of an architecture's release binary.
pub fn target_of(arch: &str) -> &'static str {
    TARGETS
        .into_iter()
        .find(|t| t.split('-').next() == Some(arch))
        .expect("every release architecture has a target")
}

fn build_dir() -> PathBuf {
    crate::target_dir().join("dist-build")
}

fn vendor_dir() -> PathBuf {
    crate::target_dir().join("vendor")
}

/// The container has no network: the crates are vendored on the host, once
/// per Cargo.lock content.
fn vendor(sh: &Shell) -> Result<()> {
    let lock = fs::read(crate::project_root().join("Cargo.lock")).context("reading Cargo.lock")?;
    let stamp_path = crate::target_dir().join("vendor.stamp");
    let stamp = hex(&Sha256::digest(&lock));
    if vendor_dir().is_dir()
        && fs::read_to_string(&stamp_path).ok().as_deref() == Some(stamp.as_str())
    {
        return Ok(());
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let dir = vendor_dir();
    let out = cmd!(sh, "{cargo} vendor --quiet --locked --versioned-dirs {dir}")
        .ignore_status()
        .output()
        .context("running cargo vendor failed")?;
    if !out.status.success() {
        let why = failure::reason(&out.stderr, "cargo vendor failed");
        let fix = if failure::mentions_disk_full(&why) {
            ""
        } else {
            ": check that the crate registry is reachable"
        };
        bail!("vendoring the crates for the offline build failed: {why}{fix}");
    }
    fs::write(&stamp_path, stamp)?;
    Ok(())
}

/// The `docker run` that compiles both targets.
/// `tools_digest` names the embedded tools' content: cargo decides freshness
/// by modification times, and a tools image made earlier carries older times
/// than the last build, so the content must reach build.rs another way.
pub fn container_run(
    builder_id: &str,
    tools_digest: &str,
    tool_packages: &str,
    version_string: &str,
    epoch: u64,
    user: &str,
) -> ContainerRun {
    let mut command: Vec<String> = [
        "cargo",
        "build",
        "--release",
        "--frozen",
        "--package",
        "perfspect",
    ]
    .map(String::from)
    .to_vec();
    for target in TARGETS {
        command.extend(["--target".to_string(), target.to_string()]);
    }
    command.extend([
        "--config".to_string(),
        "source.crates-io.replace-with=\"vendored\"".to_string(),
        "--config".to_string(),
        "source.vendored.directory=\"/vendor\"".to_string(),
    ]);
    ContainerRun {
        name: format!(
            "perfspect-build-{}-{}",
            crate::checkout_id(),
            std::process::id()
        ),
        image: builder_id.into(),
        user: user.into(),
        mounts: vec![
            Mount {
                host: crate::project_root(),
                container: "/src".into(),
                read_only: true,
            },
            Mount {
                host: vendor_dir(),
                container: "/vendor".into(),
                read_only: true,
            },
            Mount {
                host: build_dir(),
                container: "/target".into(),
                read_only: false,
            },
        ],
        env: vec![
            ("PERFSPECT_VERSION".into(), version_string.into()),
            ("PERFSPECT_TOOLS_DIGEST".into(), tools_digest.into()),
            ("PERFSPECT_TOOLS_SOURCES".into(), tool_packages.into()),
            ("SOURCE_DATE_EPOCH".into(), epoch.to_string()),
            ("CARGO_TARGET_DIR".into(), "/target".into()),
            ("CARGO_HOME".into(), "/tmp/cargo".into()),
            ("HOME".into(), "/tmp".into()),
            ("CARGO_TERM_COLOR".into(), "never".into()),
        ],
        workdir: "/src".into(),
        command,
        owner: crate::checkout_id(),
    }
}

pub fn run(
    sh: &Shell,
    builder_id: &str,
    tools_digest: &str,
    tool_packages: &str,
    version_string: &str,
    epoch: u64,
) -> Result<(Binaries, String)> {
    vendor(sh)?;
    fs::create_dir_all(build_dir()).context("creating target/dist-build")?;
    let uid = cmd!(sh, "id -u").quiet().read()?;
    let gid = cmd!(sh, "id -g").quiet().read()?;
    let run = container_run(
        builder_id,
        tools_digest,
        tool_packages,
        version_string,
        epoch,
        &format!("{}:{}", uid.trim(), gid.trim()),
    );
    docker::run_container(sh, &run).context("compiling perfspect failed")?;
    let binary = |target: &str| build_dir().join(target).join("release/perfspect");
    let binaries = Binaries {
        x86_64: binary(TARGETS[0]),
        aarch64: binary(TARGETS[1]),
    };
    Ok((
        binaries,
        format!("perfspect {version_string} for {}", TARGETS.join(" and ")),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_is_offline_frozen_and_for_both_targets() {
        let args = container_run(
            "sha256:b1d",
            "perfspect-tools:feed",
            "perf=linux 6.1.176-1",
            "3.0.0_2026-11-24_1a2b3c4d",
            42,
            "1000:1000",
        )
        .args();
        let line = args.join(" ");
        assert!(
            line.contains("cargo build --release --frozen --package perfspect"),
            "{line}"
        );
        assert!(
            line.contains("--target x86_64-unknown-linux-gnu --target aarch64-unknown-linux-gnu"),
            "{line}"
        );
        assert!(args.contains(&"--env=PERFSPECT_VERSION=3.0.0_2026-11-24_1a2b3c4d".to_string()));
        assert!(args.contains(&"--env=SOURCE_DATE_EPOCH=42".to_string()));
        assert!(args.contains(&"--env=PERFSPECT_TOOLS_DIGEST=perfspect-tools:feed".to_string()));
        assert!(args.contains(&"--env=PERFSPECT_TOOLS_SOURCES=perf=linux 6.1.176-1".to_string()));
        assert!(
            args.iter().any(|a| a.ends_with("target=/src,readonly")),
            "{line}"
        );
        assert!(
            args.iter().any(|a| a.ends_with("target=/vendor,readonly")),
            "{line}"
        );
        assert!(args.contains(&"--network=none".to_string()));
        // The builder is run by id: no name another checkout can move.
        assert!(args.contains(&"sha256:b1d".to_string()), "{line}");
    }
}
