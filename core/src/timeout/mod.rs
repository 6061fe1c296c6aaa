//! Timeout resolution as pure functions: client defaults, per-call overrides,
//! deadlines, and long streams.
//!
//! Nothing here reads a clock, allocates, uses floats or panics; every
//! function is a small `const fn` over `Option<Duration>` and
//! [`Instant`](crate::Instant), so the same inputs give the same limits on
//! every target. Adapters apply the results to their transport.
//!
//! # The model
//!
//! It combines kubex's timeout model (its documentation, "Timeouts") with
//! kube-rs's per-layer rule (kube-rs docs, "Client Internals"):
//!
//! 1. [`Timeouts`] is what a client or a call configures: `total`, `connect`,
//!    `read`, `write`, `pool`, each optional. A bare [`Duration`] means total.
//! 2. [`Timeouts::resolve`] gives [`ResolvedTimeouts`]: each unset phase takes
//!    `total`.
//! 3. [`TimeoutOverride`] is a call's choice beside the client default:
//!    `Inherit`, `Disable` or `Set` (a `Set` replaces the client default;
//!    layer with [`Timeouts::or`] if that is what you want).
//! 4. [`attempt_timeout`] caps an attempt by an overall deadline,
//!    `min(per-try, time left)`, and [`check_wait`] refuses a wait that would
//!    end at or past the deadline.
//! 5. [`stream_timeouts`] turns client limits into limits for a long stream
//!    (a watch): no read timeout, and an idle timeout of the server's
//!    [`ServerTimeout`] plus a margin.
//!
//! Presets with sources: [`Timeouts::KUBE_CLIENT`] (connect 30 s),
//! [`Timeouts::HTTPX_DEFAULT`], [`Timeouts::AIOHTTP_DEFAULT`],
//! [`ServerTimeout::KUBE_WATCH_DEFAULT`] (290 s), [`KUBE_WATCH_IDLE_MARGIN`] (5 s).
//!
//! # Laws
//!
//! Checked by property tests in `core/tests/timeout_laws.rs`:
//!
//! - `Timeouts::from(d) == Timeouts { total: Some(d), ..Timeouts::NONE }`, and
//!   `TimeoutOverride::from(d) == Set(Timeouts::from(d))`.
//! - Resolution keeps every set phase, fills every unset phase with `total`,
//!   and is idempotent: `Timeouts::from(r).resolve() == r`.
//! - `Inherit.resolve(c) == c.resolve()`; `Disable.resolve(c)` is unlimited
//!   for every `c`; `Set(t).resolve(c) == t.resolve()` for every `c`.
//! - `attempt_timeout` never exceeds the per-try limit nor the time left, is
//!   `DeadlinePassed` exactly when `now >= deadline`, and `check_wait(w, ..)`
//!   fits exactly when an attempt at `now + w` would still have time.
//! - A stream never has a read timeout or total; its idle timeout is
//!   `server + margin`, saturating.
//! - No input panics: `Duration::MAX`, `Instant::MAX`, and `now` after the
//!   deadline (a clock that went backwards) all saturate.
//!
//! # Example: one call under a client default and a deadline
//!
//! ```
//! use core::time::Duration;
//! use relent::Instant;
//! use relent::timeout::{attempt_timeout, AttemptTimeout, TimeoutOverride, Timeouts};
//!
//! let client = Timeouts::KUBE_CLIENT.with_total(Duration::from_secs(60));
//! let call = TimeoutOverride::from(Duration::from_secs(10)); // 10 s for this call
//! let limits = call.resolve(&client);
//!
//! let now = Instant::from_secs(1_000);
//! let deadline = Some(Instant::from_secs(1_004)); // 4 s left overall
//! assert_eq!(
//!     attempt_timeout(limits.total(), deadline, now),
//!     AttemptTimeout::Limit(Duration::from_secs(4)),
//! );
//! ```

#[cfg(doc)]
use core::time::Duration;

mod deadline;
mod per_call;
mod phases;
mod presets;
mod resolved;
mod stream;

pub use deadline::{AttemptTimeout, WaitCheck, attempt_timeout, check_wait, time_left};
pub use per_call::TimeoutOverride;
pub use phases::Timeouts;
pub use resolved::ResolvedTimeouts;
pub use stream::{KUBE_WATCH_IDLE_MARGIN, ServerTimeout, StreamTimeouts, stream_timeouts};
