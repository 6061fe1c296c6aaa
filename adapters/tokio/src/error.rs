//! What a failed run hands back: every attempt's cause, and the machine's report.

use core::fmt;
use core::time::Duration;

use relent::Instant;
use relent::retry::{GiveUpReason, Report};

use crate::ErrorClass;

/// An attempt ran past its time limit and was dropped.
///
/// The limit is `min(per-try timeout, time left before the overall deadline)`,
/// as the machine resolved it for that attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AttemptTimedOut {
    /// The limit the attempt ran past.
    pub limit: Duration,
}

impl fmt::Display for AttemptTimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "attempt timed out after {:?}", self.limit)
    }
}

impl std::error::Error for AttemptTimedOut {}

/// How one attempt failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure<E> {
    /// The operation returned this error, which the caller classified as `class`.
    Error {
        /// The operation's own error, untouched.
        error: E,
        /// What the caller's classifier said about it.
        class: ErrorClass,
    },
    /// The attempt did not finish within its limit; its future was dropped.
    TimedOut(AttemptTimedOut),
}

/// How a run's last attempt failed: [`RetryError::into_last`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LastFailure<E> {
    /// The operation's own error.
    Error(E),
    /// The last attempt ran past its limit.
    TimedOut(AttemptTimedOut),
    /// No attempt was made (a key held by a refused Retry-After, a deadline already
    /// passed, a budget refusing): the report says why.
    NotAttempted(Report),
}

/// One failed attempt: which, when, and why. Nothing is summarised away.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause<E> {
    /// The 1-based attempt number.
    pub attempt: u32,
    /// When the attempt ended, on [`crate::clock`].
    pub at: Instant,
    /// What went wrong.
    pub failure: Failure<E>,
}

impl<E> Cause<E> {
    /// The operation's error, unless the attempt timed out.
    #[must_use]
    pub fn error(&self) -> Option<&E> {
        match &self.failure {
            Failure::Error { error, .. } => Some(error),
            Failure::TimedOut(_) => None,
        }
    }

    /// The operation's error by value, unless the attempt timed out.
    #[must_use]
    pub fn into_error(self) -> Option<E> {
        match self.failure {
            Failure::Error { error, .. } => Some(error),
            Failure::TimedOut(_) => None,
        }
    }

    /// Whether the attempt ran past its time limit.
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        matches!(self.failure, Failure::TimedOut(_))
    }

    /// The failure as an error trait object: the operation's error, or [`AttemptTimedOut`].
    #[must_use]
    pub fn as_dyn_error(&self) -> &(dyn std::error::Error + 'static)
    where
        E: std::error::Error + 'static,
    {
        match &self.failure {
            Failure::Error { error, .. } => error,
            Failure::TimedOut(t) => t,
        }
    }
}

impl<E: fmt::Display> fmt::Display for Cause<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.failure {
            Failure::Error { error, class } => {
                write!(f, "attempt {} failed ({class}): {error}", self.attempt)
            }
            Failure::TimedOut(t) => write!(f, "attempt {}: {t}", self.attempt),
        }
    }
}

/// A run that gave up: the cause of every failed attempt, in order, and the
/// machine's [`Report`] saying why it stopped.
///
/// No error is ever silently discarded: each error the operation returned is in
/// [`causes`](Self::causes), next to the attempts that timed out. The list may
/// be empty when the machine gave up before the first attempt (for example a
/// shared Retry-After deadline beyond the hint cap). [`source`](std::error::Error::source)
/// is the last cause, so error reporters print the chain down to it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// use std::time::Duration;
/// use relent::backoff::BackoffBuilder;
/// use relent::retry::{GiveUpReason, RetryPolicy};
/// use relent_tokio::Retrier;
///
/// let policy = RetryPolicy::default()
///     .with_backoff(BackoffBuilder::constant(Duration::from_millis(100)).build().unwrap())
///     .with_max_attempts(3);
/// let err = Retrier::new(policy)
///     .run(|| async { Err::<(), _>(std::io::Error::other("refused")) })
///     .await
///     .unwrap_err();
/// assert_eq!(err.reason(), GiveUpReason::MaxAttempts);
/// assert_eq!(err.causes().len(), 3);
/// assert_eq!(
///     err.to_string(),
///     "gave up after 3 attempts in 200ms (200ms waiting): maximum attempts reached"
/// );
/// assert_eq!(std::error::Error::source(&err).unwrap().to_string(), "refused");
/// # }
/// ```
///
/// The error is one pointer wide (its contents are boxed when a run gives up),
/// so `Result<T, RetryError<E>>` costs a successful run no more than `T` does.
#[derive(Clone, PartialEq, Eq)]
pub struct RetryError<E> {
    inner: Box<Inner<E>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Inner<E> {
    causes: Vec<Cause<E>>,
    report: Report,
}

impl<E: fmt::Debug> fmt::Debug for RetryError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryError")
            .field("causes", &self.inner.causes)
            .field("report", &self.inner.report)
            .finish()
    }
}

impl<E> RetryError<E> {
    pub(crate) fn new(causes: Vec<Cause<E>>, report: Report) -> Self {
        RetryError {
            inner: Box::new(Inner { causes, report }),
        }
    }

    /// The machine's report: reason, attempts, time waited and elapsed.
    #[must_use]
    pub fn report(&self) -> &Report {
        &self.inner.report
    }

    /// Why the run stopped.
    #[must_use]
    pub fn reason(&self) -> GiveUpReason {
        self.inner.report.reason
    }

    /// Attempts made.
    #[must_use]
    pub fn attempts(&self) -> u32 {
        self.inner.report.attempts
    }

    /// Every failed attempt, in order.
    #[must_use]
    pub fn causes(&self) -> &[Cause<E>] {
        &self.inner.causes
    }

    /// The last failed attempt, if any attempt was made.
    #[must_use]
    pub fn last_cause(&self) -> Option<&Cause<E>> {
        self.inner.causes.last()
    }

    /// The last error the operation returned (skipping attempts that timed out).
    #[must_use]
    pub fn last_error(&self) -> Option<&E> {
        self.inner.causes.iter().rev().find_map(Cause::error)
    }

    /// The last error by value (skipping attempts that timed out), for `?` into the caller's error type.
    #[must_use]
    pub fn into_last_error(self) -> Option<E> {
        self.inner
            .causes
            .into_iter()
            .rev()
            .find_map(Cause::into_error)
    }

    /// How the last attempt failed, by value: its error, its timeout, or (when no attempt
    /// was made) the report saying why. No `Option` to unwrap:
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// use relent_tokio::{LastFailure, Retrier, RetryPolicy};
    ///
    /// let err = Retrier::new(RetryPolicy::default().with_max_attempts(1))
    ///     .run(|| async { Err::<(), _>(std::io::Error::other("refused")) })
    ///     .await
    ///     .unwrap_err();
    /// let io: std::io::Error = match err.into_last() {
    ///     LastFailure::Error(e) => e,
    ///     LastFailure::TimedOut(t) => std::io::Error::new(std::io::ErrorKind::TimedOut, t),
    ///     LastFailure::NotAttempted(report) => std::io::Error::other(report.to_string()),
    /// };
    /// assert_eq!(io.to_string(), "refused");
    /// # }
    /// ```
    #[must_use]
    pub fn into_last(self) -> LastFailure<E> {
        let Inner { causes, report } = *self.inner;
        match causes.into_iter().next_back() {
            Some(Cause {
                failure: Failure::Error { error, .. },
                ..
            }) => LastFailure::Error(error),
            Some(Cause {
                failure: Failure::TimedOut(t),
                ..
            }) => LastFailure::TimedOut(t),
            None => LastFailure::NotAttempted(report),
        }
    }

    /// The causes and the report.
    #[must_use]
    pub fn into_parts(self) -> (Vec<Cause<E>>, Report) {
        (self.inner.causes, self.inner.report)
    }
}

impl<E> fmt::Display for RetryError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.inner.report;
        let plural = if r.attempts == 1 { "" } else { "s" };
        write!(
            f,
            "gave up after {} attempt{plural} in {:?} ({:?} waiting): {}",
            r.attempts, r.elapsed, r.waited, r.reason
        )
    }
}

impl<E: std::error::Error + 'static> std::error::Error for RetryError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.causes.last().map(Cause::as_dyn_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    /// A report only the core can write: `attempts` failures (the first at 0, then one
    /// every 5 ms of backoff), and the 9 ms deadline passing at 9 ms.
    fn report(attempts: u32) -> Report {
        use relent::backoff::BackoffBuilder;
        use relent::retry::{Action, Outcome, Retry, RetryPolicy};
        let policy = RetryPolicy::default()
            .with_backoff(
                BackoffBuilder::constant(Duration::from_millis(5))
                    .build()
                    .unwrap(),
            )
            .with_deadline(Some(Duration::from_millis(9)));
        let mut op = Retry::new(&policy, 1, Instant::ZERO);
        let mut now = Instant::ZERO;
        for n in 0..attempts {
            assert!(matches!(op.poll(now), Action::Send { .. }));
            if n + 1 == attempts {
                now = Instant::from_millis(9);
            }
            op.handle_outcome(now, Outcome::transient());
            if let Action::Wait { until, .. } = op.poll(now) {
                now = until;
            }
        }
        match op.poll(Instant::from_millis(9)) {
            Action::GiveUp(report) => report,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn accessors_and_source() {
        let e = RetryError::new(
            vec![
                Cause {
                    attempt: 1,
                    at: Instant::from_millis(1),
                    failure: Failure::Error {
                        error: std::io::Error::other("first"),
                        class: ErrorClass::Transient,
                    },
                },
                Cause {
                    attempt: 2,
                    at: Instant::from_millis(9),
                    failure: Failure::TimedOut(AttemptTimedOut {
                        limit: Duration::from_millis(3),
                    }),
                },
            ],
            report(2),
        );
        assert_eq!(
            e.to_string(),
            "gave up after 2 attempts in 9ms (5ms waiting): \
             the overall deadline has passed"
        );
        assert_eq!(
            e.source().map(|s| s.to_string()).as_deref(),
            Some("attempt timed out after 3ms")
        );
        assert_eq!(
            e.last_error().map(|x| x.to_string()).as_deref(),
            Some("first")
        );
        assert_eq!(
            e.causes()[0].to_string(),
            "attempt 1 failed (transient): first"
        );
        assert_eq!(
            e.causes()[1].to_string(),
            "attempt 2: attempt timed out after 3ms"
        );
        assert!(e.causes()[1].is_timeout());
        assert_eq!(e.attempts(), 2);
        assert_eq!(
            e.into_last_error().map(|x| x.to_string()).as_deref(),
            Some("first")
        );
    }

    #[test]
    fn no_attempt_no_source() {
        let e: RetryError<std::io::Error> = RetryError::new(Vec::new(), report(0));
        assert!(e.source().is_none());
        assert!(e.to_string().starts_with("gave up after 0 attempts"));
        assert!(e.last_cause().is_none());
    }
}
