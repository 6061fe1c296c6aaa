//! Errors: what failed, in the core's terms, with the whole history attached.

use std::error::Error as StdError;
use std::io;

use relent::retry::TransportError;
pub use relent_tokio::{AnyError, AttemptTimedOut, BoxError};
use relent_tokio::{Cause, ErrorClass};

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
/// let timed_out = AttemptTimedOut { limit: std::time::Duration::from_secs(1) };
/// assert_eq!(classify_error(&timed_out), TransportError::TimedOut);
/// ```
#[must_use]
pub fn classify_error(error: &(dyn StdError + 'static)) -> TransportError {
    let mut connect = false;
    let mut timed_out = false;
    let mut reset = false;
    let mut next: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = next {
        // relent's own wrapper (a `RetryError`'s cause) shows the error it holds.
        if let Some(any) = e.downcast_ref::<AnyError>() {
            next = Some(&*any.0);
            continue;
        }
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

/// One attempt's failure: its classification and the error itself.
pub(crate) struct SendFailure {
    pub(crate) kind: TransportError,
    pub(crate) error: AnyError,
}

impl SendFailure {
    pub(crate) fn new(error: BoxError) -> Self {
        let kind = classify_error(error.as_ref());
        SendFailure {
            kind,
            error: AnyError(error),
        }
    }

    pub(crate) fn from_reqwest(error: reqwest::Error) -> Self {
        SendFailure::new(Box::new(error))
    }

    pub(crate) fn from_middleware(error: reqwest_middleware::Error) -> Self {
        match error {
            reqwest_middleware::Error::Reqwest(e) => SendFailure::from_reqwest(e),
            reqwest_middleware::Error::Middleware(e) => {
                // Classify the error anyhow wraps (its `Deref` is the original error),
                // so a reqwest or io error inside is still recognised.
                let kind = classify_error(&*e);
                SendFailure {
                    kind,
                    error: AnyError(e.into()),
                }
            }
        }
    }

    /// The request's body is a stream that was already sent.
    pub(crate) fn body_not_replayable() -> Self {
        SendFailure {
            kind: TransportError::BodyNotReplayable,
            error: AnyError("the request body is a stream that was already sent".into()),
        }
    }

    /// How the adapter classes it: a transport failure of its kind (a timeout among
    /// them, so [`Cause::is_timeout`] answers for it).
    pub(crate) fn class(&self) -> ErrorClass {
        ErrorClass::Transport(self.kind)
    }

    /// The failure as the cause of attempt `attempt`, which ended at `at`, as the
    /// driver's history keeps every failed attempt.
    pub(crate) fn into_cause(self, attempt: u32, at: relent::Instant) -> Cause<AnyError> {
        Cause {
            attempt,
            at,
            failure: relent_tokio::Failure::Error {
                class: self.class(),
                error: self.error,
            },
        }
    }
}

/// The retry layer gave up without a response to return: the last attempt
/// failed below HTTP, or no attempt could be made (a deadline, a Retry-After
/// beyond the limits, a request that could not be built).
///
/// The error type every relent adapter shares, [`relent_tokio::RetryError`], over
/// [`AnyError`]: the [`Report`](relent::retry::Report) (why it gave up, attempts, time
/// waited), the full [`AttemptHistory`](crate::AttemptHistory) (`history()`), every
/// transport failure (`causes()`), and the last one as its
/// [`source`](StdError::source). `find::<reqwest::Error>()`, `io_error()` and
/// `root_cause()` search that source chain. Behind reqwest-middleware it arrives as
/// `reqwest_middleware::Error::Middleware`; get it back with
/// `anyhow_error.downcast_ref::<RetryError>()`.
///
/// When retries run out on a *status* (a 503 after the last attempt), there
/// is no error: the last response is returned, as reqwest-retry does, with
/// the history in its extensions.
pub type RetryError = relent_tokio::RetryError<AnyError>;

#[cfg(test)]
mod tests {
    use super::*;
    use relent::retry::{GiveUpReason, Report, Seen};
    use relent_tokio::AttemptHistory;
    use std::fmt;
    use std::time::Duration;

    /// The error of a run keyed `key` that gave up with `report`, its last attempt
    /// failing with `last`, as the driver builds it.
    fn give_up(report: Report, key: &str, last: Option<BoxError>) -> RetryError {
        let causes = last
            .map(|e| vec![SendFailure::new(e).into_cause(report.attempts, relent::Instant::ZERO)])
            .unwrap_or_default();
        RetryError::new(causes, AttemptHistory::new(key.into()), report).with_error_chain()
    }

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
        let err = give_up(
            failed_report(3, TransportError::Other),
            "http://a.example:80",
            Some(deep),
        );
        assert_eq!(
            err.to_string(),
            "request to http://a.example:80: gave up after 3 attempts (last: transport error), \
             2ms waited, 3ms elapsed: maximum attempts reached \
             (last error: invalid HTTP status-code parsed)"
        );
        // A kind that names itself gets no addition.
        let timed_out = give_up(
            failed_report(1, TransportError::TimedOut),
            "k",
            Some(Box::new(AttemptTimedOut {
                limit: Duration::from_millis(5),
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
        let err = give_up(report, "k", None);
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
