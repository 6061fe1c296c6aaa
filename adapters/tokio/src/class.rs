//! What the caller's errors mean to the retry machine.
//!
//! A generic operation (a database call, a gRPC call, a Kubernetes request) fails with
//! its own error type, and only the caller knows what that error means. So the caller
//! classifies its error as an [`ErrorClass`], and the run reads that class *through the
//! policy's classifier* ([`relent::http::Classify::outcome`]), exactly as an HTTP adapter
//! reads a response, so a preset's rules hold here too:
//!
//! | [`ErrorClass`] | read by the policy as | with the standard rules |
//! |---|---|---|
//! | `Transient` | the caller's own verdict: retry, transient | backs off (budget: transient cost) |
//! | `Throttled { after }` | the caller's own verdict: retry, throttled, with `after` as the hint | waits the hint if the hint policy accepts it, else backs off or gives up |
//! | `Permanent` | the caller's own verdict: do not retry | gives up: [`GiveUpReason::NotRetryable`](relent::retry::GiveUpReason::NotRetryable) |
//! | `Transport(e)` | a transport failure, for the policy to judge | retried if the policy retries that failure (`kube_client` does not) |
//! | `Status(s)` | a response status, for the policy to judge | retried if `s` is in the policy's retryable set |
//! | (attempt timed out) | `Transport(TimedOut)` | retried as [`RetryKind::TimedOut`](relent::retry::RetryKind::TimedOut) if the policy retries timeouts |
//!
//! The operation is not an HTTP request, so it counts as idempotent: what may have reached
//! the other side is as safe to repeat as the class says. [`Report::last`](relent::retry::Report::last)
//! then says what happened (for example "a throttled failure"), and the real errors are
//! kept, every one, in [`RetryError`](crate::RetryError).

use core::time::Duration;

use relent::ServerHint;
use relent::http::Observed;
use relent::retry::{RetryKind, TransportError};

/// The caller's verdict on one failed attempt's error, read through the policy's classifier:
///
/// | [`ErrorClass`] | read by the policy as | with the standard rules |
/// |---|---|---|
/// | `Transient` | the caller's own verdict: retry, transient | backs off (budget: transient cost) |
/// | `Throttled { after }` | the caller's own verdict: retry, throttled, with `after` as the hint | waits the hint if the hint policy accepts it, else backs off or gives up |
/// | `Permanent` | the caller's own verdict: do not retry | gives up: [`GiveUpReason::NotRetryable`](relent::retry::GiveUpReason::NotRetryable) |
/// | `Transport(e)` | a transport failure, for the policy to judge | retried if the policy retries that failure (`kube_client` does not) |
/// | `Status(s)` | a response status, for the policy to judge | retried if `s` is in the policy's retryable set |
/// | (attempt timed out) | `Transport(TimedOut)` | retried as [`RetryKind::TimedOut`](relent::retry::RetryKind::TimedOut) if the policy retries timeouts |
///
/// kube-rs splits its errors the same way (kube-runtime `watcher` and kube-client
/// `client/retry.rs`): transient ones (network errors, timeouts, 429) are worth another
/// try, permanent ones (an invalid spec, a bad configuration, a 404) will fail the same
/// way again.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Something broke that may work next time (a reset connection, a 503, a
    /// deadlock victim): back off and try again.
    Transient,
    /// It will fail the same way again (bad input, not found, forbidden): stop now.
    Permanent,
    /// The other side asked us to slow down (429, gRPC `RESOURCE_EXHAUSTED`).
    /// `after` is its hint (`Retry-After`, `grpc-retry-pushback-ms`), if it gave one:
    /// obeyed only within the policy's hint cap and deadline, and shared through
    /// the deadline table when one is configured.
    Throttled {
        /// How long the server asked us to wait.
        after: Option<Duration>,
    },
    /// The call failed below the protocol, in this way: the policy decides (a connect
    /// failure is retried whatever the call; a reset after sending only if the policy
    /// retries transport errors). [`classify_io`] sorts `std::io::Error`s so.
    Transport(TransportError),
    /// The other side answered with this status (an HTTP status, or a protocol's own
    /// numeric status mapped to one): the policy's status rules decide.
    Status(u16),
}

impl ErrorClass {
    /// What the policy's classifier sees for this class.
    pub(crate) const fn observed(self) -> Observed {
        match self {
            ErrorClass::Transient => Observed::Failure {
                retry: Some(RetryKind::Transient),
                hint: None,
            },
            ErrorClass::Permanent => Observed::Failure {
                retry: None,
                hint: None,
            },
            ErrorClass::Throttled { after } => Observed::Failure {
                retry: Some(RetryKind::Throttled),
                hint: match after {
                    Some(d) => Some(ServerHint::After(d)),
                    None => None,
                },
            },
            ErrorClass::Transport(e) => Observed::Transport(e),
            ErrorClass::Status(status) => Observed::Response { status, hint: None },
        }
    }
}

/// The class of an I/O error, by its kind: refused or unreachable connections never
/// sent anything ([`TransportError::ConnectFailed`]); resets, aborts, broken pipes and
/// early ends broke after sending ([`TransportError::ResetAfterSend`]); timeouts are
/// [`TransportError::TimedOut`]; anything else is [`TransportError::Other`]. The policy
/// then decides (see [`ErrorClass`] for how each class is read).
///
/// ```
/// use std::io::{Error, ErrorKind};
/// use relent::retry::TransportError;
/// use relent_tokio::{classify_io, ErrorClass};
///
/// let reset = Error::from(ErrorKind::ConnectionReset);
/// assert_eq!(classify_io(&reset), ErrorClass::Transport(TransportError::ResetAfterSend));
/// ```
pub fn classify_io(error: &std::io::Error) -> ErrorClass {
    use std::io::ErrorKind as K;
    ErrorClass::Transport(match error.kind() {
        K::ConnectionRefused
        | K::AddrNotAvailable
        | K::NotConnected
        | K::HostUnreachable
        | K::NetworkUnreachable => TransportError::ConnectFailed,
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
            TransportError::ResetAfterSend
        }
        K::TimedOut => TransportError::TimedOut,
        _ => TransportError::Other,
    })
}

impl core::fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ErrorClass::Transient => f.write_str("transient"),
            ErrorClass::Permanent => f.write_str("permanent"),
            ErrorClass::Throttled { after: None } => f.write_str("throttled"),
            ErrorClass::Throttled { after: Some(d) } => write!(f, "throttled, retry after {d:?}"),
            ErrorClass::Transport(e) => write!(f, "transport: {e}"),
            ErrorClass::Status(status) => write!(f, "status {status}"),
        }
    }
}

/// Classifies an operation's error. Implemented for every `Fn(&E) -> ErrorClass`.
///
/// ```
/// use std::time::Duration;
/// use relent_tokio::{ClassifyError, ErrorClass};
///
/// #[derive(Debug)]
/// enum DbError { Deadlock, Busy { retry_ms: u64 }, Syntax }
///
/// let classify = |e: &DbError| match e {
///     DbError::Deadlock => ErrorClass::Transient,
///     DbError::Busy { retry_ms } => ErrorClass::Throttled {
///         after: Some(Duration::from_millis(*retry_ms)),
///     },
///     DbError::Syntax => ErrorClass::Permanent,
/// };
/// assert_eq!(classify.classify(&DbError::Syntax), ErrorClass::Permanent);
/// ```
pub trait ClassifyError<E> {
    /// The class of `error`.
    fn classify(&self, error: &E) -> ErrorClass;
}

impl<E, F: Fn(&E) -> ErrorClass> ClassifyError<E> for F {
    fn classify(&self, error: &E) -> ErrorClass {
        self(error)
    }
}

/// Treats every error as [`ErrorClass::Transient`]: the default of a
/// [`Retrier`](crate::Retrier), as backon's default `when` retries every error.
/// Limits (attempts, deadline, budget) still bound the retries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AlwaysTransient;

impl<E> ClassifyError<E> for AlwaysTransient {
    #[inline]
    fn classify(&self, _: &E) -> ErrorClass {
        ErrorClass::Transient
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use relent::http::{Attempt, Classify};
    use relent::retry::{Forbidden, Outcome, RetryPolicy, Seen};

    /// What `policy` makes of `class` (the run reads classes exactly so).
    fn judged(policy: &RetryPolicy, class: ErrorClass) -> Outcome {
        policy.classifier.outcome(&Attempt {
            observed: class.observed(),
            idempotent: true,
            number: 1,
        })
    }

    #[test]
    fn each_class_maps_to_its_row() {
        let ms = Duration::from_millis;
        let p = RetryPolicy::default();
        assert_eq!(judged(&p, ErrorClass::Transient), Outcome::transient());
        assert_eq!(
            judged(
                &p,
                ErrorClass::Throttled {
                    after: Some(ms(70))
                }
            ),
            Outcome::throttled(Some(ms(70)))
        );
        assert_eq!(
            judged(&p, ErrorClass::Throttled { after: None }),
            Outcome::throttled(None)
        );
        assert_eq!(judged(&p, ErrorClass::Permanent), Outcome::permanent());
        let timeout = ErrorClass::Transport(TransportError::TimedOut);
        assert_eq!(judged(&p, timeout), Outcome::timed_out());
        assert_eq!(
            judged(&p, ErrorClass::Status(503)).retry_kind(),
            Some(RetryKind::Transient)
        );
        assert!(matches!(
            judged(&p, ErrorClass::Status(404)),
            Outcome::Final {
                refused: None,
                seen: Seen::Status(404),
                ..
            }
        ));
    }

    #[test]
    fn a_presets_rules_hold_for_what_happened_not_for_the_callers_verdict() {
        let kube = RetryPolicy::kube_client();
        let reset = ErrorClass::Transport(TransportError::ResetAfterSend);
        // kube-rs retries 429/503/504 only: not a reset, not a timeout, not a 500.
        for class in [
            reset,
            ErrorClass::Transport(TransportError::TimedOut),
            ErrorClass::Status(500),
        ] {
            assert!(judged(&kube, class).retry_kind().is_none(), "{class}");
        }
        assert!(
            judged(&kube, ErrorClass::Status(503))
                .retry_kind()
                .is_some()
        );
        // A caller's explicit verdict is its own.
        assert!(judged(&kube, ErrorClass::Transient).retry_kind().is_some());
        // A veto chained before the rules applies to caller verdicts too.
        let veto = |_: &Attempt| relent::http::Verdict::Forbid(Forbidden::Vetoed);
        let vetoed =
            RetryPolicy::default().with_classifier(veto.then(StandardClassifierDefault::DEFAULT));
        assert!(matches!(
            vetoed.classifier.outcome(&Attempt {
                observed: ErrorClass::Transient.observed(),
                idempotent: true,
                number: 1
            }),
            Outcome::Final {
                refused: Some(Forbidden::Vetoed),
                ..
            }
        ));
    }

    use relent::http::StandardClassifier as StandardClassifierDefault;

    #[test]
    fn io_errors_are_sorted_by_where_they_broke() {
        use std::io::{Error, ErrorKind};
        let class = |k| classify_io(&Error::from(k));
        assert_eq!(
            class(ErrorKind::ConnectionRefused),
            ErrorClass::Transport(TransportError::ConnectFailed)
        );
        assert_eq!(
            class(ErrorKind::BrokenPipe),
            ErrorClass::Transport(TransportError::ResetAfterSend)
        );
        assert_eq!(
            class(ErrorKind::TimedOut),
            ErrorClass::Transport(TransportError::TimedOut)
        );
        assert_eq!(
            class(ErrorKind::InvalidData),
            ErrorClass::Transport(TransportError::Other)
        );
    }

    #[test]
    fn display() {
        assert_eq!(ErrorClass::Transient.to_string(), "transient");
        assert_eq!(
            ErrorClass::Throttled {
                after: Some(Duration::from_secs(2))
            }
            .to_string(),
            "throttled, retry after 2s"
        );
        assert_eq!(ErrorClass::Status(503).to_string(), "status 503");
    }
}
