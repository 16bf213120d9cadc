//! Stage 2, tools: tools-cache/ verified tool by tool; the tools that miss
//! built from source in one BuildKit run (their stages side by side), the
//! sources that changed fetched again, and the cache rewritten from what was
//! kept and what was built; then an image made from exactly that cache, named
//! by its content and tagged `perfspect-tools:v1` for people.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};
use xshell::Shell;

use sha2::{Digest, Sha256};

use crate::docker::{self, BuildCommand, ImageBuild, TOOLS_IMAGE, TOOLS_KEY_LABEL, TOOLS_REPO};
use crate::flags::{self, BuildSettings};
use crate::layer_cache::{self, LayerCache};
use crate::recipe::{self, Recipes};
use crate::staging::Staging;
use crate::toolbox::{self, ARCHES, SOURCES, Source, TOOLS, Tool};
use crate::tools_cache::{self, Manifest, Miss, Unit, Verdict};
use crate::{lock, oss, preflight, stage};

impl flags::Tools {
    pub fn run(self, sh: &Shell) -> Result<()> {
        let _lock = lock::acquire(sh)?;
        preflight::check(sh, &self.settings.base.base_image)?;
        stage::run("tools", || ensure(sh, &self.settings))?;
        Ok(())
    }
}

/// What the stage will do, decided before anything runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// The cache is valid and an image made from exactly it exists.
    ReuseImage,
    /// The cache is valid: make the image from it (a `FROM scratch` copy).
    ImageFromCache,
    /// Build the tools that miss and fetch the sources that miss, then
    /// rewrite tools-cache/ with them and everything kept.
    Rebuild(Rebuild),
}

/// What a rebuild builds, fetches, and with which builder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebuild {
    pub tools: Vec<(&'static Tool, Miss)>,
    pub sources: Vec<(&'static Source, Miss)>,
    pub builder: BuildCommand,
    pub no_layer_cache: bool,
}

/// `libraries_reused`: the libraries' part of oss_source.tgz is the one the
/// cached link lists call for (judged only when every tool is reused).
pub fn plan(
    verdict: &Verdict,
    libraries_reused: bool,
    image_key: Option<&str>,
    key: &str,
    settings: &BuildSettings,
) -> Plan {
    let builder = match settings.layer_cache() {
        LayerCache::None => BuildCommand::Plain,
        cache => BuildCommand::Buildx {
            cache,
            write: settings.writes_layer_cache(),
        },
    };
    if settings.no_cache {
        return Plan::Rebuild(Rebuild {
            tools: TOOLS.iter().map(|t| (t, Miss::Forced)).collect(),
            sources: SOURCES.iter().map(|s| (s, Miss::Forced)).collect(),
            builder,
            no_layer_cache: true,
        });
    }
    if verdict.all_reused() && libraries_reused {
        return if image_key == Some(key) {
            Plan::ReuseImage
        } else {
            Plan::ImageFromCache
        };
    }
    Plan::Rebuild(Rebuild {
        tools: verdict
            .tools
            .iter()
            .filter_map(|(n, why)| Some((toolbox::tool(n)?, why.clone())))
            .collect(),
        sources: verdict
            .sources
            .iter()
            .filter_map(|(n, why)| Some((SOURCES.iter().find(|s| s.name == n)?, why.clone())))
            .collect(),
        builder,
        no_layer_cache: false,
    })
}

/// The tools image this run uses, by id, and its content tag (what the
/// builder's Dockerfile names: a tag only the same content ever takes).
#[derive(Debug, Clone)]
pub struct ToolsImage {
    pub id: String,
    pub tag: String,
}

/// What the tools image made from a cache holds: the manifest (every file's
/// sha256, each tool's key, the pins) and the Dockerfile that copies it.
pub fn content_key(manifest: &Manifest, cache_dockerfile: &[u8]) -> String {
    let mut h = Sha256::new();
    for part in [manifest.render().as_bytes(), cache_dockerfile] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    tools_cache::hex(&h.finalize())
}

/// Makes sure tools-cache/ is valid for the current tools/ and that an image
/// made from exactly that cache exists; tags it perfspect-tools:v1 too.
/// Returns the cache manifest and the image, and the outcome for the log.
pub fn ensure(sh: &Shell, settings: &BuildSettings) -> Result<((Manifest, ToolsImage), String)> {
    preflight::layer_cache(sh, &settings.layer_cache())?;
    let recipes = Recipes::new(
        tools_cache::read_tree(&crate::tools_dir()).context("reading tools/")?,
        &settings.base.base_image,
    )?;
    let expected = recipes.expected()?;
    let cache_dockerfile = fs::read(crate::tools_dir().join("cache.Dockerfile"))
        .context("reading tools/cache.Dockerfile")?;
    let cache = crate::tools_cache_dir();
    let verdict = tools_cache::verdict(&tools_cache::observe(&cache)?, &expected);
    let libraries_reused = match (&verdict.manifest, verdict.all_reused()) {
        (Some(manifest), true) => {
            let list = recipe::library_list(&linked_lists(&cache)?);
            manifest.libraries.key == recipes.libraries_key(&list)?
        }
        _ => false,
    };
    let hit = verdict.all_reused() && libraries_reused;
    if let (true, false) = (settings.ci_cache_restored, hit) {
        eprintln!(
            "warning: TOOLS_CACHE_HIT=true but the restored cache is not wholly usable: the tools that miss are rebuilt"
        );
    }
    // On a hit, the image named by the cache's content, if one exists.
    let (content, existing) = match (&verdict.manifest, hit) {
        (Some(manifest), true) => {
            let content = content_key(manifest, &cache_dockerfile);
            let tag = docker::content_tag(TOOLS_REPO, &content);
            let existing = docker::image_id_and_label(sh, &tag, TOOLS_KEY_LABEL);
            (content, existing)
        }
        _ => (String::new(), None),
    };
    let image_key = existing.as_ref().and_then(|(_, label)| label.as_deref());
    let manifest = verdict.manifest.clone();
    let (manifest, outcome) = match plan(&verdict, libraries_reused, image_key, &content, settings)
    {
        Plan::ReuseImage => {
            let (id, _) = existing.expect("reuse is planned only for an existing image");
            docker::tag(sh, &id, TOOLS_IMAGE)?;
            let tag = docker::content_tag(TOOLS_REPO, &content);
            let outcome = format!(
                "cache hit ({} tools): {TOOLS_IMAGE} is already built from it",
                TOOLS.len()
            );
            let manifest = manifest.expect("a hit has a manifest");
            return Ok(((manifest, ToolsImage { id, tag }), outcome));
        }
        Plan::ImageFromCache => (
            manifest.expect("a hit has a manifest"),
            format!(
                "cache hit ({} tools): {TOOLS_IMAGE} made from tools-cache/",
                TOOLS.len()
            ),
        ),
        Plan::Rebuild(what) => rebuild(sh, settings, &recipes, &verdict, what)?,
    };
    let image = image_from_cache(sh, &manifest, &cache_dockerfile)?;
    Ok(((manifest, image), outcome))
}

/// Builds what misses, then writes the new cache in a staging directory from
/// the tools and source parts kept and those just built, checks it is a valid
/// cache, and only then puts it in place of tools-cache/.
fn rebuild(
    sh: &Shell,
    settings: &BuildSettings,
    recipes: &Recipes,
    verdict: &Verdict,
    plan: Rebuild,
) -> Result<(Manifest, String)> {
    let cache = crate::tools_cache_dir();
    let old = verdict.manifest.as_ref();
    for (tool, why) in &plan.tools {
        eprintln!("tools: {}: rebuilding from source: {why}", tool.name);
    }
    for (source, why) in &plan.sources {
        eprintln!("tools: {} source package: fetching: {why}", source.name);
    }
    for extra in &verdict.extras {
        eprintln!("tools: tools-cache/{extra} belongs to no tool: dropped");
    }
    let kept: Vec<&Tool> = TOOLS
        .iter()
        .filter(|t| plan.tools.iter().all(|(r, _)| r.name != t.name))
        .collect();
    if !kept.is_empty() {
        let names: Vec<&str> = kept.iter().map(|t| t.name).collect();
        eprintln!("tools: reused from tools-cache/: {}", names.join(", "));
    }

    // Everything built this run lands here first.
    let built = Staging::fresh("tools-build")?;
    let tools: Vec<&'static Tool> = plan.tools.iter().map(|(t, _)| *t).collect();
    let sources: Vec<&'static Source> = plan.sources.iter().map(|(s, _)| *s).collect();
    if !tools.is_empty() || !sources.is_empty() {
        let dockerfile = recipes.dockerfile(&tools, &sources)?;
        let mut paths = Vec::new();
        if !tools.is_empty() {
            paths.extend(["/bin", "/linked"]);
        }
        if !sources.is_empty() {
            paths.push("/oss");
        }
        build_and_copy(
            sh,
            settings,
            &plan,
            (&tools, &sources),
            &dockerfile,
            recipes.build_args(),
            &paths,
            built.path(),
            "tools-source",
        )?;
    }

    // Whatever built them (a compile here, a layer cache), the binaries
    // must be static executables for their machine before they are cached.
    for tool in &tools {
        for arch in ARCHES.iter().filter(|a| tool.builds_for(a)) {
            let path = built.path().join("bin").join(arch).join(tool.name);
            let bytes = fs::read(&path)
                .with_context(|| format!("the tools built lack {}", path.display()))?;
            if let Err(why) = toolbox::check_binary(&bytes, arch) {
                bail!(
                    "the {} built for {arch} is {why}: nothing was cached; rebuild with `cargo tools --no-cache` (and PERFSPECT_LAYER_CACHE=none if a layer cache served it)",
                    tool.name
                );
            }
        }
    }
    let staging = Staging::fresh("tools-cache")?;
    let dir = staging.path();
    let mut manifest = Manifest {
        versions: recipes.pins.iter().cloned().collect(),
        ..Manifest::default()
    };
    let expected = recipes.expected()?;
    for (name, unit) in &expected.tools {
        let from = if tools.iter().any(|t| t.name == name) {
            built.path()
        } else {
            &cache
        };
        for path in &unit.paths {
            place(&from.join(path), &dir.join(path))
                .with_context(|| format!("the tools built lack {path}"))?;
        }
        manifest.tools.insert(name.clone(), unit.clone());
    }

    // oss_source.tgz: kept whole when no part of it changes.
    let list = recipe::library_list(&linked_lists(dir)?);
    let libraries_key = recipes.libraries_key(&list)?;
    let libraries_kept = !settings.no_cache
        && verdict.oss.is_ok()
        && old.is_some_and(|m| m.libraries.key == libraries_key);
    let mut oss_note = Vec::new();
    if libraries_kept && sources.is_empty() {
        let old = old.expect("kept libraries imply a manifest");
        for name in [tools_cache::OSS, tools_cache::OSS_MD5] {
            place(&cache.join(name), &dir.join(name))?;
        }
        manifest.sources = old.sources.clone();
        manifest.libraries = old.libraries.clone();
    } else {
        if !libraries_kept {
            eprintln!(
                "tools: the linked libraries' sources: fetching (their list or recipe changed, or oss_source.tgz is not intact)"
            );
            let dockerfile = recipes.libraries_dockerfile()?;
            let mut args = recipes.build_args();
            args.push(("LIBRARIES".into(), list.clone()));
            build_and_copy(
                sh,
                settings,
                &plan,
                (&[], &[]),
                &dockerfile,
                args,
                &["/oss"],
                &built.path().join("libraries"),
                "tools-libraries",
            )?;
            oss_note.push("libraries".to_string());
        }
        let mut files = oss::Files::new();
        let mut wanted = BTreeSet::new();
        for source in SOURCES {
            if let (false, Some(old)) = (sources.contains(&&source), old) {
                let unit = old
                    .sources
                    .get(source.name)
                    .context("a kept source has a record")?;
                wanted.extend(unit.paths.iter().cloned());
                manifest.sources.insert(source.name.into(), unit.clone());
            }
        }
        if libraries_kept {
            let unit = &old.expect("kept libraries imply a manifest").libraries;
            wanted.extend(unit.paths.iter().cloned());
            manifest.libraries = unit.clone();
        }
        if !wanted.is_empty() {
            let kept = oss::read(&cache.join(tools_cache::OSS), &wanted)?;
            oss::merge(&mut files, "the parts kept", kept)?;
        }
        for source in &sources {
            let part = read_part(&built.path().join("oss").join(source.name))?;
            manifest.sources.insert(
                source.name.into(),
                Unit {
                    key: recipes.source_key(source)?,
                    paths: part.keys().cloned().collect(),
                },
            );
            oss::merge(&mut files, source.name, part)?;
            oss_note.push(source.name.to_string());
        }
        if !libraries_kept {
            let part = read_part(&built.path().join("libraries/oss/libraries"))?;
            manifest.libraries = Unit {
                key: libraries_key.clone(),
                paths: part.keys().cloned().collect(),
            };
            oss::merge(&mut files, "the libraries", part)?;
        }
        let archive = oss::archive(files)?;
        fs::write(
            dir.join(tools_cache::OSS_MD5),
            crate::package::md5_line(&archive, tools_cache::OSS),
        )?;
        fs::write(dir.join(tools_cache::OSS), archive)?;
    }
    let mut all: Vec<String> = manifest
        .tools
        .values()
        .flat_map(|u| u.paths.clone())
        .collect();
    all.extend([
        tools_cache::OSS.to_string(),
        tools_cache::OSS_MD5.to_string(),
    ]);
    manifest.files = tools_cache::hash_files(dir, &all)?;
    fs::write(dir.join(tools_cache::MANIFEST), manifest.render())?;

    // The new cache must pass the same verdict as any other before use (the
    // files were hashed just now, from the staging directory itself).
    let observed = tools_cache::Observation::Present {
        manifest: Some(fs::read(dir.join(tools_cache::MANIFEST))?),
        files: tools_cache::list_files(dir)?
            .into_iter()
            .filter(|p| p != tools_cache::MANIFEST)
            .map(|p| {
                let sha = manifest.files.get(&p).cloned().unwrap_or_default();
                (p, sha)
            })
            .collect(),
    };
    let check = tools_cache::verdict(&observed, &expected);
    if !check.all_reused()
        || check.manifest.as_ref().map(|m| &m.libraries.key) != Some(&libraries_key)
    {
        bail!(
            "the tools built from source do not form a valid cache ({:?}): rebuild with `cargo tools --no-cache`",
            (check.tools, check.sources, check.oss, check.extras)
        );
    }
    staging.replace(&cache)?;
    let rebuilt: Vec<&str> = tools.iter().map(|t| t.name).collect();
    let outcome = format!(
        "built from source: {}; reused: {}; oss_source.tgz: {}; tools-cache/ refreshed",
        if rebuilt.is_empty() {
            "none".to_string()
        } else {
            rebuilt.join(", ")
        },
        if kept.is_empty() {
            "none".to_string()
        } else {
            kept.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
        },
        if oss_note.is_empty() {
            "kept".to_string()
        } else {
            format!("{} fetched", oss_note.join(", "))
        }
    );
    Ok((manifest, outcome))
}

/// One BuildKit run of a generated Dockerfile (context tools/), its outputs
/// copied into `dest`: the `tools` and `sources` it builds, or, when both
/// are empty, the libraries' sources. With a layer cache, the log says
/// whether it could be read and written and what served each tool; a build
/// that fails with a cache read is run again without it (a cache never
/// fails a release).
#[allow(clippy::too_many_arguments)]
fn build_and_copy(
    sh: &Shell,
    settings: &BuildSettings,
    plan: &Rebuild,
    (tools, sources): (&[&'static Tool], &[&'static Source]),
    dockerfile: &str,
    mut build_args: Vec<(String, String)>,
    paths: &[&str],
    dest: &Path,
    what: &str,
) -> Result<()> {
    preflight::docker_space(
        sh,
        preflight::MIN_FREE_DOCKER_TOOLS_BUILD,
        " to compile the tools",
    )?;
    build_args.extend(settings.mirror_args());
    let key = tools_cache::key(&[
        ("dockerfile", dockerfile.as_bytes()),
        ("args", format!("{build_args:?}").as_bytes()),
    ]);
    let file = crate::staging_dir().join(format!("{what}.{}.Dockerfile", std::process::id()));
    fs::write(&file, dockerfile).with_context(|| format!("writing {}", file.display()))?;
    let mut cache = match &plan.builder {
        BuildCommand::Buildx { cache, .. } => cache.clone(),
        BuildCommand::Plain => LayerCache::None,
    };
    let tool_names: Vec<&str> = tools.iter().map(|t| t.name).collect();
    let source_names: Vec<&str> = sources.iter().map(|s| s.name).collect();
    let mut scope = layer_cache::Scope::of_build(&tool_names, &source_names);
    // A directory cache without this kind of build's entry has nothing to
    // read yet: said once, not as a failure.
    if let LayerCache::Local { dir } = &cache {
        let _ = fs::create_dir_all(dir);
        scope.local_entry_exists = fs::read_to_string(dir.join("index.json"))
            .is_ok_and(|index| layer_cache::index_has_tag(&index, &scope.kind));
        if !scope.local_entry_exists {
            eprintln!(
                "tools: the layer cache {} has no {} entry yet: this run writes it",
                cache.describe(),
                scope.kind
            );
        }
    }
    let build = |builder: BuildCommand| ImageBuild {
        builder,
        dockerfile: file.clone(),
        context: crate::tools_dir(),
        tag: docker::content_tag(TOOLS_REPO, &format!("src-{key}")),
        build_args: build_args.clone(),
        labels: vec![(TOOLS_KEY_LABEL.to_string(), key.clone())],
        no_cache: plan.no_layer_cache,
        iidfile: docker::iidfile(what),
        cache_scope: scope.clone(),
    };
    let reads =
        cache.reads() && !matches!(cache, LayerCache::Local { .. } if !scope.local_entry_exists);
    let engine_cache_was_empty = reads && docker::build_cache_empty(sh);
    let built = match docker::build_image_logged(sh, &build(plan.builder.clone())) {
        Err(e) if reads => {
            eprintln!(
                "tools: warning: the build reading the layer cache {} failed ({e:#}): building again without it",
                cache.describe()
            );
            cache = LayerCache::None;
            docker::build_image_logged(sh, &build(BuildCommand::Plain))
        }
        other => other,
    };
    let _ = fs::remove_file(&file);
    let (id, lines) = built?;
    let progress = layer_cache::read_progress(lines.iter().map(String::as_str));
    for line in layer_cache::report(&progress, &cache) {
        eprintln!("{line}");
    }
    let stages: Vec<(&str, Vec<String>)> = tools
        .iter()
        .map(|t| {
            let stages = ARCHES
                .iter()
                .filter(|a| t.builds_for(a))
                .map(|a| format!("{}-{a}", t.name))
                .collect();
            (t.name, stages)
        })
        .collect();
    for line in layer_cache::served(&progress, &stages, &cache, engine_cache_was_empty) {
        eprintln!("{line}");
    }
    let name = format!(
        "perfspect-extract-{}-{}",
        crate::checkout_id(),
        std::process::id()
    );
    docker::copy_from_image(sh, &id, &name, &crate::checkout_id(), paths, dest)
}

/// Every tool's link lists in a cache laid out directory `dir`.
fn linked_lists(dir: &Path) -> Result<Vec<toolbox::LinkedFile>> {
    let mut all = Vec::new();
    for tool in &TOOLS {
        for arch in toolbox::ARCHES.iter().filter(|a| tool.builds_for(a)) {
            let path = toolbox::linked_path(arch, tool.name);
            let text = fs::read_to_string(dir.join(&path))
                .with_context(|| format!("reading {}", dir.join(&path).display()))?;
            all.extend(
                toolbox::parse_linked(&text)
                    .map_err(|why| anyhow::anyhow!("{}: {why}", dir.join(&path).display()))?,
            );
        }
    }
    Ok(all)
}

/// The files of one part of oss_source.tgz as the build left them.
fn read_part(dir: &Path) -> Result<oss::Files> {
    let files: oss::Files = tools_cache::read_tree(dir)
        .with_context(|| format!("the tools build left no {}", dir.display()))?
        .into_iter()
        .collect();
    if files.is_empty() {
        bail!("the tools build left {} empty", dir.display());
    }
    Ok(files)
}

/// Puts `from` at `to`: a hard link when both are on one filesystem, else a copy.
fn place(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent)?;
    }
    if fs::hard_link(from, to).is_err() {
        fs::copy(from, to).with_context(|| format!("copying {}", from.display()))?;
    }
    Ok(())
}

/// The image the rest of the run uses, always made from the verified cache
/// under a tag only this content takes; tagged perfspect-tools:v1 too.
fn image_from_cache(
    sh: &Shell,
    manifest: &Manifest,
    cache_dockerfile: &[u8],
) -> Result<ToolsImage> {
    let content = content_key(manifest, cache_dockerfile);
    let tag = docker::content_tag(TOOLS_REPO, &content);
    let id = docker::build_image(
        sh,
        &ImageBuild {
            builder: BuildCommand::Plain,
            dockerfile: crate::tools_dir().join("cache.Dockerfile"),
            context: crate::tools_cache_dir(),
            tag: tag.clone(),
            build_args: vec![],
            labels: vec![(TOOLS_KEY_LABEL.to_string(), content)],
            no_cache: false,
            iidfile: docker::iidfile("tools"),
            cache_scope: Default::default(),
        },
    )?;
    docker::tag(sh, &id, TOOLS_IMAGE)?;
    Ok(ToolsImage { id, tag })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(tools: &[(&str, Miss)], sources: &[(&str, Miss)]) -> Verdict {
        Verdict {
            manifest: Some(Manifest::default()),
            tools: tools
                .iter()
                .map(|(n, w)| (n.to_string(), w.clone()))
                .collect(),
            sources: sources
                .iter()
                .map(|(n, w)| (n.to_string(), w.clone()))
                .collect(),
            oss: Ok(()),
            extras: Vec::new(),
        }
    }

    #[test]
    fn valid_cache_and_matching_image_is_reused() {
        let v = verdict(&[], &[]);
        let s = BuildSettings::default();
        assert_eq!(plan(&v, true, Some("k"), "k", &s), Plan::ReuseImage);
        assert_eq!(plan(&v, true, Some("old"), "k", &s), Plan::ImageFromCache);
        assert_eq!(plan(&v, true, None, "k", &s), Plan::ImageFromCache);
    }

    #[test]
    fn only_the_tools_and_sources_that_miss_are_rebuilt() {
        let v = verdict(
            &[("lspci", Miss::ChecksumMismatch("bin/x86_64/lspci".into()))],
            &[("fio", Miss::Stale)],
        );
        let Plan::Rebuild(Rebuild {
            tools,
            sources,
            builder,
            no_layer_cache,
        }) = plan(&v, true, None, "k", &BuildSettings::default())
        else {
            panic!("a miss must rebuild")
        };
        assert_eq!(tools.len(), 1);
        assert_eq!(tools[0].0.name, "lspci");
        assert_eq!(sources.len(), 1);
        assert_eq!(sources[0].0.name, "fio");
        assert_eq!((builder, no_layer_cache), (BuildCommand::Plain, false));
    }

    #[test]
    fn changed_libraries_alone_rewrite_the_cache_without_building_tools() {
        let p = plan(
            &verdict(&[], &[]),
            false,
            Some("k"),
            "k",
            &BuildSettings::default(),
        );
        assert_eq!(
            p,
            Plan::Rebuild(Rebuild {
                tools: vec![],
                sources: vec![],
                builder: BuildCommand::Plain,
                no_layer_cache: false
            })
        );
    }

    #[test]
    fn forced_rebuild_ignores_cache_and_layers() {
        let forced = BuildSettings {
            no_cache: true,
            ..BuildSettings::default()
        };
        let Plan::Rebuild(Rebuild {
            tools,
            sources,
            no_layer_cache,
            ..
        }) = plan(&verdict(&[], &[]), true, Some("k"), "k", &forced)
        else {
            panic!("forced must rebuild")
        };
        assert_eq!(tools.len(), TOOLS.len());
        assert_eq!(sources.len(), SOURCES.len());
        assert!(tools.iter().all(|(_, why)| *why == Miss::Forced));
        assert!(no_layer_cache);
    }

    #[test]
    fn a_miss_uses_the_layer_cache_set_and_only_ci_writes_a_registry() {
        let builder = |settings: &BuildSettings| {
            let Plan::Rebuild(Rebuild { builder, .. }) = plan(
                &verdict(&[("perf", Miss::New)], &[]),
                true,
                None,
                "k",
                settings,
            ) else {
                panic!("a miss must rebuild")
            };
            builder
        };
        let github = BuildSettings {
            github_actions: true,
            ci: true,
            ..BuildSettings::default()
        };
        assert_eq!(
            builder(&github),
            BuildCommand::Buildx {
                cache: LayerCache::Gha {
                    scope: "perfspect-tools".into(),
                },
                write: true,
            }
        );
        assert_eq!(builder(&BuildSettings::default()), BuildCommand::Plain);
        let registry = LayerCache::Registry {
            reference: "r/t".into(),
        };
        let developer = BuildSettings {
            layer_cache: Some(registry.clone()),
            ..BuildSettings::default()
        };
        assert_eq!(
            builder(&developer),
            BuildCommand::Buildx {
                cache: registry.clone(),
                write: false,
            }
        );
        let asked = BuildSettings {
            write_layer_cache: true,
            ..developer
        };
        assert_eq!(
            builder(&asked),
            BuildCommand::Buildx {
                cache: registry,
                write: true,
            }
        );
    }
}
