//! Side-by-side benchmarks of relent against peer crates; see `benches/`.
//!
//! - `tokio_retry`: `relent_tokio::Retrier::run` around an immediately
//!   successful future, against the bare call and backon's `.retry()`:
//!   `cargo bench -p relent-benches --bench tokio_retry -- --warm-up-time 1 --measurement-time 3`
