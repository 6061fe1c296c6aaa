//! Randomising each delay so that clients which failed together do not retry together.
//!
//! Without jitter, every client that saw the same outage retries at the same
//! instants and the recovering server meets a synchronized wave each time
//! (Marc Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog,
//! 2015). All kinds here draw from the caller-seeded SplitMix64 generator with integer
//! math, so the same seed gives the same delays on every target.
//!
//! Jitter is applied to the nominal delay **after** it was limited to the cap,
//! and the result is clamped to `[floor, cap]` afterwards, so no kind can make
//! a delay exceed the cap. Bounds below are in whole nanoseconds and inclusive.

use core::time::Duration;

use super::Factor;
use crate::rng::SplitMix64;
use crate::time::{duration_to_nanos, nanos_to_duration};

/// How a nominal delay `d` (already limited to the cap) is randomised.
///
/// `U[a, b]` is a uniform integer number of nanoseconds in `a..=b`.
///
/// ```
/// use core::time::Duration;
/// use relent::backoff::{Factor, Jitter};
///
/// let d = Duration::from_secs(10);
/// assert_eq!(Jitter::Full.bounds(d), Some((Duration::ZERO, d)));
/// assert_eq!(Jitter::Equal.bounds(d), Some((Duration::from_secs(5), d)));
/// let grpc = Jitter::Proportional(Factor::from_millionths(200_000));
/// assert_eq!(grpc.bounds(d), Some((Duration::from_secs(8), Duration::from_secs(12))));
/// assert_eq!(Jitter::Decorrelated.bounds(d), None); // depends on the previous delay
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Jitter {
    /// No randomness: `delay = d`.
    ///
    /// For tests, simulations, and single clients that cannot herd.
    #[default]
    None,
    /// "Full jitter": `delay = U[0, d]`.
    ///
    /// Brooker's recommendation (AWS Architecture Blog, 2015) and the AWS SDKs'
    /// standard mode: the widest spread and the least total work, at the price
    /// of occasionally retrying almost at once.
    Full,
    /// "Equal jitter": `delay = ⌊d/2⌋ + U[0, ⌈d/2⌉]`, so `delay ∈ [⌊d/2⌋, d]`.
    ///
    /// Brooker (2015): keeps half the backoff, so a client never retries much
    /// sooner than the schedule says, while still spreading clients over half
    /// the window.
    Equal,
    /// Symmetric proportional jitter: `delay = d × (1 + U[−f, f])`, computed as
    /// `U[d − r, d + r]` with `r = ⌊d × f⌋`.
    ///
    /// The form used by gRPC connection backoff (`JITTER = 0.2`,
    /// grpc/grpc `doc/connection-backoff.md`) and by cenkalti/backoff's
    /// `RandomizationFactor`. The builder requires `0 ≤ f ≤ 1`. Near the cap the
    /// upper half of the spread is clamped to the cap, so a share of draws land
    /// exactly on it.
    Proportional(Factor),
    /// "Decorrelated jitter": `delay_n = min(cap, U[base, 3 × delay_{n−1}])`,
    /// with `delay_{−1} = base` and `base` the schedule's first delay `d_0`.
    ///
    /// Brooker (AWS Architecture Blog, 2015). Each wait is drawn from a window
    /// that grows with the previous *actual* wait rather than with the attempt
    /// number, so it replaces the schedule's own growth: only `d_0` is used.
    /// The builder requires a non-zero `base`, otherwise every draw is zero.
    Decorrelated,
}

impl Jitter {
    /// The inclusive range a nominal delay `d` can be randomised into, before the floor/cap clamp.
    ///
    /// `None` for [`Jitter::Decorrelated`], whose range depends on the previous
    /// delay rather than on `d`. Useful to preview a policy or assert bounds.
    #[must_use]
    pub fn bounds(self, d: Duration) -> Option<(Duration, Duration)> {
        let n = duration_to_nanos(d);
        let (lo, hi) = match self {
            Jitter::None => (n, n),
            Jitter::Full => (0, n),
            Jitter::Equal => (n.wrapping_div(2), n),
            Jitter::Proportional(f) => {
                let r = f.mul_nanos_floor(n);
                (n.saturating_sub(r), n.saturating_add(r))
            }
            Jitter::Decorrelated => return None,
        };
        Some((nanos_to_duration(lo), nanos_to_duration(hi)))
    }

    /// Randomise `nominal` (ns, already capped). `base` and `previous` serve only
    /// [`Jitter::Decorrelated`]. Draws nothing for [`Jitter::None`].
    #[inline]
    pub(crate) fn apply(self, nominal: u64, base: u64, previous: u64, rng: &mut SplitMix64) -> u64 {
        match self {
            Jitter::None => nominal,
            Jitter::Full => rng.below_or_equal(nominal),
            Jitter::Equal => {
                let half = nominal.wrapping_div(2);
                // nominal - half is ⌈nominal/2⌉ and cannot underflow.
                half.saturating_add(rng.below_or_equal(nominal.saturating_sub(half)))
            }
            Jitter::Proportional(f) => {
                let r = f.mul_nanos_floor(nominal);
                rng.between(nominal.saturating_sub(r), nominal.saturating_add(r))
            }
            Jitter::Decorrelated => {
                rng.between(base, crate::time::mul_add_saturating(previous, 3, 0))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_stay_in_bounds() {
        let mut rng = SplitMix64::new(3);
        let f = Factor::from_millionths(200_000);
        for d in [0u64, 1, 2, 3, 999, 1_000_000_000, u64::MAX] {
            for _ in 0..500 {
                assert_eq!(Jitter::None.apply(d, 0, 0, &mut rng), d);
                assert!(Jitter::Full.apply(d, 0, 0, &mut rng) <= d);
                let e = Jitter::Equal.apply(d, 0, 0, &mut rng);
                assert!(e >= d / 2 && e <= d, "{e} {d}");
                let p = Jitter::Proportional(f).apply(d, 0, 0, &mut rng);
                let r = d / 5;
                assert!(p >= d - r && p <= d.saturating_add(r), "{p} {d}");
            }
        }
    }

    #[test]
    fn decorrelated_window() {
        let mut rng = SplitMix64::new(9);
        for _ in 0..500 {
            let v = Jitter::Decorrelated.apply(0, 100, 1_000, &mut rng);
            assert!((100..=3_000).contains(&v));
        }
        // A previous delay below base (a cap under base) still draws inside [3·prev, base].
        let v = Jitter::Decorrelated.apply(0, 100, 10, &mut rng);
        assert!((30..=100).contains(&v));
        assert_eq!(
            Jitter::Decorrelated.apply(0, u64::MAX, u64::MAX, &mut rng),
            u64::MAX
        );
    }

    #[test]
    fn none_draws_nothing() {
        let mut a = SplitMix64::new(1);
        let b = a.clone();
        let _ = Jitter::None.apply(5, 0, 0, &mut a);
        assert_eq!(a, b);
    }

    #[test]
    fn full_jitter_covers_its_range() {
        // Both ends of [0, 3] are reachable: the draw is inclusive.
        let mut rng = SplitMix64::new(11);
        let mut seen = [false; 4];
        for _ in 0..200 {
            seen[Jitter::Full.apply(3, 0, 0, &mut rng) as usize] = true;
        }
        assert_eq!(seen, [true; 4]);
    }
}
