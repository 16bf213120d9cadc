//! What the tools build runs, decided from tools/ without Docker: each tool's
//! and each source package's cache key, and the one Dockerfile that builds
//! the tools that miss in one BuildKit run (its independent stages side by
//! side): tools/env.Dockerfile, the recipes of those tools and of their
//! source packages, then a stage gathering their link maps, the links stage
//! (tools/links.Dockerfile) and a last stage holding only the outputs.

use std::collections::BTreeSet;

use anyhow::{Context, Result};

use crate::toolbox::{self, ARCHES, LinkedFile, SOURCES, Source, TOOLS, Tool};
use crate::tools_cache::{self, Expected, Pins, Unit};

pub const ENV: &str = "env.Dockerfile";
pub const LINKS: &str = "links.Dockerfile";
pub const LIBRARIES: &str = "libraries.Dockerfile";

/// The files under tools/, read once: relative path and content.
pub struct Recipes {
    files: Vec<(String, Vec<u8>)>,
    pub pins: Pins,
    /// The base image every stage starts from: part of every key.
    pub base_image: String,
}

impl Recipes {
    pub fn new(files: Vec<(String, Vec<u8>)>, base_image: &str) -> Result<Recipes> {
        let text = files
            .iter()
            .find(|(p, _)| p == "versions.env")
            .map(|(_, t)| t.as_slice())
            .context("tools/versions.env is missing: it pins the tool source versions")?;
        let pins = tools_cache::parse_pins(
            std::str::from_utf8(text).context("tools/versions.env is not UTF-8")?,
        )?;
        let recipes = Recipes {
            files,
            pins,
            base_image: base_image.to_string(),
        };
        for source in SOURCES {
            recipes.pin(&source)?;
            recipes.file(source.recipe)?;
        }
        for tool in &TOOLS {
            recipes.file(&tool.recipe())?;
        }
        for shared in [ENV, LINKS, LIBRARIES] {
            recipes.file(shared)?;
        }
        Ok(recipes)
    }

    pub fn file(&self, name: &str) -> Result<&[u8]> {
        self.files
            .iter()
            .find(|(p, _)| p == name)
            .map(|(_, c)| c.as_slice())
            .with_context(|| format!("tools/{name} is missing: every tool and source package in xtask/src/toolbox.rs has its recipe there"))
    }

    fn text(&self, name: &str) -> Result<&str> {
        std::str::from_utf8(self.file(name)?).with_context(|| format!("tools/{name} is not UTF-8"))
    }

    pub fn pin(&self, source: &Source) -> Result<&str> {
        self.pins
            .iter()
            .find(|(k, _)| k == source.pin)
            .map(|(_, v)| v.as_str())
            .with_context(|| {
                format!(
                    "tools/versions.env has no {}: it pins the {} source package",
                    source.pin, source.name
                )
            })
    }

    /// A tool's key: its recipe, its source package's recipe and pin, the
    /// shared build environment (env and links stages) and the base image.
    pub fn tool_key(&self, tool: &Tool) -> Result<String> {
        let pin = format!("{}={}", tool.source.pin, self.pin(tool.source)?);
        Ok(tools_cache::key(&[
            ("tool", tool.name.as_bytes()),
            ("base", self.base_image.as_bytes()),
            ("pin", pin.as_bytes()),
            (ENV, self.file(ENV)?),
            (LINKS, self.file(LINKS)?),
            (tool.source.recipe, self.file(tool.source.recipe)?),
            ("recipe", self.file(&tool.recipe())?),
        ]))
    }

    /// A source package's key: what fetches it (its recipe, pin, the
    /// environment, the base image).
    pub fn source_key(&self, source: &Source) -> Result<String> {
        let pin = format!("{}={}", source.pin, self.pin(source)?);
        Ok(tools_cache::key(&[
            ("source", source.name.as_bytes()),
            ("base", self.base_image.as_bytes()),
            ("pin", pin.as_bytes()),
            (ENV, self.file(ENV)?),
            ("recipe", self.file(source.recipe)?),
        ]))
    }

    /// The libraries' key: the list of what the links used, the recipe that
    /// fetches them, the environment and the base image.
    pub fn libraries_key(&self, list: &str) -> Result<String> {
        Ok(tools_cache::key(&[
            ("libraries", list.as_bytes()),
            ("base", self.base_image.as_bytes()),
            (ENV, self.file(ENV)?),
            (LIBRARIES, self.file(LIBRARIES)?),
        ]))
    }

    /// What the cache must hold for these recipes.
    pub fn expected(&self) -> Result<Expected> {
        Ok(Expected {
            tools: TOOLS
                .iter()
                .map(|tool| {
                    let unit = Unit {
                        key: self.tool_key(tool)?,
                        paths: cache_files(tool),
                    };
                    Ok((tool.name.to_string(), unit))
                })
                .collect::<Result<_>>()?,
            sources: SOURCES
                .iter()
                .map(|s| Ok((s.name.to_string(), self.source_key(s)?)))
                .collect::<Result<_>>()?,
        })
    }

    /// The Dockerfile building `tools` and fetching `sources`, in one run.
    /// Its last stage holds `/bin/<arch>/<file>` and `/linked/<arch>/<tool>.tsv`
    /// of each tool, and `/oss/<source>/` of each source package.
    pub fn dockerfile(
        &self,
        tools: &[&'static Tool],
        sources: &[&'static Source],
    ) -> Result<String> {
        let mut text = String::new();
        let mut included = BTreeSet::new();
        let mut include = |name: &str, text: &mut String| -> Result<()> {
            if included.insert(name.to_string()) {
                *text += &format!("\n# ---- tools/{name} ----\n");
                *text += self.text(name)?;
            }
            Ok(())
        };
        include(ENV, &mut text)?;
        for source in sources {
            include(source.recipe, &mut text)?;
        }
        for tool in tools {
            include(tool.source.recipe, &mut text)?;
            include(&tool.recipe(), &mut text)?;
        }
        let stages = |tool: &'static Tool| {
            ARCHES
                .iter()
                .filter(move |a| tool.builds_for(a))
                .map(move |arch| (tool, *arch, format!("{}-{arch}", tool.name)))
        };
        let built: Vec<_> = tools.iter().flat_map(|t| stages(t)).collect();
        let mut last = String::from("\n# ---- the outputs ----\n");
        if !built.is_empty() {
            text += "\n# ---- the link maps of the tools built ----\nFROM scratch AS maps\n";
            for (tool, arch, stage) in &built {
                text += &format!(
                    "COPY --from={stage} /out/{0}.ldmap /{arch}/{0}.ldmap\n",
                    tool.name
                );
            }
            include(LINKS, &mut text)?;
        }
        last += "FROM scratch\n";
        for (tool, arch, stage) in &built {
            for file in tool.files() {
                last += &format!("COPY --from={stage} /out/{file} /bin/{arch}/{file}\n");
            }
        }
        if !built.is_empty() {
            last += "COPY --from=links /linked/ /linked/\n";
        }
        for source in sources {
            last += &format!("COPY --from={0}-source /oss/ /oss/{0}/\n", source.name);
        }
        text += &last;
        Ok(text)
    }

    /// The Dockerfile fetching the libraries' sources (the list passed as
    /// the build argument LIBRARIES); its last stage holds `/oss/libraries/`.
    pub fn libraries_dockerfile(&self) -> Result<String> {
        Ok(format!(
            "\n# ---- tools/{ENV} ----\n{}\n# ---- tools/{LIBRARIES} ----\n{}\n# ---- the outputs ----\nFROM scratch\nCOPY --from=libraries /oss/ /oss/libraries/\n",
            self.text(ENV)?,
            self.text(LIBRARIES)?
        ))
    }

    /// The build arguments: the base image and every pin.
    pub fn build_args(&self) -> Vec<(String, String)> {
        let mut args = vec![("BASE_IMAGE".to_string(), self.base_image.clone())];
        args.extend(self.pins.iter().cloned());
        args
    }
}

/// A tool's files in tools-cache/: each architecture's binary and data
/// files, and what each link used.
pub fn cache_files(tool: &Tool) -> Vec<String> {
    let mut paths = Vec::new();
    for arch in ARCHES.iter().filter(|a| tool.builds_for(a)) {
        for file in tool.files() {
            paths.push(format!("bin/{arch}/{file}"));
        }
        paths.push(toolbox::linked_path(arch, tool.name));
    }
    paths.sort();
    paths
}

/// The libraries whose sources oss_source.tgz must hold, from every tool's
/// link lists: one `binary-package source version` line per source package
/// and version (the first binary package by name gives the licence text),
/// sorted; the tools' own source packages are already there.
pub fn library_list(linked: &[LinkedFile]) -> String {
    let mut seen = BTreeSet::new();
    let mut sorted: Vec<&LinkedFile> = linked.iter().collect();
    sorted.sort_by(|a, b| {
        (&a.source, &a.source_version, &a.binary_package).cmp(&(
            &b.source,
            &b.source_version,
            &b.binary_package,
        ))
    });
    let mut list = String::new();
    for f in sorted {
        if SOURCES.iter().any(|s| s.name == f.source) {
            continue;
        }
        if seen.insert((&f.source, &f.source_version)) {
            list += &format!("{} {} {}\n", f.binary_package, f.source, f.source_version);
        }
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipes() -> Recipes {
        let mut files: Vec<(String, Vec<u8>)> = vec![
            (
                "versions.env".into(),
                SOURCES
                    .iter()
                    .map(|s| format!("{}=1.0-1\n", s.pin))
                    .collect::<String>()
                    .into_bytes(),
            ),
            (ENV.into(), b"FROM base AS env\n".to_vec()),
            (LINKS.into(), b"FROM env AS links\n".to_vec()),
            (LIBRARIES.into(), b"FROM env AS libraries\n".to_vec()),
        ];
        for s in SOURCES {
            files.push((
                s.recipe.into(),
                format!("FROM env AS {}-source\n", s.name).into_bytes(),
            ));
        }
        for t in &TOOLS {
            if files.iter().all(|(p, _)| *p != t.recipe()) {
                files.push((t.recipe(), format!("# {}\n", t.name).into_bytes()));
            }
        }
        Recipes::new(files, "debian:bookworm").unwrap()
    }

    fn edit(r: &Recipes, name: &str) -> Recipes {
        let files = r
            .files
            .iter()
            .map(|(p, c)| {
                let mut c = c.clone();
                if p == name {
                    c.extend_from_slice(b"# edited\n");
                }
                (p.clone(), c)
            })
            .collect();
        Recipes::new(files, &r.base_image).unwrap()
    }

    fn keys(r: &Recipes) -> Vec<String> {
        TOOLS.iter().map(|t| r.tool_key(t).unwrap()).collect()
    }

    fn changed(a: &Recipes, b: &Recipes) -> Vec<&'static str> {
        TOOLS
            .iter()
            .zip(keys(a).into_iter().zip(keys(b)))
            .filter(|(_, (x, y))| x != y)
            .map(|(t, _)| t.name)
            .collect()
    }

    #[test]
    fn a_tool_recipe_edit_changes_that_tool_only() {
        let r = recipes();
        assert_eq!(changed(&r, &edit(&r, "ethtool.Dockerfile")), ["ethtool"]);
        assert_eq!(
            changed(&r, &edit(&r, "turbostat.Dockerfile")),
            ["turbostat"]
        );
    }

    #[test]
    fn a_source_recipe_or_pin_changes_the_tools_built_from_it() {
        let r = recipes();
        assert_eq!(
            changed(&r, &edit(&r, "linux.Dockerfile")),
            ["perf", "turbostat", "intel-speed-select"]
        );
        let mut files = r.files.clone();
        files[0].1 = String::from_utf8(files[0].1.clone())
            .unwrap()
            .replace("FIO_VERSION=1.0-1", "FIO_VERSION=1.0-2")
            .into_bytes();
        let repinned = Recipes::new(files, &r.base_image).unwrap();
        assert_eq!(changed(&r, &repinned), ["fio"]);
        assert_ne!(
            r.source_key(&SOURCES[1]).unwrap(),
            repinned.source_key(&SOURCES[1]).unwrap()
        );
        assert_eq!(
            r.source_key(&SOURCES[0]).unwrap(),
            repinned.source_key(&SOURCES[0]).unwrap()
        );
    }

    #[test]
    fn the_shared_environment_or_base_image_changes_every_tool() {
        let r = recipes();
        assert_eq!(changed(&r, &edit(&r, ENV)).len(), TOOLS.len());
        assert_eq!(changed(&r, &edit(&r, LINKS)).len(), TOOLS.len());
        let other_base = Recipes::new(r.files.clone(), "perfspect-base:other").unwrap();
        assert_eq!(changed(&r, &other_base).len(), TOOLS.len());
        // The libraries' recipe is not part of any tool.
        assert!(changed(&r, &edit(&r, LIBRARIES)).is_empty());
    }

    #[test]
    fn the_dockerfile_builds_only_what_missed_and_gathers_its_outputs() {
        let r = recipes();
        let lspci = toolbox::tool("lspci").unwrap();
        let turbostat = toolbox::tool("turbostat").unwrap();
        let text = r.dockerfile(&[lspci, turbostat], &[&SOURCES[2]]).unwrap();
        assert!(text.contains("# ---- tools/linux.Dockerfile ----"));
        assert_eq!(
            text.matches("# ---- tools/lspci.Dockerfile ----").count(),
            1
        );
        assert!(!text.contains("fio.Dockerfile"));
        for line in [
            "COPY --from=lspci-x86_64 /out/lspci /bin/x86_64/lspci\n",
            "COPY --from=lspci-aarch64 /out/pci.ids /bin/aarch64/pci.ids\n",
            "COPY --from=turbostat-x86_64 /out/turbostat.ldmap /x86_64/turbostat.ldmap\n",
            "COPY --from=links /linked/ /linked/\n",
            "COPY --from=pciutils-source /oss/ /oss/pciutils/\n",
        ] {
            assert!(text.contains(line), "missing {line}");
        }
        assert!(!text.contains("turbostat-aarch64"));
        // Only sources: no maps, no links stage.
        let only = r.dockerfile(&[], &[&SOURCES[0]]).unwrap();
        assert!(!only.contains("AS maps") && !only.contains("links"));
        assert!(only.ends_with("FROM scratch\nCOPY --from=linux-source /oss/ /oss/linux/\n"));
    }

    #[test]
    fn cache_files_cover_each_arch_of_a_tool() {
        let lspci = toolbox::tool("lspci").unwrap();
        assert_eq!(
            cache_files(lspci),
            [
                "bin/aarch64/lspci",
                "bin/aarch64/pci.ids",
                "bin/x86_64/lspci",
                "bin/x86_64/pci.ids",
                "linked/aarch64/lspci.tsv",
                "linked/x86_64/lspci.tsv"
            ]
        );
        let isst = toolbox::tool("intel-speed-select").unwrap();
        assert_eq!(cache_files(isst).len(), 2);
    }

    #[test]
    fn the_library_list_has_one_line_per_source_version_and_skips_tool_sources() {
        let f = |bin: &str, src: &str, v: &str| LinkedFile {
            path: format!("/usr/lib/{bin}.a"),
            binary_package: bin.into(),
            binary_version: v.into(),
            source: src.into(),
            source_version: v.into(),
        };
        let list = library_list(&[
            f("zlib1g-dev:arm64", "zlib", "1:1.2.13"),
            f("libc6-dev", "glibc", "2.36"),
            f("zlib1g-dev", "zlib", "1:1.2.13"),
            f("libc6-dev:arm64", "glibc", "2.36"),
            f("libpci-dev", "pciutils", "1:3.9.0-4"),
        ]);
        assert_eq!(list, "libc6-dev glibc 2.36\nzlib1g-dev zlib 1:1.2.13\n");
    }
}
