//! The Devices group: accelerators, GPUs, CXL devices (by PCI class and ID,
//! named by lspci) and the PCIe slots of the SMBIOS table.

use super::model::{Section, Table, Val};
use super::probe;
use super::system::Sys;

/// One PCI function as `lspci -vmmnnD` prints it (or sysfs, without names).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PciDev {
    pub slot: String,
    pub class: Option<String>,
    pub class_id: u32,
    pub vendor: Option<String>,
    pub vendor_id: u32,
    pub device: Option<String>,
    pub device_id: u32,
}

/// "Intel Corporation [8086]" -> ("Intel Corporation", 0x8086).
fn name_and_id(v: &str) -> (Option<String>, u32) {
    match v.rfind(" [") {
        Some(i) if v.ends_with(']') => (
            Some(v[..i].trim().to_string()),
            u32::from_str_radix(&v[i + 2..v.len() - 1], 16).unwrap_or(0),
        ),
        _ => (Some(v.trim().to_string()), 0),
    }
}

/// Parses `lspci -vmmnnD`: records separated by blank lines, "Key:\tValue".
pub fn parse_lspci(text: &str) -> Vec<PciDev> {
    let mut out = Vec::new();
    for rec in text.split("\n\n") {
        let mut d = PciDev::default();
        for line in rec.lines() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let v = v.trim();
            match k {
                "Slot" => d.slot = v.to_string(),
                "Class" => (d.class, d.class_id) = name_and_id(v),
                "Vendor" => (d.vendor, d.vendor_id) = name_and_id(v),
                "Device" => (d.device, d.device_id) = name_and_id(v),
                _ => {}
            }
        }
        if !d.slot.is_empty() {
            out.push(d);
        }
    }
    out
}

/// The IDs from sysfs, when lspci cannot be run.
fn from_sysfs(sys: &Sys) -> Vec<PciDev> {
    let base = "/sys/bus/pci/devices";
    let hex = |p: String| {
        sys.read(&p)
            .and_then(|v| u32::from_str_radix(v.trim_start_matches("0x"), 16).ok())
            .unwrap_or(0)
    };
    sys.list(base)
        .into_iter()
        .map(|a| PciDev {
            class_id: hex(format!("{base}/{a}/class")) >> 8,
            vendor_id: hex(format!("{base}/{a}/vendor")),
            device_id: hex(format!("{base}/{a}/device")),
            slot: a,
            ..PciDev::default()
        })
        .collect()
}

/// All PCI functions, and a note when names are missing.
pub fn pci(sys: &Sys) -> (Vec<PciDev>, Option<String>) {
    match probe::run(sys, "lspci", &["-vmmnnD"]) {
        Ok(text) => (parse_lspci(&text), None),
        Err(e) => (from_sysfs(sys), Some(format!("names not available: {e}"))),
    }
}

/// Upstream's accelerator list: name, PCI IDs (Intel), /dev node, what it does.
const ACCELERATORS: &[(&str, &[u32], &str, &str)] = &[
    (
        "DSA",
        &[0x0b25],
        "/dev/dsa",
        "Data Streaming Accelerator: memory copy, fill, compare, CRC",
    ),
    (
        "IAA",
        &[0x0cfe],
        "/dev/iax",
        "In-Memory Analytics Accelerator: compression, decompression, filtering",
    ),
    (
        "QAT",
        &[0x4940, 0x4942, 0x4944, 0x4946, 0x4948, 0x37c8, 0x18a0],
        "/dev/qat_adf_ctl",
        "QuickAssist Technology: cryptography and compression",
    ),
    (
        "DLB",
        &[0x2710, 0x2714],
        "/dev/dlb0",
        "Dynamic Load Balancer: hardware queue management",
    ),
];

fn driver(sys: &Sys, slot: &str) -> Val {
    match sys.link_name(&format!("/sys/bus/pci/devices/{slot}/driver")) {
        Some(d) => Val::text(d),
        None => Val::na("no driver bound"),
    }
}

fn label(d: &PciDev, which: &str) -> Val {
    let (name, id) = match which {
        "vendor" => (&d.vendor, d.vendor_id),
        _ => (&d.device, d.device_id),
    };
    match name {
        Some(n) => Val::text(format!("{n} [{id:04x}]")),
        None => Val::text(format!("[{id:04x}]")),
    }
}

pub fn devices(sys: &Sys, devs: &[PciDev], names_note: Option<String>, slots: Table) -> Section {
    let mut s = Section::new("devices", "Devices");
    let arch_x86 = cfg!(target_arch = "x86_64");
    let mut acc = Table::new(
        "accelerators",
        "Accelerators",
        &[
            ("name", "Name"),
            ("count", "Devices"),
            ("dev_node", "Device node"),
            ("driver", "Driver"),
            ("description", "Description"),
        ],
    );
    for (name, ids, node, what) in ACCELERATORS {
        let found: Vec<&PciDev> = devs
            .iter()
            .filter(|d| d.vendor_id == 0x8086 && ids.contains(&d.device_id))
            .collect();
        let count = if arch_x86 || !found.is_empty() {
            Val::Int(found.len() as i64)
        } else {
            Val::na("not applicable to this architecture (Intel accelerators)")
        };
        let node_present = sys.path(node).exists();
        acc.rows.push(vec![
            Val::text(*name),
            count,
            if node_present {
                Val::text(*node)
            } else {
                Val::na(format!("{node} absent"))
            },
            found
                .first()
                .map(|d| driver(sys, &d.slot))
                .unwrap_or_else(|| Val::na("no device")),
            Val::text(*what),
        ]);
    }
    let cols = [
        ("address", "Address"),
        ("vendor", "Vendor"),
        ("device", "Device"),
        ("driver", "Driver"),
    ];
    let mut gpu = Table::new("gpus", "GPUs", &cols);
    let mut cxl = Table::new("cxl", "CXL devices", &cols);
    for d in devs {
        let row = || {
            vec![
                Val::text(d.slot.clone()),
                label(d, "vendor"),
                label(d, "device"),
                driver(sys, &d.slot),
            ]
        };
        // Display controllers (0x03xx); CXL memory devices (class 0x0502).
        if d.class_id >> 8 == 0x03 {
            gpu.rows.push(row());
        } else if d.class_id == 0x0502 {
            cxl.rows.push(row());
        }
    }
    if devs.is_empty() {
        gpu = gpu.empty_because("no PCI devices visible");
        cxl = cxl.empty_because("no PCI devices visible");
    } else {
        gpu = gpu.empty_because("no display controller on the PCI bus");
        cxl = cxl.empty_because("no CXL memory device (PCI class 0502) on the PCI bus");
    }
    s.field(
        "pci_functions",
        "PCI functions",
        Val::Int(devs.len() as i64),
    );
    s.tables.extend([acc, gpu, cxl, slots]);
    if let Some(n) = names_note {
        s.notes.push(n);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lspci_of_this_vm() {
        let d = parse_lspci(include_str!("../../tests/data/lspci-vmmnnD-x86_64-vm.txt"));
        assert!(d.len() >= 4);
        assert_eq!(d[0].slot, "0000:00:00.0");
        assert_eq!(d[0].class_id, 0x0600);
        assert_eq!(d[0].vendor.as_deref(), Some("Intel Corporation"));
        assert_eq!(d[0].vendor_id, 0x8086);
        let net = d.iter().find(|x| x.class_id == 0x0200).unwrap();
        assert_eq!(net.device.as_deref(), Some("Virtio 1.0 network device"));
        assert_eq!(net.device_id, 0x1041);
    }

    #[test]
    fn accelerators_counted_by_id() {
        let text = include_str!("../../tests/data/lspci-vmmnnD-spr-accelerators-made.txt");
        let devs = parse_lspci(text);
        let dir = std::env::temp_dir().join(format!("perfspect-dev-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("dev/dsa")).unwrap();
        let s = devices(
            &Sys::at(dir.clone()),
            &devs,
            None,
            Table::new("pcie_slots", "PCIe slots", &[]),
        );
        let acc = &s.tables[0];
        let count = |n: &str| acc.rows.iter().find(|r| r[0] == Val::text(n)).unwrap()[1].clone();
        assert_eq!(count("DSA"), Val::Int(2));
        assert_eq!(count("IAA"), Val::Int(2));
        assert_eq!(count("QAT"), Val::Int(2));
        assert_eq!(count("DLB"), Val::Int(1));
        assert_eq!(acc.rows[0][2], Val::text("/dev/dsa"));
        assert!(matches!(acc.rows[1][2], Val::Na(_)));
        assert_eq!(s.tables[1].rows.len(), 1, "one GPU");
        assert_eq!(s.tables[2].rows.len(), 1, "one CXL device");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
