//! The CPU group: identification, topology, frequencies, caches, ISA.

use super::host::dmi;
use super::model::{Section, Table, Val};
use super::parse::{self, CpuTopo};
use super::system::{Sys, khz_to_mhz, numbered};
use super::uarch;
use std::collections::BTreeSet;

/// Per-cache-index information gathered from all CPUs.
struct CacheRow {
    level: Option<i64>,
    kind: Option<String>,
    size: Option<u64>,
    ways: Option<i64>,
    line: Option<i64>,
    shared_by: usize,
    instances: usize,
}

fn caches(sys: &Sys, cpus: &[(u32, String)]) -> Vec<CacheRow> {
    let base = "/sys/devices/system/cpu";
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

pub fn cpu(sys: &Sys, ci: &parse::CpuInfo) -> Section {
    let base = "/sys/devices/system/cpu";
    let cpus = numbered(&sys.list(base), "cpu");
    let online_list = sys.read(&format!("{base}/online"));
    let online: Vec<u32> = online_list
        .as_deref()
        .map(parse::parse_cpulist)
        .unwrap_or_default();
    let topo: Vec<CpuTopo> = cpus
        .iter()
        .filter(|(n, _)| online.is_empty() || online.contains(n))
        .map(|(_, c)| CpuTopo {
            package: sys.num(&format!("{base}/{c}/topology/physical_package_id")),
            core_siblings: sys
                .read(&format!("{base}/{c}/topology/core_cpus_list"))
                .or_else(|| sys.read(&format!("{base}/{c}/topology/thread_siblings_list"))),
            core_id: sys.num(&format!("{base}/{c}/topology/core_id")),
        })
        .collect();
    let (mut sockets, mut cores) = parse::summarize_topology(&topo);
    sockets = sockets.or(ci.sockets);
    cores = cores.or(ci.cores);
    let threads = if !online.is_empty() {
        Some(online.len())
    } else if ci.logical_cpus > 0 {
        Some(ci.logical_cpus)
    } else if !topo.is_empty() {
        Some(topo.len())
    } else {
        None
    };
    let per = |a: Option<usize>, b: Option<usize>| match (a, b) {
        (Some(a), Some(b)) if b > 0 && a % b == 0 => Some(a / b),
        _ => None,
    };
    let nodes = numbered(&sys.list("/sys/devices/system/node"), "node").len();

    let is_arm =
        ci.implementer.is_some() || std::env::consts::ARCH == "aarch64" && ci.vendor.is_none();
    let vendor_id = ci.vendor.clone().unwrap_or_default();
    let (vendor, uarch, model): (Option<String>, Option<String>, Option<String>) = if is_arm {
        let imp = ci.implementer;
        let vendor = imp.and_then(uarch::arm_implementer).map(String::from);
        let mut names: Vec<String> = ci
            .arm_core_types
            .iter()
            .map(|(i, p)| {
                uarch::arm_part(*i, *p)
                    .map(String::from)
                    .unwrap_or_else(|| format!("part {p:#05x}"))
            })
            .collect();
        if names.is_empty() {
            names.extend(
                ci.part
                    .and_then(|p| imp.and_then(|i| uarch::arm_part(i, p)))
                    .map(String::from),
            );
        }
        let uarch = if names.is_empty() {
            None
        } else {
            Some(names.join(" + "))
        };
        let platform = match (imp, ci.part) {
            (Some(i), Some(p)) => uarch::arm_platform(
                i,
                p,
                dmi(sys, "sys_vendor").as_deref(),
                sys.read("/sys/devices/soc0/soc_id").as_deref(),
            ),
            _ => None,
        };
        let model = ci
            .model_name
            .clone()
            .or_else(|| match (platform, &vendor, &uarch) {
                (Some(p), _, Some(u)) => Some(format!("{p} ({u})")),
                (None, Some(v), Some(u)) => Some(format!("{v} {u}")),
                _ => None,
            });
        (vendor, uarch, model)
    } else {
        let fam = ci.family.unwrap_or(0);
        let m = ci.model.unwrap_or(0);
        let name = match vendor_id.as_str() {
            "GenuineIntel" => uarch::intel(fam, m, ci.stepping.unwrap_or(0)).map(String::from),
            "AuthenticAMD" | "HygonGenuine" => uarch::amd(fam, m).map(String::from),
            _ => None,
        };
        // Hypervisors may report a made-up model; AMX proves Sapphire Rapids+.
        let has = |f: &str| ci.flags.iter().any(|x| x == f);
        let name = match name {
            Some(n)
                if vendor_id == "GenuineIntel"
                    && has("amx_tile")
                    && !matches!(
                        n.as_str(),
                        "Sapphire Rapids"
                            | "Emerald Rapids"
                            | "Granite Rapids"
                            | "Granite Rapids-D"
                            | "Diamond Rapids"
                    ) =>
            {
                Some(format!(
                    "Sapphire Rapids or newer (AMX present; reported model {m:#x} would be {n})"
                ))
            }
            other => other,
        };
        let vendor = match vendor_id.as_str() {
            "GenuineIntel" => Some("Intel".to_string()),
            "AuthenticAMD" => Some("AMD".to_string()),
            "HygonGenuine" => Some("Hygon".to_string()),
            "" => None,
            v => Some(v.to_string()),
        };
        (vendor, name, ci.model_name.clone())
    };

    let freq = |c: &str, f: &str| sys.num::<u64>(&format!("{base}/{c}/cpufreq/{f}"));
    let cpu0 = cpus
        .first()
        .map(|(_, c)| c.clone())
        .unwrap_or_else(|| "cpu0".into());
    let base_mhz = khz_to_mhz(freq(&cpu0, "base_frequency"))
        .or_else(|| {
            sys.num::<f64>(&format!("{base}/{cpu0}/acpi_cppc/nominal_freq"))
                .filter(|v| *v > 0.0)
        })
        .or_else(|| {
            ci.model_name
                .as_deref()
                .and_then(parse::mhz_from_model_name)
        });
    let max_mhz = khz_to_mhz(freq(&cpu0, "cpuinfo_max_freq"));
    let min_mhz = khz_to_mhz(freq(&cpu0, "cpuinfo_min_freq"));

    let mut s = Section::new("cpu", "CPU");
    s.field("model", "Model", Val::opt_text(model))
        .field("vendor", "Vendor", Val::opt_text(vendor))
        .field(
            "microarchitecture",
            "Microarchitecture",
            Val::opt_text(uarch),
        );
    if is_arm {
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
    } else {
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
    s.field("sockets", "Sockets", Val::opt_int(sockets))
        .field(
            "cores_per_socket",
            "Cores per socket",
            Val::opt_int(per(cores, sockets)),
        )
        .field("cores", "Cores (total)", Val::opt_int(cores))
        .field(
            "threads_per_core",
            "Threads per core",
            Val::opt_int(per(threads, cores)),
        )
        .field("threads", "Logical CPUs", Val::opt_int(threads))
        .field("online", "Online CPUs", Val::opt_text(online_list))
        .field(
            "isolated",
            "Isolated CPUs",
            Val::opt_text(sys.read(&format!("{base}/isolated"))),
        )
        .field(
            "smt",
            "SMT control",
            Val::opt_text(sys.read(&format!("{base}/smt/control"))),
        )
        .field(
            "numa_nodes",
            "NUMA nodes",
            Val::opt_int(if nodes > 0 { Some(nodes) } else { None }),
        )
        .field(
            "base_frequency_mhz",
            "Base frequency",
            Val::opt_mhz(base_mhz),
        )
        .field("max_frequency_mhz", "Max frequency", Val::opt_mhz(max_mhz))
        .field("min_frequency_mhz", "Min frequency", Val::opt_mhz(min_mhz))
        .field(
            "reported_mhz",
            "Reported frequency (cpuinfo)",
            Val::opt_mhz(ci.mhz),
        )
        .field(
            "isa",
            "Notable ISA features",
            Val::List(uarch::notable_flags(&ci.flags, is_arm)),
        );

    let rows: Vec<Vec<Val>> = caches(sys, &cpus)
        .into_iter()
        .map(|c| {
            vec![
                Val::opt_text(c.level.map(|l| format!("L{l}"))),
                Val::opt_text(c.kind),
                Val::opt_bytes(c.size),
                Val::opt_int(c.ways),
                Val::opt_int(c.line),
                Val::Int(c.shared_by as i64),
                Val::Int(c.instances as i64),
                Val::opt_bytes(c.size.map(|s| s * c.instances as u64)),
            ]
        })
        .collect();
    s.tables.push(Table {
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
    });
    if ci.flags.is_empty() && ci.logical_cpus == 0 {
        s.notes.push("/proc/cpuinfo is not readable".into());
    }
    s
}
