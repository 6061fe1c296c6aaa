//! What a failed run hands back, in every relent adapter: every attempt's cause, the
//! run's history and the machine's report.

use core::fmt;
use core::ops::Deref;
use core::time::Duration;
use std::error::Error as StdError;

use relent::Instant;
use relent::retry::{GiveUpReason, Report, Seen, TransportError};

use crate::ErrorClass;
use crate::history::AttemptHistory;

/// A boxed error, as the HTTP adapters receive them from the transports below.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Any error, boxed: the per-attempt error of the HTTP adapters, whose transports fail
/// with many types (relent-reqwest: `RetryError<AnyError>`, relent-tower likewise).
///
/// Transparent: it displays as the error it holds and has that error's source, and it
/// derefs to it, so `downcast_ref` and `source` work as on the boxed error itself.
pub struct AnyError(pub BoxError);

impl AnyError {
    /// The boxed error.
    #[must_use]
    pub fn into_inner(self) -> BoxError {
        self.0
    }
}

impl From<BoxError> for AnyError {
    fn from(error: BoxError) -> Self {
        AnyError(error)
    }
}

impl Deref for AnyError {
    type Target = dyn StdError + Send + Sync + 'static;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl fmt::Debug for AnyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for AnyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl StdError for AnyError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

/// An attempt ran past its time limit and was dropped.
///
/// The limit is `min(per-try timeout, time left before the overall deadline)`,
/// as the machine resolved it for that attempt (relent-reqwest: also the caller's own
/// request or client timeout, if tighter). The same type in every adapter.
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

    /// Whether the attempt ran past its time limit: abandoned by the driver
    /// ([`Failure::TimedOut`]), or an error classed
    /// [`ErrorClass::Transport`]`(`[`TransportError::TimedOut`]`)`, as relent-reqwest's
    /// attempts are when reqwest enforces the limit itself.
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        matches!(
            self.failure,
            Failure::TimedOut(_)
                | Failure::Error {
                    class: ErrorClass::Transport(TransportError::TimedOut),
                    ..
                }
        )
    }

    /// The failure as an error trait object: the operation's error (the error an
    /// [`AnyError`] holds, so `downcast_ref` finds e.g. a `reqwest::Error`), or
    /// [`AttemptTimedOut`].
    #[must_use]
    pub fn as_dyn_error(&self) -> &(dyn std::error::Error + 'static)
    where
        E: std::error::Error + 'static,
    {
        match &self.failure {
            Failure::Error { error, .. } => look_through(error),
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

/// A run that gave up: the cause of every failed attempt, in order, the run's
/// [`AttemptHistory`], and the machine's [`Report`] saying why it stopped.
///
/// The one error type of every relent adapter: relent-tokio's runs return
/// `RetryError<E>` with the operation's own error type; relent-reqwest and relent-tower
/// return `RetryError<AnyError>` (their `RetryError` is this type).
///
/// No error is ever silently discarded: each error the operation returned is in
/// [`causes`](Self::causes), next to the attempts that timed out. The list may
/// be empty when the machine gave up before the first attempt (for example a
/// shared Retry-After deadline beyond the hint cap). [`source`](std::error::Error::source)
/// is the last cause, so error reporters print the chain down to it.
///
/// Its `Display` is the machine's report, prefixed with `request to KEY: ` when the run
/// has a key (an HTTP request's origin).
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
///     "gave up after 3 attempts (last: a transient failure), 200ms waited, 200ms elapsed: \
///      maximum attempts reached"
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

#[derive(Clone)]
struct Inner<E> {
    causes: Vec<Cause<E>>,
    history: AttemptHistory,
    report: Report,
    /// How to read an error as `std::error::Error`, when the adapter knows it is one:
    /// `Display` then names the root cause of an unnamed transport failure.
    chain: Option<fn(&E) -> &(dyn StdError + 'static)>,
}

/// Equal when what happened is equal (how `Display` reads the errors is not compared).
impl<E: PartialEq> PartialEq for Inner<E> {
    fn eq(&self, other: &Self) -> bool {
        self.causes == other.causes && self.history == other.history && self.report == other.report
    }
}

impl<E: Eq> Eq for Inner<E> {}

impl<E: fmt::Debug> fmt::Debug for RetryError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryError")
            .field("causes", &self.inner.causes)
            .field("history", &self.inner.history)
            .field("report", &self.inner.report)
            .finish()
    }
}

impl<E> RetryError<E> {
    /// The error of a run that gave up, for the adapters that drive one: its causes, in
    /// order, its history, and the report the machine gave up with (only the core writes
    /// a [`Report`], so only a run can make one of these).
    #[must_use]
    #[doc(hidden)]
    pub fn new(causes: Vec<Cause<E>>, history: AttemptHistory, report: Report) -> Self {
        RetryError {
            inner: Box::new(Inner {
                causes,
                history,
                report,
                chain: None,
            }),
        }
    }

    /// Let `Display` follow the last error's source chain (see [`RetryError`]'s `Display`):
    /// for error types that are `std::error::Error`s.
    #[must_use]
    #[doc(hidden)]
    pub fn with_error_chain(mut self) -> Self
    where
        E: StdError + 'static,
    {
        self.inner.chain = Some(|e| e);
        self
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
        let Inner { causes, report, .. } = *self.inner;
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

    /// Every attempt and wait of the run, and the report.
    #[must_use]
    pub fn history(&self) -> &AttemptHistory {
        &self.inner.history
    }

    /// The history, by value.
    #[must_use]
    pub fn into_history(self) -> AttemptHistory {
        self.inner.history
    }

    /// The run's key: an HTTP request's Retry-After table key (its origin); empty for a
    /// relent-tokio run.
    #[must_use]
    pub fn key(&self) -> &str {
        self.inner.history.key()
    }

    /// How the last attempt failed below the application, if it did: a transport
    /// failure as the adapter classified it, or [`TransportError::TimedOut`] for an
    /// attempt that ran past its limit.
    #[must_use]
    pub fn transport_error(&self) -> Option<TransportError> {
        match self.inner.report.last.and_then(|last| last.seen()) {
            Some(Seen::Transport(e)) => Some(e),
            _ => None,
        }
    }

    /// Whether the last attempt timed out (as the report shows it: the driver's limit,
    /// or an error the adapter or the caller's classifier read as
    /// [`TransportError::TimedOut`]).
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        self.transport_error() == Some(TransportError::TimedOut)
    }

    /// Whether the last attempt could not connect, as the adapter (or, in relent-tokio,
    /// the caller's classifier: [`ErrorClass::Transport`]`(`[`TransportError::ConnectFailed`]`)`)
    /// read its error.
    #[must_use]
    pub fn is_connect(&self) -> bool {
        self.transport_error() == Some(TransportError::ConnectFailed)
    }
}

impl<E: StdError + 'static> RetryError<E> {
    /// The first error of type `T` in the last cause's source chain, the cause itself
    /// included (an [`AnyError`] is looked through): `err.find::<reqwest::Error>()`,
    /// `err.find::<std::io::Error>()`.
    #[must_use]
    pub fn find<T: StdError + 'static>(&self) -> Option<&T> {
        let mut next = self.last_error_chain();
        while let Some(e) = next {
            if let Some(found) = e.downcast_ref::<T>() {
                return Some(found);
            }
            next = e.source();
        }
        None
    }

    /// The `std::io::Error` below the last attempt's failure, if there is one in the
    /// source chain (a reset, a refused connection): its `kind()` says which.
    #[must_use]
    pub fn io_error(&self) -> Option<&std::io::Error> {
        self.find::<std::io::Error>()
    }

    /// The innermost error of the last cause's source chain: the one that says what
    /// really happened (`message head is too large`, `invalid HTTP status-code parsed`,
    /// a reset), where the outer layers only say where (`error sending request for url
    /// (…)`). No hand-written downcast chain needed.
    #[must_use]
    pub fn root_cause(&self) -> Option<&(dyn StdError + 'static)> {
        root_of(self.last_error_chain()?)
    }

    /// The last cause as the start of a source chain (the error an [`AnyError`] holds).
    fn last_error_chain(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .causes
            .last()
            .map(|cause| look_through(cause.as_dyn_error()))
    }
}

/// The error an [`AnyError`] holds, or the error itself.
pub(crate) fn look_through<'e>(e: &'e (dyn StdError + 'static)) -> &'e (dyn StdError + 'static) {
    match e.downcast_ref::<AnyError>() {
        Some(any) => &*any.0,
        None => e,
    }
}

/// The innermost error of `e`'s source chain.
fn root_of<'e>(mut e: &'e (dyn StdError + 'static)) -> Option<&'e (dyn StdError + 'static)> {
    while let Some(next) = e.source() {
        e = next;
    }
    Some(e)
}

impl<E> fmt::Display for RetryError<E> {
    /// `[request to KEY: ]REPORT`, plus what the report alone cannot say:
    ///
    /// - for [`GiveUpReason::HintTooLong`] in a keyed run whose last attempt saw no
    ///   response of its own, where the hint came from: an earlier response recorded it
    ///   for the key in the shared Retry-After table;
    /// - for a last attempt that failed with [`TransportError::Other`], whose name says
    ///   nothing about the cause, the innermost error of its source chain (when the
    ///   adapter built the error [`with_error_chain`](Self::with_error_chain)).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        let key = inner.history.key();
        if !key.is_empty() {
            write!(f, "request to {key}: ")?;
        }
        fmt::Display::fmt(&inner.report, f)?;
        let own_response = matches!(
            inner.report.last.and_then(|last| last.seen()),
            Some(Seen::Status(_))
        );
        if !key.is_empty()
            && matches!(inner.report.reason, GiveUpReason::HintTooLong { .. })
            && !own_response
        {
            f.write_str(
                " (the wait is a Retry-After, or another server hint, that an earlier \
                 response recorded for this key and that is still in force)",
            )?;
        }
        // An unnamed transport failure, or an operation that could not even start (a
        // request that could not be built): the error says what the report cannot.
        if self.transport_error() == Some(TransportError::Other)
            || (inner.report.attempts == 0 && !inner.causes.is_empty())
        {
            let root = match (inner.chain, inner.causes.last()) {
                (
                    Some(chain),
                    Some(Cause {
                        failure: Failure::Error { error, .. },
                        ..
                    }),
                ) => root_of(look_through(chain(error))),
                _ => None,
            };
            if let Some(cause) = root {
                write!(f, " (last error: {cause})")?;
            }
        }
        Ok(())
    }
}

impl<E: StdError + 'static> StdError for RetryError<E> {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner.causes.last().map(Cause::as_dyn_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl<E> RetryError<E> {
        fn new_for_test(causes: Vec<Cause<E>>, report: Report) -> Self {
            RetryError::new(causes, AttemptHistory::new(String::new()), report)
        }
    }

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
        let e = RetryError::new_for_test(
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
            // One format for every adapter since the error type is shared: the core's
            // report (was "gave up after 2 attempts in 9ms (5ms waiting): ...").
            "gave up after 2 attempts (last: a transient failure), 5ms waited, 9ms elapsed: \
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
        let e: RetryError<std::io::Error> = RetryError::new_for_test(Vec::new(), report(0));
        assert!(e.source().is_none());
        assert!(e.to_string().starts_with("gave up after 0 attempts"));
        assert!(e.last_cause().is_none());
    }
}
