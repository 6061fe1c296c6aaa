//! Classification: is this outcome worth another attempt, and of what kind?
//!
//! Classification is a chain of opinions, as in smithy-rs's retry classifiers:
//! each [`Classify`] looks at an [`Attempt`] and either has no opinion,
//! asks for a retry of some [`RetryKind`], or forbids a retry. The first
//! opinion wins, and a [`Verdict::Forbid`] ends classification: a caller's
//! veto cannot be overridden by a later, more eager rule.

use crate::hint::ServerHint;
use crate::retry::StatusSet;

/// What went wrong below HTTP, in the terms that decide whether a retry is safe.
///
/// The split follows where the failure happened relative to the request
/// leaving the client, because that is what decides idempotency:
/// a request that never left can be sent again whatever its method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportError {
    /// The connection could not be established (refused, DNS, TLS handshake):
    /// the request never left, so any method may be retried.
    ConnectFailed,
    /// The attempt timed out; the server may or may not have acted on it.
    TimedOut,
    /// The connection broke after the request was (possibly) sent.
    ResetAfterSend,
    /// The request body is a one-shot stream and cannot be sent again.
    BodyNotReplayable,
    /// Any other failure after the request may have left.
    Other,
}

impl TransportError {
    /// Whether the request may have reached the server.
    #[must_use]
    pub const fn may_have_been_sent(self) -> bool {
        !matches!(self, TransportError::ConnectFailed)
    }
}

impl core::fmt::Display for TransportError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            TransportError::ConnectFailed => "connect failed (request never sent)",
            TransportError::TimedOut => "attempt timed out",
            TransportError::ResetAfterSend => "connection reset after the request was sent",
            TransportError::BodyNotReplayable => "request body cannot be replayed",
            TransportError::Other => "transport error",
        })
    }
}

/// How one attempt ended, as seen by classifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// A response arrived with this status code, and maybe a server hint.
    Response {
        /// The HTTP status code (any `u16`; nonsense values are classified, never trusted).
        status: u16,
        /// A parsed server hint (Retry-After and friends), if the response had one.
        hint: Option<ServerHint>,
    },
    /// No usable response: the transport failed.
    Transport(TransportError),
    /// A failure the driver classified itself: a generic operation's own error
    /// (a database call, a gRPC call), judged by the caller, who alone knows
    /// what it means. Fed with [`Retry::handle_failure`](crate::retry::Retry::handle_failure).
    Failure {
        /// `Some(kind)`: worth a retry of this kind; `None`: permanent.
        retry: Option<RetryKind>,
        /// A server hint that came with it (a pushback, a rate-limit reset).
        hint: Option<ServerHint>,
    },
}

impl Outcome {
    /// The server hint carried by this outcome, if any.
    #[must_use]
    pub const fn hint(&self) -> Option<ServerHint> {
        match self {
            Outcome::Response { hint, .. } | Outcome::Failure { hint, .. } => *hint,
            Outcome::Transport(_) => None,
        }
    }
}

/// Everything a classifier may look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// How the attempt ended.
    pub outcome: Outcome,
    /// Whether the request is safe to repeat (RFC 9110 §9.2.2, or marked by the caller).
    pub idempotent: bool,
    /// The 1-based number of the attempt that just ended.
    pub number: u32,
}

/// The kind of retry asked for; kinds may cost the budget differently and use different backoffs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RetryKind {
    /// Something broke and may work next time (5xx, a reset connection).
    Transient,
    /// The server asked us to slow down (429, gRPC RESOURCE_EXHAUSTED).
    Throttled,
    /// The attempt timed out. The AWS SDKs charge timeouts double in their retry quota.
    TimedOut,
}

impl RetryKind {
    /// `"transient"`, `"throttled"` or `"timed-out"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            RetryKind::Transient => "transient",
            RetryKind::Throttled => "throttled",
            RetryKind::TimedOut => "timed-out",
        }
    }
}

/// Why a classifier forbade a retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Forbidden {
    /// The request may have reached the server and is not idempotent.
    NotIdempotent,
    /// The server said not to retry (for example a negative `grpc-retry-pushback-ms`).
    ServerSaidStop,
    /// The body is a one-shot stream.
    BodyNotReplayable,
    /// A caller-supplied classifier vetoed the retry.
    Vetoed,
}

/// One classifier's opinion about an attempt.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// This classifier does not know; ask the next one.
    NoOpinion,
    /// Retry, as this kind.
    Retry(RetryKind),
    /// Do not retry, and stop asking.
    Forbid(Forbidden),
}

/// A classifier: one opinion on one attempt. Implemented for closures too.
///
/// ```
/// use relent::retry::{Attempt, Classify, Forbidden, Outcome, Verdict};
/// // A veto: never retry a 503 from this API, whatever the defaults say.
/// let veto = |a: &Attempt| match a.outcome {
///     Outcome::Response { status: 503, .. } => Verdict::Forbid(Forbidden::Vetoed),
///     _ => Verdict::NoOpinion,
/// };
/// let attempt = Attempt {
///     outcome: Outcome::Response { status: 503, hint: None },
///     idempotent: true,
///     number: 1,
/// };
/// assert_eq!(veto.classify(&attempt), Verdict::Forbid(Forbidden::Vetoed));
/// ```
pub trait Classify {
    /// This classifier's opinion.
    fn classify(&self, attempt: &Attempt) -> Verdict;

    /// Ask `self` first and `next` only if `self` has no opinion.
    fn then<N: Classify>(self, next: N) -> Chain<Self, N>
    where
        Self: Sized,
    {
        Chain { first: self, next }
    }
}

impl<F: Fn(&Attempt) -> Verdict> Classify for F {
    fn classify(&self, attempt: &Attempt) -> Verdict {
        self(attempt)
    }
}

/// Two classifiers in order: the first opinion wins, and a `Forbid` from the first ends it.
#[derive(Clone, Copy, Debug)]
pub struct Chain<A, B> {
    first: A,
    next: B,
}

impl<A: Classify, B: Classify> Classify for Chain<A, B> {
    fn classify(&self, attempt: &Attempt) -> Verdict {
        match self.first.classify(attempt) {
            Verdict::NoOpinion => self.next.classify(attempt),
            v => v,
        }
    }
}

/// The standard rules, each one a documented field.
///
/// In order:
/// 1. A status outside `retryable` gets no opinion (success stays success); on a
///    retryable status, a [`ServerHint::DoNotRetry`] forbids the retry (gRFC A6:
///    a negative pushback).
/// 2. A body that cannot be replayed forbids a retry.
/// 3. A connect failure is retried for any method when `retry_connect_errors` is set:
///    the request never left (RFC 9110 §9.2.2 is about requests the server saw).
/// 4. Any other failure where the request may have been sent is retried only for
///    idempotent requests; otherwise it is forbidden as [`Forbidden::NotIdempotent`].
///    Statuses in `non_idempotent_statuses` are exempt (empty by default).
/// 5. A status in `throttling` is [`RetryKind::Throttled`], another in `retryable`
///    is [`RetryKind::Transient`]; a timeout is [`RetryKind::TimedOut`] when
///    `retry_timeouts` is set, other transport errors transient when `retry_transport_errors` is set.
/// 6. A [`Outcome::Failure`] the driver classified: its own verdict (a retry of
///    the given kind, or no opinion for a permanent failure), with rule 1's
///    `DoNotRetry` still forbidding a retry.
/// 7. Anything else: no opinion (the machine then treats a 1xx–3xx as success
///    and anything else as final).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StandardClassifier {
    /// Statuses worth a retry.
    pub retryable: StatusSet,
    /// Statuses that mean "slow down"; should be a subset of `retryable`.
    pub throttling: StatusSet,
    /// Statuses on which even a non-idempotent request is retried (the server
    /// promises it did not act, e.g. a 429 from a rate limiter in front of it).
    pub non_idempotent_statuses: StatusSet,
    /// Retry when the connection could not be made.
    pub retry_connect_errors: bool,
    /// Retry an attempt that timed out (idempotent requests only).
    pub retry_timeouts: bool,
    /// Retry other transport errors, such as a reset (idempotent requests only).
    pub retry_transport_errors: bool,
}

impl StandardClassifier {
    /// [`StatusSet::DEFAULT_RETRYABLE`], 429 as throttling, and every transport error retried.
    pub const DEFAULT: StandardClassifier = StandardClassifier {
        retryable: StatusSet::DEFAULT_RETRYABLE,
        throttling: StatusSet::DEFAULT_THROTTLING,
        non_idempotent_statuses: StatusSet::EMPTY,
        retry_connect_errors: true,
        retry_timeouts: true,
        retry_transport_errors: true,
    };
}

impl Default for StandardClassifier {
    fn default() -> Self {
        StandardClassifier::DEFAULT
    }
}

impl Classify for StandardClassifier {
    fn classify(&self, a: &Attempt) -> Verdict {
        match a.outcome {
            Outcome::Response { status, hint } => {
                // A response that is not a failure stays what it is, whatever hint it carries.
                if !self.retryable.contains(status) {
                    return Verdict::NoOpinion;
                }
                if matches!(hint, Some(ServerHint::DoNotRetry)) {
                    return Verdict::Forbid(Forbidden::ServerSaidStop);
                }
                if !a.idempotent && !self.non_idempotent_statuses.contains(status) {
                    return Verdict::Forbid(Forbidden::NotIdempotent);
                }
                if self.throttling.contains(status) {
                    Verdict::Retry(RetryKind::Throttled)
                } else {
                    Verdict::Retry(RetryKind::Transient)
                }
            }
            Outcome::Failure { retry: None, .. } => Verdict::NoOpinion,
            Outcome::Failure {
                retry: Some(_),
                hint: Some(ServerHint::DoNotRetry),
            } => Verdict::Forbid(Forbidden::ServerSaidStop),
            Outcome::Failure {
                retry: Some(kind), ..
            } => Verdict::Retry(kind),
            Outcome::Transport(TransportError::BodyNotReplayable) => {
                Verdict::Forbid(Forbidden::BodyNotReplayable)
            }
            Outcome::Transport(TransportError::ConnectFailed) => {
                if self.retry_connect_errors {
                    Verdict::Retry(RetryKind::Transient)
                } else {
                    Verdict::NoOpinion
                }
            }
            Outcome::Transport(err) => {
                let wanted = match err {
                    TransportError::TimedOut => self.retry_timeouts,
                    _ => self.retry_transport_errors,
                };
                if !wanted {
                    Verdict::NoOpinion
                } else if !a.idempotent {
                    Verdict::Forbid(Forbidden::NotIdempotent)
                } else if err == TransportError::TimedOut {
                    Verdict::Retry(RetryKind::TimedOut)
                } else {
                    Verdict::Retry(RetryKind::Transient)
                }
            }
        }
    }
}

/// Whether an HTTP method is idempotent by definition (RFC 9110 §9.2.2):
/// GET, HEAD, OPTIONS, TRACE, PUT and DELETE. Case-sensitive, as methods are
/// (RFC 9110 §9.1). POST and PATCH are idempotent only when the caller says so,
/// for example because the request carries an idempotency key.
///
/// ```
/// use relent::retry::is_idempotent_method;
/// assert!(is_idempotent_method(b"PUT"));
/// assert!(!is_idempotent_method(b"POST"));
/// assert!(!is_idempotent_method(b"get"));
/// ```
#[must_use]
pub fn is_idempotent_method(method: &[u8]) -> bool {
    matches!(
        method,
        b"GET" | b"HEAD" | b"OPTIONS" | b"TRACE" | b"PUT" | b"DELETE"
    )
}

#[cfg(feature = "http")]
/// [`is_idempotent_method`] for an [`http::Method`].
#[must_use]
pub fn is_idempotent(method: &http::Method) -> bool {
    is_idempotent_method(method.as_str().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, idempotent: bool) -> Attempt {
        Attempt {
            outcome: Outcome::Response { status, hint: None },
            idempotent,
            number: 1,
        }
    }
    fn transport(e: TransportError, idempotent: bool) -> Attempt {
        Attempt {
            outcome: Outcome::Transport(e),
            idempotent,
            number: 1,
        }
    }

    #[test]
    fn standard_rules() {
        let c = StandardClassifier::DEFAULT;
        assert_eq!(
            c.classify(&resp(503, true)),
            Verdict::Retry(RetryKind::Transient)
        );
        assert_eq!(
            c.classify(&resp(429, true)),
            Verdict::Retry(RetryKind::Throttled)
        );
        assert_eq!(c.classify(&resp(404, true)), Verdict::NoOpinion);
        assert_eq!(c.classify(&resp(0, true)), Verdict::NoOpinion);
        assert_eq!(c.classify(&resp(999, true)), Verdict::NoOpinion);
        assert_eq!(
            c.classify(&resp(503, false)),
            Verdict::Forbid(Forbidden::NotIdempotent)
        );
        assert_eq!(
            c.classify(&transport(TransportError::ConnectFailed, false)),
            Verdict::Retry(RetryKind::Transient)
        );
        assert_eq!(
            c.classify(&transport(TransportError::ResetAfterSend, false)),
            Verdict::Forbid(Forbidden::NotIdempotent)
        );
        assert_eq!(
            c.classify(&transport(TransportError::TimedOut, true)),
            Verdict::Retry(RetryKind::TimedOut)
        );
        assert_eq!(
            c.classify(&transport(TransportError::BodyNotReplayable, true)),
            Verdict::Forbid(Forbidden::BodyNotReplayable)
        );
    }

    #[test]
    fn veto_ends_classification() {
        let veto = |_: &Attempt| Verdict::Forbid(Forbidden::Vetoed);
        let chain = veto.then(StandardClassifier::DEFAULT);
        assert_eq!(
            chain.classify(&resp(503, true)),
            Verdict::Forbid(Forbidden::Vetoed)
        );
        let silent = |_: &Attempt| Verdict::NoOpinion;
        let chain = silent.then(StandardClassifier::DEFAULT);
        assert_eq!(
            chain.classify(&resp(503, true)),
            Verdict::Retry(RetryKind::Transient)
        );
    }
}
