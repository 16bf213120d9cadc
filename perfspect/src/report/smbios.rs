//! A small reader of the SMBIOS structure table (DMTF DSP0134) as Linux
//! exposes it in /sys/firmware/dmi/tables/DMI: types 0 (BIOS), 1 (System),
//! 2 (Baseboard), 3 (Chassis), 9 (System Slots), 17 (Memory Device) and 127
//! (End of Table). Pure: bytes in, structs out; malformed input stops the walk
//! and never panics.

/// One structure: its type, formatted area (header included) and strings.
struct Structure<'a> {
    kind: u8,
    data: &'a [u8],
    strings: Vec<&'a [u8]>,
}

impl Structure<'_> {
    fn byte(&self, off: usize) -> Option<u8> {
        self.data.get(off).copied()
    }
    fn word(&self, off: usize) -> Option<u16> {
        Some(u16::from_le_bytes([self.byte(off)?, self.byte(off + 1)?]))
    }
    fn dword(&self, off: usize) -> Option<u32> {
        Some(u32::from_le_bytes(
            self.data.get(off..off + 4)?.try_into().ok()?,
        ))
    }
    /// The string a byte at `off` refers to (1-based; 0 means none), trimmed;
    /// placeholders ("Not Specified", "To be filled by O.E.M.") count as none.
    fn string(&self, off: usize) -> Option<String> {
        let i = self.byte(off)? as usize;
        let s = String::from_utf8_lossy(self.strings.get(i.checked_sub(1)?)?)
            .trim()
            .to_string();
        let placeholder = [
            "",
            "Not Specified",
            "To be filled by O.E.M.",
            "Default string",
            "Unknown",
        ];
        (!placeholder.iter().any(|p| s.eq_ignore_ascii_case(p))).then_some(s)
    }
}

fn structures(table: &[u8]) -> Vec<Structure<'_>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + 4 <= table.len() {
        let kind = table[pos];
        let len = table[pos + 1] as usize;
        if len < 4 || pos + len > table.len() {
            break;
        }
        let data = &table[pos..pos + len];
        // The string set: NUL-terminated strings, ended by one more NUL
        // (two NULs at once when there are no strings).
        let mut end = pos + len;
        let mut strings = Vec::new();
        if table.get(end..end + 2) == Some(&[0, 0][..]) {
            end += 2;
        } else {
            loop {
                let Some(nul) = table[end.min(table.len())..].iter().position(|b| *b == 0) else {
                    return out;
                };
                strings.push(&table[end..end + nul]);
                end += nul + 1;
                match table.get(end) {
                    Some(0) => {
                        end += 1;
                        break;
                    }
                    Some(_) => {}
                    None => return out,
                }
            }
        }
        out.push(Structure {
            kind,
            data,
            strings,
        });
        pos = end;
        if kind == 127 {
            break;
        }
    }
    out
}

#[derive(Debug, Default, PartialEq)]
pub struct Bios {
    pub vendor: Option<String>,
    pub version: Option<String>,
    pub release_date: Option<String>,
    /// "major.minor" of the system BIOS release, where given.
    pub revision: Option<String>,
}

#[derive(Debug, Default, PartialEq)]
pub struct System {
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    pub version: Option<String>,
    pub serial: Option<String>,
    pub uuid: Option<String>,
    pub sku: Option<String>,
    pub family: Option<String>,
}

#[derive(Debug, Default, PartialEq)]
pub struct Board {
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    pub version: Option<String>,
    pub serial: Option<String>,
}

#[derive(Debug, Default, PartialEq)]
pub struct Chassis {
    pub manufacturer: Option<String>,
    pub kind: Option<&'static str>,
    pub version: Option<String>,
    pub serial: Option<String>,
}

#[derive(Debug, Default, PartialEq)]
pub struct Slot {
    pub designation: Option<String>,
    pub kind: Option<String>,
    pub width: Option<&'static str>,
    pub usage: Option<&'static str>,
    /// The PCI address of the device in it, where given ("0000:16:00.0").
    pub address: Option<String>,
}

#[derive(Debug, Default, PartialEq)]
pub struct Dimm {
    pub locator: Option<String>,
    pub bank: Option<String>,
    /// None: slot empty.
    pub size_bytes: Option<u64>,
    pub kind: Option<&'static str>,
    /// MT/s.
    pub speed: Option<u32>,
    pub configured_speed: Option<u32>,
    pub manufacturer: Option<String>,
    pub part_number: Option<String>,
    pub serial: Option<String>,
    pub rank: Option<u8>,
}

#[derive(Debug, Default, PartialEq)]
pub struct Smbios {
    pub bios: Option<Bios>,
    pub system: Option<System>,
    pub board: Option<Board>,
    pub chassis: Option<Chassis>,
    pub slots: Vec<Slot>,
    pub dimms: Vec<Dimm>,
}

pub fn chassis_type(b: u8) -> Option<&'static str> {
    const NAMES: [&str; 36] = [
        "Other",
        "Unknown",
        "Desktop",
        "Low Profile Desktop",
        "Pizza Box",
        "Mini Tower",
        "Tower",
        "Portable",
        "Laptop",
        "Notebook",
        "Hand Held",
        "Docking Station",
        "All in One",
        "Sub Notebook",
        "Space-saving",
        "Lunch Box",
        "Main Server Chassis",
        "Expansion Chassis",
        "SubChassis",
        "Bus Expansion Chassis",
        "Peripheral Chassis",
        "RAID Chassis",
        "Rack Mount Chassis",
        "Sealed-case PC",
        "Multi-system chassis",
        "Compact PCI",
        "Advanced TCA",
        "Blade",
        "Blade Enclosure",
        "Tablet",
        "Convertible",
        "Detachable",
        "IoT Gateway",
        "Embedded PC",
        "Mini PC",
        "Stick PC",
    ];
    NAMES.get(((b & 0x7f) as usize).checked_sub(1)?).copied()
}

fn memory_type(b: u8) -> Option<&'static str> {
    Some(match b {
        0x01 => "Other",
        0x03 => "DRAM",
        0x0f => "SDRAM",
        0x12 => "DDR",
        0x13 => "DDR2",
        0x18 => "DDR3",
        0x1a => "DDR4",
        0x1b => "LPDDR",
        0x1c => "LPDDR2",
        0x1d => "LPDDR3",
        0x1e => "LPDDR4",
        0x1f => "Logical non-volatile device",
        0x20 => "HBM",
        0x21 => "HBM2",
        0x22 => "DDR5",
        0x23 => "LPDDR5",
        0x24 => "HBM3",
        _ => return None,
    })
}

fn slot_type(b: u8) -> Option<String> {
    let pcie = |generation: &str, i: u8| {
        let width = ["", " x1", " x2", " x4", " x8", " x16"][i as usize];
        format!("PCI Express{generation}{width}")
    };
    Some(match b {
        0x06 => "PCI".into(),
        0xa5..=0xaa => pcie("", b - 0xa5),
        0xab..=0xb0 => pcie(" Gen 2", b - 0xab),
        0xb1..=0xb6 => pcie(" Gen 3", b - 0xb1),
        0xb7 => "PCI Express Mini".into(),
        0xb8..=0xbd => pcie(" Gen 4", b - 0xb8),
        0xbe..=0xc3 => pcie(" Gen 5", b - 0xbe),
        0xc4 => "PCI Express Gen 6 and beyond".into(),
        0x1f..=0x23 => "M.2 / U.2".into(),
        _ => return None,
    })
}

fn slot_width(b: u8) -> Option<&'static str> {
    Some(match b {
        0x08 => "x1",
        0x09 => "x2",
        0x0a => "x4",
        0x0b => "x8",
        0x0c => "x12",
        0x0d => "x16",
        0x0e => "x32",
        _ => return None,
    })
}

fn slot_usage(b: u8) -> Option<&'static str> {
    Some(match b {
        0x03 => "available",
        0x04 => "in use",
        0x05 => "unavailable",
        _ => return None,
    })
}

fn dimm(s: &Structure) -> Dimm {
    let size_bytes = match s.word(0x0c) {
        None | Some(0) | Some(0xffff) => None,
        Some(0x7fff) => s.dword(0x1c).map(|mb| u64::from(mb & 0x7fff_ffff) << 20),
        Some(w) if w & 0x8000 != 0 => Some(u64::from(w & 0x7fff) << 10),
        Some(w) => Some(u64::from(w) << 20),
    };
    let speed = |off: usize, ext: usize| match s.word(off) {
        Some(0xffff) => s.dword(ext),
        Some(0) | None => None,
        Some(v) => Some(u32::from(v)),
    };
    let empty = size_bytes.is_none();
    let keep = |v: Option<String>| v.filter(|v| !empty && !v.eq_ignore_ascii_case("NO DIMM"));
    Dimm {
        locator: s.string(0x10),
        bank: s.string(0x11),
        size_bytes,
        kind: if empty {
            None
        } else {
            s.byte(0x12).and_then(memory_type)
        },
        speed: if empty { None } else { speed(0x15, 0x54) },
        configured_speed: if empty { None } else { speed(0x20, 0x58) },
        manufacturer: keep(s.string(0x17)),
        part_number: keep(s.string(0x1a)),
        serial: keep(s.string(0x18)),
        rank: s.byte(0x1b).map(|r| r & 0x0f).filter(|r| *r > 0 && !empty),
    }
}

fn uuid(s: &Structure) -> Option<String> {
    let b = s.data.get(0x08..0x18)?;
    if b.iter().all(|x| *x == 0) || b.iter().all(|x| *x == 0xff) {
        return None;
    }
    // The first three fields are little-endian (SMBIOS 2.6 and later).
    let h = |r: std::ops::Range<usize>, rev: bool| {
        let mut v: Vec<u8> = b[r].to_vec();
        if rev {
            v.reverse();
        }
        v.iter().map(|x| format!("{x:02x}")).collect::<String>()
    };
    Some(format!(
        "{}-{}-{}-{}-{}",
        h(0..4, true),
        h(4..6, true),
        h(6..8, true),
        h(8..10, false),
        h(10..16, false)
    ))
}

/// Parses the structure table.
pub fn parse(table: &[u8]) -> Smbios {
    let mut out = Smbios::default();
    for s in structures(table) {
        match s.kind {
            0 if out.bios.is_none() => {
                out.bios = Some(Bios {
                    vendor: s.string(0x04),
                    version: s.string(0x05),
                    release_date: s.string(0x08),
                    revision: match (s.byte(0x14), s.byte(0x15)) {
                        (Some(a), Some(b)) if a != 0xff => Some(format!("{a}.{b}")),
                        _ => None,
                    },
                })
            }
            1 if out.system.is_none() => {
                out.system = Some(System {
                    manufacturer: s.string(0x04),
                    product: s.string(0x05),
                    version: s.string(0x06),
                    serial: s.string(0x07),
                    uuid: uuid(&s),
                    sku: s.string(0x19),
                    family: s.string(0x1a),
                })
            }
            2 if out.board.is_none() => {
                out.board = Some(Board {
                    manufacturer: s.string(0x04),
                    product: s.string(0x05),
                    version: s.string(0x06),
                    serial: s.string(0x07),
                })
            }
            3 if out.chassis.is_none() => {
                out.chassis = Some(Chassis {
                    manufacturer: s.string(0x04),
                    kind: s.byte(0x05).and_then(chassis_type),
                    version: s.string(0x06),
                    serial: s.string(0x07),
                })
            }
            9 => out.slots.push(Slot {
                designation: s.string(0x04),
                kind: s.byte(0x05).and_then(slot_type),
                width: s.byte(0x06).and_then(slot_width),
                usage: s.byte(0x07).and_then(slot_usage),
                address: match (s.word(0x0d), s.byte(0x0f), s.byte(0x10)) {
                    (Some(seg), Some(bus), Some(df)) if bus != 0xff && df != 0xff => {
                        Some(format!("{seg:04x}:{bus:02x}:{:02x}.{}", df >> 3, df & 7))
                    }
                    _ => None,
                },
            }),
            17 => out.dimms.push(dimm(&s)),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> Smbios {
        parse(include_bytes!(
            "../../tests/data/smbios-dmi-server-made.bin"
        ))
    }

    #[test]
    fn platform_structures() {
        let s = server();
        let b = s.bios.unwrap();
        assert_eq!(b.vendor.as_deref(), Some("Intel Corporation"));
        assert_eq!(
            b.version.as_deref(),
            Some("EGSDCRB1.SYS.0102.D37.2305081420")
        );
        assert_eq!(b.release_date.as_deref(), Some("05/08/2023"));
        assert_eq!(b.revision.as_deref(), Some("2.4"));
        let sys = s.system.unwrap();
        assert_eq!(sys.product.as_deref(), Some("ArcherCity"));
        assert_eq!(sys.serial.as_deref(), Some("BQWL31950052"));
        assert_eq!(
            sys.uuid.as_deref(),
            Some("03020100-0504-0706-0809-0a0b0c0d0e0f")
        );
        assert_eq!(sys.sku, None, "Not Specified is no value");
        assert_eq!(sys.family.as_deref(), Some("Archer City"));
        assert_eq!(s.board.unwrap().version.as_deref(), Some("1"));
        let c = s.chassis.unwrap();
        assert_eq!(c.kind, Some("Rack Mount Chassis"));
        assert_eq!(c.serial, None);
    }

    #[test]
    fn slots_and_dimms() {
        let s = server();
        assert_eq!(s.slots.len(), 2);
        assert_eq!(s.slots[0].kind.as_deref(), Some("PCI Express Gen 4 x16"));
        assert_eq!(s.slots[0].usage, Some("in use"));
        assert_eq!(s.slots[0].address.as_deref(), Some("0000:16:00.0"));
        assert_eq!(s.slots[1].kind.as_deref(), Some("PCI Express Gen 5 x16"));
        assert_eq!(s.slots[1].address, None);
        assert_eq!(s.dimms.len(), 4);
        let d = &s.dimms[0];
        assert_eq!(d.locator.as_deref(), Some("CPU0_DIMM_A1"));
        assert_eq!(d.size_bytes, Some(32 << 30));
        assert_eq!(d.kind, Some("DDR5"));
        assert_eq!((d.speed, d.configured_speed), (Some(4800), Some(4400)));
        assert_eq!(d.manufacturer.as_deref(), Some("Samsung"));
        assert_eq!(d.part_number.as_deref(), Some("M321R4GA3BB6-CQKET"));
        assert_eq!(d.rank, Some(2));
        let empty = &s.dimms[1];
        assert_eq!(empty.size_bytes, None);
        assert_eq!(empty.manufacturer, None, "NO DIMM is no manufacturer");
        assert_eq!(empty.kind, None);
    }

    /// Random and truncated tables never panic, and a cut table keeps what
    /// came before the cut.
    #[test]
    fn robust_against_garbage() {
        let table = include_bytes!("../../tests/data/smbios-dmi-server-made.bin");
        for cut in 0..table.len() {
            let s = parse(&table[..cut]);
            assert!(s.dimms.len() <= 4);
        }
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for round in 0..2000 {
            let len = (round % 300) + 1;
            let mut buf = Vec::with_capacity(len);
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                buf.push(x as u8);
            }
            let _ = parse(&buf);
            // The real table with random bytes flipped.
            let mut t = table.to_vec();
            let i = (x as usize) % t.len();
            t[i] = (x >> 8) as u8;
            let _ = parse(&t);
        }
    }
}
