//! `cargo dist`: tools, builder, build, check, package and verify, into a
//! complete dist/.

use std::fs;

use anyhow::{Context, Result};
use xshell::Shell;

use crate::package::{self, Docs};
use crate::staging::Staging;
use crate::{
    build, builder, embedded, flags, git, lock, preflight, sbom, stage, toolbox, tools, verify,
};

impl flags::Dist {
    pub fn run(self, sh: &Shell) -> Result<()> {
        // Everything that can be refused is checked before the first stage.
        let version = git::read_version()?;
        let commit = git::head(sh)?;
        let _lock = lock::acquire(sh)?;
        let settings = &self.settings;
        preflight::check(sh, &settings.base.base_image)?;
        let version_string = git::version_string(&version, &commit);
        if commit.dirty {
            eprintln!(
                "warning: the working tree has uncommitted changes: this build is stamped {version_string}"
            );
        }

        let (manifest, tools_image) = stage::run("tools", || tools::ensure(sh, settings))?;
        let builder_id = stage::run("builder", || builder::ensure(sh, settings, &tools_image))?;
        let binaries = stage::run("build", || {
            build::run(
                sh,
                &builder_id,
                &tools_image.tag,
                &toolbox::packages(&manifest.versions)?,
                &version_string,
                commit.epoch,
            )
        })?;
        stage::run("check", || embedded::check(sh, &binaries, &manifest))?;
        let mtime = self.source_date_epoch.0.unwrap_or(commit.epoch);
        let out = stage::run("package", || {
            let cache = crate::tools_cache_dir();
            let described = sbom::describe(sh, &manifest, &binaries, &version_string, mtime)?;
            let root = crate::project_root();
            let docs = Docs {
                license: fs::read(root.join("LICENSE")).context("reading LICENSE")?,
                notice: fs::read(root.join("NOTICE")).context("reading NOTICE")?,
                third_party: package::third_party_programs(&described.tools)?.into_bytes(),
            };
            let out = Staging::fresh("dist")?;
            let oss = cache.join("oss_source.tgz");
            let oss_sha256 = manifest
                .files
                .get("oss_source.tgz")
                .context("tools-cache/manifest.json has no oss_source.tgz")?;
            package::write_all(
                out.path(),
                described.releases,
                &docs,
                &version,
                &commit,
                mtime,
                (&oss, oss_sha256),
            )?;
            Ok((
                out,
                format!("artifacts and SBOMs written ({})", described.counts),
            ))
        })?;
        stage::run("verify", || {
            let summary = verify::verify(out.path())?;
            out.replace(&crate::dist_dir())?;
            Ok((
                (),
                format!("{summary}; dist/ holds release {version_string}"),
            ))
        })
    }
}
