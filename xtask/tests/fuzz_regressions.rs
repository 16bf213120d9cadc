//! Every input kept under fuzz/regressions/<target>/ (each once crashed its
//! fuzz target, or is a seed worth keeping) replayed through the same code
//! the target runs, so a fixed crash stays fixed without a fuzzer.

use std::fs;
use std::path::Path;

#[test]
fn kept_fuzz_inputs_replay_without_a_crash() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions");
    let mut replayed = 0;
    for (target, run) in xtask::fuzzing::TARGETS {
        let dir = root.join(target);
        assert!(dir.is_dir(), "{} is missing", dir.display());
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n == ".gitkeep") {
                continue;
            }
            run(&fs::read(&path).unwrap());
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no kept input was replayed");
}
