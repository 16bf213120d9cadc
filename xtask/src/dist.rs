//! `cargo dist`: tools, builder, build and package, into a complete dist/.

use std::fs;

use anyhow::{Context, Result};
use xshell::Shell;

use crate::package::{self, Docs};
use crate::staging::Staging;
use crate::{build, builder, flags, git, lock, preflight, stage, tools};

impl flags::Dist {
    pub fn run(self, sh: &Shell) -> Result<()> {
        // Everything that can be refused is checked before the first stage.
        let version = git::read_version()?;
        let commit = git::head(sh)?;
        let tools_env = tools::Env::from_process()?;
        package::source_date_epoch()?;
        let _lock = lock::acquire(sh)?;
        preflight::check(sh, &self.base.base_image)?;
        let version_string = git::version_string(&version, &commit);
        if commit.dirty {
            eprintln!(
                "warning: the working tree has uncommitted changes: this build is stamped {version_string}"
            );
        }

        let base = &self.base.base_image;
        let manifest = stage::run("tools", || {
            tools::ensure(sh, base, self.no_cache, &tools_env)
        })?;
        stage::run("builder", || {
            builder::ensure(sh, base, &tools_env.mirror_args())
        })?;
        let binaries = stage::run("build", || build::run(sh, &version_string, commit.epoch))?;
        stage::run("package", || {
            let root = crate::project_root();
            let docs = Docs {
                license: fs::read(root.join("LICENSE")).context("reading LICENSE")?,
                notice: fs::read(root.join("NOTICE")).context("reading NOTICE")?,
                third_party: package::third_party_programs(&manifest.versions).into_bytes(),
            };
            let out = Staging::fresh("dist")?;
            let oss = crate::tools_cache_dir().join("oss_source.tgz");
            package::write_all(out.path(), &binaries, &docs, &version, &commit, &oss)?;
            out.replace(&crate::dist_dir())?;
            Ok(((), format!("dist/ holds release {version_string}")))
        })
    }
}
