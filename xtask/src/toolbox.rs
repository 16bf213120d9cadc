//! What the bundled tools are made of, in one place: each tool's Debian source
//! package and pin, the licence of every Debian source package a release may
//! contain, and the lists of what each tool's link used (written by the links
//! stage of the tools build, tools/links.Dockerfile, kept in tools-cache/).

use std::collections::BTreeMap;

use anyhow::{Result, bail};

/// A Debian source package tools are built from. Its recipe holds a stage
/// `<name>-source` that fetches it at the pinned version, unpacks it in
/// /src/<name> and puts its files and licence texts in /oss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    pub name: &'static str,
    /// The tools/versions.env key pinning its version.
    pub pin: &'static str,
    /// The file under tools/ with its `<name>-source` stage.
    pub recipe: &'static str,
}

/// A tool perfspect embeds: its recipe (tools/<name>.Dockerfile) builds a
/// stage `<name>-<arch>` per architecture, leaving the stripped static binary
/// in /out/<name>, its link map in /out/<name>.ldmap and any data files it
/// ships with in /out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tool {
    pub name: &'static str,
    pub source: &'static Source,
    pub arches: &'static [&'static str],
    /// Data files shipped beside the binary (lspci's pci.ids).
    pub data: &'static [&'static str],
    /// The arguments of its smoke command, and what its output starts with.
    pub smoke: (&'static [&'static str], &'static str),
    /// What perfspect uses it for (README's toolbox table).
    pub purpose: &'static str,
}

impl Tool {
    pub fn recipe(&self) -> String {
        format!("{}.Dockerfile", self.name)
    }

    /// The files of this tool for `arch`: the binary, then its data files.
    pub fn files(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.name).chain(self.data.iter().copied())
    }

    pub fn builds_for(&self, arch: &str) -> bool {
        self.arches.contains(&arch)
    }
}

/// Whether `bytes` are what a tool binary for `arch` must be, whichever way
/// it was built (compiled here or taken from a layer cache): a 64-bit
/// little-endian ELF executable for that machine, statically linked (no
/// program interpreter). The reason when it is not.
pub fn check_binary(bytes: &[u8], arch: &str) -> Result<(), String> {
    let machine = match arch {
        "x86_64" => 62,
        "aarch64" => 183,
        other => return Err(format!("no ELF machine is known for {other}")),
    };
    let u16_at = |at: usize| {
        bytes
            .get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u64_at = |at: usize| {
        bytes
            .get(at..at + 8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("eight bytes")))
    };
    if !bytes.starts_with(b"\x7fELF\x02\x01") {
        return Err("not a 64-bit little-endian ELF file".into());
    }
    if u16_at(16) != Some(2) {
        return Err("not an executable (ELF type EXEC)".into());
    }
    if u16_at(18) != Some(machine) {
        return Err(format!(
            "not built for {arch} (ELF machine {:?})",
            u16_at(18)
        ));
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(32), u16_at(54), u16_at(56)) else {
        return Err("a truncated ELF header".into());
    };
    for i in 0..usize::from(phnum) {
        let at = usize::try_from(phoff)
            .unwrap_or(usize::MAX)
            .saturating_add(i * usize::from(phentsize));
        match bytes.get(at..at + 4) {
            // PT_INTERP: the binary asks for a dynamic loader.
            Some([3, 0, 0, 0]) => {
                return Err("dynamically linked (it has a program interpreter)".into());
            }
            Some(_) => {}
            None => return Err("a truncated program header table".into()),
        }
    }
    Ok(())
}

const fn source(name: &'static str, pin: &'static str, recipe: &'static str) -> Source {
    Source { name, pin, recipe }
}

pub const LINUX: Source = source("linux", "LINUX_VERSION", "linux.Dockerfile");
pub const SOURCES: [Source; 6] = [
    LINUX,
    source("fio", "FIO_VERSION", "fio.Dockerfile"),
    source("pciutils", "PCIUTILS_VERSION", "lspci.Dockerfile"),
    source("ethtool", "ETHTOOL_VERSION", "ethtool.Dockerfile"),
    source("ipmitool", "IPMITOOL_VERSION", "ipmitool.Dockerfile"),
    source(
        "smartmontools",
        "SMARTMONTOOLS_VERSION",
        "smartctl.Dockerfile",
    ),
];

const BOTH: &[&str] = &["x86_64", "aarch64"];
const X86_64: &[&str] = &["x86_64"];

pub const TOOLS: [Tool; 8] = [
    Tool {
        name: "perf",
        source: &LINUX,
        arches: BOTH,
        data: &[],
        smoke: (&["--version"], "perf version "),
        purpose: "metrics (PMU counters), flame graphs (sampling)",
    },
    Tool {
        name: "turbostat",
        source: &LINUX,
        arches: X86_64,
        data: &[],
        smoke: (&["--version"], "turbostat version "),
        purpose: "telemetry: C-state residency, package power, frequency",
    },
    Tool {
        name: "intel-speed-select",
        source: &LINUX,
        arches: X86_64,
        data: &[],
        // Without the Speed Select driver it prints its banner and the
        // driver's absence, and exits 0.
        smoke: (&["--version"], "Intel(R) Speed Select Technology"),
        purpose: "report: Intel Speed Select Technology levels",
    },
    Tool {
        name: "fio",
        source: &SOURCES[1],
        arches: BOTH,
        data: &[],
        smoke: (&["--version"], "fio-"),
        purpose: "benchmark: storage",
    },
    Tool {
        name: "lspci",
        source: &SOURCES[2],
        arches: BOTH,
        data: &["pci.ids"],
        smoke: (&["--version"], "lspci version "),
        purpose: "report: PCI devices by name",
    },
    Tool {
        name: "ethtool",
        source: &SOURCES[3],
        arches: BOTH,
        data: &[],
        smoke: (&["--version"], "ethtool version "),
        purpose: "report: NIC driver, firmware, link settings",
    },
    Tool {
        name: "ipmitool",
        source: &SOURCES[4],
        arches: BOTH,
        data: &[],
        smoke: (&["-V"], "ipmitool version "),
        purpose: "report: BMC sensors, event log",
    },
    Tool {
        name: "smartctl",
        source: &SOURCES[5],
        arches: BOTH,
        data: &[],
        smoke: (&["--version"], "smartctl "),
        purpose: "report: disk health and model",
    },
];

pub const ARCHES: [&str; 2] = ["x86_64", "aarch64"];

/// The tools built for `arch`, in table order.
pub fn tools_for(arch: &str) -> impl Iterator<Item = &'static Tool> + '_ {
    TOOLS.iter().filter(move |t| t.builds_for(arch))
}

/// What each embedded file is built from, as perfspect's build.rs reads it
/// (PERFSPECT_TOOLS_SOURCES): `name=source version` joined by `;`, every
/// file of every architecture.
pub fn packages(versions: &BTreeMap<String, String>) -> Result<String> {
    let mut entries = Vec::new();
    for tool in &TOOLS {
        let Some(version) = versions.get(tool.source.pin) else {
            bail!(
                "tools-cache/ records no {}: rebuild it with `cargo tools`",
                tool.source.pin
            );
        };
        for file in tool.files() {
            entries.push(format!("{file}={} {version}", tool.source.name));
        }
    }
    Ok(entries.join(";"))
}

pub fn tool(name: &str) -> Option<&'static Tool> {
    TOOLS.iter().find(|t| t.name == name)
}

/// The licence, as an SPDX expression, of each Debian source package a tool
/// is built from or statically links, read from its debian/copyright (the
/// parts that are compiled into the tools). A package missing here stops the
/// release: nobody has checked that it may be shipped.
pub const LICENCES: &[(&str, &str)] = &[
    ("bzip2", "bzip2-1.0.6"),
    ("elfutils", "GPL-2.0-or-later OR LGPL-3.0-or-later"),
    ("fio", "GPL-2.0-only"),
    ("gcc-12", "GPL-3.0-or-later WITH GCC-exception-3.1"),
    ("glibc", "LGPL-2.1-or-later"),
    ("libaio", "LGPL-2.1-or-later"),
    ("libcap2", "BSD-3-Clause OR GPL-2.0-only"),
    ("ethtool", "GPL-2.0-only"),
    ("ipmitool", "BSD-3-Clause"),
    ("libiberty", "LGPL-2.1-or-later"),
    ("libnl3", "LGPL-2.1-only"),
    ("libunwind", "MIT"),
    ("libzstd", "BSD-3-Clause OR GPL-2.0-only"),
    ("linux", "GPL-2.0-only"),
    ("numactl", "LGPL-2.1-only"),
    ("pciutils", "GPL-2.0-or-later"),
    // smartctl on Linux also compiles linux_nvme_ioctl.h (GPL-2) and
    // sg_unaligned.h (BSD-2-Clause).
    (
        "smartmontools",
        "GPL-2.0-or-later AND GPL-2.0-only AND BSD-2-Clause",
    ),
    ("xz-utils", "LicenseRef-public-domain"),
    ("zlib", "Zlib"),
];

/// The text of each `LicenseRef-` the table uses (SPDX requires it).
pub const LICENCE_REFS: &[(&str, &str)] = &[(
    "LicenseRef-public-domain",
    "liblzma of xz-utils 5.4 is in the public domain (debian/copyright: \"License: PD\").",
)];

pub fn licence(source: &str) -> Result<&'static str> {
    match LICENCES.iter().find(|(s, _)| *s == source) {
        Some((_, licence)) => Ok(licence),
        None => bail!(
            "the tools link code from the Debian source package `{source}`, whose licence has not been checked: read its debian/copyright and add it to LICENCES in xtask/src/toolbox.rs"
        ),
    }
}

/// Where tools-cache/ keeps what the link of `tool` for `arch` used.
pub fn linked_path(arch: &str, tool: &str) -> String {
    format!("linked/{arch}/{tool}.tsv")
}

/// One file a static link took code from, and the Debian package it came from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LinkedFile {
    pub path: String,
    pub binary_package: String,
    pub binary_version: String,
    pub source: String,
    pub source_version: String,
}

/// Reads a list the links stage wrote: five tab-separated fields a line.
pub fn parse_linked(text: &str) -> Result<Vec<LinkedFile>, String> {
    text.lines()
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(n, line)| {
            let fields: Vec<&str> = line.split('\t').collect();
            let valid = fields.len() == 5
                && fields.iter().all(|f| {
                    !f.is_empty() && !f.chars().any(|c| c.is_control() || c == ' ')
                });
            if !valid {
                return Err(format!(
                    "line {}: expected path, package, version, source, source version separated by tabs",
                    n + 1
                ));
            }
            Ok(LinkedFile {
                path: fields[0].into(),
                binary_package: fields[1].into(),
                binary_version: fields[2].into(),
                source: fields[3].into(),
                source_version: fields[4].into(),
            })
        })
        .collect()
}

/// A Debian source package at one version, and the files linked from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Library {
    pub source: String,
    pub version: String,
    /// `libz.a (zlib1g-dev:arm64 1:1.2.13.dfsg-1)`, sorted.
    pub files: Vec<String>,
}

/// The libraries of one link, by source package, sorted by name.
pub fn libraries(linked: &[LinkedFile]) -> Vec<Library> {
    let mut by_source: BTreeMap<(&str, &str), Vec<String>> = BTreeMap::new();
    for f in linked {
        let base = f.path.rsplit('/').next().unwrap_or(&f.path);
        by_source
            .entry((&f.source, &f.source_version))
            .or_default()
            .push(format!(
                "{base} ({} {})",
                f.binary_package, f.binary_version
            ));
    }
    by_source
        .into_iter()
        .map(|((source, version), mut files)| {
            files.sort();
            files.dedup();
            Library {
                source: source.into(),
                version: version.into(),
                files,
            }
        })
        .collect()
}

/// The name of a Debian source package's .dsc: the version without its epoch.
pub fn dsc_name(source: &str, version: &str) -> String {
    let version = version.split_once(':').map_or(version, |(_, v)| v);
    format!("{source}_{version}.dsc")
}

#[cfg(test)]
mod tests {
    /// A minimal ELF64 header and program header table, `interp` adding a
    /// PT_INTERP entry (the file is made here, to the ELF specification).
    fn elf(machine: u16, kind: u16, interp: bool) -> Vec<u8> {
        let mut b = vec![0u8; 64 + 2 * 56];
        b[..6].copy_from_slice(b"\x7fELF\x02\x01");
        b[16..18].copy_from_slice(&kind.to_le_bytes());
        b[18..20].copy_from_slice(&machine.to_le_bytes());
        b[32..40].copy_from_slice(&64u64.to_le_bytes());
        b[54..56].copy_from_slice(&56u16.to_le_bytes());
        b[56..58].copy_from_slice(&2u16.to_le_bytes());
        b[64] = 1; // PT_LOAD
        b[120] = if interp { 3 } else { 1 };
        b
    }

    #[test]
    fn a_tool_binary_is_a_static_executable_for_its_machine() {
        assert_eq!(check_binary(&elf(62, 2, false), "x86_64"), Ok(()));
        assert_eq!(check_binary(&elf(183, 2, false), "aarch64"), Ok(()));
        assert!(
            check_binary(&elf(183, 2, false), "x86_64")
                .unwrap_err()
                .contains("not built for x86_64")
        );
        assert!(
            check_binary(&elf(62, 2, true), "x86_64")
                .unwrap_err()
                .contains("dynamically linked")
        );
        assert!(
            check_binary(&elf(62, 3, false), "x86_64")
                .unwrap_err()
                .contains("not an executable")
        );
        assert!(
            check_binary(b"#!/bin/sh\n", "x86_64")
                .unwrap_err()
                .contains("not a 64-bit")
        );
        let mut cut = elf(62, 2, false);
        cut.truncate(100);
        assert!(
            check_binary(&cut, "x86_64")
                .unwrap_err()
                .contains("truncated")
        );
    }

    use super::*;

    const LIST: &str = "/usr/lib/aarch64-linux-gnu/libz.a\tzlib1g-dev:arm64\t1:1.2.13.dfsg-1\tzlib\t1:1.2.13.dfsg-1\n\
/usr/lib/aarch64-linux-gnu/libc.a\tlibc6-dev:arm64\t2.36-9+deb12u14\tglibc\t2.36-9+deb12u14\n\
/usr/lib/aarch64-linux-gnu/crt1.o\tlibc6-dev:arm64\t2.36-9+deb12u14\tglibc\t2.36-9+deb12u14\n";

    #[test]
    fn linked_lists_group_by_source_package() {
        let linked = parse_linked(LIST).unwrap();
        assert_eq!(linked.len(), 3);
        let libs = libraries(&linked);
        assert_eq!(libs.len(), 2);
        assert_eq!(libs[0].source, "glibc");
        assert_eq!(
            libs[0].files,
            [
                "crt1.o (libc6-dev:arm64 2.36-9+deb12u14)",
                "libc.a (libc6-dev:arm64 2.36-9+deb12u14)"
            ]
        );
        assert_eq!(
            (libs[1].source.as_str(), libs[1].version.as_str()),
            ("zlib", "1:1.2.13.dfsg-1")
        );
    }

    #[test]
    fn malformed_lines_are_refused_with_their_number() {
        let err = parse_linked("a\tb\tc\td\te\nonly\tfour\tfields\there\n").unwrap_err();
        assert!(err.starts_with("line 2:"), "{err}");
        assert!(parse_linked("a\tb c\tc\td\te\n").is_err());
    }

    #[test]
    fn dsc_names_drop_the_epoch() {
        assert_eq!(
            dsc_name("zlib", "1:1.2.13.dfsg-1"),
            "zlib_1.2.13.dfsg-1.dsc"
        );
        assert_eq!(dsc_name("fio", "3.33-3"), "fio_3.33-3.dsc");
    }

    #[test]
    fn every_tool_source_has_a_licence_and_unknown_ones_are_refused() {
        for source in SOURCES {
            licence(source.name).unwrap();
        }
        let err = licence("slang2").unwrap_err().to_string();
        assert!(
            err.contains("`slang2`") && err.contains("xtask/src/toolbox.rs"),
            "{err}"
        );
        for (_, expr) in LICENCES {
            for id in expr.split(' ').filter(|w| w.starts_with("LicenseRef-")) {
                assert!(
                    LICENCE_REFS.iter().any(|(r, _)| *r == id),
                    "{id} has no text"
                );
            }
        }
    }
}
