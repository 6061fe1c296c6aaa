//! What the machine is told about an attempt: how it ended, judged.
//!
//! The machine knows no HTTP. A driver (or the [HTTP layer](crate::http)) turns what it
//! saw into an [`Outcome`]: a success, a failure worth another attempt (of some
//! [`RetryKind`], maybe with a server hint), or a final failure. The [`Seen`] part says
//! what happened, for the report and for nothing else.

use core::fmt;
use core::time::Duration;

use crate::hint::ServerHint;

/// What went wrong below the application protocol, in the terms that decide whether a
/// retry is safe.
///
/// The split follows where the failure happened relative to the request leaving the
/// client, because that is what decides idempotency: a request that never left can be
/// sent again whatever it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportError {
    /// The connection could not be established (refused, DNS, TLS handshake):
    /// the request never left, so it may be sent again whatever it was.
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

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportError::ConnectFailed => "connect failed (request never sent)",
            TransportError::TimedOut => "attempt timed out",
            TransportError::ResetAfterSend => "connection reset after the request was sent",
            TransportError::BodyNotReplayable => "request body cannot be replayed",
            TransportError::Other => "transport error",
        })
    }
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

/// Why a failure that could have been retried is not.
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

impl fmt::Display for Forbidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Forbidden::NotIdempotent => {
                "the request may have reached the server and is not idempotent"
            }
            Forbidden::ServerSaidStop => "the server said not to retry",
            Forbidden::BodyNotReplayable => "the request body cannot be replayed",
            Forbidden::Vetoed => "a classifier vetoed the retry",
        })
    }
}

/// What an attempt ended with, as a report names it. The machine never interprets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Seen {
    /// A response with this status code (HTTP, or any protocol's numeric status).
    Status(u16),
    /// A failure below the application protocol.
    Transport(TransportError),
    /// The operation's own error, judged by the caller.
    Error,
}

/// How one attempt ended, judged: the machine's only input about attempts.
///
/// Build it with the constructors for a plain operation ([`transient`](Self::transient),
/// [`throttled`](Self::throttled), [`permanent`](Self::permanent), …), or let the
/// [HTTP layer](crate::http::Classify::outcome) judge a response.
///
/// ```
/// use core::time::Duration;
/// use relent::retry::{Outcome, RetryKind};
///
/// let o = Outcome::throttled(Some(Duration::from_secs(2)));
/// assert_eq!(o.retry_kind(), Some(RetryKind::Throttled));
/// assert!(Outcome::permanent().retry_kind().is_none());
/// ```
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The attempt succeeded: the operation is done.
    Success,
    /// The attempt failed and another one may succeed.
    Retryable {
        /// What kind of retry (backoff and budget cost may differ per kind).
        kind: RetryKind,
        /// A server hint that came with the failure (Retry-After, pushback).
        hint: Option<ServerHint>,
        /// What was seen.
        seen: Seen,
    },
    /// The attempt failed and no further attempt is made.
    Final {
        /// `Some(why)` when the failure was of a retryable sort but a retry is not
        /// allowed (a 503 to a POST); `None` when it is not worth a retry at all (a 404).
        refused: Option<Forbidden>,
        /// A server hint that came with the failure.
        hint: Option<ServerHint>,
        /// What was seen.
        seen: Seen,
    },
}

impl Outcome {
    /// The operation's own error, worth a retry as a transient failure.
    pub const fn transient() -> Outcome {
        Outcome::Retryable {
            kind: RetryKind::Transient,
            hint: None,
            seen: Seen::Error,
        }
    }

    /// The operation's own error, meaning "slow down", with the wait the other side asked for.
    pub const fn throttled(after: Option<Duration>) -> Outcome {
        Outcome::Retryable {
            kind: RetryKind::Throttled,
            hint: match after {
                Some(d) => Some(ServerHint::After(d)),
                None => None,
            },
            seen: Seen::Error,
        }
    }

    /// The operation's own error, which will fail the same way again.
    pub const fn permanent() -> Outcome {
        Outcome::Final {
            refused: None,
            hint: None,
            seen: Seen::Error,
        }
    }

    /// The attempt timed out and may be retried (as [`RetryKind::TimedOut`]).
    ///
    /// Whether that is safe is the caller's call: a plain operation that is repeated
    /// anyway (a read, a probe) retries after a timeout; an HTTP request that may have
    /// been processed does only when it is idempotent (see [`crate::http`]).
    pub const fn timed_out() -> Outcome {
        Outcome::Retryable {
            kind: RetryKind::TimedOut,
            hint: None,
            seen: Seen::Transport(TransportError::TimedOut),
        }
    }

    /// The server hint carried by this outcome, if any.
    #[must_use]
    pub const fn hint(&self) -> Option<ServerHint> {
        match self {
            Outcome::Success => None,
            Outcome::Retryable { hint, .. } | Outcome::Final { hint, .. } => *hint,
        }
    }

    /// What was seen, for a failure.
    #[must_use]
    pub const fn seen(&self) -> Option<Seen> {
        match self {
            Outcome::Success => None,
            Outcome::Retryable { seen, .. } | Outcome::Final { seen, .. } => Some(*seen),
        }
    }

    /// The kind of retry asked for, for a retryable failure.
    #[must_use]
    pub const fn retry_kind(&self) -> Option<RetryKind> {
        match self {
            Outcome::Retryable { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// Whether the failure was of a sort the server meant to be retried (retryable, or
    /// refused only on the client's side). Its hint then goes into the shared table.
    #[must_use]
    pub const fn wants_retry(&self) -> bool {
        matches!(
            self,
            Outcome::Retryable { .. }
                | Outcome::Final {
                    refused: Some(_),
                    ..
                }
        )
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Outcome::Success => f.write_str("success"),
            Outcome::Retryable {
                seen: Seen::Error,
                kind,
                ..
            } => write!(f, "a {} failure", kind.as_str()),
            Outcome::Final {
                seen: Seen::Error, ..
            } => f.write_str("a permanent failure"),
            Outcome::Retryable { seen, .. } | Outcome::Final { seen, .. } => seen.fmt(f),
        }
    }
}

impl fmt::Display for Seen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Seen::Status(status) => write!(f, "status {status}"),
            Seen::Transport(e) => e.fmt(f),
            Seen::Error => f.write_str("an error"),
        }
    }
}
