//! Every input kept under fuzz/regressions/<target>/ (each once crashed its
//! fuzz target) replayed through the code the target runs, and every recorded
//! input under tests/data through every target: a fixed crash stays fixed,
//! and the fuzz targets' code runs in every test run, without a fuzzer.

use std::fs;
use std::path::Path;

#[test]
fn kept_fuzz_inputs_and_recorded_data_replay_without_a_crash() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut replayed = 0;
    for (target, run) in perfspect::fuzzing::TARGETS {
        let dir = manifest.join("../fuzz/regressions").join(target);
        assert!(dir.is_dir(), "{} is missing", dir.display());
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n == ".gitkeep") {
                continue;
            }
            run(&fs::read(&path).unwrap());
            replayed += 1;
        }
        for entry in fs::read_dir(manifest.join("tests/data")).unwrap() {
            run(&fs::read(entry.unwrap().path()).unwrap());
            replayed += 1;
        }
    }
    assert!(replayed > 40, "only {replayed} inputs replayed");
}
