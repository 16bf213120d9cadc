//! CPU identification: x86 family/model and ARM implementer/part to names,
//! and [`identify`], which names a CPU from its cpuinfo by these tables.

use super::parse::CpuInfo;

/// Intel microarchitecture from the CPUID family/model/stepping.
pub fn intel(family: u32, model: u32, stepping: u32) -> Option<&'static str> {
    if family == 19 {
        return match model {
            0x01 => Some("Diamond Rapids"),
            _ => None,
        };
    }
    if family != 6 {
        return None;
    }
    Some(match model {
        0x0F | 0x16 => "Core (Merom)",
        0x17 | 0x1D => "Penryn",
        0x1A | 0x1E | 0x1F | 0x2E => "Nehalem",
        0x25 | 0x2C | 0x2F => "Westmere",
        0x2A => "Sandy Bridge",
        0x2D => "Sandy Bridge-EP",
        0x3A => "Ivy Bridge",
        0x3E => "Ivy Bridge-EP",
        0x3C | 0x45 | 0x46 => "Haswell",
        0x3F => "Haswell-EP",
        0x3D | 0x47 => "Broadwell",
        0x4F => "Broadwell-EP",
        0x56 => "Broadwell-DE",
        0x4E | 0x5E => "Skylake",
        0x55 => match stepping {
            0..=4 => "Skylake-SP",
            5..=7 => "Cascade Lake",
            10 | 11 => "Cooper Lake",
            _ => "Skylake-SP family",
        },
        0x8E | 0x9E => "Kaby Lake / Coffee Lake",
        0xA5 | 0xA6 => "Comet Lake",
        0x66 => "Cannon Lake",
        0x6A => "Ice Lake-SP",
        0x6C => "Ice Lake-D",
        0x7D | 0x7E | 0x9D => "Ice Lake",
        0x8C | 0x8D => "Tiger Lake",
        0xA7 => "Rocket Lake",
        0x8A => "Lakefield",
        0x97 | 0x9A => "Alder Lake",
        0xBE => "Alder Lake-N",
        0xB7 | 0xBA | 0xBF => "Raptor Lake",
        0xAA | 0xAC => "Meteor Lake",
        0xBD => "Lunar Lake",
        0xB5 | 0xC5 | 0xC6 => "Arrow Lake",
        0xCC => "Panther Lake",
        0x8F => "Sapphire Rapids",
        0xCF => "Emerald Rapids",
        0xAD => "Granite Rapids",
        0xAE => "Granite Rapids-D",
        0xAF => "Sierra Forest",
        0xB6 => "Grand Ridge",
        0xDD => "Clearwater Forest",
        0x1C | 0x26 => "Bonnell (Atom)",
        0x37 | 0x4A | 0x4D | 0x5A | 0x5D => "Silvermont (Atom)",
        0x4C => "Airmont (Atom)",
        0x5C | 0x5F => "Goldmont (Atom)",
        0x7A => "Goldmont Plus (Atom)",
        0x86 | 0x96 | 0x9C => "Tremont (Atom)",
        0x57 => "Knights Landing (Xeon Phi)",
        0x85 => "Knights Mill (Xeon Phi)",
        _ => return None,
    })
}

/// AMD (and Hygon) microarchitecture from family/model.
pub fn amd(family: u32, model: u32) -> Option<&'static str> {
    Some(match family {
        0x10 => "K10",
        0x12 => "K10 (Llano)",
        0x14 => "Bobcat",
        0x15 => match model {
            0x00..=0x0F => "Bulldozer / Piledriver",
            0x10..=0x1F => "Piledriver",
            0x30..=0x3F => "Steamroller",
            _ => "Excavator",
        },
        0x16 => "Jaguar",
        0x17 => match model {
            0x01 => "Zen (EPYC Naples)",
            0x08 | 0x18 => "Zen+",
            0x00..=0x2F => "Zen",
            0x31 => "Zen 2 (EPYC Rome)",
            _ => "Zen 2",
        },
        0x18 => "Dhyana (Zen, Hygon)",
        0x19 => match model {
            0x01 => "Zen 3 (EPYC Milan)",
            0x11 => "Zen 4 (EPYC Genoa)",
            0x18 => "Zen 4 (Storm Peak)",
            0x10..=0x1F | 0x60..=0x7F => "Zen 4",
            0xA0..=0xAF => "Zen 4c (EPYC Bergamo / Siena)",
            0x40..=0x4F => "Zen 3+",
            _ => "Zen 3",
        },
        0x1A => match model {
            0x02 => "Zen 5 (EPYC Turin)",
            0x11 => "Zen 5c (EPYC Turin dense)",
            _ => "Zen 5",
        },
        _ => return None,
    })
}

pub fn arm_implementer(id: u32) -> Option<&'static str> {
    Some(match id {
        0x41 => "Arm",
        0x42 => "Broadcom",
        0x43 => "Cavium",
        0x44 => "DEC",
        0x46 => "Fujitsu",
        0x48 => "HiSilicon",
        0x49 => "Infineon",
        0x4D => "Motorola/Freescale",
        0x4E => "NVIDIA",
        0x50 => "Applied Micro",
        0x51 => "Qualcomm",
        0x53 => "Samsung",
        0x56 => "Marvell",
        0x61 => "Apple",
        0x66 => "Faraday",
        0x69 => "Intel",
        0x6D => "Microsoft",
        0x70 => "Phytium",
        0xC0 => "Ampere",
        _ => return None,
    })
}

pub fn arm_part(implementer: u32, part: u32) -> Option<&'static str> {
    Some(match (implementer, part) {
        (0x41, 0xD02) => "Cortex-A34",
        (0x41, 0xD03) => "Cortex-A53",
        (0x41, 0xD04) => "Cortex-A35",
        (0x41, 0xD05) => "Cortex-A55",
        (0x41, 0xD06) => "Cortex-A65",
        (0x41, 0xD07) => "Cortex-A57",
        (0x41, 0xD08) => "Cortex-A72",
        (0x41, 0xD09) => "Cortex-A73",
        (0x41, 0xD0A) => "Cortex-A75",
        (0x41, 0xD0B) => "Cortex-A76",
        (0x41, 0xD0C) => "Neoverse N1",
        (0x41, 0xD0D) => "Cortex-A77",
        (0x41, 0xD0E) => "Cortex-A76AE",
        (0x41, 0xD40) => "Neoverse V1",
        (0x41, 0xD41) => "Cortex-A78",
        (0x41, 0xD42) => "Cortex-A78AE",
        (0x41, 0xD43) => "Cortex-A65AE",
        (0x41, 0xD44) => "Cortex-X1",
        (0x41, 0xD46) => "Cortex-A510",
        (0x41, 0xD47) => "Cortex-A710",
        (0x41, 0xD48) => "Cortex-X2",
        (0x41, 0xD49) => "Neoverse N2",
        (0x41, 0xD4A) => "Neoverse E1",
        (0x41, 0xD4B) => "Cortex-A78C",
        (0x41, 0xD4C) => "Cortex-X1C",
        (0x41, 0xD4D) => "Cortex-A715",
        (0x41, 0xD4E) => "Cortex-X3",
        (0x41, 0xD4F) => "Neoverse V2",
        (0x41, 0xD80) => "Cortex-A520",
        (0x41, 0xD81) => "Cortex-A720",
        (0x41, 0xD82) => "Cortex-X4",
        (0x41, 0xD83) => "Neoverse V3AE",
        (0x41, 0xD84) => "Neoverse V3",
        (0x41, 0xD85) => "Cortex-X925",
        (0x41, 0xD87) => "Cortex-A725",
        (0x41, 0xD8E) => "Neoverse N3",
        (0x42, 0x100) => "Brahma B53",
        (0x42, 0x516) => "ThunderX2 (Vulcan)",
        (0x43, 0x0A1) => "ThunderX",
        (0x43, 0x0A2) => "ThunderX 81xx",
        (0x43, 0x0A3) => "ThunderX 83xx",
        (0x43, 0x0AF) => "ThunderX2",
        (0x43, 0x0B8) => "ThunderX3",
        (0x46, 0x001) => "A64FX",
        (0x48, 0xD01) => "TaiShan v110 (Kunpeng 920)",
        (0x48, 0xD02) => "TaiShan v120",
        (0x4E, 0x000) => "Denver",
        (0x4E, 0x003) => "Denver 2",
        (0x4E, 0x004) => "Carmel",
        (0x4E, 0x010) => "Olympus",
        (0x50, 0x000) => "X-Gene",
        (0x51, 0x800) | (0x51, 0x801) => "Kryo 2xx",
        (0x51, 0x802) | (0x51, 0x803) => "Kryo 3xx",
        (0x51, 0x804) | (0x51, 0x805) => "Kryo 4xx",
        (0x51, 0xC00) => "Falkor",
        (0x51, 0xC01) => "Saphira",
        (0x51, 0x001) => "Oryon",
        (0x61, 0x022) => "Apple M1 Icestorm",
        (0x61, 0x023) => "Apple M1 Firestorm",
        (0x61, 0x032) => "Apple M2 Blizzard",
        (0x61, 0x033) => "Apple M2 Avalanche",
        (0x70, 0x662) => "FTC662",
        (0x70, 0x663) => "FTC663",
        (0xC0, 0xAC3) => "AmpereOne",
        (0xC0, 0xAC4) | (0xC0, 0xAC5) => "AmpereOne (A192-32X / AmpereOne M)",
        _ => return None,
    })
}

/// The likely product of an Arm server, from the core type and what the
/// firmware says (DMI system vendor, SMCCC SoC id `jep106:BBII:SSSS`).
pub fn arm_platform(
    implementer: u32,
    part: u32,
    sys_vendor: Option<&str>,
    soc_id: Option<&str>,
) -> Option<&'static str> {
    let vendor = sys_vendor.unwrap_or("").to_ascii_lowercase();
    let soc = soc_id.unwrap_or("").to_ascii_lowercase();
    if implementer == 0xC0 {
        return Some("AmpereOne");
    }
    if implementer != 0x41 {
        return None;
    }
    if vendor.contains("amazon") {
        return match part {
            0xD08 => Some("AWS Graviton"),
            0xD0C => Some("AWS Graviton2"),
            0xD40 => Some("AWS Graviton3"),
            0xD4F => Some("AWS Graviton4"),
            _ => None,
        };
    }
    if soc.starts_with("jep106:0a16") || vendor.contains("ampere") {
        return match part {
            0xD0C => Some("Ampere Altra / Altra Max"),
            _ => None,
        };
    }
    if soc.starts_with("jep106:036b") && part == 0xD4F {
        return Some("NVIDIA Grace");
    }
    if vendor.contains("google") && part == 0xD4F {
        return Some("Google Axion");
    }
    if vendor.contains("microsoft") && part == 0xD49 {
        return Some("Azure Cobalt 100");
    }
    if vendor.contains("alibaba") && part == 0xD49 {
        return Some("Alibaba Yitian 710");
    }
    None
}

/// Flags worth showing, in this order, when present.
pub const NOTABLE_X86: &[&str] = &[
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "bmi2",
    "adx",
    "avx512f",
    "avx512dq",
    "avx512cd",
    "avx512bw",
    "avx512vl",
    "avx512ifma",
    "avx512vbmi",
    "avx512_vbmi2",
    "avx512_vnni",
    "avx512_bitalg",
    "avx512_vpopcntdq",
    "avx512_bf16",
    "avx512_fp16",
    "avx_vnni",
    "avx_ifma",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
    "amx_fp16",
    "aes",
    "vaes",
    "vpclmulqdq",
    "sha_ni",
    "gfni",
    "rdrand",
    "rdseed",
    "rtm",
    "sgx",
    "movdir64b",
    "serialize",
    "pku",
    "cat_l3",
    "mba",
    "cqm_llc",
    "hypervisor",
];

pub const NOTABLE_ARM: &[&str] = &[
    "fp",
    "asimd",
    "aes",
    "pmull",
    "sha1",
    "sha2",
    "sha3",
    "sha512",
    "crc32",
    "atomics",
    "asimdrdm",
    "asimddp",
    "asimdfhm",
    "fphp",
    "asimdhp",
    "lrcpc",
    "ilrcpc",
    "dcpop",
    "dcpodp",
    "sve",
    "sve2",
    "sveaes",
    "svebitperm",
    "svei8mm",
    "svebf16",
    "i8mm",
    "bf16",
    "sm3",
    "sm4",
    "rng",
    "paca",
    "pacg",
    "bti",
    "mte",
    "sme",
    "flagm",
    "ssbs",
];

pub fn notable_flags(flags: &[String], arm: bool) -> Vec<String> {
    let set: std::collections::HashSet<&str> = flags.iter().map(String::as_str).collect();
    let list = if arm { NOTABLE_ARM } else { NOTABLE_X86 };
    list.iter()
        .filter(|f| set.contains(**f))
        .map(|f| f.to_string())
        .collect()
}

/// What the firmware and the build say beyond /proc/cpuinfo, the inputs of
/// [`identify`] that are not cpuinfo: gathered by the caller, so that
/// identification reads nothing itself.
#[derive(Debug, Clone, Default)]
pub struct PlatformIds {
    /// The architecture perfspect was built for (`std::env::consts::ARCH`):
    /// decides Arm when cpuinfo names neither vendor nor implementer.
    pub host_arch: &'static str,
    /// DMI `sys_vendor` (e.g. "Amazon EC2"), for naming an Arm product.
    pub sys_vendor: Option<String>,
    /// SMCCC SoC id (`/sys/devices/soc0/soc_id`, `jep106:BBII:SSSS`).
    pub soc_id: Option<String>,
}

/// Who made the CPU and what it is, as the report names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuIdentity {
    /// Arm (implementer/part ids) rather than x86 (family/model ids).
    pub is_arm: bool,
    /// "Intel", "AMD", "Arm", ...: the vendor id put in words.
    pub vendor: Option<String>,
    /// The core design, "Sapphire Rapids" or "Neoverse N1" ("A + B" on big.LITTLE).
    pub microarchitecture: Option<String>,
    /// cpuinfo's `model name`; on Arm, which has none, a name made of the
    /// platform, vendor and core.
    pub model: Option<String>,
}

/// The CPU's vendor, microarchitecture and model name from its cpuinfo and
/// the platform's ids, by the tables above. Pure: reads nothing.
pub fn identify(ci: &CpuInfo, ids: &PlatformIds) -> CpuIdentity {
    let is_arm = ci.implementer.is_some() || ids.host_arch == "aarch64" && ci.vendor.is_none();
    if is_arm {
        identify_arm(ci, ids)
    } else {
        identify_x86(ci)
    }
}

/// Arm: the implementer names the vendor, each (implementer, part) a core;
/// the platform (from DMI and SoC id) names the product when cpuinfo does not.
fn identify_arm(ci: &CpuInfo, ids: &PlatformIds) -> CpuIdentity {
    let imp = ci.implementer;
    let vendor = imp.and_then(arm_implementer).map(String::from);
    let mut names: Vec<String> = ci
        .arm_core_types
        .iter()
        .map(|(i, p)| {
            arm_part(*i, *p)
                .map(String::from)
                .unwrap_or_else(|| format!("part {p:#05x}"))
        })
        .collect();
    if names.is_empty() {
        names.extend(
            ci.part
                .and_then(|p| imp.and_then(|i| arm_part(i, p)))
                .map(String::from),
        );
    }
    let microarchitecture = if names.is_empty() {
        None
    } else {
        Some(names.join(" + "))
    };
    let platform = match (imp, ci.part) {
        (Some(i), Some(p)) => arm_platform(i, p, ids.sys_vendor.as_deref(), ids.soc_id.as_deref()),
        _ => None,
    };
    let model = ci
        .model_name
        .clone()
        .or_else(|| match (platform, &vendor, &microarchitecture) {
            (Some(p), _, Some(u)) => Some(format!("{p} ({u})")),
            (None, Some(v), Some(u)) => Some(format!("{v} {u}")),
            _ => None,
        });
    CpuIdentity {
        is_arm: true,
        vendor,
        microarchitecture,
        model,
    }
}

/// The Intel microarchitectures that have AMX, which no earlier one has.
const INTEL_WITH_AMX: &[&str] = &[
    "Sapphire Rapids",
    "Emerald Rapids",
    "Granite Rapids",
    "Granite Rapids-D",
    "Diamond Rapids",
];

/// x86: the vendor id names the vendor, family/model/stepping the core.
fn identify_x86(ci: &CpuInfo) -> CpuIdentity {
    let vendor_id = ci.vendor.as_deref().unwrap_or_default();
    let fam = ci.family.unwrap_or(0);
    let m = ci.model.unwrap_or(0);
    let name = match vendor_id {
        "GenuineIntel" => intel(fam, m, ci.stepping.unwrap_or(0)).map(String::from),
        "AuthenticAMD" | "HygonGenuine" => amd(fam, m).map(String::from),
        _ => None,
    };
    // Hypervisors may report a made-up model; AMX proves Sapphire Rapids+.
    let has_amx = ci.flags.iter().any(|x| x == "amx_tile");
    let microarchitecture = match name {
        Some(n)
            if vendor_id == "GenuineIntel" && has_amx && !INTEL_WITH_AMX.contains(&n.as_str()) =>
        {
            Some(format!(
                "Sapphire Rapids or newer (AMX present; reported model {m:#x} would be {n})"
            ))
        }
        other => other,
    };
    let vendor = match vendor_id {
        "GenuineIntel" => Some("Intel".to_string()),
        "AuthenticAMD" => Some("AMD".to_string()),
        "HygonGenuine" => Some("Hygon".to_string()),
        "" => None,
        v => Some(v.to_string()),
    };
    CpuIdentity {
        is_arm: false,
        vendor,
        microarchitecture,
        model: ci.model_name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// identify() on a recorded /proc/cpuinfo, with the given platform ids.
    fn identify_file(text: &str, ids: &PlatformIds) -> CpuIdentity {
        identify(&crate::report::parse::cpuinfo_summary(text), ids)
    }

    #[test]
    fn identify_sapphire_rapids_vm() {
        // The hypervisor reports model 0xa7 (Rocket Lake) while the CPU has AMX.
        let id = identify_file(
            include_str!("../../tests/data/cpuinfo-x86_64-sapphire-rapids-vm.txt"),
            &PlatformIds::default(),
        );
        assert!(!id.is_arm);
        assert_eq!(id.vendor.as_deref(), Some("Intel"));
        let uarch = id.microarchitecture.unwrap();
        assert!(
            uarch.starts_with("Sapphire Rapids or newer (AMX present; reported model 0xa7"),
            "{uarch}"
        );
        assert!(id.model.unwrap().contains("Xeon"));
    }

    #[test]
    fn identify_amd_epyc_vm() {
        let id = identify_file(
            include_str!("../../tests/data/cpuinfo-x86_64-amd-epyc-vm.txt"),
            &PlatformIds {
                host_arch: "aarch64",
                ..PlatformIds::default()
            },
        );
        assert_eq!(
            id,
            CpuIdentity {
                is_arm: false,
                vendor: Some("AMD".into()),
                microarchitecture: Some("Zen 4 (EPYC Genoa)".into()),
                model: Some("AMD EPYC".into()),
            }
        );
    }

    #[test]
    fn identify_graviton2() {
        let text = include_str!("../../tests/data/cpuinfo-aarch64-graviton2.txt");
        let on_ec2 = PlatformIds {
            host_arch: "x86_64",
            sys_vendor: Some("Amazon EC2".into()),
            soc_id: None,
        };
        assert_eq!(
            identify_file(text, &on_ec2),
            CpuIdentity {
                is_arm: true,
                vendor: Some("Arm".into()),
                microarchitecture: Some("Neoverse N1".into()),
                model: Some("AWS Graviton2 (Neoverse N1)".into()),
            }
        );
        // Without the firmware's word, the model is named by vendor and core.
        let unknown = identify_file(text, &PlatformIds::default());
        assert_eq!(unknown.model.as_deref(), Some("Arm Neoverse N1"));
    }

    #[test]
    fn identify_without_cpuinfo() {
        let empty = CpuInfo::default();
        let on_arm = PlatformIds {
            host_arch: "aarch64",
            ..PlatformIds::default()
        };
        let id = identify(&empty, &on_arm);
        assert!(id.is_arm && id.vendor.is_none() && id.model.is_none());
        let id = identify(&empty, &PlatformIds::default());
        assert!(!id.is_arm && id.vendor.is_none() && id.microarchitecture.is_none());
    }

    #[test]
    fn intel_names() {
        assert_eq!(intel(6, 0x8F, 8), Some("Sapphire Rapids"));
        assert_eq!(intel(6, 0x55, 4), Some("Skylake-SP"));
        assert_eq!(intel(6, 0x55, 7), Some("Cascade Lake"));
        assert_eq!(intel(6, 0x55, 11), Some("Cooper Lake"));
        assert_eq!(intel(6, 0x6A, 6), Some("Ice Lake-SP"));
        assert_eq!(intel(6, 0xAD, 1), Some("Granite Rapids"));
        assert_eq!(intel(6, 0x4242, 0), None);
        assert_eq!(intel(15, 6, 0), None);
    }

    #[test]
    fn amd_names() {
        assert_eq!(amd(0x17, 0x31), Some("Zen 2 (EPYC Rome)"));
        assert_eq!(amd(0x19, 0x01), Some("Zen 3 (EPYC Milan)"));
        assert_eq!(amd(0x19, 0x11), Some("Zen 4 (EPYC Genoa)"));
        assert_eq!(amd(0x19, 0x61), Some("Zen 4"));
        assert_eq!(amd(0x1A, 0x02), Some("Zen 5 (EPYC Turin)"));
        assert_eq!(amd(0x0F, 0), None);
    }

    #[test]
    fn arm_names() {
        assert_eq!(arm_implementer(0x41), Some("Arm"));
        assert_eq!(arm_part(0x41, 0xD0C), Some("Neoverse N1"));
        assert_eq!(arm_part(0x41, 0xD40), Some("Neoverse V1"));
        assert_eq!(arm_part(0x41, 0xD4F), Some("Neoverse V2"));
        assert_eq!(arm_part(0xC0, 0xAC3), Some("AmpereOne"));
        assert_eq!(arm_part(0x41, 0xFFF), None);
        assert_eq!(
            arm_platform(0x41, 0xD0C, Some("Amazon EC2"), None),
            Some("AWS Graviton2")
        );
        assert_eq!(
            arm_platform(0x41, 0xD4F, Some("Amazon EC2"), None),
            Some("AWS Graviton4")
        );
        assert_eq!(
            arm_platform(0x41, 0xD0C, Some("GIGABYTE"), Some("jep106:0a16:0001")),
            Some("Ampere Altra / Altra Max")
        );
        assert_eq!(arm_platform(0x41, 0xD0C, None, None), None);
    }

    #[test]
    fn notable() {
        let flags: Vec<String> = "fpu avx2 sse4_2 avx512f amx_tile hypervisor"
            .split(' ')
            .map(String::from)
            .collect();
        assert_eq!(
            notable_flags(&flags, false),
            vec!["sse4_2", "avx2", "avx512f", "amx_tile", "hypervisor"]
        );
        let arm: Vec<String> = "fp asimd aes atomics sve"
            .split(' ')
            .map(String::from)
            .collect();
        assert_eq!(
            notable_flags(&arm, true),
            vec!["fp", "asimd", "aes", "atomics", "sve"]
        );
    }
}
