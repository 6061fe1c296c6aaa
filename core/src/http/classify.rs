//! Classification: is what an attempt saw worth another attempt, and of what kind?
//!
//! Classification is a chain of opinions, as in smithy-rs's retry classifiers:
//! each [`Classify`] looks at an [`Attempt`] and either has no opinion,
//! asks for a retry of some [`RetryKind`], or forbids a retry. The first
//! opinion wins, and a [`Verdict::Forbid`] ends classification: a caller's
//! veto cannot be overridden by a later, more eager rule.
//! [`Classify::outcome`] turns the chain's verdict into the machine's [`Outcome`].

use crate::hint::ServerHint;
use crate::http::StatusSet;
use crate::retry::{Forbidden, Outcome, RetryKind, Seen, TransportError};

/// What one attempt saw, as classifiers read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Observed {
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
    /// what it means (relent-tokio's error classes arrive this way).
    Failure {
        /// `Some(kind)`: worth a retry of this kind; `None`: permanent.
        retry: Option<RetryKind>,
        /// A server hint that came with it (a pushback, a rate-limit reset).
        hint: Option<ServerHint>,
    },
}

impl Observed {
    /// The server hint carried by what was seen, if any.
    #[must_use]
    #[inline]
    pub const fn hint(&self) -> Option<ServerHint> {
        match self {
            Observed::Response { hint, .. } | Observed::Failure { hint, .. } => *hint,
            Observed::Transport(_) => None,
        }
    }

    /// What a report shows of it.
    #[must_use]
    #[inline]
    pub const fn seen(&self) -> Seen {
        match self {
            Observed::Response { status, .. } => Seen::Status(*status),
            Observed::Transport(e) => Seen::Transport(*e),
            Observed::Failure { .. } => Seen::Error,
        }
    }
}

/// Everything a classifier may look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// What the attempt saw.
    pub observed: Observed,
    /// Whether the request is safe to repeat (RFC 9110 §9.2.2, or marked by the caller).
    pub idempotent: bool,
    /// The 1-based number of the attempt that just ended.
    pub number: u32,
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
/// use relent::http::{Attempt, Classify, Observed, Verdict};
/// use relent::retry::Forbidden;
/// // A veto: never retry a 503 from this API, whatever the defaults say.
/// let veto = |a: &Attempt| match a.observed {
///     Observed::Response { status: 503, .. } => Verdict::Forbid(Forbidden::Vetoed),
///     _ => Verdict::NoOpinion,
/// };
/// let attempt = Attempt {
///     observed: Observed::Response { status: 503, hint: None },
///     idempotent: true,
///     number: 1,
/// };
/// assert_eq!(veto.classify(&attempt), Verdict::Forbid(Forbidden::Vetoed));
/// ```
pub trait Classify {
    /// This classifier's opinion.
    fn classify(&self, attempt: &Attempt) -> Verdict;

    /// Ask `self` first and `next` only if `self` has no opinion.
    /// The machine's [`Outcome`] for `attempt`: this classifier's verdict, with the
    /// HTTP reading of "no opinion".
    ///
    /// | verdict | outcome |
    /// |---|---|
    /// | `Retry(kind)` | [`Outcome::Retryable`] with `kind` and the hint |
    /// | `Forbid(why)` | [`Outcome::Final`] with `refused: Some(why)` (its hint still gates the key) |
    /// | `NoOpinion`, status `100..=399` | [`Outcome::Success`] |
    /// | `NoOpinion`, anything else | [`Outcome::Final`] with `refused: None` |
    ///
    /// ```
    /// use relent::http::{Attempt, Classify, Observed, StandardClassifier};
    /// use relent::retry::{Forbidden, Outcome, RetryKind};
    ///
    /// let c = StandardClassifier::DEFAULT;
    /// let seen = |status, idempotent| Attempt {
    ///     observed: Observed::Response { status, hint: None },
    ///     idempotent,
    ///     number: 1,
    /// };
    /// assert_eq!(c.outcome(&seen(200, false)), Outcome::Success);
    /// assert_eq!(c.outcome(&seen(503, true)).retry_kind(), Some(RetryKind::Transient));
    /// // A POST that got a 503 is not retried, and says why.
    /// assert!(matches!(
    ///     c.outcome(&seen(503, false)),
    ///     Outcome::Final { refused: Some(Forbidden::NotIdempotent), .. }
    /// ));
    /// assert!(matches!(c.outcome(&seen(404, true)), Outcome::Final { refused: None, .. }));
    /// ```
    #[inline]
    fn outcome(&self, attempt: &Attempt) -> Outcome {
        let observed = attempt.observed;
        let hint = observed.hint();
        let seen = observed.seen();
        match self.classify(attempt) {
            Verdict::Retry(kind) => Outcome::Retryable { kind, hint, seen },
            Verdict::Forbid(why) => Outcome::Final {
                refused: Some(why),
                hint,
                seen,
            },
            Verdict::NoOpinion => match observed {
                Observed::Response { status, .. } if (100..400).contains(&status) => {
                    Outcome::Success
                }
                _ => Outcome::Final {
                    refused: None,
                    hint,
                    seen,
                },
            },
        }
    }

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
/// 6. A [`Observed::Failure`] the driver classified: its own verdict (a retry of
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
    // Inlined into the caller's `outcome` (another crate), where the attempt is usually
    // built on the spot: what is known there (no hint, idempotent) folds away.
    #[inline]
    fn classify(&self, a: &Attempt) -> Verdict {
        match a.observed {
            Observed::Response { status, hint } => {
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
            Observed::Failure { retry: None, .. } => Verdict::NoOpinion,
            Observed::Failure {
                retry: Some(_),
                hint: Some(ServerHint::DoNotRetry),
            } => Verdict::Forbid(Forbidden::ServerSaidStop),
            Observed::Failure {
                retry: Some(kind), ..
            } => Verdict::Retry(kind),
            Observed::Transport(TransportError::BodyNotReplayable) => {
                Verdict::Forbid(Forbidden::BodyNotReplayable)
            }
            Observed::Transport(TransportError::ConnectFailed) => {
                if self.retry_connect_errors {
                    Verdict::Retry(RetryKind::Transient)
                } else {
                    Verdict::NoOpinion
                }
            }
            Observed::Transport(err) => {
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
/// use relent::http::is_idempotent_method;
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
            observed: Observed::Response { status, hint: None },
            idempotent,
            number: 1,
        }
    }
    fn transport(e: TransportError, idempotent: bool) -> Attempt {
        Attempt {
            observed: Observed::Transport(e),
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
