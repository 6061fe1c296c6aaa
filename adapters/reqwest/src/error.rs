//! Errors: what failed, in the core's terms, with the whole history attached.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::time::Duration;

use relent::retry::{GiveUpReason, Report, Seen, TransportError};

use crate::history::AttemptHistory;

/// A boxed error, as the retry layer keeps the last attempt's failure.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Where a failed attempt failed, in the terms that decide whether a retry is safe.
///
/// reqwest's flags and the error's source chain are read in this order:
///
/// 1. [`reqwest::Error::is_connect`] → [`TransportError::ConnectFailed`]: the
///    connection was never made, so the request never left (a connect *timeout*
///    is a connect failure too).
/// 2. [`reqwest::Error::is_timeout`], or relent's own [`AttemptTimedOut`] →
///    [`TransportError::TimedOut`].
/// 3. An [`io::Error`] of kind `ConnectionReset`, `ConnectionAborted`,
///    `BrokenPipe` or `UnexpectedEof`, or hyper's "connection closed before
///    a complete message" / "canceled" → [`TransportError::ResetAfterSend`]:
///    the connection broke after the request (possibly) went out.
/// 4. Anything else → [`TransportError::Other`].
///
/// Only 1 lets a non-idempotent request be retried under the standard rules.
///
/// ```
/// use relent::retry::TransportError;
/// use relent_reqwest::{classify_error, AttemptTimedOut};
///
/// let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
/// assert_eq!(classify_error(&reset), TransportError::ResetAfterSend);
/// let timed_out = AttemptTimedOut { after: std::time::Duration::from_secs(1) };
/// assert_eq!(classify_error(&timed_out), TransportError::TimedOut);
/// ```
#[must_use]
pub fn classify_error(error: &(dyn StdError + 'static)) -> TransportError {
    let mut connect = false;
    let mut timed_out = false;
    let mut reset = false;
    let mut next: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = next {
        if let Some(r) = e.downcast_ref::<reqwest::Error>() {
            connect |= r.is_connect();
            timed_out |= r.is_timeout();
        } else if e.downcast_ref::<AttemptTimedOut>().is_some() {
            timed_out = true;
        } else if let Some(io) = e.downcast_ref::<io::Error>() {
            reset |= matches!(
                io.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::UnexpectedEof
            );
            timed_out |= io.kind() == io::ErrorKind::TimedOut;
        } else if let Some(h) = e.downcast_ref::<hyper::Error>() {
            reset |= h.is_incomplete_message() || h.is_canceled();
            timed_out |= h.is_timeout();
        }
        next = e.source();
    }
    if connect {
        TransportError::ConnectFailed
    } else if timed_out {
        TransportError::TimedOut
    } else if reset {
        TransportError::ResetAfterSend
    } else {
        TransportError::Other
    }
}

/// relent's own per-attempt timer fired: the attempt took longer than
/// `min(per-try timeout, time left before the deadline)`.
///
/// The same limit is also set as the request's reqwest timeout (so it keeps
/// bounding the response body once you read it); this error appears when
/// relent's timer fires first, for example because a middleware below the
/// retry layer held the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttemptTimedOut {
    /// The limit the attempt ran under.
    pub after: Duration,
}

impl fmt::Display for AttemptTimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "attempt timed out after {:?}", self.after)
    }
}

impl StdError for AttemptTimedOut {}

/// One attempt's failure: its classification and the error itself.
pub(crate) struct Failure {
    pub(crate) kind: TransportError,
    pub(crate) error: BoxError,
}

impl Failure {
    pub(crate) fn new(error: BoxError) -> Self {
        let kind = classify_error(error.as_ref());
        Failure { kind, error }
    }

    pub(crate) fn from_reqwest(error: reqwest::Error) -> Self {
        Failure::new(Box::new(error))
    }

    pub(crate) fn from_middleware(error: reqwest_middleware::Error) -> Self {
        match error {
            reqwest_middleware::Error::Reqwest(e) => Failure::from_reqwest(e),
            reqwest_middleware::Error::Middleware(e) => {
                // Classify the error anyhow wraps (its `Deref` is the original error),
                // so a reqwest or io error inside is still recognised.
                let kind = classify_error(&*e);
                Failure {
                    kind,
                    error: e.into(),
                }
            }
        }
    }

    /// The request's body is a stream that was already sent.
    pub(crate) fn body_not_replayable() -> Self {
        Failure {
            kind: TransportError::BodyNotReplayable,
            error: "the request body is a stream that was already sent".into(),
        }
    }

    pub(crate) fn timed_out(after: Duration) -> Self {
        Failure {
            kind: TransportError::TimedOut,
            error: Box::new(AttemptTimedOut { after }),
        }
    }
}

/// The retry layer gave up without a response to return: the last attempt
/// failed below HTTP, or no attempt could be made (a deadline, a Retry-After
/// beyond the limits, a request that could not be built).
///
/// Carries the [`Report`] (why it gave up, attempts, time waited), the full
/// [`AttemptHistory`], and the last attempt's error as its
/// [`source`](StdError::source). Behind reqwest-middleware it arrives as
/// `reqwest_middleware::Error::Middleware`; get it back with
/// `anyhow_error.downcast_ref::<RetryError>()`.
///
/// When retries run out on a *status* (a 503 after the last attempt), there
/// is no error: the last response is returned, as reqwest-retry does, with
/// the history in its extensions.
#[derive(Debug)]
pub struct RetryError {
    report: Report,
    history: AttemptHistory,
    source: Option<BoxError>,
}

impl RetryError {
    pub(crate) fn new(report: Report, history: AttemptHistory, source: Option<BoxError>) -> Self {
        RetryError {
            report,
            history,
            source,
        }
    }

    /// Why the retry layer gave up, how many attempts it made and how long it waited.
    #[must_use]
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// The reason alone.
    #[must_use]
    pub fn reason(&self) -> GiveUpReason {
        self.report.reason
    }

    /// Every attempt and wait.
    #[must_use]
    pub fn history(&self) -> &AttemptHistory {
        &self.history
    }

    /// The history, by value.
    #[must_use]
    pub fn into_history(self) -> AttemptHistory {
        self.history
    }

    /// How the last attempt failed below HTTP, if it did.
    #[must_use]
    pub fn transport_error(&self) -> Option<TransportError> {
        match self.report.last.and_then(|last| last.seen()) {
            Some(Seen::Transport(e)) => Some(e),
            _ => None,
        }
    }

    /// The last attempt's reqwest error, if there is one in the source chain.
    #[must_use]
    pub fn reqwest_error(&self) -> Option<&reqwest::Error> {
        let mut next: Option<&(dyn StdError + 'static)> = self.source();
        while let Some(e) = next {
            if let Some(r) = e.downcast_ref::<reqwest::Error>() {
                return Some(r);
            }
            next = e.source();
        }
        None
    }

    /// The `std::io::Error` below the last attempt's failure, if there is one in the
    /// source chain (a reset, a refused connection): its `kind()` says which.
    #[must_use]
    pub fn io_error(&self) -> Option<&std::io::Error> {
        let mut next: Option<&(dyn StdError + 'static)> = self.source();
        while let Some(e) = next {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                return Some(io);
            }
            next = e.source();
        }
        None
    }

    /// Whether the last attempt timed out.
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        self.transport_error() == Some(TransportError::TimedOut)
    }

    /// Whether the last attempt could not connect.
    #[must_use]
    pub fn is_connect(&self) -> bool {
        self.transport_error() == Some(TransportError::ConnectFailed)
    }
}

impl RetryError {
    /// The innermost error of the source chain: the one that says what really happened
    /// (`message head is too large`, `invalid HTTP status-code parsed`, a reset), where
    /// the outer layers only say where (`error sending request for url (…)`). No
    /// hand-written downcast chain needed.
    #[must_use]
    pub fn root_cause(&self) -> Option<&(dyn StdError + 'static)> {
        let mut cause = self.source()?;
        while let Some(next) = cause.source() {
            cause = next;
        }
        Some(cause)
    }
}

impl fmt::Display for RetryError {
    /// `request to KEY: REPORT`, plus what the report alone cannot say:
    ///
    /// - for a last attempt that failed with [`TransportError::Other`], whose name says
    ///   nothing about the cause, the innermost error of the source chain;
    /// - for [`GiveUpReason::HintTooLong`], where the hint came from: a `RetryError`
    ///   never carries a response, so the hint is not this request's own but one an
    ///   earlier response recorded for the key in the shared Retry-After table.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request to {}: {}", self.history.key(), self.report)?;
        let own_response = matches!(
            self.report.last.and_then(|last| last.seen()),
            Some(Seen::Status(_))
        );
        if matches!(self.report.reason, GiveUpReason::HintTooLong { .. }) && !own_response {
            f.write_str(
                " (the wait is a Retry-After, or another server hint, that an earlier \
                 response recorded for this key and that is still in force)",
            )?;
        }
        if self.transport_error() == Some(TransportError::Other) {
            if let Some(cause) = self.root_cause() {
                write!(f, " (last error: {cause})")?;
            }
        }
        Ok(())
    }
}

impl StdError for RetryError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error that wraps another, as layers of middleware do.
    #[derive(Debug)]
    struct Wrapped(BoxError);

    impl fmt::Display for Wrapped {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("wrapped")
        }
    }

    impl StdError for Wrapped {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(self.0.as_ref())
        }
    }

    #[test]
    fn the_source_chain_is_searched() {
        let deep = Wrapped(Box::new(Wrapped(Box::new(io::Error::from(
            io::ErrorKind::BrokenPipe,
        )))));
        assert_eq!(classify_error(&deep), TransportError::ResetAfterSend);
        let timed = Wrapped(Box::new(io::Error::from(io::ErrorKind::TimedOut)));
        assert_eq!(classify_error(&timed), TransportError::TimedOut);
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        // Without reqwest's connect flag a bare refusal is not known to be pre-send.
        assert_eq!(classify_error(&refused), TransportError::Other);
    }

    /// The core's report of `attempts` attempts (1 ms apart) that all failed with `failure`,
    /// the last ending at 3 ms: only the machine writes reports.
    fn failed_report(attempts: u32, failure: TransportError) -> Report {
        use relent::backoff::BackoffBuilder;
        use relent::retry::{Action, Outcome, Retry, RetryKind, RetryPolicy};
        let policy = RetryPolicy::default()
            .with_max_attempts(attempts)
            .with_backoff(
                BackoffBuilder::constant(Duration::from_millis(1))
                    .build()
                    .unwrap(),
            );
        let mut op = Retry::new(&policy, 1, relent::Instant::ZERO);
        let mut now = relent::Instant::ZERO;
        loop {
            match op.poll(now) {
                Action::Send { attempt, .. } => {
                    if attempt == attempts {
                        now = relent::Instant::from_millis(3);
                    }
                    op.handle_outcome(
                        now,
                        Outcome::Retryable {
                            kind: RetryKind::Transient,
                            hint: None,
                            seen: Seen::Transport(failure),
                        },
                    );
                }
                Action::Wait { until, .. } => now = until,
                Action::GiveUp(report) => return report,
                Action::Done { .. } => panic!("every attempt fails"),
            }
        }
    }

    #[test]
    fn display_names_the_root_cause_of_an_unnamed_transport_error() {
        let deep: BoxError = Box::new(Wrapped(Box::new(io::Error::other(
            "invalid HTTP status-code parsed",
        ))));
        let err = RetryError::new(
            failed_report(3, TransportError::Other),
            AttemptHistory::new("http://a.example:80".into()),
            Some(deep),
        );
        assert_eq!(
            err.to_string(),
            "request to http://a.example:80: gave up after 3 attempts (last: transport error), \
             2ms waited, 3ms elapsed: maximum attempts reached \
             (last error: invalid HTTP status-code parsed)"
        );
        // A kind that names itself gets no addition.
        let timed_out = RetryError::new(
            failed_report(1, TransportError::TimedOut),
            AttemptHistory::new("k".into()),
            Some(Box::new(AttemptTimedOut {
                after: Duration::from_millis(5),
            })),
        );
        assert!(!timed_out.to_string().contains("last error"), "{timed_out}");
    }

    #[test]
    fn display_says_a_hint_too_long_came_from_the_table() {
        let hint_too_long = GiveUpReason::HintTooLong {
            hint: Duration::from_secs(300),
            limit: Duration::from_secs(2),
            kind: relent::hint::ExcessKind::Deadline,
        };
        // A key held for 300 s by an earlier response, and 2 s left to this request.
        let mut table = relent::DeadlineTable::new(4, 1).unwrap();
        let now = relent::Instant::ZERO;
        let _ = table.record("k", now + Duration::from_secs(300), now);
        let policy =
            relent::retry::RetryPolicy::default().with_deadline(Some(Duration::from_secs(2)));
        let mut op = relent::retry::Retry::new(&policy, 1, now).with_gate(table.gate("k"));
        let relent::retry::Action::GiveUp(report) = op.poll(now) else {
            panic!("the hold is beyond the deadline");
        };
        assert_eq!(report.reason, hint_too_long);
        let err = RetryError::new(report, AttemptHistory::new("k".into()), None);
        let text = err.to_string();
        assert!(
            text.ends_with(
                "beyond the time left before the deadline of 2.000s (the wait is a Retry-After, \
                 or another server hint, that an earlier response recorded for this key and \
                 that is still in force)"
            ),
            "{text}"
        );
    }
}
