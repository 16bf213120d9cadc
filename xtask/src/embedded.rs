//! Stage 5, check, between build and package: the tools each perfspect binary
//! embeds are exactly the ones in tools-cache/ (name and sha256, per
//! architecture). A binary compiled against other tools (another checkout's
//! image on a shared engine, a stale build) never reaches dist/.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::Value;
use xshell::{Shell, cmd};

use crate::package::Binaries;
use crate::tools_cache::Manifest;

/// One tool as a binary lists it (`perfspect tools list --format json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub name: String,
    pub source: String,
    pub sha256: Option<String>,
}

/// Reads the tool list a perfspect binary prints.
pub fn parse_list(json: &str) -> Result<Vec<Listed>, String> {
    let doc: Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
    let tools = doc
        .get("tools")
        .and_then(Value::as_array)
        .ok_or("no `tools` array")?;
    tools
        .iter()
        .map(|t| {
            let field = |k: &str| t.get(k).and_then(Value::as_str).map(str::to_string);
            Ok(Listed {
                name: field("name").ok_or("a tool without a name")?,
                source: field("source").unwrap_or_default(),
                sha256: field("sha256"),
            })
        })
        .collect()
}

/// Compares what a binary for `arch` embeds with the cache manifest's
/// `bin/<arch>/<tool>` entries. Returns the tools checked, or every
/// difference, each naming the tool and both digests.
pub fn compare(
    arch: &str,
    listed: &[Listed],
    manifest: &Manifest,
) -> Result<Vec<String>, Vec<String>> {
    let prefix = format!("bin/{arch}/");
    let expected: Vec<(&str, &str)> = manifest
        .files
        .iter()
        .filter_map(|(path, sha)| Some((path.strip_prefix(&prefix)?, sha.as_str())))
        .collect();
    let mut problems = Vec::new();
    for (name, want) in &expected {
        match listed.iter().find(|l| l.name == *name) {
            None => problems.push(format!(
                "the {arch} binary does not list {name}, which tools-cache/ has (sha256 {want})"
            )),
            Some(l) if l.source != "embedded" => problems.push(format!(
                "the {arch} binary's {name} is not embedded (source: {})",
                if l.source.is_empty() {
                    "none"
                } else {
                    &l.source
                }
            )),
            Some(l) if l.sha256.as_deref() != Some(want) => problems.push(format!(
                "the {arch} binary embeds {name} with sha256 {}, but tools-cache/ has {want}",
                l.sha256.as_deref().unwrap_or("(none)")
            )),
            Some(_) => {}
        }
    }
    for l in listed.iter().filter(|l| l.source == "embedded") {
        if !expected.iter().any(|(name, _)| *name == l.name) {
            problems.push(format!(
                "the {arch} binary embeds {} (sha256 {}), which tools-cache/ does not have",
                l.name,
                l.sha256.as_deref().unwrap_or("(none)")
            ));
        }
    }
    if problems.is_empty() {
        Ok(expected.iter().map(|(name, _)| name.to_string()).collect())
    } else {
        Err(problems)
    }
}

/// How to run a binary for `arch` on a host of `host`: directly, or under
/// qemu-user (installed by `cargo xtask setup`).
pub fn runner(arch: &str, host: &str) -> Option<String> {
    (arch != host).then(|| format!("qemu-{arch}-static"))
}

/// Runs both binaries' `tools list --format json` and compares each with the manifest.
pub fn check(sh: &Shell, binaries: &Binaries, manifest: &Manifest) -> Result<((), String)> {
    let mut summary = Vec::new();
    let mut problems = Vec::new();
    for (arch, binary) in [("x86_64", &binaries.x86_64), ("aarch64", &binaries.aarch64)] {
        let listed = list(sh, arch, binary)?;
        match compare(arch, &listed, manifest) {
            Ok(names) => summary.push(format!("{arch}: {}", names.join(", "))),
            Err(p) => problems.extend(p),
        }
    }
    if !problems.is_empty() {
        bail!(
            "the binaries do not embed the tools in tools-cache/, so dist/ was not written: {}; rerun `cargo dist` (add --no-cache if it repeats)",
            problems.join("; ")
        );
    }
    Ok((
        (),
        format!(
            "embedded tools match tools-cache/ by sha256 ({})",
            summary.join("; ")
        ),
    ))
}

/// Runs a perfspect binary for `arch` with `args` (under qemu-user on
/// another host architecture) and returns its output, whatever its status.
pub fn run(sh: &Shell, arch: &str, binary: &Path, args: &[&str]) -> Result<std::process::Output> {
    match runner(arch, std::env::consts::ARCH) {
        None => cmd!(sh, "{binary} {args...}").quiet().ignore_status().output(),
        Some(qemu) => cmd!(sh, "{qemu} {binary} {args...}")
            .quiet()
            .ignore_status()
            .output(),
    }
    .with_context(|| {
        format!(
            "running the {arch} binary failed: run `cargo xtask setup` (it installs qemu-user-static)"
        )
    })
}

pub fn list(sh: &Shell, arch: &str, binary: &Path) -> Result<Vec<Listed>> {
    let out = run(sh, arch, binary, &["tools", "list", "--format", "json"])?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse_list(&text).map_err(|why| {
        anyhow::anyhow!(
            "the {arch} binary's tool list could not be read ({why}): {}",
            crate::failure::reason(&out.stderr, "no output")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            files: [
                ("bin/x86_64/fio", "f1"),
                ("bin/x86_64/perf", "p1"),
                ("bin/aarch64/fio", "f2"),
                ("bin/aarch64/perf", "p2"),
                ("oss_source.tgz", "o"),
            ]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
            ..Manifest::default()
        }
    }

    fn listed(name: &str, source: &str, sha: &str) -> Listed {
        Listed {
            name: name.into(),
            source: source.into(),
            sha256: Some(sha.into()),
        }
    }

    #[test]
    fn the_list_perfspect_prints_is_read() {
        let json = r#"{"arch":"x86_64","build_arch":"x86_64","tools":[
            {"name":"perf","version":"6.1","sha256":"p1","source":"embedded","path":null},
            {"name":"fio","version":null,"sha256":null,"source":"none","path":null}]}"#;
        let l = parse_list(json).unwrap();
        assert_eq!(l[0], listed("perf", "embedded", "p1"));
        assert_eq!(l[1].sha256, None);
        assert!(parse_list("error: boom").unwrap_err().contains("not JSON"));
        assert!(parse_list("{}").unwrap_err().contains("tools"));
    }

    #[test]
    fn matching_tools_pass_per_arch() {
        let x86 = [
            listed("perf", "embedded", "p1"),
            listed("fio", "embedded", "f1"),
        ];
        assert_eq!(
            compare("x86_64", &x86, &manifest()).unwrap(),
            ["fio", "perf"]
        );
        let arm = [
            listed("perf", "embedded", "p2"),
            listed("fio", "embedded", "f2"),
        ];
        assert!(compare("aarch64", &arm, &manifest()).is_ok());
        // The other architecture's digests do not pass.
        assert!(compare("aarch64", &x86, &manifest()).is_err());
    }

    #[test]
    fn a_difference_names_the_tool_and_both_digests() {
        let l = [
            listed("perf", "embedded", "p1"),
            listed("fio", "embedded", "other"),
        ];
        let err = compare("x86_64", &l, &manifest()).unwrap_err();
        assert_eq!(
            err,
            ["the x86_64 binary embeds fio with sha256 other, but tools-cache/ has f1"]
        );
    }

    #[test]
    fn missing_extra_and_not_embedded_tools_are_named() {
        let l = [
            listed("perf", "override", "p1"),
            listed("turbostat", "embedded", "t"),
        ];
        let err = compare("x86_64", &l, &manifest()).unwrap_err().join("\n");
        assert!(err.contains("does not list fio"), "{err}");
        assert!(
            err.contains("perf is not embedded (source: override)"),
            "{err}"
        );
        assert!(
            err.contains("embeds turbostat (sha256 t), which tools-cache/ does not"),
            "{err}"
        );
    }

    #[test]
    fn the_other_architecture_runs_under_qemu() {
        assert_eq!(runner("x86_64", "x86_64"), None);
        assert_eq!(
            runner("aarch64", "x86_64").as_deref(),
            Some("qemu-aarch64-static")
        );
        assert_eq!(
            runner("x86_64", "aarch64").as_deref(),
            Some("qemu-x86_64-static")
        );
    }
}
