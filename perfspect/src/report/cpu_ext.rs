//! CPU, Power, Security and Status tables that read the processor itself:
//! CPUID (ISA, frequencies), MSRs (PPIN, turbo buckets, prefetchers, power
//! limits, EPB, uncore, ARCH_CAPABILITIES, PMU use) and the sysfs files that
//! carry the same facts without root (EPB, EPP, powercap, uncore).

use super::cpuid::{self, Leaves};
use super::model::{Section, Table, Val};
use super::msr::{self, Msr};
use super::parse;
use super::probe;
use super::system::Sys;

pub struct Cpu {
    leaves: Option<Leaves>,
    msr: Msr,
    flags: Vec<String>,
}

impl Cpu {
    pub fn read(sys: &Sys, ci: &parse::CpuInfo) -> Cpu {
        Cpu {
            // CPUID describes the CPU we run on: not from a saved tree.
            leaves: if sys.is_real() { cpuid::read() } else { None },
            msr: Msr::open(sys, 0, ci.vendor.as_deref()),
            flags: ci.flags.clone(),
        }
    }

    fn cpuid_why(&self, sys: &Sys) -> String {
        if !cfg!(target_arch = "x86_64") {
            format!(
                "not applicable to {} (CPUID is x86)",
                std::env::consts::ARCH
            )
        } else if !sys.is_real() {
            "CPUID is not read from a saved tree".into()
        } else {
            "CPUID leaf not available".into()
        }
    }

    /// CPU group: PPIN, frequencies, L3 per core; turbo buckets, ISA, prefetchers.
    pub fn cpu_sections(&self, sys: &Sys) -> Vec<Section> {
        let mut s = Section::new("cpu_details", "CPU details");
        let ppin = match (self.msr.read(msr::PPIN_CTL), self.msr.read(msr::PPIN)) {
            (Ok(ctl), _) if ctl & 2 == 0 => {
                Val::na("PPIN disabled in the BIOS (PPIN_CTL enable bit clear)")
            }
            (_, Ok(v)) => Val::text(format!("{v:#018x}")),
            (_, Err(e)) => Val::na(e),
        };
        let (cpuid_base, cpuid_max) = self
            .leaves
            .as_ref()
            .map(cpuid::frequencies)
            .unwrap_or((None, None));
        let buckets = self
            .msr
            .read(msr::TURBO_RATIO_LIMIT)
            .map(|r| msr::turbo_buckets(r, self.msr.read(msr::TURBO_RATIO_LIMIT_CORES).ok()));
        let base = match self
            .msr
            .read(msr::PLATFORM_INFO)
            .ok()
            .and_then(msr::base_mhz)
            .or(cpuid_base)
        {
            Some(m) => Val::Mhz(f64::from(m)),
            None => Val::na(format!(
                "{}; CPUID leaf 0x16 empty",
                self.msr.read(msr::PLATFORM_INFO).err().unwrap_or_default()
            )),
        };
        let from_buckets = |last: bool| match &buckets {
            Ok(b) if !b.is_empty() => {
                let x = if last { b.last() } else { b.first() };
                Val::Mhz(f64::from(x.map(|x| x.1).unwrap_or(0)))
            }
            Ok(_) => Val::na("turbo ratio register is zero"),
            Err(e) => Val::na(e.clone()),
        };
        let max = match (&buckets, cpuid_max) {
            (Ok(b), _) if !b.is_empty() => from_buckets(false),
            (_, Some(m)) => Val::Mhz(f64::from(m)),
            _ => from_buckets(false),
        };
        s.field("ppin", "PPIN", ppin)
            .field("base_frequency_mhz", "Base frequency", base)
            .field(
                "all_core_max_frequency_mhz",
                "All-core maximum frequency",
                from_buckets(true),
            )
            .field("max_frequency_mhz", "Maximum frequency", max)
            .field("l3_per_core_bytes", "L3 per core", l3_per_core(sys));
        let mut turbo = Table::new(
            "turbo_buckets",
            "Turbo frequency by active cores",
            &[
                ("cores", "Active cores"),
                ("frequency_mhz", "Maximum frequency"),
            ],
        );
        match &buckets {
            Ok(b) => {
                let mut from = 1;
                for (n, mhz) in b {
                    turbo.rows.push(vec![
                        Val::text(format!("{from}-{n}")),
                        Val::Mhz(f64::from(*mhz)),
                    ]);
                    from = n + 1;
                }
            }
            Err(e) => turbo = turbo.empty_because(e.clone()),
        }
        s.tables.push(turbo);

        let mut isa = Table::new(
            "isa_features",
            "ISA",
            &[
                ("name", "Instruction set"),
                ("description", "Description"),
                ("cpu", "CPU supports (CPUID)"),
                ("kernel", "Kernel enables (/proc/cpuinfo)"),
            ],
        );
        if cfg!(target_arch = "x86_64") {
            for (name, what, flag, leaf, sub, reg, bit) in cpuid::FEATURES {
                let cpu = match &self.leaves {
                    Some(l) => Val::opt_bool(cpuid::has(l, *leaf, *sub, *reg, *bit))
                        .or_why(format!("CPUID leaf {leaf:#x} beyond this CPU's maximum")),
                    None => Val::na(self.cpuid_why(sys)),
                };
                let kernel = if self.flags.is_empty() {
                    Val::na("/proc/cpuinfo not readable")
                } else {
                    Val::Bool(self.flags.iter().any(|f| f == flag))
                };
                isa.rows
                    .push(vec![Val::text(*name), Val::text(*what), cpu, kernel]);
            }
        } else {
            isa = isa.empty_because(format!(
                "not applicable to {}: its features are the isa field of the CPU section",
                std::env::consts::ARCH
            ));
        }
        s.tables.push(isa);

        let mut pf = Table::new(
            "prefetchers",
            "Prefetchers",
            &[
                ("name", "Prefetcher"),
                ("description", "Description"),
                ("enabled", "Enabled"),
            ],
        );
        match self.msr.read(msr::MISC_FEATURE_CONTROL) {
            Ok(v) => {
                for (n, d, on) in msr::prefetchers(v) {
                    pf.rows
                        .push(vec![Val::text(n), Val::text(d), Val::Bool(on)]);
                }
            }
            Err(e) => pf = pf.empty_because(e),
        }
        s.tables.push(pf);
        vec![s]
    }

    /// Power group: TDP and limits, EPB, EPP, package C-state; uncore; Speed Select.
    pub fn power_sections(&self, sys: &Sys) -> Vec<Section> {
        let mut s = Section::new("power_limits", "Power limits and energy policy");
        let unit = self.msr.read(msr::RAPL_POWER_UNIT);
        let rapl = rapl_sysfs(sys);
        let tdp = match (&self.msr.read(msr::PKG_POWER_INFO), &unit) {
            (Ok(v), Ok(u)) => Val::text(format!("{} W", msr::watts(*v, *u))),
            (Err(e), _) | (_, Err(e)) => match &rapl {
                Some((pl1, _)) => Val::text(format!("{pl1} W (PL1 from powercap; {e})")),
                None => Val::na(e.clone()),
            },
        };
        let (pl1, pl2) = match (&self.msr.read(msr::PKG_POWER_LIMIT), &unit) {
            (Ok(v), Ok(u)) => {
                let ((a, ae), (b, be)) = msr::power_limits(*v, *u);
                let f = |w: f64, on: bool| {
                    Val::text(format!("{w} W{}", if on { "" } else { " (disabled)" }))
                };
                (f(a, ae), f(b, be))
            }
            (Err(e), _) | (_, Err(e)) => match &rapl {
                Some((a, b)) => (
                    Val::text(format!("{a} W")),
                    b.map(|b| Val::text(format!("{b} W")))
                        .unwrap_or_else(|| Val::na("powercap gives no short-term limit")),
                ),
                None => (Val::na(e.clone()), Val::na(e.clone())),
            },
        };
        let epb = sys
            .read("/sys/devices/system/cpu/cpu0/power/energy_perf_bias")
            .map(|v| Val::text(epb_name(&v)))
            .unwrap_or_else(|| match self.msr.read(msr::ENERGY_PERF_BIAS) {
                Ok(v) => Val::text(epb_name(&(v & 0xf).to_string())),
                Err(e) => Val::na(format!("no energy_perf_bias in sysfs; {e}")),
            });
        let epp = Val::or_na(
            sys.read("/sys/devices/system/cpu/cpu0/cpufreq/energy_performance_preference"),
            "not exposed: the cpufreq driver has no EPP (HWP or amd-pstate in active mode)",
        );
        let cst = match self.msr.read(msr::PKG_CST_CONFIG) {
            Ok(v) => Val::text(msr::package_cstate_limit(v)),
            Err(e) => Val::na(e),
        };
        s.field("tdp", "TDP", tdp)
            .field("pl1", "Power limit 1 (long term)", pl1)
            .field("pl2", "Power limit 2 (short term)", pl2)
            .field("epb", "Energy performance bias (EPB)", epb)
            .field("epp", "Energy performance preference (EPP)", epp)
            .field("package_cstate_limit", "Package C-state limit", cst);

        let mut u = Section::new("uncore", "Uncore frequency");
        let dir = "/sys/devices/system/cpu/intel_uncore_frequency";
        let dies = sys.list(dir);
        let mut t = Table::new(
            "uncore_frequency",
            "Uncore frequency",
            &[
                ("die", "Package/die"),
                ("min_mhz", "Minimum"),
                ("max_mhz", "Maximum"),
                ("current_mhz", "Current"),
            ],
        );
        for d in dies.iter().filter(|d| d.starts_with("package")) {
            let k = |f: &str| {
                sys.num::<u64>(&format!("{dir}/{d}/{f}"))
                    .map(|k| Val::Mhz(k as f64 / 1000.0))
            };
            t.rows.push(vec![
                Val::text(d.clone()),
                k("min_freq_khz").unwrap_or(Val::Missing),
                k("max_freq_khz").unwrap_or(Val::Missing),
                k("current_freq_khz").unwrap_or_else(|| Val::na("needs a newer kernel")),
            ]);
        }
        if t.rows.is_empty() {
            match self.msr.read(msr::UNCORE_RATIO_LIMIT) {
                Ok(v) => {
                    let (lo, hi) = msr::uncore_limits(v);
                    t.rows.push(vec![
                        Val::text("package 0 (MSR)"),
                        Val::Mhz(f64::from(lo)),
                        Val::Mhz(f64::from(hi)),
                        Val::na("the MSR holds limits only"),
                    ]);
                }
                Err(e) => {
                    t = t.empty_because(format!(
                        "{dir} absent (intel_uncore_frequency driver not loaded); {e}"
                    ))
                }
            }
        }
        u.tables.push(t);

        let mut ss = Section::new("speed_select", "Intel Speed Select");
        let sst = if !self.msr_is_intel() {
            Val::na(self.msr.read(0).err().unwrap_or_default())
        } else {
            match probe::run(sys, "intel-speed-select", &["--info"]) {
                Ok(out) => Val::text(
                    out.lines()
                        .filter(|l| !l.trim().is_empty())
                        .take(12)
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
                Err(e) => Val::na(if e.contains("not bundled") {
                    format!("not available: {e}")
                } else {
                    e
                }),
            }
        };
        ss.field("info", "intel-speed-select --info", sst);
        vec![s, u, ss]
    }

    fn msr_is_intel(&self) -> bool {
        match self.msr.read(0x10) {
            Ok(_) => true,
            Err(e) => !e.starts_with("not applicable"),
        }
    }

    /// Memory group: total memory encryption.
    pub fn memory_encryption(&self) -> Section {
        let mut s = Section::new("memory_encryption", "Memory encryption");
        let tme = match self.msr.read(msr::TME_ACTIVATE) {
            Ok(v) => Val::text(msr::tme(v)),
            Err(e)
                if !self.flags.iter().any(|f| f == "tme") && !e.starts_with("not applicable") =>
            {
                Val::na(format!("the CPU lists no tme flag; {e}"))
            }
            Err(e) => Val::na(e),
        };
        s.field("tme", "Total memory encryption (TME)", tme);
        s
    }

    /// Security group: ARCH_CAPABILITIES, the bits behind the kernel's CVE view.
    pub fn arch_capabilities(&self) -> Section {
        let mut s = Section::new("cve_msr", "Vulnerability bits (ARCH_CAPABILITIES)");
        let mut t = Table::new(
            "arch_capabilities",
            "IA32_ARCH_CAPABILITIES",
            &[
                ("bit", "Bit"),
                ("name", "Name"),
                ("set", "Set"),
                ("meaning", "Meaning when set"),
            ],
        );
        let listed = self.flags.iter().any(|f| f == "arch_capabilities");
        match self.msr.read(msr::ARCH_CAPABILITIES) {
            Ok(v) => {
                for (bit, name, what) in msr::ARCH_CAP_BITS {
                    t.rows.push(vec![
                        Val::Int(i64::from(*bit)),
                        Val::text(*name),
                        Val::Bool(v >> bit & 1 == 1),
                        Val::text(*what),
                    ]);
                }
            }
            Err(e) if !listed && !self.flags.is_empty() && !e.starts_with("not applicable") => {
                t = t.empty_because(format!("the CPU lists no arch_capabilities flag; {e}"))
            }
            Err(e) => t = t.empty_because(e),
        }
        s.tables.push(t);
        s
    }

    /// Status group: PMU counters programmed by someone else (CPU 0).
    pub fn pmu(&self, sys: &Sys) -> Section {
        let mut s = Section::new("pmu", "PMU in use");
        let name = ["cpu", "cpu_core"]
            .iter()
            .find_map(|d| sys.read(&format!("/sys/bus/event_source/devices/{d}/caps/pmu_name")));
        s.field(
            "pmu_name",
            "PMU driver",
            Val::or_na(name, "the kernel exposes no core PMU (common in VMs)"),
        );
        let mut t = Table::new(
            "pmu_registers",
            "PMU registers (CPU 0)",
            &[
                ("register", "Register"),
                ("value", "Value"),
                ("in_use", "In use"),
            ],
        );
        let mut regs: Vec<(String, u32, u64)> = vec![
            (
                "IA32_PERF_GLOBAL_CTRL".into(),
                msr::PERF_GLOBAL_CTRL,
                u64::MAX,
            ),
            ("IA32_FIXED_CTR_CTRL".into(), msr::FIXED_CTR_CTRL, u64::MAX),
        ];
        for i in 0..4 {
            regs.push((format!("IA32_PERFEVTSEL{i}"), msr::PERFEVTSEL0 + i, 1 << 22));
        }
        for (name, reg, mask) in regs {
            match self.msr.read(reg) {
                Ok(v) => t.rows.push(vec![
                    Val::text(name),
                    Val::text(format!("{v:#x}")),
                    Val::Bool(v & mask != 0),
                ]),
                Err(e) => {
                    t = t.empty_because(e);
                    break;
                }
            }
        }
        s.tables.push(t);
        s
    }
}

/// Long- and short-term package limits from powercap (watts), readable
/// without root: intel-rapl:0 constraint 0 (long) and 1 (short).
fn rapl_sysfs(sys: &Sys) -> Option<(f64, Option<f64>)> {
    let p = "/sys/class/powercap/intel-rapl:0";
    let w = |c: u32| {
        sys.num::<u64>(&format!("{p}/constraint_{c}_power_limit_uw"))
            .map(|u| u as f64 / 1e6)
    };
    Some((w(0)?, w(1)))
}

/// The kernel's names for EPB values.
fn epb_name(v: &str) -> String {
    let name = match v.trim() {
        "0" => "performance",
        "4" => "balance-performance",
        "6" => "normal",
        "8" => "balance-power",
        "15" => "power",
        _ => "",
    };
    if name.is_empty() {
        v.trim().to_string()
    } else {
        format!("{} ({name})", v.trim())
    }
}

/// L3 bytes per physical core: one L3 instance over the cores that share it.
fn l3_per_core(sys: &Sys) -> Val {
    let c = "/sys/devices/system/cpu/cpu0";
    let idx = sys
        .list(&format!("{c}/cache"))
        .into_iter()
        .find(|i| sys.read(&format!("{c}/cache/{i}/level")).as_deref() == Some("3"));
    let Some(idx) = idx else {
        return Val::na("no L3 cache listed in sysfs");
    };
    let size = sys
        .read(&format!("{c}/cache/{idx}/size"))
        .and_then(|s| parse::parse_cache_size(&s));
    let sharing = sys
        .read(&format!("{c}/cache/{idx}/shared_cpu_list"))
        .map(|l| parse::parse_cpulist(&l).len());
    let smt = sys
        .read(&format!("{c}/topology/thread_siblings_list"))
        .map(|l| parse::parse_cpulist(&l).len())
        .unwrap_or(1)
        .max(1);
    match (size, sharing) {
        (Some(s), Some(n)) if n > 0 => Val::Bytes(s / (n / smt).max(1) as u64),
        _ => Val::Missing,
    }
}
