//! A const-constructible set of HTTP status codes.

// Every index below is bounded by construction (`locate` only yields words
// < WORDS; loop counters stay below their array's length), and these are `const fn`s,
// where `get()` is not available.
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

/// A set of status codes in `100..=611`, stored as a 512-bit bitset (64 bytes, `Copy`).
///
/// Being `const`, a policy's status rules can live in a `static` or a
/// `const` preset with no allocation. RFC 9110 §15 defines status codes as
/// three digits from 100 to 599; the set covers that range (plus a little
/// headroom, to fill the last word). Codes outside it are never members:
/// adding one is ignored (see [`StatusSet::try_with`] to detect it), and
/// asking about one answers `false`, so nonsense statuses such as `0` or
/// `999` from a broken peer never match.
///
/// ```
/// use relent::http::StatusSet;
/// const MINE: StatusSet = StatusSet::from_codes(&[429, 503]);
/// assert!(MINE.contains(429));
/// assert!(!MINE.contains(500));
/// assert!(!MINE.contains(0) && !MINE.contains(u16::MAX));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusSet {
    bits: [u64; WORDS],
}

/// The lowest representable code.
const LOW: u16 = 100;
/// Words of the bitset.
const WORDS: usize = 8;
/// One past the highest representable code.
const HIGH: u16 = LOW + (WORDS as u16) * 64;

/// `(word, bit)` of `code`, or `None` outside `LOW..HIGH`.
#[inline]
const fn locate(code: u16) -> Option<(usize, u32)> {
    if code < LOW || code >= HIGH {
        return None;
    }
    let i = code - LOW;
    Some(((i / 64) as usize, (i % 64) as u32))
}

/// Bit `bit` (below 64) of `w`, read from its byte: what bare-metal targets run instead
/// of a 64-bit shift by a variable amount.
#[cfg(any(target_os = "none", test))]
#[inline]
const fn bit_by_byte(w: u64, bit: u32) -> bool {
    (w.to_le_bytes()[(bit / 8) as usize] >> (bit % 8)) & 1 == 1
}

impl StatusSet {
    /// No codes.
    pub const EMPTY: StatusSet = StatusSet { bits: [0; WORDS] };

    /// The default retryable statuses: 408, 429, 500, 502, 503 and 504.
    ///
    /// Sources: RFC 9110 §15.5.9 (408: the server chose to close an idle
    /// request), RFC 6585 §4 (429), RFC 9110 §15.6 (502/503/504 are gateway
    /// and availability failures); the same set is the default of Google's
    /// HTTP retry guidance, Polly's `HttpPolicyExtensions.HandleTransientHttpError`
    /// (5xx + 408) plus 429, and KubeRay's API server. 500 is included because
    /// most servers use it for transient faults; remove it for APIs where a 500
    /// is deterministic.
    pub const DEFAULT_RETRYABLE: StatusSet = StatusSet::from_codes(&[408, 429, 500, 502, 503, 504]);

    /// Statuses that mean "slow down" rather than "something broke": 429.
    ///
    /// Throttled failures may use a different backoff and budget cost (the AWS
    /// SDKs' standard retry mode treats throttling errors apart from transient ones).
    pub const DEFAULT_THROTTLING: StatusSet = StatusSet::from_codes(&[429]);

    /// A set holding exactly `codes` (codes outside `100..=611` are ignored).
    #[must_use]
    pub const fn from_codes(codes: &[u16]) -> StatusSet {
        let mut set = StatusSet::EMPTY;
        let mut i = 0;
        while i < codes.len() {
            set = set.with(codes[i]);
            i += 1;
        }
        set
    }

    /// This set plus `code`; a code outside `100..=611` leaves the set unchanged.
    #[must_use]
    pub const fn with(self, code: u16) -> StatusSet {
        match self.try_with(code) {
            Some(set) => set,
            None => self,
        }
    }

    /// This set plus `code`, or `None` if `code` is outside `100..=611`.
    #[must_use]
    pub const fn try_with(mut self, code: u16) -> Option<StatusSet> {
        match locate(code) {
            Some((word, bit)) => {
                self.bits[word] |= 1u64 << bit;
                Some(self)
            }
            None => None,
        }
    }

    /// This set without `code`.
    #[must_use]
    pub const fn without(mut self, code: u16) -> StatusSet {
        if let Some((word, bit)) = locate(code) {
            self.bits[word] &= !(1u64 << bit);
        }
        self
    }

    /// Every code in `lo..=hi` added (for example all of 5xx).
    #[must_use]
    pub const fn with_range(mut self, lo: u16, hi: u16) -> StatusSet {
        let mut c = if lo > LOW { lo } else { LOW };
        while c <= hi && c < HIGH {
            self = self.with(c);
            c += 1;
        }
        self
    }

    /// The union of two sets.
    #[must_use]
    pub const fn union(mut self, other: StatusSet) -> StatusSet {
        let mut i = 0;
        while i < WORDS {
            self.bits[i] |= other.bits[i];
            i += 1;
        }
        self
    }

    /// Whether `code` is a member; always `false` outside `100..=611`.
    #[must_use]
    #[inline]
    pub const fn contains(&self, code: u16) -> bool {
        match locate(code) {
            // On bare-metal targets the bit's byte, then the bit: a 64-bit shift by a
            // variable amount is a library call on 32-bit cores.
            #[cfg(target_os = "none")]
            Some((word, bit)) => bit_by_byte(self.bits[word], bit),
            #[cfg(not(target_os = "none"))]
            Some((word, bit)) => (self.bits[word] >> bit) & 1 == 1,
            None => false,
        }
    }

    /// Whether the set has no members.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        let mut i = 0;
        while i < WORDS {
            if self.bits[i] != 0 {
                return false;
            }
            i += 1;
        }
        true
    }

    /// The members in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        (LOW..HIGH).filter(move |c| self.contains(*c))
    }
}

impl Default for StatusSet {
    /// [`StatusSet::DEFAULT_RETRYABLE`].
    fn default() -> Self {
        StatusSet::DEFAULT_RETRYABLE
    }
}

impl core::fmt::Debug for StatusSet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_by_byte_is_the_shifted_bit() {
        for w in [0, 1, u64::MAX, 0x8000_0000_0000_0001, 0x0123_4567_89ab_cdef] {
            for bit in 0..64 {
                assert_eq!(bit_by_byte(w, bit), (w >> bit) & 1 == 1, "{w:#x} {bit}");
            }
        }
    }

    #[test]
    fn membership_and_extremes() {
        let s = StatusSet::DEFAULT_RETRYABLE;
        for c in [408, 429, 500, 502, 503, 504] {
            assert!(s.contains(c));
        }
        for c in [0, 99, 200, 404, 501, 612, 999, 1023, 1024, u16::MAX] {
            assert!(!s.contains(c), "{c}");
        }
        assert_eq!(StatusSet::EMPTY.try_with(99), None);
        assert_eq!(StatusSet::EMPTY.try_with(612), None);
        assert!(StatusSet::EMPTY.with(611).contains(611));
        assert!(StatusSet::EMPTY.with(100).contains(100));
        assert_eq!(StatusSet::EMPTY.with(999), StatusSet::EMPTY);
        assert_eq!(StatusSet::EMPTY.with(0), StatusSet::EMPTY);
        let all5 = StatusSet::EMPTY.with_range(500, 599);
        assert_eq!(all5.iter().count(), 100);
        assert!(!all5.without(501).contains(501));
        assert_eq!(
            StatusSet::EMPTY.with_range(600, u16::MAX).iter().count(),
            12
        );
        assert_eq!(StatusSet::EMPTY.with_range(0, 199).iter().count(), 100);
        assert!(StatusSet::EMPTY.with_range(1000, u16::MAX).is_empty());
        assert!(StatusSet::EMPTY.is_empty() && !s.is_empty());
        assert_eq!(s.union(StatusSet::from_codes(&[413])).iter().count(), 7);
    }
}
