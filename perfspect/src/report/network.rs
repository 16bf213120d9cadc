//! The Network group: interfaces, addresses, link state.

use super::model::{Section, Table, Val};
use super::probe;
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

/// The network sysctls upstream shows.
const SYSCTLS: &[&str] = &[
    "net.core.somaxconn",
    "net.core.netdev_max_backlog",
    "net.core.netdev_budget",
    "net.core.rmem_default",
    "net.core.rmem_max",
    "net.core.wmem_default",
    "net.core.wmem_max",
    "net.core.busy_poll",
    "net.core.busy_read",
    "net.core.default_qdisc",
    "net.core.rps_sock_flow_entries",
    "net.ipv4.tcp_congestion_control",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
    "net.ipv4.tcp_mem",
    "net.ipv4.tcp_timestamps",
    "net.ipv4.tcp_sack",
    "net.ipv4.tcp_window_scaling",
    "net.ipv4.tcp_fastopen",
    "net.ipv4.tcp_low_latency",
    "net.ipv4.ip_local_port_range",
];

/// `ethtool -i`: "key: value" lines.
pub fn parse_ethtool_i(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

/// Ring sizes: (RX, TX).
pub type Rings = (Option<u64>, Option<u64>);

/// `ethtool -g`: (maximum, current).
pub fn parse_ethtool_g(text: &str) -> (Rings, Rings) {
    let (mut max, mut cur) = ((None, None), (None, None));
    let mut in_cur = false;
    for l in text.lines() {
        if l.starts_with("Current hardware settings") {
            in_cur = true;
        }
        let Some((k, v)) = l.split_once(':') else {
            continue;
        };
        let n = v.trim().parse().ok();
        let slot = if in_cur { &mut cur } else { &mut max };
        match k.trim() {
            "RX" => slot.0 = n,
            "TX" => slot.1 = n,
            _ => {}
        }
    }
    (max, cur)
}

/// `ethtool -c`: "adaptive rx/tx, rx-usecs/tx-usecs" as one line, e.g.
/// "adaptive rx on tx on, rx-usecs 50, tx-usecs 50".
pub fn parse_ethtool_c(text: &str) -> Option<String> {
    let mut parts = Vec::new();
    for l in text.lines() {
        if let Some(rest) = l.strip_prefix("Adaptive RX:") {
            let mut it = rest.split_whitespace();
            let rx = it.next().unwrap_or("n/a");
            let tx = it.nth(1).unwrap_or("n/a");
            parts.push(format!("adaptive rx {rx} tx {tx}"));
        }
        if let Some((k, v)) = l.split_once(':') {
            let v = v.trim();
            if ["rx-usecs", "tx-usecs", "rx-frames", "tx-frames"].contains(&k) && v != "n/a" {
                parts.push(format!("{k} {v}"));
            }
        }
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// IRQ numbers of a NIC from /proc/interrupts: lines whose chip names its
/// PCI address (MSI-X) or whose action names the interface.
pub fn nic_irqs(interrupts: &str, name: &str, bus: Option<&str>) -> Vec<u32> {
    interrupts
        .lines()
        .filter_map(|l| {
            let (irq, rest) = l.trim_start().split_once(':')?;
            let irq: u32 = irq.parse().ok()?;
            let action = rest.split_whitespace().last()?;
            let hit = bus.is_some_and(|b| rest.contains(&format!("-{b} ")))
                || action.contains(&format!("{name}-"))
                || action == name;
            hit.then_some(irq)
        })
        .fold(Vec::new(), |mut v, i| {
            if !v.contains(&i) {
                v.push(i);
            }
            v
        })
}

/// The PCI address of a NIC: the nearest PCI function above its device in
/// sysfs (a virtio NIC's device is "virtio2", whose parent is the function).
fn pci_address(sys: &Sys, name: &str) -> Option<String> {
    let dev = std::fs::canonicalize(sys.path(&format!("/sys/class/net/{name}/device"))).ok()?;
    dev.ancestors()
        .filter_map(|p| p.file_name()?.to_str())
        .find(|c| is_pci_address(c))
        .map(String::from)
}

/// "0000:00:03.0"
pub fn is_pci_address(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 12
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b':',
            10 => *c == b'.',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Runs one ethtool query per physical NIC and kind, in parallel.
fn ethtool_all(sys: &Sys, nics: &[String]) -> Vec<[Result<String, String>; 3]> {
    std::thread::scope(|sc| {
        let hs: Vec<_> = nics
            .iter()
            .map(|n| {
                sc.spawn(move || {
                    ["-i", "-g", "-c"].map(|flag| probe::run(sys, "ethtool", &[flag, n]))
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    std::array::from_fn(|_| Err("ethtool probe panicked".into()))
                })
            })
            .collect()
    })
}

fn queue_count(sys: &Sys, name: &str, prefix: &str) -> usize {
    sys.list(&format!("/sys/class/net/{name}/queues"))
        .iter()
        .filter(|q| q.starts_with(prefix))
        .count()
}

/// The NIC, IRQ affinity and RPS/XPS sections; `models` maps PCI address to
/// the lspci model name.
pub fn nics(sys: &Sys, models: &BTreeMap<String, String>) -> Vec<Section> {
    let phys: Vec<String> = sys
        .list("/sys/class/net")
        .into_iter()
        .filter(|n| sys.path(&format!("/sys/class/net/{n}/device")).exists())
        .collect();
    let eth = ethtool_all(sys, &phys);
    let interrupts = sys.read_raw("/proc/interrupts").unwrap_or_default();
    let mut nic = Table::new(
        "nics",
        "NICs",
        &[
            ("name", "Name"),
            ("model", "Model"),
            ("driver", "Driver"),
            ("driver_version", "Driver version"),
            ("firmware", "Firmware"),
            ("bus_address", "Bus address"),
            ("speed", "Link speed"),
            ("rx_queues", "RX queues"),
            ("tx_queues", "TX queues"),
            ("rx_ring", "RX ring (max)"),
            ("tx_ring", "TX ring (max)"),
            ("coalescing", "Coalescing"),
            ("irqs", "IRQs"),
        ],
    );
    let mut aff = Table::new(
        "nic_irq_affinity",
        "NIC IRQ CPU affinity",
        &[
            ("name", "NIC"),
            ("irq", "IRQ"),
            ("action", "Queue"),
            ("cpus", "CPUs"),
        ],
    );
    let mut steer = Table::new(
        "nic_steering",
        "RPS/XPS steering",
        &[("name", "NIC"), ("queue", "Queue"), ("cpus", "CPU mask")],
    );
    for (n, [i, g, c]) in phys.iter().zip(eth) {
        let info = i.as_ref().map(|t| parse_ethtool_i(t)).map_err(Clone::clone);
        let bus = pci_address(sys, n).or_else(|| info.as_ref().ok()?.get("bus-info").cloned());
        let field = |k: &str| match &info {
            Ok(m) => m.get(k).map(|v| Val::text(v.clone())).unwrap_or_else(|| {
                Val::na(format!(
                    "the {} driver does not report it",
                    m.get("driver").map(String::as_str).unwrap_or("NIC")
                ))
            }),
            Err(e) => Val::na(e.clone()),
        };
        let ring = |which: usize| match &g {
            Ok(t) => {
                let (max, cur) = parse_ethtool_g(t);
                let (m, c) = if which == 0 {
                    (max.0, cur.0)
                } else {
                    (max.1, cur.1)
                };
                match (c, m) {
                    (Some(c), Some(m)) => Val::text(format!("{c} ({m})")),
                    _ => Val::na("the driver reports no ring sizes"),
                }
            }
            Err(e) => Val::na(e.clone()),
        };
        let speed = sys
            .num::<i64>(&format!("/sys/class/net/{n}/speed"))
            .filter(|s| *s > 0);
        let irqs = nic_irqs(&interrupts, n, bus.as_deref());
        for irq in &irqs {
            let action = interrupts
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{irq}:")))
                .and_then(|l| l.split_whitespace().last())
                .unwrap_or("");
            aff.rows.push(vec![
                Val::text(n.clone()),
                Val::Int(i64::from(*irq)),
                Val::text(action),
                Val::or_na(
                    sys.read(&format!("/proc/irq/{irq}/smp_affinity_list")),
                    "needs root or /proc/irq not readable",
                ),
            ]);
        }
        for q in sys.list(&format!("/sys/class/net/{n}/queues")) {
            let file = if q.starts_with("rx-") {
                "rps_cpus"
            } else {
                "xps_cpus"
            };
            let v = sys.read(&format!("/sys/class/net/{n}/queues/{q}/{file}"));
            steer.rows.push(vec![
                Val::text(n.clone()),
                Val::text(format!("{q} ({})", &file[..3])),
                Val::or_na(
                    v,
                    "not exposed for this queue (single-queue or no XPS support)",
                ),
            ]);
        }
        nic.rows.push(vec![
            Val::text(n.clone()),
            bus.as_ref()
                .and_then(|b| models.get(b))
                .map(|m| Val::text(m.clone()))
                .unwrap_or_else(|| Val::na("lspci not bundled or on PATH")),
            field("driver"),
            field("version"),
            field("firmware-version"),
            bus.map(Val::Text)
                .unwrap_or_else(|| Val::na("not a PCI device")),
            speed
                .map(|s| Val::text(format!("{s} Mb/s")))
                .unwrap_or_else(|| Val::na("the link is down or the driver reports no speed")),
            Val::Int(queue_count(sys, n, "rx-") as i64),
            Val::Int(queue_count(sys, n, "tx-") as i64),
            ring(0),
            ring(1),
            match &c {
                Ok(t) => Val::or_na(parse_ethtool_c(t), "the driver reports no coalescing"),
                Err(e) => Val::na(e.clone()),
            },
            Val::Int(irqs.len() as i64),
        ]);
    }
    if phys.is_empty() {
        let why = "no physical NIC (every interface is virtual)";
        nic = nic.empty_because(why);
        aff = aff.empty_because(why);
        steer = steer.empty_because(why);
    }
    let mut s = Section::new("nic", "NICs");
    s.field("irqbalance", "irqbalance", irqbalance(sys));
    s.tables.extend([nic, aff, steer]);
    let mut k = Section::new("network_sysctls", "Network settings");
    let mut t = Table::new(
        "network_sysctls",
        "Network sysctls",
        &[("name", "Name"), ("value", "Value")],
    );
    for name in SYSCTLS {
        let v = sys.read(&format!("/proc/sys/{}", name.replace('.', "/")));
        t.rows.push(vec![
            Val::text(*name),
            Val::or_na(
                v.map(|v| v.replace('\t', " ")),
                "not in this kernel or network namespace",
            ),
        ]);
    }
    k.tables.push(t);
    vec![s, k]
}

/// Whether irqbalance runs (a process named irqbalance).
fn irqbalance(sys: &Sys) -> Val {
    let running = sys
        .list("/proc")
        .iter()
        .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
        .any(|p| sys.read(&format!("/proc/{p}/comm")).as_deref() == Some("irqbalance"));
    Val::text(if running { "running" } else { "not running" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ethtool_outputs() {
        let vm = parse_ethtool_i(include_str!("../../tests/data/ethtool-i-virtio-vm.txt"));
        assert_eq!(vm["driver"], "virtio_net");
        assert_eq!(vm["bus-info"], "0000:00:03.0");
        assert!(
            !vm.contains_key("firmware-version"),
            "empty means not reported"
        );
        let ice = parse_ethtool_i(include_str!("../../tests/data/ethtool-i-ice-made.txt"));
        assert_eq!(ice["firmware-version"], "4.30 0x8001b94c 1.3415.0");
        assert_eq!(
            parse_ethtool_g(include_str!("../../tests/data/ethtool-g-ice-made.txt")),
            ((Some(8160), Some(8160)), (Some(2048), Some(2048)))
        );
        assert_eq!(
            parse_ethtool_g(include_str!("../../tests/data/ethtool-g-virtio-vm.txt")).1,
            (Some(256), Some(256))
        );
        assert_eq!(
            parse_ethtool_c(include_str!("../../tests/data/ethtool-c-ice-made.txt")).unwrap(),
            "adaptive rx on tx on, rx-usecs 50, tx-usecs 50"
        );
        assert_eq!(
            parse_ethtool_c(include_str!("../../tests/data/ethtool-c-virtio-vm.txt")).unwrap(),
            "adaptive rx off tx n/a, rx-usecs 0, rx-frames 1, tx-usecs 0, tx-frames 1"
        );
    }

    #[test]
    fn irqs_of_a_nic() {
        let t = include_str!("../../tests/data/interrupts-x86_64-vm.txt");
        assert_eq!(nic_irqs(t, "eth0", Some("0000:00:03.0")), [37, 38, 39]);
        assert!(nic_irqs(t, "eth1", Some("0000:00:09.0")).is_empty());
        let ice = " 120:  0  5 IR-PCI-MSI-0000:4b:00.0  1-edge  ice-ens785f0-TxRx-0\n";
        assert_eq!(nic_irqs(ice, "ens785f0", None), [120]);
    }
}
