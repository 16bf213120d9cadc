//! Parsing `perf stat -x, -I` output into intervals of event counts (and
//! the metric values perf itself derives with `-M`).

use super::derive::SW_EVENTS;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Counted,
    NotCounted,
    NotSupported,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StatLine {
    pub time: f64,
    pub value: f64,
    pub status: Status,
    pub unit: String,
    /// Empty on a line that only carries a metric of `-M`.
    pub event: String,
    pub run_pct: Option<f64>,
    /// A metric perf derived (`-M`), printed at the end of the line: name, value.
    pub metric: Option<(String, PerfMetric)>,
}

/// A metric perf computed from its own metric tables (`perf stat -M`).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PerfMetric {
    pub value: f64,
    /// "%" for the TMA and pipeline fractions; "" when perf gives none.
    pub unit: String,
}

/// The named metric at the end of a line: `32.5,%  tma_retiring`. perf's
/// own shadow figures on plain event lines (`2.003,CPUs utilized`,
/// `293.7,/sec`) are not metrics of a group and are left out.
fn perf_metric(value: &str, unit: &str) -> Option<(String, PerfMetric)> {
    let value: f64 = value.trim().parse().ok()?;
    let tokens: Vec<&str> = unit.split_whitespace().collect();
    let name = *tokens.last()?;
    let named = name.contains('_') || (tokens.len() == 2 && tokens[0] == "%");
    let ident = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.');
    (named && ident).then(|| {
        (
            name.to_string(),
            PerfMetric {
                value,
                unit: tokens[..tokens.len() - 1].join(" "),
            },
        )
    })
}

/// `cpu_core/cycles/` -> `cycles`, `cycles:u` -> `cycles`.
pub fn normalize_event(e: &str) -> String {
    let e = e.trim();
    let inner = match e.split_once('/') {
        Some((_, rest)) => rest.split('/').next().unwrap_or(rest),
        None => e,
    };
    inner.split(':').next().unwrap_or(inner).to_string()
}

/// Parses one line of `perf stat -x, -I` output:
/// `time,value,unit,event,run_time,run_pct,metric_value,metric_unit`.
pub fn parse_stat_line(line: &str) -> Option<StatLine> {
    let f: Vec<&str> = line.trim().split(',').collect();
    if f.len() < 4 {
        return None;
    }
    let time: f64 = f[0].trim().parse().ok()?;
    if f.len() == 8 && f[1..6].iter().all(|x| x.trim().is_empty()) {
        // A metric-only line of -M.
        let metric = perf_metric(f[6], f[7])?;
        return Some(StatLine {
            time,
            value: 0.0,
            status: Status::Counted,
            unit: String::new(),
            event: String::new(),
            run_pct: None,
            metric: Some(metric),
        });
    }
    let (value, status) = match f[1].trim() {
        "<not supported>" => (0.0, Status::NotSupported),
        "<not counted>" => (0.0, Status::NotCounted),
        v => (v.parse::<f64>().ok()?, Status::Counted),
    };
    // Event names with commas (`cpu/event=0x3c,umask=0/`) span several fields.
    let (event, rest) = if f.len() > 8 {
        (f[3..f.len() - 4].join(","), &f[f.len() - 4..])
    } else {
        (f[3].to_string(), &f[4..])
    };
    if event.trim().is_empty() {
        return None;
    }
    let run_pct = rest.get(1).and_then(|p| p.trim().parse::<f64>().ok());
    let metric = match (rest.get(2), rest.get(3)) {
        (Some(v), Some(u)) => perf_metric(v, u),
        _ => None,
    };
    Some(StatLine {
        time,
        value,
        status,
        unit: f[2].trim().to_string(),
        event: normalize_event(&event),
        run_pct,
        metric,
    })
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Count {
    pub value: f64,
    pub status: Status,
    /// Lowest share of time the counter ran (< 100: multiplexed, scaled).
    pub run_pct: Option<f64>,
}

impl Count {
    fn merge(&mut self, o: &Count) {
        self.value += o.value;
        self.status = match (self.status, o.status) {
            (Status::Counted, _) | (_, Status::Counted) => Status::Counted,
            (Status::NotCounted, _) | (_, Status::NotCounted) => Status::NotCounted,
            _ => Status::NotSupported,
        };
        self.run_pct = match (self.run_pct, o.run_pct) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    fn counted(&self) -> Option<f64> {
        (self.status == Status::Counted).then_some(self.value)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Interval {
    pub start: f64,
    pub end: f64,
    pub counts: BTreeMap<String, Count>,
    /// Metrics perf derived itself (`-M`), by name.
    pub perf_metrics: BTreeMap<String, PerfMetric>,
}

impl Interval {
    fn add(&mut self, l: &StatLine) {
        if let Some((name, m)) = &l.metric {
            self.perf_metrics
                .entry(name.clone())
                .or_insert_with(|| m.clone());
        }
        if l.event.is_empty() {
            return;
        }
        let c = Count {
            value: l.value,
            status: l.status,
            run_pct: l.run_pct,
        };
        self.counts
            .entry(l.event.clone())
            .and_modify(|x| x.merge(&c))
            .or_insert(c);
    }
    pub fn secs(&self) -> f64 {
        self.end - self.start
    }
    pub fn get(&self, e: &str) -> Option<f64> {
        self.counts.get(e).and_then(Count::counted)
    }
}

/// Groups parsed lines into intervals as they arrive. An interval is complete
/// when it has as many lines as expected (the number of events, corrected by
/// what perf actually printed for the first interval), or when a new time
/// stamp appears.
pub struct Collector {
    expected: usize,
    cur: Option<Interval>,
    cur_lines: usize,
    last_end: f64,
    pub done: Vec<Interval>,
    pub other: Vec<String>,
}

impl Collector {
    pub fn new(expected: usize) -> Collector {
        Collector {
            expected: expected.max(1),
            cur: None,
            cur_lines: 0,
            last_end: 0.0,
            done: Vec::new(),
            other: Vec::new(),
        }
    }

    /// Feeds one line; returns how many intervals completed.
    pub fn push(&mut self, line: &str) -> usize {
        let Some(l) = parse_stat_line(line) else {
            if !line.trim().is_empty() {
                self.other.push(line.trim().to_string());
            }
            return 0;
        };
        let mut completed = 0;
        // A late line of an interval already closed (hybrid PMUs print more
        // lines than events): fold it in and learn the real line count.
        if self.cur.is_none() {
            if let Some(last) = self.done.last_mut() {
                if (last.end - l.time).abs() < 1e-9 {
                    last.add(&l);
                    self.cur_lines += 1;
                    self.expected = self.expected.max(self.cur_lines);
                    return 0;
                }
            }
        }
        if let Some(cur) = &self.cur {
            if (cur.end - l.time).abs() > 1e-9 {
                // New time stamp: the current interval is over.
                self.expected = self.cur_lines;
                completed += self.close();
            }
        }
        if self.cur.is_none() {
            self.cur = Some(Interval {
                start: self.last_end,
                end: l.time,
                counts: BTreeMap::new(),
                perf_metrics: BTreeMap::new(),
            });
            self.cur_lines = 0;
        }
        if let Some(cur) = self.cur.as_mut() {
            cur.add(&l);
        }
        self.cur_lines += 1;
        if self.cur_lines >= self.expected {
            completed += self.close();
        }
        completed
    }

    fn close(&mut self) -> usize {
        match self.cur.take() {
            Some(i) => {
                self.last_end = i.end;
                self.done.push(i);
                1
            }
            None => 0,
        }
    }

    pub fn finish(&mut self) -> usize {
        self.close()
    }
}

/// Pure: all intervals of a complete perf output.
#[cfg(test)]
pub fn parse_intervals(text: &str, events: usize) -> (Vec<Interval>, Vec<String>) {
    let mut c = Collector::new(events);
    for line in text.lines() {
        c.push(line);
    }
    c.finish();
    (c.done, c.other)
}

/// The whole run as one interval: counts summed, perf's metrics averaged
/// over the intervals that have them.
pub fn total(intervals: &[Interval]) -> Option<Interval> {
    let first = intervals.first()?;
    let last = intervals.last()?;
    let mut t = Interval {
        start: first.start,
        end: last.end,
        counts: BTreeMap::new(),
        perf_metrics: BTreeMap::new(),
    };
    for iv in intervals {
        for (e, c) in &iv.counts {
            t.counts
                .entry(e.clone())
                .and_modify(|x| x.merge(c))
                .or_insert(*c);
        }
    }
    let mut sums: BTreeMap<&str, (f64, usize, &str)> = BTreeMap::new();
    for iv in intervals {
        for (name, m) in &iv.perf_metrics {
            let e = sums.entry(name).or_insert((0.0, 0, &m.unit));
            e.0 += m.value;
            e.1 += 1;
        }
    }
    for (name, (sum, n, unit)) in sums {
        t.perf_metrics.insert(
            name.to_string(),
            PerfMetric {
                value: sum / n as f64,
                unit: unit.to_string(),
            },
        );
    }
    Some(t)
}

/// In `-p` mode a software event is `<not counted>` only when the task never
/// ran in the interval (software events are never multiplexed): that is 0.
pub fn zero_uncounted_software(iv: &mut Interval) {
    for e in SW_EVENTS {
        if let Some(c) = iv.counts.get_mut(e) {
            if c.status == Status::NotCounted {
                *c = Count {
                    value: 0.0,
                    status: Status::Counted,
                    run_pct: c.run_pct,
                };
            }
        }
    }
}
