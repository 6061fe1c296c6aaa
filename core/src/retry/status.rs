//! A const-constructible set of HTTP status codes.

// Every index below is bounded by construction (a code < 1024 selects a word
// < 16; loop counters stay below their array's length), and these are `const fn`s,
// where `get()` is not available.
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

/// A set of status codes in `0..1024`, stored as a 1024-bit bitset (128 bytes, `Copy`).
///
/// Being `const`, a policy's status rules can live in a `static` or a
/// `const` preset with no allocation. Codes outside `0..1024` are never
/// members: adding one is ignored (see [`StatusSet::try_with`] to detect it),
/// and asking about one answers `false`. No preset contains a code outside
/// `100..=599`, so nonsense statuses such as `0` or `999` from a broken peer
/// match only if the caller adds them on purpose.
///
/// ```
/// use relent::retry::StatusSet;
/// const MINE: StatusSet = StatusSet::from_codes(&[429, 503]);
/// assert!(MINE.contains(429));
/// assert!(!MINE.contains(500));
/// assert!(!MINE.contains(0) && !MINE.contains(u16::MAX));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusSet {
    bits: [u64; 16],
}

impl StatusSet {
    /// No codes.
    pub const EMPTY: StatusSet = StatusSet { bits: [0; 16] };

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

    /// A set holding exactly `codes` (codes outside `0..1024` are ignored).
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

    /// This set plus `code`; a code outside `0..1024` leaves the set unchanged.
    #[must_use]
    pub const fn with(self, code: u16) -> StatusSet {
        match self.try_with(code) {
            Some(set) => set,
            None => self,
        }
    }

    /// This set plus `code`, or `None` if `code` is outside `0..1024`.
    #[must_use]
    pub const fn try_with(mut self, code: u16) -> Option<StatusSet> {
        if code >= 1024 {
            return None;
        }
        let word = (code / 64) as usize;
        self.bits[word] |= 1u64 << (code % 64);
        Some(self)
    }

    /// This set without `code`.
    #[must_use]
    pub const fn without(mut self, code: u16) -> StatusSet {
        if code < 1024 {
            let word = (code / 64) as usize;
            self.bits[word] &= !(1u64 << (code % 64));
        }
        self
    }

    /// Every code in `lo..=hi` added (for example all of 5xx).
    #[must_use]
    pub const fn with_range(mut self, lo: u16, hi: u16) -> StatusSet {
        let mut c = lo;
        while c <= hi && c < 1024 {
            self = self.with(c);
            c += 1;
        }
        self
    }

    /// The union of two sets.
    #[must_use]
    pub const fn union(mut self, other: StatusSet) -> StatusSet {
        let mut i = 0;
        while i < 16 {
            self.bits[i] |= other.bits[i];
            i += 1;
        }
        self
    }

    /// Whether `code` is a member; always `false` outside `0..1024`.
    #[must_use]
    pub const fn contains(&self, code: u16) -> bool {
        if code >= 1024 {
            return false;
        }
        (self.bits[(code / 64) as usize] >> (code % 64)) & 1 == 1
    }

    /// Whether the set has no members.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        let mut i = 0;
        while i < 16 {
            if self.bits[i] != 0 {
                return false;
            }
            i += 1;
        }
        true
    }

    /// The members in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        (0u16..1024).filter(move |c| self.contains(*c))
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
    fn membership_and_extremes() {
        let s = StatusSet::DEFAULT_RETRYABLE;
        for c in [408, 429, 500, 502, 503, 504] {
            assert!(s.contains(c));
        }
        for c in [0, 200, 404, 501, 999, 1023, 1024, u16::MAX] {
            assert!(!s.contains(c), "{c}");
        }
        assert_eq!(StatusSet::EMPTY.try_with(1024), None);
        assert_eq!(StatusSet::EMPTY.with(5000), StatusSet::EMPTY);
        let all5 = StatusSet::EMPTY.with_range(500, 599);
        assert_eq!(all5.iter().count(), 100);
        assert!(!all5.without(501).contains(501));
        assert_eq!(
            StatusSet::EMPTY.with_range(1000, u16::MAX).iter().count(),
            24
        );
        assert!(StatusSet::EMPTY.is_empty() && !s.is_empty());
        assert_eq!(s.union(StatusSet::from_codes(&[413])).iter().count(), 7);
    }
}
