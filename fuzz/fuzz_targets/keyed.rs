//! Fuzz target `keyed`: the laws are in `relent_fuzz_checks::keyed` (fuzz/checks/src/keyed.rs),
//! which the stable test fuzz/checks/tests/corpus.rs also runs on the committed inputs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| relent_fuzz_checks::keyed(data));
