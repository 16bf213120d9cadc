//! The System group: OS, kernel, virtualization, uptime.

use super::model::{Section, Val};
use super::parse;
use super::system::Sys;

pub fn dmi(sys: &Sys, name: &str) -> Option<String> {
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

pub fn host(sys: &Sys, hostname: &str, cpu: &parse::CpuInfo) -> Section {
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
