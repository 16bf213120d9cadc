//! The CPU group: identification, topology, frequencies, caches, ISA.
//!
//! In three steps: [`CpuFacts::read`] gathers what the section needs from
//! /sys, [`uarch::identify`] names the CPU from cpuinfo and those facts
//! without reading anything, and [`build_section`] lays out the result.

use super::host::dmi;
use super::model::{Section, Table, Val};
use super::parse::{self, CpuTopo};
use super::system::{Sys, khz_to_mhz, numbered};
use super::uarch::{self, CpuIdentity, PlatformIds};
use std::collections::BTreeSet;

/// Per-cache-index information gathered from all CPUs.
#[derive(Debug, Clone, Default)]
struct CacheRow {
    level: Option<i64>,
    kind: Option<String>,
    size: Option<u64>,
    ways: Option<i64>,
    line: Option<i64>,
    shared_by: usize,
    instances: usize,
}

/// The caches of the first CPU, by index, with how many instances each has
/// over all `cpus`.
fn caches(sys: &Sys, cpus: &[(u32, String)]) -> Vec<CacheRow> {
    let base = CPU_SYSFS;
    let Some((_, cpu0)) = cpus.first() else {
        return Vec::new();
    };
    let indexes = numbered(&sys.list(&format!("{base}/{cpu0}/cache")), "index");
    let mut rows = Vec::new();
    for (_, idx) in indexes {
        let p = |f: &str| format!("{base}/{cpu0}/cache/{idx}/{f}");
        let shared = sys.read(&p("shared_cpu_list")).unwrap_or_default();
        // Instances: distinct sharing sets of this index over all CPUs.
        let mut sets: BTreeSet<Vec<u32>> = BTreeSet::new();
        for (_, c) in cpus {
            if let Some(l) = sys.read(&format!("{base}/{c}/cache/{idx}/shared_cpu_list")) {
                sets.insert(parse::parse_cpulist(&l));
            }
        }
        rows.push(CacheRow {
            level: sys.num(&p("level")),
            kind: sys.read(&p("type")),
            size: sys
                .read(&p("size"))
                .and_then(|s| parse::parse_cache_size(&s)),
            ways: sys.num(&p("ways_of_associativity")),
            line: sys.num(&p("coherency_line_size")),
            shared_by: parse::parse_cpulist(&shared).len(),
            instances: sets.len(),
        });
    }
    rows
}

/// Where the kernel describes the CPUs.
const CPU_SYSFS: &str = "/sys/devices/system/cpu";

/// What the CPU section reads from the system besides /proc/cpuinfo,
/// gathered in one place before anything is worked out from it.
#[derive(Debug, Clone, Default)]
struct CpuFacts {
    /// `cpu/online` as the kernel writes it ("0-3").
    online_list: Option<String>,
    /// The online CPUs' numbers (empty when `online` is unreadable).
    online: Vec<u32>,
    /// The topology of each online CPU (each CPU when `online` is unreadable).
    topology: Vec<CpuTopo>,
    /// How many `nodeN` directories there are.
    numa_nodes: usize,
    /// DMI vendor and SoC id, for [`uarch::identify`].
    platform: PlatformIds,
    /// The first CPU's base frequency: cpufreq's, else ACPI CPPC's nominal one.
    base_mhz: Option<f64>,
    /// The first CPU's cpufreq limits.
    max_mhz: Option<f64>,
    min_mhz: Option<f64>,
    /// `cpu/isolated` and `cpu/smt/control` as written.
    isolated: Option<String>,
    smt_control: Option<String>,
    /// The cache hierarchy.
    caches: Vec<CacheRow>,
}

impl CpuFacts {
    /// Reads the facts from `sys`, in the order the section always read them
    /// (the order unreadable files are listed in). The DMI vendor and SoC id
    /// are read only when cpuinfo names an Arm implementer and part, the one
    /// case identification uses them.
    fn read(sys: &Sys, ci: &parse::CpuInfo) -> CpuFacts {
        let base = CPU_SYSFS;
        let cpus = numbered(&sys.list(base), "cpu");
        let online_list = sys.read(&format!("{base}/online"));
        let online: Vec<u32> = online_list
            .as_deref()
            .map(parse::parse_cpulist)
            .unwrap_or_default();
        let topology = cpus
            .iter()
            .filter(|(n, _)| online.is_empty() || online.contains(n))
            .map(|(_, c)| read_topology(sys, c))
            .collect();
        let numa_nodes = numbered(&sys.list("/sys/devices/system/node"), "node").len();
        let arm_ids = ci.implementer.is_some() && ci.part.is_some();
        let platform = PlatformIds {
            host_arch: std::env::consts::ARCH,
            sys_vendor: arm_ids.then(|| dmi(sys, "sys_vendor")).flatten(),
            soc_id: arm_ids
                .then(|| sys.read("/sys/devices/soc0/soc_id"))
                .flatten(),
        };
        let cpu0 = cpus
            .first()
            .map(|(_, c)| c.clone())
            .unwrap_or_else(|| "cpu0".into());
        let freq = |f: &str| khz_to_mhz(sys.num::<u64>(&format!("{base}/{cpu0}/cpufreq/{f}")));
        let base_mhz = freq("base_frequency").or_else(|| {
            sys.num::<f64>(&format!("{base}/{cpu0}/acpi_cppc/nominal_freq"))
                .filter(|v| *v > 0.0)
        });
        let max_mhz = freq("cpuinfo_max_freq");
        let min_mhz = freq("cpuinfo_min_freq");
        CpuFacts {
            online_list,
            online,
            topology,
            numa_nodes,
            platform,
            base_mhz,
            max_mhz,
            min_mhz,
            isolated: sys.read(&format!("{base}/isolated")),
            smt_control: sys.read(&format!("{base}/smt/control")),
            caches: caches(sys, &cpus),
        }
    }
}

/// One CPU's package, core id and core siblings from its `topology` directory.
fn read_topology(sys: &Sys, cpu: &str) -> CpuTopo {
    let t = |f: &str| format!("{CPU_SYSFS}/{cpu}/topology/{f}");
    CpuTopo {
        package: sys.num(&t("physical_package_id")),
        core_siblings: sys
            .read(&t("core_cpus_list"))
            .or_else(|| sys.read(&t("thread_siblings_list"))),
        core_id: sys.num(&t("core_id")),
    }
}

/// Socket, core and logical CPU counts: from sysfs, else from cpuinfo.
struct Counts {
    sockets: Option<usize>,
    cores: Option<usize>,
    threads: Option<usize>,
}

impl Counts {
    /// The counts from the gathered topology, cpuinfo filling what it lacks.
    fn of(ci: &parse::CpuInfo, facts: &CpuFacts) -> Counts {
        let (sockets, cores) = parse::summarize_topology(&facts.topology);
        let threads = if !facts.online.is_empty() {
            Some(facts.online.len())
        } else if ci.logical_cpus > 0 {
            Some(ci.logical_cpus)
        } else if !facts.topology.is_empty() {
            Some(facts.topology.len())
        } else {
            None
        };
        Counts {
            sockets: sockets.or(ci.sockets),
            cores: cores.or(ci.cores),
            threads,
        }
    }
}

/// `a / b` when both are known and `b` divides `a`.
fn per(a: Option<usize>, b: Option<usize>) -> Option<usize> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0 && a % b == 0 => Some(a / b),
        _ => None,
    }
}

/// The CPU section: reads the system, identifies the CPU, lays it out.
pub fn cpu(sys: &Sys, ci: &parse::CpuInfo) -> Section {
    let facts = CpuFacts::read(sys, ci);
    let identity = uarch::identify(ci, &facts.platform);
    build_section(ci, &facts, &identity)
}

/// The section from what was read and identified; reads nothing.
fn build_section(ci: &parse::CpuInfo, facts: &CpuFacts, id: &CpuIdentity) -> Section {
    let mut s = Section::new("cpu", "CPU");
    s.field("model", "Model", Val::opt_text(id.model.clone()))
        .field("vendor", "Vendor", Val::opt_text(id.vendor.clone()))
        .field(
            "microarchitecture",
            "Microarchitecture",
            Val::opt_text(id.microarchitecture.clone()),
        );
    if id.is_arm {
        arm_id_fields(&mut s, ci);
    } else {
        x86_id_fields(&mut s, ci);
    }
    count_fields(&mut s, &Counts::of(ci, facts), facts);
    frequency_fields(&mut s, ci, facts);
    s.field(
        "isa",
        "Notable ISA features",
        Val::List(uarch::notable_flags(&ci.flags, id.is_arm)),
    );
    s.tables.push(cache_table(&facts.caches));
    if ci.flags.is_empty() && ci.logical_cpus == 0 {
        s.notes.push("/proc/cpuinfo is not readable".into());
    }
    s
}

/// Arm's id fields: implementer, part, variant, revision, BogoMIPS.
fn arm_id_fields(s: &mut Section, ci: &parse::CpuInfo) {
    s.field(
        "implementer",
        "Implementer id",
        Val::opt_text(ci.implementer.map(|v| format!("{v:#04x}"))),
    )
    .field(
        "part",
        "Part id",
        Val::opt_text(ci.part.map(|v| format!("{v:#05x}"))),
    )
    .field(
        "variant",
        "Variant",
        Val::opt_text(ci.variant.map(|v| format!("{v:#x}"))),
    )
    .field("revision", "Revision", Val::opt_int(ci.revision))
    .field(
        "bogomips",
        "BogoMIPS",
        Val::opt_text(ci.bogomips.map(|b| format!("{b:.2}"))),
    );
}

/// x86's id fields: family, model, stepping, microcode.
fn x86_id_fields(s: &mut Section, ci: &parse::CpuInfo) {
    s.field("family", "Family", Val::opt_int(ci.family))
        .field(
            "model_id",
            "Model id",
            Val::opt_text(ci.model.map(|v| format!("{v:#x} ({v})"))),
        )
        .field("stepping", "Stepping", Val::opt_int(ci.stepping))
        .field(
            "microcode",
            "Microcode",
            Val::opt_text(ci.microcode.clone()),
        );
}

/// Sockets, cores, threads, online/isolated CPUs, SMT and NUMA nodes.
fn count_fields(s: &mut Section, n: &Counts, facts: &CpuFacts) {
    s.field("sockets", "Sockets", Val::opt_int(n.sockets))
        .field(
            "cores_per_socket",
            "Cores per socket",
            Val::opt_int(per(n.cores, n.sockets)),
        )
        .field("cores", "Cores (total)", Val::opt_int(n.cores))
        .field(
            "threads_per_core",
            "Threads per core",
            Val::opt_int(per(n.threads, n.cores)),
        )
        .field("threads", "Logical CPUs", Val::opt_int(n.threads))
        .field(
            "online",
            "Online CPUs",
            Val::opt_text(facts.online_list.clone()),
        )
        .field(
            "isolated",
            "Isolated CPUs",
            Val::opt_text(facts.isolated.clone()),
        )
        .field(
            "smt",
            "SMT control",
            Val::opt_text(facts.smt_control.clone()),
        )
        .field(
            "numa_nodes",
            "NUMA nodes",
            Val::opt_int((facts.numa_nodes > 0).then_some(facts.numa_nodes)),
        );
}

/// Base (sysfs, else the model name's "@ 2.10GHz"), max, min and reported MHz.
fn frequency_fields(s: &mut Section, ci: &parse::CpuInfo, facts: &CpuFacts) {
    let base_mhz = facts.base_mhz.or_else(|| {
        ci.model_name
            .as_deref()
            .and_then(parse::mhz_from_model_name)
    });
    s.field(
        "base_frequency_mhz",
        "Base frequency",
        Val::opt_mhz(base_mhz),
    )
    .field(
        "max_frequency_mhz",
        "Max frequency",
        Val::opt_mhz(facts.max_mhz),
    )
    .field(
        "min_frequency_mhz",
        "Min frequency",
        Val::opt_mhz(facts.min_mhz),
    )
    .field(
        "reported_mhz",
        "Reported frequency (cpuinfo)",
        Val::opt_mhz(ci.mhz),
    );
}

/// The caches table: one row per cache index, with its total over instances.
fn cache_table(caches: &[CacheRow]) -> Table {
    let rows: Vec<Vec<Val>> = caches
        .iter()
        .map(|c| {
            vec![
                Val::opt_text(c.level.map(|l| format!("L{l}"))),
                Val::opt_text(c.kind.clone()),
                Val::opt_bytes(c.size),
                Val::opt_int(c.ways),
                Val::opt_int(c.line),
                Val::Int(c.shared_by as i64),
                Val::Int(c.instances as i64),
                Val::opt_bytes(c.size.map(|s| s * c.instances as u64)),
            ]
        })
        .collect();
    Table {
        key: "caches",
        title: "Caches",
        columns: vec![
            ("level", "Level"),
            ("type", "Type"),
            ("size_bytes", "Size"),
            ("ways", "Ways"),
            ("line_bytes", "Line"),
            ("shared_by_cpus", "Shared by CPUs"),
            ("instances", "Instances"),
            ("total_bytes", "Total"),
        ],
        rows,
        why_empty: None,
    }
}
