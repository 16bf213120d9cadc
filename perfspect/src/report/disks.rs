//! The Storage group's disk table: model, firmware, health (smartctl -j) and
//! the PCIe link of NVMe drives (sysfs).

use super::model::{Section, Table, Val};
use super::probe;
use super::system::Sys;
use serde_json::Value;

/// What the report takes from `smartctl -j -i -H`.
#[derive(Debug, PartialEq)]
pub struct Smart {
    pub model: Option<String>,
    pub firmware: Option<String>,
    pub serial: Option<String>,
    /// SMART overall health self-assessment.
    pub passed: Option<bool>,
    /// smartctl's first error message, when it could not read the drive.
    pub error: Option<String>,
}

pub fn parse_smartctl(json: &str) -> Option<Smart> {
    let v: Value = serde_json::from_str(json).ok()?;
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(String::from);
    Some(Smart {
        model: s("model_name"),
        firmware: s("firmware_version"),
        serial: s("serial_number"),
        passed: v.pointer("/smart_status/passed").and_then(Value::as_bool),
        error: v
            .pointer("/smartctl/messages")
            .and_then(Value::as_array)
            .and_then(|m| m.iter().find(|m| m["severity"] == "error"))
            .and_then(|m| m["string"].as_str())
            .map(String::from),
    })
}

/// Whole disks worth asking smartctl about (not loop, ram, zram, dm, md).
fn disks(sys: &Sys) -> Vec<String> {
    sys.list("/sys/block")
        .into_iter()
        .filter(|n| {
            !["loop", "ram", "zram", "dm-", "md", "sr", "fd"]
                .iter()
                .any(|p| n.starts_with(p))
        })
        .collect()
}

pub fn disk_health(sys: &Sys) -> Section {
    let names = disks(sys);
    let results: Vec<Result<String, String>> = std::thread::scope(|sc| {
        let hs: Vec<_> = names
            .iter()
            .map(|n| {
                sc.spawn(move || {
                    probe::run(sys, "smartctl", &["-j", "-i", "-H", &format!("/dev/{n}")])
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("smartctl probe panicked".into()))
            })
            .collect()
    });
    let mut t = Table::new(
        "disks",
        "Disks",
        &[
            ("name", "Disk"),
            ("model", "Model"),
            ("firmware", "Firmware"),
            ("health", "SMART health"),
            ("pcie_link_speed", "NVMe link speed"),
            ("pcie_link_width", "NVMe link width"),
        ],
    );
    for (n, r) in names.iter().zip(results) {
        let smart = r.as_ref().ok().and_then(|j| parse_smartctl(j));
        let why = match (&r, &smart) {
            (Err(e), _) => e.clone(),
            (Ok(_), None) => "smartctl output is not JSON".into(),
            (Ok(_), Some(s)) => s
                .error
                .clone()
                .map(|e| format!("smartctl: {e}"))
                .unwrap_or_else(|| "not reported by the drive".into()),
        };
        let field = |f: fn(&Smart) -> Option<String>| {
            smart
                .as_ref()
                .and_then(f)
                .map(Val::Text)
                .unwrap_or_else(|| Val::na(why.clone()))
        };
        let model = match smart.as_ref().and_then(|s| s.model.clone()) {
            Some(m) => Val::Text(m),
            None => sys
                .read(&format!("/sys/block/{n}/device/model"))
                .map(Val::Text)
                .unwrap_or_else(|| Val::na(why.clone())),
        };
        let link = |f: &str| {
            if !n.starts_with("nvme") {
                return Val::na("not an NVMe drive");
            }
            let ctrl = n.split('n').take(2).collect::<Vec<_>>().join("n");
            Val::or_na(
                sys.read(&format!("/sys/class/nvme/{ctrl}/device/{f}")),
                "not exposed (a virtual or fabric-attached NVMe drive)",
            )
        };
        t.rows.push(vec![
            Val::text(n.clone()),
            model,
            field(|s| s.firmware.clone()),
            field(|s| {
                s.passed
                    .map(|p| if p { "passed" } else { "FAILED" }.to_string())
            }),
            link("current_link_speed"),
            link("current_link_width"),
        ]);
    }
    if t.rows.is_empty() {
        t = t.empty_because("no whole disks in /sys/block");
    }
    let mut s = Section::new("disks", "Disks");
    s.tables.push(t);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smartctl_outputs() {
        let nvme =
            parse_smartctl(include_str!("../../tests/data/smartctl-j-nvme-made.json")).unwrap();
        assert_eq!(nvme.model.as_deref(), Some("SAMSUNG MZQL23T8HCLS-00A07"));
        assert_eq!(nvme.firmware.as_deref(), Some("GDC5602Q"));
        assert_eq!(nvme.passed, Some(true));
        assert_eq!(nvme.error, None);
        let vm =
            parse_smartctl(include_str!("../../tests/data/smartctl-j-virtio-vm.json")).unwrap();
        assert_eq!(vm.model, None);
        assert_eq!(
            vm.error.as_deref(),
            Some("/dev/vda: Unable to detect device type")
        );
        assert_eq!(parse_smartctl("not json"), None);
    }
}
