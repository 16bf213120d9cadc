//! Stage 1, the tools image `perfspect-tools:v1`: reused, made from a valid
//! tools-cache/ in seconds, or built from source (then extracted into the cache).

use std::fs;

use anyhow::{Context, Result, bail};
use xshell::Shell;

use crate::docker::{self, Builder, BuildxCache, ImageBuild, TOOLS_IMAGE, TOOLS_KEY_LABEL};
use crate::staging::Staging;
use crate::tools_cache::{self, Manifest, Miss, Pins, Verdict};
use crate::{flags, lock, preflight, stage};

impl flags::Tools {
    pub fn run(self, sh: &Shell) -> Result<()> {
        let _lock = lock::acquire(sh)?;
        preflight::check(sh, &self.base.base_image)?;
        let env = Env::from_process()?;
        stage::run("tools", || {
            ensure(sh, &self.base.base_image, self.no_cache, &env)
        })?;
        Ok(())
    }
}

/// The environment variables that steer this stage, parsed strictly.
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// SKIP_TOOLS_CACHE: rebuild from source, like --no-cache.
    pub skip_cache: bool,
    /// TOOLS_CACHE_HIT: CI restored tools-cache/ (still verified).
    pub ci_restored: bool,
    /// GITHUB_ACTIONS: build with buildx and a layer cache.
    pub github_actions: bool,
    /// PERFSPECT_BUILDX_CACHE: which layer cache buildx uses.
    pub buildx_cache: Option<String>,
    /// PERFSPECT_DEBIAN_MIRROR: the Debian mirror the image builds fetch from
    /// (packages and the pinned sources), instead of the Dockerfiles' default.
    pub debian_mirror: Option<String>,
}

impl Env {
    pub fn from_process() -> Result<Env> {
        let var = |name: &str| std::env::var(name).ok();
        Ok(Env {
            skip_cache: switch("SKIP_TOOLS_CACHE", var("SKIP_TOOLS_CACHE").as_deref())?,
            ci_restored: switch("TOOLS_CACHE_HIT", var("TOOLS_CACHE_HIT").as_deref())?,
            github_actions: switch("GITHUB_ACTIONS", var("GITHUB_ACTIONS").as_deref())?,
            buildx_cache: var("PERFSPECT_BUILDX_CACHE"),
            debian_mirror: mirror(var("PERFSPECT_DEBIAN_MIRROR").as_deref())?,
        })
    }

    /// The DEBIAN_MIRROR build argument, when a mirror was chosen.
    pub fn mirror_args(&self) -> Vec<(String, String)> {
        self.debian_mirror
            .iter()
            .map(|m| ("DEBIAN_MIRROR".to_string(), m.clone()))
            .collect()
    }
}

/// Reads PERFSPECT_DEBIAN_MIRROR: unset or empty is the default mirror; a
/// value must be an http(s) URL, as apt's sources.list takes it.
pub fn mirror(value: Option<&str>) -> Result<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(url)
            if (url.starts_with("http://") || url.starts_with("https://"))
                && !url.contains(char::is_whitespace) =>
        {
            Ok(Some(url.trim_end_matches('/').to_string()))
        }
        Some(other) => bail!(
            "PERFSPECT_DEBIAN_MIRROR has unexpected value `{other}`: use a mirror URL such as http://deb.debian.org/debian (or unset it)"
        ),
    }
}

/// Reads an on/off environment variable: unset, empty, `0`, `false` or `no` is
/// off; `1`, `true` or `yes` is on; anything else is an error, not a guess.
pub fn switch(name: &str, value: Option<&str>) -> Result<bool> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("" | "0" | "false" | "no") => Ok(false),
        Some("1" | "true" | "yes") => Ok(true),
        Some(other) => bail!(
            "{name} has unexpected value `{other}`: use 1/true/yes or 0/false/no (or unset it)"
        ),
    }
}

/// What the stage will do, decided before anything runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// perfspect-tools:v1 already exists for this key and the cache is valid.
    ReuseImage,
    /// The cache is valid: make the image from it (a `FROM scratch` copy).
    ImageFromCache,
    /// Compile from source, then refresh tools-cache/.
    BuildFromSource {
        why: Miss,
        builder: Builder,
        no_layer_cache: bool,
    },
}

pub fn plan(
    verdict: &Verdict,
    image_key: Option<&str>,
    key: &str,
    forced: bool,
    env: &Env,
) -> Result<Plan> {
    let builder = if env.github_actions {
        Builder::Buildx(BuildxCache::parse(env.buildx_cache.as_deref())?)
    } else {
        Builder::Plain
    };
    Ok(match verdict {
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
    })
}

/// Makes sure perfspect-tools:v1 and tools-cache/ are valid for the current
/// tools/, and returns the cache manifest. Returns the outcome for the log too.
pub fn ensure(
    sh: &Shell,
    base_image: &str,
    no_cache: bool,
    env: &Env,
) -> Result<(Manifest, String)> {
    let tree = tools_cache::read_tree(&crate::tools_dir()).context("reading tools/")?;
    let key = tools_cache::key(&tree);
    let pins = pins(&tree)?;
    let forced = no_cache || env.skip_cache;
    let cache_dir = crate::tools_cache_dir();
    let verdict = if forced {
        Verdict::Miss(Miss::Forced)
    } else {
        tools_cache::verdict(&tools_cache::observe(&cache_dir)?, &key)
    };
    if let (true, Verdict::Miss(why)) = (env.ci_restored, &verdict) {
        eprintln!("warning: TOOLS_CACHE_HIT=true but the restored cache is not usable: {why}");
    }
    let image_key = docker::image_label(sh, TOOLS_IMAGE, TOOLS_KEY_LABEL);
    let plan = plan(&verdict, image_key.as_deref(), &key, forced, env)?;
    let label = vec![(TOOLS_KEY_LABEL.to_string(), key.clone())];
    match (plan, verdict) {
        (Plan::ReuseImage, Verdict::Hit(manifest)) => Ok((
            manifest,
            format!("cache hit: {TOOLS_IMAGE} is already built from it"),
        )),
        (Plan::ImageFromCache, Verdict::Hit(manifest)) => {
            docker::build_image(
                sh,
                &ImageBuild {
                    builder: Builder::Plain,
                    dockerfile: crate::tools_dir().join("cache.Dockerfile"),
                    context: cache_dir,
                    tag: TOOLS_IMAGE.into(),
                    build_args: vec![],
                    labels: label,
                    no_cache: false,
                },
            )?;
            Ok((
                manifest,
                format!("cache hit: {TOOLS_IMAGE} made from tools-cache/"),
            ))
        }
        (
            Plan::BuildFromSource {
                why,
                builder,
                no_layer_cache,
            },
            _,
        ) => {
            eprintln!("tools cache miss: {why}; building the tools from source");
            let mut build_args = vec![("BASE_IMAGE".to_string(), base_image.to_string())];
            build_args.extend(pins.iter().cloned());
            build_args.extend(env.mirror_args());
            docker::build_image(
                sh,
                &ImageBuild {
                    builder,
                    dockerfile: crate::tools_dir().join("build.Dockerfile"),
                    context: crate::tools_dir(),
                    tag: TOOLS_IMAGE.into(),
                    build_args,
                    labels: label,
                    no_cache: no_layer_cache,
                },
            )?;
            let manifest = refresh_cache(sh, &key, &pins)?;
            Ok((
                manifest,
                format!("built from source ({why}); tools-cache/ refreshed"),
            ))
        }
        (plan, verdict) => unreachable!("plan {plan:?} does not follow from {verdict:?}"),
    }
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
fn refresh_cache(sh: &Shell, key: &str, pins: &Pins) -> Result<Manifest> {
    let staging = Staging::fresh("tools-cache")?;
    let dir = staging.path();
    let name = format!(
        "perfspect-extract-{}-{}",
        crate::checkout_id(),
        std::process::id()
    );
    let paths = ["/bin", "/oss_source.tgz", "/oss_source.tgz.md5"];
    docker::copy_from_image(sh, TOOLS_IMAGE, &name, &crate::checkout_id(), &paths, dir)?;

    let md5_recorded =
        fs::read_to_string(dir.join("oss_source.tgz.md5")).context("reading oss_source.tgz.md5")?;
    let md5_actual =
        crate::package::md5_line(&fs::read(dir.join("oss_source.tgz"))?, "oss_source.tgz");
    if md5_recorded != md5_actual {
        bail!(
            "oss_source.tgz from {TOOLS_IMAGE} does not match its .md5 file: rebuild with `cargo tools --no-cache`"
        );
    }
    let files = tools_cache::hash_files(dir, &tools_cache::REQUIRED_FILES.map(String::from))
        .with_context(|| format!("{TOOLS_IMAGE} lacks a file the cache needs"))?;
    let manifest = Manifest {
        key: key.to_string(),
        files,
        versions: pins.iter().cloned().collect(),
    };
    fs::write(dir.join(tools_cache::MANIFEST), manifest.render())?;
    if let Verdict::Miss(why) = tools_cache::verdict(&tools_cache::observe(dir)?, key) {
        bail!("the tools extracted from {TOOLS_IMAGE} do not form a valid cache: {why}");
    }
    staging.replace(&crate::tools_cache_dir())?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

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
            plan(&hit(), Some("k"), "k", false, &Env::default()).unwrap(),
            Plan::ReuseImage
        );
    }

    #[test]
    fn valid_cache_without_matching_image_makes_it() {
        assert_eq!(
            plan(&hit(), Some("old"), "k", false, &Env::default()).unwrap(),
            Plan::ImageFromCache
        );
        assert_eq!(
            plan(&hit(), None, "k", false, &Env::default()).unwrap(),
            Plan::ImageFromCache
        );
    }

    #[test]
    fn forced_rebuild_ignores_cache_and_layers() {
        let p = plan(&hit(), Some("k"), "k", true, &Env::default()).unwrap();
        assert_eq!(
            p,
            Plan::BuildFromSource {
                why: Miss::Forced,
                builder: Builder::Plain,
                no_layer_cache: true
            }
        );
    }

    #[test]
    fn miss_keeps_layer_cache_and_uses_buildx_in_github_actions() {
        let env = Env {
            github_actions: true,
            ..Env::default()
        };
        let p = plan(&Verdict::Miss(Miss::Stale), None, "k", false, &env).unwrap();
        let gha = Builder::Buildx(BuildxCache::Gha {
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

    #[test]
    fn mirror_is_a_url_or_the_default() {
        assert_eq!(mirror(None).unwrap(), None);
        assert_eq!(mirror(Some(" ")).unwrap(), None);
        assert_eq!(
            mirror(Some("http://m.example/debian/")).unwrap().as_deref(),
            Some("http://m.example/debian")
        );
        let err = mirror(Some("ftp.debian.org")).unwrap_err().to_string();
        assert!(err.contains("PERFSPECT_DEBIAN_MIRROR"), "{err}");
    }

    #[test]
    fn switches_are_strict() {
        assert!(!switch("X", None).unwrap());
        assert!(!switch("X", Some("0")).unwrap());
        assert!(switch("X", Some("1")).unwrap());
        assert!(switch("X", Some("TRUE")).unwrap());
        let err = switch("SKIP_TOOLS_CACHE", Some("maybe"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("SKIP_TOOLS_CACHE") && err.contains("maybe"),
            "{err}"
        );
    }
}
