//! `perfspect report`: host configuration from /proc, /sys and /etc.
//!
//! Everything is read through [`Sys`], rooted at `/` (or at
//! `PERFSPECT_SYSROOT`, used by tests to feed a fake tree). A missing file
//! becomes "unknown" or an absent row, never an error.

pub mod model;
pub mod parse;
pub mod uarch;

use crate::util::{self, read_trim};
use anyhow::{Context, Result};
use model::{Report, Section, Table, Val};
use parse::CpuTopo;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Txt,
    Json,
    Html,
}

impl Format {
    fn file_name(self) -> &'static str {
        match self {
            Format::Txt => "report.txt",
            Format::Json => "report.json",
            Format::Html => "report.html",
        }
    }
}

pub struct Sys {
    root: PathBuf,
}

impl Sys {
    pub fn new() -> Sys {
        let root = std::env::var_os("PERFSPECT_SYSROOT")
            .filter(|r| !r.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/"));
        Sys { root }
    }
    #[cfg(test)]
    pub fn at(root: PathBuf) -> Sys {
        Sys { root }
    }
    fn is_real(&self) -> bool {
        self.root == Path::new("/")
    }
    pub fn path(&self, p: &str) -> PathBuf {
        self.root.join(p.trim_start_matches('/'))
    }
    pub fn read(&self, p: &str) -> Option<String> {
        read_trim(&self.path(p))
    }
    pub fn read_raw(&self, p: &str) -> Option<String> {
        std::fs::read_to_string(self.path(p)).ok()
    }
    fn num<T: std::str::FromStr>(&self, p: &str) -> Option<T> {
        self.read(p)?.parse().ok()
    }
    /// Names in a directory, sorted naturally (cpu2 before cpu10).
    fn list(&self, p: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.path(p))
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort_by_key(|a| natural_key(a));
        v
    }
    fn link_name(&self, p: &str) -> Option<String> {
        let target = std::fs::read_link(self.path(p)).ok()?;
        Some(target.file_name()?.to_string_lossy().into_owned())
    }
}

impl Default for Sys {
    fn default() -> Self {
        Sys::new()
    }
}

fn natural_key(s: &str) -> (String, u64, String) {
    let start = s.find(|c: char| c.is_ascii_digit()).unwrap_or(s.len());
    let rest = &s[start..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    (
        s[..start].to_string(),
        rest[..end].parse().unwrap_or(0),
        rest[end..].to_string(),
    )
}

/// Numbered entries like cpu0, cpu1, node0: (number, name).
fn numbered(names: &[String], prefix: &str) -> Vec<(u32, String)> {
    names
        .iter()
        .filter_map(|n| Some((n.strip_prefix(prefix)?.parse().ok()?, n.clone())))
        .collect()
}

pub fn cmd(formats: &[Format], output: Option<&Path>) -> Result<()> {
    let mut formats: Vec<Format> = if formats.is_empty() {
        vec![Format::Txt]
    } else {
        formats.to_vec()
    };
    let mut seen = BTreeSet::new();
    formats.retain(|f| seen.insert(*f as u8));
    if let Some(dir) = output {
        util::check_writable_dir(dir, "output directory")?;
    }
    let report = collect(&Sys::new());
    for f in formats {
        let text = match f {
            Format::Txt => model::to_text(&report),
            Format::Json => serde_json::to_string_pretty(&model::to_json(&report))? + "\n",
            Format::Html => model::to_html(&report),
        };
        match output {
            Some(dir) => {
                let path = dir.join(f.file_name());
                std::fs::write(&path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                eprintln!("wrote {}", path.display());
            }
            None => util::print_out(&text)?,
        }
    }
    Ok(())
}

pub fn collect(sys: &Sys) -> Report {
    let cpuinfo = parse::cpuinfo_summary(&sys.read_raw("/proc/cpuinfo").unwrap_or_default());
    let hostname = sys
        .read("/proc/sys/kernel/hostname")
        .or_else(|| sys.read("/etc/hostname"))
        .unwrap_or_else(|| "unknown".into());
    let sections = vec![
        host(sys, &hostname, &cpuinfo),
        cpu(sys, &cpuinfo),
        power(sys),
        memory(sys),
        numa(sys),
        storage(sys),
        network(sys),
        vulnerabilities(sys),
        kernel(sys),
    ];
    Report {
        version: crate::VERSION.to_string(),
        generated: util::now_utc_iso(),
        hostname,
        sections,
    }
}

fn dmi(sys: &Sys, name: &str) -> Option<String> {
    sys.read(&format!("/sys/class/dmi/id/{name}")).filter(|v| {
        !v.eq_ignore_ascii_case("To be filled by O.E.M.")
            && !v.eq_ignore_ascii_case("Default string")
    })
}

fn virtualization(sys: &Sys, cpu: &parse::CpuInfo) -> Option<String> {
    let hyper = cpu.flags.iter().any(|f| f == "hypervisor");
    let vendor = dmi(sys, "sys_vendor")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let product = dmi(sys, "product_name")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let hv_type = sys.read("/sys/hypervisor/type");
    let container = if sys.path("/.dockerenv").exists() {
        Some("docker container")
    } else if sys.path("/run/.containerenv").exists() {
        Some("podman container")
    } else {
        None
    };
    let vm = if vendor.contains("amazon") {
        Some("AWS EC2".to_string())
    } else if vendor.contains("google") {
        Some("Google Compute Engine".to_string())
    } else if vendor.contains("microsoft") && product.contains("virtual") {
        Some("Hyper-V / Azure".to_string())
    } else if product.contains("kvm") || vendor.contains("qemu") || product.contains("qemu") {
        Some("KVM/QEMU".to_string())
    } else if vendor.contains("vmware") {
        Some("VMware".to_string())
    } else if product.contains("virtualbox") {
        Some("VirtualBox".to_string())
    } else if let Some(t) = hv_type {
        Some(t)
    } else if hyper {
        Some("virtual machine".to_string())
    } else {
        None
    };
    match (vm, container) {
        (Some(v), Some(c)) => Some(format!("{v}, {c}")),
        (Some(v), None) => Some(v),
        (None, Some(c)) => Some(c.to_string()),
        (None, None) if !cpu.flags.is_empty() && sys.path("/sys/class/dmi/id").exists() => {
            Some("none detected (bare metal)".into())
        }
        _ => None,
    }
}

fn host(sys: &Sys, hostname: &str, cpu: &parse::CpuInfo) -> Section {
    let osr = sys
        .read_raw("/etc/os-release")
        .or_else(|| sys.read_raw("/usr/lib/os-release"))
        .map(|t| parse::parse_os_release(&t))
        .unwrap_or_default();
    let os = osr.get("PRETTY_NAME").cloned().or_else(|| {
        Some(format!(
            "{} {}",
            osr.get("NAME")?,
            osr.get("VERSION").map(String::as_str).unwrap_or("")
        ))
    });
    let uptime = sys
        .read("/proc/uptime")
        .and_then(|u| u.split_whitespace().next()?.parse::<f64>().ok())
        .map(|s| s as u64);
    let load = sys
        .read("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    let mut s = Section::new("host", "System");
    s.field("hostname", "Host name", Val::text(hostname))
        .field("os", "Operating system", Val::opt_text(os))
        .field("os_id", "OS id", Val::opt_text(osr.get("ID").cloned()))
        .field(
            "os_version_id",
            "OS version",
            Val::opt_text(osr.get("VERSION_ID").cloned()),
        )
        .field(
            "kernel",
            "Kernel",
            Val::opt_text(sys.read("/proc/sys/kernel/osrelease")),
        )
        .field(
            "kernel_build",
            "Kernel build",
            Val::opt_text(sys.read("/proc/sys/kernel/version")),
        )
        .field(
            "architecture",
            "Architecture",
            Val::text(std::env::consts::ARCH),
        )
        .field(
            "virtualization",
            "Virtualization",
            Val::opt_text(virtualization(sys, cpu)),
        )
        .field(
            "system_vendor",
            "System vendor",
            Val::opt_text(dmi(sys, "sys_vendor")),
        )
        .field(
            "product_name",
            "Product",
            Val::opt_text(dmi(sys, "product_name")),
        )
        .field(
            "bios",
            "BIOS",
            Val::opt_text(match (dmi(sys, "bios_vendor"), dmi(sys, "bios_version")) {
                (Some(v), Some(ver)) => Some(format!("{v} {ver}")),
                (v, ver) => v.or(ver),
            }),
        )
        .field(
            "uptime_seconds",
            "Uptime",
            uptime.map(Val::Secs).unwrap_or(Val::Missing),
        )
        .field(
            "load_average",
            "Load average (1/5/15 min)",
            Val::opt_text(load),
        )
        .field(
            "cmdline",
            "Kernel command line",
            Val::opt_text(sys.read("/proc/cmdline")),
        );
    s
}

fn khz_to_mhz(v: Option<u64>) -> Option<f64> {
    v.filter(|k| *k > 0).map(|k| k as f64 / 1000.0)
}

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

fn cpu(sys: &Sys, ci: &parse::CpuInfo) -> Section {
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
    });
    if ci.flags.is_empty() && ci.logical_cpus == 0 {
        s.notes.push("/proc/cpuinfo is not readable".into());
    }
    s
}

fn power(sys: &Sys) -> Section {
    let base = "/sys/devices/system/cpu";
    let cpus = numbered(&sys.list(base), "cpu");
    let mut governors: BTreeMap<String, usize> = BTreeMap::new();
    for (_, c) in &cpus {
        if let Some(g) = sys.read(&format!("{base}/{c}/cpufreq/scaling_governor")) {
            *governors.entry(g).or_default() += 1;
        }
    }
    let governor = match governors.len() {
        0 => None,
        1 => governors.keys().next().cloned(),
        _ => Some(
            governors
                .iter()
                .map(|(g, n)| format!("{g} ({n} CPUs)"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    };
    let cpu0 = cpus
        .first()
        .map(|(_, c)| c.clone())
        .unwrap_or_else(|| "cpu0".into());
    let turbo = if let Some(nt) = sys.read(&format!("{base}/intel_pstate/no_turbo")) {
        Some(nt == "0")
    } else {
        sys.read(&format!("{base}/cpufreq/boost")).map(|b| b == "1")
    };
    let idle_states: Vec<String> = numbered(&sys.list(&format!("{base}/{cpu0}/cpuidle")), "state")
        .iter()
        .filter_map(|(_, st)| {
            let p = format!("{base}/{cpu0}/cpuidle/{st}");
            let name = sys.read(&format!("{p}/name"))?;
            let disabled = sys.read(&format!("{p}/disable")).as_deref() == Some("1");
            let lat = sys.read(&format!("{p}/latency"));
            Some(match (disabled, lat) {
                (true, _) => format!("{name} (disabled)"),
                (false, Some(l)) => format!("{name} ({l} us)"),
                (false, None) => name,
            })
        })
        .collect();
    let mut s = Section::new("power", "Power and frequency");
    s.field(
        "scaling_driver",
        "Scaling driver",
        Val::opt_text(sys.read(&format!("{base}/{cpu0}/cpufreq/scaling_driver"))),
    )
    .field("governor", "Frequency governor", Val::opt_text(governor))
    .field(
        "energy_performance_preference",
        "Energy/performance preference",
        Val::opt_text(sys.read(&format!(
            "{base}/{cpu0}/cpufreq/energy_performance_preference"
        ))),
    )
    .field(
        "intel_pstate",
        "intel_pstate status",
        Val::opt_text(sys.read(&format!("{base}/intel_pstate/status"))),
    )
    .field("turbo", "Turbo/boost enabled", Val::opt_bool(turbo))
    .field(
        "scaling_min_mhz",
        "Scaling min frequency (cpu0)",
        Val::opt_mhz(khz_to_mhz(
            sys.num(&format!("{base}/{cpu0}/cpufreq/scaling_min_freq")),
        )),
    )
    .field(
        "scaling_max_mhz",
        "Scaling max frequency (cpu0)",
        Val::opt_mhz(khz_to_mhz(
            sys.num(&format!("{base}/{cpu0}/cpufreq/scaling_max_freq")),
        )),
    )
    .field(
        "cpuidle_driver",
        "Idle driver",
        Val::opt_text(sys.read(&format!("{base}/cpuidle/current_driver"))),
    )
    .field(
        "cpuidle_governor",
        "Idle governor",
        Val::opt_text(
            sys.read(&format!("{base}/cpuidle/current_governor_ro"))
                .or_else(|| sys.read(&format!("{base}/cpuidle/current_governor"))),
        ),
    )
    .field(
        "idle_states",
        "Idle states (cpu0, exit latency)",
        if idle_states.is_empty() {
            Val::Missing
        } else {
            Val::text(idle_states.join(", "))
        },
    );
    if governors.is_empty() {
        s.notes.push(
            "no cpufreq interface: frequency is managed by the hypervisor or firmware".into(),
        );
    }
    s
}

fn memory(sys: &Sys) -> Section {
    let mi = parse::parse_meminfo(&sys.read_raw("/proc/meminfo").unwrap_or_default());
    let b = |k: &str| Val::opt_bytes(mi.get(k).copied());
    let thp = sys
        .read("/sys/kernel/mm/transparent_hugepage/enabled")
        .and_then(|v| parse::bracketed(&v).map(String::from));
    let thp_defrag = sys
        .read("/sys/kernel/mm/transparent_hugepage/defrag")
        .and_then(|v| parse::bracketed(&v).map(String::from));
    let mut s = Section::new("memory", "Memory");
    s.field("total_bytes", "Total", b("MemTotal"))
        .field("available_bytes", "Available", b("MemAvailable"))
        .field("free_bytes", "Free", b("MemFree"))
        .field("buffers_bytes", "Buffers", b("Buffers"))
        .field("cached_bytes", "Cached", b("Cached"))
        .field("swap_total_bytes", "Swap total", b("SwapTotal"))
        .field("swap_free_bytes", "Swap free", b("SwapFree"))
        .field("dirty_bytes", "Dirty", b("Dirty"))
        .field(
            "anon_hugepages_bytes",
            "Anonymous huge pages",
            b("AnonHugePages"),
        )
        .field(
            "hugepages_total",
            "Huge pages (total)",
            Val::opt_int(mi.get("HugePages_Total").copied()),
        )
        .field(
            "hugepages_free",
            "Huge pages (free)",
            Val::opt_int(mi.get("HugePages_Free").copied()),
        )
        .field("hugepage_size_bytes", "Huge page size", b("Hugepagesize"))
        .field("thp_enabled", "Transparent huge pages", Val::opt_text(thp))
        .field("thp_defrag", "THP defrag", Val::opt_text(thp_defrag));
    if mi.is_empty() {
        s.notes.push("/proc/meminfo is not readable".into());
    }
    s
}

fn numa(sys: &Sys) -> Section {
    let base = "/sys/devices/system/node";
    let nodes = numbered(&sys.list(base), "node");
    let rows: Vec<Vec<Val>> = nodes
        .iter()
        .map(|(n, name)| {
            let mi = parse::parse_meminfo(
                &sys.read_raw(&format!("{base}/{name}/meminfo"))
                    .unwrap_or_default()
                    .lines()
                    // "Node 0 MemTotal:  16318828 kB" -> "MemTotal:  16318828 kB"
                    .map(|l| l.splitn(3, ' ').nth(2).unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
            vec![
                Val::Int(i64::from(*n)),
                Val::opt_text(sys.read(&format!("{base}/{name}/cpulist"))),
                Val::opt_bytes(mi.get("MemTotal").copied()),
                Val::opt_bytes(mi.get("MemFree").copied()),
                Val::opt_text(sys.read(&format!("{base}/{name}/distance"))),
            ]
        })
        .collect();
    let mut s = Section::new("numa", "NUMA");
    s.field(
        "nodes",
        "Nodes",
        Val::opt_int(if nodes.is_empty() {
            None
        } else {
            Some(nodes.len())
        }),
    )
    .field(
        "numa_balancing",
        "Automatic NUMA balancing",
        Val::opt_text(sys.read("/proc/sys/kernel/numa_balancing")),
    );
    s.tables.push(Table {
        key: "node_list",
        title: "Nodes",
        columns: vec![
            ("node", "Node"),
            ("cpus", "CPUs"),
            ("memory_total_bytes", "Memory"),
            ("memory_free_bytes", "Free"),
            ("distances", "Distances"),
        ],
        rows,
    });
    s
}

fn block_kind(name: &str) -> &'static str {
    let p = |x: &str| name.starts_with(x);
    if p("nvme") {
        "NVMe"
    } else if p("sd") {
        "SCSI/SATA"
    } else if p("vd") {
        "virtio"
    } else if p("xvd") {
        "Xen"
    } else if p("hd") {
        "IDE"
    } else if p("mmcblk") {
        "MMC"
    } else if p("dm-") {
        "device-mapper"
    } else if p("md") {
        "software RAID"
    } else if p("zram") {
        "compressed RAM"
    } else if p("nbd") {
        "network block"
    } else if p("rbd") {
        "Ceph RBD"
    } else {
        "other"
    }
}

fn storage(sys: &Sys) -> Section {
    let mut rows = Vec::new();
    for name in sys.list("/sys/block") {
        if name.starts_with("loop") || name.starts_with("ram") {
            continue;
        }
        let p = |f: &str| format!("/sys/block/{name}/{f}");
        let size = sys.num::<u64>(&p("size")).map(|s| s * 512);
        let model = sys
            .read(&p("device/model"))
            .or_else(|| sys.read(&p("dm/name")));
        rows.push(vec![
            Val::text(name.clone()),
            Val::text(block_kind(&name)),
            Val::opt_bytes(size),
            Val::opt_text(model),
            Val::opt_text(sys.read(&p("device/vendor"))),
            Val::opt_bool(sys.read(&p("queue/rotational")).map(|r| r == "1")),
            Val::opt_text(
                sys.read(&p("queue/scheduler"))
                    .and_then(|s| parse::bracketed(&s).map(String::from).or(Some(s))),
            ),
            Val::opt_int(sys.num::<i64>(&p("queue/logical_block_size"))),
            Val::opt_int(sys.num::<i64>(&p("device/numa_node")).filter(|n| *n >= 0)),
        ]);
    }
    let mut s = Section::new("storage", "Storage");
    s.tables.push(Table {
        key: "devices",
        title: "Block devices",
        columns: vec![
            ("name", "Name"),
            ("type", "Type"),
            ("size_bytes", "Size"),
            ("model", "Model"),
            ("vendor", "Vendor"),
            ("rotational", "Rotational"),
            ("scheduler", "Scheduler"),
            ("logical_block_bytes", "Block size"),
            ("numa_node", "NUMA node"),
        ],
        rows,
    });
    s.tables.push(filesystems(sys));
    s
}

const PSEUDO_FS: &[&str] = &[
    "proc",
    "sysfs",
    "devtmpfs",
    "devpts",
    "tmpfs",
    "cgroup",
    "cgroup2",
    "securityfs",
    "pstore",
    "bpf",
    "tracefs",
    "debugfs",
    "mqueue",
    "hugetlbfs",
    "configfs",
    "fusectl",
    "autofs",
    "binfmt_misc",
    "efivarfs",
    "nsfs",
    "ramfs",
    "rpc_pipefs",
    "selinuxfs",
    "squashfs",
    "fuse.lxcfs",
    "fuse.gvfsd-fuse",
    "fuse.portal",
    "nfsd",
    "devfs",
    "overlayfs-meta",
];
const NETWORK_FS: &[&str] = &[
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "smbfs",
    "ceph",
    "glusterfs",
    "9p",
    "fuse.sshfs",
    "lustre",
];

fn statvfs(path: &str) -> Option<(u64, u64)> {
    let c = std::ffi::CString::new(path).ok()?;
    // SAFETY: statvfs fills a plain struct from a NUL-terminated path.
    unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut st) != 0 {
            return None;
        }
        let f = st.f_frsize as u64;
        Some((st.f_blocks as u64 * f, st.f_bavail as u64 * f))
    }
}

fn filesystems(sys: &Sys) -> Table {
    let mounts = parse::parse_mounts(
        &sys.read_raw("/proc/self/mounts")
            .or_else(|| sys.read_raw("/proc/mounts"))
            .unwrap_or_default(),
    );
    let mut seen = BTreeSet::new();
    let mut rows = Vec::new();
    for (dev, mnt, fstype, opts) in mounts {
        if PSEUDO_FS.contains(&fstype.as_str()) || !seen.insert(mnt.clone()) {
            continue;
        }
        // Bind-mounted files (/etc/hosts in containers) are not filesystems.
        if sys.is_real() && !Path::new(&mnt).is_dir() {
            continue;
        }
        let network = NETWORK_FS.contains(&fstype.as_str()) || fstype.starts_with("fuse.");
        let sizes = if sys.is_real() && !network {
            statvfs(&mnt)
        } else {
            None
        };
        let ro = opts.split(',').any(|o| o == "ro");
        rows.push(vec![
            Val::text(mnt),
            Val::text(dev),
            Val::text(fstype),
            Val::opt_bytes(sizes.map(|s| s.0)),
            Val::opt_bytes(sizes.map(|s| s.1)),
            Val::Bool(ro),
        ]);
    }
    Table {
        key: "filesystems",
        title: "Filesystems",
        columns: vec![
            ("mount_point", "Mount point"),
            ("device", "Device"),
            ("type", "Type"),
            ("size_bytes", "Size"),
            ("available_bytes", "Available"),
            ("read_only", "Read-only"),
        ],
        rows,
    }
}

/// Interface addresses from getifaddrs (IPv4 and IPv6), by interface name.
fn addresses() -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // SAFETY: getifaddrs allocates a list that we walk read-only and free.
    unsafe {
        let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
        if libc::getifaddrs(&mut head) != 0 {
            return map;
        }
        let mut cur = head;
        while !cur.is_null() {
            let ifa = &*cur;
            cur = ifa.ifa_next;
            if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
                continue;
            }
            let name = std::ffi::CStr::from_ptr(ifa.ifa_name)
                .to_string_lossy()
                .into_owned();
            let family = i32::from((*ifa.ifa_addr).sa_family);
            let addr = if family == libc::AF_INET {
                let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                std::net::Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)).to_string()
            } else if family == libc::AF_INET6 {
                let sin6 = &*(ifa.ifa_addr as *const libc::sockaddr_in6);
                std::net::Ipv6Addr::from(sin6.sin6_addr.s6_addr).to_string()
            } else {
                continue;
            };
            map.entry(name).or_default().push(addr);
        }
        libc::freeifaddrs(head);
    }
    map
}

fn network(sys: &Sys) -> Section {
    let addrs = if sys.is_real() {
        addresses()
    } else {
        BTreeMap::new()
    };
    let mut rows = Vec::new();
    for name in sys.list("/sys/class/net") {
        let p = |f: &str| format!("/sys/class/net/{name}/{f}");
        let speed = sys.num::<i64>(&p("speed")).filter(|s| *s > 0);
        let driver = sys.link_name(&p("device/driver")).or_else(|| {
            if sys.path(&p("device")).exists() {
                None
            } else {
                Some("(virtual)".to_string())
            }
        });
        let ips = addrs.get(&name).cloned().unwrap_or_default();
        rows.push(vec![
            Val::text(name.clone()),
            Val::opt_text(sys.read(&p("operstate"))),
            Val::opt_text(speed.map(|s| {
                if s >= 1000 && s % 1000 == 0 {
                    format!("{} Gb/s", s / 1000)
                } else {
                    format!("{s} Mb/s")
                }
            })),
            Val::opt_int(sys.num::<i64>(&p("mtu"))),
            Val::opt_text(sys.read(&p("address"))),
            Val::opt_text(driver),
            Val::opt_int(sys.num::<i64>(&p("device/numa_node")).filter(|n| *n >= 0)),
            if ips.is_empty() {
                Val::Missing
            } else {
                Val::List(ips)
            },
        ]);
    }
    let mut s = Section::new("network", "Network");
    s.tables.push(Table {
        key: "interfaces",
        title: "Interfaces",
        columns: vec![
            ("name", "Name"),
            ("state", "State"),
            ("speed", "Speed"),
            ("mtu", "MTU"),
            ("mac", "MAC"),
            ("driver", "Driver"),
            ("numa_node", "NUMA node"),
            ("addresses", "Addresses"),
        ],
        rows,
    });
    s
}

fn vulnerabilities(sys: &Sys) -> Section {
    let base = "/sys/devices/system/cpu/vulnerabilities";
    let rows: Vec<Vec<Val>> = sys
        .list(base)
        .into_iter()
        .map(|n| {
            let status = sys.read(&format!("{base}/{n}"));
            vec![Val::text(n), Val::opt_text(status)]
        })
        .collect();
    let vulnerable = rows
        .iter()
        .filter(|r| matches!(&r[1], Val::Text(t) if t.starts_with("Vulnerable")))
        .count();
    let mut s = Section::new("vulnerabilities", "CPU vulnerabilities");
    s.field(
        "vulnerable_count",
        "Vulnerable (unmitigated)",
        if rows.is_empty() {
            Val::Missing
        } else {
            Val::Int(vulnerable as i64)
        },
    );
    let cmdline = sys.read("/proc/cmdline").unwrap_or_default();
    let mitigations = cmdline
        .split_whitespace()
        .find_map(|a| a.strip_prefix("mitigations="))
        .unwrap_or("auto (default)");
    s.field(
        "mitigations_param",
        "mitigations= boot parameter",
        Val::text(mitigations),
    );
    s.tables.push(Table {
        key: "list",
        title: "Status",
        columns: vec![("name", "Vulnerability"), ("status", "Status")],
        rows,
    });
    s
}

const TUNABLES: &[(&str, &str)] = &[
    (
        "kernel.perf_event_paranoid",
        "/proc/sys/kernel/perf_event_paranoid",
    ),
    ("kernel.nmi_watchdog", "/proc/sys/kernel/nmi_watchdog"),
    ("kernel.kptr_restrict", "/proc/sys/kernel/kptr_restrict"),
    ("kernel.numa_balancing", "/proc/sys/kernel/numa_balancing"),
    (
        "kernel.sched_autogroup_enabled",
        "/proc/sys/kernel/sched_autogroup_enabled",
    ),
    (
        "kernel.randomize_va_space",
        "/proc/sys/kernel/randomize_va_space",
    ),
    ("kernel.pid_max", "/proc/sys/kernel/pid_max"),
    ("vm.swappiness", "/proc/sys/vm/swappiness"),
    ("vm.dirty_ratio", "/proc/sys/vm/dirty_ratio"),
    (
        "vm.dirty_background_ratio",
        "/proc/sys/vm/dirty_background_ratio",
    ),
    ("vm.overcommit_memory", "/proc/sys/vm/overcommit_memory"),
    ("vm.zone_reclaim_mode", "/proc/sys/vm/zone_reclaim_mode"),
    ("vm.max_map_count", "/proc/sys/vm/max_map_count"),
    ("vm.nr_hugepages", "/proc/sys/vm/nr_hugepages"),
    ("fs.file-max", "/proc/sys/fs/file-max"),
    ("net.core.somaxconn", "/proc/sys/net/core/somaxconn"),
    ("net.core.rmem_max", "/proc/sys/net/core/rmem_max"),
    ("net.core.wmem_max", "/proc/sys/net/core/wmem_max"),
    (
        "net.ipv4.tcp_congestion_control",
        "/proc/sys/net/ipv4/tcp_congestion_control",
    ),
];

fn kernel(sys: &Sys) -> Section {
    let mut s = Section::new("kernel", "Kernel settings");
    s.field(
        "clocksource",
        "Clock source",
        Val::opt_text(sys.read("/sys/devices/system/clocksource/clocksource0/current_clocksource")),
    );
    let rows = TUNABLES
        .iter()
        .filter_map(|(name, path)| {
            Some(vec![
                Val::text(*name),
                Val::text(sys.read(path)?.replace('\t', " ")),
            ])
        })
        .collect();
    s.tables.push(Table {
        key: "tunables",
        title: "Tunables",
        columns: vec![("name", "Name"), ("value", "Value")],
        rows,
    });
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake sysroot of a 4-vCPU Graviton2 VM.
    fn graviton2_root() -> PathBuf {
        let root =
            std::env::temp_dir().join(format!("perfspect-test-{}", util::random_hex(8).unwrap()));
        let put = |p: &str, content: &str| {
            let path = root.join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        };
        put(
            "proc/cpuinfo",
            include_str!("../../tests/data/cpuinfo-aarch64-graviton2.txt"),
        );
        put(
            "proc/meminfo",
            include_str!("../../tests/data/meminfo-x86_64-vm.txt"),
        );
        put(
            "etc/os-release",
            include_str!("../../tests/data/os-release-debian12.txt"),
        );
        put("proc/sys/kernel/hostname", "ip-10-0-0-1\n");
        put("sys/class/dmi/id/sys_vendor", "Amazon EC2\n");
        put("sys/class/dmi/id/product_name", "c6g.xlarge\n");
        put("sys/devices/system/cpu/online", "0-3\n");
        for c in 0..4 {
            put(
                &format!("sys/devices/system/cpu/cpu{c}/topology/physical_package_id"),
                "0\n",
            );
            put(
                &format!("sys/devices/system/cpu/cpu{c}/topology/core_cpus_list"),
                &format!("{c}\n"),
            );
            put(
                &format!("sys/devices/system/cpu/cpu{c}/cache/index0/level"),
                "1\n",
            );
            put(
                &format!("sys/devices/system/cpu/cpu{c}/cache/index0/type"),
                "Data\n",
            );
            put(
                &format!("sys/devices/system/cpu/cpu{c}/cache/index0/size"),
                "64K\n",
            );
            put(
                &format!("sys/devices/system/cpu/cpu{c}/cache/index0/shared_cpu_list"),
                &format!("{c}\n"),
            );
            put(
                &format!("sys/devices/system/cpu/cpu{c}/cache/index1/level"),
                "3\n",
            );
            put(
                &format!("sys/devices/system/cpu/cpu{c}/cache/index1/type"),
                "Unified\n",
            );
            put(
                &format!("sys/devices/system/cpu/cpu{c}/cache/index1/size"),
                "32768K\n",
            );
            put(
                &format!("sys/devices/system/cpu/cpu{c}/cache/index1/shared_cpu_list"),
                "0-3\n",
            );
        }
        put("sys/devices/system/node/node0/cpulist", "0-3\n");
        put("sys/block/nvme0n1/size", "16777216\n");
        put(
            "sys/block/nvme0n1/device/model",
            "Amazon Elastic Block Store\n",
        );
        put("sys/block/nvme0n1/queue/rotational", "0\n");
        put("sys/block/nvme0n1/queue/scheduler", "[none] mq-deadline\n");
        put("sys/block/loop0/size", "0\n");
        put("sys/class/net/ens5/address", "0a:1b:2c:3d:4e:5f\n");
        put("sys/class/net/ens5/mtu", "9001\n");
        put("sys/class/net/ens5/operstate", "up\n");
        put(
            "sys/devices/system/cpu/vulnerabilities/spectre_v2",
            "Mitigation: CSV2, BHB\n",
        );
        put(
            "sys/devices/system/cpu/vulnerabilities/spec_store_bypass",
            "Vulnerable\n",
        );
        root
    }

    #[test]
    fn report_from_fake_aarch64_root() {
        let root = graviton2_root();
        let r = collect(&Sys::at(root.clone()));
        let j = model::to_json(&r);
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(j["host"]["hostname"], "ip-10-0-0-1");
        assert_eq!(j["host"]["os"], "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(j["host"]["virtualization"], "AWS EC2");
        assert_eq!(j["cpu"]["vendor"], "Arm");
        assert_eq!(j["cpu"]["microarchitecture"], "Neoverse N1");
        assert_eq!(j["cpu"]["model"], "AWS Graviton2 (Neoverse N1)");
        assert_eq!(j["cpu"]["part"], "0xd0c");
        assert_eq!(j["cpu"]["sockets"], 1);
        assert_eq!(j["cpu"]["cores"], 4);
        assert_eq!(j["cpu"]["threads_per_core"], 1);
        assert_eq!(j["cpu"]["threads"], 4);
        assert!(j["cpu"]["base_frequency_mhz"].is_null());
        let isa: Vec<&str> = j["cpu"]["isa"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(isa.contains(&"atomics") && isa.contains(&"asimddp"));
        assert_eq!(j["cpu"]["caches"][1]["level"], "L3");
        assert_eq!(j["cpu"]["caches"][1]["size_bytes"], 32 << 20);
        assert_eq!(j["cpu"]["caches"][1]["instances"], 1);
        assert_eq!(j["cpu"]["caches"][0]["instances"], 4);
        assert_eq!(j["cpu"]["caches"][0]["total_bytes"], 256 << 10);
        assert_eq!(j["memory"]["total_bytes"], 24_684_084u64 * 1024);
        let disks = j["storage"]["devices"].as_array().unwrap();
        assert_eq!(disks.len(), 1, "loop devices are skipped");
        assert_eq!(disks[0]["name"], "nvme0n1");
        assert_eq!(disks[0]["type"], "NVMe");
        assert_eq!(disks[0]["size_bytes"], 8u64 << 30);
        assert_eq!(disks[0]["rotational"], false);
        assert_eq!(disks[0]["scheduler"], "none");
        assert_eq!(j["network"]["interfaces"][0]["mtu"], 9001);
        assert!(j["network"]["interfaces"][0]["speed"].is_null());
        assert_eq!(j["vulnerabilities"]["vulnerable_count"], 1);
        assert!(j["power"]["governor"].is_null());
        // The other renderings of the same data.
        let t = model::to_text(&r);
        assert!(t.contains("AWS Graviton2 (Neoverse N1)"));
        assert!(t.contains("unknown"));
        let h = model::to_html(&r);
        assert!(h.contains("<section id=\"cpu\">"));
    }

    #[test]
    fn report_from_empty_root_degrades() {
        let root =
            std::env::temp_dir().join(format!("perfspect-empty-{}", util::random_hex(8).unwrap()));
        std::fs::create_dir_all(&root).unwrap();
        let r = collect(&Sys::at(root.clone()));
        std::fs::remove_dir_all(&root).unwrap();
        let j = model::to_json(&r);
        assert_eq!(j["host"]["hostname"], "unknown");
        assert!(j["cpu"]["model"].is_null());
        assert!(j["memory"]["total_bytes"].is_null());
        assert_eq!(j["storage"]["devices"].as_array().unwrap().len(), 0);
        assert!(model::to_text(&r).contains("(none found)"));
    }
}
