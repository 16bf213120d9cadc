//! `perfspect report`: host configuration, in upstream's table groups.
//!
//! Files are read through [`Sys`], rooted at `/` (or at `PERFSPECT_SYSROOT`,
//! a saved tree or a test fixture); the toolbox runs through `probe`, CPUID
//! and MSRs through `cpuid` and `msr`. One file per table group builds
//! sections; `render/` writes them. A value that cannot be read is never an
//! error: it carries the reason.

mod cpu;
mod cpu_ext;
pub(crate) mod cpuid;
pub(crate) mod devices;
pub(crate) mod disks;
mod host;
mod insights;
pub(crate) mod ipmi;
mod kernel;
mod logs;
mod memory;
pub mod model;
mod msr;
pub(crate) mod network;
pub mod parse;
mod platform;
mod power;
mod probe;
pub mod render;
mod security;
pub(crate) mod smbios;
pub(crate) mod software;
pub(crate) mod status;
mod storage;
pub(crate) mod system;
pub mod uarch;

use crate::util;
use anyhow::{Context, Result};
use model::Report;
pub use render::Format;
use std::collections::BTreeSet;
pub use system::Sys;

/// `perfspect report` arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Output format; repeat or separate with commas for several
    #[arg(long, short = 'f', value_enum, value_delimiter = ',')]
    format: Vec<Format>,
    /// Write report.<format> files into this existing directory instead of stdout
    #[arg(long, short = 'o', value_name = "DIR")]
    output: Option<std::path::PathBuf>,
    /// Only this table or section (its JSON key, e.g. dimms, nic, cpu)
    #[arg(long, value_name = "NAME")]
    table: Option<String>,
}

pub fn cmd(args: &Args) -> Result<()> {
    let output = args.output.as_deref();
    let mut formats: Vec<Format> = if args.format.is_empty() {
        vec![Format::Txt]
    } else {
        args.format.clone()
    };
    let mut seen = BTreeSet::new();
    formats.retain(|f| seen.insert(*f as u8));
    if let Some(dir) = output {
        util::check_writable_dir(dir, "output directory")?;
    }
    if formats.contains(&Format::Xlsx)
        && output.is_none()
        && std::io::IsTerminal::is_terminal(&std::io::stdout())
    {
        return Err(util::UsageError(
            "xlsx is binary: give --output DIR or redirect stdout to a file".into(),
        )
        .into());
    }
    let mut report = collect(&Sys::new());
    if let Some(name) = &args.table {
        select(&mut report, name)?;
    }
    for f in formats {
        let bytes = render::render(&report, f)?;
        match output {
            Some(dir) => {
                let path = dir.join(f.file_name());
                std::fs::write(&path, &bytes)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                eprintln!("wrote {}", path.display());
            }
            None => write_stdout(&bytes)?,
        }
    }
    Ok(())
}

/// Keeps only the section or table named `name` (a JSON key).
fn select(report: &mut model::Report, name: &str) -> Result<()> {
    if report.sections.iter().any(|s| s.key == name) {
        report.sections.retain(|s| s.key == name);
        return Ok(());
    }
    if report
        .sections
        .iter()
        .any(|s| s.tables.iter().any(|t| t.key == name))
    {
        report
            .sections
            .retain(|s| s.tables.iter().any(|t| t.key == name));
        for s in &mut report.sections {
            s.fields.clear();
            s.notes.clear();
            s.tables.retain(|t| t.key == name);
        }
        return Ok(());
    }
    let mut names: Vec<&str> = report
        .sections
        .iter()
        .flat_map(|s| std::iter::once(s.key).chain(s.tables.iter().map(|t| t.key)))
        .collect();
    names.sort();
    names.dedup();
    Err(util::UsageError(format!(
        "no table named '{name}'; tables: {}",
        names.join(", ")
    ))
    .into())
}

/// Bytes to stdout; a closed pipe (`| head`) is not an error.
fn write_stdout(bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn in_group(group: &'static str, mut s: model::Section) -> model::Section {
    s.group = group;
    s
}

pub fn collect(sys: &Sys) -> Report {
    let cpuinfo = parse::cpuinfo_summary(&sys.read_raw("/proc/cpuinfo").unwrap_or_default());
    let hostname = sys
        .read("/proc/sys/kernel/hostname")
        .or_else(|| sys.read("/etc/hostname"))
        .unwrap_or_else(|| "unknown".into());
    let platform = platform::Platform::read(sys);
    let meminfo = parse::parse_meminfo(&sys.read_raw("/proc/meminfo").unwrap_or_default());
    probe::prepare(sys);
    // The groups that run tools run at once, each tool with its own timeout.
    let (software, (pci, pci_note), nics, ipmi, disks) = std::thread::scope(|sc| {
        let sw = sc.spawn(|| software::software(sys));
        let disks = sc.spawn(|| disks::disk_health(sys));
        let ipmi = sc.spawn(|| ipmi::Ipmi::read(sys));
        let net = sc.spawn(|| {
            let pci = devices::pci(sys);
            let models = pci
                .0
                .iter()
                .filter_map(|d| Some((d.slot.clone(), d.device.clone()?)))
                .collect();
            (pci, network::nics(sys, &models))
        });
        let (pci, nics) = net.join().unwrap_or_else(|_| {
            (
                (Vec::new(), Some("lspci probe panicked".into())),
                Vec::new(),
            )
        });
        let ipmi = ipmi
            .join()
            .unwrap_or_else(|_| ipmi::Ipmi::read(&Sys::at_nowhere()));
        (sw.join().ok(), pci, nics, ipmi, disks.join().ok())
    });
    let mut sections = vec![in_group("Summary", host::host(sys, &hostname, &cpuinfo))];
    sections.extend(
        platform
            .sections(sys)
            .into_iter()
            .map(|s| in_group("Summary", s)),
    );
    sections.extend(software.map(|s| in_group("Software", s)));
    sections.extend([
        in_group("Software", kernel::kernel(sys)),
        in_group("CPU", cpu::cpu(sys, &cpuinfo)),
    ]);
    let cpu = cpu_ext::Cpu::read(sys, &cpuinfo);
    sections.extend(
        cpu.cpu_sections(sys)
            .into_iter()
            .map(|s| in_group("CPU", s)),
    );
    sections.push(in_group("Power", power::power(sys)));
    sections.extend(
        cpu.power_sections(sys)
            .into_iter()
            .map(|s| in_group("Power", s)),
    );
    sections.extend([
        in_group("Memory", memory::memory(sys)),
        in_group("Memory", memory::numa(sys)),
        in_group("Memory", platform.dimms(meminfo.get("MemTotal").copied())),
        in_group("Memory", cpu.memory_encryption()),
        in_group("Network", network::network(sys)),
    ]);
    sections.extend(nics.into_iter().map(|s| in_group("Network", s)));
    sections.extend([in_group("Storage", storage::storage(sys))]);
    sections.extend(disks.map(|s| in_group("Storage", s)));
    sections.extend([
        in_group(
            "Devices",
            devices::devices(sys, &pci, pci_note, platform.slots()),
        ),
        in_group("Security", security::vulnerabilities(sys)),
        in_group("Security", cpu.arch_capabilities()),
        in_group(
            "Status",
            status::processes(sys, meminfo.get("MemTotal").copied()),
        ),
    ]);
    sections.extend(
        ipmi.status_sections()
            .into_iter()
            .map(|s| in_group("Status", s)),
    );
    sections.extend([
        in_group("Status", cpu.pmu(sys)),
        in_group("Logs", ipmi.sel_section()),
        in_group("Logs", logs::kernel_log(sys)),
    ]);
    let mut report = Report {
        version: crate::VERSION.to_string(),
        generated: util::now_utc_iso(),
        hostname,
        sections,
    };
    let insights = in_group("Insights", insights::insights(&report));
    report.sections.push(insights);
    if let Some(unreadable) = unreadable(sys) {
        report.sections.push(in_group("Logs", unreadable));
    }
    report
}

/// The files the report could not read as they should be (a damaged saved
/// tree: truncated past the cap, empty, not text), so that what is missing
/// from the other sections is explained. None when there were none.
fn unreadable(sys: &Sys) -> Option<model::Section> {
    let problems = sys.problems();
    if problems.is_empty() {
        return None;
    }
    let mut section = model::Section::new("unreadable", "Files that could not be read");
    let mut table = model::Table::new(
        "unreadable_files",
        "Files that could not be read",
        &[("path", "Path"), ("problem", "Problem")],
    );
    for (path, why) in problems {
        table
            .rows
            .push(vec![model::Val::text(&path), model::Val::text(&why)]);
    }
    section.tables.push(table);
    section
        .notes
        .push("values read from these files are missing or partial in the sections above".into());
    Some(section)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

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
        let j = render::json::to_json(&r);
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
        let t = render::txt::to_text(&r);
        assert!(t.contains("AWS Graviton2 (Neoverse N1)"));
        assert!(t.contains(model::MISSING));
        assert!(!t.contains("unknown"));
        let h = render::html::to_html(&r);
        assert!(h.contains("<section id=\"cpu\">"));
    }

    #[test]
    fn report_from_empty_root_degrades() {
        let root =
            std::env::temp_dir().join(format!("perfspect-empty-{}", util::random_hex(8).unwrap()));
        std::fs::create_dir_all(&root).unwrap();
        let r = collect(&Sys::at(root.clone()));
        std::fs::remove_dir_all(&root).unwrap();
        let j = render::json::to_json(&r);
        assert_eq!(j["host"]["hostname"], "unknown");
        assert!(j["cpu"]["model"].is_null());
        assert!(j["memory"]["total_bytes"].is_null());
        assert_eq!(j["storage"]["devices"].as_array().unwrap().len(), 0);
        assert!(render::txt::to_text(&r).contains("(none found)"));
    }
}
