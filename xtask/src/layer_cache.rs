//! The BuildKit layer cache a tools-stage miss reads and writes: the one
//! setting that chooses it (`PERFSPECT_LAYER_CACHE`), the `--cache-from` and
//! `--cache-to` arguments it becomes, and what BuildKit's progress output
//! says happened (a cache that could not be read or written, the tools it
//! served). All pure: `docker.rs` runs the build, `tools.rs` decides.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::settings::LAYER_CACHE;

/// Where a tools-stage miss finds and keeps its layers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerCache {
    /// This engine's own build cache only (the default off GitHub).
    None,
    /// Cache metadata inside the image built (any BuildKit exports it).
    Inline,
    /// GitHub Actions' cache service (the default with GITHUB_ACTIONS).
    Gha { scope: String },
    /// A directory on this machine.
    Local { dir: PathBuf },
    /// An OCI registry every machine of a team reads (and CI writes).
    Registry { reference: String },
}

const DEFAULT_GHA_SCOPE: &str = "perfspect-tools";
/// Layers written to a cache are compressed with zstd: measured, the build
/// environment's layer took 3.5 s to prepare for export against gzip's 47 s.
const ZSTD: &str = "compression=zstd";

impl LayerCache {
    /// As a clap value parser: the error is the message alone.
    pub fn parse_setting(value: &str) -> Result<LayerCache, String> {
        let v = value.trim();
        let nonempty = |rest: &str| (!rest.is_empty()).then(|| rest.to_string());
        if let Some(rest) = v.strip_prefix("gha:").and_then(nonempty) {
            return Ok(LayerCache::Gha { scope: rest });
        }
        if let Some(rest) = v.strip_prefix("local:").and_then(nonempty) {
            return Ok(LayerCache::Local {
                dir: PathBuf::from(rest),
            });
        }
        if let Some(rest) = v.strip_prefix("registry:").and_then(nonempty) {
            if rest.contains([',', '"', ' ', '\n', '@']) {
                return Err(format!(
                    "{LAYER_CACHE} names the registry reference `{rest}`, which has a comma, quote, space or digest: use a repository, with or without a tag, such as registry:cache.example.com/team/perfspect-tools"
                ));
            }
            return Ok(LayerCache::Registry { reference: rest });
        }
        match v {
            "none" => Ok(LayerCache::None),
            "inline" => Ok(LayerCache::Inline),
            "gha" => Ok(LayerCache::Gha {
                scope: DEFAULT_GHA_SCOPE.into(),
            }),
            other => Err(format!(
                "{LAYER_CACHE} has unexpected value `{other}`: use none, inline, gha, gha:<scope>, local:<dir> or registry:<ref>"
            )),
        }
    }

    /// The cache when none is set: GitHub's on GitHub Actions, else none.
    pub fn default_for(github_actions: bool) -> LayerCache {
        if github_actions {
            LayerCache::Gha {
                scope: DEFAULT_GHA_SCOPE.into(),
            }
        } else {
            LayerCache::None
        }
    }

    /// Only the kinds that travel outside the image need an engine able to
    /// export caches (BuildKit with the containerd image store).
    pub fn needs_cache_export(&self) -> bool {
        matches!(
            self,
            LayerCache::Gha { .. } | LayerCache::Local { .. } | LayerCache::Registry { .. }
        )
    }

    /// Whether this run reads layers from outside the engine.
    pub fn reads(&self) -> bool {
        self.needs_cache_export()
    }

    /// How the log names it.
    pub fn describe(&self) -> String {
        match self {
            LayerCache::None => "none".into(),
            LayerCache::Inline => "inline".into(),
            LayerCache::Gha { scope } => format!("gha:{scope}"),
            LayerCache::Local { dir } => format!("local:{}", dir.display()),
            LayerCache::Registry { reference } => format!("registry:{reference}"),
        }
    }

    /// `--cache-from`/`--cache-to` for one build of `entries`: the tools
    /// and source packages it builds (`tool-perf`, `source-linux`) or
    /// `libraries`. A registry or GitHub cache keeps one entry per tool or
    /// source (a tag, a scope), each written by every build that includes it,
    /// so a build of one tool never replaces another tool's layers; a
    /// directory keeps one entry per kind of build (`kind`), as BuildKit
    /// cannot write two tags of one directory at once. `write` decides for a
    /// registry alone (shared by a team: only CI writes it by default); a
    /// failed export never fails the build.
    pub fn args(&self, write: bool, scope: &Scope) -> Vec<String> {
        let (kind, entries) = (&scope.kind, &scope.entries);
        let mut args = Vec::new();
        let mut from = |spec: String| args.extend(["--cache-from".to_string(), spec]);
        match self {
            // BuildKit refuses to start on a directory without that entry.
            LayerCache::Local { .. } if !scope.local_entry_exists => {}
            LayerCache::None | LayerCache::Inline => {}
            LayerCache::Gha { scope } => {
                for e in entries {
                    from(format!("type=gha,scope={scope}-{e}"));
                }
            }
            LayerCache::Local { dir } => from(format!(
                "type=local,{},tag={kind}",
                crate::docker::csv_field(&format!("src={}", dir.display()))
            )),
            LayerCache::Registry { reference } => {
                for e in entries {
                    from(format!("type=registry,ref={}", entry_ref(reference, e)));
                }
            }
        }
        let mut to = |spec: String| args.extend(["--cache-to".to_string(), spec]);
        match self {
            LayerCache::None => {}
            LayerCache::Inline => to("type=inline".into()),
            LayerCache::Gha { scope } => {
                for e in entries {
                    to(format!(
                        "type=gha,mode=max,{ZSTD},scope={scope}-{e},ignore-error=true"
                    ));
                }
            }
            LayerCache::Local { dir } => to(format!(
                "type=local,{},tag={kind},mode=max,{ZSTD},ignore-error=true",
                crate::docker::csv_field(&format!("dest={}", dir.display()))
            )),
            LayerCache::Registry { reference } if write => {
                for e in entries {
                    to(format!(
                        "type=registry,ref={},mode=max,{ZSTD},ignore-error=true",
                        entry_ref(reference, e)
                    ));
                }
            }
            LayerCache::Registry { .. } => {}
        }
        args
    }
}

/// What one build reads and writes of the layer cache.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// `tools` or `libraries`: a directory cache's entry.
    pub kind: String,
    /// A registry or GitHub cache's entries: `tool-<name>`, `source-<name>`,
    /// `libraries`.
    pub entries: Vec<String>,
    /// Whether a directory cache already has the entry `kind`.
    pub local_entry_exists: bool,
}

impl Scope {
    /// The entries of a build of `tools` and `sources` (names), or, when it
    /// builds neither, of the libraries' sources.
    pub fn of_build(tools: &[&str], sources: &[&str]) -> Scope {
        let mut entries: Vec<String> = tools
            .iter()
            .map(|t| format!("tool-{t}"))
            .chain(sources.iter().map(|s| format!("source-{s}")))
            .collect();
        let kind = if entries.is_empty() {
            entries.push("libraries".into());
            "libraries"
        } else {
            "tools"
        };
        Scope {
            kind: kind.into(),
            entries,
            local_entry_exists: true,
        }
    }
}

/// Whether the OCI index of a directory cache (its index.json) names `tag`.
pub fn index_has_tag(index_json: &str, tag: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(index_json).is_ok_and(|index| {
        index["manifests"].as_array().is_some_and(|m| {
            m.iter()
                .any(|d| d["annotations"]["org.opencontainers.image.ref.name"] == tag)
        })
    })
}

/// The registry reference of one entry: a tag of the repository named, or,
/// when the reference has a tag, that tag with the entry appended.
pub fn entry_ref(reference: &str, entry: &str) -> String {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    if last.contains(':') {
        format!("{reference}-{entry}")
    } else {
        format!("{reference}:{entry}")
    }
}

/// What BuildKit's plain progress output says about one build.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// How many cache entries the build tried to read.
    pub imports: usize,
    /// Why each entry that could not be read could not (in order).
    pub import_errors: Vec<String>,
    /// Why it could not be written, when it could not.
    pub export_error: Option<String>,
    /// Whether a cache export completed.
    pub exported: bool,
    /// Stages with at least one RUN step, and whether any of them ran
    /// (rather than coming from a cache).
    pub stages: BTreeMap<String, bool>,
}

impl Progress {
    /// Whether any cache entry was read.
    pub fn read_any(&self) -> bool {
        self.imports > self.import_errors.len()
    }

    /// The import errors that are not merely an entry not written yet
    /// (a registry's `not found`, a directory without that tag).
    pub fn import_failures(&self) -> Vec<&str> {
        self.import_errors
            .iter()
            .map(String::as_str)
            .filter(|e| !e.ends_with(": not found") && !e.contains("not found due to err"))
            .collect()
    }
}

/// Reads `--progress=plain` output: `#7 [perf-x86_64 3/5] RUN make`, then
/// `#7 CACHED` or `#7 DONE 41.2s`; `#4 importing cache manifest from ...`
/// or `#9 exporting cache to ...`, then `#4 ERROR: ...` when it failed.
pub fn read_progress<'a>(lines: impl IntoIterator<Item = &'a str>) -> Progress {
    let mut stage_of: BTreeMap<&str, String> = BTreeMap::new();
    let mut import: BTreeSet<&str> = BTreeSet::new();
    let mut export: BTreeSet<&str> = BTreeSet::new();
    let mut cached: BTreeSet<&str> = BTreeSet::new();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut progress = Progress::default();
    for line in lines {
        let Some(rest) = line.strip_prefix('#') else {
            if let Some(warning) = line.strip_prefix("WARNING: local cache import at ") {
                progress.imports += 1;
                progress.import_errors.push(warning.trim().to_string());
            }
            continue;
        };
        let Some((id, text)) = rest.split_once(' ') else {
            continue;
        };
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        if let Some(step) = text.strip_prefix('[') {
            // Only RUN steps do work worth naming (FROM and COPY steps
            // report DONE whether or not anything was cached).
            let stage = step.split_once(' ').map(|(stage, _)| stage);
            let runs = step
                .split_once("] ")
                .is_some_and(|(_, s)| s.starts_with("RUN "));
            if let (Some(stage), true) = (stage, runs) {
                stage_of.insert(id, stage.to_string());
            }
        } else if text.starts_with("importing cache manifest from ") {
            if import.insert(id) {
                progress.imports += 1;
            }
        } else if text.starts_with("exporting cache to ") {
            export.insert(id);
        } else if text == "CACHED" {
            cached.insert(id);
        } else if let Some(error) = text.strip_prefix("ERROR: ") {
            if import.contains(id) {
                progress.import_errors.push(error.trim().to_string());
            } else if export.contains(id) {
                progress.export_error = Some(error.trim().to_string());
            }
        } else if text.starts_with("DONE ") {
            done.insert(id);
            if export.contains(id) {
                progress.exported = true;
            }
        }
    }
    for (id, stage) in stage_of {
        let ran = done.contains(id) && !cached.contains(id);
        *progress.stages.entry(stage).or_insert(false) |= ran;
    }
    progress
}

/// What the log says of the cache after a build: whether it could be read
/// (an entry not written yet is no failure) and written.
pub fn report(progress: &Progress, cache: &LayerCache) -> Vec<String> {
    let mut lines = Vec::new();
    if *cache == LayerCache::None {
        return lines;
    }
    let name = cache.describe();
    let failure = progress.import_failures().first().map(|e| e.to_string());
    match (
        progress.import_errors.is_empty() || progress.read_any(),
        failure,
    ) {
        (false, Some(error)) => lines.push(format!(
            "tools: warning: the layer cache {name} could not be read ({error}): built without it"
        )),
        (false, None) => lines.push(format!(
            "tools: the layer cache {name} has no entry for this build yet"
        )),
        (true, Some(error)) => lines.push(format!(
            "tools: warning: part of the layer cache {name} could not be read ({error})"
        )),
        (true, None) => {}
    }
    match &progress.export_error {
        Some(error) => lines.push(format!(
            "tools: warning: the layer cache {name} could not be written ({error}): the tools built are unaffected"
        )),
        None if progress.exported => lines.push(format!("tools: layer cache {name} written")),
        None => {}
    }
    lines
}

/// Where each tool of a build came from, one log line each: compiled, or
/// from a layer cache, named as precisely as the run can know it.
/// `engine_cache_was_empty`: the engine had no build cache when the build
/// started, so any layer it did not compile came from `cache`.
pub fn served(
    progress: &Progress,
    tools: &[(&str, Vec<String>)],
    cache: &LayerCache,
    engine_cache_was_empty: bool,
) -> Vec<String> {
    let read = cache.reads() && progress.read_any();
    let from = match (read, engine_cache_was_empty) {
        (true, true) => cache.describe(),
        (true, false) => format!("this engine's build cache or {}", cache.describe()),
        (false, _) => "this engine's build cache".to_string(),
    };
    tools
        .iter()
        .map(|(tool, stages)| {
            let ran = stages
                .iter()
                .any(|s| progress.stages.get(s).copied().unwrap_or(false));
            if ran {
                format!("tools: {tool}: compiled")
            } else {
                format!("tools: {tool}: served by the layer cache ({from}): nothing compiled")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_strictly() {
        let p = |v| LayerCache::parse_setting(v);
        assert_eq!(p("none"), Ok(LayerCache::None));
        assert_eq!(p(" inline "), Ok(LayerCache::Inline));
        assert_eq!(
            p("gha"),
            Ok(LayerCache::Gha {
                scope: "perfspect-tools".into()
            })
        );
        assert_eq!(p("gha:x"), Ok(LayerCache::Gha { scope: "x".into() }));
        assert_eq!(
            p("local:/tmp/a b"),
            Ok(LayerCache::Local {
                dir: "/tmp/a b".into()
            })
        );
        assert_eq!(
            p("registry:127.0.0.1:5000/team/tools"),
            Ok(LayerCache::Registry {
                reference: "127.0.0.1:5000/team/tools".into()
            })
        );
        for bad in ["", "gha:", "local:", "registry:", "s3", "registry:a,b"] {
            let err = p(bad).unwrap_err();
            assert!(err.contains("PERFSPECT_LAYER_CACHE"), "{bad}: {err}");
        }
        assert_eq!(LayerCache::default_for(false), LayerCache::None);
        assert_eq!(LayerCache::default_for(true), p("gha").unwrap());
    }

    fn scope(local_entry_exists: bool) -> Scope {
        Scope {
            kind: "tools".into(),
            entries: vec!["tool-fio".into(), "source-fio".into()],
            local_entry_exists,
        }
    }

    #[test]
    fn only_ci_writes_a_registry_cache_one_entry_per_tool_and_source() {
        let registry = LayerCache::Registry {
            reference: "r.example/t".into(),
        };
        assert_eq!(
            registry.args(false, &scope(true)).join(" "),
            "--cache-from type=registry,ref=r.example/t:tool-fio --cache-from type=registry,ref=r.example/t:source-fio"
        );
        assert_eq!(
            registry.args(true, &scope(true))[4..].join(" "),
            "--cache-to type=registry,ref=r.example/t:tool-fio,mode=max,compression=zstd,ignore-error=true \
             --cache-to type=registry,ref=r.example/t:source-fio,mode=max,compression=zstd,ignore-error=true"
        );
        assert_eq!(
            entry_ref("h:5000/team/t", "libraries"),
            "h:5000/team/t:libraries"
        );
        assert_eq!(
            entry_ref("h:5000/team/t:v2", "tool-perf"),
            "h:5000/team/t:v2-tool-perf"
        );
        let gha = LayerCache::Gha { scope: "s".into() }.args(false, &scope(true));
        assert_eq!(gha.len(), 8);
        assert_eq!(
            gha[5],
            "type=gha,mode=max,compression=zstd,scope=s-tool-fio,ignore-error=true"
        );
    }

    #[test]
    fn a_directory_keeps_one_entry_per_kind_of_build_and_is_read_once_written() {
        let local = LayerCache::Local { dir: "/c,d".into() };
        assert_eq!(
            local.args(false, &scope(true)).join(" "),
            "--cache-from type=local,\"src=/c,d\",tag=tools --cache-to type=local,\"dest=/c,d\",tag=tools,mode=max,compression=zstd,ignore-error=true"
        );
        assert_eq!(
            local.args(false, &scope(false)).join(" "),
            "--cache-to type=local,\"dest=/c,d\",tag=tools,mode=max,compression=zstd,ignore-error=true"
        );
        let index = r#"{"schemaVersion":2,"manifests":[{"digest":"sha256:d6","annotations":{"org.opencontainers.image.ref.name":"tools"}}]}"#;
        assert!(index_has_tag(index, "tools"));
        assert!(!index_has_tag(index, "libraries"));
        assert!(!index_has_tag("not json", "tools"));
        assert!(LayerCache::None.args(true, &scope(true)).is_empty());
        assert_eq!(
            LayerCache::Inline.args(true, &scope(true)),
            ["--cache-to", "type=inline"]
        );
        assert!(!LayerCache::Inline.needs_cache_export());
        assert!(local.needs_cache_export());
    }

    // Recorded from Docker 26.1.5's BuildKit (`--progress=plain`).
    const COLD: &str = "#4 importing cache manifest from 127.0.0.1:5057/t
#4 ERROR: failed to configure registry cache importer: failed to do request: Head \"https://127.0.0.1:5057/v2/t/manifests/latest\": dial tcp 127.0.0.1:5057: connect: connection refused
#5 [env 1/2] FROM docker.io/library/debian:bookworm
#5 DONE 0.0s
#6 [env 2/2] RUN apt-get install -y gcc
#6 CACHED
#7 [fio-x86_64 1/2] RUN make
#7 0.512 CC fio.o
#7 DONE 31.0s
#8 [lspci-x86_64 1/2] RUN make
#8 CACHED
#9 exporting cache to registry
#9 preparing build cache for export
#9 ERROR: error writing layer blob: unexpected status from HEAD request to http://127.0.0.1:5056/v2/t/blobs/sha256:27: 401 Unauthorized
 > importing cache manifest from 127.0.0.1:5057/t:";

    #[test]
    fn progress_names_cache_failures_and_what_ran() {
        let p = read_progress(COLD.lines());
        assert_eq!(p.imports, 1);
        assert!(!p.read_any());
        assert!(
            p.import_failures()[0].ends_with("connection refused"),
            "{p:?}"
        );
        assert!(
            p.export_error
                .as_deref()
                .unwrap()
                .ends_with("401 Unauthorized")
        );
        assert!(!p.exported);
        assert_eq!(p.stages.get("fio-x86_64"), Some(&true));
        assert_eq!(p.stages.get("lspci-x86_64"), Some(&false));
        assert_eq!(p.stages.get("env"), Some(&false));
        let warm = read_progress(
            "#4 importing cache manifest from r/t\n#4 inferred cache manifest type: x done\n#4 DONE 0.1s\n\
             #9 exporting cache to registry\n#9 DONE 1.9s\n"
                .lines(),
        );
        assert!(warm.read_any() && warm.exported);
        let first = read_progress(
            "#4 importing cache manifest from r/t:tool-fio\n#4 ERROR: failed to configure registry cache importer: r/t:tool-fio: not found\n"
                .lines(),
        );
        assert!(!first.read_any());
        assert!(
            first.import_failures().is_empty(),
            "an entry not written yet is no failure"
        );
        let local = read_progress([
            "WARNING: local cache import at /c not found due to err: could not read /c/index.json",
        ]);
        assert!(local.import_errors[0].starts_with("/c not found"));
    }

    #[test]
    fn a_build_s_entries_are_its_tools_and_sources_or_the_libraries() {
        let tools = Scope::of_build(&["perf"], &["linux"]);
        assert_eq!(
            (tools.kind.as_str(), tools.entries),
            (
                "tools",
                vec!["tool-perf".to_string(), "source-linux".into()]
            )
        );
        let libraries = Scope::of_build(&[], &[]);
        assert_eq!(
            (libraries.kind.as_str(), libraries.entries),
            ("libraries", vec!["libraries".to_string()])
        );
    }

    #[test]
    fn the_report_tells_a_cache_not_written_yet_from_one_that_failed() {
        let registry = LayerCache::Registry {
            reference: "r/t".into(),
        };
        assert_eq!(
            report(&read_progress(COLD.lines()), &registry),
            [
                "tools: warning: the layer cache registry:r/t could not be read (failed to configure registry cache importer: failed to do request: Head \"https://127.0.0.1:5057/v2/t/manifests/latest\": dial tcp 127.0.0.1:5057: connect: connection refused): built without it",
                "tools: warning: the layer cache registry:r/t could not be written (error writing layer blob: unexpected status from HEAD request to http://127.0.0.1:5056/v2/t/blobs/sha256:27: 401 Unauthorized): the tools built are unaffected",
            ]
        );
        let first = read_progress(
            "#4 importing cache manifest from r/t:tool-fio\n#4 ERROR: failed to configure registry cache importer: r/t:tool-fio: not found\n\
             #9 exporting cache to registry\n#9 DONE 1.9s\n"
                .lines(),
        );
        assert_eq!(
            report(&first, &registry),
            [
                "tools: the layer cache registry:r/t has no entry for this build yet",
                "tools: layer cache registry:r/t written"
            ]
        );
        assert!(report(&first, &LayerCache::None).is_empty());
    }

    #[test]
    fn each_tool_is_said_to_be_compiled_or_served_by_a_named_cache() {
        let registry = LayerCache::Registry {
            reference: "r/t".into(),
        };
        let tools = vec![
            ("fio", vec!["fio-x86_64".to_string(), "fio-aarch64".into()]),
            ("lspci", vec!["lspci-x86_64".to_string()]),
        ];
        let mut p = read_progress(COLD.lines());
        assert_eq!(
            served(&p, &tools, &registry, true),
            [
                "tools: fio: compiled",
                "tools: lspci: served by the layer cache (this engine's build cache): nothing compiled"
            ]
        );
        p.import_errors.clear();
        assert_eq!(
            served(&p, &tools, &registry, true)[1],
            "tools: lspci: served by the layer cache (registry:r/t): nothing compiled"
        );
        assert!(
            served(&p, &tools, &registry, false)[1]
                .contains("(this engine's build cache or registry:r/t)")
        );
    }
}
