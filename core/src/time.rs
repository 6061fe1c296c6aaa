//! Time as plain values: a monotonic [`Instant`] and a wall-clock [`UnixTime`].
//!
//! The core never reads a clock. Drivers read their clock once per event and
//! hand the value in, which is what makes every decision reproducible: the same
//! sequence of instants gives the same decisions on every target.
//!
//! All arithmetic saturates. A clock that goes backwards yields zero-length
//! spans, never a panic or a wrap-around.
//!
//! Firmware timers count coarse ticks in a counter that wraps: [`TickExtender`] turns
//! the raw readings into a monotonic [`Instant`], and [`TickRate`] converts both ways,
//! rounding a clock reading down and a sleep's end up.

use core::fmt;
use core::time::Duration;

mod ticks;

pub use ticks::{RawTicks, TickExtender, TickRate};

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// A point on a monotonic clock, counted in nanoseconds from an epoch the driver chooses.
///
/// Nanosecond ticks in a `u64` span about 584 years before saturating, so a
/// driver may pick any epoch (boot, process start, a test's zero) without
/// worrying about wrap-around. Sub-millisecond resolution lets a tokio or
/// embassy driver map its own instants without rounding away short delays.
///
/// ```
/// use core::time::Duration;
/// use relent::Instant;
///
/// let t0 = Instant::from_nanos(0);
/// let t1 = t0 + Duration::from_millis(1500);
/// assert_eq!(t1.saturating_duration_since(t0), Duration::from_millis(1500));
/// // A clock that went backwards measures as zero, not a panic.
/// assert_eq!(t0.saturating_duration_since(t1), Duration::ZERO);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    /// The driver's epoch.
    pub const ZERO: Instant = Instant(0);
    /// The latest representable instant; used as "never".
    pub const MAX: Instant = Instant(u64::MAX);

    /// An instant `nanos` nanoseconds after the driver's epoch.
    #[must_use]
    pub const fn from_nanos(nanos: u64) -> Self {
        Instant(nanos)
    }

    /// An instant `millis` milliseconds after the epoch, saturating at [`Instant::MAX`].
    #[must_use]
    pub const fn from_millis(millis: u64) -> Self {
        Instant(millis.saturating_mul(1_000_000))
    }

    /// An instant `secs` seconds after the epoch, saturating at [`Instant::MAX`].
    #[must_use]
    pub const fn from_secs(secs: u64) -> Self {
        Instant(secs.saturating_mul(NANOS_PER_SEC))
    }

    /// Nanoseconds since the epoch.
    #[must_use]
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// The span since the epoch.
    #[must_use]
    pub const fn since_epoch(self) -> Duration {
        nanos_to_duration(self.0)
    }

    /// `self - earlier`, or zero if `earlier` is later (a clock that went backwards).
    #[must_use]
    pub const fn saturating_duration_since(self, earlier: Instant) -> Duration {
        nanos_to_duration(self.0.saturating_sub(earlier.0))
    }

    /// `self + d`, saturating at [`Instant::MAX`].
    #[must_use]
    pub const fn saturating_add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(duration_to_nanos(d)))
    }

    /// `self - d`, saturating at [`Instant::ZERO`].
    #[must_use]
    pub const fn saturating_sub(self, d: Duration) -> Instant {
        Instant(self.0.saturating_sub(duration_to_nanos(d)))
    }

    /// `self + d`, or `None` if that is past [`Instant::MAX`].
    #[must_use]
    pub const fn checked_add(self, d: Duration) -> Option<Instant> {
        let n = duration_to_nanos(d);
        match self.0.checked_add(n) {
            Some(v) if d.as_nanos() <= u64::MAX as u128 => Some(Instant(v)),
            _ => None,
        }
    }
}

impl core::ops::Add<Duration> for Instant {
    type Output = Instant;
    /// Saturating: adding [`Duration::MAX`] gives [`Instant::MAX`].
    fn add(self, rhs: Duration) -> Instant {
        self.saturating_add(rhs)
    }
}

impl core::ops::AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = self.saturating_add(rhs);
    }
}

impl core::ops::Sub<Duration> for Instant {
    type Output = Instant;
    /// Saturating at the epoch.
    fn sub(self, rhs: Duration) -> Instant {
        self.saturating_sub(rhs)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Instant({:?})", self.since_epoch())
    }
}

/// A wall-clock time: the span since 1970-01-01T00:00:00Z, ignoring leap seconds.
///
/// Only HTTP dates need the wall clock (`Retry-After: <date>`, `Date`,
/// `X-RateLimit-Reset`). Everything else runs on [`Instant`], which cannot
/// jump when an operator or NTP sets the clock.
///
/// ```
/// use relent::UnixTime;
/// let t = UnixTime::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
/// assert_eq!(t.as_secs(), 784_111_777);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug)]
pub struct UnixTime(Duration);

impl UnixTime {
    /// 1970-01-01T00:00:00Z.
    pub const EPOCH: UnixTime = UnixTime(Duration::ZERO);

    /// `secs` whole seconds after the Unix epoch.
    #[must_use]
    pub const fn from_secs(secs: u64) -> Self {
        UnixTime(Duration::from_secs(secs))
    }

    /// The given span after the Unix epoch.
    #[must_use]
    pub const fn from_duration(since_epoch: Duration) -> Self {
        UnixTime(since_epoch)
    }

    /// Whole seconds since the epoch (sub-second part dropped).
    #[must_use]
    pub const fn as_secs(self) -> u64 {
        self.0.as_secs()
    }

    /// The span since the epoch.
    #[must_use]
    pub const fn since_epoch(self) -> Duration {
        self.0
    }

    /// `self - earlier`, or zero if `earlier` is later.
    #[must_use]
    pub const fn saturating_duration_since(self, earlier: UnixTime) -> Duration {
        self.0.saturating_sub(earlier.0)
    }

    /// `self + d`, saturating.
    #[must_use]
    pub const fn saturating_add(self, d: Duration) -> UnixTime {
        UnixTime(self.0.saturating_add(d))
    }
}

#[cfg(feature = "std")]
impl From<std::time::SystemTime> for UnixTime {
    /// Times before 1970 map to the epoch.
    fn from(t: std::time::SystemTime) -> Self {
        UnixTime(
            t.duration_since(std::time::UNIX_EPOCH)
                .unwrap_or(Duration::ZERO),
        )
    }
}

#[cfg(feature = "std")]
impl From<UnixTime> for std::time::SystemTime {
    fn from(t: UnixTime) -> Self {
        std::time::UNIX_EPOCH
            .checked_add(t.0)
            .unwrap_or(std::time::UNIX_EPOCH)
    }
}

/// A `Duration` as whole nanoseconds, saturating at `u64::MAX` (about 584 years).
#[must_use]
pub const fn duration_to_nanos(d: Duration) -> u64 {
    // `secs · 10⁹ + subsec` in `u64` steps (no `u128`): the sum fits exactly when
    // neither step overflows, and is above `u64::MAX` otherwise.
    match d.as_secs().checked_mul(NANOS_PER_SEC) {
        Some(n) => match n.checked_add(d.subsec_nanos() as u64) {
            Some(n) => n,
            None => u64::MAX,
        },
        None => u64::MAX,
    }
}

/// Whole nanoseconds as a `Duration`.
#[must_use]
pub const fn nanos_to_duration(n: u64) -> Duration {
    // `from_nanos` splits with one divide and has no overflow branch (unlike
    // `Duration::new`, which must carry nanoseconds above 10⁹ into the seconds).
    Duration::from_nanos(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backwards_clock_is_zero_not_panic() {
        let a = Instant::from_secs(10);
        let b = Instant::from_secs(5);
        assert_eq!(b.saturating_duration_since(a), Duration::ZERO);
        assert_eq!(a.saturating_duration_since(b), Duration::from_secs(5));
    }

    #[test]
    fn extremes_saturate() {
        assert_eq!(Instant::MAX + Duration::MAX, Instant::MAX);
        assert_eq!(Instant::ZERO - Duration::MAX, Instant::ZERO);
        assert_eq!(Instant::ZERO.checked_add(Duration::MAX), None);
        assert_eq!(Instant::from_secs(u64::MAX), Instant::MAX);
        assert_eq!(duration_to_nanos(Duration::MAX), u64::MAX);
        assert_eq!(
            UnixTime::from_secs(u64::MAX).saturating_add(Duration::MAX),
            UnixTime::from_duration(Duration::MAX)
        );
    }

    #[test]
    fn nanos_round_trip() {
        for n in [0, 1, 999_999_999, 1_000_000_000, u64::MAX] {
            assert_eq!(duration_to_nanos(nanos_to_duration(n)), n);
        }
    }
}
