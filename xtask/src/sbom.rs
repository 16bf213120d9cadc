//! The SPDX 2.3 SBOM of one release binary: perfspect, the crates compiled
//! into it, the tools it embeds and, per tool, the Debian source packages its
//! static link took code from (read from the link itself). A pure function of
//! its inputs: the same commit gives the same bytes.

use serde_json::{Value, json};
use sha2::Digest as _;

use anyhow::{Context, Result};

use crate::crates::Crate;
use crate::toolbox::{self, Library};

/// The file name inside a tarball and the suffix beside it in dist/.
pub const IN_TARBALL: &str = "perfspect/sbom.spdx.json";
pub const SUFFIX: &str = ".spdx.json";

/// The binary an SBOM describes.
pub struct Subject<'a> {
    pub version: &'a str,
    pub arch: &'a str,
    pub sha256: &'a str,
    pub licence: &'a str,
    /// The release's time (SOURCE_DATE_EPOCH, else the commit's), Unix
    /// seconds: the document's creation time.
    pub epoch: u64,
}

/// A tool embedded in the binary.
pub struct Embedded {
    pub name: String,
    pub source: String,
    pub source_version: String,
    pub sha256: String,
    pub libraries: Vec<Library>,
}

pub const PERFSPECT_ID: &str = "SPDXRef-perfspect";

pub fn crate_id(name: &str, version: &str) -> String {
    spdx_id(&format!("crate-{name}-{version}"))
}

pub fn tool_id(name: &str) -> String {
    spdx_id(&format!("tool-{name}"))
}

pub fn deb_id(source: &str, version: &str) -> String {
    spdx_id(&format!("deb-{source}-{version}"))
}

/// SPDX ids allow letters, digits, `.` and `-` after `SPDXRef-`.
fn spdx_id(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("SPDXRef-{clean}")
}

/// Percent-encodes what a purl or URL path segment cannot hold as is.
fn encode(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            ':' => "%3A".to_string(),
            '+' => "%2B".to_string(),
            '~' => "%7E".to_string(),
            c => c.to_string(),
        })
        .collect()
}

fn debian_package(
    id: &str,
    source: &str,
    version: &str,
    purpose: &str,
    licence: &str,
) -> serde_json::Map<String, Value> {
    let value = json!({
        "SPDXID": id,
        "name": source,
        "versionInfo": version,
        "downloadLocation": format!("https://snapshot.debian.org/package/{source}/{}/", encode(version)),
        "filesAnalyzed": false,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": licence,
        "copyrightText": "NOASSERTION",
        "supplier": "Organization: Debian",
        "primaryPackagePurpose": purpose,
        "externalRefs": [{
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": format!("pkg:deb/debian/{source}@{}?arch=source&distro=bookworm", encode(version)),
        }],
    });
    match value {
        Value::Object(map) => map,
        _ => unreachable!("json! of an object literal is an object"),
    }
}

/// The document, pretty-printed, keys sorted.
pub fn document(subject: &Subject, crates: &[Crate], tools: &[Embedded]) -> Result<String> {
    let mut packages = vec![json!({
        "SPDXID": PERFSPECT_ID,
        "name": "perfspect",
        "versionInfo": subject.version,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "checksums": [{ "algorithm": "SHA256", "checksumValue": subject.sha256 }],
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": subject.licence,
        "copyrightText": "NOASSERTION",
        "primaryPackagePurpose": "APPLICATION",
        "comment": format!("the perfspect binary of the {} tarball", subject.arch),
    })];
    let mut relationships = vec![relationship("SPDXRef-DOCUMENT", "DESCRIBES", PERFSPECT_ID)];

    for c in crates {
        let id = crate_id(&c.name, &c.version);
        packages.push(json!({
            "SPDXID": id,
            "name": c.name,
            "versionInfo": c.version,
            "downloadLocation": format!("https://crates.io/api/v1/crates/{}/{}/download", c.name, c.version),
            "filesAnalyzed": false,
            "checksums": [{ "algorithm": "SHA256", "checksumValue": c.checksum }],
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": c.licence,
            "copyrightText": "NOASSERTION",
            "primaryPackagePurpose": "LIBRARY",
            "externalRefs": [{
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": format!("pkg:cargo/{}@{}", c.name, c.version),
            }],
        }));
        relationships.push(relationship(PERFSPECT_ID, "STATIC_LINK", &id));
    }

    let mut libraries: Vec<&Library> = Vec::new();
    let mut licence_refs: Vec<&str> = Vec::new();
    let mut note_licence = |expr: &'static str| {
        for word in expr.split(' ').filter(|w| w.starts_with("LicenseRef-")) {
            if !licence_refs.contains(&word) {
                licence_refs.push(word);
            }
        }
        expr
    };
    for tool in tools {
        let id = tool_id(&tool.name);
        let licence = note_licence(toolbox::licence(&tool.source)?);
        let mut package = debian_package(
            &id,
            &tool.source,
            &tool.source_version,
            "APPLICATION",
            licence,
        );
        package.insert("name".into(), tool.name.clone().into());
        package.insert(
            "sourceInfo".into(),
            format!(
                "built from the Debian source package {} {} (bookworm), static and stripped",
                tool.source, tool.source_version
            )
            .into(),
        );
        package.insert(
            "checksums".into(),
            json!([{ "algorithm": "SHA256", "checksumValue": tool.sha256 }]),
        );
        package.insert(
            "comment".into(),
            "embedded in perfspect; `perfspect tools list` prints the same sha256".into(),
        );
        packages.push(Value::Object(package));
        relationships.push(relationship(PERFSPECT_ID, "CONTAINS", &id));
        for lib in &tool.libraries {
            relationships.push(relationship(
                &id,
                "STATIC_LINK",
                &deb_id(&lib.source, &lib.version),
            ));
            match libraries
                .iter()
                .position(|l| (&l.source, &l.version) == (&lib.source, &lib.version))
            {
                Some(_) => {}
                None => libraries.push(lib),
            }
        }
    }
    libraries.sort_by(|a, b| (&a.source, &a.version).cmp(&(&b.source, &b.version)));
    for lib in libraries {
        let licence = note_licence(toolbox::licence(&lib.source)?);
        let id = deb_id(&lib.source, &lib.version);
        // The files of this source package any tool of this binary linked.
        let files: Vec<String> = tools
            .iter()
            .flat_map(|t| &t.libraries)
            .filter(|l| (&l.source, &l.version) == (&lib.source, &lib.version))
            .flat_map(|l| l.files.iter().cloned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut package = debian_package(&id, &lib.source, &lib.version, "LIBRARY", licence);
        package.insert(
            "comment".into(),
            format!("statically linked from: {}", files.join(", ")).into(),
        );
        packages.push(Value::Object(package));
    }

    let extracted: Vec<Value> = licence_refs
        .iter()
        .map(|id| {
            let text = toolbox::LICENCE_REFS
                .iter()
                .find(|(r, _)| r == id)
                .map(|(_, t)| *t)
                .unwrap_or("NOASSERTION");
            json!({ "licenseId": id, "name": id.trim_start_matches("LicenseRef-"), "extractedText": text })
        })
        .collect();

    let mut doc = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": format!("perfspect-{}-{}", subject.version, subject.arch),
        "documentNamespace": format!(
            "https://spdx.org/spdxdocs/perfspect-{}-{}-{}",
            subject.arch, encode(subject.version), subject.sha256
        ),
        "creationInfo": {
            "created": rfc3339_utc(subject.epoch),
            "creators": ["Tool: perfspect-xtask"],
        },
        "packages": packages,
        "relationships": relationships,
    });
    if !extracted.is_empty() {
        doc["hasExtractedLicensingInfos"] = Value::Array(extracted);
    }
    Ok(serde_json::to_string_pretty(&doc)? + "\n")
}

/// Both binaries, each with its SBOM, ready to package, and what they embed.
pub struct Described {
    pub releases: Vec<crate::package::Release>,
    /// Each architecture's embedded tools (THIRD_PARTY_PROGRAMS lists them).
    pub tools: Vec<(&'static str, Vec<Embedded>)>,
    /// `x86_64: 46 crates, 2 tools, 12 libraries; ...`, for the log.
    pub counts: String,
}

/// Reads each binary and writes its SBOM: the crates `cargo tree` says are
/// compiled in, and the tools and their libraries as tools-cache/ records them.
pub fn describe(
    sh: &xshell::Shell,
    manifest: &crate::tools_cache::Manifest,
    binaries: &crate::package::Binaries,
    version: &str,
    epoch: u64,
) -> Result<Described> {
    let cache = crate::tools_cache_dir();
    let mut described = Described {
        releases: Vec::new(),
        tools: Vec::new(),
        counts: String::new(),
    };
    let mut counts = Vec::new();
    for (arch, path) in binaries.by_arch() {
        let binary = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let tools = embedded(manifest, &cache, arch)?;
        let compiled = crate::crates::compiled_into_perfspect(sh, crate::build::target_of(arch))?;
        let sha256 = crate::tools_cache::hex(&sha2::Sha256::digest(&binary));
        let subject = Subject {
            version,
            arch,
            sha256: &sha256,
            licence: &compiled.licence,
            epoch,
        };
        let sbom = document(&subject, &compiled.crates, &tools)?;
        let libraries: std::collections::BTreeSet<&String> = tools
            .iter()
            .flat_map(|t| t.libraries.iter().map(|l| &l.source))
            .collect();
        counts.push(format!(
            "{arch}: {} crates, {} tools, {} libraries",
            compiled.crates.len(),
            tools.len(),
            libraries.len()
        ));
        described.releases.push(crate::package::Release {
            arch,
            binary,
            sbom: sbom.into_bytes(),
        });
        described.tools.push((arch, tools));
    }
    described.counts = counts.join("; ");
    Ok(described)
}

/// The tools of `arch` as the verified tools cache in `cache_dir` records
/// them: sha256, pinned source version and what each link used.
pub fn embedded(
    manifest: &crate::tools_cache::Manifest,
    cache_dir: &std::path::Path,
    arch: &str,
) -> Result<Vec<Embedded>> {
    let mut embedded = Vec::new();
    for tool in toolbox::tools_for(arch) {
        let version = manifest
            .versions
            .get(tool.source.pin)
            .with_context(|| format!("tools-cache/ records no {}", tool.source.pin))?;
        let linked = toolbox::linked_path(arch, tool.name);
        let text = std::fs::read_to_string(cache_dir.join(&linked))
            .with_context(|| format!("reading tools-cache/{linked}"))?;
        let files = toolbox::parse_linked(&text)
            .map_err(|why| anyhow::anyhow!("tools-cache/{linked}: {why}"))?;
        for (i, file) in tool.files().enumerate() {
            let bin = format!("bin/{arch}/{file}");
            let sha256 = manifest
                .sha256(&bin)
                .with_context(|| format!("tools-cache/ has no {bin}"))?;
            embedded.push(Embedded {
                name: file.to_string(),
                source: tool.source.name.to_string(),
                source_version: version.clone(),
                sha256: sha256.to_string(),
                // Data files (pci.ids) are not linked.
                libraries: if i == 0 {
                    toolbox::libraries(&files)
                } else {
                    Vec::new()
                },
            });
        }
    }
    Ok(embedded)
}

fn relationship(from: &str, kind: &str, to: &str) -> Value {
    json!({ "spdxElementId": from, "relationshipType": kind, "relatedSpdxElement": to })
}

/// `YYYY-MM-DDTHH:MM:SSZ` of Unix seconds (days to civil date as in
/// Howard Hinnant's `civil_from_days`).
pub fn rfc3339_utc(epoch: u64) -> String {
    let days = (epoch / 86_400) as i64;
    let secs = epoch % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// What an SBOM says, read back (by `verify`).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Contents {
    pub perfspect_sha256: Option<String>,
    /// name@version -> checksum
    pub crates: std::collections::BTreeMap<String, String>,
    /// tool name -> sha256
    pub tools: std::collections::BTreeMap<String, String>,
    /// (Debian source package, version) of every tool and library.
    pub debian_sources: std::collections::BTreeSet<(String, String)>,
}

/// Reads back what [`document`] wrote; anything else is an error naming it.
pub fn read(text: &[u8]) -> Result<Contents, String> {
    let doc: Value = serde_json::from_slice(text).map_err(|e| format!("not JSON: {e}"))?;
    if doc["spdxVersion"] != "SPDX-2.3" {
        return Err("not an SPDX 2.3 document".into());
    }
    let packages = doc["packages"].as_array().ok_or("no packages")?;
    let mut out = Contents::default();
    let mut ids = std::collections::BTreeSet::new();
    for p in packages {
        let id = p["SPDXID"].as_str().ok_or("a package without an SPDXID")?;
        if !ids.insert(id) {
            return Err(format!("{id} is there twice"));
        }
        let field = |k: &str| p[k].as_str().map(str::to_string);
        let sha = p["checksums"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["algorithm"] == "SHA256"))
            .and_then(|c| c["checksumValue"].as_str())
            .map(str::to_string);
        let name = field("name").ok_or_else(|| format!("{id} has no name"))?;
        let version = field("versionInfo").ok_or_else(|| format!("{id} has no versionInfo"))?;
        if id == PERFSPECT_ID {
            out.perfspect_sha256 = sha;
        } else if id.starts_with("SPDXRef-crate-") {
            out.crates.insert(
                format!("{name}@{version}"),
                sha.ok_or_else(|| format!("crate {name} has no checksum"))?,
            );
        } else if id.starts_with("SPDXRef-tool-") {
            out.tools.insert(
                name.clone(),
                sha.ok_or_else(|| format!("tool {name} has no checksum"))?,
            );
            let source = p["sourceInfo"]
                .as_str()
                .and_then(|s| s.strip_prefix("built from the Debian source package "))
                .and_then(|s| s.split(' ').next())
                .ok_or_else(|| format!("tool {name} names no Debian source package"))?;
            out.debian_sources.insert((source.to_string(), version));
        } else if id.starts_with("SPDXRef-deb-") {
            out.debian_sources.insert((name, version));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> String {
        let subject = Subject {
            version: "3.0.0_2026-11-24_1a2b3c4d",
            arch: "aarch64",
            sha256: &"ab".repeat(32),
            licence: "BSD-3-Clause",
            epoch: 1_764_000_000,
        };
        let crates = [Crate {
            name: "num-format".into(),
            version: "0.4.4".into(),
            licence: "MIT OR Apache-2.0".into(),
            checksum: "cd".repeat(32),
        }];
        let lib = |source: &str, version: &str, file: &str| Library {
            source: source.into(),
            version: version.into(),
            files: vec![file.into()],
        };
        let tools = [
            Embedded {
                name: "fio".into(),
                source: "fio".into(),
                source_version: "3.33-3".into(),
                sha256: "ef".repeat(32),
                libraries: vec![
                    lib(
                        "glibc",
                        "2.36-9+deb12u14",
                        "libc.a (libc6-dev:arm64 2.36-9+deb12u14)",
                    ),
                    lib(
                        "zlib",
                        "1:1.2.13.dfsg-1",
                        "libz.a (zlib1g-dev:arm64 1:1.2.13.dfsg-1)",
                    ),
                ],
            },
            Embedded {
                name: "perf".into(),
                source: "linux".into(),
                source_version: "6.1.176-1".into(),
                sha256: "01".repeat(32),
                libraries: vec![
                    lib(
                        "glibc",
                        "2.36-9+deb12u14",
                        "crt1.o (libc6-dev:arm64 2.36-9+deb12u14)",
                    ),
                    lib(
                        "xz-utils",
                        "5.4.1-1",
                        "liblzma.a (liblzma-dev:arm64 5.4.1-1)",
                    ),
                ],
            },
        ];
        document(&subject, &crates, &tools).unwrap()
    }

    #[test]
    fn the_document_reads_back_as_written() {
        let described = read(sample().as_bytes()).unwrap();
        assert_eq!(described.perfspect_sha256, Some("ab".repeat(32)));
        assert_eq!(
            described.crates.get("num-format@0.4.4"),
            Some(&"cd".repeat(32))
        );
        assert_eq!(described.tools.len(), 2);
        assert_eq!(described.tools["perf"], "01".repeat(32));
        let sources: Vec<String> = described
            .debian_sources
            .iter()
            .map(|(s, v)| format!("{s} {v}"))
            .collect();
        assert_eq!(
            sources,
            [
                "fio 3.33-3",
                "glibc 2.36-9+deb12u14",
                "linux 6.1.176-1",
                "xz-utils 5.4.1-1",
                "zlib 1:1.2.13.dfsg-1"
            ]
        );
    }

    #[test]
    fn relationships_say_what_contains_and_links_what() {
        let doc: Value = serde_json::from_str(&sample()).unwrap();
        let rels: Vec<String> = doc["relationships"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "{} {} {}",
                    r["spdxElementId"].as_str().unwrap(),
                    r["relationshipType"].as_str().unwrap(),
                    r["relatedSpdxElement"].as_str().unwrap()
                )
            })
            .collect();
        for expected in [
            "SPDXRef-DOCUMENT DESCRIBES SPDXRef-perfspect",
            "SPDXRef-perfspect STATIC_LINK SPDXRef-crate-num-format-0.4.4",
            "SPDXRef-perfspect CONTAINS SPDXRef-tool-fio",
            "SPDXRef-tool-fio STATIC_LINK SPDXRef-deb-glibc-2.36-9-deb12u14",
            "SPDXRef-tool-perf STATIC_LINK SPDXRef-deb-glibc-2.36-9-deb12u14",
            "SPDXRef-tool-fio STATIC_LINK SPDXRef-deb-zlib-1-1.2.13.dfsg-1",
        ] {
            assert!(
                rels.iter().any(|r| r == expected),
                "{expected} missing from {rels:#?}"
            );
        }
        // glibc is one package, its files from both links in its comment.
        let glibc: Vec<&Value> = doc["packages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["name"] == "glibc")
            .collect();
        assert_eq!(glibc.len(), 1);
        let comment = glibc[0]["comment"].as_str().unwrap();
        assert!(
            comment.contains("crt1.o") && comment.contains("libc.a"),
            "{comment}"
        );
        // xz-utils' LicenseRef has its text.
        assert_eq!(
            doc["hasExtractedLicensingInfos"][0]["licenseId"],
            "LicenseRef-public-domain"
        );
    }

    #[test]
    fn the_document_is_deterministic_and_dated_by_the_commit() {
        assert_eq!(sample(), sample());
        let doc: Value = serde_json::from_str(&sample()).unwrap();
        assert_eq!(doc["creationInfo"]["created"], "2025-11-24T16:00:00Z");
    }

    #[test]
    fn utc_dates() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(1_709_251_199), "2024-02-29T23:59:59Z");
    }

    #[test]
    fn an_unlicensed_library_stops_the_sbom() {
        let subject = Subject {
            version: "v",
            arch: "x86_64",
            sha256: "00",
            licence: "MIT",
            epoch: 0,
        };
        let tools = [Embedded {
            name: "fio".into(),
            source: "fio".into(),
            source_version: "1".into(),
            sha256: "00".into(),
            libraries: vec![Library {
                source: "slang2".into(),
                version: "2".into(),
                files: vec![],
            }],
        }];
        let err = document(&subject, &[], &tools).unwrap_err().to_string();
        assert!(err.contains("slang2"), "{err}");
    }
}
