//! An exact fixed-point multiplier for growth factors and jitter fractions.
//!
//! Binary floating point cannot hold 1.6, so `1 s × 1.6⁴` computed with `f64`
//! is 6.553599999… s, differs between targets with and without fused
//! multiply-add, and pulls float code into the per-decision path. A [`Factor`]
//! counts **millionths** in a `u64`: 1.6 is exactly `1_600_000 / 1_000_000`,
//! and a duration is scaled by one integer multiply in a `u128` followed by one
//! division, so every target computes the same nanosecond.

use core::fmt;
use core::time::Duration;

use crate::time::{div_rem, duration_to_nanos, nanos_to_duration};

/// A non-negative decimal number with six fractional digits, stored exactly as millionths.
///
/// Used as the growth factor of [`Schedule::Exponential`](super::Schedule::Exponential)
/// (must be above 1) and as the spread `f` of
/// [`Jitter::Proportional`](super::Jitter::Proportional) (must be in `[0, 1]`).
///
/// Value: `millionths / 1_000_000`. Range: `0` to `18_446_744_073_709.551615`.
///
/// ```
/// use relent::backoff::Factor;
///
/// const GRPC: Factor = Factor::from_millionths(1_600_000);
/// assert_eq!(Factor::from_ratio(8, 5), Some(GRPC));
/// assert_eq!(Factor::from_f64(1.6), Ok(GRPC));
/// assert_eq!(GRPC.to_string(), "1.6");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Factor(u64);

/// Why a floating-point value was refused where a [`Factor`] was expected.
///
/// Builders accept `f64` for convenience (`factor(1.6)`); the value is checked
/// once, at construction, and never reaches the per-decision path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FloatError {
    /// The value was NaN.
    NotANumber,
    /// The value was `+∞` or `−∞`.
    Infinite,
    /// The value was below zero (`-0.0` is accepted as zero).
    Negative,
    /// The value does not fit in [`Factor::MAX`] once rounded to millionths.
    TooLarge,
}

impl fmt::Display for FloatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FloatError::NotANumber => "value is NaN",
            FloatError::Infinite => "value is infinite",
            FloatError::Negative => "value is negative",
            FloatError::TooLarge => "value is too large for a millionths fixed-point factor",
        })
    }
}

impl core::error::Error for FloatError {}

impl Factor {
    /// The denominator: a factor holds `millionths / SCALE`.
    pub const SCALE: u64 = 1_000_000;
    /// `0`: proportional jitter of ±0 (no spread).
    pub const ZERO: Factor = Factor(0);
    /// `1`: the identity; an exponential schedule needs strictly more.
    pub const ONE: Factor = Factor(Self::SCALE);
    /// `2`: plain doubling (Brooker's "Exponential Backoff And Jitter", kube-rs, AWS SDKs).
    pub const TWO: Factor = Factor(2_000_000);
    /// The largest representable factor, `u64::MAX` millionths.
    pub const MAX: Factor = Factor(u64::MAX);

    /// The factor `millionths / 1_000_000`, exactly.
    #[must_use]
    pub const fn from_millionths(millionths: u64) -> Factor {
        Factor(millionths)
    }

    /// The factor `numerator / denominator`, rounded to the nearest millionth (ties up).
    ///
    /// Exact whenever the ratio has at most six decimal places (`8/5` is 1.6
    /// exactly; `1/3` becomes 0.333333). `None` when `denominator` is zero or
    /// the value exceeds [`Factor::MAX`].
    #[must_use]
    pub const fn from_ratio(numerator: u64, denominator: u64) -> Option<Factor> {
        if denominator == 0 {
            return None;
        }
        // numerator * SCALE < 2^84 and adding denominator / 2 < 2^63 cannot overflow u128.
        let scaled = (numerator as u128).wrapping_mul(Self::SCALE as u128);
        let rounded = scaled.wrapping_add((denominator / 2) as u128);
        match rounded.checked_div(denominator as u128) {
            Some(q) if q <= u64::MAX as u128 => Some(Factor(q as u64)),
            _ => None,
        }
    }

    /// The factor nearest to `value` (rounded to millionths), for builders only.
    ///
    /// Refuses NaN, infinities, negative values and values above [`Factor::MAX`]
    /// with a typed [`FloatError`]. Decimal literals with at most six places
    /// land exactly: `from_f64(1.6)` is `from_millionths(1_600_000)`.
    #[allow(clippy::float_arithmetic)]
    pub fn from_f64(value: f64) -> Result<Factor, FloatError> {
        if value.is_nan() {
            return Err(FloatError::NotANumber);
        }
        if value.is_infinite() {
            return Err(FloatError::Infinite);
        }
        if value < 0.0 {
            return Err(FloatError::Negative);
        }
        // value >= 0 here, so adding one half and truncating rounds to nearest.
        let scaled = value * 1_000_000.0 + 0.5;
        // 2^64 is exactly representable; anything at or above it does not fit.
        if scaled >= 18_446_744_073_709_551_616.0 {
            return Err(FloatError::TooLarge);
        }
        Ok(Factor(scaled as u64))
    }

    /// The stored numerator: the value times one million.
    #[must_use]
    pub const fn millionths(self) -> u64 {
        self.0
    }

    /// `⌈d × self⌉` to the nanosecond, saturating at `u64::MAX` nanoseconds (~584 years).
    ///
    /// Rounding up means a factor above one always grows a non-zero duration by
    /// at least a nanosecond, so an exponential schedule starting at 1 ns still
    /// climbs, and exact decimal products (1 s × 1.6 = 1.6 s) stay exact.
    #[must_use]
    pub const fn mul_duration(self, d: Duration) -> Duration {
        nanos_to_duration(self.mul_nanos_ceil(duration_to_nanos(d)))
    }

    /// `⌈nanos × self⌉`, saturating at `u64::MAX`: one multiply, one divide.
    ///
    /// When `nanos × millionths + 999_999` fits in a `u64` (every delay below about
    /// 18 s with a factor of 1e6 millionths, i.e. the usual schedules), the divide is a
    /// `u64` divide by a constant, which compiles to a multiply and a shift; otherwise
    /// [`split_product`] computes the same value in `u64` pieces (no `u128`, whose
    /// multiply and divide are large library routines on 32-bit targets).
    #[inline]
    pub(crate) const fn mul_nanos_ceil(self, nanos: u64) -> u64 {
        self.mul_nanos(nanos, true)
    }

    /// `⌊nanos × self⌋`, saturating at `u64::MAX`; a `u64` divide when the product fits.
    #[inline]
    pub(crate) const fn mul_nanos_floor(self, nanos: u64) -> u64 {
        self.mul_nanos(nanos, false)
    }

    /// `⌈nanos × self⌉` when `ceil`, else `⌊nanos × self⌋`, saturating at `u64::MAX`.
    ///
    /// One body for both roundings (adding `999_999`, or nothing, before dividing by
    /// 10⁶; the `+ 0` cannot overflow, so the floor takes the fast path whenever the
    /// product fits): in line where speed counts, where `ceil` is a constant; one
    /// out-of-line copy on bare-metal targets (`target_os = "none"`), where flash counts.
    #[cfg_attr(not(target_os = "none"), inline)]
    #[cfg_attr(target_os = "none", inline(never))]
    const fn mul_nanos(self, nanos: u64, ceil: bool) -> u64 {
        #[cfg(target_os = "none")]
        return wide_product(nanos, self.0, ceil);
        #[cfg(not(target_os = "none"))]
        {
            let round = if ceil { Self::SCALE - 1 } else { 0 };
            if let Some(product) = nanos.checked_mul(self.0) {
                if let Some(up) = product.checked_add(round) {
                    return div_rem(up, Self::SCALE).0;
                }
            }
            split_product(nanos, self.0, ceil)
        }
    }
}

/// `⌊n × m / 10⁶⌋` (or `⌈…⌉` when `ceil`), saturating at `u64::MAX`, from the exact
/// 128-bit product: what bare-metal targets (`target_os = "none"`) run, in less code than
/// the `u64` steps (whose overflow-checked multiplies are long sequences on 32-bit cores).
///
/// With `p = hi·2⁶⁴ + lo`, the quotient reaches `2⁶⁴` exactly when `hi ≥ 10⁶`. Otherwise
/// two divisions by 10⁶ of 52-bit numbers give its two 32-bit halves (long division in
/// base 2³², each partial remainder below 10⁶ < 2²⁰), and the last remainder says
/// whether the ceiling is one more.
#[cfg(any(target_os = "none", test))]
const fn wide_product(n: u64, m: u64, ceil: bool) -> u64 {
    let p = crate::time::widening_mul(n, m);
    let (hi, lo) = ((p >> 64) as u64, p as u64);
    if hi >= Factor::SCALE {
        return u64::MAX;
    }
    let (q1, r1) = div_rem((hi << 32) | (lo >> 32), Factor::SCALE);
    let (q0, r0) = div_rem((r1 << 32) | (lo & 0xffff_ffff), Factor::SCALE);
    let q = (q1 << 32) | q0;
    if ceil && r0 != 0 {
        q.saturating_add(1)
    } else {
        q
    }
}

/// `⌊n × m / 10⁶⌋` (or `⌈…⌉` when `ceil`), saturating at `u64::MAX`, in `u64` steps.
///
/// With `S = 10⁶`, `n = q·S + r` and `m = a·S + b` (`r, b < S`):
/// `n·m / S = q·m + r·a + r·b / S`. The first two terms are whole numbers and
/// `r·b < S²` fits a `u64`, so only the last term needs rounding. Every term is
/// non-negative, so a saturating step saturates exactly when the true value exceeds
/// `u64::MAX`. (`q·m` is `q·a·S + q·b` in one saturating multiply instead of three
/// operations: less code on 32-bit targets, where each is a call to a multiply routine.)
#[cfg(any(not(target_os = "none"), test))]
const fn split_product(n: u64, m: u64, ceil: bool) -> u64 {
    let (q, r) = div_rem(n, Factor::SCALE);
    let (a, b) = div_rem(m, Factor::SCALE);
    // r, b < 10⁶: r·b + 999 999 < 10¹² + 10⁶, no overflow.
    let low = r.wrapping_mul(b);
    let low = div_rem(
        low.wrapping_add(if ceil { 999_999 } else { 0 }),
        Factor::SCALE,
    )
    .0;
    q.saturating_mul(m)
        .saturating_add(r.saturating_mul(a))
        .saturating_add(low)
}

impl fmt::Display for Factor {
    /// Shortest exact decimal: `1.6`, `2`, `0.000001`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0.wrapping_div(Self::SCALE);
        let mut frac = self.0.wrapping_rem(Self::SCALE);
        if frac == 0 {
            return write!(f, "{whole}");
        }
        let mut digits: usize = 6;
        while frac.wrapping_rem(10) == 0 {
            frac = frac.wrapping_div(10);
            digits = digits.saturating_sub(1);
        }
        write!(f, "{whole}.{frac:0digits$}")
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    #[test]
    fn exact_decimals() {
        assert_eq!(
            Factor::from_f64(1.6),
            Ok(Factor::from_millionths(1_600_000))
        );
        assert_eq!(
            Factor::from_f64(1.5),
            Ok(Factor::from_millionths(1_500_000))
        );
        assert_eq!(Factor::from_f64(0.2), Ok(Factor::from_millionths(200_000)));
        assert_eq!(
            Factor::from_f64(1.1),
            Ok(Factor::from_millionths(1_100_000))
        );
        assert_eq!(Factor::from_f64(0.000_001), Ok(Factor::from_millionths(1)));
        assert_eq!(Factor::from_f64(-0.0), Ok(Factor::ZERO));
        assert_eq!(
            Factor::from_ratio(8, 5),
            Some(Factor::from_millionths(1_600_000))
        );
        assert_eq!(
            Factor::from_ratio(1, 3),
            Some(Factor::from_millionths(333_333))
        );
        assert_eq!(
            Factor::from_ratio(2, 3),
            Some(Factor::from_millionths(666_667))
        );
        assert_eq!(Factor::from_ratio(1, 0), None);
        assert_eq!(Factor::from_ratio(u64::MAX, 1), None);
        assert_eq!(Factor::from_ratio(u64::MAX, 1_000_000), Some(Factor::MAX));
    }

    #[test]
    fn bad_floats_are_typed_errors() {
        assert_eq!(Factor::from_f64(f64::NAN), Err(FloatError::NotANumber));
        assert_eq!(Factor::from_f64(f64::INFINITY), Err(FloatError::Infinite));
        assert_eq!(
            Factor::from_f64(f64::NEG_INFINITY),
            Err(FloatError::Infinite)
        );
        assert_eq!(Factor::from_f64(-1.0), Err(FloatError::Negative));
        assert_eq!(Factor::from_f64(-1e-300), Err(FloatError::Negative));
        assert_eq!(Factor::from_f64(1e14), Err(FloatError::TooLarge));
        assert_eq!(Factor::from_f64(f64::MAX), Err(FloatError::TooLarge));
        assert!(Factor::from_f64(1.8e13).is_ok());
    }

    #[test]
    fn multiply_is_exact_and_rounds_up() {
        let f = Factor::from_millionths(1_600_000);
        assert_eq!(f.mul_nanos_ceil(1_000_000_000), 1_600_000_000);
        assert_eq!(f.mul_nanos_ceil(1_600_000_000), 2_560_000_000);
        assert_eq!(f.mul_nanos_ceil(2_560_000_000), 4_096_000_000);
        // 1 ns × 1.5 = 1.5 ns: rounded up to 2, so growth never stalls.
        assert_eq!(Factor::from_millionths(1_500_000).mul_nanos_ceil(1), 2);
        assert_eq!(Factor::from_millionths(1_500_000).mul_nanos_floor(1), 1);
        assert_eq!(Factor::MAX.mul_nanos_ceil(u64::MAX), u64::MAX);
        assert_eq!(Factor::MAX.mul_nanos_floor(u64::MAX), u64::MAX);
        assert_eq!(Factor::ZERO.mul_nanos_ceil(u64::MAX), 0);
        assert_eq!(
            Factor::TWO.mul_duration(Duration::from_millis(800)),
            Duration::from_millis(1600)
        );
    }

    /// The exact products, computed in `u128` without the `u64` fast paths.
    fn reference(nanos: u64, millionths: u64) -> (u64, u64) {
        let p = u128::from(nanos) * u128::from(millionths);
        let cap = |v: u128| u64::try_from(v).unwrap_or(u64::MAX);
        (cap(p.div_ceil(1_000_000)), cap(p / 1_000_000))
    }

    proptest::proptest! {
        /// The `u64` fast paths give the `u128` results, on both sides of the overflow edge.
        #[test]
        fn fast_paths_equal_the_u128_products(
            nanos in proptest::prop_oneof![0u64..=100_000_000_000, proptest::num::u64::ANY],
            millionths in proptest::prop_oneof![0u64..=100_000_000, proptest::num::u64::ANY],
        ) {
            let f = Factor::from_millionths(millionths);
            let (ceil, floor) = reference(nanos, millionths);
            proptest::prop_assert_eq!(f.mul_nanos_ceil(nanos), ceil);
            proptest::prop_assert_eq!(f.mul_nanos_floor(nanos), floor);
            // The bare-metal path, and the `u64` pieces the hosted one falls back to.
            proptest::prop_assert_eq!(wide_product(nanos, millionths, true), ceil);
            proptest::prop_assert_eq!(wide_product(nanos, millionths, false), floor);
            proptest::prop_assert_eq!(split_product(nanos, millionths, true), ceil);
            proptest::prop_assert_eq!(split_product(nanos, millionths, false), floor);
        }
    }

    #[test]
    fn fast_path_edges() {
        // The largest product that still takes the u64 path, and the first that does not.
        let edge = u64::MAX - 999_999;
        for nanos in [edge - 1, edge, edge + 1, u64::MAX] {
            for m in [1u64, 999_999, 1_000_000, 1_000_001, u64::MAX] {
                let (ceil, floor) = reference(nanos, m);
                let f = Factor::from_millionths(m);
                assert_eq!(
                    (f.mul_nanos_ceil(nanos), f.mul_nanos_floor(nanos)),
                    (ceil, floor)
                );
                assert_eq!(
                    (wide_product(nanos, m, true), wide_product(nanos, m, false)),
                    (ceil, floor)
                );
            }
        }
    }

    #[test]
    fn display_is_shortest_exact_decimal() {
        assert_eq!(Factor::from_millionths(1_600_000).to_string(), "1.6");
        assert_eq!(Factor::TWO.to_string(), "2");
        assert_eq!(Factor::ZERO.to_string(), "0");
        assert_eq!(Factor::from_millionths(1).to_string(), "0.000001");
        assert_eq!(Factor::from_millionths(1_050_000).to_string(), "1.05");
        assert_eq!(FloatError::Negative.to_string(), "value is negative");
    }
}
