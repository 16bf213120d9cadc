//! Text: the summary table first (one line per part), then each part's detail.

use super::{Renderer, fmt_val, kind_name, power_rows, spread, step_text};
use crate::benchmark::Results;
use crate::benchmark::frequency::{Frequency, Isa};
use crate::benchmark::memory::Kind;
use crate::benchmark::power::Power;
use crate::benchmark::storage;
use crate::util::{human_bytes, text_table};
use std::fmt::Write as _;

pub struct Txt;

impl Renderer for Txt {
    fn render(&self, r: &Results) -> anyhow::Result<String> {
        Ok(txt(r))
    }
}

/// The summary table first (one line per part), then each part's detail.
fn txt(r: &Results) -> String {
    let mut s = String::from("perfspect benchmark\n\n");
    let mut rows: Vec<Vec<String>> = Vec::new();
    if let Some(c) = &r.cpu {
        rows.push(vec![
            "cpu".into(),
            format!(
                "score {} on 1 CPU, {} on {} CPUs",
                spread(&c.score_single, 1),
                spread(&c.score_all, 1),
                c.cpus
            ),
            format!("{:.1}", c.duration_s),
        ]);
    }
    if let Some(f) = &r.frequency {
        let at = |isa: Isa, first: bool| {
            let mut p = f.points.iter().filter(|p| p.isa == isa);
            let p = if first { p.next() } else { p.next_back() };
            p.map(|p| format!("{:.2}", p.ghz))
                .unwrap_or_else(|| "-".into())
        };
        rows.push(vec![
            "frequency".into(),
            format!(
                "scalar {} GHz on 1 CPU, {} on all; avx512 {} on all",
                at(Isa::Scalar, true),
                at(Isa::Scalar, false),
                at(Isa::Avx512, false)
            ),
            format!("{:.1}", f.duration_s),
        ]);
    }
    if let Some(p) = &r.power {
        rows.push(vec![
            "power".into(),
            if p.unavailable.is_empty() {
                format!(
                    "package {} W idle, {} W under load",
                    fmt_val(p.idle.package_watts, 1),
                    fmt_val(p.load.package_watts, 1)
                )
            } else {
                format!("unavailable: {}", p.unavailable[0])
            },
            format!("{:.1}", p.duration_s),
        ]);
    }
    if let Some(m) = &r.memory {
        let bw = |k: Kind| {
            m.bandwidth
                .iter()
                .find(|b| b.scope == "all" && b.kind == k)
                .map(|b| format!("{:.1}", b.gb_per_s.max))
                .unwrap_or_else(|| "-".into())
        };
        let levels: Vec<String> = m.steps.iter().filter_map(|s| s.cache.clone()).collect();
        rows.push(vec![
            "memory".into(),
            format!(
                "triad {} GB/s, read {} GB/s; latency steps at {}",
                bw(Kind::Triad),
                bw(Kind::Read),
                if levels.is_empty() {
                    "no cache level".into()
                } else {
                    levels.join(", ")
                }
            ),
            format!("{:.1}", m.duration_s),
        ]);
    }
    if let Some(st) = &r.storage {
        let iops = |n: &str| {
            st.jobs
                .iter()
                .find(|j| j.name == n)
                .map(|j| format!("{:.0}", j.iops))
                .unwrap_or_else(|| "-".into())
        };
        let bw = |n: &str| {
            st.jobs
                .iter()
                .find(|j| j.name == n)
                .map(|j| storage::fmt_bw(j.bandwidth_bytes_per_s as f64))
                .unwrap_or_else(|| "-".into())
        };
        rows.push(vec![
            "storage".into(),
            format!(
                "4k random read {} IOPS, 1m sequential read {}",
                iops("randread-4k"),
                bw("seqread-1m")
            ),
            format!("{:.1}", st.duration_s),
        ]);
    }
    s.push_str(&text_table(
        &["PART", "RESULT", "SECONDS"],
        &rows,
        &[false, false, true],
    ));

    if let Some(c) = &r.cpu {
        let _ = writeln!(
            s,
            "\ncpu: M ops/s, median of {} runs of {} s ± spread (max-min over median)",
            c.score_single.runs, c.seconds_per_run
        );
        let mut rows: Vec<Vec<String>> = c
            .kernels
            .iter()
            .map(|k| {
                vec![
                    k.name.to_string(),
                    k.description.to_string(),
                    spread(&k.single_mops, 1),
                    spread(&k.all_mops, 1),
                ]
            })
            .collect();
        rows.push(vec![
            "score".into(),
            "geometric mean".into(),
            spread(&c.score_single, 1),
            spread(&c.score_all, 1),
        ]);
        let all = format!("{} CPUS", c.cpus);
        s.push_str(&text_table(
            &["KERNEL", "WHAT", "1 CPU", &all],
            &rows,
            &[false, false, true, true],
        ));
    }
    if let Some(f) = &r.frequency {
        s.push_str(&frequency_txt(f));
    }
    if let Some(p) = &r.power {
        s.push_str(&power_txt(p));
    }
    if let Some(m) = &r.memory {
        s.push_str("\nmemory bandwidth: GB/s (10^9 bytes), best of the runs ± spread\n");
        let rows: Vec<Vec<String>> = m
            .bandwidth
            .iter()
            .map(|b| {
                vec![
                    b.scope.clone(),
                    b.cpus.to_string(),
                    kind_name(b.kind).into(),
                    human_bytes(b.array_bytes),
                    format!("{:.2} ±{:.1}%", b.gb_per_s.max, b.gb_per_s.spread_pct),
                ]
            })
            .collect();
        s.push_str(&text_table(
            &["SCOPE", "CPUS", "KERNEL", "ARRAY/THREAD", "GB/S"],
            &rows,
            &[false, true, false, true, true],
        ));
        s.push_str("\nmemory latency: ns per dependent load by working set\n");
        let rows: Vec<Vec<String>> = m
            .latency
            .iter()
            .map(|p| vec![human_bytes(p.size_bytes), format!("{:.2}", p.ns)])
            .collect();
        s.push_str(&text_table(&["SIZE", "NS"], &rows, &[true, true]));
        let caches: Vec<String> = m
            .caches
            .iter()
            .map(|c| format!("{} {}", c.level, human_bytes(c.size_bytes)))
            .collect();
        let _ = writeln!(s, "caches (sysfs): {}", caches.join(", "));
        for st in &m.steps {
            let _ = writeln!(s, "step: {}", step_text(st));
        }
    }
    if let Some(st) = &r.storage {
        s.push('\n');
        s.push_str(&storage::render_txt(st));
    }
    s
}

fn power_txt(p: &Power) -> String {
    let mut s = format!(
        "\npower: turbostat {}, {} s per phase\n",
        p.turbostat.as_deref().unwrap_or("(not found)"),
        p.seconds_per_phase
    );
    s.push_str(&text_table(
        &["PHASE", "PACKAGE W", "DRAM W", "PACKAGE C"],
        &power_rows(p),
        &[false, true, true, true],
    ));
    for u in &p.unavailable {
        let _ = writeln!(s, "note: {u}");
    }
    s
}

fn frequency_txt(f: &Frequency) -> String {
    let mut s = format!(
        "\nfrequency: GHz while dependent-add loops run on N CPUs ({} s each; rate per CPU-second)\n",
        f.seconds_per_point
    );
    let rows: Vec<Vec<String>> = f
        .points
        .iter()
        .map(|p| {
            vec![
                p.isa.name().into(),
                p.active_cpus.to_string(),
                format!("{:.2}", p.ghz),
                format!("{:.2}", p.min_ghz),
                p.aperf_mperf
                    .map(|r| format!("{r:.3}"))
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    s.push_str(&text_table(
        &["ISA", "CPUS", "GHZ", "MIN GHZ", "APERF/MPERF"],
        &rows,
        &[false, true, true, true, true],
    ));
    for isa in &f.skipped {
        let _ = writeln!(s, "note: {} not measured: this CPU lacks it", isa.name());
    }
    if let Some(why) = &f.aperf_mperf_unavailable {
        let _ = writeln!(s, "note: APERF/MPERF unavailable: {why}");
    }
    s
}
