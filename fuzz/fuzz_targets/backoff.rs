//! Fuzz target `backoff`: the laws are in `relent_fuzz_checks::backoff` (fuzz/checks/src/backoff.rs),
//! which the stable test fuzz/checks/tests/corpus.rs also runs on the committed inputs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| relent_fuzz_checks::backoff(data));
