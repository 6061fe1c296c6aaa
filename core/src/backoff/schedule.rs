//! The nominal, un-jittered delay sequence `d_0, d_1, d_2, …`.
//!
//! A schedule says how the wait grows from one failure to the next; jitter,
//! floor and cap are applied on top of it by the policy. All values are whole
//! nanoseconds in a `u64`, saturating at `u64::MAX` (about 584 years), so no
//! step can overflow or panic, whatever the inputs.

use core::iter::FusedIterator;
use core::time::Duration;

use super::Factor;
use crate::time::{duration_to_nanos, nanos_to_duration};

/// How the nominal delay grows with the number of delays already taken, `n` (from 0).
///
/// Every formula below is evaluated in whole nanoseconds and saturates at
/// `u64::MAX` ns instead of overflowing. The running state advances one step per
/// delay in O(1); [`Schedule::nominal`] and [`Schedule::iter`] expose the same
/// numbers for previews and tests.
///
/// ```
/// use core::time::Duration;
/// use relent::backoff::{Factor, Schedule};
///
/// let grpc = Schedule::Exponential {
///     base: Duration::from_secs(1),
///     factor: Factor::from_millionths(1_600_000),
/// };
/// let first: Vec<Duration> = grpc.iter().take(4).collect();
/// assert_eq!(first, [
///     Duration::from_millis(1000),
///     Duration::from_millis(1600),
///     Duration::from_millis(2560),
///     Duration::from_millis(4096),
/// ]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Schedule {
    /// The same wait every time: `d_n = delay`.
    ///
    /// For polling, and for callers who only want jitter around a fixed period.
    Constant {
        /// The delay handed out at every step.
        delay: Duration,
    },
    /// Additive growth: `d_n = base + n × step`.
    ///
    /// Grows more gently than exponential; common in queue consumers that
    /// should not fall minutes behind after a short outage.
    Linear {
        /// `d_0`.
        base: Duration,
        /// Added once per step.
        step: Duration,
    },
    /// Geometric growth: `d_n = base × factorⁿ`.
    ///
    /// Computed as `d_0 = base`, `d_{n+1} = ⌈d_n × factor⌉`: one saturating
    /// fixed-point multiply per step with a `u128` intermediate, rounded up to
    /// the nanosecond so that growth never stalls on tiny bases. Products that
    /// are exact in decimal stay exact (1 s × 1.6ⁿ gives 1 s, 1.6 s, 2.56 s,
    /// 4.096 s, …). The builder requires `factor > 1`.
    Exponential {
        /// `d_0`.
        base: Duration,
        /// The multiplier applied per step.
        factor: Factor,
    },
    /// Fibonacci growth: `d_n = base × F(n+1)` with `F(1) = F(2) = 1`.
    ///
    /// That is `base, base, 2·base, 3·base, 5·base, 8·base, …`, computed as
    /// `d_{n+2} = d_{n+1} + d_n` (saturating). Grows by the golden ratio
    /// (≈1.618) per step, a little faster than gRPC's 1.6, but from two equal
    /// first waits.
    Fibonacci {
        /// `d_0` and `d_1`.
        base: Duration,
    },
}

impl Schedule {
    /// `d_0`: the first nominal delay.
    ///
    /// Decorrelated jitter uses it as its `base` (the lower bound of every draw).
    #[must_use]
    pub const fn first(&self) -> Duration {
        match *self {
            Schedule::Constant { delay } => delay,
            Schedule::Linear { base, .. }
            | Schedule::Exponential { base, .. }
            | Schedule::Fibonacci { base } => base,
        }
    }

    /// `d_n`, the un-jittered, un-capped delay after `n` delays, saturating at `u64::MAX` ns.
    ///
    /// Constant and linear are O(1). Exponential and Fibonacci step from `d_0`,
    /// so they cost O(n) until the value saturates (Fibonacci saturates within
    /// about 93 steps; exponential with a factor barely above one can take
    /// millions). Meant for previews and tests; the running
    /// [`Backoff`](super::Backoff) is O(1) per delay.
    #[must_use]
    pub fn nominal(&self, n: u32) -> Duration {
        match *self {
            Schedule::Constant { delay } => nanos_to_duration(duration_to_nanos(delay)),
            Schedule::Linear { base, step } => nanos_to_duration(
                duration_to_nanos(step)
                    .saturating_mul(u64::from(n))
                    .saturating_add(duration_to_nanos(base)),
            ),
            Schedule::Exponential { .. } | Schedule::Fibonacci { .. } => {
                let mut stepper = Stepper::start(self);
                for _ in 0..n {
                    let before = stepper;
                    stepper.advance(self);
                    // The step is a pure function of the state: once a state maps to
                    // itself (zero, saturated at u64::MAX, a factor of one) it never moves.
                    if stepper == before {
                        break;
                    }
                }
                nanos_to_duration(stepper.current())
            }
        }
    }

    /// The nominal sequence `d_0, d_1, …` as an endless iterator, O(1) per item.
    pub const fn iter(&self) -> Nominal {
        Nominal {
            schedule: *self,
            stepper: Stepper::start(self),
        }
    }

    /// True when every `d_n` is zero, so the schedule alone would spin.
    pub(crate) const fn is_always_zero(&self) -> bool {
        match *self {
            Schedule::Constant { delay } => delay.is_zero(),
            Schedule::Linear { base, step } => base.is_zero() && step.is_zero(),
            Schedule::Exponential { base, .. } | Schedule::Fibonacci { base } => base.is_zero(),
        }
    }
}

impl IntoIterator for Schedule {
    type Item = Duration;
    type IntoIter = Nominal;

    fn into_iter(self) -> Nominal {
        self.iter()
    }
}

/// The endless iterator of a schedule's nominal delays; see [`Schedule::iter`].
///
/// It never returns `None`: a schedule has no end of its own (limits belong to
/// the policy). Values saturate at `u64::MAX` nanoseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "iterators are lazy and do nothing unless consumed"]
pub struct Nominal {
    schedule: Schedule,
    stepper: Stepper,
}

impl Iterator for Nominal {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let out = nanos_to_duration(self.stepper.current());
        self.stepper.advance(&self.schedule);
        Some(out)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

impl FusedIterator for Nominal {}

/// The O(1) state that walks a schedule: the current nominal value and, for
/// Fibonacci, the one before it. Shared by [`Nominal`] and the running backoff
/// so previews and live delays can never disagree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stepper {
    current: u64,
    previous: u64,
}

impl Stepper {
    /// The state before any delay was taken: `current = d_0`.
    pub(crate) const fn start(schedule: &Schedule) -> Stepper {
        Stepper::at(duration_to_nanos(schedule.first()))
    }

    /// The state before any delay was taken, from `d_0` already in nanoseconds.
    #[inline]
    pub(crate) const fn at(first_ns: u64) -> Stepper {
        Stepper {
            current: first_ns,
            previous: 0,
        }
    }

    /// The nominal delay `d_n` at the current step, in nanoseconds.
    pub(crate) const fn current(&self) -> u64 {
        self.current
    }

    /// Move from `d_n` to `d_{n+1}`: one saturating add or multiply.
    pub(crate) fn advance(&mut self, schedule: &Schedule) {
        self.advance_by(Step::of(schedule));
    }

    /// `d_{n+1} = d_n × k`, saturating: [`Step::Times`].
    #[inline]
    pub(crate) const fn times(&mut self, k: u64) {
        self.current = crate::time::mul_add_saturating(self.current, k, 0);
    }

    /// [`advance`](Self::advance) with the schedule's growth already reduced to a [`Step`].
    #[inline]
    pub(crate) fn advance_by(&mut self, step: Step) {
        match step {
            Step::Constant => {}
            Step::Add(step) => self.current = self.current.saturating_add(step),
            Step::Times(k) => self.times(k),
            Step::Scale(factor) => self.current = factor.mul_nanos_ceil(self.current),
            Step::Fibonacci => {
                let next = self.current.saturating_add(self.previous);
                self.previous = self.current;
                self.current = next;
            }
        }
    }
}

/// How a schedule grows by one step, with its numbers converted to what the step computes.
///
/// An exponential factor that is a whole number (`2`, the common case) becomes
/// [`Step::Times`]: `⌈d × k·10⁶ / 10⁶⌉ = d × k` exactly, and the saturating `u64`
/// multiply saturates exactly when the fixed-point product exceeds `u64::MAX`, so both
/// give the same value for every `d` (a property test checks it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Step {
    /// `d_{n+1} = d_n`.
    Constant,
    /// `d_{n+1} = d_n + step` (ns, saturating).
    Add(u64),
    /// `d_{n+1} = d_n × k` (saturating): an exponential schedule with a whole factor.
    Times(u64),
    /// `d_{n+1} = ⌈d_n × factor⌉` (saturating): any other exponential schedule.
    Scale(Factor),
    /// `d_{n+2} = d_{n+1} + d_n` (saturating).
    Fibonacci,
}

impl Step {
    /// The step of `schedule`.
    pub(crate) const fn of(schedule: &Schedule) -> Step {
        match *schedule {
            Schedule::Constant { .. } => Step::Constant,
            Schedule::Linear { step, .. } => Step::Add(duration_to_nanos(step)),
            Schedule::Exponential { factor, .. } => {
                match crate::time::div_rem(factor.millionths(), Factor::SCALE) {
                    (times, 0) => Step::Times(times),
                    _ => Step::Scale(factor),
                }
            }
            Schedule::Fibonacci { .. } => Step::Fibonacci,
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn constant_and_linear() {
        let c = Schedule::Constant { delay: ms(250) };
        assert_eq!(c.iter().take(3).collect::<Vec<_>>(), [ms(250); 3]);
        assert_eq!(c.nominal(u32::MAX), ms(250));
        let l = Schedule::Linear {
            base: ms(100),
            step: ms(50),
        };
        assert_eq!(
            l.iter().take(4).collect::<Vec<_>>(),
            [ms(100), ms(150), ms(200), ms(250)]
        );
        assert_eq!(l.nominal(3), ms(250));
        assert_eq!(
            Schedule::Linear {
                base: Duration::MAX,
                step: Duration::MAX
            }
            .nominal(u32::MAX),
            nanos_to_duration(u64::MAX)
        );
    }

    #[test]
    fn exponential_is_exact_for_decimal_factors() {
        let s = Schedule::Exponential {
            base: Duration::from_secs(1),
            factor: Factor::from_millionths(1_600_000),
        };
        let got: Vec<_> = s.iter().take(6).collect();
        assert_eq!(
            got,
            [
                Duration::from_nanos(1_000_000_000),
                Duration::from_nanos(1_600_000_000),
                Duration::from_nanos(2_560_000_000),
                Duration::from_nanos(4_096_000_000),
                Duration::from_nanos(6_553_600_000),
                Duration::from_nanos(10_485_760_000),
            ]
        );
        for (n, d) in got.iter().enumerate() {
            assert_eq!(s.nominal(n as u32), *d);
        }
    }

    #[test]
    fn exponential_grows_from_one_nanosecond_and_saturates() {
        let s = Schedule::Exponential {
            base: Duration::from_nanos(1),
            factor: Factor::from_millionths(1_500_000),
        };
        let got: Vec<_> = s.iter().take(5).map(|d| d.as_nanos()).collect();
        assert_eq!(got, [1, 2, 3, 5, 8]);
        assert_eq!(s.nominal(u32::MAX), nanos_to_duration(u64::MAX));
        let zero = Schedule::Exponential {
            base: Duration::ZERO,
            factor: Factor::TWO,
        };
        assert_eq!(zero.nominal(u32::MAX), Duration::ZERO);
        assert!(zero.is_always_zero());
    }

    #[test]
    fn fibonacci() {
        let s = Schedule::Fibonacci { base: ms(100) };
        let got: Vec<_> = s.iter().take(7).collect();
        assert_eq!(
            got,
            [
                ms(100),
                ms(100),
                ms(200),
                ms(300),
                ms(500),
                ms(800),
                ms(1300)
            ]
        );
        for (n, d) in got.iter().enumerate() {
            assert_eq!(s.nominal(n as u32), *d);
        }
        assert_eq!(s.nominal(u32::MAX), nanos_to_duration(u64::MAX));
        assert_eq!(
            Schedule::Fibonacci {
                base: Duration::ZERO
            }
            .nominal(u32::MAX),
            Duration::ZERO
        );
    }

    #[test]
    fn iterator_never_ends() {
        let s = Schedule::Fibonacci {
            base: Duration::MAX,
        };
        assert_eq!(s.into_iter().nth(500), Some(nanos_to_duration(u64::MAX)));
    }
}
