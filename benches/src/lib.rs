//! Side-by-side benchmarks of relent against peer crates; see `benches/`.
