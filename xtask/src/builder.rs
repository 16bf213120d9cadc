//! Stage 2, the builder image `perfspect-builder:v1`: the build environment
//! with the tools copied in. Reused as is when its inputs have not changed.

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use xshell::Shell;

use crate::docker::{self, BUILDER_IMAGE, BUILDER_KEY_LABEL, Builder, ImageBuild, TOOLS_IMAGE};
use crate::tools_cache::hex;

/// The builder's inputs, hashed: its Dockerfile and the exact base and tools images.
pub fn key(dockerfile: &[u8], base_image_id: &str, tools_image_id: &str) -> String {
    let mut h = Sha256::new();
    for part in [
        dockerfile,
        base_image_id.as_bytes(),
        tools_image_id.as_bytes(),
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    hex(&h.finalize())
}

pub fn ensure(
    sh: &Shell,
    base_image: &str,
    mirror_args: &[(String, String)],
) -> Result<((), String)> {
    let dockerfile = crate::project_root().join("builder/build.Dockerfile");
    let text = std::fs::read(&dockerfile).context("reading builder/build.Dockerfile")?;
    let base_id = docker::image_id(sh, base_image)
        .with_context(|| format!("the base image {base_image} is gone"))?;
    let tools_id = docker::image_id(sh, TOOLS_IMAGE)
        .context("the tools image is missing after the tools stage")?;
    let key = key(&text, &base_id, &tools_id);
    if docker::image_label(sh, BUILDER_IMAGE, BUILDER_KEY_LABEL).as_deref() == Some(key.as_str()) {
        return Ok(((), format!("{BUILDER_IMAGE} is up to date")));
    }
    docker::build_image(sh, &plan(base_image, &key, mirror_args))?;
    Ok(((), format!("{BUILDER_IMAGE} built")))
}

pub fn plan(base_image: &str, key: &str, mirror_args: &[(String, String)]) -> ImageBuild {
    let root = crate::project_root();
    let mut build_args = vec![
        ("BASE_IMAGE".into(), base_image.into()),
        ("TOOLS_IMAGE".into(), TOOLS_IMAGE.into()),
    ];
    build_args.extend(mirror_args.iter().cloned());
    ImageBuild {
        builder: Builder::Plain,
        dockerfile: root.join("builder/build.Dockerfile"),
        context: root.join("builder"),
        tag: BUILDER_IMAGE.into(),
        build_args,
        labels: vec![(BUILDER_KEY_LABEL.into(), key.into())],
        no_cache: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_changes_with_each_input() {
        let k = key(b"FROM x", "sha256:a", "sha256:b");
        assert_ne!(k, key(b"FROM y", "sha256:a", "sha256:b"));
        assert_ne!(k, key(b"FROM x", "sha256:c", "sha256:b"));
        assert_ne!(k, key(b"FROM x", "sha256:a", "sha256:c"));
        assert_eq!(k, key(b"FROM x", "sha256:a", "sha256:b"));
    }

    #[test]
    fn builder_uses_the_local_tools_image_with_plain_docker_build() {
        let args = plan("debian:bookworm", "k", &[]).args().join(" ");
        assert!(
            args.starts_with("build --builder=default --progress=plain "),
            "{args}"
        );
        assert!(
            args.contains("--build-arg TOOLS_IMAGE=perfspect-tools:v1"),
            "{args}"
        );
        assert!(
            args.contains("--label org.perfspect.builder.key=k"),
            "{args}"
        );
    }
}
