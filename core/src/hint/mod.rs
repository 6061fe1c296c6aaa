//! Server hints: `Retry-After` and its relatives, parsed without `std`, and
//! a policy that keeps a server from making a client wait forever.
//!
//! Three steps, each a plain function of its inputs:
//!
//! 1. **Parse.** [`parse_retry_after`] reads `delay-seconds` or an HTTP-date
//!    in all three formats RFC 9110 §5.6.7 requires recipients to accept
//!    ([`parse_http_date`]). It works on bytes, never panics, never
//!    allocates, and says why a value was refused ([`ParseError`]).
//! 2. **Read.** [`HintReader`] looks at a response's headers in a configurable
//!    order of [`HintSource`]s (`Retry-After`, the IETF `RateLimit` field,
//!    `grpc-retry-pushback-ms`, `x-amz-retry-after`, `X-RateLimit-Reset`) and
//!    returns the first valid [`ServerHint`], measuring dates against the
//!    response's own `Date` header to cancel clock skew.
//! 3. **Judge.** [`HintPolicy::judge`] obeys a hint only if it fits the cap
//!    (default 300 s, as Envoy) and ends before the deadline; otherwise it
//!    gives up with the hint in hand, or falls back to backoff if so configured.
//!
//! ```
//! use core::time::Duration;
//! use relent::UnixTime;
//! use relent::hint::{HintPolicy, HintReader, HintVerdict, ServerHint, ExcessKind};
//!
//! let now = UnixTime::from_secs(1_700_000_000);
//! let reader = HintReader::new();
//! let policy = HintPolicy::default();
//!
//! // A polite server.
//! let headers: [(&[u8], &[u8]); 1] = [(b"Retry-After", b"20")];
//! let hint = reader.read(headers, now).map(|h| h.hint);
//! assert_eq!(hint, Some(ServerHint::After(Duration::from_secs(20))));
//! assert_eq!(policy.judge(Duration::from_secs(20), None), HintVerdict::Wait(Duration::from_secs(20)));
//!
//! // A server that answers every request with 429 + `Retry-After: 1000000`.
//! let headers: [(&[u8], &[u8]); 1] = [(b"Retry-After", b"1000000")];
//! let hint = reader.read(headers, now).map(|h| h.hint);
//! let million = Duration::from_secs(1_000_000);
//! assert_eq!(hint, Some(ServerHint::After(million)));
//! assert_eq!(
//!     policy.judge(million, None),
//!     HintVerdict::GiveUp { hint: million, limit: Duration::from_secs(300), kind: ExcessKind::Cap }
//! );
//! ```

mod date;
mod error;
mod lex;
mod policy;
mod ratelimit;
mod retry_after;
mod sources;

pub use date::{format_imf_fixdate, parse_http_date};
pub use error::ParseError;
pub use policy::{ExcessKind, HintPolicy, HintVerdict, OnExcess};
pub use retry_after::{RetryAfter, parse_retry_after};
pub use sources::{HintReader, HintSource, ServerHint, SourcedHint};
