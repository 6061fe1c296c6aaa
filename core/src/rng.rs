//! A small seedable pseudo-random generator for jitter.
//!
//! The algorithm is **SplitMix64** (Steele, Lea and Flood, "Fast Splittable
//! Pseudorandom Number Generators", OOPSLA 2014; the constants are the ones
//! published with Java's `SplittableRandom` and used by Vigna's reference C
//! code). It has 64 bits of state, passes BigCrush, costs a handful of integer
//! operations, and, because it uses only wrapping `u64` arithmetic, gives the
//! same stream on every target, from a Cortex-M0 to x86_64.
//!
//! Jitter does not need cryptographic randomness; it needs two clients not to
//! jitter alike. Adapters therefore seed one generator per process from OS
//! entropy, while tests and simulations pick a fixed seed.

/// SplitMix64: a 64-bit state advanced by a Weyl sequence and mixed by a finaliser.
///
/// Private to the core: users give a seed, never a generator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SplitMix64 {
    state: u64,
}

/// The Weyl increment: the odd integer closest to 2^64 / golden ratio.
const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

impl SplitMix64 {
    /// A generator whose stream is fully determined by `seed`.
    #[must_use]
    pub(crate) const fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 uniformly distributed bits.
    #[inline]
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform integer in `0..=max`.
    ///
    /// Uses Lemire's multiply-and-reject method ("Fast Random Integer
    /// Generation in an Interval", ACM TOMACS 2019), so there is no modulo bias
    /// and, in expectation, fewer than two draws.
    ///
    /// The in-line part is one draw, one widening multiply by `range = max + 1` and one
    /// compare: a draw whose low half is above `max` (at least `range`) is accepted at
    /// once, since the rejection threshold `2^64 mod range` is below `range`. Everything
    /// else, including `max = u64::MAX` (where `range` wraps to zero, so the low half is
    /// zero and never above `max`), goes to [`below_or_equal_slow`](Self::below_or_equal_slow).
    #[inline]
    pub(crate) fn below_or_equal(&mut self, max: u64) -> u64 {
        let x = self.next_u64();
        let range = max.wrapping_add(1);
        let m = crate::time::widening_mul(x, range);
        if (m as u64) > max {
            return (m >> 64) as u64;
        }
        self.below_or_equal_slow(max, x)
    }

    /// The rest of [`below_or_equal`](Self::below_or_equal) once the first draw `x` was
    /// not accepted at once: `max = u64::MAX` takes `x` itself (every value is in range);
    /// otherwise compare the low half with the exact threshold and redraw while it is below.
    #[cold]
    fn below_or_equal_slow(&mut self, max: u64, x: u64) -> u64 {
        if max == u64::MAX {
            return x;
        }
        // max < u64::MAX here, so the range size cannot overflow and is at least 1, and
        // the remainder always exists.
        let range = max.wrapping_add(1);
        let threshold = crate::time::div_rem(range.wrapping_neg(), range).1;
        let mut m = crate::time::widening_mul(x, range);
        while (m as u64) < threshold {
            m = crate::time::widening_mul(self.next_u64(), range);
        }
        (m >> 64) as u64
    }

    /// A uniform integer in `lo..=hi`; the bounds may be given in either order.
    #[inline]
    pub(crate) fn between(&mut self, lo: u64, hi: u64) -> u64 {
        let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        lo.saturating_add(self.below_or_equal(hi.wrapping_sub(lo)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let mut a = SplitMix64::new(42);
        let mut b = SplitMix64::new(42);
        assert_eq!(a.next_u64(), b.next_u64());
        assert!(a.below_or_equal(10) <= 10);
    }

    #[test]
    fn reference_vector() {
        // First outputs for seed 1234567, from Vigna's splitmix64.c reference.
        let mut r = SplitMix64::new(1234567);
        let got = [r.next_u64(), r.next_u64(), r.next_u64()];
        assert_eq!(
            got,
            [
                6457827717110365317,
                3203168211198807973,
                9817491932198370423
            ]
        );
    }

    #[test]
    fn bounds_hold() {
        let mut r = SplitMix64::new(7);
        for max in [0, 1, 2, 3, 1000, u64::MAX - 1, u64::MAX] {
            for _ in 0..200 {
                assert!(r.below_or_equal(max) <= max);
            }
        }
        for _ in 0..200 {
            let v = r.between(50, 10);
            assert!((10..=50).contains(&v));
        }
        assert_eq!(r.between(5, 5), 5);
    }

    /// Lemire's draw as first written: the `u64::MAX` case tested up front, the threshold
    /// computed before every draw. The model the fast path must agree with.
    fn below_or_equal_model(rng: &mut SplitMix64, max: u64) -> u64 {
        if max == u64::MAX {
            return rng.next_u64();
        }
        let range = u128::from(max) + 1;
        let threshold = (1u128 << 64) % range;
        loop {
            let m = u128::from(rng.next_u64()) * range;
            if m % (1u128 << 64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    proptest::proptest! {
        /// The in-line accept and the cold path give the model's value and leave the
        /// generator in the model's state, for every `max` (small ranges, where rejection
        /// is likely, huge ranges, and the `u64::MAX` edge).
        #[test]
        fn draw_agrees_with_the_model(
            seed in proptest::num::u64::ANY,
            max in proptest::prop_oneof![
                0u64..=16,
                proptest::num::u64::ANY,
                (u64::MAX - 16)..=u64::MAX,
                (1u64 << 63)..=(1u64 << 63) + 16,
            ],
        ) {
            let mut fast = SplitMix64::new(seed);
            let mut model = SplitMix64::new(seed);
            for _ in 0..8 {
                proptest::prop_assert_eq!(
                    fast.below_or_equal(max),
                    below_or_equal_model(&mut model, max)
                );
                proptest::prop_assert_eq!(&fast, &model);
            }
        }
    }

    #[test]
    fn rejections_match_the_model() {
        // max = 2^63: range 2^63 + 1, so almost half the draws are rejected.
        let max = 1u64 << 63;
        let mut fast = SplitMix64::new(5);
        let mut model = SplitMix64::new(5);
        for _ in 0..10_000 {
            assert_eq!(
                fast.below_or_equal(max),
                below_or_equal_model(&mut model, max)
            );
        }
        assert_eq!(fast, model);
    }

    #[test]
    fn roughly_uniform() {
        let mut r = SplitMix64::new(99);
        let mut buckets = [0u32; 4];
        for _ in 0..40_000 {
            buckets[r.below_or_equal(3) as usize] += 1;
        }
        for b in buckets {
            assert!((9_000..11_000).contains(&b), "{buckets:?}");
        }
    }
}
