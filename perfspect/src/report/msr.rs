//! Model-specific registers through /dev/cpu/N/msr (root and the msr module),
//! and pure decoders of the values the report shows (Intel SDM vol. 4).

use super::system::Sys;
use std::os::unix::fs::FileExt;

pub const PPIN_CTL: u32 = 0x4e;
pub const PPIN: u32 = 0x4f;
pub const ARCH_CAPABILITIES: u32 = 0x10a;
pub const PLATFORM_INFO: u32 = 0xce;
pub const PKG_CST_CONFIG: u32 = 0xe2;
pub const PERFEVTSEL0: u32 = 0x186;
pub const MISC_FEATURE_CONTROL: u32 = 0x1a4;
pub const TURBO_RATIO_LIMIT: u32 = 0x1ad;
pub const TURBO_RATIO_LIMIT_CORES: u32 = 0x1ae;
pub const ENERGY_PERF_BIAS: u32 = 0x1b0;
pub const FIXED_CTR_CTRL: u32 = 0x38d;
pub const PERF_GLOBAL_CTRL: u32 = 0x38f;
pub const RAPL_POWER_UNIT: u32 = 0x606;
pub const PKG_POWER_LIMIT: u32 = 0x610;
pub const PKG_POWER_INFO: u32 = 0x614;
pub const UNCORE_RATIO_LIMIT: u32 = 0x620;
pub const TME_ACTIVATE: u32 = 0x982;

/// Reads MSRs of one CPU, or says why it cannot.
pub struct Msr {
    file: Result<std::fs::File, String>,
}

impl Msr {
    /// `intel`: the CPU vendor is Intel (the registers above are Intel's).
    pub fn open(sys: &Sys, cpu: u32, vendor: Option<&str>) -> Msr {
        let file = if !cfg!(target_arch = "x86_64") {
            Err(format!(
                "not applicable to {} (x86 MSRs)",
                std::env::consts::ARCH
            ))
        } else if vendor.is_some_and(|v| v != "GenuineIntel") {
            Err(format!(
                "not applicable to {} (Intel MSR)",
                vendor_name(vendor.unwrap_or(""))
            ))
        } else if !sys.is_real() {
            Err("MSRs are not read from a saved tree".into())
        } else {
            let path = format!("/dev/cpu/{cpu}/msr");
            std::fs::File::open(&path).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => {
                    "the msr module is not loaded (modprobe msr, as root)".to_string()
                }
                std::io::ErrorKind::PermissionDenied => format!("needs root ({path})"),
                _ => format!("cannot open {path}: {e}"),
            })
        };
        Msr { file }
    }

    pub fn read(&self, reg: u32) -> Result<u64, String> {
        let f = self.file.as_ref().map_err(Clone::clone)?;
        let mut b = [0u8; 8];
        f.read_exact_at(&mut b, u64::from(reg)).map_err(|_| {
            format!("MSR {reg:#x} not readable (absent on this CPU or hidden by the hypervisor)")
        })?;
        Ok(u64::from_le_bytes(b))
    }
}

fn vendor_name(v: &str) -> &str {
    match v {
        "AuthenticAMD" => "AMD",
        "HygonGenuine" => "Hygon",
        _ => v,
    }
}

/// Turbo ratio buckets: (active cores up to, MHz). With the core-count
/// register (Skylake-SP and later) each byte gives a bucket's core count;
/// without it bucket i is i+1 cores.
pub fn turbo_buckets(ratios: u64, cores: Option<u64>) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    for i in 0..8 {
        let ratio = (ratios >> (i * 8)) as u8;
        if ratio == 0 {
            continue;
        }
        let n = match cores {
            Some(c) if c != 0 => (c >> (i * 8)) as u8 as u32,
            _ => i + 1,
        };
        if n == 0 || out.last().is_some_and(|(prev, _)| *prev >= n) {
            continue;
        }
        out.push((n, u32::from(ratio) * 100));
    }
    out
}

/// PLATFORM_INFO bits 15:8: the base (non-turbo) ratio, in MHz.
pub fn base_mhz(platform_info: u64) -> Option<u32> {
    let r = (platform_info >> 8) as u8;
    (r != 0).then_some(u32::from(r) * 100)
}

/// MISC_FEATURE_CONTROL: the four prefetchers, each (name, enabled); a set
/// bit disables.
pub fn prefetchers(v: u64) -> [(&'static str, &'static str, bool); 4] {
    [
        (
            "L2 hardware",
            "fetches lines into L2 from memory access patterns",
            v & 1 == 0,
        ),
        (
            "L2 adjacent line",
            "fetches the pair of each line into L2",
            v & 2 == 0,
        ),
        (
            "DCU streamer",
            "fetches the next line into L1D on ascending accesses",
            v & 4 == 0,
        ),
        (
            "DCU IP",
            "fetches into L1D by instruction pointer stride",
            v & 8 == 0,
        ),
    ]
}

/// Power in watts from a 15-bit field and RAPL_POWER_UNIT bits 3:0.
pub fn watts(field: u64, unit: u64) -> f64 {
    (field & 0x7fff) as f64 / f64::from(1u32 << (unit & 0xf))
}

/// PKG_POWER_LIMIT: ((PL1 W, enabled), (PL2 W, enabled)).
pub fn power_limits(v: u64, unit: u64) -> ((f64, bool), (f64, bool)) {
    (
        (watts(v, unit), v >> 15 & 1 == 1),
        (watts(v >> 32, unit), v >> 47 & 1 == 1),
    )
}

/// UNCORE_RATIO_LIMIT: (min MHz, max MHz).
pub fn uncore_limits(v: u64) -> (u32, u32) {
    (((v >> 8) & 0x7f) as u32 * 100, (v & 0x7f) as u32 * 100)
}

/// ARCH_CAPABILITIES bits the CVE table explains: (bit, name, meaning when set).
pub const ARCH_CAP_BITS: &[(u32, &str, &str)] = &[
    (
        0,
        "RDCL_NO",
        "not vulnerable to Meltdown (rogue data cache load)",
    ),
    (
        1,
        "IBRS_ALL",
        "enhanced IBRS: Spectre v2 mitigated in hardware",
    ),
    (4, "SSB_NO", "not vulnerable to speculative store bypass"),
    (
        5,
        "MDS_NO",
        "not vulnerable to microarchitectural data sampling",
    ),
    (6, "IF_PSCHANGE_MC_NO", "not vulnerable to iTLB multihit"),
    (8, "TAA_NO", "not vulnerable to TSX asynchronous abort"),
    (
        13,
        "SBDR_SSDP_NO",
        "not vulnerable to MMIO stale data (SBDR/SSDP)",
    ),
    (14, "FBSDP_NO", "not vulnerable to MMIO stale data (FBSDP)"),
    (15, "PSDP_NO", "not vulnerable to MMIO stale data (PSDP)"),
    (17, "FB_CLEAR", "VERW clears fill buffers (MMIO mitigation)"),
    (19, "RRSBA", "RSB underflow may use alternate predictors"),
    (20, "BHI_NO", "not vulnerable to branch history injection"),
    (
        24,
        "PBRSB_NO",
        "not vulnerable to post-barrier RSB predictions",
    ),
    (
        26,
        "GDS_NO",
        "not vulnerable to gather data sampling (Downfall)",
    ),
    (
        27,
        "RFDS_NO",
        "not vulnerable to register file data sampling",
    ),
];

/// PKG_CST_CONFIG_CONTROL bits 2:0: the deepest package C-state allowed
/// (the encoding of Skylake-SP and later server parts).
pub fn package_cstate_limit(v: u64) -> &'static str {
    match v & 7 {
        0 => "C0/C1 (no package C-state)",
        1 => "C2",
        2 => "C6 (non-retention)",
        3 => "C6 (retention)",
        7 => "no limit",
        _ => "reserved",
    }
}

/// TME_ACTIVATE: bit 1 enables total memory encryption, bit 0 locks it.
pub fn tme(v: u64) -> &'static str {
    match (v >> 1 & 1, v & 1) {
        (1, _) => "enabled",
        (0, 1) => "disabled (locked)",
        _ => "disabled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values made to the SDM's layout for a Xeon 8480+ (56 cores, base 2.0
    /// GHz, all-core turbo 3.0, max 3.8 GHz, TDP 350 W), labelled in
    /// tests/data/README.md.
    #[test]
    fn decoders_on_made_values() {
        let b = turbo_buckets(0x1e1f2021_22232526, Some(0x38302820_18100804));
        assert_eq!(b[0], (4, 3800));
        assert_eq!(b[1], (8, 3700));
        assert_eq!(*b.last().unwrap(), (56, 3000));
        assert_eq!(b.len(), 8);
        // Older parts: no core-count register, bucket i is i+1 cores.
        assert_eq!(
            turbo_buckets(0x2123_2526, None),
            [(1, 3800), (2, 3700), (3, 3500), (4, 3300)]
        );
        assert_eq!(base_mhz(0x0000_0800_6000_1400), Some(2000));
        let p = prefetchers(0b0101);
        assert!(!p[0].2 && p[1].2 && !p[2].2 && p[3].2);
        // Units 1/8 W; PL1 350 W enabled, PL2 420 W enabled.
        let unit = 0x000a_0e03;
        assert_eq!(watts(0xaf0, unit), 350.0);
        assert_eq!(
            power_limits(0x0000_8d20_0000_8af0, unit),
            ((350.0, true), (420.0, true))
        );
        assert_eq!(uncore_limits(0x0819), (800, 2500));
        assert_eq!(package_cstate_limit(0x1e008403), "C6 (retention)");
        assert_eq!(tme(0x3), "enabled");
        assert_eq!(tme(0x1), "disabled (locked)");
    }

    #[test]
    fn reasons() {
        let amd = Msr::open(&Sys::new(), 0, Some("AuthenticAMD"));
        let e = amd.read(PPIN).unwrap_err();
        if cfg!(target_arch = "x86_64") {
            assert_eq!(e, "not applicable to AMD (Intel MSR)");
        } else {
            assert!(e.starts_with("not applicable to aarch64"), "{e}");
        }
    }
}
