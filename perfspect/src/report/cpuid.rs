//! CPUID, x86_64 only: the ISA table of named features and the frequencies
//! of leaf 0x16. Pure decoding of leaf values ([`Leaves`]) apart from the
//! instruction itself, so recorded leaves of other CPUs test it.

use std::collections::BTreeMap;

/// CPUID results by (leaf, subleaf): [eax, ebx, ecx, edx].
pub type Leaves = BTreeMap<(u32, u32), [u32; 4]>;

/// The leaves the report decodes.
#[cfg(target_arch = "x86_64")]
const WANTED: &[(u32, u32)] = &[(0, 0), (1, 0), (7, 0), (7, 1), (0x16, 0)];

/// Runs CPUID on this CPU; None on other architectures.
pub fn read() -> Option<Leaves> {
    #[cfg(target_arch = "x86_64")]
    {
        let mut m = Leaves::new();
        // SAFETY: CPUID exists on every x86_64 CPU; leaves above the maximum
        // return the values of the highest basic leaf, filtered below.
        #[allow(unused_unsafe)]
        let max = unsafe { core::arch::x86_64::__cpuid_count(0, 0) }.eax;
        for &(leaf, sub) in WANTED {
            if leaf <= max {
                #[allow(unused_unsafe)]
                let r = unsafe { core::arch::x86_64::__cpuid_count(leaf, sub) };
                m.insert((leaf, sub), [r.eax, r.ebx, r.ecx, r.edx]);
            }
        }
        Some(m)
    }
    #[cfg(not(target_arch = "x86_64"))]
    None
}

/// Parses a dump: "leaf subleaf eax ebx ecx edx" in hex per line, # comments.
#[cfg(test)]
pub fn parse_dump(text: &str) -> Leaves {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let v: Vec<u32> = l
                .split_whitespace()
                .map(|x| u32::from_str_radix(x, 16).ok())
                .collect::<Option<_>>()?;
            (v.len() == 6).then(|| ((v[0], v[1]), [v[2], v[3], v[4], v[5]]))
        })
        .collect()
}

/// Name, what it is, /proc/cpuinfo flag, leaf, subleaf, register (0 eax ..
/// 3 edx), bit.
pub const FEATURES: &[(&str, &str, &str, u32, u32, usize, u32)] = &[
    (
        "SSE4.2",
        "Streaming SIMD Extensions 4.2",
        "sse4_2",
        1,
        0,
        2,
        20,
    ),
    ("AES-NI", "AES instructions", "aes", 1, 0, 2, 25),
    ("AVX", "Advanced Vector Extensions", "avx", 1, 0, 2, 28),
    ("AVX2", "Advanced Vector Extensions 2", "avx2", 7, 0, 1, 5),
    (
        "BMI2",
        "Bit Manipulation Instructions 2",
        "bmi2",
        7,
        0,
        1,
        8,
    ),
    (
        "RTM",
        "Transactional Synchronization Extensions",
        "rtm",
        7,
        0,
        1,
        11,
    ),
    ("AVX-512F", "AVX-512 Foundation", "avx512f", 7, 0, 1, 16),
    ("SHA", "SHA instructions", "sha_ni", 7, 0, 1, 29),
    ("WAITPKG", "UMONITOR/UMWAIT/TPAUSE", "waitpkg", 7, 0, 2, 5),
    ("GFNI", "Galois Field instructions", "gfni", 7, 0, 2, 8),
    ("VAES", "Vector AES", "vaes", 7, 0, 2, 9),
    (
        "VPCLMULQDQ",
        "Vector carry-less multiply",
        "vpclmulqdq",
        7,
        0,
        2,
        10,
    ),
    (
        "AVX-512 VNNI",
        "AVX-512 Vector Neural Network Instructions",
        "avx512_vnni",
        7,
        0,
        2,
        11,
    ),
    ("CLDEMOTE", "Cache line demote", "cldemote", 7, 0, 2, 25),
    (
        "MOVDIRI",
        "Direct store of a doubleword",
        "movdiri",
        7,
        0,
        2,
        27,
    ),
    (
        "MOVDIR64B",
        "Direct store of 64 bytes",
        "movdir64b",
        7,
        0,
        2,
        28,
    ),
    (
        "ENQCMD",
        "Enqueue stores (DSA/IAA work submission)",
        "enqcmd",
        7,
        0,
        2,
        29,
    ),
    (
        "SERIALIZE",
        "Serialize instruction execution",
        "serialize",
        7,
        0,
        3,
        14,
    ),
    (
        "TSXLDTRK",
        "TSX suspend load address tracking",
        "tsxldtrk",
        7,
        0,
        3,
        16,
    ),
    (
        "AMX-BF16",
        "Advanced Matrix Extensions, bfloat16",
        "amx_bf16",
        7,
        0,
        3,
        22,
    ),
    (
        "AVX-512 FP16",
        "AVX-512 half precision",
        "avx512_fp16",
        7,
        0,
        3,
        23,
    ),
    (
        "AMX-TILE",
        "Advanced Matrix Extensions, tiles",
        "amx_tile",
        7,
        0,
        3,
        24,
    ),
    (
        "AMX-INT8",
        "Advanced Matrix Extensions, int8",
        "amx_int8",
        7,
        0,
        3,
        25,
    ),
    (
        "AVX-VNNI",
        "AVX (VEX) Vector Neural Network Instructions",
        "avx_vnni",
        7,
        1,
        0,
        4,
    ),
    (
        "AVX-512 BF16",
        "AVX-512 bfloat16",
        "avx512_bf16",
        7,
        1,
        0,
        5,
    ),
    (
        "AMX-FP16",
        "Advanced Matrix Extensions, fp16",
        "amx_fp16",
        7,
        1,
        0,
        21,
    ),
];

/// Whether CPUID reports the feature; None when the leaf is beyond the CPU's.
pub fn has(l: &Leaves, leaf: u32, sub: u32, reg: usize, bit: u32) -> Option<bool> {
    l.get(&(leaf, sub)).map(|r| r[reg] >> bit & 1 == 1)
}

/// Leaf 0x16: (base, max) MHz, where the CPU (or hypervisor) fills it.
pub fn frequencies(l: &Leaves) -> (Option<u32>, Option<u32>) {
    let r = l.get(&(0x16, 0));
    let nz = |v: u32| (v & 0xffff != 0).then_some(v & 0xffff);
    (r.and_then(|r| nz(r[0])), r.and_then(|r| nz(r[1])))
}

/// "GenuineIntel", "AuthenticAMD", ...
#[cfg(test)]
pub fn vendor(l: &Leaves) -> Option<String> {
    let r = l.get(&(0, 0))?;
    let b: Vec<u8> = [r[1], r[3], r[2]]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    Some(String::from_utf8_lossy(&b).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_vm() {
        let l = parse_dump(include_str!("../../tests/data/cpuid-x86_64-vm.txt"));
        assert_eq!(vendor(&l).as_deref(), Some("AuthenticAMD"));
        let f = |n: &str| {
            let e = FEATURES.iter().find(|f| f.0 == n).unwrap();
            has(&l, e.3, e.4, e.5, e.6)
        };
        assert_eq!(f("AVX2"), Some(true));
        assert_eq!(f("AVX-512F"), Some(true));
        assert_eq!(f("AVX-512 BF16"), Some(true));
        assert_eq!(f("AMX-TILE"), Some(false));
        assert_eq!(
            frequencies(&l),
            (None, None),
            "the hypervisor leaves 0x16 empty"
        );
    }

    #[test]
    fn sapphire_rapids_made() {
        let l = parse_dump(include_str!("../../tests/data/cpuid-spr-made.txt"));
        assert_eq!(vendor(&l).as_deref(), Some("GenuineIntel"));
        for n in [
            "AMX-TILE",
            "AMX-BF16",
            "AMX-INT8",
            "AVX-512 FP16",
            "ENQCMD",
            "AVX-VNNI",
        ] {
            let e = FEATURES.iter().find(|f| f.0 == n).unwrap();
            assert_eq!(has(&l, e.3, e.4, e.5, e.6), Some(true), "{n}");
        }
        assert_eq!(frequencies(&l), (Some(2000), Some(3800)));
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn live_cpuid_agrees_with_the_kernel_where_both_speak() {
        let l = read().expect("CPUID on x86_64");
        let flags = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        // The kernel may hide features (e.g. clearcpuid), but never adds one
        // CPUID lacks: avx2 in /proc/cpuinfo implies the CPUID bit.
        if flags.split_whitespace().any(|f| f == "avx2") {
            assert_eq!(has(&l, 7, 0, 1, 5), Some(true));
        }
        assert!(vendor(&l).is_some());
    }
}
