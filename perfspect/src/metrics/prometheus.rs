//! `--prometheus ADDR`: serves the latest completed interval's metrics in
//! the Prometheus text exposition format (version 0.0.4) over plain HTTP,
//! at any path, for as long as the run lasts. Names: `Def::prometheus_name`.

use super::derive::Metrics;
use super::parse::Interval;
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The exposition of one interval: a gauge per available metric of the
/// table (`perfspect_<key>`), per perf metric (`perfspect_perf_<name>`), and
/// the interval's end.
pub fn exposition(iv: &Interval, m: &Metrics) -> String {
    let mut s = String::new();
    let mut gauge = |name: &str, help: &str, v: f64| {
        let _ = writeln!(s, "# HELP {name} {help}");
        let _ = writeln!(s, "# TYPE {name} gauge");
        let _ = writeln!(s, "{name} {v}");
    };
    gauge(
        "perfspect_interval_end_seconds",
        "End of the interval these values cover, seconds since the run started.",
        iv.end,
    );
    for (d, v) in m.iter() {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            let unit = if d.unit.is_empty() {
                String::new()
            } else {
                format!(" ({})", d.unit)
            };
            gauge(&d.prometheus_name(), &format!("{}{unit}.", d.label), v);
        }
    }
    for (name, p) in &iv.perf_metrics {
        let clean: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        gauge(
            &format!("perfspect_perf_{clean}"),
            &format!("perf metric {name} {}.", p.unit).replace(" .", "."),
            p.value,
        );
    }
    s
}

/// The endpoint; `update` replaces what it serves.
pub struct Server {
    current: Arc<Mutex<String>>,
    pub addr: std::net::SocketAddr,
}

impl Server {
    /// Binds `addr` now, so that a bad address fails before perf runs.
    pub fn start(addr: &str) -> Result<Server> {
        let listener = TcpListener::bind(addr).with_context(|| {
            format!("cannot listen on {addr} for --prometheus (give a free HOST:PORT, e.g. 127.0.0.1:9101)")
        })?;
        let addr = listener.local_addr()?;
        let current = Arc::new(Mutex::new(String::new()));
        let shared = current.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let body = shared.lock().map(|s| s.clone()).unwrap_or_default();
                let _ = respond(stream, &body);
            }
        });
        Ok(Server { current, addr })
    }

    pub fn update(&self, text: String) {
        if let Ok(mut c) = self.current.lock() {
            *c = text;
        }
    }
}

fn respond(mut stream: TcpStream, body: &str) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    // Read the request head; what was asked for does not matter.
    let mut buf = [0u8; 4096];
    let mut head = Vec::new();
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(reply.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::derive::{Id, Metrics};
    use crate::metrics::parse::PerfMetric;

    #[test]
    fn text_format() {
        let mut iv = Interval {
            start: 0.0,
            end: 1.5,
            counts: Default::default(),
            perf_metrics: Default::default(),
        };
        iv.perf_metrics.insert(
            "tma_retiring".into(),
            PerfMetric {
                value: 32.5,
                unit: "%".into(),
            },
        );
        let mut m = Metrics::default();
        m.0[Id::Ipc as usize] = Some(1.25);
        let t = exposition(&iv, &m);
        assert!(
            t.contains("# TYPE perfspect_ipc gauge\nperfspect_ipc 1.25\n"),
            "{t}"
        );
        assert!(t.contains("perfspect_perf_tma_retiring 32.5\n"), "{t}");
        assert!(t.contains("perfspect_interval_end_seconds 1.5\n"));
        // Unavailable metrics are left out, not exported as NaN.
        assert!(!t.contains("perfspect_cpi"));
        assert!(!t.contains("NaN"));
        m.0[Id::PageFaults as usize] = Some(3.0);
        assert!(exposition(&iv, &m).contains("\nperfspect_page_faults_per_second 3\n"));
    }
}
