//! Everything that talks to Docker: the argument lists (pure, unit-tested)
//! and the thin functions that run them through the `docker` CLI.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::failure::{DISK_FULL, mentions_disk_full, reason};
use crate::layer_cache::LayerCache;

pub const DEFAULT_BASE_IMAGE: &str = "debian:bookworm";
/// The names people and scripts know. The pipeline itself never reads an
/// image through them: another checkout on the same engine may move them at
/// any moment. It uses content tags (`content_tag`) and image ids instead.
pub const TOOLS_IMAGE: &str = "perfspect-tools:v1";
pub const BUILDER_IMAGE: &str = "perfspect-builder:v1";
pub const TOOLS_REPO: &str = "perfspect-tools";
pub const BUILDER_REPO: &str = "perfspect-builder";
/// Label carrying the tools cache key an image was made for.
pub const TOOLS_KEY_LABEL: &str = "org.perfspect.tools.key";
/// Label carrying the inputs digest a builder image was made from.
pub const BUILDER_KEY_LABEL: &str = "org.perfspect.builder.key";
/// Label on every container we start, so leftovers of a killed run can be found.
pub const OWNER_LABEL: &str = "org.perfspect.owner";

/// The tag naming an image by what is in it (`key`, a sha256 of its inputs or
/// content): two checkouts only ever share it when they would build the same
/// image, so another run moving it cannot change what this run gets.
pub fn content_tag(repo: &str, key: &str) -> String {
    format!("{repo}:{}", &key[..key.len().min(24)])
}

/// How an image is built: plain `docker build`, or `docker buildx build` with a layer cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildCommand {
    Plain,
    /// `docker buildx build --load` with a layer cache; `write`: whether a
    /// registry cache is written too (see `LayerCache::args`).
    Buildx {
        cache: LayerCache,
        write: bool,
    },
}

/// One image build, described completely before anything runs.
#[derive(Debug, Clone)]
pub struct ImageBuild {
    pub builder: BuildCommand,
    pub dockerfile: PathBuf,
    pub context: PathBuf,
    pub tag: String,
    pub build_args: Vec<(String, String)>,
    pub labels: Vec<(String, String)>,
    /// Ignore Docker's layer cache (`--no-cache`).
    pub no_cache: bool,
    /// Where Docker writes the id of the image it built (`--iidfile`): the
    /// run refers to that id, not to the tag another run could move.
    pub iidfile: PathBuf,
    /// The layer cache entries a buildx build reads and writes.
    pub cache_scope: crate::layer_cache::Scope,
}

impl ImageBuild {
    pub fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = match &self.builder {
            // The default builder (docker driver) sees local images such as the
            // tools image, whichever builder `docker buildx use` selected.
            BuildCommand::Plain => vec!["build".into(), "--builder=default".into()],
            // The default builder too: it runs in the engine, so it sees
            // the base image, and with the containerd image store it exports
            // caches (preflight checks that from `docker info`).
            BuildCommand::Buildx { .. } => vec![
                "buildx".into(),
                "build".into(),
                "--builder=default".into(),
                "--load".into(),
            ],
        };
        args.push("--progress=plain".into());
        if let BuildCommand::Buildx { cache, write } = &self.builder {
            args.extend(cache.args(*write, &self.cache_scope));
        }
        if self.no_cache {
            args.push("--no-cache".into());
        }
        args.push("--file".into());
        args.push(self.dockerfile.display().to_string());
        for (k, v) in &self.build_args {
            args.push("--build-arg".into());
            args.push(format!("{k}={v}"));
        }
        for (k, v) in &self.labels {
            args.push("--label".into());
            args.push(format!("{k}={v}"));
        }
        args.push("--iidfile".into());
        args.push(self.iidfile.display().to_string());
        args.push("--tag".into());
        args.push(self.tag.clone());
        args.push(self.context.display().to_string());
        args
    }
}

/// A bind mount of a host path into a container.
#[derive(Debug, Clone)]
pub struct Mount {
    pub host: PathBuf,
    pub container: String,
    pub read_only: bool,
}

impl Mount {
    /// `--mount=...`: Docker reads the value as one CSV record, so a field
    /// holding a comma, a quote or a line break is quoted, quotes doubled.
    pub fn arg(&self) -> String {
        let mut fields = vec![
            "type=bind".to_string(),
            csv_field(&format!("source={}", self.host.display())),
            csv_field(&format!("target={}", self.container)),
        ];
        if self.read_only {
            fields.push("readonly".into());
        }
        format!("--mount={}", fields.join(","))
    }
}

pub fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) || field.starts_with(' ') {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// One `docker run` of a short-lived, unprivileged, network-less container.
#[derive(Debug, Clone)]
pub struct ContainerRun {
    pub name: String,
    pub image: String,
    /// `uid:gid` the process runs as, so files it writes belong to the caller.
    pub user: String,
    pub mounts: Vec<Mount>,
    pub env: Vec<(String, String)>,
    pub workdir: String,
    pub command: Vec<String>,
    pub owner: String,
}

impl ContainerRun {
    pub fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = [
            "run",
            "--rm",
            // A process manager as PID 1 passes Ctrl-C on: the kernel drops
            // signals to a PID 1 without a handler, such as cargo.
            "--init",
            "--network=none",
            "--cap-drop=ALL",
            "--security-opt=no-new-privileges",
            "--read-only",
            "--tmpfs=/tmp:rw,exec,size=4g",
        ]
        .map(String::from)
        .to_vec();
        args.push(format!("--name={}", self.name));
        args.push(format!("--label={OWNER_LABEL}={}", self.owner));
        args.push(format!("--user={}", self.user));
        for m in &self.mounts {
            args.push(m.arg());
        }
        for (k, v) in &self.env {
            args.push(format!("--env={k}={v}"));
        }
        args.push(format!("--workdir={}", self.workdir));
        args.push(self.image.clone());
        args.extend(self.command.iter().cloned());
        args
    }
}

// ---- the thin layer that runs them ----

/// Runs a container to completion, its output shown as it comes. A failure
/// says what went wrong in one line when the output tells (a full disk).
pub fn run_container(sh: &Shell, run: &ContainerRun) -> Result<()> {
    let args = run.args();
    let (ok, hint) = stream(cmd!(sh, "docker {args...}"))?;
    if !ok {
        engine_still_there(sh, "the build container ran")?;
        match hint {
            Some(hint) => bail!("container {} failed: {hint}", run.name),
            None => bail!("container {} failed: see its output above", run.name),
        }
    }
    Ok(())
}

/// Builds the image and returns its id, read from the `--iidfile` Docker wrote.
pub fn build_image(sh: &Shell, build: &ImageBuild) -> Result<String> {
    build_image_logged(sh, build).map(|(id, _)| id)
}

/// [`build_image`], also returning BuildKit's progress output (what ran,
/// what came from a cache).
pub fn build_image_logged(sh: &Shell, build: &ImageBuild) -> Result<(String, Vec<String>)> {
    let args = build.args();
    let (ok, hint, lines) = stream_logged(cmd!(sh, "docker {args...}"))?;
    // Else BuildKit's own last word: `ERROR: failed to solve: ...`.
    let hint = hint.or_else(|| {
        lines
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix("ERROR: "))
            .map(|e| e.chars().take(300).collect())
    });
    if !ok {
        engine_still_there(sh, &format!("{} was built", build.tag))?;
        match hint {
            Some(hint) => bail!("building image {} failed: {hint}", build.tag),
            None => bail!(
                "building image {} failed: see Docker's output above",
                build.tag
            ),
        }
    }
    let id = std::fs::read_to_string(&build.iidfile)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| s.starts_with("sha256:"));
    let _ = std::fs::remove_file(&build.iidfile);
    let id = id.with_context(|| {
        format!(
            "docker built {} but wrote no image id to {}: rerun",
            build.tag,
            build.iidfile.display()
        )
    })?;
    // The image this tag named before is now dangling: remove it.
    remove_dangling_images(sh);
    Ok((id, lines))
}

/// Whether the engine's build cache holds nothing (`docker buildx du`
/// totals 0B): then any layer a build did not compile came from elsewhere.
pub fn build_cache_empty(sh: &Shell) -> bool {
    cmd!(sh, "docker buildx du --builder=default")
        .quiet()
        .ignore_stderr()
        .read()
        .is_ok_and(|out| du_total_is_zero(&out))
}

/// `Total:` of `docker buildx du` is 0 (or the listing is empty).
pub fn du_total_is_zero(out: &str) -> bool {
    match out.lines().find_map(|l| l.trim().strip_prefix("Total:")) {
        Some(total) => matches!(total.trim(), "0B" | "0" | "0 B"),
        None => out.trim().is_empty(),
    }
}

/// Builds `dockerfile` with the default builder and removes the image it
/// made: a build run for its cost alone (`cargo xtask bench --tools`).
pub fn build_and_discard(
    sh: &Shell,
    dockerfile: &Path,
    build_args: &[(String, String)],
    context: &Path,
) -> Result<()> {
    let mut args = Vec::new();
    for (k, v) in build_args {
        args.push("--build-arg".to_string());
        args.push(format!("{k}={v}"));
    }
    let out = cmd!(
        sh,
        "docker build --builder=default --quiet --file {dockerfile} {args...} {context}"
    )
    .quiet()
    .ignore_status()
    .output()?;
    if !out.status.success() {
        bail!(
            "building {} failed: {}",
            dockerfile.display(),
            reason(&out.stderr, "docker build failed")
        );
    }
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let _ = cmd!(sh, "docker rmi {id}")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run();
    Ok(())
}

/// After a docker command failed: if the daemon cannot be reached any more,
/// that is the failure to report (the command's own output only says it lost
/// its connection), with the fix.
pub fn engine_still_there(sh: &Shell, during: &str) -> Result<()> {
    if server_version(sh).is_err() {
        bail!(
            "the Docker daemon stopped answering while {during}: start it again (`cargo xtask setup` starts it) and rerun; the previous outputs are untouched"
        );
    }
    Ok(())
}

/// A file for `--iidfile`, private to this run.
pub fn iidfile(what: &str) -> PathBuf {
    let dir = crate::target_dir().join("xtask-iid");
    let _ = std::fs::create_dir_all(&dir);
    dir.join(format!("{what}-{}", std::process::id()))
}

/// Points `name` at the image `id` (for people and scripts: the pipeline
/// never reads an image back through this name).
pub fn tag(sh: &Shell, id: &str, name: &str) -> Result<()> {
    let out = cmd!(sh, "docker tag {id} {name}")
        .quiet()
        .ignore_status()
        .output()
        .context("running docker tag failed")?;
    if !out.status.success() {
        engine_still_there(sh, &format!("{name} was tagged"))?;
        bail!(
            "tagging {id} as {name} failed: {}",
            reason(&out.stderr, "docker tag failed")
        );
    }
    // The image the name left may now be dangling (the containerd image
    // store keeps it as such): remove it, as after a build.
    remove_dangling_images(sh);
    Ok(())
}

/// The id of `image` and the value of its `label`, in one inspection; None
/// when the image is absent.
pub fn image_id_and_label(
    sh: &Shell,
    image: &str,
    label: &str,
) -> Option<(String, Option<String>)> {
    let format = format!("{{{{.Id}}}}\t{{{{index .Config.Labels \"{label}\"}}}}");
    let out = cmd!(sh, "docker image inspect --format {format} {image}")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()?;
    parse_id_and_label(&out)
}

pub fn parse_id_and_label(out: &str) -> Option<(String, Option<String>)> {
    let (id, label) = out.trim_end_matches(['\n', '\r']).split_once('\t')?;
    let id = id.trim();
    let label = label.trim();
    id.starts_with("sha256:").then(|| {
        (
            id.to_string(),
            (!label.is_empty() && label != "<no value>").then(|| label.to_string()),
        )
    })
}

/// Runs a docker command with its output shown as it comes, and returns
/// whether it succeeded with the one-line explanation its output gave: the
/// last error line our Dockerfiles print (naming the pin or setting to fix),
/// or a full disk.
fn stream(cmd: xshell::Cmd<'_>) -> Result<(bool, Option<String>)> {
    stream_logged(cmd).map(|(ok, hint, _)| (ok, hint))
}

/// [`stream`], also returning the lines of output.
fn stream_logged(cmd: xshell::Cmd<'_>) -> Result<(bool, Option<String>, Vec<String>)> {
    eprintln!("$ {cmd}");
    let mut lines = Vec::new();
    let mut command: std::process::Command = cmd.into();
    command.stderr(std::process::Stdio::piped());
    let mut child = command.spawn().context("starting docker failed")?;
    let mut hint = None;
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap_or_default();
            eprintln!("{line}");
            if let Some(h) = error_hint(&line) {
                hint = Some(h.to_string());
            } else if hint.is_none() && mentions_disk_full(&line) {
                hint = Some(DISK_FULL.to_string());
            }
            lines.push(line);
        }
    }
    let status = child.wait().context("waiting for docker failed")?;
    Ok((status.success(), hint, lines))
}

/// The message of an `error: ...` line our Dockerfiles print, as BuildKit
/// shows it (`#9 3.021 error: ...`, or `3.021 error: ...` in its summary).
/// Echoed commands that merely contain the text do not count.
pub fn error_hint(line: &str) -> Option<&str> {
    let mut rest = line.trim_start();
    if let Some(step) = rest.strip_prefix('#') {
        rest = step
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .trim_start();
    }
    let time_end = rest.find(' ')?;
    let time = &rest[..time_end];
    if time.is_empty() || !time.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let hint = rest[time_end..]
        .trim_start()
        .strip_prefix("error: ")?
        .trim();
    (!hint.is_empty()).then_some(hint)
}

/// The content-addressed id of `image`, or None when it is absent.
pub fn image_id(sh: &Shell, image: &str) -> Option<String> {
    let format = "{{.Id}}";
    cmd!(sh, "docker image inspect --format {format} {image}")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()
        .map(|s| s.trim().to_string())
}

/// The daemon's version, or an error when it cannot be reached.
pub fn server_version(sh: &Shell) -> Result<String> {
    let format = "{{.Server.Version}}";
    let v = cmd!(sh, "docker version --format {format}")
        .quiet()
        .ignore_stderr()
        .read()?;
    Ok(v.trim().to_string())
}

pub fn buildx_available(sh: &Shell) -> bool {
    cmd!(sh, "docker buildx version")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
        .is_ok()
}

/// Directory where the daemon keeps images and layers, to check its free space.
pub fn root_dir(sh: &Shell) -> Option<PathBuf> {
    let format = "{{.DockerRootDir}}";
    cmd!(sh, "docker info --format {format}")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()
        .map(|s| PathBuf::from(s.trim()))
}

/// Copies `paths` (absolute, inside `image`) into `dest`, through a created but
/// never started container that is removed afterwards, on failure too.
pub fn copy_from_image(
    sh: &Shell,
    image: &str,
    name: &str,
    owner: &str,
    paths: &[&str],
    dest: &Path,
) -> Result<()> {
    let label = format!("{OWNER_LABEL}={owner}");
    let out = cmd!(
        sh,
        "docker create --name {name} --label {label} {image} /none"
    )
    .quiet()
    .ignore_status()
    .output()
    .context("running docker create failed")?;
    if !out.status.success() {
        engine_still_there(sh, "the tools were copied out of their image")?;
        let why = reason(&out.stderr, "docker create failed");
        bail!("creating a container from {image} to copy its files failed: {why}");
    }
    let mut first = true;
    let copied = paths.iter().try_for_each(|path| -> Result<()> {
        let target = dest.join(path.trim_start_matches('/'));
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let out = cmd!(sh, "docker cp {name}:{path} {target}")
            .quiet()
            .ignore_status()
            .output()
            .context("running docker cp failed")?;
        if !out.status.success() {
            engine_still_there(sh, "the tools were copied out of their image")?;
            let why = reason(&out.stderr, "docker cp failed");
            bail!("copying {path} out of {image} failed: {why}");
        }
        if std::mem::take(&mut first) {
            // Mid-extraction: the container exists, the copy is half done.
            crate::pause::point("extract");
        }
        Ok(())
    });
    remove_container(sh, name);
    copied
}

pub fn remove_container(sh: &Shell, name: &str) {
    let _ = cmd!(sh, "docker rm --force {name}")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run();
}

/// Removes images of ours that no tag names any more: the previous tools or
/// builder image once a build has moved its tag, or one a killed run left.
pub fn remove_dangling_images(sh: &Shell) {
    for label in [TOOLS_KEY_LABEL, BUILDER_KEY_LABEL] {
        let filter = format!("label={label}");
        let _ = cmd!(sh, "docker image prune --force --filter {filter}")
            .quiet()
            .ignore_stdout()
            .ignore_stderr()
            .run();
    }
}

/// `docker pull`; false when no registry answers (setup then makes the image).
pub fn pull(sh: &Shell, image: &str) -> bool {
    cmd!(sh, "docker pull --quiet {image}").run().is_ok()
}

/// `docker import` of a root file system tarball as `image`.
pub fn import(sh: &Shell, tarball: &str, image: &str) -> Result<()> {
    cmd!(sh, "docker import {tarball} {image}")
        .run()
        .context("docker import failed")
}

/// `docker save` of `image` into `tarball`.
pub fn save(sh: &Shell, image: &str, tarball: &str) -> Result<()> {
    cmd!(sh, "docker save --output {tarball} {image}")
        .run()
        .with_context(|| format!("docker save {image} failed"))
}

/// `docker load` of a tarball `docker save` wrote.
pub fn load(sh: &Shell, tarball: &str) -> Result<()> {
    cmd!(sh, "docker load --quiet --input {tarball}")
        .run()
        .context("docker load failed")
}

/// Whether the engine's default builder can export BuildKit layer caches:
/// it can when images live in the containerd image store, which
/// `docker info` reports as the storage driver's `driver-type`.
pub fn exports_caches(sh: &Shell) -> Result<bool> {
    let format = "{{json .DriverStatus}}";
    let out = cmd!(sh, "docker info --format {format}")
        .quiet()
        .ignore_stderr()
        .read()
        .context("docker info failed: is the daemon running? (`cargo xtask setup` starts it)")?;
    Ok(uses_containerd_store(&out))
}

/// `DriverStatus` as `docker info` prints it in JSON: pairs of strings, one
/// of them `["driver-type", "io.containerd.snapshotter.v1"]` with the
/// containerd image store.
pub fn uses_containerd_store(driver_status: &str) -> bool {
    serde_json::from_str::<Vec<Vec<String>>>(driver_status.trim()).is_ok_and(|pairs| {
        pairs.iter().any(|p| {
            p.first().is_some_and(|k| k == "driver-type")
                && p.get(1)
                    .is_some_and(|v| v.starts_with("io.containerd.snapshotter"))
        })
    })
}

/// Removes containers a killed run of ours left behind (created for copying, or still running a build).
pub fn remove_leftover_containers(sh: &Shell, owner: &str) {
    let filter = format!("label={OWNER_LABEL}={owner}");
    let Ok(ids) = cmd!(sh, "docker ps --all --quiet --filter {filter}")
        .quiet()
        .ignore_stderr()
        .read()
    else {
        return;
    };
    let ids: Vec<&str> = ids.split_whitespace().collect();
    if !ids.is_empty() {
        eprintln!(
            "removing {} container(s) left by an interrupted run",
            ids.len()
        );
        let _ = cmd!(sh, "docker rm --force {ids...}")
            .quiet()
            .ignore_stdout()
            .ignore_stderr()
            .run();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tools_build(builder: BuildCommand, no_cache: bool) -> ImageBuild {
        ImageBuild {
            builder,
            dockerfile: "tools/build.Dockerfile".into(),
            context: "tools".into(),
            tag: TOOLS_IMAGE.into(),
            build_args: vec![("FIO_VERSION".into(), "3.33-3".into())],
            labels: vec![(TOOLS_KEY_LABEL.into(), "abc".into())],
            no_cache,
            iidfile: "/t/iid".into(),
            cache_scope: crate::layer_cache::Scope {
                kind: "tools".into(),
                entries: vec!["tool-fio".into()],
                local_entry_exists: true,
            },
        }
    }

    #[test]
    fn plain_build_args() {
        assert_eq!(
            tools_build(BuildCommand::Plain, false).args().join(" "),
            "build --builder=default --progress=plain --file tools/build.Dockerfile --build-arg FIO_VERSION=3.33-3 \
             --label org.perfspect.tools.key=abc --iidfile /t/iid --tag perfspect-tools:v1 tools"
        );
    }

    fn mount(host: &str) -> String {
        Mount {
            host: host.into(),
            container: "/src".into(),
            read_only: true,
        }
        .arg()
    }

    #[test]
    fn mount_paths_are_quoted_as_docker_reads_csv() {
        assert_eq!(
            mount("/home/a/perfspect"),
            "--mount=type=bind,source=/home/a/perfspect,target=/src,readonly"
        );
        // Spaces, `=`, colons and non-ASCII need nothing: the value is one CSV
        // record split on commas only.
        assert_eq!(
            mount("/w/my dir/a=b:c/é"),
            "--mount=type=bind,source=/w/my dir/a=b:c/é,target=/src,readonly"
        );
        assert_eq!(
            mount("/w/a,b"),
            "--mount=type=bind,\"source=/w/a,b\",target=/src,readonly"
        );
        assert_eq!(
            mount("/w/say \"hi\", 'x'"),
            "--mount=type=bind,\"source=/w/say \"\"hi\"\", 'x'\",target=/src,readonly"
        );
    }

    /// The same reading Docker does (Go's encoding/csv, one record): a
    /// quoted field ends at a lone quote, a doubled quote is one quote.
    fn read_csv(record: &str) -> Vec<String> {
        let mut fields = vec![String::new()];
        let mut chars = record.chars().peekable();
        let mut quoted = false;
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', false) if fields.last().unwrap().is_empty() => quoted = true,
                ('"', true) if chars.peek() == Some(&'"') => {
                    chars.next();
                    fields.last_mut().unwrap().push('"');
                }
                ('"', true) => quoted = false,
                (',', false) => fields.push(String::new()),
                (c, _) => fields.last_mut().unwrap().push(c),
            }
        }
        fields
    }

    #[test]
    fn every_odd_path_reads_back_whole() {
        let long = format!("/w/{}", "deep/".repeat(60));
        for path in [
            "/w/a,b,,c",
            "/w/\"q\"",
            "/w/,\"",
            "/w/ lead",
            "/w/tab\there",
            "/w/日本語, spaces = eq",
            long.as_str(),
        ] {
            let arg = mount(path);
            let fields = read_csv(arg.strip_prefix("--mount=").unwrap());
            assert_eq!(
                fields,
                [
                    "type=bind",
                    &format!("source={path}"),
                    "target=/src",
                    "readonly"
                ],
                "{arg}"
            );
        }
    }

    #[test]
    fn content_tags_name_the_content_not_the_run() {
        let key = "aa".repeat(32);
        assert_eq!(
            content_tag(TOOLS_REPO, &key),
            format!("perfspect-tools:{}", &key[..24])
        );
        assert_ne!(
            content_tag(TOOLS_REPO, &key),
            content_tag(TOOLS_REPO, &"ab".repeat(32))
        );
        assert_eq!(content_tag(TOOLS_REPO, "src-1"), "perfspect-tools:src-1");
    }

    #[test]
    fn id_and_label_come_from_one_inspection() {
        assert_eq!(
            parse_id_and_label("sha256:abc\tkey1\n"),
            Some(("sha256:abc".into(), Some("key1".into())))
        );
        assert_eq!(
            parse_id_and_label("sha256:abc\t<no value>\n"),
            Some(("sha256:abc".into(), None))
        );
        assert_eq!(
            parse_id_and_label("sha256:abc\t\n"),
            Some(("sha256:abc".into(), None))
        );
        assert_eq!(parse_id_and_label(""), None);
        assert_eq!(parse_id_and_label("Error: No such image"), None);
    }

    #[test]
    fn no_cache_is_passed_to_docker() {
        assert!(
            tools_build(BuildCommand::Plain, true)
                .args()
                .contains(&"--no-cache".to_string())
        );
    }

    #[test]
    fn buildx_runs_the_default_builder_with_the_layer_cache() {
        let registry = LayerCache::Registry {
            reference: "r/t".into(),
        };
        let build = |write| {
            tools_build(
                BuildCommand::Buildx {
                    cache: registry.clone(),
                    write,
                },
                false,
            )
            .args()
            .join(" ")
        };
        let read_only = build(false);
        assert!(
            read_only.starts_with(
                "buildx build --builder=default --load --progress=plain --cache-from type=registry,ref=r/t:tool-fio --file "
            ),
            "{read_only}"
        );
        assert!(build(true).contains(
            " --cache-to type=registry,ref=r/t:tool-fio,mode=max,compression=zstd,ignore-error=true --file "
        ));
    }

    #[test]
    fn driver_type_tells_the_containerd_store() {
        assert!(uses_containerd_store(
            r#"[["driver-type","io.containerd.snapshotter.v1"]]"#
        ));
        assert!(!uses_containerd_store(
            r#"[["Backing Filesystem","extfs"],["Supports d_type","true"]]"#
        ));
        assert!(!uses_containerd_store("null"));
    }

    #[test]
    fn an_empty_build_cache_totals_zero() {
        assert!(du_total_is_zero("Reclaimable:\t0B\nTotal:\t\t0B\n"));
        assert!(du_total_is_zero(""));
        assert!(!du_total_is_zero(
            "ID\tRECLAIMABLE\nabc\ttrue\nReclaimable:\t223.8MB\nTotal:\t\t223.8MB\n"
        ));
    }

    #[test]
    fn dockerfile_error_lines_become_the_summary() {
        let line = "#9 3.021 error: fio 0.0-0 is not on http://m/debian: update FIO_VERSION in tools/versions.env";
        assert_eq!(
            error_hint(line),
            Some("fio 0.0-0 is not on http://m/debian: update FIO_VERSION in tools/versions.env")
        );
        assert_eq!(error_hint("4.307 error: x needs y"), Some("x needs y"));
        assert_eq!(error_hint("#9 3.021 CC fio.o"), None);
        let echoed = "#7 [sources 2/2] RUN a || { echo \"error: linux is not on m\" >&2; exit 1; }";
        assert_eq!(error_hint(echoed), None);
        assert_eq!(error_hint("error: building failed"), None);
    }

    #[test]
    fn container_run_is_unprivileged_and_offline() {
        let run = ContainerRun {
            name: "perfspect-build-1".into(),
            image: BUILDER_IMAGE.into(),
            user: "1000:1000".into(),
            mounts: vec![Mount {
                host: "/repo".into(),
                container: "/src".into(),
                read_only: true,
            }],
            env: vec![("A".into(), "b".into())],
            workdir: "/src".into(),
            command: vec!["cargo".into(), "build".into()],
            owner: "o".into(),
        };
        let args = run.args();
        for expected in [
            "--rm",
            "--init",
            "--network=none",
            "--cap-drop=ALL",
            "--read-only",
            "--user=1000:1000",
            "--mount=type=bind,source=/repo,target=/src,readonly",
            "--env=A=b",
            "--label=org.perfspect.owner=o",
        ] {
            assert!(
                args.contains(&expected.to_string()),
                "{expected} missing from {args:?}"
            );
        }
        assert!(
            !args
                .iter()
                .any(|a| a.contains("privileged") || a.contains("docker.sock"))
        );
        assert_eq!(
            &args[args.len() - 3..],
            ["perfspect-builder:v1", "cargo", "build"]
        );
    }
}
