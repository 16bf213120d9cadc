//! The Status group's process table: the busiest processes, as `ps -eo
//! pid,ppid,%cpu,%mem,rss,command --sort=-%cpu` shows them, read from /proc.

use super::model::{Section, Table, Val};
use super::system::Sys;

/// One process from /proc/PID/stat.
#[derive(Debug, PartialEq)]
pub struct Proc {
    pub pid: u32,
    pub ppid: u32,
    pub comm: String,
    /// utime + stime, in clock ticks.
    pub cpu_ticks: u64,
    /// Start time after boot, in clock ticks.
    pub start_ticks: u64,
    pub rss_pages: u64,
}

/// Parses /proc/PID/stat; the command name may hold spaces and parentheses.
pub fn parse_stat(text: &str) -> Option<Proc> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let pid = text[..open].trim().parse().ok()?;
    let comm = text[open + 1..close].to_string();
    let f: Vec<&str> = text[close + 1..].split_whitespace().collect();
    // f[0] is field 3 (state): field n is f[n - 3].
    let n = |i: usize| f.get(i - 3)?.parse::<u64>().ok();
    Some(Proc {
        pid,
        ppid: n(4)? as u32,
        comm,
        cpu_ticks: n(14)? + n(15)?,
        start_ticks: n(22)?,
        rss_pages: n(24)?,
    })
}

/// %CPU over the process's life, as ps computes it.
pub fn cpu_pct(p: &Proc, uptime_s: f64, hz: u64) -> f64 {
    let alive = uptime_s - p.start_ticks as f64 / hz as f64;
    if alive <= 0.0 {
        0.0
    } else {
        p.cpu_ticks as f64 / hz as f64 / alive * 100.0
    }
}

pub fn processes(sys: &Sys, mem_total: Option<u64>) -> Section {
    let hz = crate::os::clock_ticks();
    let page = crate::os::page_size();
    let uptime: f64 = sys
        .read("/proc/uptime")
        .and_then(|u| u.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    let mut procs: Vec<(Proc, f64, String)> = sys
        .list("/proc")
        .into_iter()
        .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|pid| {
            let p = parse_stat(&sys.read(&format!("/proc/{pid}/stat"))?)?;
            let cmd = sys
                .read_raw(&format!("/proc/{pid}/cmdline"))
                .map(|c| c.trim_end_matches('\0').replace('\0', " "))
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| format!("[{}]", p.comm));
            let pct = cpu_pct(&p, uptime, hz);
            Some((p, pct, cmd))
        })
        .collect();
    procs.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.rss_pages.cmp(&a.0.rss_pages)));
    let mut t = Table::new(
        "top_processes",
        "Top processes by CPU",
        &[
            ("pid", "PID"),
            ("ppid", "PPID"),
            ("cpu_pct", "%CPU"),
            ("mem_pct", "%MEM"),
            ("rss_bytes", "RSS"),
            ("command", "Command"),
        ],
    );
    for (p, pct, cmd) in procs.into_iter().take(20) {
        let rss = p.rss_pages * page;
        let cmd: String = cmd.chars().take(120).collect();
        t.rows.push(vec![
            Val::Int(p.pid.into()),
            Val::Int(p.ppid.into()),
            Val::text(format!("{pct:.1}")),
            match mem_total {
                Some(m) if m > 0 => Val::text(format!("{:.1}", rss as f64 / m as f64 * 100.0)),
                _ => Val::na("/proc/meminfo not readable"),
            },
            Val::Bytes(rss),
            Val::text(cmd),
        ]);
    }
    if t.rows.is_empty() {
        t = t.empty_because("/proc lists no processes (not mounted, or a saved tree without it)");
    }
    let mut s = Section::new("processes", "Top processes");
    s.tables.push(t);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_line_with_a_hard_name() {
        let p = parse_stat(include_str!("../../tests/data/proc-pid-stat-made.txt")).unwrap();
        assert_eq!(p.comm, "sshd: root@pts/0 (x)");
        assert_eq!(p.pid, 1234);
        assert_eq!(p.ppid, 1);
        assert_eq!(p.cpu_ticks, 150 + 50);
        assert_eq!(p.start_ticks, 1000);
        assert_eq!(p.rss_pages, 2500);
        // 2 s of CPU over 20 s alive at 100 Hz: 10 %.
        assert!((cpu_pct(&p, 30.0, 100) - 10.0).abs() < 1e-9);
    }

    #[test]
    fn live_proc_lists_this_test() {
        let s = processes(&Sys::new(), Some(1 << 30));
        let t = &s.tables[0];
        assert!(!t.rows.is_empty());
        assert!(t.rows.len() <= 20);
    }
}
