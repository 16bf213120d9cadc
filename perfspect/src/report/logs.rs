//! The Logs group's kernel log: the newest records of /dev/kmsg (what dmesg
//! reads), read natively.

use super::model::{Section, Table, Val};
use super::system::Sys;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;

/// How many of the newest records the table shows.
const KEEP: usize = 50;

/// One /dev/kmsg record: "prio,seq,usec,flags[,...];message" -> (level
/// name, seconds since boot, message).
pub fn parse_record(rec: &str) -> Option<(&'static str, f64, String)> {
    let (head, msg) = rec.split_once(';')?;
    let mut f = head.split(',');
    let prio: u32 = f.next()?.parse().ok()?;
    let _seq = f.next()?;
    let usec: u64 = f.next()?.parse().ok()?;
    const LEVELS: [&str; 8] = [
        "emerg", "alert", "crit", "err", "warn", "notice", "info", "debug",
    ];
    // Continuation lines (" KEY=value") follow the message: keep the first line.
    let msg = msg.lines().next().unwrap_or("").to_string();
    Some((LEVELS[(prio & 7) as usize], usec as f64 / 1e6, msg))
}

/// The newest records, or why they cannot be read.
fn read_kmsg(sys: &Sys) -> Result<Vec<String>, String> {
    if !sys.is_real() {
        return Err("the kernel log is not read from a saved tree".into());
    }
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open("/dev/kmsg")
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied => {
                "needs root (kernel.dmesg_restrict=1 hides the kernel log from users)".to_string()
            }
            _ => format!("cannot open /dev/kmsg: {e}"),
        })?;
    let mut out = std::collections::VecDeque::new();
    let mut buf = vec![0u8; 16384];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                out.push_back(String::from_utf8_lossy(&buf[..n]).into_owned());
                if out.len() > KEEP {
                    out.pop_front();
                }
            }
            // A record overwritten while we read: go on with the next.
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return Err(
                    "needs root (kernel.dmesg_restrict=1 hides the kernel log from users)".into(),
                );
            }
            Err(e) => return Err(format!("cannot read /dev/kmsg: {e}")),
        }
    }
    Ok(out.into())
}

pub fn kernel_log(sys: &Sys) -> Section {
    let mut t = Table::new(
        "kernel_log",
        "Kernel log (newest 50 records)",
        &[
            ("time_s", "Seconds since boot"),
            ("level", "Level"),
            ("message", "Message"),
        ],
    );
    match read_kmsg(sys) {
        Ok(recs) => {
            for r in recs.iter().filter_map(|r| parse_record(r)) {
                t.rows.push(vec![
                    Val::text(format!("{:.6}", r.1)),
                    Val::text(r.0),
                    Val::text(r.2),
                ]);
            }
            if t.rows.is_empty() {
                t = t.empty_because("the kernel log is empty");
            }
        }
        Err(e) => t = t.empty_because(e),
    }
    let mut s = Section::new("kernel_log", "Kernel log");
    s.tables.push(t);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_of_this_vm() {
        let text = include_str!("../../tests/data/kmsg-x86_64-vm.txt");
        let recs: Vec<_> = text.lines().filter_map(parse_record).collect();
        assert!(recs.len() >= 5);
        assert_eq!(recs[0].1, 0.0);
        assert!(recs.iter().all(|r| !r.2.is_empty()));
        assert!(recs.windows(2).all(|w| w[0].1 <= w[1].1), "time only grows");
        assert_eq!(
            parse_record("3,7,1500000,-;oops\n SUBSYSTEM=pci"),
            Some(("err", 1.5, "oops".into()))
        );
        assert_eq!(parse_record("garbage"), None);
    }
}
