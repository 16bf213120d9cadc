//! IPC and cache misses from `perf stat -I` run once for the whole duration.

use super::series::{GROUPS, Point};

pub const EVENTS: &str = "instructions,cycles,cache-misses,cache-references";

/// `perf stat -x, -I <ms> -a` arguments.
pub fn args(interval: f64) -> Vec<String> {
    let ms = ((interval * 1000.0).round() as u64).max(10);
    ["stat", "-x", ",", "-I", &ms.to_string(), "-a", "-e", EVENTS]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// Rows of `perf stat -x, -I` output (one per interval timestamp) and the
/// events perf reported as not supported or not counted.
pub fn parse(lines: &[String]) -> (Vec<Vec<Point>>, Vec<String>) {
    // (time, [instructions, cycles, misses, references]) in order
    let mut rows: Vec<(String, [Option<f64>; 4], f64)> = Vec::new();
    let mut unsupported: Vec<String> = Vec::new();
    let names = ["instructions", "cycles", "cache-misses", "cache-references"];
    let mut prev_t = 0.0;
    for line in lines {
        let f: Vec<&str> = line.trim().split(',').collect();
        if f.len() < 4 || f[0].parse::<f64>().is_err() {
            continue;
        }
        let ev = f[3].split(':').next().unwrap_or("");
        let Some(k) = names.iter().position(|n| *n == ev) else {
            continue;
        };
        if rows.last().map(|r| r.0.as_str()) != Some(f[0]) {
            let t: f64 = f[0].parse().unwrap_or(0.0);
            rows.push((f[0].to_string(), [None; 4], (t - prev_t).max(1e-3)));
            prev_t = t;
        }
        match f[1].parse::<f64>() {
            Ok(v) => rows.last_mut().expect("pushed above").1[k] = Some(v),
            Err(_) => {
                let what = format!("{ev} {}", f[1]);
                if !unsupported.contains(&what) {
                    unsupported.push(what);
                }
            }
        }
    }
    let out = rows
        .into_iter()
        .map(|(_, c, dt)| {
            let mut p = Vec::new();
            let mut add = |name: &str, unit: &'static str, v: f64| {
                p.push(Point {
                    group: GROUPS[9],
                    name: name.to_string(),
                    unit,
                    value: v,
                })
            };
            if let (Some(i), Some(c)) = (c[0], c[1]) {
                if c > 0.0 {
                    add("IPC", "instructions/cycle", i / c);
                }
            }
            if let Some(m) = c[2] {
                add("cache misses", "/s", m / dt);
                if let Some(r) = c[3].filter(|r| *r > 0.0) {
                    add("cache miss ratio", "%", 100.0 * m / r);
                }
            }
            p
        })
        .collect();
    (out, unsupported)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn ipc_and_cache_misses_with_a_pmu() {
        let (rows, unsupported) = parse(&lines(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/perf-stat-hw-sample.csv"
        ))));
        assert!(unsupported.is_empty(), "{unsupported:?}");
        assert!(!rows.is_empty());
        let get = |n: &str| {
            rows[0]
                .iter()
                .find(|p| p.name == n)
                .map(|p| p.value)
                .unwrap()
        };
        assert!((get("IPC") - 3006404320.0 / 2405123456.0).abs() < 1e-9);
        assert!((get("cache miss ratio") - 100.0 * 10308641.0 / 41234567.0).abs() < 1e-9);
        let dt = 1.001012345;
        assert!((get("cache misses") - 10308641.0 / dt).abs() < 1e-3);
    }

    #[test]
    fn software_only_says_not_supported() {
        let (rows, unsupported) = parse(&lines(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/perf-stat-sw-only-x86_64-vm.csv"
        ))));
        assert!(rows.iter().all(|r| r.is_empty()));
        assert!(
            unsupported.contains(&"cycles <not supported>".to_string()),
            "{unsupported:?}"
        );
    }
}
