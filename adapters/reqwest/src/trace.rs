//! The `tracing` feature: one event per attempt, wait and give-up (no-ops without it).

use relent::retry::Report;

use relent_tokio::Step;

#[cfg(feature = "tracing")]
use relent_tokio::history::{Secs, ShowOutcome};

/// An attempt ended (DEBUG; WARN-worthy outcomes are reported by the give-up event).
#[cfg(feature = "tracing")]
pub(crate) fn attempt(key: &str, step: &Step) {
    if let Step::Attempt {
        number,
        took,
        outcome,
        ..
    } = step
    {
        tracing::debug!(
            target: "relent_reqwest",
            key,
            attempt = number,
            // OpenTelemetry's HTTP semantic conventions: how many times this request
            // was resent (0 for the first attempt).
            http.request.resend_count = number.saturating_sub(1),
            took_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
            outcome = %ShowOutcome(*outcome),
            "attempt ended"
        );
    }
}

/// The retry layer is about to wait (INFO: a wait is visible latency).
#[cfg(feature = "tracing")]
pub(crate) fn wait(key: &str, step: &Step) {
    if let Step::Wait {
        duration, reason, ..
    } = step
    {
        tracing::info!(
            target: "relent_reqwest",
            key,
            wait = %Secs(*duration),
            reason = %reason,
            "waiting before the next attempt"
        );
    }
}

/// The retry layer gave up (WARN).
#[cfg(feature = "tracing")]
pub(crate) fn give_up(key: &str, report: &Report) {
    // A final status on the first attempt (a 404) is an answer, not a failure to retry.
    if report.reason == relent::retry::GiveUpReason::NotRetryable && report.attempts <= 1 {
        tracing::debug!(
            target: "relent_reqwest",
            key,
            attempts = report.attempts,
            reason = %report.reason,
            "{report}"
        );
        return;
    }
    tracing::warn!(
        target: "relent_reqwest",
        key,
        attempts = report.attempts,
        reason = %report.reason,
        "{report}"
    );
}

#[cfg(not(feature = "tracing"))]
pub(crate) fn attempt(_: &str, _: &Step) {}

#[cfg(not(feature = "tracing"))]
pub(crate) fn wait(_: &str, _: &Step) {}

#[cfg(not(feature = "tracing"))]
pub(crate) fn give_up(_: &str, _: &Report) {}
