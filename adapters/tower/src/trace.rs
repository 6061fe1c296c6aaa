//! The `tracing` feature: one event per attempt, wait and give-up (no-ops without it).
//!
//! Retries of a request carry OpenTelemetry's `http.request.resend_count` (the HTTP
//! client semantic conventions: "the ordinal number of request resending attempt",
//! set on resends only), so a trace backend can tell a resend from a first send.

use std::time::Duration;

use relent::retry::{Outcome, Report, WaitReason};

/// An attempt ended (DEBUG).
#[cfg(feature = "tracing")]
pub(crate) fn ended(key: &str, attempt: u32, outcome: &Outcome, took: Duration) {
    let took_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
    if attempt > 1 {
        tracing::debug!(
            target: "relent_tower",
            key,
            attempt,
            http.request.resend_count = attempt - 1,
            took_ms,
            outcome = %outcome,
            "attempt ended"
        );
    } else {
        tracing::debug!(target: "relent_tower", key, attempt, took_ms, outcome = %outcome, "attempt ended");
    }
}

/// The layer is about to wait before attempt `after + 1` (INFO: a wait is visible latency).
#[cfg(feature = "tracing")]
pub(crate) fn wait(key: &str, after: u32, delay: Duration, reason: &WaitReason) {
    tracing::info!(
        target: "relent_tower",
        key,
        http.request.resend_count = after,
        wait_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        reason = %reason,
        "waiting before the next attempt"
    );
}

/// The layer gave up (WARN, unless a first attempt simply got a final answer).
#[cfg(feature = "tracing")]
pub(crate) fn give_up(key: &str, report: &Report) {
    if report.reason == relent::retry::GiveUpReason::NotRetryable && report.attempts <= 1 {
        return;
    }
    tracing::warn!(
        target: "relent_tower",
        key,
        attempts = report.attempts,
        http.request.resend_count = report.attempts.saturating_sub(1),
        report = %report,
        "gave up"
    );
}

#[cfg(not(feature = "tracing"))]
pub(crate) fn ended(_: &str, _: u32, _: &Outcome, _: Duration) {}

#[cfg(not(feature = "tracing"))]
pub(crate) fn wait(_: &str, _: u32, _: Duration, _: &WaitReason) {}

#[cfg(not(feature = "tracing"))]
pub(crate) fn give_up(_: &str, _: &Report) {}
