//! Per-request overrides, carried in request extensions.
//!
//! With reqwest-middleware, put them on the request with
//! `RequestBuilder::with_extension(..)`; with a plain `reqwest::Client`, pass an
//! [`Overrides`] to [`RetryClient::execute_with`](crate::RetryClient::execute_with).
//!
//! The types are the core's ([`relent::http`]), re-exported: every relent HTTP adapter
//! (this one, relent-tower) reads the same markers, so a request marked once means the
//! same thing in either stack.
//!
//! | extension | effect |
//! |---|---|
//! | [`Idempotent`] | treat the request as idempotent (a POST with an idempotency key): retried after it may have reached the server |
//! | [`NoRetry`] | one attempt only (a Retry-After gate for its key is still respected, and a hint it receives is still recorded) |
//! | [`TimeoutOverride`](relent::timeout::TimeoutOverride) | the per-attempt timeout: `Inherit` the policy's, `Disable` it, or `Set` its `total` |
//! | [`RetryPolicy`](relent::retry::RetryPolicy) (of the retrier's classifier type) | this policy instead of the retrier's |

pub use relent::http::{Idempotent, NoRetry, Overrides};
