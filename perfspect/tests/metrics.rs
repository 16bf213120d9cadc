//! End-to-end tests of `perfspect metrics` beyond tests/cli.rs: the
//! Prometheus endpoint scraped by a real Prometheus server (Debian's
//! `prometheus` package, run here on a free port with its own config and
//! data directory) and checked by `promtool check metrics`; the summary
//! statistics; the fallback when perf cannot count a metric group.

mod support;

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::tools::tooled;
use support::{run_bin, scratch};

/// Stops (SIGTERM, then SIGKILL after 20 s) and reaps a child this test
/// started, when dropped.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        // SAFETY: signalling our own child, not yet reaped.
        unsafe { libc::kill(self.0.id() as libc::pid_t, libc::SIGTERM) };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain HTTP GET; the body, if the server answered.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_string())
}

/// Polls `f` every 250 ms until it returns Some, or panics after `limit`.
fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < limit, "{what}: nothing after {limit:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn need(tool: &str, package: &str) {
    assert!(
        Path::new(tool).is_file(),
        "{tool} is missing: apt-get install -y {package} (cargo xtask setup installs it)"
    );
}

#[test]
fn prometheus_scrapes_the_endpoint() {
    need("/usr/bin/prometheus", "prometheus");
    need("/usr/bin/promtool", "prometheus");
    let bin = tooled();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let _perfspect = Reaped(
        Command::new(bin)
            .args([
                "metrics",
                "--prometheus",
                &addr,
                "--duration",
                "120",
                "--interval",
                "0.5",
                "--format",
                "csv",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Our endpoint serves once the first interval is complete.
    let scrape = wait_for("perfspect's endpoint", Duration::from_secs(60), || {
        http_get(port, "/metrics").filter(|b| b.contains("perfspect_cpu_utilisation_pct"))
    });
    assert!(
        scrape.contains("# TYPE perfspect_context_switches_per_second gauge"),
        "{scrape}"
    );

    // promtool accepts the exposition.
    let mut check = Command::new("/usr/bin/promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(scrape.as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}\n{scrape}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // A real Prometheus scrapes it and answers queries about the series.
    let dir = scratch("prometheus");
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: perfspect\n    static_configs:\n      - targets: ['{addr}']\n"
        ),
    )
    .unwrap();
    let prom_port = free_port();
    let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    let _prometheus = Reaped(
        Command::new("/usr/bin/prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let query = |q: &str| -> Option<Vec<Value>> {
        let body = http_get(prom_port, &format!("/api/v1/query?query={q}"))?;
        let j: Value = serde_json::from_str(&body).ok()?;
        let r = j["data"]["result"].as_array()?.clone();
        (!r.is_empty()).then_some(r)
    };
    let up = wait_for(
        "Prometheus scraping perfspect",
        Duration::from_secs(90),
        || query("up%7Bjob%3D%22perfspect%22%7D").filter(|r| r[0]["value"][1] == "1"),
    );
    assert_eq!(up[0]["metric"]["instance"], addr.as_str());
    for series in [
        "perfspect_cpu_utilisation_pct",
        "perfspect_context_switches_per_second",
        "perfspect_interval_end_seconds",
    ] {
        let r = wait_for(series, Duration::from_secs(30), || query(series));
        let v: f64 = r[0]["value"][1].as_str().unwrap().parse().unwrap();
        assert!(v.is_finite() && v >= 0.0, "{series} = {v}");
    }
    let util: f64 = query("perfspect_cpu_utilisation_pct").unwrap()[0]["value"][1]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((0.0..=100.0).contains(&util), "{util}");
    drop(_prometheus);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_prometheus_address() {
    let bin = tooled();
    let o = run_bin(bin, &["metrics", "--prometheus", "256.0.0.1:1", "-d", "1"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with("error: cannot listen on 256.0.0.1:1"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

#[test]
fn summary_statistics_in_json_and_csv() {
    let bin = tooled();
    let o = run_bin(bin, &["metrics", "-d", "1.5", "-i", "0.5", "-f", "json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    let n = j["intervals"].as_array().unwrap().len();
    let st = &j["summary"]["statistics"]["context_switches_per_s"];
    let (min, mean, max, p95) = (
        st["min"].as_f64().unwrap(),
        st["mean"].as_f64().unwrap(),
        st["max"].as_f64().unwrap(),
        st["p95"].as_f64().unwrap(),
    );
    assert!(
        min <= mean && mean <= max && min <= p95 && p95 <= max,
        "{st}"
    );
    assert_eq!(st["intervals"].as_u64().unwrap() as usize, n);
    // Each interval's value lies within [min, max].
    for iv in j["intervals"].as_array().unwrap() {
        let v = iv["metrics"]["context_switches_per_s"].as_f64().unwrap();
        assert!(v >= min - 0.01 && v <= max + 0.01, "{v} outside {st}");
    }

    let o = run_bin(
        bin,
        &["metrics", "-d", "1", "-i", "0.5", "-f", "csv", "--live"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = String::from_utf8_lossy(&o.stdout);
    let periods: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(
        &periods[periods.len() - 5..],
        ["min", "mean", "max", "p95", "summary"]
    );
}

#[test]
fn metric_group_falls_back_where_perf_cannot_count_it() {
    let bin = tooled();
    let list = run_bin(bin, &["metrics", "--list"]);
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let groups = String::from_utf8_lossy(&list.stdout).into_owned();
    let group = groups
        .lines()
        .next()
        .expect("perf lists metric groups")
        .to_string();
    let o = run_bin(
        bin,
        &[
            "metrics", "-M", &group, "-d", "1", "-i", "0.5", "-f", "json",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    if j["group"].is_null() {
        // This VM: no PMU, so perf counts nothing of the group; said, and
        // the generic metrics are there instead.
        let notes = j["notes"].to_string();
        assert!(
            notes.contains(&format!("cannot count metric group {group}")),
            "{notes}"
        );
        assert!(j["summary"]["metrics"]["cpu_utilisation_pct"].is_number());
    } else {
        // A machine with a PMU: perf's metrics of the group.
        assert_eq!(j["group"], group.as_str());
        assert!(
            !j["summary"]["perf_metrics"].as_object().unwrap().is_empty(),
            "{j}"
        );
    }
}
