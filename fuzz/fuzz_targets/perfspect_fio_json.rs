#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| perfspect::fuzzing::fio_json(data));
