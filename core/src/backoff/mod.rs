//! Backoff: how long to wait before the next attempt, decided with integers and fed with time.
//!
//! Three layers, one concept per module:
//!
//! - a [`Schedule`] gives the nominal delays `d_0, d_1, …` (constant, linear,
//!   exponential with an exact fixed-point [`Factor`], Fibonacci);
//! - a [`BackoffPolicy`], built and checked by [`BackoffBuilder`], adds
//!   [`Jitter`], a floor, a cap and limits (attempts, elapsed time, quiet-period
//!   reset);
//! - a [`Backoff`] runs a policy: `next_delay(now)` hands out one delay per
//!   failure, `reset()` starts over after a success.
//!
//! The delay after `n` earlier delays is
//!
//! ```text
//! delay_n = clamp(jitter(min(d_n, cap)), floor, cap)
//! ```
//!
//! so a delay never exceeds the cap, jitter included. Limiting `d_n` to the cap
//! *before* jitter keeps full jitter spread over `[0, cap]` (Brooker's
//! `random(0, min(cap, base·2ⁿ))`) instead of piling up on the cap.
//!
//! Everything per decision is integer math on nanoseconds (saturating at
//! `u64::MAX`, about 584 years), with randomness only from the caller-seeded
//! SplitMix64 generator (private to the core): no floats, no allocation, no clock reads,
//! the same delays on every target. Floats are accepted by builders only.
//! [`presets`] reproduces kube-rs, gRPC, the AWS SDKs and cenkalti/backoff.
//!
//! ```
//! use core::time::Duration;
//! use relent::Instant;
//! use relent::backoff::{Backoff, presets};
//!
//! let mut backoff = Backoff::new(presets::grpc_connection(), 0x5eed);
//! let now = Instant::from_secs(10);
//! let first = backoff.next_delay(now).unwrap();
//! // 1 s ± 20%
//! assert!(first >= Duration::from_millis(800) && first <= Duration::from_millis(1200));
//! ```

mod factor;
mod jitter;
mod policy;
pub mod presets;
mod schedule;
mod state;
mod walk;

pub use factor::{Factor, FloatError};
pub use jitter::Jitter;
pub use policy::{BackoffBuilder, BackoffError, BackoffPolicy};
pub use schedule::{Nominal, Schedule};
pub use state::Backoff;

pub(crate) use schedule::Stepper;
pub(crate) use walk::{Plan, Walk};
