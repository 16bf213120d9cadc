//! Stage 3, builder: the build environment with the tools copied in, named
//! by its inputs and tagged `perfspect-builder:v1` for people. Reused as is
//! when its inputs have not changed.

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use xshell::Shell;

use crate::docker::{
    self, BUILDER_IMAGE, BUILDER_KEY_LABEL, BUILDER_REPO, BuildCommand, ImageBuild,
};
use crate::flags::BuildSettings;
use crate::preflight;
use crate::tools::ToolsImage;
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

/// Makes sure a builder image for this Dockerfile, base image and tools
/// image exists, tags it perfspect-builder:v1 too, and returns its id: the
/// build container runs that id, never a name another run could move.
pub fn ensure(
    sh: &Shell,
    settings: &BuildSettings,
    tools: &ToolsImage,
) -> Result<(String, String)> {
    let base_image = &settings.base.base_image;
    let dockerfile = crate::project_root().join("builder/build.Dockerfile");
    let text = std::fs::read(&dockerfile).context("reading builder/build.Dockerfile")?;
    let base_id = docker::image_id(sh, base_image)
        .with_context(|| format!("the base image {base_image} is gone"))?;
    let key = key(&text, &base_id, &tools.id);
    let tag = docker::content_tag(BUILDER_REPO, &key);
    if let Some((id, Some(label))) = docker::image_id_and_label(sh, &tag, BUILDER_KEY_LABEL)
        && label == key
    {
        docker::tag(sh, &id, BUILDER_IMAGE)?;
        return Ok((id, format!("{BUILDER_IMAGE} is up to date")));
    }
    preflight::docker_space(
        sh,
        preflight::MIN_FREE_DOCKER_BUILDER,
        " to build the builder image",
    )?;
    let id = docker::build_image(
        sh,
        &image_build(base_image, &tools.tag, &key, &settings.mirror_args()),
    )?;
    docker::tag(sh, &id, BUILDER_IMAGE)?;
    Ok((id, format!("{BUILDER_IMAGE} built")))
}

/// The `docker build` of the builder image, FROM the tools image's content tag.
pub fn image_build(
    base_image: &str,
    tools_tag: &str,
    key: &str,
    mirror_args: &[(String, String)],
) -> ImageBuild {
    let root = crate::project_root();
    let mut build_args = vec![
        ("BASE_IMAGE".into(), base_image.into()),
        ("TOOLS_IMAGE".into(), tools_tag.into()),
    ];
    build_args.extend(mirror_args.iter().cloned());
    ImageBuild {
        builder: BuildCommand::Plain,
        dockerfile: root.join("builder/build.Dockerfile"),
        context: root.join("builder"),
        tag: docker::content_tag(BUILDER_REPO, key),
        build_args,
        labels: vec![(BUILDER_KEY_LABEL.into(), key.into())],
        no_cache: false,
        iidfile: docker::iidfile("builder"),
        cache_scope: Default::default(),
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
    fn builder_uses_the_tools_content_tag_with_plain_docker_build() {
        let key = "0123456789abcdef0123456789abcdef";
        let args = image_build("debian:bookworm", "perfspect-tools:feed", key, &[])
            .args()
            .join(" ");
        assert!(
            args.starts_with("build --builder=default --progress=plain "),
            "{args}"
        );
        assert!(
            args.contains("--build-arg TOOLS_IMAGE=perfspect-tools:feed"),
            "{args}"
        );
        assert!(
            args.contains(&format!("--label org.perfspect.builder.key={key}")),
            "{args}"
        );
        // Named by its key, never by the name other runs move.
        assert!(
            args.contains("--tag perfspect-builder:0123456789abcdef01234567 "),
            "{args}"
        );
        assert!(!args.contains(":v1"), "{args}");
    }
}
