//! The Network group: interfaces, addresses, link state.

use super::model::{Section, Table, Val};
use super::system::Sys;
use crate::os::addresses;
use std::collections::BTreeMap;

pub fn network(sys: &Sys) -> Section {
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
        why_empty: None,
    });
    s
}
