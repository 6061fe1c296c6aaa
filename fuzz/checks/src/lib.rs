//! The checks behind relent's fuzz targets.
//!
//! Each public function takes arbitrary bytes, decodes them into inputs for one part of the
//! core, runs it, and panics (with `assert!`) only when a stated law is broken. The cargo-fuzz
//! targets in `fuzz/fuzz_targets/` are one-line wrappers around these functions, and
//! `tests/corpus.rs` runs the committed seeds, past findings (`fuzz/regressions/`) and any
//! local corpus through them on stable, so every input that once mattered keeps running in
//! `cargo test --workspace`.
//!
//! Every function accepts every byte string: short input is padded with zeros, so the empty
//! input is a valid (and checked) case too.
//!
//! | function | part of the core | checked against |
//! |---|---|---|
//! | [`retry_after`] | `Retry-After` / HTTP-date parser, formatter, `HintPolicy` | `httpdate`, an independent digit reader, the RFC 9110 50-year rule |
//! | [`hint_headers`] | `HintReader` over arbitrary header lists | a model built from the single-header parsers and the documented merge rules |
//! | [`retry_machine`] | `Retry` fed polls, judged outcomes, HTTP outcomes, commits and gate holds | the machine's laws (attempts, deadline, finality, give-up reasons, the gate rule, determinism) |
//! | [`deadline_table`] | `DeadlineTable` | a `Vec` LRU reference model |
//! | [`backoff`] | `Backoff` under any policy, seed and clock | floor/cap, a shadow model of its counters and limits |
//! | [`keyed`] | `KeyedBackoff`, `BucketLimiter`, `KeyedBudget` | a `Vec` LRU model with the closed delay formula, x/time/rate's token algorithm, the no-churn-tokens bound |
//! | [`timeouts`] | timeout resolution, `attempt_timeout`, `check_wait`, stream timeouts | the formulas in their doc comments |

mod backoff;
mod deadline_table;
mod hint_headers;
mod input;
mod keyed;
mod retry_after;
mod retry_machine;
mod timeouts;

pub use backoff::backoff;
pub use deadline_table::deadline_table;
pub use hint_headers::hint_headers;
pub use keyed::keyed;
pub use retry_after::retry_after;
pub use retry_machine::retry_machine;
pub use timeouts::timeouts;

/// The signature every check has: bytes in, a panic if a law breaks.
pub type Check = fn(&[u8]);

/// The fuzz targets, by name, with the function that checks one input of each.
///
/// The names are the cargo-fuzz target names and the directory names under `fuzz/seeds/`,
/// `fuzz/regressions/` and `fuzz/corpus/`.
pub const TARGETS: [(&str, Check); 7] = [
    ("retry_after", retry_after),
    ("hint_headers", hint_headers),
    ("retry_machine", retry_machine),
    ("deadline_table", deadline_table),
    ("timeouts", timeouts),
    ("backoff", backoff),
    ("keyed", keyed),
];
