//! Fuzz target `deadline_table`: the laws are in `relent_fuzz_checks::deadline_table` (fuzz/checks/src/deadline_table.rs),
//! which the stable test fuzz/checks/tests/corpus.rs also runs on the committed inputs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| relent_fuzz_checks::deadline_table(data));
