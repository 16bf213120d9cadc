#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xtask::fuzzing::supply_chain(data));
