//! Stage 2, tools: tools-cache/ verified (or rebuilt from source and
//! extracted into it), and an image made from exactly that cache, named by
//! its content and tagged `perfspect-tools:v1` for people.

use std::fs;

use anyhow::{Context, Result, bail};
use xshell::Shell;

use sha2::{Digest, Sha256};

use crate::docker::{self, BuildCommand, ImageBuild, TOOLS_IMAGE, TOOLS_KEY_LABEL, TOOLS_REPO};
use crate::flags::{self, BuildSettings};
use crate::staging::Staging;
use crate::tools_cache::{self, Manifest, Miss, Pins, Verdict};
use crate::{lock, preflight, stage};

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
    /// Compile from source, then refresh tools-cache/.
    BuildFromSource {
        why: Miss,
        builder: BuildCommand,
        no_layer_cache: bool,
    },
}

pub fn plan(
    verdict: &Verdict,
    image_key: Option<&str>,
    key: &str,
    settings: &BuildSettings,
) -> Plan {
    let forced = settings.no_cache;
    let builder = if settings.github_actions {
        BuildCommand::Buildx(settings.buildx_cache.clone())
    } else {
        BuildCommand::Plain
    };
    match verdict {
        _ if forced => Plan::BuildFromSource {
            why: Miss::Forced,
            builder,
            no_layer_cache: true,
        },
        Verdict::Hit(_) if image_key == Some(key) => Plan::ReuseImage,
        Verdict::Hit(_) => Plan::ImageFromCache,
        Verdict::Miss(why) => Plan::BuildFromSource {
            why: why.clone(),
            builder,
            no_layer_cache: false,
        },
    }
}

/// The tools image this run uses, by id, and its content tag (what the
/// builder's Dockerfile names: a tag only the same content ever takes).
#[derive(Debug, Clone)]
pub struct ToolsImage {
    pub id: String,
    pub tag: String,
}

/// What the tools image made from a cache holds: the manifest (every file's
/// sha256, the tools/ key, the pins) and the Dockerfile that copies it.
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
    let tree = tools_cache::read_tree(&crate::tools_dir()).context("reading tools/")?;
    let key = tools_cache::key(&tree);
    let cache_dockerfile = fs::read(crate::tools_dir().join("cache.Dockerfile"))
        .context("reading tools/cache.Dockerfile")?;
    let verdict = if settings.no_cache {
        Verdict::Miss(Miss::Forced)
    } else {
        tools_cache::verdict(&tools_cache::observe(&crate::tools_cache_dir())?, &key)
    };
    if let (true, Verdict::Miss(why)) = (settings.ci_cache_restored, &verdict) {
        eprintln!("warning: TOOLS_CACHE_HIT=true but the restored cache is not usable: {why}");
    }
    // On a hit, the image named by the cache's content, if one exists.
    let (content, existing) = match &verdict {
        Verdict::Hit(manifest) => {
            let content = content_key(manifest, &cache_dockerfile);
            let tag = docker::content_tag(TOOLS_REPO, &content);
            let existing = docker::image_id_and_label(sh, &tag, TOOLS_KEY_LABEL);
            (content, existing)
        }
        Verdict::Miss(_) => (String::new(), None),
    };
    let image_key = existing.as_ref().and_then(|(_, label)| label.as_deref());
    let (manifest, outcome) = match (plan(&verdict, image_key, &content, settings), verdict) {
        (Plan::ReuseImage, Verdict::Hit(manifest)) => {
            let (id, _) = existing.expect("reuse is planned only for an existing image");
            docker::tag(sh, &id, TOOLS_IMAGE)?;
            let tag = docker::content_tag(TOOLS_REPO, &content);
            let outcome = format!("cache hit: {TOOLS_IMAGE} is already built from it");
            return Ok(((manifest, ToolsImage { id, tag }), outcome));
        }
        (Plan::ImageFromCache, Verdict::Hit(manifest)) => (
            manifest,
            format!("cache hit: {TOOLS_IMAGE} made from tools-cache/"),
        ),
        (
            Plan::BuildFromSource {
                why,
                builder,
                no_layer_cache,
            },
            _,
        ) => {
            eprintln!("tools cache miss: {why}; building the tools from source");
            preflight::docker_space(
                sh,
                preflight::MIN_FREE_DOCKER_TOOLS_BUILD,
                " to compile the tools",
            )?;
            let pins = pins(&tree)?;
            let id = build_from_source(sh, settings, &key, &pins, builder, no_layer_cache)?;
            let manifest = refresh_cache(sh, &id, &key, &pins)?;
            (
                manifest,
                format!("built from source ({why}); tools-cache/ refreshed"),
            )
        }
        (plan, verdict) => unreachable!("plan {plan:?} does not follow from {verdict:?}"),
    };
    let image = image_from_cache(sh, &manifest, &cache_dockerfile)?;
    Ok(((manifest, image), outcome))
}

/// Compiles the tools from source; returns the image's id. Tagged by its
/// inputs (tools/ and the base image), so a run building other tools on the
/// same engine never moves the tag.
fn build_from_source(
    sh: &Shell,
    settings: &BuildSettings,
    key: &str,
    pins: &Pins,
    builder: BuildCommand,
    no_layer_cache: bool,
) -> Result<String> {
    let mut build_args = vec![("BASE_IMAGE".to_string(), settings.base.base_image.clone())];
    build_args.extend(pins.iter().cloned());
    build_args.extend(settings.mirror_args());
    docker::build_image(
        sh,
        &ImageBuild {
            builder,
            dockerfile: crate::tools_dir().join("build.Dockerfile"),
            context: crate::tools_dir(),
            tag: docker::content_tag(TOOLS_REPO, &format!("src-{key}")),
            build_args,
            labels: vec![(TOOLS_KEY_LABEL.to_string(), key.to_string())],
            no_cache: no_layer_cache,
            iidfile: docker::iidfile("tools-source"),
        },
    )
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
        },
    )?;
    docker::tag(sh, &id, TOOLS_IMAGE)?;
    Ok(ToolsImage { id, tag })
}

fn pins(tree: &[(String, Vec<u8>)]) -> Result<Pins> {
    let (_, text) = tree
        .iter()
        .find(|(p, _)| p == "versions.env")
        .context("tools/versions.env is missing: it pins the tool source versions")?;
    tools_cache::parse_pins(std::str::from_utf8(text).context("tools/versions.env is not UTF-8")?)
}

/// Copies the outputs out of the tools image into a staging directory, records
/// them in a manifest, checks the result is a valid cache, and only then
/// renames it over tools-cache/.
fn refresh_cache(sh: &Shell, image_id: &str, key: &str, pins: &Pins) -> Result<Manifest> {
    let staging = Staging::fresh("tools-cache")?;
    let dir = staging.path();
    let name = format!(
        "perfspect-extract-{}-{}",
        crate::checkout_id(),
        std::process::id()
    );
    let paths = ["/bin", "/linked", "/oss_source.tgz", "/oss_source.tgz.md5"];
    docker::copy_from_image(sh, image_id, &name, &crate::checkout_id(), &paths, dir)?;

    let md5_recorded =
        fs::read_to_string(dir.join("oss_source.tgz.md5")).context("reading oss_source.tgz.md5")?;
    let md5_actual =
        crate::package::md5_line(&fs::read(dir.join("oss_source.tgz"))?, "oss_source.tgz");
    if md5_recorded != md5_actual {
        bail!(
            "oss_source.tgz from the tools built from source does not match its .md5 file: rebuild with `cargo tools --no-cache`"
        );
    }
    let files = tools_cache::hash_files(dir, &tools_cache::REQUIRED_FILES.map(String::from))
        .with_context(|| "the tools built from source lack a file the cache needs".to_string())?;
    let manifest = Manifest {
        key: key.to_string(),
        files,
        versions: pins.iter().cloned().collect(),
    };
    fs::write(dir.join(tools_cache::MANIFEST), manifest.render())?;
    if let Verdict::Miss(why) = tools_cache::verdict(&tools_cache::observe(dir)?, key) {
        bail!("the tools built from source do not form a valid cache: {why}");
    }
    staging.replace(&crate::tools_cache_dir())?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::BuildxCache;

    fn hit() -> Verdict {
        Verdict::Hit(Manifest {
            key: "k".into(),
            files: Default::default(),
            versions: Default::default(),
        })
    }

    #[test]
    fn valid_cache_and_matching_image_is_reused() {
        assert_eq!(
            plan(&hit(), Some("k"), "k", &BuildSettings::default()),
            Plan::ReuseImage
        );
    }

    #[test]
    fn valid_cache_without_matching_image_makes_it() {
        assert_eq!(
            plan(&hit(), Some("old"), "k", &BuildSettings::default()),
            Plan::ImageFromCache
        );
        assert_eq!(
            plan(&hit(), None, "k", &BuildSettings::default()),
            Plan::ImageFromCache
        );
    }

    #[test]
    fn forced_rebuild_ignores_cache_and_layers() {
        let forced = BuildSettings {
            no_cache: true,
            ..BuildSettings::default()
        };
        let p = plan(&hit(), Some("k"), "k", &forced);
        assert_eq!(
            p,
            Plan::BuildFromSource {
                why: Miss::Forced,
                builder: BuildCommand::Plain,
                no_layer_cache: true
            }
        );
    }

    #[test]
    fn miss_keeps_layer_cache_and_uses_buildx_in_github_actions() {
        let settings = BuildSettings {
            github_actions: true,
            buildx_cache: BuildxCache::parse(None).unwrap(),
            ..BuildSettings::default()
        };
        let p = plan(&Verdict::Miss(Miss::Stale), None, "k", &settings);
        let gha = BuildCommand::Buildx(BuildxCache::Gha {
            scope: "perfspect-tools".into(),
        });
        assert_eq!(
            p,
            Plan::BuildFromSource {
                why: Miss::Stale,
                builder: gha,
                no_layer_cache: false
            }
        );
    }
}
