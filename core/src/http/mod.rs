//! The HTTP layer: statuses, methods and hint headers, read into the machine's outcomes.
//!
//! The [retry machine](crate::retry::Retry) knows no HTTP: it takes judged
//! [`Outcome`](crate::retry::Outcome)s. This layer holds the HTTP vocabulary, with no
//! dependency on any HTTP crate (statuses are `u16`, methods bytes):
//!
//! - [`StatusSet`]: const sets of status codes;
//! - [`Classify`] and [`StandardClassifier`]: which statuses and transport failures are
//!   worth a retry, gated by RFC 9110 idempotency ([`is_idempotent_method`]), and
//!   [`Classify::outcome`] to turn what an attempt saw into an outcome;
//! - server hints (`Retry-After`, `RateLimit`, gRPC pushback) live in [`crate::hint`].
//!
//! Which outcomes idempotency gates (with [`StandardClassifier::DEFAULT`]):
//!
//! | what the attempt saw | idempotent request | not idempotent (a POST) |
//! |---|---|---|
//! | a retryable status (503) | retry | final, refused [`NotIdempotent`](crate::retry::Forbidden::NotIdempotent) (hint still recorded) |
//! | connect failed (never sent) | retry | retry |
//! | timed out, reset after send | retry | final, refused `NotIdempotent` |
//! | the caller's own verdict ([`Observed::Failure`]) | as the caller says | as the caller says |
//!
//! The `http` feature adds [`is_idempotent`] for `http::Method`, and the per-request
//! overrides every HTTP adapter reads from `http::Extensions` ([`Overrides`],
//! [`Idempotent`], [`NoRetry`]).

mod classify;
#[cfg(feature = "http")]
mod overrides;
mod status;

/// How many attempts a response took (1 when it was not retried), put in the response's
/// extensions by the HTTP adapters (reqwest-middleware#152 asks for it), so a caller can
/// log or meter retries without reading a history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Attempts(pub u32);

#[cfg(feature = "http")]
pub use classify::is_idempotent;
pub use classify::{
    Attempt, Chain, Classify, Observed, StandardClassifier, Verdict, is_idempotent_method,
};
#[cfg(feature = "http")]
pub use overrides::{Idempotent, NoRetry, Overrides};
pub use status::StatusSet;
