//! Fuzz target `retry_machine`: the laws are in `relent_fuzz_checks::retry_machine` (fuzz/checks/src/retry_machine.rs),
//! which the stable test fuzz/checks/tests/corpus.rs also runs on the committed inputs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| relent_fuzz_checks::retry_machine(data));
