//! IPMI through ipmitool: sensors, chassis status (Status group) and the
//! system event log (Logs group). Parsers of ipmitool's `|`- and `:`-separated
//! text apart from running it.

use super::model::{Section, Table, Val};
use super::probe;
use super::system::Sys;

const DEVICES: &[&str] = &["/dev/ipmi0", "/dev/ipmi/0", "/dev/ipmidev/0"];

/// Why ipmitool cannot talk to a BMC here, if it cannot.
pub fn unavailable(sys: &Sys) -> Option<String> {
    let Some(dev) = DEVICES.iter().find(|d| sys.path(d).exists()) else {
        return Some(
            "no IPMI device: /dev/ipmi0 absent (no BMC, or ipmi_si and ipmi_devintf not loaded)"
                .into(),
        );
    };
    if sys.is_real() && std::fs::File::open(dev).is_err() {
        return Some(format!("needs root ({dev})"));
    }
    None
}

/// `|`-separated rows, cells trimmed (`ipmitool sdr list full`, `sel elist`).
pub fn parse_bars(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| l.contains('|'))
        .map(|l| l.split('|').map(|c| c.trim().to_string()).collect())
        .collect()
}

/// "Key : Value" lines (`ipmitool chassis status`).
pub fn parse_colon(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

/// The three ipmitool queries, run at once.
pub struct Ipmi {
    sensors: Result<String, String>,
    chassis: Result<String, String>,
    sel: Result<String, String>,
}

impl Ipmi {
    pub fn read(sys: &Sys) -> Ipmi {
        if let Some(why) = unavailable(sys) {
            return Ipmi {
                sensors: Err(why.clone()),
                chassis: Err(why.clone()),
                sel: Err(why),
            };
        }
        let (sensors, chassis, sel) = std::thread::scope(|sc| {
            let a = sc.spawn(|| probe::run(sys, "ipmitool", &["sdr", "list", "full"]));
            let b = sc.spawn(|| probe::run(sys, "ipmitool", &["chassis", "status"]));
            let c = sc.spawn(|| probe::run(sys, "ipmitool", &["sel", "elist"]));
            let j = |h: std::thread::ScopedJoinHandle<'_, Result<String, String>>| {
                h.join()
                    .unwrap_or_else(|_| Err("ipmitool probe panicked".into()))
            };
            (j(a), j(b), j(c))
        });
        Ipmi {
            sensors,
            chassis,
            sel,
        }
    }

    pub fn status_sections(&self) -> Vec<Section> {
        let mut s = Section::new("ipmi_sensors", "IPMI sensors");
        let mut t = Table::new(
            "ipmi_sensors",
            "IPMI sensors",
            &[
                ("sensor", "Sensor"),
                ("reading", "Reading"),
                ("status", "Status"),
            ],
        );
        match &self.sensors {
            Ok(text) => {
                for r in parse_bars(text) {
                    if r.len() >= 3 {
                        t.rows.push(vec![
                            Val::text(r[0].clone()),
                            Val::text(r[1].clone()),
                            Val::text(r[2].clone()),
                        ]);
                    }
                }
                if t.rows.is_empty() {
                    t = t.empty_because("the BMC lists no sensors");
                }
            }
            Err(e) => t = t.empty_because(e.clone()),
        }
        s.tables.push(t);
        let mut c = Section::new("chassis_status", "Chassis status");
        let mut ct = Table::new(
            "chassis_status",
            "Chassis status",
            &[("item", "Item"), ("value", "Value")],
        );
        match &self.chassis {
            Ok(text) => {
                for (k, v) in parse_colon(text) {
                    ct.rows.push(vec![Val::text(k), Val::text(v)]);
                }
            }
            Err(e) => ct = ct.empty_because(e.clone()),
        }
        c.tables.push(ct);
        vec![s, c]
    }

    pub fn sel_section(&self) -> Section {
        let mut s = Section::new("ipmi_sel", "IPMI system event log");
        let mut t = Table::new(
            "ipmi_sel",
            "IPMI system event log",
            &[
                ("date", "Date"),
                ("time", "Time"),
                ("sensor", "Sensor"),
                ("event", "Event"),
                ("direction", "Direction"),
            ],
        );
        match &self.sel {
            Ok(text) => {
                for r in parse_bars(text) {
                    let cell = |i: usize| Val::text(r.get(i).cloned().unwrap_or_default());
                    t.rows
                        .push(vec![cell(1), cell(2), cell(3), cell(4), cell(5)]);
                }
                if t.rows.is_empty() {
                    t = t.empty_because("the event log is empty");
                }
            }
            Err(e) => t = t.empty_because(e.clone()),
        }
        s.tables.push(t);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_outputs_made_to_format() {
        let sdr = parse_bars(include_str!(
            "../../tests/data/ipmitool-sdr-list-full-made.txt"
        ));
        assert_eq!(sdr[0], ["Inlet Temp", "24 degrees C", "ok"]);
        assert!(sdr.iter().any(|r| r[0] == "PSU1 Status" && r[2] == "ok"));
        let ch = parse_colon(include_str!(
            "../../tests/data/ipmitool-chassis-status-made.txt"
        ));
        assert_eq!(ch[0], ("System Power".to_string(), "on".to_string()));
        assert!(
            ch.iter()
                .any(|(k, v)| k == "Power Restore Policy" && v == "always-off")
        );
        let sel = parse_bars(include_str!("../../tests/data/ipmitool-sel-elist-made.txt"));
        assert_eq!(sel.len(), 3);
        assert_eq!(sel[1][3], "Power Supply PSU2 Status");
        assert_eq!(sel[1][5], "Asserted");
    }

    #[test]
    fn no_device_says_so() {
        let dir = std::env::temp_dir().join(format!("perfspect-ipmi-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let why = unavailable(&Sys::at(dir.clone())).unwrap();
        assert!(why.starts_with("no IPMI device"), "{why}");
        let ipmi = Ipmi::read(&Sys::at(dir.clone()));
        assert_eq!(
            ipmi.sel_section().tables[0].why_empty.as_deref(),
            Some(why.as_str())
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
