//! Fuzz target `hint_headers`: the laws are in `relent_fuzz_checks::hint_headers` (fuzz/checks/src/hint_headers.rs),
//! which the stable test fuzz/checks/tests/corpus.rs also runs on the committed inputs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| relent_fuzz_checks::hint_headers(data));
