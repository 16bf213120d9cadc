//! Unit tests of parsing and deriving, on captured and hand-written perf
//! output (tests/data/README.md says which is which).

use super::Format;
use super::derive::*;
use super::parse::*;
use super::perf::permission_problem;
use super::render::{Header, Report, whole};
use super::summary;
use crate::report::parse::Utilisation;

const SW: &str = include_str!("../../tests/data/perf-stat-sw-only-x86_64-vm.csv");
const PID: &str = include_str!("../../tests/data/perf-stat-pid-x86_64-vm.csv");
const HW: &str = include_str!("../../tests/data/perf-stat-hw-sample.csv");

fn util(busy: f64) -> Utilisation {
    Utilisation {
        busy_pct: busy,
        user_pct: busy,
        system_pct: 0.0,
        iowait_pct: 0.0,
        steal_pct: 0.0,
    }
}

#[test]
fn lines() {
    let l = parse_stat_line(
        "     1.001081918,2003.06,msec,task-clock,2003054730,100.00,2.003,CPUs utilized",
    )
    .unwrap();
    assert_eq!(l.time, 1.001081918);
    assert_eq!(l.value, 2003.06);
    assert_eq!(l.unit, "msec");
    assert_eq!(l.event, "task-clock");
    assert_eq!(l.status, Status::Counted);
    assert_eq!(l.run_pct, Some(100.0));
    let u = parse_stat_line("     1.001081918,<not supported>,,cycles,0,100.00,,").unwrap();
    assert_eq!(u.status, Status::NotSupported);
    assert_eq!(u.event, "cycles");
    let n = parse_stat_line("0.5,<not counted>,msec,task-clock,0,100.00,,").unwrap();
    assert_eq!(n.status, Status::NotCounted);
    // Hybrid PMU and user-only modifiers are normalised.
    assert_eq!(
        parse_stat_line("1.0,5,,cpu_core/cycles/,10,100.00,,")
            .unwrap()
            .event,
        "cycles"
    );
    assert_eq!(
        parse_stat_line("1.0,5,,cycles:u,10,100.00,,")
            .unwrap()
            .event,
        "cycles"
    );
    // Raw events with commas in their name.
    let raw = parse_stat_line("1.0,7,,cpu/event=0x3c,umask=0x0/,10,50.00,,").unwrap();
    assert_eq!(raw.event, "event=0x3c,umask=0x0");
    assert_eq!(raw.run_pct, Some(50.0));
    for bad in [
        "",
        "# comment",
        "Error: something",
        "event syntax error: 'x'",
        "a,b,c,d",
    ] {
        assert_eq!(parse_stat_line(bad), None, "{bad}");
    }
}

#[test]
fn software_only_capture() {
    let (ivs, other) = parse_intervals(SW, 10);
    assert!(other.is_empty(), "{other:?}");
    assert_eq!(ivs.len(), 3);
    assert!((ivs[0].start - 0.0).abs() < 1e-9);
    assert!((ivs[1].start - ivs[0].end).abs() < 1e-9);
    assert!((ivs[0].secs() - 1.0).abs() < 0.01);
    assert_eq!(ivs[0].counts["cycles"].status, Status::NotSupported);
    assert!(ivs[0].get("task-clock").unwrap() > 1900.0);
    let m = compute(&ivs[0], Mode::SystemWide, Some(util(12.5)), 2);
    assert_eq!(m.get(Id::Ipc), None);
    assert_eq!(m.get(Id::CacheMiss), None);
    assert_eq!(m.get(Id::CpuUtil), Some(12.5));
    assert_eq!(m.get(Id::CpusBusy), Some(0.25));
    assert!(m.get(Id::CtxSwitches).unwrap() > 100.0);
    let t = total(&ivs).unwrap();
    let un = unavailable(&t, Mode::SystemWide, true);
    assert_eq!(un.len(), 1, "{un:?}");
    assert!(un[0].1.contains("no hardware performance counters"));
    assert!(un[0].0.contains("IPC"));
    assert_eq!(multiplex_note(&t), None);
    // Without /proc/stat there is no system-wide utilisation.
    assert_eq!(unavailable(&t, Mode::SystemWide, false).len(), 2);
}

#[test]
fn pid_capture() {
    let (ivs, _) = parse_intervals(PID, 10);
    assert_eq!(ivs.len(), 4);
    let m = compute(&ivs[0], Mode::Pid(42), None, 2);
    // A busy loop: one CPU, half of this 2-CPU VM.
    let busy = m.get(Id::CpusBusy).unwrap();
    assert!(busy > 0.9 && busy < 1.1, "{busy}");
    assert!((m.get(Id::CpuUtil).unwrap() - busy * 50.0).abs() < 1e-9);
    assert_eq!(m.get(Id::Ghz), None);
    let t = total(&ivs).unwrap();
    let un = unavailable(&t, Mode::Pid(42), true);
    assert!(!un.iter().any(|(n, _)| n == "CPU utilisation"));
}

#[test]
fn idle_process_counts_zero() {
    let text = "0.5,<not supported>,,cycles,0,100.00,,\n0.5,<not counted>,msec,task-clock,0,100.00,,\n\
                0.5,<not counted>,,context-switches,0,100.00,,\n";
    let (mut ivs, _) = parse_intervals(text, 3);
    zero_uncounted_software(&mut ivs[0]);
    let m = compute(&ivs[0], Mode::Pid(1), None, 2);
    assert_eq!(m.get(Id::CpusBusy), Some(0.0));
    assert_eq!(m.get(Id::CtxSwitches), Some(0.0));
    assert_eq!(ivs[0].counts["cycles"].status, Status::NotSupported);
    assert!(permission_problem(&[
        "Error:".into(),
        "Access to performance monitoring and observability operations is limited.".into()
    ]));
    assert!(!permission_problem(&["event syntax error".into()]));
}

#[test]
fn hardware_sample() {
    let (ivs, other) = parse_intervals(HW, 10);
    assert_eq!(ivs.len(), 2);
    assert_eq!(other.len(), 7, "the header comment lines");
    let m = compute(&ivs[1], Mode::SystemWide, Some(util(100.0)), 2);
    assert!((m.get(Id::Ipc).unwrap() - 1.0).abs() < 1e-9);
    assert!((m.get(Id::Cpi).unwrap() - 1.0).abs() < 1e-9);
    assert!((m.get(Id::CacheMiss).unwrap() - 10.0).abs() < 1e-9);
    assert!((m.get(Id::BranchMiss).unwrap() - 0.5).abs() < 1e-9);
    assert!((m.get(Id::BranchMpki).unwrap() - 1.0).abs() < 1e-9);
    // 2.6e9 cycles over 2 busy CPUs for ~1 s: ~1.3 GHz.
    assert!((m.get(Id::Ghz).unwrap() - 1.3).abs() < 0.01);
    let t = total(&ivs).unwrap();
    let s = compute(&t, Mode::SystemWide, Some(util(100.0)), 2);
    let ipc = (3_006_404_320.0 + 2_600_000_000.0) / (2_405_123_456.0 + 2_600_000_000.0);
    assert!((s.get(Id::Ipc).unwrap() - ipc).abs() < 1e-9);
    assert!(unavailable(&t, Mode::SystemWide, true).is_empty());
    let note = multiplex_note(&t).unwrap();
    assert!(note.contains("cache-misses 75%"), "{note}");
}

#[test]
fn partial_support_and_hybrid() {
    let text = "1.0,100,,cycles,10,100.00,,\n1.0,50,,instructions,10,100.00,,\n\
                1.0,<not supported>,,cache-references,0,100.00,,\n1.0,<not supported>,,cache-misses,0,100.00,,\n\
                1.0,<not counted>,,branches,0,0.00,,\n1.0,<not counted>,,branch-misses,0,0.00,,\n";
    let (ivs, _) = parse_intervals(text, 6);
    let t = total(&ivs).unwrap();
    let un = unavailable(&t, Mode::SystemWide, true);
    assert_eq!(un.len(), 2, "{un:?}");
    assert!(un[0].1.contains("PMU has no such generic event"));
    assert!(un[1].1.contains("<not counted>"));
    assert_eq!(
        compute(&ivs[0], Mode::SystemWide, None, 1).get(Id::Ipc),
        Some(0.5)
    );

    // Hybrid: two lines per event; the collector learns the line count.
    let mut c = Collector::new(2);
    let mut completed = 0;
    for l in [
        "1.0,10,,cpu_core/cycles/,1,100.00,,",
        "1.0,20,,cpu_core/instructions/,1,100.00,,",
        "1.0,5,,cpu_atom/cycles/,1,100.00,,",
        "1.0,5,,cpu_atom/instructions/,1,100.00,,",
        "2.0,10,,cpu_core/cycles/,1,100.00,,",
        "2.0,20,,cpu_core/instructions/,1,100.00,,",
        "2.0,5,,cpu_atom/cycles/,1,100.00,,",
        "2.0,5,,cpu_atom/instructions/,1,100.00,,",
    ] {
        completed += c.push(l);
    }
    completed += c.finish();
    assert_eq!(completed, 2);
    assert_eq!(c.done.len(), 2);
    assert_eq!(c.done[0].get("cycles"), Some(15.0));
    assert_eq!(c.done[1].get("instructions"), Some(25.0));
    assert!((c.done[1].start - 1.0).abs() < 1e-9);
}

#[test]
fn csv_and_json_render() {
    let (ivs, _) = parse_intervals(HW, 10);
    let per: Vec<Metrics> = ivs
        .iter()
        .map(|i| compute(i, Mode::SystemWide, Some(util(50.0)), 2))
        .collect();
    let t = total(&ivs).unwrap();
    let s = compute(&t, Mode::SystemWide, Some(util(50.0)), 2);
    let h = Header {
        mode: Mode::SystemWide,
        interval_s: 1.0,
        count: 2,
        perf_version: "6.1".into(),
        perf_source: "test".into(),
        ncpus: 2,
        group: None,
    };
    let stats = summary::per_metric(&per);
    let r = Report {
        header: &h,
        intervals: &ivs,
        per: &per,
        total: &t,
        summary: &s,
        stats: &stats,
        perf_stats: &[],
        unavailable: &[],
        notes: &[],
    };
    let csv = whole(Format::Csv, &r);
    let lines: Vec<&str> = csv.lines().collect();
    // Header, two intervals, min, mean, max, p95, summary.
    assert_eq!(lines.len(), 8, "{csv}");
    let header: Vec<&str> = lines[0].split(',').collect();
    let keys: Vec<&str> = DEFS.iter().map(|d| d.key).collect();
    assert_eq!(
        &header[3..],
        &keys[..],
        "the CSV columns are the table's keys"
    );
    assert!(lines.iter().all(|l| l.split(',').count() == header.len()));
    assert!(lines[7].starts_with("summary,"));
    let ipc = header.iter().position(|c| *c == "ipc").unwrap();
    assert_eq!(lines[2].split(',').nth(ipc), Some("1.0000"), "{}", lines[2]);
    assert!(lines[3].starts_with("min,") && lines[6].starts_with("p95,"));

    // JSON: the same keys, the statistics of each.
    let j: serde_json::Value = serde_json::from_str(&whole(Format::Json, &r)).unwrap();
    for k in &keys {
        assert!(j["summary"]["metrics"].get(*k).is_some(), "{k}");
    }
    // IPC 1.25 then 1.0 over the two intervals.
    assert_eq!(j["summary"]["statistics"]["ipc"]["min"], 1.0);
    assert_eq!(j["summary"]["statistics"]["ipc"]["max"], 1.25);
    assert_eq!(j["summary"]["statistics"]["ipc"]["mean"], 1.125);
    assert_eq!(j["intervals"].as_array().unwrap().len(), 2);

    // Text: a live row per interval, the summary table with every label.
    let txt = whole(Format::Txt, &r);
    assert!(
        txt.contains("TIME(s)") && txt.contains("summary over"),
        "{txt}"
    );
    for d in &DEFS {
        assert!(txt.contains(d.label), "{} missing in {txt}", d.label);
    }
}

#[test]
fn table_order_matches_ids() {
    // Metrics are indexed by Id: the table must list them in that order.
    let mut m = Metrics::default();
    m.0[Id::Ipc as usize] = Some(1.0);
    let (d, v) = m.iter().find(|(_, v)| v.is_some()).unwrap();
    assert_eq!((d.key, v), ("ipc", Some(1.0)));
    assert_eq!(DEFS[Id::PageFaults as usize].key, "page_faults_per_s");
    assert_eq!(DEFS[Id::CpuUtil as usize].key, "cpu_utilisation_pct");
    let mut keys: Vec<&str> = DEFS.iter().map(|d| d.key).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), DEFS.len(), "keys are unique");
}

const SPR: &str = include_str!("../../tests/data/perf-stat-M-TopdownL1-spr-handwritten.csv");
const GENOA: &str = include_str!("../../tests/data/perf-stat-M-PipelineL1-genoa-handwritten.csv");

/// perf's metric values of each interval, in a fixed order of names.
fn perf_values(iv: &Interval, names: &[&str]) -> Vec<f64> {
    names.iter().map(|n| iv.perf_metrics[*n].value).collect()
}

#[test]
fn intel_topdown_l1() {
    let (ivs, other) = parse_intervals(SPR, usize::MAX);
    assert_eq!(other.len(), 2, "the header comment: {other:?}");
    assert_eq!(ivs.len(), 2);
    let names = [
        "tma_frontend_bound",
        "tma_bad_speculation",
        "tma_backend_bound",
        "tma_retiring",
    ];
    assert_eq!(perf_values(&ivs[0], &names), [24.3, 9.4, 31.2, 35.1]);
    assert_eq!(perf_values(&ivs[1], &names), [22.0, 8.0, 32.0, 38.0]);
    assert_eq!(ivs[0].perf_metrics.len(), 4, "{:?}", ivs[0].perf_metrics);
    assert_eq!(ivs[0].perf_metrics["tma_retiring"].unit, "%");
    // Level 1 divides all slots: the four add up to 100%.
    for iv in &ivs {
        let sum: f64 = iv.perf_metrics.values().map(|m| m.value).sum();
        assert!((sum - 100.0).abs() < 0.05, "{sum}");
    }
    // The counts are kept too, and the whole run averages perf's metrics.
    assert_eq!(ivs[0].get("TOPDOWN.SLOTS"), Some(11_854_325_628.0));
    let t = total(&ivs).unwrap();
    assert!((t.perf_metrics["tma_retiring"].value - 36.55).abs() < 1e-9);
    // Retiring is the topdown-retiring share of the slots, as perf computes it.
    let slots = ivs[0].get("TOPDOWN.SLOTS").unwrap();
    let retiring = ivs[0].get("topdown-retiring").unwrap() / slots * 100.0;
    assert!((retiring - 35.1).abs() < 0.05, "{retiring}");
}

#[test]
fn amd_pipeline_l1() {
    let (ivs, _) = parse_intervals(GENOA, usize::MAX);
    assert_eq!(ivs.len(), 2);
    let names = [
        "frontend_bound",
        "bad_speculation",
        "backend_bound",
        "smt_contention",
        "retiring",
    ];
    assert_eq!(perf_values(&ivs[0], &names), [25.9, 9.3, 35.8, 1.1, 27.9]);
    for iv in &ivs {
        assert_eq!(iv.perf_metrics.len(), 5);
        let sum: f64 = iv.perf_metrics.values().map(|m| m.value).sum();
        assert!((sum - 100.0).abs() < 0.05, "{sum}");
        // perf 6.1's amdzen4 formulas: slots = 6 x cycles.
        let slots = 6.0 * iv.get("ls_not_halted_cyc").unwrap();
        let pct = |e: &str| iv.get(e).unwrap() / slots * 100.0;
        let bad =
            (iv.get("de_src_op_disp.all").unwrap() - iv.get("ex_ret_ops").unwrap()) / slots * 100.0;
        for (name, v) in [
            (
                "frontend_bound",
                pct("de_no_dispatch_per_slot.no_ops_from_frontend"),
            ),
            (
                "backend_bound",
                pct("de_no_dispatch_per_slot.backend_stalls"),
            ),
            (
                "smt_contention",
                pct("de_no_dispatch_per_slot.smt_contention"),
            ),
            ("retiring", pct("ex_ret_ops")),
            ("bad_speculation", bad),
        ] {
            assert!(
                (iv.perf_metrics[name].value - v).abs() < 0.06,
                "{name}: perf {} vs {v}",
                iv.perf_metrics[name].value
            );
        }
    }
}

#[test]
fn shadow_figures_are_not_group_metrics() {
    // perf's own remarks on plain event lines (captured on this VM).
    for line in [
        "     1.001081918,2003.06,msec,task-clock,2003054730,100.00,2.003,CPUs utilized",
        "0.500426594,107,,context-switches,1001226745,100.00,106.869,/sec",
        "1.0,100,,instructions,10,100.00,1.25,insn per cycle",
        "1.0,5,,branch-misses,10,100.00,0.5,of all branches",
    ] {
        assert_eq!(parse_stat_line(line).unwrap().metric, None, "{line}");
    }
    let l = parse_stat_line("1.0,,,,,,12.5,%  tma_retiring").unwrap();
    assert_eq!(l.event, "");
    assert_eq!(l.metric.unwrap().0, "tma_retiring");
    let l = parse_stat_line("1.0,,,,,,3.2,l2_cache_accesses_from_l2_hwpf").unwrap();
    assert_eq!(l.metric.unwrap().1.unit, "");
}
