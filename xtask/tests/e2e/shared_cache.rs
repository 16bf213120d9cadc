//! A team's shared layer cache, for real: a loopback OCI registry (Debian's
//! docker-registry) and engines that share nothing but it (second dockerd
//! daemons with their own data, sockets and bridge). Engine A (the machine's
//! engine) builds the tools and exports every layer; an empty engine builds
//! them warm from the registry, byte for byte the same, and the same release. Then a directory cache
//! cold and warm, and the faults: a registry answering 401, one stopped
//! mid-run, a blob corrupted in its storage: each named in the log, the
//! build finishing with the same tools, nothing wrong cached.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::support::*;

/// A `docker-registry serve` on 127.0.0.1, storing under `dir`.
struct Registry {
    dir: PathBuf,
    port: u16,
    auth: bool,
    child: Option<Child>,
}

impl Registry {
    fn start(dir: &Path, auth: bool) -> Registry {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut registry = Registry {
            dir: dir.to_path_buf(),
            port,
            auth,
            child: None,
        };
        registry.serve();
        registry
    }

    fn serve(&mut self) {
        fs::create_dir_all(&self.dir).unwrap();
        let mut config = format!(
            "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {}/storage\nhttp:\n  addr: 127.0.0.1:{}\n",
            self.dir.display(),
            self.port
        );
        if self.auth {
            // A password file the registry fills with a random password:
            // every request without it is answered 401.
            config += &format!(
                "auth:\n  htpasswd:\n    realm: e2e\n    path: {}/htpasswd\n",
                self.dir.display()
            );
        }
        let file = self.dir.join("config.yml");
        fs::write(&file, config).unwrap();
        let log = fs::File::create(self.dir.join("registry.log")).unwrap();
        self.child = Some(
            Command::new("docker-registry")
                .args(["serve", file.to_str().unwrap()])
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("docker-registry is not installed: run `cargo xtask setup`"),
        );
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the registry did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn cache(&self) -> String {
        format!("registry:127.0.0.1:{}/perfspect/tools-cache", self.port)
    }

    /// Flips a byte in every layer the registry stores: every blob but the
    /// JSON of manifests and configs (layers are gzip, from images, or zstd,
    /// written by the cache export).
    fn corrupt_layers(&self) -> usize {
        let blobs = self.dir.join("storage/docker/registry/v2/blobs/sha256");
        let mut corrupted = 0;
        for prefix in fs::read_dir(&blobs).unwrap().flatten() {
            for blob in fs::read_dir(prefix.path()).unwrap().flatten() {
                let data = blob.path().join("data");
                let bytes = fs::read(&data).unwrap();
                if bytes.len() > 64 && !bytes.starts_with(b"{") {
                    flip_byte(&data, bytes.len() / 2);
                    corrupted += 1;
                }
            }
        }
        corrupted
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A second, empty Docker engine: its own dockerd (and managed containerd),
/// data root, exec root, socket and bridge; the containerd image store on.
struct Engine {
    dir: PathBuf,
    bridge: String,
    child: Child,
}

impl Engine {
    fn start(name: &str, subnet: u8) -> Engine {
        // Short paths: containerd's sockets live under the exec root.
        let dir = PathBuf::from(format!("/tmp/pfs-{name}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let bridge = format!("pfs-{name}");
        let _ = Command::new("ip").args(["link", "del", &bridge]).status();
        run("ip", &["link", "add", &bridge, "type", "bridge"]);
        run(
            "ip",
            &[
                "addr",
                "add",
                &format!("172.30.{subnet}.1/24"),
                "dev",
                &bridge,
            ],
        );
        run("ip", &["link", "set", &bridge, "up"]);
        fs::write(
            dir.join("daemon.json"),
            r#"{"features": {"containerd-snapshotter": true}}"#,
        )
        .unwrap();
        let log = fs::File::create(dir.join("dockerd.log")).unwrap();
        let child = Command::new("/usr/sbin/dockerd")
            .args([
                "--data-root",
                dir.join("data").to_str().unwrap(),
                "--exec-root",
                dir.join("x").to_str().unwrap(),
                "--pidfile",
                dir.join("pid").to_str().unwrap(),
                "-H",
                &format!("unix://{}/sock", dir.display()),
                "--config-file",
                dir.join("daemon.json").to_str().unwrap(),
                "--bridge",
                &bridge,
            ])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let engine = Engine { dir, bridge, child };
        let start = Instant::now();
        while !engine.docker(&["version"]).status.success() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the second engine did not start: see {}/dockerd.log",
                engine.dir.display()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        // The base image, as a team's machines all pull the same one.
        let tarball = engine.dir.join("base.tar");
        run(
            "docker",
            &[
                "save",
                "--output",
                tarball.to_str().unwrap(),
                "debian:bookworm",
            ],
        );
        let loaded = engine.docker(&["load", "--input", tarball.to_str().unwrap()]);
        assert!(loaded.status.success(), "{loaded:?}");
        let _ = fs::remove_file(&tarball);
        let id =
            |out: std::process::Output| String::from_utf8(out.stdout).unwrap().trim().to_string();
        assert_eq!(
            id(engine.docker(&["image", "inspect", "--format", "{{.Id}}", "debian:bookworm"])),
            run(
                "docker",
                &["image", "inspect", "--format", "{{.Id}}", "debian:bookworm"]
            )
            .trim(),
            "the second engine's base image differs from the first's"
        );
        engine
    }

    fn host(&self) -> String {
        format!("unix://{}/sock", self.dir.display())
    }

    fn docker(&self, args: &[&str]) -> std::process::Output {
        Command::new("docker")
            .env("DOCKER_HOST", self.host())
            .args(args)
            .output()
            .unwrap()
    }

    fn prune_build_cache(&self) {
        let out = self.docker(&["builder", "prune", "--all", "--force"]);
        assert!(out.status.success(), "{out:?}");
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .status();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `xtask tools` on `engine` in `root` (with `env`), its stderr, timed.
fn tools_on(engine: &Engine, root: &Path, env: &[(&str, &str)]) -> (String, Duration) {
    let host = engine.host();
    let mut all = vec![("DOCKER_HOST", host.as_str())];
    all.extend_from_slice(env);
    let start = Instant::now();
    let err = ok(xtask(root, &["tools"], &all));
    (err, start.elapsed())
}

/// Spoils lspci in `root`'s tools-cache/: the next run rebuilds lspci alone
/// (the smallest tool: its environment, source and compile).
fn spoil_lspci(root: &Path) {
    flip_byte(&root.join("tools-cache/bin/x86_64/lspci"), 100);
}

#[track_caller]
fn same_tools(root: &Path, reference: &serde_json::Value, what: &str) {
    cache_is_intact(root);
    assert_eq!(&cache_manifest(root)["files"], reference, "{what}");
}

#[track_caller]
fn says(err: &str, line: &str) {
    assert!(err.contains(line), "the log lacks `{line}`:\n{}", tail(err));
}

#[test]
fn teams_share_the_tools_layers_through_a_registry() {
    let _serial = serial();
    let scratch = workspace().join("target/e2e/shared-cache");
    let _ = fs::remove_dir_all(&scratch);
    remove_when_passed(&scratch);
    let mut registry = Registry::start(&scratch.join("registry"), false);
    let cache = registry.cache();
    let mut probes = Vec::new();

    // Engine A (this machine's engine, whose layers the tools built before
    // this test left warm): the tools by the plain path, then the same
    // release's tools again from no tools-cache/ through buildx, as CI does,
    // exporting every layer to the registry. (A cold compile's bytes are
    // checked against the plain path's below, for lspci and the shared
    // environment; compiling the whole toolbox cold again here would cost
    // CI 8 minutes.)
    let a = warm_repo("shared-cache-a");
    ok(xtask(&a, &["tools"], &[]));
    let plain = cache_manifest(&a)["files"].clone();
    fs::remove_dir_all(a.join("tools-cache")).unwrap();
    let start = Instant::now();
    let err = ok(xtask(
        &a,
        &["tools"],
        &[("PERFSPECT_LAYER_CACHE", &cache), ("CI", "true")],
    ));
    let export = start.elapsed();
    says(&err, "--cache-to type=registry,ref=127.0.0.1:");
    says(&err, &format!("tools: layer cache {cache} written"));
    same_tools(&a, &plain, "the tools built through buildx differ");
    ok(xtask(&a, &["dist"], &[]));

    // Engine B, empty, shares nothing with A but the registry: warm from it.
    let b = warm_repo("shared-cache-b");
    let engine = Engine::start("e2eb", 1);
    let (err, warm) = tools_on(&engine, &b, &[("PERFSPECT_LAYER_CACHE", &cache)]);
    assert!(
        !err.contains("--cache-to"),
        "only CI writes a registry cache"
    );
    for tool in xtask::toolbox::TOOLS {
        says(
            &err,
            &format!(
                "tools: {}: served by the layer cache ({cache}): nothing compiled",
                tool.name
            ),
        );
    }
    same_tools(&b, &plain, "engine B's tools differ from engine A's");
    // B's release, its builder image and build container on engine B too:
    // the same bytes as A's.
    let host = engine.host();
    let err = ok(xtask(
        &b,
        &["dist"],
        &[("DOCKER_HOST", &host), ("PERFSPECT_LAYER_CACHE", &cache)],
    ));
    says(&err, "==> tools: done in");
    says(&err, "(cache hit");
    same_release(&a.join("dist"), &b.join("dist"), "on engine B");
    probes.push(format!(
        "tools stage: engine A's build exporting to the registry {:.1} s, warm from the registry on empty engine B {:.1} s",
        export.as_secs_f64(),
        warm.as_secs_f64()
    ));

    // A directory cache: cold (engine B's build cache pruned, the directory
    // empty: lspci's environment, source and compile run, and are written
    // there; a cold compile gives the plain path's bytes), then warm from it
    // after another prune.
    let dir = scratch.join("layers");
    let local = format!("local:{}", dir.display());
    engine.prune_build_cache();
    spoil_lspci(&b);
    let (err, local_cold) = tools_on(&engine, &b, &[("PERFSPECT_LAYER_CACHE", &local)]);
    says(&err, "tools: lspci: compiled");
    says(&err, &format!("tools: layer cache {local} written"));
    same_tools(&b, &plain, "lspci built with a directory cache differs");
    engine.prune_build_cache();
    spoil_lspci(&b);
    let (err, local_warm) = tools_on(&engine, &b, &[("PERFSPECT_LAYER_CACHE", &local)]);
    says(
        &err,
        &format!("tools: lspci: served by the layer cache ({local}): nothing compiled"),
    );
    same_tools(&b, &plain, "lspci from a directory cache differs");
    probes.push(format!(
        "lspci miss with local:<dir>: cold {:.1} s, warm after a prune {:.1} s",
        local_cold.as_secs_f64(),
        local_warm.as_secs_f64()
    ));

    // A registry that answers 401, read and (as CI) written: warnings, and
    // the build goes on from this engine's own cache.
    let refusing = Registry::start(&scratch.join("registry-401"), true);
    spoil_lspci(&b);
    let (err, _) = tools_on(
        &engine,
        &b,
        &[("PERFSPECT_LAYER_CACHE", &refusing.cache()), ("CI", "true")],
    );
    says(
        &err,
        &format!(
            "tools: warning: the layer cache {} could not be read",
            refusing.cache()
        ),
    );
    says(&err, "401 Unauthorized");
    says(
        &err,
        &format!(
            "tools: warning: the layer cache {} could not be written",
            refusing.cache()
        ),
    );
    same_tools(&b, &plain, "lspci built beside a 401 registry differs");
    probes.extend(warnings("401", &err));
    drop(refusing);
    drop(engine);

    // The registry stopped mid-run, on another empty engine: once the run
    // has started reading it.
    let engine = Engine::start("e2ec", 2);
    let c = scratch_repo("shared-cache-c");
    copy_dir(&b.join("tools-cache"), &c.join("tools-cache"));
    spoil_lspci(&c);
    let host = engine.host();
    let (err, success, stopped) = run_and_act_at_with(
        &c,
        &["tools"],
        &[
            ("DOCKER_HOST", &host),
            ("PERFSPECT_LAYER_CACHE", &cache),
            ("CI", "true"),
        ],
        "importing cache manifest from",
        Duration::ZERO,
        |_| registry.stop(),
    );
    assert!(success, "{}", tail(&err));
    assert!(stopped, "the run never read the registry:\n{}", tail(&err));
    assert!(
        err.lines()
            .any(|l| l.starts_with("tools: warning: ") && l.contains(&cache)),
        "no warning names the stopped registry:\n{}",
        tail(&err)
    );
    same_tools(&c, &plain, "lspci built as the registry stopped differs");
    probes.extend(warnings("registry stopped mid-run", &err));
    drop(engine);

    // A layer corrupted in the registry's storage, read by another empty
    // engine: BuildKit refuses the blob, the build runs again without the
    // cache, and the tools are right.
    registry.serve();
    assert!(
        registry.corrupt_layers() > 0,
        "the registry stores no layer"
    );
    let engine = Engine::start("e2ed", 3);
    spoil_lspci(&c);
    let (err, _) = tools_on(&engine, &c, &[("PERFSPECT_LAYER_CACHE", &cache)]);
    says(
        &err,
        &format!("tools: warning: the build reading the layer cache {cache} failed"),
    );
    says(&err, "unexpected commit digest");
    says(&err, "tools: lspci: compiled");
    same_tools(
        &c,
        &plain,
        "lspci built beside a corrupted registry differs",
    );
    drop(engine);

    for line in &probes {
        eprintln!("{line}");
    }
    write_probe_log("shared-cache", &probes);
}

/// The log's warning lines, labelled with the fault, for the probe log.
fn warnings(fault: &str, err: &str) -> Vec<String> {
    err.lines()
        .filter(|l| l.starts_with("tools: warning: ") || l.starts_with("tools: lspci: "))
        .map(|l| format!("{fault}: {}", l.chars().take(400).collect::<String>()))
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    let _ = fs::remove_dir_all(to);
    run("cp", &["-a", from.to_str().unwrap(), to.to_str().unwrap()]);
}
