//! Bad hosts and inputs: each refused in one line, nothing written.

use std::fs;
use std::path::Path;

use crate::support::*;

#[test]
fn bad_hosts_and_inputs_fail_in_one_line_and_write_nothing() {
    let _serial = serial();
    let root = scratch_repo("refusals");
    let nothing_written = |root: &Path| {
        for output in ["dist", "tools-cache", ".staging"] {
            assert!(!root.join(output).exists(), "{output} was written");
        }
    };
    let last_line = |err: &str| err.trim_end().lines().last().unwrap_or("").to_string();

    // A stopped daemon: its socket file is still there, nothing listens on it.
    let stale = root.with_extension("docker.sock");
    let _ = fs::remove_file(&stale);
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let stopped = format!("unix://{}", stale.display());

    // Each bad host or setting: the command, its environment, and what the
    // last line of its output says.
    type Refusal<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let refusals: &[Refusal] = &[
        (
            &["dist", "--base-image", "perfspect-e2e-absent:none"],
            &[],
            "base image perfspect-e2e-absent:none is not present: run `cargo xtask setup`",
        ),
        (
            &["tools"],
            &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
            "Docker daemon is not reachable",
        ),
        (
            &["dist"],
            &[("DOCKER_HOST", &stopped)],
            "Docker daemon is not reachable",
        ),
        (
            &["tools"],
            &[("PATH", "/nonexistent")],
            "docker CLI is not installed: run `cargo xtask setup`",
        ),
        // The build containers cannot reach the Debian mirror (nothing
        // listens on port 9 of a container's loopback).
        (
            &["tools"],
            &[("PERFSPECT_DEBIAN_MIRROR", "http://127.0.0.1:9/debian")],
            "the Debian mirror http://127.0.0.1:9/debian is not reachable from the build containers: \
             check Docker's network and proxy settings, or set PERFSPECT_DEBIAN_MIRROR",
        ),
        (
            &["dist"],
            &[("PERFSPECT_DEBIAN_MIRROR", "deb.debian.org")],
            "PERFSPECT_DEBIAN_MIRROR has unexpected value `deb.debian.org`",
        ),
        (
            &["dist"],
            &[("TOOLS_CACHE_HIT", "perhaps")],
            "TOOLS_CACHE_HIT has unexpected value `perhaps`",
        ),
        (
            &["dist"],
            &[("SOURCE_DATE_EPOCH", "yesterday")],
            "SOURCE_DATE_EPOCH is `yesterday`",
        ),
    ];
    for (args, env, says) in refusals {
        let err = fails(xtask(&root, args, env));
        assert!(last_line(&err).contains(says), "{}", tail(&err));
        nothing_written(&root);
    }

    let err = fails(xtask(&root, &["frobnicate"], &[]));
    assert!(
        err.contains("unrecognized subcommand 'frobnicate'"),
        "{err}"
    );
    let err = fails(xtask(&root, &["dist", "--frob"], &[]));
    assert!(err.contains("unexpected argument '--frob'"), "{err}");

    fs::write(root.join("version.txt"), "\n").unwrap();
    let err = fails(xtask(&root, &["dist"], &[]));
    assert!(last_line(&err).contains("version.txt is empty"), "{err}");
    fs::write(root.join("version.txt"), "3.0 final\n").unwrap();
    let err = fails(xtask(&root, &["dist"], &[]));
    assert!(
        last_line(&err).contains("not a version like 3.0.0"),
        "{err}"
    );
    git(&root, &["checkout", "-q", "version.txt"]);

    // A directory without git is refused (the ceiling keeps git from finding
    // the repository this scratch copy lives in).
    fs::remove_dir_all(root.join(".git")).unwrap();
    let ceiling = root.parent().unwrap().to_str().unwrap().to_string();
    let err = fails(xtask(
        &root,
        &["dist"],
        &[("GIT_CEILING_DIRECTORIES", &ceiling)],
    ));
    assert!(last_line(&err).contains("is not a git work tree"), "{err}");
    nothing_written(&root);
}
