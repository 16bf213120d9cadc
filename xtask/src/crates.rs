//! The Rust crates compiled into a perfspect binary: `cargo tree` for that
//! target with normal dependencies only (build scripts' and tests' crates and
//! proc-macros run on the build machine and are not in the binary), each
//! with the checksum Cargo.lock pins.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Crate {
    pub name: String,
    pub version: String,
    /// An SPDX expression; cargo's old `MIT/Apache-2.0` form is rewritten.
    pub licence: String,
    /// sha256 of the .crate, from Cargo.lock.
    pub checksum: String,
}

/// The workspace's own package perfspect is, which `cargo tree` prints with
/// its path; it is the SBOM's subject, not one of its crates.
const SUBJECT: &str = "perfspect";

/// perfspect's own licence and the crates compiled into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    pub licence: String,
    pub crates: Vec<Crate>,
}

/// Runs `cargo tree` for `triple` and reads Cargo.lock, once per target in a
/// run (`package` and `verify` both ask; the checkout does not change between).
pub fn compiled_into_perfspect(sh: &Shell, triple: &str) -> Result<Compiled> {
    static SEEN: std::sync::Mutex<BTreeMap<String, Compiled>> =
        std::sync::Mutex::new(BTreeMap::new());
    if let Some(compiled) = SEEN.lock().expect("not poisoned").get(triple) {
        return Ok(compiled.clone());
    }
    let compiled = run_cargo_tree(sh, triple)?;
    SEEN.lock()
        .expect("not poisoned")
        .insert(triple.to_string(), compiled.clone());
    Ok(compiled)
}

fn run_cargo_tree(sh: &Shell, triple: &str) -> Result<Compiled> {
    let root = crate::project_root();
    let _dir = sh.push_dir(&root);
    let format = "{p}\t{l}";
    // The cargo that runs the xtask, when it does.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let tree = cmd!(
        sh,
        "{cargo} tree --locked -p perfspect --target {triple} -e normal,no-proc-macro --prefix none -f {format}"
    )
    .quiet()
    .read()
    .with_context(|| format!("listing the crates compiled into perfspect for {triple} (`cargo tree`)"))?;
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("reading Cargo.lock")?;
    from_tree(&tree, &parse_lock(&lock)?)
}

/// Reads `cargo tree -f '{p}\t{l}' --prefix none` output: `name vX.Y.Z` or
/// `name vX.Y.Z (path)`, a tab, the licence; repeated lines are one crate.
pub fn from_tree(tree: &str, checksums: &BTreeMap<(String, String), String>) -> Result<Compiled> {
    let mut crates = Vec::new();
    let mut subject_licence = None;
    for line in tree.lines().filter(|l| !l.trim().is_empty()) {
        // ` (*)` marks a crate cargo tree printed before, after the format.
        let line = line.strip_suffix(" (*)").unwrap_or(line);
        let (package, licence) = line.split_once('\t').unwrap_or((line, ""));
        let mut words = package.split(' ');
        let (Some(name), Some(version)) = (words.next(), words.next()) else {
            bail!("`cargo tree` printed a line that names no crate: `{line}`");
        };
        let version = version.strip_prefix('v').unwrap_or(version);
        if name == SUBJECT {
            subject_licence = Some(spdx_expression(licence));
            continue;
        }
        let key = (name.to_string(), version.to_string());
        let Some(checksum) = checksums.get(&key) else {
            bail!(
                "{name} {version} is compiled into perfspect but Cargo.lock pins no checksum for it (a path or git dependency?): an SBOM needs one"
            );
        };
        crates.push(Crate {
            name: key.0,
            version: key.1,
            licence: spdx_expression(licence),
            checksum: checksum.clone(),
        });
    }
    crates.sort();
    crates.dedup();
    let Some(licence) = subject_licence else {
        bail!("`cargo tree -p perfspect` did not list perfspect itself");
    };
    Ok(Compiled { licence, crates })
}

/// Cargo's licence field as SPDX: `/` was cargo's old spelling of OR; an
/// empty field (a crate with only a licence file) is NOASSERTION.
pub fn spdx_expression(licence: &str) -> String {
    let licence = licence.trim();
    if licence.is_empty() {
        return "NOASSERTION".into();
    }
    licence
        .split('/')
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// (name, version) -> checksum of every registry package in Cargo.lock.
pub fn parse_lock(text: &str) -> Result<BTreeMap<(String, String), String>> {
    let mut out = BTreeMap::new();
    for block in text.split("[[package]]").skip(1) {
        let field = |key: &str| {
            block.lines().find_map(|l| {
                let (k, v) = l.split_once(" = ")?;
                (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
            })
        };
        let (Some(name), Some(version)) = (field("name"), field("version")) else {
            bail!("Cargo.lock has a package without a name or version");
        };
        if let Some(checksum) = field("checksum") {
            out.insert((name, version), checksum);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"version = 4

[[package]]
name = "anyhow"
version = "1.0.105"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "aaaa"

[[package]]
name = "num-format"
version = "0.4.4"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "bbbb"
dependencies = [
 "itoa",
]

[[package]]
name = "perfspect"
version = "3.0.0"
"#;

    #[test]
    fn crates_come_from_the_tree_with_the_lock_checksums() {
        let tree = "perfspect v3.0.0 (/w/perfspect)\tBSD-3-Clause\n\
                    anyhow v1.0.105\tMIT OR Apache-2.0\n\
                    num-format v0.4.4\tMIT/Apache-2.0\n\
                    anyhow v1.0.105\tMIT OR Apache-2.0 (*)\n";
        let compiled = from_tree(tree, &parse_lock(LOCK).unwrap()).unwrap();
        assert_eq!(compiled.licence, "BSD-3-Clause");
        let crates = compiled.crates;
        assert_eq!(crates.len(), 2, "perfspect itself and repeats are left out");
        assert_eq!(crates[0].name, "anyhow");
        assert_eq!(crates[0].checksum, "aaaa");
        assert_eq!(crates[1].licence, "MIT OR Apache-2.0");
    }

    #[test]
    fn a_crate_without_a_locked_checksum_is_refused() {
        let err = from_tree(
            "perfspect v3.0.0 (/w)\tMIT\nitoa v1.0.0\tMIT\n",
            &parse_lock(LOCK).unwrap(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("itoa 1.0.0"), "{err}");
    }

    #[test]
    fn licences_are_spdx() {
        assert_eq!(spdx_expression("MIT/Apache-2.0"), "MIT OR Apache-2.0");
        assert_eq!(spdx_expression(""), "NOASSERTION");
        assert_eq!(
            spdx_expression("Zlib OR Apache-2.0 OR MIT"),
            "Zlib OR Apache-2.0 OR MIT"
        );
    }
}
