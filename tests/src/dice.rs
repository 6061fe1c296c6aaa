//! Reproducible dice for random test scenarios (fault windows, fleets, start times).
//!
//! xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift generators,
//! scrambled", 2016): a few integer operations, the same stream on every target. It only
//! has to spread scenarios; relent's own jitter generator is private to the core.

/// A seeded xorshift64* stream.
#[derive(Clone, Debug)]
pub struct Dice {
    state: u64,
}

impl Dice {
    /// A stream from `seed` (a zero seed is replaced: xorshift never leaves zero).
    #[must_use]
    pub const fn new(seed: u64) -> Dice {
        Dice {
            state: if seed == 0 {
                0x9e37_79b9_7f4a_7c15
            } else {
                seed
            },
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..=max` (Lemire's multiply-shift; the tiny bias of skipping the
    /// rejection step does not matter for scenario generation).
    pub fn below_or_equal(&mut self, max: u64) -> u64 {
        let range = u128::from(max) + 1;
        ((u128::from(self.next_u64()) * range) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::Dice;

    #[test]
    fn stays_in_range_and_is_reproducible() {
        let (mut a, mut b) = (Dice::new(7), Dice::new(7));
        for max in [0, 1, 6, 1_000, u64::MAX] {
            for _ in 0..100 {
                let x = a.below_or_equal(max);
                assert!(x <= max);
                assert_eq!(x, b.below_or_equal(max));
            }
        }
        assert_ne!(Dice::new(1).next_u64(), Dice::new(2).next_u64());
    }
}
