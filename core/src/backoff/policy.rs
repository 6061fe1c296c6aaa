//! The validated, immutable description of a backoff, and the builder that checks it.
//!
//! A [`BackoffPolicy`] can only be obtained from [`BackoffBuilder::build`] (or a
//! [preset](super::presets)), so every policy a [`Backoff`](super::Backoff)
//! runs has already been checked: the floor is not above the cap, an
//! exponential schedule really grows, and nothing can spin with zero delays
//! forever. Bad configuration is a typed [`BackoffError`], never a panic.

use core::fmt;
use core::time::Duration;

use super::{Factor, FloatError, Jitter, Plan, Schedule};
use crate::time::{duration_to_nanos, nanos_to_duration};

/// A checked backoff configuration: schedule, jitter, floor, cap and limits.
///
/// The delay handed out after `n` earlier delays is
///
/// ```text
/// delay_n = clamp(jitter(min(d_n, cap)), floor, cap)
/// ```
///
/// where `d_n` is the [`Schedule`]'s nominal delay. The cap is applied **after**
/// jitter, so no delay ever exceeds it, jitter included. Limits end the
/// sequence: [`max_delays`](Self::max_delays) counts delays handed out,
/// [`max_elapsed`](Self::max_elapsed) refuses a delay whose wait would end past
/// the start plus the limit, and [`reset_after_quiet`](Self::reset_after_quiet)
/// starts over after a quiet period. See [`Backoff`](super::Backoff) for how it runs.
///
/// ```
/// use core::time::Duration;
/// use relent::backoff::{BackoffPolicy, Jitter, Schedule};
///
/// let policy = BackoffPolicy::builder(Schedule::Exponential {
///         base: Duration::from_millis(100),
///         factor: relent::backoff::Factor::TWO,
///     })
///     .jitter(Jitter::Full)
///     .cap(Duration::from_secs(10))
///     .max_delays(8)
///     .build()
///     .unwrap();
/// assert_eq!(policy.cap(), Duration::from_secs(10));
/// assert_eq!(policy.nominal_delay(3), Duration::from_millis(800));
/// assert_eq!(policy.nominal_delay(20), Duration::from_secs(10));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BackoffPolicy {
    pub(crate) schedule: Schedule,
    pub(crate) jitter: Jitter,
    pub(crate) floor: Duration,
    pub(crate) cap: Duration,
    pub(crate) max_delays: Option<u32>,
    pub(crate) max_elapsed: Option<Duration>,
    pub(crate) reset_after_quiet: Option<Duration>,
    /// The numbers a decision needs, converted once from the fields above (kept in step
    /// by every constructor: `build`, the presets, [`planned`](Self::planned)).
    pub(crate) plan: Plan,
}

impl BackoffPolicy {
    /// This policy with its decision [`Plan`] computed from its fields.
    ///
    /// Always in line on bare-metal targets, like [`validate`](Self::validate) and
    /// [`BackoffBuilder::build`]: see [`Backoff::new`](super::Backoff::new).
    #[cfg_attr(target_os = "none", inline(always))]
    pub(crate) const fn planned(mut self) -> BackoffPolicy {
        self.plan = Plan::of(&self);
        self
    }

    /// The longest delay a backoff can express: `u64::MAX` nanoseconds (about 584 years).
    ///
    /// Delays are computed in whole nanoseconds in a `u64`; a floor or cap set
    /// above this (e.g. [`Duration::MAX`]) is stored as `MAX_DELAY`, so that
    /// "every delay lies in `[floor, cap]`" holds exactly.
    pub const MAX_DELAY: Duration = nanos_to_duration(u64::MAX);

    /// Start a builder from a schedule, with no jitter, no floor, no cap and no limits.
    pub const fn builder(schedule: Schedule) -> BackoffBuilder {
        BackoffBuilder::new(schedule)
    }

    /// A builder holding this policy, to derive a variant (e.g. a preset with fewer attempts).
    pub const fn to_builder(&self) -> BackoffBuilder {
        BackoffBuilder {
            policy: *self,
            pending: None,
        }
    }

    /// The nominal delay sequence.
    #[must_use]
    pub const fn schedule(&self) -> Schedule {
        self.schedule
    }

    /// How each delay is randomised.
    #[must_use]
    pub const fn jitter(&self) -> Jitter {
        self.jitter
    }

    /// The shortest delay ever handed out (applied after jitter).
    #[must_use]
    pub const fn floor(&self) -> Duration {
        self.floor
    }

    /// The longest delay ever handed out (applied after jitter).
    #[must_use]
    pub const fn cap(&self) -> Duration {
        self.cap
    }

    /// The number of delays handed out before the backoff is exhausted; `None` = unlimited.
    ///
    /// It counts **waits**, not tries: `n` waits allow `n + 1` tries (the first one
    /// needs no wait). It limits a standalone [`Backoff`](super::Backoff) only: inside a
    /// [`RetryPolicy`](crate::retry::RetryPolicy) the policy's
    /// [`max_attempts`](crate::retry::RetryPolicy::max_attempts) (tries) and `deadline`
    /// are the limits, and this one is ignored.
    #[must_use]
    pub const fn max_delays(&self) -> Option<u32> {
        self.max_delays
    }

    /// The span after the first delay request within which every wait must end; `None` = unlimited.
    #[must_use]
    pub const fn max_elapsed(&self) -> Option<Duration> {
        self.max_elapsed
    }

    /// The quiet period after which the backoff starts over from its first delay; `None` = never.
    #[must_use]
    pub const fn reset_after_quiet(&self) -> Option<Duration> {
        self.reset_after_quiet
    }

    /// The un-jittered delay after `n` earlier delays: `clamp(min(d_n, cap), floor, cap)`.
    ///
    /// The centre of the jitter window (the exact delay with [`Jitter::None`]).
    /// Ignores limits. Costs what [`Schedule::nominal`] costs.
    #[must_use]
    pub fn nominal_delay(&self, n: u32) -> Duration {
        let nominal = duration_to_nanos(self.schedule.nominal(n));
        nanos_to_duration(self.clamp_nanos(nominal))
    }

    /// The floor and cap in nanoseconds (each saturating at `u64::MAX`).
    pub(crate) const fn floor_cap_nanos(&self) -> (u64, u64) {
        (duration_to_nanos(self.floor), duration_to_nanos(self.cap))
    }

    /// `clamp(v, floor, cap)` in nanoseconds; `floor <= cap` holds for a built policy.
    pub(super) const fn clamp_nanos(&self, v: u64) -> u64 {
        let (floor, cap) = self.floor_cap_nanos();
        let v = if v < floor { floor } else { v };
        if v > cap { cap } else { v }
    }

    /// Every rule the builder enforces, in the order its errors are reported.
    ///
    /// `const`, so [`BackoffBuilder::build`] works in a `const` or `static`: the same
    /// rules as plain comparisons (durations compared as `(secs, nanos)`, factors as
    /// millionths). Always in line on bare-metal targets: see [`planned`](Self::planned).
    #[cfg_attr(target_os = "none", inline(always))]
    pub(super) const fn validate(&self) -> Result<(), BackoffError> {
        if duration_gt(self.floor, self.cap) {
            return Err(BackoffError::FloorAboveCap {
                floor: self.floor,
                cap: self.cap,
            });
        }
        if let Schedule::Exponential { factor, .. } = self.schedule {
            if factor.millionths() <= Factor::ONE.millionths() {
                return Err(BackoffError::FactorNotGrowing { factor });
            }
        }
        match self.jitter {
            Jitter::Proportional(f) if f.millionths() > Factor::ONE.millionths() => {
                return Err(BackoffError::ProportionalJitterAboveOne { factor: f });
            }
            Jitter::Decorrelated if self.schedule.first().is_zero() => {
                return Err(BackoffError::DecorrelatedZeroBase);
            }
            _ => {}
        }
        if let Some(quiet) = self.reset_after_quiet {
            if quiet.is_zero() {
                return Err(BackoffError::ZeroQuietPeriod);
            }
        }
        let all_zero =
            self.floor.is_zero() && (self.cap.is_zero() || self.schedule.is_always_zero());
        if all_zero && self.max_delays.is_none() && self.max_elapsed.is_none() {
            return Err(BackoffError::ZeroDelayForever);
        }
        Ok(())
    }
}

/// `min(d, MAX_DELAY)`: what a round trip through whole nanoseconds
/// (`nanos_to_duration(duration_to_nanos(d))`) gives, since every duration up to
/// [`BackoffPolicy::MAX_DELAY`] is a whole number of nanoseconds below 2^64 and comes
/// back unchanged, and every longer one saturates to it. A compare instead of a
/// multiply and a 64-bit division (a library routine on 32-bit targets).
const fn at_most_max_delay(d: Duration) -> Duration {
    if duration_gt(d, BackoffPolicy::MAX_DELAY) {
        BackoffPolicy::MAX_DELAY
    } else {
        d
    }
}

/// `a > b`, in a `const` context.
pub(super) const fn duration_gt(a: Duration, b: Duration) -> bool {
    a.as_secs() > b.as_secs() || (a.as_secs() == b.as_secs() && a.subsec_nanos() > b.subsec_nanos())
}

/// Why [`BackoffBuilder::build`] refused a configuration.
///
/// Each variant names one rule, so a caller can match on it and a log line can
/// say exactly what to fix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackoffError {
    /// The floor (minimum delay) is above the cap (maximum delay): no delay can satisfy both.
    FloorAboveCap {
        /// The configured floor.
        floor: Duration,
        /// The configured cap.
        cap: Duration,
    },
    /// An exponential factor of one or less: the delay would never grow (or would shrink).
    ///
    /// Use [`Schedule::Constant`] for a fixed delay.
    FactorNotGrowing {
        /// The configured factor.
        factor: Factor,
    },
    /// A factor was set on a builder whose schedule is not [`Schedule::Exponential`].
    FactorWithoutExponential,
    /// The `f64` given for the exponential factor was NaN, infinite, negative or too large.
    InvalidFactor(FloatError),
    /// The `f64` given for proportional jitter was NaN, infinite, negative or too large.
    InvalidProportionalJitter(FloatError),
    /// Proportional jitter above ±100% would draw negative delays.
    ProportionalJitterAboveOne {
        /// The configured spread.
        factor: Factor,
    },
    /// Decorrelated jitter with a zero first delay: every draw `U[0, 3·0]` would be zero.
    DecorrelatedZeroBase,
    /// A quiet period of zero would reset before every delay, so the schedule never advances.
    ZeroQuietPeriod,
    /// Every delay would be zero and nothing limits the attempts or the elapsed time:
    /// a caller would retry in a tight loop forever.
    ZeroDelayForever,
}

impl fmt::Display for BackoffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackoffError::FloorAboveCap { floor, cap } => {
                write!(f, "backoff floor {floor:?} is above the cap {cap:?}")
            }
            BackoffError::FactorNotGrowing { factor } => write!(
                f,
                "exponential factor {factor} does not grow the delay (must be above 1)"
            ),
            BackoffError::FactorWithoutExponential => {
                f.write_str("a growth factor was set but the schedule is not exponential")
            }
            BackoffError::InvalidFactor(e) => write!(f, "invalid exponential factor: {e}"),
            BackoffError::InvalidProportionalJitter(e) => {
                write!(f, "invalid proportional jitter: {e}")
            }
            BackoffError::ProportionalJitterAboveOne { factor } => write!(
                f,
                "proportional jitter ±{factor} is above ±1 (would draw negative delays)"
            ),
            BackoffError::DecorrelatedZeroBase => {
                f.write_str("decorrelated jitter needs a non-zero first delay")
            }
            BackoffError::ZeroQuietPeriod => {
                f.write_str("a zero quiet period would reset the backoff before every delay")
            }
            BackoffError::ZeroDelayForever => f.write_str(
                "every delay is zero and neither max_delays nor max_elapsed is set: \
                 this would retry in a tight loop forever",
            ),
        }
    }
}

impl core::error::Error for BackoffError {}

/// Collects a backoff configuration and checks it once, in [`build`](Self::build).
///
/// Setters never fail on the spot: a bad `f64` is remembered and reported by
/// `build`, so a configuration reads as one chain. Float setters
/// ([`factor`](Self::factor), [`proportional_jitter`](Self::proportional_jitter))
/// have exact integer twins ([`factor_exact`](Self::factor_exact),
/// [`jitter`](Self::jitter) with a [`Factor`]).
///
/// Defaults: no jitter, floor `0`, cap [`BackoffPolicy::MAX_DELAY`] (about 584
/// years, i.e. no cap), no attempt or elapsed limit, no quiet reset.
///
/// ```
/// use core::time::Duration;
/// use relent::backoff::{BackoffBuilder, BackoffError, Jitter};
///
/// let grpc = BackoffBuilder::exponential(Duration::from_secs(1))
///     .factor(1.6)
///     .proportional_jitter(0.2)
///     .cap(Duration::from_secs(120))
///     .build()?;
/// assert_eq!(grpc.jitter(), Jitter::Proportional(relent::backoff::Factor::from_millionths(200_000)));
///
/// let bad = BackoffBuilder::exponential(Duration::from_secs(1)).factor(f64::NAN).build();
/// assert!(matches!(bad, Err(BackoffError::InvalidFactor(_))));
/// let spin = BackoffBuilder::constant(Duration::ZERO).build();
/// assert_eq!(spin, Err(BackoffError::ZeroDelayForever));
/// # Ok::<(), BackoffError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct BackoffBuilder {
    policy: BackoffPolicy,
    pending: Option<BackoffError>,
}

impl BackoffBuilder {
    /// A builder for `schedule` with the defaults listed on [`BackoffBuilder`].
    pub const fn new(schedule: Schedule) -> BackoffBuilder {
        BackoffBuilder {
            policy: BackoffPolicy {
                schedule,
                jitter: Jitter::None,
                floor: Duration::ZERO,
                cap: BackoffPolicy::MAX_DELAY,
                max_delays: None,
                max_elapsed: None,
                reset_after_quiet: None,
                plan: Plan::UNPLANNED,
            },
            pending: None,
        }
    }

    /// [`Schedule::Constant`]: `d_n = delay`.
    pub const fn constant(delay: Duration) -> BackoffBuilder {
        BackoffBuilder::new(Schedule::Constant { delay })
    }

    /// [`Schedule::Linear`]: `d_n = base + n × step`.
    pub const fn linear(base: Duration, step: Duration) -> BackoffBuilder {
        BackoffBuilder::new(Schedule::Linear { base, step })
    }

    /// [`Schedule::Exponential`] with factor 2 (plain doubling); change it with
    /// [`factor`](Self::factor) or [`factor_exact`](Self::factor_exact).
    pub const fn exponential(base: Duration) -> BackoffBuilder {
        BackoffBuilder::new(Schedule::Exponential {
            base,
            factor: Factor::TWO,
        })
    }

    /// [`Schedule::Fibonacci`]: `base, base, 2·base, 3·base, 5·base, …`.
    pub const fn fibonacci(base: Duration) -> BackoffBuilder {
        BackoffBuilder::new(Schedule::Fibonacci { base })
    }

    /// Replace the schedule, keeping every other setting.
    pub const fn schedule(mut self, schedule: Schedule) -> BackoffBuilder {
        self.policy.schedule = schedule;
        self
    }

    /// Set the exponential growth factor from an `f64`, rounded to millionths.
    ///
    /// NaN, infinities, negative and oversized values are reported by
    /// [`build`](Self::build) as [`BackoffError::InvalidFactor`]; a factor of one
    /// or less as [`BackoffError::FactorNotGrowing`].
    pub fn factor(self, factor: f64) -> BackoffBuilder {
        match Factor::from_f64(factor) {
            Ok(f) => self.factor_exact(f),
            Err(e) => self.fail(BackoffError::InvalidFactor(e)),
        }
    }

    /// Set the exponential growth factor exactly.
    pub const fn factor_exact(mut self, factor: Factor) -> BackoffBuilder {
        match self.policy.schedule {
            Schedule::Exponential { base, .. } => {
                self.policy.schedule = Schedule::Exponential { base, factor };
                self
            }
            _ => self.fail(BackoffError::FactorWithoutExponential),
        }
    }

    /// Set the jitter kind (exact: proportional spreads are given as a [`Factor`]).
    pub const fn jitter(mut self, jitter: Jitter) -> BackoffBuilder {
        self.policy.jitter = jitter;
        self
    }

    /// [`Jitter::Proportional`] with spread `±fraction`, from an `f64` (e.g. `0.2` for gRPC).
    ///
    /// Invalid floats are reported by [`build`](Self::build) as
    /// [`BackoffError::InvalidProportionalJitter`]; values above one as
    /// [`BackoffError::ProportionalJitterAboveOne`].
    pub fn proportional_jitter(self, fraction: f64) -> BackoffBuilder {
        match Factor::from_f64(fraction) {
            Ok(f) => self.jitter(Jitter::Proportional(f)),
            Err(e) => self.fail(BackoffError::InvalidProportionalJitter(e)),
        }
    }

    /// The shortest delay ever handed out, applied after jitter.
    ///
    /// Values above [`BackoffPolicy::MAX_DELAY`] are stored as `MAX_DELAY`.
    pub const fn floor(mut self, floor: Duration) -> BackoffBuilder {
        self.policy.floor = at_most_max_delay(floor);
        self
    }

    /// The longest delay ever handed out, applied after jitter.
    ///
    /// Values above [`BackoffPolicy::MAX_DELAY`] are stored as `MAX_DELAY`.
    pub const fn cap(mut self, cap: Duration) -> BackoffBuilder {
        self.policy.cap = at_most_max_delay(cap);
        self
    }

    /// Hand out at most `delays` delays, then report exhaustion.
    ///
    /// This counts *waits*, not tries: "3 attempts in total" (one try and
    /// two retries) is `max_delays(2)`, so waits = tries − 1. `0` means never wait
    /// (fail at once).
    ///
    /// It limits a standalone [`Backoff`](super::Backoff). Inside a
    /// [`RetryPolicy`](crate::retry::RetryPolicy) the policy's attempts win: its
    /// [`max_attempts`](crate::retry::RetryPolicy::max_attempts) (tries; or
    /// [`with_max_retries`](crate::retry::RetryPolicy::with_max_retries)) and `deadline`
    /// are the only limits, and the backoff's `max_delays` and `max_elapsed` are ignored.
    ///
    /// ```
    /// use core::time::Duration;
    /// use relent::backoff::{Backoff, BackoffBuilder};
    /// use relent::Instant;
    ///
    /// let policy = BackoffBuilder::constant(Duration::from_secs(1)).max_delays(2).build()?;
    /// let mut b = Backoff::new(policy, 0);
    /// // Two waits: three tries in all.
    /// assert!(b.next_delay(Instant::ZERO).is_some());
    /// assert!(b.next_delay(Instant::from_secs(1)).is_some());
    /// assert_eq!(b.next_delay(Instant::from_secs(2)), None);
    /// # Ok::<(), relent::BackoffError>(())
    /// ```
    pub const fn max_delays(mut self, delays: u32) -> BackoffBuilder {
        self.policy.max_delays = Some(delays);
        self
    }

    /// Remove the attempt limit.
    pub const fn no_max_delays(mut self) -> BackoffBuilder {
        self.policy.max_delays = None;
        self
    }

    /// Never hand out a delay whose wait would end later than `limit` after the first request.
    pub const fn max_elapsed(mut self, limit: Duration) -> BackoffBuilder {
        self.policy.max_elapsed = Some(limit);
        self
    }

    /// Remove the elapsed-time limit.
    pub const fn no_max_elapsed(mut self) -> BackoffBuilder {
        self.policy.max_elapsed = None;
        self
    }

    /// Start over from the first delay when none was requested for `quiet` after the last wait ended.
    pub const fn reset_after_quiet(mut self, quiet: Duration) -> BackoffBuilder {
        self.policy.reset_after_quiet = Some(quiet);
        self
    }

    /// Never reset on a quiet period (only [`Backoff::reset`](super::Backoff::reset) resets).
    pub const fn no_quiet_reset(mut self) -> BackoffBuilder {
        self.policy.reset_after_quiet = None;
        self
    }

    /// Check every rule and return the policy, or the first broken rule.
    ///
    /// Errors from float setters come first (in the order they were made), then
    /// the rules in the order of [`BackoffError`]'s variants.
    ///
    /// `const`: a policy built from exact values can live in a `const` or a `static`
    /// (the float setters, [`factor`](Self::factor) and
    /// [`proportional_jitter`](Self::proportional_jitter), are not `const`; use
    /// [`factor_exact`](Self::factor_exact) and [`jitter`](Self::jitter)).
    ///
    /// ```
    /// use core::time::Duration;
    /// use relent::backoff::{BackoffBuilder, BackoffPolicy, Jitter};
    ///
    /// static BACKOFF: BackoffPolicy = match BackoffBuilder::exponential(Duration::from_millis(50))
    ///     .jitter(Jitter::Full)
    ///     .cap(Duration::from_secs(2))
    ///     .build()
    /// {
    ///     Ok(policy) => policy,
    ///     Err(_) => panic!("checked at compile time"),
    /// };
    /// assert_eq!(BACKOFF.cap(), Duration::from_secs(2));
    /// ```
    // Always in line on bare-metal targets, so that the policy is not copied through
    // memory on its way into a `Backoff` (see `Backoff::new`).
    #[cfg_attr(target_os = "none", inline(always))]
    pub const fn build(self) -> Result<BackoffPolicy, BackoffError> {
        if let Some(e) = self.pending {
            return Err(e);
        }
        match self.policy.validate() {
            Ok(()) => Ok(self.policy.planned()),
            Err(e) => Err(e),
        }
    }

    /// Remember the first setter error for `build`.
    const fn fail(mut self, error: BackoffError) -> BackoffBuilder {
        if self.pending.is_none() {
            self.pending = Some(error);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    proptest::proptest! {
        /// The builder's compare-based clamp equals the round trip through whole
        /// nanoseconds it replaced, on both sides of `MAX_DELAY` and at its edge.
        #[test]
        fn clamp_equals_the_nanosecond_round_trip(
            secs in proptest::prop_oneof![
                0u64..=100,
                proptest::num::u64::ANY,
                18_446_744_070u64..=18_446_744_076,
            ],
            nanos in proptest::prop_oneof![0u32..1_000_000_000, 709_551_610u32..=709_551_620],
        ) {
            let d = Duration::new(secs, nanos);
            proptest::prop_assert_eq!(
                at_most_max_delay(d),
                nanos_to_duration(duration_to_nanos(d))
            );
            // The policy's conversions saturate exactly where the `u128` count leaves
            // `u64`.
            proptest::prop_assert_eq!(
                u128::from(duration_to_nanos(d)),
                d.as_nanos().min(u128::from(u64::MAX))
            );
            // Backoff::new's test for a quiet period no `Instant` difference can reach.
            proptest::prop_assert_eq!(
                !duration_gt(d, BackoffPolicy::MAX_DELAY),
                d.as_nanos() <= u128::from(u64::MAX)
            );
        }
    }

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn defaults() {
        let p = BackoffBuilder::exponential(S).build().unwrap();
        assert_eq!(
            p.schedule(),
            Schedule::Exponential {
                base: S,
                factor: Factor::TWO
            }
        );
        assert_eq!(p.jitter(), Jitter::None);
        assert_eq!(p.floor(), Duration::ZERO);
        assert_eq!(p.cap(), BackoffPolicy::MAX_DELAY);
        assert_eq!(p.max_delays(), None);
        assert_eq!(p.max_elapsed(), None);
        assert_eq!(p.reset_after_quiet(), None);
        assert_eq!(p.to_builder().build(), Ok(p));
    }

    #[test]
    fn each_rule_is_a_typed_error() {
        assert_eq!(
            BackoffBuilder::constant(S).floor(S * 2).cap(S).build(),
            Err(BackoffError::FloorAboveCap {
                floor: S * 2,
                cap: S
            })
        );
        for f in [1.0, 0.5, 0.0] {
            assert!(matches!(
                BackoffBuilder::exponential(S).factor(f).build(),
                Err(BackoffError::FactorNotGrowing { .. })
            ));
        }
        assert_eq!(
            BackoffBuilder::exponential(S).factor(f64::NAN).build(),
            Err(BackoffError::InvalidFactor(FloatError::NotANumber))
        );
        assert_eq!(
            BackoffBuilder::exponential(S).factor(-2.0).build(),
            Err(BackoffError::InvalidFactor(FloatError::Negative))
        );
        assert_eq!(
            BackoffBuilder::exponential(S).factor(f64::INFINITY).build(),
            Err(BackoffError::InvalidFactor(FloatError::Infinite))
        );
        assert_eq!(
            BackoffBuilder::exponential(S).factor(1e300).build(),
            Err(BackoffError::InvalidFactor(FloatError::TooLarge))
        );
        assert_eq!(
            BackoffBuilder::constant(S).factor(2.0).build(),
            Err(BackoffError::FactorWithoutExponential)
        );
        assert_eq!(
            BackoffBuilder::constant(S).proportional_jitter(1.5).build(),
            Err(BackoffError::ProportionalJitterAboveOne {
                factor: Factor::from_millionths(1_500_000)
            })
        );
        assert_eq!(
            BackoffBuilder::constant(S)
                .proportional_jitter(-0.1)
                .build(),
            Err(BackoffError::InvalidProportionalJitter(
                FloatError::Negative
            ))
        );
        assert_eq!(
            BackoffBuilder::constant(S)
                .proportional_jitter(f64::NAN)
                .build(),
            Err(BackoffError::InvalidProportionalJitter(
                FloatError::NotANumber
            ))
        );
        assert_eq!(
            BackoffBuilder::linear(Duration::ZERO, S)
                .jitter(Jitter::Decorrelated)
                .build(),
            Err(BackoffError::DecorrelatedZeroBase)
        );
        assert_eq!(
            BackoffBuilder::constant(S)
                .reset_after_quiet(Duration::ZERO)
                .build(),
            Err(BackoffError::ZeroQuietPeriod)
        );
        assert_eq!(
            BackoffBuilder::constant(Duration::ZERO).build(),
            Err(BackoffError::ZeroDelayForever)
        );
        assert_eq!(
            BackoffBuilder::exponential(S).cap(Duration::ZERO).build(),
            Err(BackoffError::ZeroDelayForever)
        );
        assert_eq!(
            BackoffBuilder::fibonacci(Duration::ZERO).build(),
            Err(BackoffError::ZeroDelayForever)
        );
    }

    /// `build` in a `const` gives what it gives at run time, errors included.
    #[test]
    fn build_is_the_same_in_const_context() {
        const OK: Result<BackoffPolicy, BackoffError> = BackoffBuilder::exponential(S)
            .jitter(Jitter::Equal)
            .floor(Duration::from_millis(10))
            .cap(Duration::from_secs(30))
            .max_delays(4)
            .build();
        const BAD: Result<BackoffPolicy, BackoffError> = BackoffBuilder::constant(S)
            .floor(Duration::from_secs(2))
            .cap(S)
            .build();
        const NANOS: Result<BackoffPolicy, BackoffError> = BackoffBuilder::constant(S)
            .floor(Duration::new(1, 2))
            .cap(Duration::new(1, 1))
            .build();
        let runtime = BackoffBuilder::exponential(S)
            .jitter(Jitter::Equal)
            .floor(Duration::from_millis(10))
            .cap(Duration::from_secs(30))
            .max_delays(4)
            .build();
        assert_eq!(OK, runtime);
        assert!(OK.is_ok());
        assert_eq!(
            BAD,
            Err(BackoffError::FloorAboveCap {
                floor: S * 2,
                cap: S
            })
        );
        assert!(matches!(NANOS, Err(BackoffError::FloorAboveCap { .. })));
        assert!(duration_gt(
            Duration::new(2, 0),
            Duration::new(1, 999_999_999)
        ));
        assert!(!duration_gt(S, S));
    }

    #[test]
    fn the_first_setter_error_wins() {
        let b = BackoffBuilder::exponential(S)
            .factor(f64::NAN)
            .proportional_jitter(-1.0)
            .floor(S * 9)
            .cap(S);
        assert_eq!(
            b.build(),
            Err(BackoffError::InvalidFactor(FloatError::NotANumber))
        );
    }

    #[test]
    fn zero_delays_are_fine_when_bounded_or_floored() {
        assert!(
            BackoffBuilder::constant(Duration::ZERO)
                .max_delays(3)
                .build()
                .is_ok()
        );
        assert!(
            BackoffBuilder::constant(Duration::ZERO)
                .max_elapsed(S)
                .build()
                .is_ok()
        );
        assert!(
            BackoffBuilder::constant(Duration::ZERO)
                .floor(Duration::from_nanos(1))
                .build()
                .is_ok()
        );
        // Full jitter may draw zero now and then, but not every time: allowed.
        assert!(
            BackoffBuilder::constant(S)
                .jitter(Jitter::Full)
                .build()
                .is_ok()
        );
    }

    #[test]
    fn extremes_build() {
        let p = BackoffBuilder::exponential(Duration::MAX)
            .factor_exact(Factor::MAX)
            .floor(Duration::MAX)
            .cap(Duration::MAX)
            .max_delays(u32::MAX)
            .max_elapsed(Duration::MAX)
            .reset_after_quiet(Duration::MAX)
            .build()
            .unwrap();
        assert_eq!(p.max_delays(), Some(u32::MAX));
        assert_eq!(p.floor(), BackoffPolicy::MAX_DELAY);
        assert_eq!(p.cap(), BackoffPolicy::MAX_DELAY);
        assert_eq!(p.nominal_delay(u32::MAX), BackoffPolicy::MAX_DELAY);
        assert!(
            BackoffBuilder::linear(Duration::MAX, Duration::MAX)
                .jitter(Jitter::Decorrelated)
                .max_delays(0)
                .build()
                .is_ok()
        );
        assert!(
            BackoffBuilder::constant(S)
                .proportional_jitter(1.0)
                .build()
                .is_ok()
        );
        assert!(
            BackoffBuilder::exponential(S)
                .factor(1.000_001)
                .build()
                .is_ok()
        );
    }

    #[test]
    fn errors_display() {
        let msg = BackoffError::FloorAboveCap {
            floor: S * 2,
            cap: S,
        }
        .to_string();
        assert_eq!(msg, "backoff floor 2s is above the cap 1s");
        let msg = BackoffError::FactorNotGrowing {
            factor: Factor::from_millionths(900_000),
        }
        .to_string();
        assert!(msg.contains("0.9"), "{msg}");
        let e: &dyn core::error::Error = &BackoffError::ZeroDelayForever;
        assert!(e.to_string().contains("tight loop"));
    }
}
