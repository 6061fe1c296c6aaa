//! Prints a backoff schedule (placeholder until the backoff module lands).
fn main() {}
