//! The command line: each variant's doc comment is its help text.

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::layer_cache::LayerCache;
use crate::settings;

/// Release build of perfspect: tools image, builder image, build container, dist/.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Prepare this host: Docker engine, buildx, qemu-user-static, debootstrap, linters and the base image.
    Setup(Setup),
    /// Produce the tools image perfspect-tools:v1, from tools-cache/ when it is valid.
    Tools(Tools),
    /// Build everything and write the release artifacts into dist/.
    Dist(Dist),
    /// Check a release directory (default dist/): checksums, layout, manifest, SBOMs against the bytes, sources.
    Verify(Verify),
    /// Remove tools-cache/.
    CleanToolsCache(CleanToolsCache),
    /// Measure the build's own figures and write target/bench/bench.json.
    Bench(Bench),
}

/// The base image of every stage.
#[derive(Debug, Clone, Args)]
pub struct BaseImage {
    /// Base image of every stage; made locally with debootstrap by `setup` when no registry answers.
    #[arg(long, env = settings::BASE_IMAGE, default_value = crate::docker::DEFAULT_BASE_IMAGE)]
    pub base_image: String,
}

/// What steers the image builds, each flag also read from its variable.
#[derive(Debug, Clone, Default, Args)]
pub struct BuildSettings {
    #[command(flatten)]
    pub base: BaseImage,
    /// Rebuild the tools from source, ignoring tools-cache/ and Docker's layer cache.
    #[arg(long, env = settings::SKIP_TOOLS_CACHE, value_parser = settings::skip_tools_cache,
          num_args = 0..=1, default_value = "0", default_missing_value = "1", action = ArgAction::Set)]
    pub no_cache: bool,
    /// CI restored tools-cache/ (it is still verified; a bad one is reported and rebuilt).
    #[arg(long, env = settings::TOOLS_CACHE_HIT, value_parser = settings::tools_cache_hit,
          num_args = 0..=1, default_value = "0", default_missing_value = "1", action = ArgAction::Set)]
    pub ci_cache_restored: bool,
    /// Running on GitHub Actions: the layer cache defaults to `gha`.
    #[arg(long, env = settings::GITHUB_ACTIONS, value_parser = settings::github_actions,
          num_args = 0..=1, default_value = "0", default_missing_value = "1", action = ArgAction::Set)]
    pub github_actions: bool,
    /// The BuildKit layer cache of a tools-stage miss: `none` (default),
    /// `inline`, `gha[:<scope>]` (default on GitHub Actions), `local:<dir>` or
    /// `registry:<ref>`.
    #[arg(long, env = settings::LAYER_CACHE, value_parser = LayerCache::parse_setting)]
    pub layer_cache: Option<LayerCache>,
    /// Write a `registry:` layer cache from this machine (CI writes it by default).
    #[arg(long, env = settings::WRITE_LAYER_CACHE, value_parser = settings::write_layer_cache,
          num_args = 0..=1, default_value = "0", default_missing_value = "1", action = ArgAction::Set)]
    pub write_layer_cache: bool,
    /// This run is CI's (CI=true, as CI systems set it): it writes a `registry:` layer cache.
    #[arg(long, env = settings::CI, value_parser = settings::ci,
          num_args = 0..=1, default_value = "0", default_missing_value = "1", action = ArgAction::Set)]
    pub ci: bool,
    /// Debian mirror the image builds fetch packages and the pinned sources from.
    #[arg(long, env = settings::DEBIAN_MIRROR, value_parser = settings::debian_mirror,
          default_value = "")]
    pub debian_mirror: String,
}

impl Default for BaseImage {
    fn default() -> BaseImage {
        BaseImage {
            base_image: crate::docker::DEFAULT_BASE_IMAGE.into(),
        }
    }
}

impl BuildSettings {
    /// The layer cache of a tools-stage miss: the one set, else the default.
    pub fn layer_cache(&self) -> LayerCache {
        self.layer_cache
            .clone()
            .unwrap_or_else(|| LayerCache::default_for(self.github_actions))
    }

    /// Whether this machine writes a registry layer cache: CI does; others
    /// only read it, unless asked to write.
    pub fn writes_layer_cache(&self) -> bool {
        self.ci || self.write_layer_cache
    }

    /// The DEBIAN_MIRROR build argument, when a mirror was chosen.
    pub fn mirror_args(&self) -> Vec<(String, String)> {
        (!self.debian_mirror.is_empty())
            .then(|| ("DEBIAN_MIRROR".to_string(), self.debian_mirror.clone()))
            .into_iter()
            .collect()
    }
}

#[derive(Debug, Args)]
pub struct Setup {
    #[command(flatten)]
    pub base: BaseImage,
}

#[derive(Debug, Args)]
pub struct Tools {
    #[command(flatten)]
    pub settings: BuildSettings,
}

#[derive(Debug, Args)]
pub struct Dist {
    #[command(flatten)]
    pub settings: BuildSettings,
    /// Modification time of the archive entries, in seconds (default: HEAD's commit time).
    #[arg(long, env = settings::SOURCE_DATE_EPOCH, value_parser = settings::source_date_epoch,
          default_value = "")]
    pub source_date_epoch: settings::Epoch,
}

#[derive(Debug, Args)]
pub struct Verify {
    /// The release directory to check (default: the checkout's dist/).
    pub dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct CleanToolsCache {}

#[derive(Debug, Args)]
pub struct Bench {
    /// Also measure the cold figures (empty tools cache, fresh clone): several minutes each.
    #[arg(long)]
    pub cold: bool,
    /// Also measure each tool's build alone and after an edit of its recipe
    /// (wall and CPU seconds, one run each: several minutes per tool).
    #[arg(long)]
    pub tools: bool,
    /// Exit non-zero when a figure misses its goal.
    #[arg(long)]
    pub check: bool,
    /// Counted runs of each figure (after one warm-up).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        super::Cli::command().debug_assert();
    }

    /// Every variable the xtask reads is a flag's `env`, so `--help` shows it.
    #[test]
    fn every_setting_is_documented_by_a_flag() {
        let mut documented = Vec::new();
        for sub in super::Cli::command().get_subcommands() {
            for arg in sub.get_arguments() {
                if let Some(env) = arg.get_env() {
                    documented.push(env.to_string_lossy().into_owned());
                }
            }
        }
        for var in crate::settings::ALL {
            if var == crate::settings::PAUSE_AT {
                continue; // a test hook, not a setting
            }
            assert!(documented.iter().any(|d| d == var), "{var} has no flag");
        }
    }

    #[test]
    fn a_bad_setting_is_refused_at_parse_time_naming_it() {
        use clap::Parser;
        let err = super::Cli::try_parse_from(["xtask", "dist", "--source-date-epoch", "soon"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("SOURCE_DATE_EPOCH is `soon`"), "{err}");
        // Every command parses with no flag and no variable set.
        for cmd in [
            "setup",
            "tools",
            "dist",
            "verify",
            "clean-tools-cache",
            "bench",
        ] {
            super::Cli::try_parse_from(["xtask", cmd]).unwrap();
        }
        let cli = super::Cli::try_parse_from(["xtask", "tools", "--no-cache"]).unwrap();
        let super::Command::Tools(tools) = cli.command else {
            panic!()
        };
        assert!(tools.settings.no_cache);
    }

    #[test]
    fn subcommands_are_kebab_case() {
        let names: Vec<String> = super::Cli::command()
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "setup",
                "tools",
                "dist",
                "verify",
                "clean-tools-cache",
                "bench"
            ]
        );
    }
}
