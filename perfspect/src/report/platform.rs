//! Platform tables from SMBIOS: BIOS, System, Baseboard, Chassis (Summary),
//! the DIMM table (Memory) and PCIe slots (Devices).
//!
//! The structure table (/sys/firmware/dmi/tables/DMI) is readable by root
//! only; without it the kernel's digest in /sys/class/dmi/id (world-readable
//! except serial numbers and UUID) fills what it can.

use super::model::{Section, Table, Val};
use super::smbios::{self, Bios, Board, Chassis, Smbios, System};
use super::system::Sys;

const TABLE: &str = "/sys/firmware/dmi/tables/DMI";

/// The parsed table, or why it could not be read.
pub fn read(sys: &Sys) -> Result<Smbios, String> {
    match std::fs::read(sys.path(TABLE)) {
        Ok(b) if b.is_empty() => Err("SMBIOS table is empty".into()),
        Ok(b) => Ok(smbios::parse(&b)),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            Err(format!("needs root ({TABLE} is readable by root only)"))
        }
        Err(_) => {
            Err("no SMBIOS tables: /sys/firmware/dmi/tables is absent (common in VMs)".into())
        }
    }
}

/// What /sys/class/dmi/id offers when the table is not readable.
fn from_dmi_id(sys: &Sys) -> Smbios {
    let id = |f: &str| {
        sys.read(&format!("/sys/class/dmi/id/{f}")).filter(|v| {
            !["To be filled by O.E.M.", "Default string", "Not Specified"]
                .iter()
                .any(|p| v.eq_ignore_ascii_case(p))
        })
    };
    Smbios {
        bios: Some(Bios {
            vendor: id("bios_vendor"),
            version: id("bios_version"),
            release_date: id("bios_date"),
            revision: id("bios_release"),
        }),
        system: Some(System {
            manufacturer: id("sys_vendor"),
            product: id("product_name"),
            version: id("product_version"),
            serial: id("product_serial"),
            uuid: id("product_uuid"),
            sku: id("product_sku"),
            family: id("product_family"),
        }),
        board: Some(Board {
            manufacturer: id("board_vendor"),
            product: id("board_name"),
            version: id("board_version"),
            serial: id("board_serial"),
        }),
        chassis: Some(Chassis {
            manufacturer: id("chassis_vendor"),
            kind: None,
            version: id("chassis_version"),
            serial: id("chassis_serial"),
        }),
        ..Smbios::default()
    }
}

/// A value, or the reason there is none: the table's own absence, or the
/// firmware leaving the field unset.
fn v(x: &Option<String>, table_err: Option<&str>) -> Val {
    match (x, table_err) {
        (Some(s), _) => Val::text(s.clone()),
        (None, Some(e)) => Val::na(e),
        (None, None) => Val::na("not set by the firmware"),
    }
}

pub struct Platform {
    pub table: Result<Smbios, String>,
}

impl Platform {
    pub fn read(sys: &Sys) -> Platform {
        Platform { table: read(sys) }
    }

    /// The four Summary sections.
    pub fn sections(&self, sys: &Sys) -> Vec<Section> {
        let fallback;
        let (t, why) = match &self.table {
            Ok(t) => (t, None),
            Err(e) => {
                fallback = from_dmi_id(sys);
                (&fallback, Some(e.as_str()))
            }
        };
        let bios = t.bios.as_ref();
        let mut s1 = Section::new("bios", "BIOS");
        let def_b = Bios::default();
        let bi = bios.unwrap_or(&def_b);
        s1.field("vendor", "Vendor", v(&bi.vendor, why))
            .field("version", "Version", v(&bi.version, why))
            .field("release_date", "Release date", v(&bi.release_date, why))
            .field("revision", "BIOS revision", v(&bi.revision, why));
        let def_s = System::default();
        let sy = t.system.as_ref().unwrap_or(&def_s);
        let root_only = why
            .filter(|w| w.starts_with("needs root"))
            .map(|_| "needs root (serial numbers and UUID are root-only)");
        let mut s2 = Section::new("system", "System");
        s2.field("manufacturer", "Manufacturer", v(&sy.manufacturer, why))
            .field("product", "Product", v(&sy.product, why))
            .field("version", "Version", v(&sy.version, why))
            .field("serial", "Serial number", v(&sy.serial, root_only.or(why)))
            .field("uuid", "UUID", v(&sy.uuid, root_only.or(why)))
            .field("sku", "SKU", v(&sy.sku, why))
            .field("family", "Family", v(&sy.family, why));
        let def_bo = Board::default();
        let bo = t.board.as_ref().unwrap_or(&def_bo);
        let mut s3 = Section::new("baseboard", "Baseboard");
        s3.field("manufacturer", "Manufacturer", v(&bo.manufacturer, why))
            .field("product", "Product", v(&bo.product, why))
            .field("version", "Version", v(&bo.version, why))
            .field("serial", "Serial number", v(&bo.serial, root_only.or(why)));
        let def_c = Chassis::default();
        let c = t.chassis.as_ref().unwrap_or(&def_c);
        let mut s4 = Section::new("chassis", "Chassis");
        s4.field("manufacturer", "Manufacturer", v(&c.manufacturer, why))
            .field(
                "type",
                "Type",
                v(
                    &c.kind.map(String::from).or_else(|| chassis_type_id(sys)),
                    why,
                ),
            )
            .field("version", "Version", v(&c.version, why))
            .field("serial", "Serial number", v(&c.serial, root_only.or(why)));
        vec![s1, s2, s3, s4]
    }

    /// The Memory group's DIMM section: installed vs total, populated slots.
    pub fn dimms(&self, total_visible: Option<u64>) -> Section {
        let mut s = Section::new("dimms", "DIMMs");
        let mut t = Table::new(
            "dimms",
            "DIMMs",
            &[
                ("slot", "Slot"),
                ("bank", "Bank"),
                ("size_bytes", "Size"),
                ("type", "Type"),
                ("speed_mts", "Speed (MT/s)"),
                ("configured_speed_mts", "Configured speed (MT/s)"),
                ("manufacturer", "Manufacturer"),
                ("part_number", "Part number"),
                ("rank", "Rank"),
            ],
        );
        match &self.table {
            Err(e) => {
                s.field(
                    "populated_channels",
                    "Populated channels",
                    Val::na(e.clone()),
                )
                .field("total_channels", "Memory channels", Val::na(e.clone()))
                .field("installed_bytes", "Installed", Val::na(e.clone()))
                .field("populated_slots", "Populated slots", Val::na(e.clone()))
                .field("total_slots", "DIMM slots", Val::na(e.clone()));
                t = t.empty_because(e.clone());
            }
            Ok(tab) => {
                let installed: u64 = tab.dimms.iter().filter_map(|d| d.size_bytes).sum();
                let populated = tab.dimms.iter().filter(|d| d.size_bytes.is_some()).count();
                let channels = |populated_only: bool| {
                    tab.dimms
                        .iter()
                        .filter(|d| !populated_only || d.size_bytes.is_some())
                        .filter_map(|d| channel_of(d.bank.as_deref(), d.locator.as_deref()?))
                        .collect::<std::collections::BTreeSet<_>>()
                        .len() as i64
                };
                s.field(
                    "populated_channels",
                    "Populated channels",
                    Val::Int(channels(true)),
                )
                .field(
                    "total_channels",
                    "Memory channels",
                    Val::Int(channels(false)),
                );
                s.field("installed_bytes", "Installed", Val::Bytes(installed))
                    .field(
                        "populated_slots",
                        "Populated slots",
                        Val::Int(populated as i64),
                    )
                    .field(
                        "total_slots",
                        "DIMM slots",
                        Val::Int(tab.dimms.len() as i64),
                    );
                let empty = "slot empty";
                for d in &tab.dimms {
                    let e = |x: Option<Val>| {
                        x.unwrap_or_else(|| {
                            Val::na(if d.size_bytes.is_none() {
                                empty
                            } else {
                                "not set by the firmware"
                            })
                        })
                    };
                    t.rows.push(vec![
                        e(d.locator.clone().map(Val::Text)),
                        e(d.bank.clone().map(Val::Text)),
                        e(d.size_bytes.map(Val::Bytes)),
                        e(d.kind.map(Val::text)),
                        e(d.speed.map(|x| Val::Int(x.into()))),
                        e(d.configured_speed.map(|x| Val::Int(x.into()))),
                        e(d.manufacturer.clone().map(Val::Text)),
                        e(d.part_number.clone().map(Val::Text)),
                        e(d.rank.map(|x| Val::Int(x.into()))),
                    ]);
                }
                if tab.dimms.is_empty() {
                    t = t.empty_because("the SMBIOS table lists no memory devices");
                }
            }
        }
        s.field(
            "visible_bytes",
            "Visible to the OS",
            Val::opt_bytes(total_visible),
        );
        s.tables.push(t);
        s
    }

    /// The Devices group's PCIe slot table.
    pub fn slots(&self) -> Table {
        let mut t = Table::new(
            "pcie_slots",
            "PCIe slots",
            &[
                ("designation", "Slot"),
                ("type", "Type"),
                ("width", "Width"),
                ("usage", "Usage"),
                ("address", "Device address"),
            ],
        );
        match &self.table {
            Err(e) => t.empty_because(e.clone()),
            Ok(tab) if tab.slots.is_empty() => t.empty_because("the SMBIOS table lists no slots"),
            Ok(tab) => {
                for sl in &tab.slots {
                    let unset = || Val::na("not set by the firmware");
                    t.rows.push(vec![
                        sl.designation.clone().map(Val::Text).unwrap_or_else(unset),
                        sl.kind.clone().map(Val::Text).unwrap_or_else(unset),
                        sl.width.map(Val::text).unwrap_or_else(unset),
                        sl.usage.map(Val::text).unwrap_or_else(unset),
                        sl.address
                            .clone()
                            .map(Val::Text)
                            .unwrap_or_else(|| Val::na("empty or not given")),
                    ]);
                }
                t
            }
        }
    }
}

/// The channel of a DIMM slot: its bank and locator without the slot
/// number ("NODE 0", "CPU0_DIMM_A1" -> "NODE 0/CPU0_DIMM_A").
pub fn channel_of(bank: Option<&str>, locator: &str) -> Option<String> {
    let ch = locator.trim_end_matches(|c: char| c.is_ascii_digit());
    (!ch.is_empty()).then(|| format!("{}/{ch}", bank.unwrap_or("")))
}

/// /sys/class/dmi/id/chassis_type is the SMBIOS type number.
fn chassis_type_id(sys: &Sys) -> Option<String> {
    let n: u8 = sys.read("/sys/class/dmi/id/chassis_type")?.parse().ok()?;
    smbios::chassis_type(n).map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_dimm_table_and_channels() {
        let p = Platform {
            table: Ok(smbios::parse(include_bytes!(
                "../../tests/data/smbios-dmi-server-made.bin"
            ))),
        };
        let s = p.dimms(Some(60 << 30));
        let f = |k: &str| s.fields.iter().find(|f| f.key == k).unwrap().val.clone();
        assert_eq!(f("installed_bytes"), Val::Bytes(64 << 30));
        assert_eq!(f("populated_slots"), Val::Int(2));
        assert_eq!(f("total_slots"), Val::Int(4));
        assert_eq!(f("populated_channels"), Val::Int(2));
        assert_eq!(f("total_channels"), Val::Int(2));
        let t = &s.tables[0];
        assert_eq!(t.rows[0][3], Val::text("DDR5"));
        assert_eq!(t.rows[1][2], Val::na("slot empty"));
        assert_eq!(p.slots().rows.len(), 2);
        assert_eq!(
            channel_of(Some("P0 CHANNEL A"), "DIMM 0"),
            Some("P0 CHANNEL A/DIMM ".into())
        );
    }

    #[test]
    fn absent_table_says_why_everywhere() {
        let p = Platform {
            table: Err("no SMBIOS tables".into()),
        };
        let s = p.dimms(None);
        assert!(
            s.fields
                .iter()
                .take(5)
                .all(|f| f.val == Val::na("no SMBIOS tables"))
        );
        assert_eq!(s.tables[0].why_empty.as_deref(), Some("no SMBIOS tables"));
        assert_eq!(p.slots().why_empty.as_deref(), Some("no SMBIOS tables"));
    }
}
