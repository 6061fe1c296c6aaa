//! The [`RateLimiter`] trait, the overall token bucket and the maximum of two limiters.

use core::fmt;
use core::time::Duration;

use crate::time::{Instant, duration_to_nanos, nanos_to_duration};

/// Something a work queue asks how long to hold a key back before its next try.
///
/// The three questions of client-go's `workqueue.RateLimiter` (`When`, `Forget`,
/// `NumRequeues`), with the time passed in. `Q` is the key as the caller holds it (a `str`
/// for `String` keys); limiters that do not look at keys implement it for every `Q`.
pub trait RateLimiter<Q: ?Sized> {
    /// The delay before `key`'s next try, counting one more failure of it (or one more
    /// admission, for a limiter that is not per key).
    fn when(&mut self, key: &Q, now: Instant) -> Duration;
    /// `key` succeeded: drop what is remembered about it.
    fn forget(&mut self, key: &Q);
    /// How many failures of `key` are remembered (client-go's `NumRequeues`).
    fn failures(&self, key: &Q) -> u32;
}

impl<Q: ?Sized, R: RateLimiter<Q> + ?Sized> RateLimiter<Q> for &mut R {
    fn when(&mut self, key: &Q, now: Instant) -> Duration {
        (**self).when(key, now)
    }
    fn forget(&mut self, key: &Q) {
        (**self).forget(key);
    }
    fn failures(&self, key: &Q) -> u32 {
        (**self).failures(key)
    }
}

/// Why a [`BucketLimiter`] could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LimiterError {
    /// A rate of zero (or an interval of zero): the bucket would never refill, or refill
    /// without limit.
    ZeroRate,
    /// A burst of zero: not even one admission fits (golang.org/x/time/rate refuses such
    /// reservations outright; a delay of "never" is refused here at construction instead).
    ZeroBurst,
    /// A rate given as a float was NaN, infinite or negative, or its interval does not fit.
    InvalidRate,
}

impl fmt::Display for LimiterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LimiterError::ZeroRate => "rate limiter rate must be above zero",
            LimiterError::ZeroBurst => "rate limiter burst must be at least 1",
            LimiterError::InvalidRate => "rate limiter rate is not a finite positive number",
        })
    }
}

impl core::error::Error for LimiterError {}

/// One token bucket for all keys: at most `burst` admissions at once, then one per
/// `interval`; [`when`](RateLimiter::when) reserves an admission and says how long to wait
/// for it.
///
/// The semantics of client-go's `BucketRateLimiter`, which calls `Reserve().Delay()` on a
/// `golang.org/x/time/rate.Limiter`: the bucket starts full; each call takes one token, going
/// into debt when there is none, and the delay is how long the debt takes to refill. So a
/// burst of `n > burst` calls at one instant gets delays `0` (the first `burst`), then
/// `interval`, `2 × interval`, … (client-go's 10 per second, burst 100: the 101st waits
/// 100 ms, the 1000th 90 s).
///
/// Integer state: the instant at which the bucket would be full again (the "theoretical
/// arrival time" of the generic cell rate algorithm, ITU-T I.371), in nanoseconds. One call
/// is a `max`, an add and a saturating subtract. Compared with `x/time/rate`'s float tokens
/// the only difference is rounding: a rate that does not divide a second into whole
/// nanoseconds is rounded to the next longer interval, so the bucket never admits faster
/// than asked. A clock that goes backwards refills nothing and never panics.
///
/// ```
/// use core::time::Duration;
/// use relent::Instant;
/// use relent::keyed::{BucketLimiter, RateLimiter};
///
/// let mut bucket = BucketLimiter::per_second(10, 100)?; // client-go's numbers
/// let t = Instant::from_secs(5);
/// let delays: Vec<Duration> = (0..102).map(|_| bucket.when(&(), t)).collect();
/// assert!(delays[..100].iter().all(|d| d.is_zero()));
/// assert_eq!(delays[100], Duration::from_millis(100));
/// assert_eq!(delays[101], Duration::from_millis(200));
/// # Ok::<(), relent::keyed::LimiterError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BucketLimiter {
    /// Nanoseconds per token.
    interval_ns: u64,
    /// The burst, in tokens.
    burst: u32,
    /// `burst × interval_ns`, saturating: how far ahead of `now` the full-again instant may
    /// run before a call has to wait.
    tolerance_ns: u64,
    /// The instant at which the bucket is full again (in the past or now: it is full).
    full_at: u64,
}

impl BucketLimiter {
    /// A bucket of `burst` tokens refilled at `per_second` tokens a second (interval
    /// `ceil(1 s / per_second)`, exact for every divisor of 10⁹).
    ///
    /// # Errors
    ///
    /// [`LimiterError::ZeroRate`] or [`LimiterError::ZeroBurst`].
    pub const fn per_second(per_second: u32, burst: u32) -> Result<BucketLimiter, LimiterError> {
        if per_second == 0 {
            return Err(LimiterError::ZeroRate);
        }
        BucketLimiter::every(
            nanos_to_duration(1_000_000_000u64.div_ceil(per_second as u64)),
            burst,
        )
    }

    /// A bucket of `burst` tokens, one more every `interval`.
    ///
    /// # Errors
    ///
    /// [`LimiterError::ZeroRate`] for a zero interval, [`LimiterError::ZeroBurst`].
    pub const fn every(interval: Duration, burst: u32) -> Result<BucketLimiter, LimiterError> {
        if interval.is_zero() {
            return Err(LimiterError::ZeroRate);
        }
        if burst == 0 {
            return Err(LimiterError::ZeroBurst);
        }
        Ok(BucketLimiter::from_interval_ns(
            duration_to_nanos(interval),
            burst,
        ))
    }

    /// A bucket refilled at `qps` tokens a second, for rates that are not whole (0.5 qps is
    /// one token every 2 s). The float is turned into an interval here, once; decisions are
    /// integer math.
    ///
    /// # Errors
    ///
    /// [`LimiterError::InvalidRate`] for NaN, infinite, negative or zero rates and for rates
    /// so low that the interval overflows; [`LimiterError::ZeroBurst`].
    #[allow(
        clippy::float_arithmetic,
        reason = "a builder: the float rate becomes an integer interval once"
    )]
    pub fn qps(qps: f64, burst: u32) -> Result<BucketLimiter, LimiterError> {
        if !(qps.is_finite() && qps > 0.0) {
            return Err(LimiterError::InvalidRate);
        }
        let exact = 1e9 / qps;
        if exact > 1.8e19 {
            return Err(LimiterError::InvalidRate);
        }
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "checked to lie in (0, 1.8e19] just above; rounded up below"
        )]
        let ns = {
            let whole = exact as u64;
            // `f64::ceil` is not in `core`: round up by hand, so the rate is never exceeded.
            if (whole as f64) < exact {
                whole.saturating_add(1)
            } else {
                whole
            }
        };
        BucketLimiter::every(Duration::from_nanos(ns), burst)
    }

    /// Both checked by the callers: `interval_ns > 0`, `burst > 0`.
    pub(crate) const fn from_interval_ns(interval_ns: u64, burst: u32) -> BucketLimiter {
        BucketLimiter {
            interval_ns,
            burst,
            tolerance_ns: interval_ns.saturating_mul(burst as u64),
            full_at: 0,
        }
    }

    /// The interval between two tokens.
    #[must_use]
    pub const fn interval(&self) -> Duration {
        nanos_to_duration(self.interval_ns)
    }

    /// The burst: how many tokens the bucket holds when full.
    #[must_use]
    pub const fn burst(&self) -> u32 {
        self.burst
    }

    /// Reserves one admission at `now` and returns how long to wait for it (zero if a token
    /// was there).
    pub fn reserve(&mut self, now: Instant) -> Duration {
        let now = now.as_nanos();
        let start = if self.full_at > now {
            self.full_at
        } else {
            now
        };
        self.full_at = start.saturating_add(self.interval_ns);
        // The debt beyond the burst, as time: `full_at - now - burst × interval`.
        nanos_to_duration(
            self.full_at
                .saturating_sub(now)
                .saturating_sub(self.tolerance_ns),
        )
    }

    /// How many whole tokens are in the bucket at `now` (0 while in debt), without taking one.
    #[must_use]
    pub fn available(&self, now: Instant) -> u32 {
        let ahead = self.full_at.saturating_sub(now.as_nanos());
        // Tokens missing: `ceil(ahead / interval)`; `interval_ns > 0` by construction.
        let missing = ahead.div_ceil(self.interval_ns.max(1));
        u32::try_from(u64::from(self.burst).saturating_sub(missing)).unwrap_or(0)
    }
}

impl<Q: ?Sized> RateLimiter<Q> for BucketLimiter {
    /// [`reserve`](BucketLimiter::reserve): the key is not looked at.
    fn when(&mut self, _key: &Q, now: Instant) -> Duration {
        self.reserve(now)
    }
    /// Nothing per key to forget (client-go's `BucketRateLimiter.Forget` is empty too).
    fn forget(&mut self, _key: &Q) {}
    /// Always 0: the bucket counts no failures (as client-go's).
    fn failures(&self, _key: &Q) -> u32 {
        0
    }
}

/// The larger of two limiters' delays: client-go's `MaxOfRateLimiter`.
///
/// Both limiters are asked on every [`when`](RateLimiter::when) (so the overall bucket is
/// charged even when a key's own backoff is the longer wait, as in client-go), both forget,
/// and [`failures`](RateLimiter::failures) is the larger count. Nest it for more than two.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaxOf<A, B> {
    first: A,
    second: B,
}

impl<A, B> MaxOf<A, B> {
    /// The maximum of `first` and `second`.
    pub const fn new(first: A, second: B) -> MaxOf<A, B> {
        MaxOf { first, second }
    }

    /// The first limiter (in [`controller_default`](super::controller_default): the per-key
    /// backoff).
    pub const fn first(&self) -> &A {
        &self.first
    }

    /// The first limiter, mutably.
    pub fn first_mut(&mut self) -> &mut A {
        &mut self.first
    }

    /// The second limiter (in [`controller_default`](super::controller_default): the bucket).
    pub const fn second(&self) -> &B {
        &self.second
    }

    /// The second limiter, mutably.
    pub fn second_mut(&mut self) -> &mut B {
        &mut self.second
    }

    /// Both limiters back.
    pub fn into_inner(self) -> (A, B) {
        (self.first, self.second)
    }
}

impl<Q: ?Sized, A: RateLimiter<Q>, B: RateLimiter<Q>> RateLimiter<Q> for MaxOf<A, B> {
    fn when(&mut self, key: &Q, now: Instant) -> Duration {
        let a = self.first.when(key, now);
        let b = self.second.when(key, now);
        a.max(b)
    }
    fn forget(&mut self, key: &Q) {
        self.first.forget(key);
        self.second.forget(key);
    }
    fn failures(&self, key: &Q) -> u32 {
        self.first.failures(key).max(self.second.failures(key))
    }
}
