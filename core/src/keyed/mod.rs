//! Per-key backoff and rate limiting for controllers and work queues.
//!
//! A controller (kube-runtime's `Controller`, a client-go work queue) reconciles objects by
//! key. When a reconcile fails, the object is put back with a delay that grows with *that
//! object's* failures, and a success forgets them. client-go's work queues ask a
//! `RateLimiter` for that delay: `When(item)` (the delay, counting one more failure),
//! `Forget(item)` and `NumRequeues(item)`. Its default, `DefaultControllerRateLimiter`, is the
//! maximum of a per-item exponential backoff (5 ms × 2^failures, at most 1000 s) and one
//! overall token bucket (10 per second, burst 100), so a storm of failures cannot requeue
//! faster than the bucket allows (kubernetes/client-go `util/workqueue/default_rate_limiters.go`,
//! release v0.32.0). kube-runtime leaves the choice to the `error_policy` callback, which is
//! called on failures only: kube-rs issue #1916 ("Controller: Per-key increasing backoff")
//! asks for this per-object backoff and notes that nothing tells `error_policy` about a
//! success, so the reset has to come from `reconcile`: call [`RateLimiter::forget`] there.
//!
//! client-go keeps the failures in an unbounded `map[item]int`: every key that ever failed
//! and was never forgotten stays. This module offers the same decisions with memory fixed at
//! construction, on the mechanics of [`DeadlineTable`](crate::DeadlineTable) (a slab, a seeded
//! hash index and an intrusive recency list, O(1), no allocation after construction):
//!
//! * [`KeyedBackoff`]: failures and a backoff walk per key, for one [`BackoffPolicy`]
//!   per store; `when`, `forget`, `failures`, and a cool-down after which a quiet key starts
//!   over. Cooled-down keys are reclaimed first when the store is full, then the least recently
//!   used; evictions are counted.
//! * [`BucketLimiter`]: one sans-IO token bucket (a rate and a burst), the delay before the
//!   next admission, integer math (client-go's `BucketRateLimiter` over `golang.org/x/time/rate`).
//! * [`MaxOf`]: the larger of two limiters' delays (client-go's `MaxOfRateLimiter`).
//! * [`RateLimiter`]: the small trait the three share.
//! * [`controller_default`]: client-go's `DefaultControllerRateLimiter`, with its numbers.
//! * [`KeyedBudget`]: a retry [`Budget`](crate::retry::Budget) split per key (host, region:
//!   the AWS SDKs in smithy-rs keep a token bucket per retry partition, i.e. per region), in a
//!   bounded table of token buckets.
//!
//! Every decision takes the time as an argument; nothing here reads a clock or sleeps.
//!
//! ```
//! use core::time::Duration;
//! use relent::Instant;
//! use relent::keyed::{controller_default, RateLimiter};
//!
//! // One limiter per controller; the seed keys the hash (drivers take it from OS entropy).
//! let mut limiter = controller_default::<String>(4096, 0x5eed)?;
//! let now = Instant::from_secs(1);
//! // Reconcile of "default/web" failed three times: 5 ms, 10 ms, 20 ms.
//! assert_eq!(limiter.when("default/web", now), Duration::from_millis(5));
//! assert_eq!(limiter.when("default/web", now), Duration::from_millis(10));
//! assert_eq!(limiter.when("default/web", now), Duration::from_millis(20));
//! assert_eq!(limiter.failures("default/web"), 3);
//! // It succeeded: forget it, and the next failure starts over.
//! limiter.forget("default/web");
//! assert_eq!(limiter.when("default/web", now), Duration::from_millis(5));
//! # Ok::<(), relent::table::CapacityError>(())
//! ```

mod backoff;
mod budget;
mod limiter;

pub use backoff::KeyedBackoff;
pub use budget::{KeyBudget, KeyedBudget};
pub use limiter::{BucketLimiter, LimiterError, MaxOf, RateLimiter};

use crate::backoff::{BackoffPolicy, Factor, Jitter, Plan, Schedule};
use crate::table::CapacityError;
use core::time::Duration;

/// client-go's `DefaultControllerRateLimiter`: the type [`controller_default`] returns.
pub type ControllerRateLimiter<K> = MaxOf<KeyedBackoff<K>, BucketLimiter>;

/// client-go's per-item exponential backoff as a policy: 5 ms × 2^failures, at most 1000 s,
/// no jitter, no cool-down.
///
/// Source: kubernetes/client-go `util/workqueue/default_rate_limiters.go` (release v0.32.0),
/// `DefaultControllerRateLimiter` builds `NewItemExponentialFailureRateLimiter(5*time.Millisecond,
/// 1000*time.Second)`, whose `When` returns `baseDelay × 2^failures` (then counts the failure)
/// and `maxDelay` when that is larger. The delays are whole nanoseconds here and there, so
/// they agree exactly: 5 ms, 10 ms, 20 ms, …, 655.36 s, then 1000 s from the 19th on.
#[must_use]
pub const fn client_go_item_exponential() -> BackoffPolicy {
    BackoffPolicy {
        schedule: Schedule::Exponential {
            base: Duration::from_millis(5),
            factor: Factor::TWO,
        },
        jitter: Jitter::None,
        floor: Duration::ZERO,
        cap: Duration::from_secs(1000),
        max_delays: None,
        max_elapsed: None,
        reset_after_quiet: None,
        plan: Plan::UNPLANNED,
    }
    .planned()
}

/// client-go's overall bucket: 10 admissions a second, a burst of 100.
///
/// Source: as for [`client_go_item_exponential`]: `&BucketRateLimiter{Limiter:
/// rate.NewLimiter(rate.Limit(10), 100)}` ("10 qps, 100 bucket size. This is only for retry
/// speed and its only the overall factor (not per item)").
#[must_use]
pub const fn client_go_bucket() -> BucketLimiter {
    BucketLimiter::from_interval_ns(100_000_000, 100)
}

/// client-go's `DefaultControllerRateLimiter`, bounded: the larger of a per-key
/// [`client_go_item_exponential`] backoff (at most `capacity` keys, hashed with `seed`) and
/// one [`client_go_bucket`] for all keys.
///
/// What differs from client-go, on purpose: client-go's failure map is unbounded; here a key
/// evicted from a full store (counted by [`KeyedBackoff::evictions`]) starts over at 5 ms.
/// Size `capacity` above the number of objects that fail at once.
///
/// # Errors
///
/// As for [`KeyedBackoff::new`].
pub fn controller_default<K>(
    capacity: usize,
    seed: u64,
) -> Result<ControllerRateLimiter<K>, CapacityError> {
    Ok(MaxOf::new(
        KeyedBackoff::new(client_go_item_exponential(), capacity, seed)?,
        client_go_bucket(),
    ))
}
