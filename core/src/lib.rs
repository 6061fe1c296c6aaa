#![no_std]
#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
// Decisions are integer math: floats are allowed only in builders, each with a local allow.
#![deny(clippy::float_arithmetic)]
// Never panic on input: no unwrap/expect/indexing in library code.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod backoff;
pub mod drive;
pub mod hint;
pub mod http;
#[cfg(feature = "alloc")]
pub mod keyed;
pub mod retry;
mod rng;
#[cfg(feature = "std")]
mod seed;
#[cfg(feature = "alloc")]
pub mod table;
#[cfg(feature = "proptest")]
#[cfg_attr(docsrs, doc(cfg(feature = "proptest")))]
pub mod testing;
pub mod time;
pub mod timeout;

pub use backoff::{Backoff, BackoffBuilder, BackoffError, BackoffPolicy, Factor, Jitter, Schedule};
pub use hint::{HintPolicy, HintReader, RetryAfter, ServerHint};
pub use retry::{Action, Outcome, Retry, RetryPolicy};
#[cfg(feature = "std")]
pub use seed::fresh_seed;
#[cfg(feature = "alloc")]
pub use table::{DeadlineTable, NextAllowed, Recorded, TableGate};
pub use time::{Instant, UnixTime};
pub use timeout::{ResolvedTimeouts, TimeoutOverride, Timeouts};
