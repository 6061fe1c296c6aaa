//! The story of one run: every attempt, every wait, and how it ended, the same record in
//! every relent adapter.
//!
//! A retry layer that only hands back the final answer hides what happened on the way:
//! that the 200 came after a 503, a 1 s `Retry-After` and a reset connection; that the
//! 503 you got is the third one. [`AttemptHistory`] keeps that story. Every
//! [`RetryError`](crate::RetryError) carries one, and the HTTP adapters (relent-reqwest,
//! relent-tower) also attach it to every response they return, in its extensions.
//! Its entries are [`Step`]s: owned, `Copy`, timed from the start of the run.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use relent::Instant;
use relent::hint::ServerHint;
use relent::http::Observed;
use relent::retry::{GiveUpReason, Outcome, Report, WaitReason};

use crate::error::{AttemptTimedOut, Cause, Failure};
use crate::{ErrorClass, Event};

/// One step of a run's history, timed from the moment the run started.
///
/// The record of what the live [`Event`]s reported: an attempt once it
/// ended (what it saw, how long it took) and each wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
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
        /// What it saw: a status (with the server's hint, if any), a transport error, or
        /// (relent-tokio) the caller's class of its error.
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

/// Every attempt and wait of one run, and the give-up report if it gave up.
///
/// Carried by every [`RetryError`](crate::RetryError) (`err.history()`); the HTTP
/// adapters also put it in the extensions of every response they return
/// (`response.extensions().get::<AttemptHistory>()`). Its `Display` is a timeline, one
/// line per step.
///
/// The adapters write it as the run goes; a relent-tokio run records only its failed
/// attempts and its waits, so a run that succeeds at once allocates nothing for it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// use std::time::Duration;
/// use relent_tokio::{BackoffBuilder, Retrier, RetryPolicy, Step};
///
/// let policy = RetryPolicy::default()
///     .with_backoff(BackoffBuilder::constant(Duration::from_millis(100)).build().unwrap())
///     .with_max_attempts(2);
/// let err = Retrier::new(policy)
///     .run(|| async { Err::<(), _>(std::io::Error::other("refused")) })
///     .await
///     .unwrap_err();
/// let history = err.history();
/// assert_eq!(history.attempts(), 2);
/// assert!(matches!(history.steps()[1], Step::Wait { duration, .. } if duration == Duration::from_millis(100)));
/// assert_eq!(history.elapsed(), Duration::from_millis(100));
/// # }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttemptHistory {
    key: RunKey,
    steps: Steps,
    /// Boxed: only a run that gave up has one, and every response and every run's
    /// future carries a history (about 90 bytes less to hold and move).
    report: Option<Box<Report>>,
    elapsed: Duration,
}

/// A run's key: owned, or shared with the adapter that made it (relent-reqwest keeps the
/// origin most of its requests go to as one `Arc<str>`, and relent-tower every origin it
/// has seen, so a request's history costs a reference count, not a copy of the string).
/// The adapters hold a run's key as this while the run goes, and move it into the
/// history at the end ([`Recorder::finish`]).
#[derive(Clone, Debug)]
#[doc(hidden)]
pub enum RunKey {
    /// The run's own copy.
    Owned(String),
    /// A copy shared with other runs.
    Shared(Arc<str>),
}

impl Default for RunKey {
    fn default() -> Self {
        RunKey::Owned(String::new())
    }
}

impl RunKey {
    /// The key's text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            RunKey::Owned(key) => key,
            RunKey::Shared(key) => key,
        }
    }
}

impl From<String> for RunKey {
    fn from(key: String) -> Self {
        RunKey::Owned(key)
    }
}

impl From<Arc<str>> for RunKey {
    fn from(key: Arc<str>) -> Self {
        RunKey::Shared(key)
    }
}

impl PartialEq for RunKey {
    /// The same text, however it is held.
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for RunKey {}

/// The steps of a history: the first held in place, a list only from the second on.
///
/// An HTTP adapter records the attempt that answered too, so every request has at least
/// one step; most have exactly one. Held in place, that step costs no allocation (and no
/// free when the response is dropped): the history itself is already boxed once, in the
/// response's extensions.
#[derive(Clone, Debug)]
enum Steps {
    /// Exactly one step.
    One([Step; 1]),
    /// Any other number (none: an empty list, which allocates nothing).
    Many(Vec<Step>),
}

impl Default for Steps {
    fn default() -> Self {
        Steps::Many(Vec::new())
    }
}

impl Steps {
    fn as_slice(&self) -> &[Step] {
        match self {
            Steps::One(one) => one,
            Steps::Many(many) => many,
        }
    }

    fn push(&mut self, step: Step) {
        match self {
            Steps::Many(many) if many.is_empty() && many.capacity() == 0 => {
                *self = Steps::One([step]);
            }
            Steps::Many(many) => many.push(step),
            Steps::One([first]) => {
                // A retry: attempt, wait, attempt at least.
                let mut many = Vec::with_capacity(4);
                many.push(*first);
                many.push(step);
                *self = Steps::Many(many);
            }
        }
    }
}

impl PartialEq for Steps {
    /// The same steps, however they are held.
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Steps {}

impl AttemptHistory {
    /// An empty history for a run keyed `key` (the Retry-After table key of an HTTP
    /// request, its origin; empty for a run that has no text key).
    #[must_use]
    #[doc(hidden)]
    pub fn new(key: String) -> Self {
        AttemptHistory {
            key: RunKey::Owned(key),
            // Nothing allocated until the second step (see `Steps`).
            steps: Steps::default(),
            report: None,
            elapsed: Duration::ZERO,
        }
    }

    /// Set the key: for an adapter that holds the key elsewhere while the run goes
    /// (its table entry borrows it) and moves it in at the end instead of copying it,
    /// owned or shared ([`RunKey`]).
    #[doc(hidden)]
    pub fn set_key(&mut self, key: impl Into<RunKey>) {
        self.key = key.into();
    }

    /// Record the next step.
    #[doc(hidden)]
    pub fn push(&mut self, step: Step) {
        self.steps.push(step);
    }

    /// Record how the run ended: its length, and the report if it gave up.
    #[doc(hidden)]
    pub fn finish(&mut self, elapsed: Duration, report: Option<Report>) {
        self.elapsed = elapsed;
        self.report = report.map(Box::new);
    }

    /// The Retry-After table key of the request (relent-reqwest: its origin, or its URL,
    /// per its `KeyBy`; relent-tower: its origin); empty for a relent-tokio run.
    #[must_use]
    pub fn key(&self) -> &str {
        self.key.as_str()
    }

    /// Every step, in order.
    #[must_use]
    pub fn steps(&self) -> &[Step] {
        self.steps.as_slice()
    }

    /// Every step, in order (the name earlier relent-reqwest releases used).
    #[must_use]
    pub fn events(&self) -> &[Step] {
        self.steps.as_slice()
    }

    /// How many attempts were sent.
    #[must_use]
    pub fn attempts(&self) -> u32 {
        let n = self
            .steps()
            .iter()
            .filter(|e| matches!(e, Step::Attempt { .. }))
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// How each attempt ended, in order.
    pub fn outcomes(&self) -> impl Iterator<Item = Observed> + '_ {
        self.steps().iter().filter_map(|e| match e {
            Step::Attempt { outcome, .. } => Some(*outcome),
            Step::Wait { .. } => None,
        })
    }

    /// Every wait, as `(duration, reason)`, in order.
    pub fn waits(&self) -> impl Iterator<Item = (Duration, WaitReason)> + '_ {
        self.steps().iter().filter_map(|e| match e {
            Step::Wait {
                duration, reason, ..
            } => Some((*duration, *reason)),
            Step::Attempt { .. } => None,
        })
    }

    /// The give-up report, if the run gave up (the response or error you hold is then
    /// the last one, not a success).
    #[must_use]
    pub fn report(&self) -> Option<&Report> {
        self.report.as_deref()
    }

    /// Why the run gave up, if it did.
    #[must_use]
    pub fn gave_up(&self) -> Option<GiveUpReason> {
        self.report.as_ref().map(|r| r.reason)
    }

    /// Time from the start of the run to its end.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }
}

/// A duration as seconds with millisecond precision, e.g. `1.250s` (as histories and
/// the adapters' logs print them).
#[derive(Clone, Copy, Debug)]
#[doc(hidden)]
pub struct Secs(pub Duration);

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.0.as_secs(), self.0.subsec_millis())
    }
}

/// An attempt's outcome in words: `status 503`, `status 429, server hint 1.000s`, the
/// transport error, or `transient failure` (as histories and the adapters' logs print them).
#[derive(Clone, Copy, Debug)]
#[doc(hidden)]
pub struct ShowOutcome(pub Observed);

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
            Observed::Failure {
                retry: Some(kind), ..
            } => write!(f, "{} failure", kind.as_str()),
            Observed::Failure { retry: None, .. } => f.write_str("permanent failure"),
            _ => f.write_str("failure"),
        }
    }
}

impl fmt::Display for AttemptHistory {
    /// One line per step (`+0.102s  attempt 2 -> status 429, server hint 1.000s  (3 ms)`),
    /// then the give-up reason, if any.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in self.steps() {
            match step {
                Step::Attempt {
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
                Step::Wait {
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

/// What an attempt left behind, as its adapter read the attempt's output.
#[derive(Debug)]
#[doc(hidden)]
pub enum Left<'a, E> {
    /// An answer: a success, or a response judged a failure. No error to keep.
    Answer,
    /// An error, with its class.
    Error(&'a E, ErrorClass),
    /// Nothing: the attempt was abandoned at its time limit.
    TimedOut,
}

/// Writes a run's [`AttemptHistory`] and its causes from the driver's events, and reports
/// each as an [`Event`]: the one observer every relent adapter runs with (relent-tokio's
/// [`Retrier`](crate::Retrier), relent-reqwest, relent-tower), so every adapter records
/// and reports the same way.
///
/// An adapter calls [`attempt`](Self::attempt), [`ended`](Self::ended) and
/// [`wait`](Self::wait) from its [`relent::drive::Observe::event`], and
/// [`keep`](Self::keep) for each error it is handed back, with a function that passes each
/// event on to its hook.
#[derive(Debug)]
#[doc(hidden)]
pub struct Recorder<E> {
    history: AttemptHistory,
    causes: Vec<Cause<E>>,
    start: Instant,
    /// The limit of the attempt in flight.
    limit: Option<Duration>,
    /// When the last attempt ended.
    ended: Instant,
    /// Whether answered attempts are recorded too (an HTTP adapter's history shows the
    /// 200; relent-tokio's error only ever shows failures, so it records nothing for
    /// a run that succeeds at once).
    answers: bool,
}

impl<E> Recorder<E> {
    /// A recorder for a run that started at `start`, recording answered attempts too
    /// when `answers` is set.
    #[must_use]
    pub fn new(start: Instant, answers: bool) -> Self {
        Recorder {
            history: AttemptHistory::new(String::new()),
            causes: Vec::new(),
            start,
            limit: None,
            ended: start,
            answers,
        }
    }

    /// Attempt number `attempt` starts with this limit (`None`: none).
    pub fn attempt(
        &mut self,
        attempt: u32,
        timeout: Option<Duration>,
        notify: impl FnOnce(&Event<'_, E>),
    ) {
        self.limit = timeout;
        notify(&Event::Attempt { attempt, timeout });
    }

    /// Attempt number `attempt` ended at `at` after `took`; the policy read it as
    /// `outcome`, the adapter saw `observed`, and it left `left`. Returns the step it
    /// recorded, if any.
    #[allow(clippy::too_many_arguments)]
    pub fn ended(
        &mut self,
        attempt: u32,
        at: Instant,
        took: Duration,
        outcome: Outcome,
        observed: Observed,
        left: Left<'_, E>,
        notify: impl Fn(&Event<'_, E>),
    ) -> Option<Step> {
        self.ended = at;
        let step = (self.answers || !matches!(outcome, Outcome::Success)).then(|| {
            let step = Step::Attempt {
                number: attempt,
                at: at
                    .saturating_sub(took)
                    .saturating_duration_since(self.start),
                took,
                timeout: self.limit,
                outcome: observed,
            };
            self.history.push(step);
            step
        });
        notify(&Event::Ended {
            attempt,
            outcome,
            took,
        });
        match left {
            Left::Error(error, class) => notify(&Event::Failed(&Cause {
                attempt,
                at,
                failure: Failure::Error { error, class },
            })),
            Left::TimedOut => {
                let timed_out = AttemptTimedOut {
                    limit: self.limit.unwrap_or_default(),
                };
                notify(&Event::Failed(&Cause {
                    attempt,
                    at,
                    failure: Failure::TimedOut(timed_out),
                }));
                // No error of its own will come back: the cause is kept now.
                self.causes.push(Cause {
                    attempt,
                    at,
                    failure: Failure::TimedOut(timed_out),
                });
            }
            Left::Answer => {}
        }
        step
    }

    /// The run waits `delay`, until `until`, for `reason`. Returns the step it recorded.
    pub fn wait(
        &mut self,
        until: Instant,
        delay: Duration,
        reason: WaitReason,
        notify: impl FnOnce(&Event<'_, E>),
    ) -> Step {
        let step = Step::Wait {
            at: until
                .saturating_sub(delay)
                .saturating_duration_since(self.start),
            duration: delay,
            reason,
        };
        self.history.push(step);
        notify(&Event::Wait {
            until,
            delay,
            reason,
        });
        step
    }

    /// Keep attempt `attempt`'s error, of class `class`, as its cause (the driver hands
    /// an output back once the run has moved past it, or at the end).
    pub fn keep(&mut self, attempt: u32, error: E, class: ErrorClass) {
        self.causes.push(Cause {
            attempt,
            at: self.ended,
            failure: Failure::Error { error, class },
        });
    }

    /// When the last attempt ended (the run's start before any did).
    #[must_use]
    pub fn last_ended(&self) -> Instant {
        self.ended
    }

    /// The history so far (its key is set by [`finish`](Self::finish)).
    #[must_use]
    pub fn history(&self) -> &AttemptHistory {
        &self.history
    }

    /// The history, keyed `key` (owned or shared: [`RunKey`]), finished after `elapsed`
    /// with `report` if the run gave up, and the causes.
    #[must_use]
    pub fn finish(
        self,
        key: impl Into<RunKey>,
        elapsed: Duration,
        report: Option<Report>,
    ) -> (AttemptHistory, Vec<Cause<E>>) {
        let mut history = self.history;
        history.set_key(key);
        history.finish(elapsed, report);
        (history, self.causes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait(ms: u64) -> Step {
        Step::Wait {
            at: Duration::from_millis(ms),
            duration: Duration::from_millis(ms),
            reason: WaitReason::Backoff(relent::retry::RetryKind::Transient),
        }
    }

    #[test]
    fn steps_keep_their_order_whether_held_in_place_or_listed() {
        let mut history = AttemptHistory::new(String::from("k"));
        assert!(history.steps().is_empty());
        let mut expected = Vec::new();
        for ms in 1..=5 {
            history.push(wait(ms));
            expected.push(wait(ms));
            assert_eq!(history.steps(), expected.as_slice());
            assert_eq!(history.events(), expected.as_slice());
        }
        // Equal histories compare equal however their steps are held.
        let mut one = AttemptHistory::new(String::new());
        one.push(wait(1));
        let mut listed = AttemptHistory::new(String::new());
        listed.steps = Steps::Many(vec![wait(1)]);
        assert_eq!(one, listed);
        assert_ne!(one, AttemptHistory::new(String::new()));
    }
}
