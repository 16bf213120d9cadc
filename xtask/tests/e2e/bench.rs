//! `cargo xtask bench` measures in a copy: the checkout is never edited, even
//! when the bench is interrupted mid-edit.

use std::path::Path;
use std::time::Duration;

use crate::support::*;

/// Every file of the checkout but target/ (sha256 by path), and git's view.
fn checkout_state(root: &Path) -> (Vec<(String, String)>, String) {
    let mut files = snapshot(root);
    files.retain(|(path, _)| !path.starts_with("target/") && !path.starts_with(".git/"));
    (files, git(root, &["status", "--porcelain"]))
}

#[test]
fn bench_never_edits_the_checkout_even_when_interrupted() {
    let _serial = serial();
    let root = warm_repo("bench");
    ok(xtask(&root, &["dist"], &[]));
    let before = checkout_state(&root);
    assert!(before.1.is_empty(), "{}", before.1);
    // Ctrl-C while the bench's edit of a perfspect file is being built.
    let (err, success, acted) = run_and_act_at(
        &root,
        &["bench", "--runs", "1"],
        "bench: dist_edit_s",
        Duration::from_secs(8),
        |group| {
            // SAFETY: kill(2) with a process group id is a plain syscall.
            unsafe { libc::kill(-group, libc::SIGINT) };
        },
    );
    assert!(acted, "{}", tail(&err));
    assert!(!success, "the bench was not interrupted: {}", tail(&err));
    assert_eq!(
        checkout_state(&root),
        before,
        "the bench changed the checkout"
    );
    // The copy it measured in holds the edit it was making; the checkout not.
    let copy = root.join("target/bench/work/perfspect/src/main.rs");
    assert!(
        std::fs::read_to_string(copy)
            .unwrap()
            .contains("// bench edit")
    );
}
