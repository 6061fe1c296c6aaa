//! The story of one request: every attempt, every wait, and how it ended.
//!
//! A retry layer that only hands back the final answer hides what happened on
//! the way: that the 200 came after a 503, a 1 s `Retry-After` and a reset
//! connection; that the 503 you got is the third one. [`AttemptHistory`] keeps
//! that story. It is attached to every response the retry layer returns (in
//! [`reqwest::Response::extensions`]) and carried by every [`RetryError`](crate::RetryError).

use std::fmt;
use std::time::Duration;

use relent::hint::ServerHint;
use relent::http::Observed;
use relent::retry::{GiveUpReason, Report, WaitReason};

/// One step of a request's history, timed from the moment the retry layer received it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// An attempt was sent and ended.
    Attempt {
        /// 1-based attempt number.
        number: u32,
        /// When it started, measured from the start of the operation.
        at: Duration,
        /// How long it took until a response head or an error.
        took: Duration,
        /// The limit it ran under, `min(per-try timeout, time left)`; `None`: no limit.
        timeout: Option<Duration>,
        /// What it saw: a status (with the server's hint, if any) or a transport error.
        outcome: Observed,
    },
    /// The retry layer waited before the next attempt.
    Wait {
        /// When the wait started, measured from the start of the operation.
        at: Duration,
        /// How long the wait was scheduled for.
        duration: Duration,
        /// Why: a backoff, a server hint, or another request's Retry-After for the same key.
        reason: WaitReason,
    },
}

/// Every attempt and wait of one request, and the give-up report if it gave up.
///
/// Found in the extensions of every response returned by the retry layer
/// (`response.extensions().get::<AttemptHistory>()`) and in every
/// [`RetryError`](crate::RetryError). Its `Display` is a timeline, one line per event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttemptHistory {
    key: String,
    events: Vec<Event>,
    report: Option<Report>,
    elapsed: Duration,
}

impl AttemptHistory {
    pub(crate) fn new(key: String) -> Self {
        AttemptHistory {
            key,
            // Most requests make one attempt; a retried one rarely more than a few.
            events: Vec::with_capacity(2),
            report: None,
            elapsed: Duration::ZERO,
        }
    }

    pub(crate) fn push(&mut self, event: Event) {
        self.events.push(event);
    }

    pub(crate) fn finish(&mut self, elapsed: Duration, report: Option<Report>) {
        self.elapsed = elapsed;
        self.report = report;
    }

    /// The Retry-After table key of the request (its origin, or its URL, per [`KeyBy`](crate::KeyBy)).
    #[must_use]
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Every event, in order.
    #[must_use]
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// How many attempts were sent.
    #[must_use]
    pub fn attempts(&self) -> u32 {
        let n = self
            .events
            .iter()
            .filter(|e| matches!(e, Event::Attempt { .. }))
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// How each attempt ended, in order.
    pub fn outcomes(&self) -> impl Iterator<Item = Observed> + '_ {
        self.events.iter().filter_map(|e| match e {
            Event::Attempt { outcome, .. } => Some(*outcome),
            Event::Wait { .. } => None,
        })
    }

    /// Every wait, as `(duration, reason)`, in order.
    pub fn waits(&self) -> impl Iterator<Item = (Duration, WaitReason)> + '_ {
        self.events.iter().filter_map(|e| match e {
            Event::Wait {
                duration, reason, ..
            } => Some((*duration, *reason)),
            Event::Attempt { .. } => None,
        })
    }

    /// The give-up report, if the retry layer gave up (the response or error
    /// you hold is then the last one, not a success).
    #[must_use]
    pub fn report(&self) -> Option<&Report> {
        self.report.as_ref()
    }

    /// Why the retry layer gave up, if it did.
    #[must_use]
    pub fn gave_up(&self) -> Option<GiveUpReason> {
        self.report.map(|r| r.reason)
    }

    /// Time from the start of the operation to its end.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }
}

/// A duration as seconds with millisecond precision, e.g. `1.250s`.
pub(crate) struct Secs(pub(crate) Duration);

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.0.as_secs(), self.0.subsec_millis())
    }
}

/// An attempt's outcome in words: `status 503`, `status 429, Retry-After 1.000s`, or the transport error.
pub(crate) struct ShowOutcome(pub(crate) Observed);

impl fmt::Display for ShowOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Observed::Response { status, hint } => {
                write!(f, "status {status}")?;
                match hint {
                    Some(ServerHint::After(d)) => write!(f, ", server hint {}", Secs(d)),
                    Some(ServerHint::DoNotRetry) => f.write_str(", server said do not retry"),
                    None => Ok(()),
                }
            }
            Observed::Transport(e) => write!(f, "{e}"),
            // This adapter feeds only statuses and transport errors; shown for completeness.
            Observed::Failure {
                retry: Some(kind), ..
            } => write!(f, "{} failure", kind.as_str()),
            Observed::Failure { retry: None, .. } => f.write_str("permanent failure"),
            _ => f.write_str("failure"),
        }
    }
}

impl fmt::Display for AttemptHistory {
    /// One line per event (`+0.102s  attempt 2 → status 429, server hint 1.000s  (3 ms)`),
    /// then the give-up reason, if any.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for event in &self.events {
            match event {
                Event::Attempt {
                    number,
                    at,
                    took,
                    outcome,
                    ..
                } => writeln!(
                    f,
                    "+{}  attempt {number} -> {}  ({} ms)",
                    Secs(*at),
                    ShowOutcome(*outcome),
                    took.as_millis()
                )?,
                Event::Wait {
                    at,
                    duration,
                    reason,
                } => writeln!(f, "+{}  wait {}: {reason}", Secs(*at), Secs(*duration))?,
            }
        }
        if let Some(report) = &self.report {
            writeln!(f, "+{}  gave up: {}", Secs(self.elapsed), report.reason)?;
        }
        Ok(())
    }
}
