//! The command line: each variant's doc comment is its help text.

use clap::{Args, Parser, Subcommand};

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
    /// Remove tools-cache/.
    CleanToolsCache(CleanToolsCache),
    /// Measure the build's own figures and write target/bench/bench.json.
    Bench(Bench),
}

/// Options every stage that touches Docker shares.
#[derive(Debug, Clone, Args)]
pub struct Base {
    /// Base image of every stage; made locally with debootstrap by `setup` when no registry answers.
    #[arg(long, env = "PERFSPECT_BASE_IMAGE", default_value = crate::docker::DEFAULT_BASE_IMAGE)]
    pub base_image: String,
}

#[derive(Debug, Args)]
pub struct Setup {
    #[command(flatten)]
    pub base: Base,
}

#[derive(Debug, Args)]
pub struct Tools {
    /// Rebuild the tools from source, ignoring tools-cache/ and Docker's layer cache (same as SKIP_TOOLS_CACHE=1).
    #[arg(long)]
    pub no_cache: bool,
    #[command(flatten)]
    pub base: Base,
}

#[derive(Debug, Args)]
pub struct Dist {
    /// Rebuild the tools from source, ignoring tools-cache/ and Docker's layer cache (same as SKIP_TOOLS_CACHE=1).
    #[arg(long)]
    pub no_cache: bool,
    #[command(flatten)]
    pub base: Base,
}

#[derive(Debug, Args)]
pub struct CleanToolsCache {}

#[derive(Debug, Args)]
pub struct Bench {
    /// Also measure the cold figures (empty tools cache, fresh clone): several minutes each.
    #[arg(long)]
    pub cold: bool,
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

    #[test]
    fn subcommands_are_kebab_case() {
        let names: Vec<String> = super::Cli::command()
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .collect();
        assert_eq!(
            names,
            ["setup", "tools", "dist", "clean-tools-cache", "bench"]
        );
    }
}
