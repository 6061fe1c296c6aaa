//! Helpers shared by the hostile-server suite (`tests/tests/hostile_*.rs`).
#![allow(dead_code)]

use std::error::Error;
use std::time::Duration;

use relent_reqwest::{AttemptHistory, KeyBy};

/// Slack added to every wall-clock upper bound: the machine running the suite is shared
/// (two cores, several builds), so a bound is "the cap or deadline, plus this". Every
/// bound stays far below what obeying the hostile server would cost (seconds to days).
pub const SLACK: Duration = Duration::from_millis(750);

/// Every message in `err`'s source chain, outermost first, joined by `": "`: what a
/// caller printing the error with its causes (`anyhow`'s `{:#}`) reads.
pub fn causes(err: &(dyn Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        out.push_str(": ");
        out.push_str(&e.to_string());
        next = e.source();
    }
    out
}

/// The Retry-After table key of `url` (keyed by origin, the default).
pub fn origin(url: &str) -> String {
    KeyBy::Origin.key(&reqwest::Url::parse(url).expect("url"))
}

/// Asserts `elapsed <= bound + SLACK`, saying what was measured.
#[track_caller]
pub fn assert_within(what: &str, elapsed: Duration, bound: Duration) {
    assert!(
        elapsed <= bound + SLACK,
        "{what}: took {elapsed:?}, bound {bound:?} (+{SLACK:?} slack)"
    );
}

/// The history's waits, as `(duration, reason)`.
pub fn waits(history: &AttemptHistory) -> Vec<(Duration, relent_reqwest::WaitReason)> {
    history.waits().collect()
}
