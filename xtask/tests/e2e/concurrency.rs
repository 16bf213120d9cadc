//! Two runs in one checkout: the second waits.

use std::fs;

use crate::support::*;

#[test]
fn a_second_run_in_the_same_checkout_waits_for_the_first() {
    let _serial = serial();
    let root = warm_repo("concurrent");
    ok(xtask(&root, &["dist"], &[]));
    // A new version, so the first run really builds and packages.
    fs::write(root.join("version.txt"), "3.0.1\n").unwrap();
    let first = spawn_timed(&root, "dist");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let second = spawn_timed(&root, "dist");
    let third = spawn_timed(&root, "tools");
    let runs = [first, second, third].map(|run| run.join().unwrap());
    let text = |lines: &[(std::time::Instant, String)]| {
        lines
            .iter()
            .map(|(_, l)| l.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    for (lines, success) in &runs {
        assert!(success, "{}", tail(&text(lines)));
    }
    let waiting = "another cargo dist or cargo tools is running in this checkout: waiting";
    let first_line_of = |lines: &[(std::time::Instant, String)], what: &str| {
        lines.iter().position(|(_, l)| l.starts_with(what))
    };
    assert_eq!(first_line_of(&runs[0].0, waiting), None);
    // Each later run says it waits before it starts any stage, and its stages
    // never overlap another run's: one run's output, then the next one's.
    let mut spans = Vec::new();
    for (lines, _) in &runs {
        let stages: Vec<_> = lines
            .iter()
            .filter(|(_, l)| l.starts_with("==> "))
            .collect();
        assert!(!stages.is_empty(), "{}", tail(&text(lines)));
        spans.push((stages[0].0, stages[stages.len() - 1].0));
    }
    for (lines, _) in &runs[1..] {
        let said = first_line_of(lines, waiting).unwrap_or_else(|| panic!("{}", text(lines)));
        assert!(said < first_line_of(lines, "==> ").unwrap());
    }
    // The first run, which held the lock, finished before the others began.
    let first_done = spans[0].1;
    let mut later = spans[1..].to_vec();
    later.sort();
    assert!(
        first_done < later[0].0,
        "a waiting run started a stage too early"
    );
    assert!(later[0].1 < later[1].0, "the two waiting runs overlapped");
    check_dist(&root);
    cache_is_intact(&root);
}
