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
        saturating_sub(self.0, earlier.0)
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
    mul_add_saturating(d.as_secs(), NANOS_PER_SEC, d.subsec_nanos() as u64)
}

/// `a · b + c`, saturating at `u64::MAX` (every term is non-negative, so it saturates
/// exactly when the true value exceeds `u64::MAX`).
///
/// In line on hosted targets. On bare-metal targets (`target_os = "none"`) one shared
/// out-of-line copy: a 64-bit multiply with its overflow check is a long sequence on a
/// 32-bit core, and the time conversions and the calendar need it in many places.
#[cfg_attr(not(target_os = "none"), inline(always))]
#[cfg_attr(target_os = "none", inline(never))]
#[must_use]
pub(crate) const fn mul_add_saturating(a: u64, b: u64, c: u64) -> u64 {
    #[cfg(not(target_os = "none"))]
    return a.saturating_mul(b).saturating_add(c);
    #[cfg(target_os = "none")]
    return mul_add_wide(a, b, c);
}

/// [`mul_add_saturating`] through the exact 128-bit value (`a·b + c < 2¹²⁸`): on 32-bit
/// cores a widening multiply and one compare are less code than an overflow-checked
/// 64-bit multiply and a saturating add.
#[cfg(any(target_os = "none", test))]
#[inline(always)]
const fn mul_add_wide(a: u64, b: u64, c: u64) -> u64 {
    let p = widening_mul(a, b).wrapping_add(c as u128);
    if p > u64::MAX as u128 {
        u64::MAX
    } else {
        p as u64
    }
}

/// Whole nanoseconds as a `Duration`.
#[must_use]
pub const fn nanos_to_duration(n: u64) -> Duration {
    // `from_nanos` splits with one divide and has no overflow branch (unlike
    // `Duration::new`, which must carry nanoseconds above 10⁹ into the seconds).
    #[cfg(not(target_os = "none"))]
    return Duration::from_nanos(n);
    // Bare metal: the split by the shared divider (no `u64` division routine). The
    // remainder is below 10⁹, so no carry is due.
    #[cfg(target_os = "none")]
    {
        let (secs, nanos) = div_rem(n, NANOS_PER_SEC);
        duration_from_parts(secs, nanos as u32)
    }
}

/// `Duration::new(secs, nanos)` for `nanos` below 10⁹ (every caller's), without the
/// carry branch that `Duration::new` keeps for larger ones.
///
/// The branch divides a `u32` by 10⁹, which on cores without a divide instruction
/// (Cortex-M0) links the library's 32-bit division routine, about 440 bytes. Here the
/// test is ours: past it, `Duration::new` (in line: this is its only caller on
/// bare-metal targets) has nothing left to carry, and the divide is dead code. A
/// `nanos` of 10⁹ or more, which no caller passes, gives whole seconds, never a panic.
#[cfg(any(target_os = "none", test))]
#[cfg_attr(target_os = "none", inline(never))]
#[must_use]
pub(crate) const fn duration_from_parts(secs: u64, nanos: u32) -> Duration {
    if nanos < NANOS_PER_SEC as u32 {
        Duration::new(secs, nanos)
    } else {
        Duration::from_secs(secs)
    }
}

/// `a.saturating_sub(b)`.
///
/// On bare-metal targets (`target_os = "none"`) the difference of the parts, with the
/// borrow by a compare, built by `duration_from_parts`: `Duration::saturating_sub`
/// builds its result with `Duration::new`, whose carry branch links a division routine
/// (see there). Elsewhere `Duration::saturating_sub` itself.
#[must_use]
pub(crate) const fn saturating_sub(a: Duration, b: Duration) -> Duration {
    #[cfg(not(target_os = "none"))]
    return a.saturating_sub(b);
    #[cfg(target_os = "none")]
    return saturating_sub_by_parts(a, b);
}

/// [`saturating_sub`] part by part: `Duration::ZERO` when `b > a`.
#[cfg(any(target_os = "none", test))]
#[inline]
const fn saturating_sub_by_parts(a: Duration, b: Duration) -> Duration {
    let (mut secs, nanos) = (a.as_secs(), a.subsec_nanos());
    let Some(s) = secs.checked_sub(b.as_secs()) else {
        return Duration::ZERO;
    };
    secs = s;
    let nanos = match nanos.checked_sub(b.subsec_nanos()) {
        Some(n) => n,
        None => {
            // Borrow one second: both parts are below 10⁹, so the sum is too.
            let Some(s) = secs.checked_sub(1) else {
                return Duration::ZERO;
            };
            secs = s;
            nanos
                .wrapping_add(NANOS_PER_SEC as u32)
                .wrapping_sub(b.subsec_nanos())
        }
    };
    duration_from_parts(secs, nanos)
}

/// `a · b`, exactly, as a `u128`.
///
/// In line on hosted targets. On bare-metal targets (`target_os = "none"`) one shared
/// out-of-line copy: a 64×64-bit product is several multiplies on a 32-bit core (calls
/// to a multiply routine on Cortex-M0), and the jitter draw, the growth factor and the
/// saturating multiply-add all need one.
#[cfg_attr(not(target_os = "none"), inline(always))]
#[cfg_attr(target_os = "none", inline(never))]
#[must_use]
pub(crate) const fn widening_mul(a: u64, b: u64) -> u128 {
    (a as u128).wrapping_mul(b as u128)
}

/// `(n / d, n % d)`; `(u64::MAX, n)` for `d = 0`, which no caller passes (every divisor
/// is a non-zero constant or a checked range).
///
/// In line on hosted targets, where a constant divisor compiles to a multiply and a shift.
/// On bare-metal targets (`target_os = "none"`) one out-of-line shift-and-subtract loop
/// ([`div_rem_by_shifts`]) serves every `u64` division of the core: 32-bit cores have no
/// 64-bit divide instruction, and the library routine it replaces costs about 0.9 KiB of
/// flash; the loop costs about 60 bytes and 64 short steps per division.
#[cfg(not(target_os = "none"))]
#[inline(always)]
#[must_use]
pub(crate) const fn div_rem(n: u64, d: u64) -> (u64, u64) {
    match (n.checked_div(d), n.checked_rem(d)) {
        (Some(q), Some(r)) => (q, r),
        _ => (u64::MAX, n),
    }
}

/// `(n / d, n % d)` on bare-metal targets: see the hosted [`div_rem`].
#[cfg(target_os = "none")]
#[inline(always)]
#[must_use]
pub(crate) const fn div_rem(n: u64, d: u64) -> (u64, u64) {
    div_rem_by_shifts(n, d)
}

/// `(n / d, n % d)` for `u32`; `(u32::MAX, n)` for `d = 0`, which no caller passes
/// (every divisor is a non-zero constant).
///
/// In line where the core divides (or multiplies and shifts for a constant divisor). On
/// bare-metal ARM cores without atomic compare-and-swap, the ARMv6-M (Cortex-M0/M0+/M1)
/// class and older (`target_os = "none"`, `target_arch = "arm"`, no
/// `target_has_atomic = "ptr"`), one out-of-line shift-and-subtract loop
/// (`div_rem_u32_by_shifts`) serves every `u32` division of the calendar: those cores
/// have neither a divide instruction nor the widening multiply of the multiply-and-shift
/// form, so each division would call the library's 32-bit division routine (about 440
/// bytes of flash, against about 40 for the loop).
#[cfg(not(all(
    target_os = "none",
    target_arch = "arm",
    not(target_has_atomic = "ptr")
)))]
#[inline(always)]
#[must_use]
pub(crate) const fn div_rem_u32(n: u32, d: u32) -> (u32, u32) {
    match (n.checked_div(d), n.checked_rem(d)) {
        (Some(q), Some(r)) => (q, r),
        _ => (u32::MAX, n),
    }
}

/// `(n / d, n % d)` for `u32` on bare-metal ARMv6-M-class cores: see the other
/// [`div_rem_u32`].
#[cfg(all(
    target_os = "none",
    target_arch = "arm",
    not(target_has_atomic = "ptr")
))]
#[inline(always)]
#[must_use]
pub(crate) const fn div_rem_u32(n: u32, d: u32) -> (u32, u32) {
    div_rem_u32_by_shifts(n, d)
}

/// Writes one shift-and-subtract divider for an unsigned integer type: `$bits` steps,
/// one quotient bit per step, most significant first; `(MAX, n)` for `d = 0`.
///
/// The remainder `r` is below `d` before each step; the step doubles it and brings in
/// the next bit of `n` (`2r + 1 < 2d`), so one conditional subtraction restores
/// `r < d`. `2r + 1` may need one bit more than the type when `d` is above half its
/// range: the bit shifted out of `r` then says the subtraction is due, and the wrapping
/// subtraction gives the exact remainder. `q` starts as `n` and takes in one quotient
/// bit at the bottom per step, while the bits of `n` leave at the top into `r`.
///
/// A macro because a `const fn` cannot be generic over the integer type.
macro_rules! shift_divider {
    ($(#[$attr:meta])* $name:ident, $int:ty, $bits:literal) => {
        $(#[$attr])*
        #[must_use]
        pub(crate) const fn $name(n: $int, d: $int) -> ($int, $int) {
            let (mut q, mut r) = (n, 0);
            let mut step = 0u32;
            while step < $bits {
                let carry = r >> ($bits - 1);
                r = (r << 1) | (q >> ($bits - 1));
                q <<= 1;
                if carry != 0 || r >= d {
                    r = r.wrapping_sub(d);
                    q |= 1;
                }
                step = step.wrapping_add(1);
            }
            (q, r)
        }
    };
}

shift_divider!(
    /// [`div_rem_by_shifts`] for `u32`: 32 steps; `(u32::MAX, n)` for `d = 0`.
    #[cfg(any(
        all(
            target_os = "none",
            target_arch = "arm",
            not(target_has_atomic = "ptr")
        ),
        test
    ))]
    #[cfg_attr(target_os = "none", inline(never))]
    div_rem_u32_by_shifts,
    u32,
    32
);

shift_divider!(
    /// `(n / d, n % d)` by binary long division (see `shift_divider!`): 64 steps;
    /// `(u64::MAX, n)` for `d = 0`.
    #[cfg(any(target_os = "none", test))]
    #[cfg_attr(target_os = "none", inline(never))]
    div_rem_by_shifts,
    u64,
    64
);

#[cfg(test)]
mod tests {
    extern crate std;
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

    /// The shift-and-subtract divider (every `u64` division on bare-metal targets) against
    /// the hardware one: edges, and the divisors the core uses over random numerators.
    #[test]
    fn divider_matches_hardware_division() {
        let edges = [
            0,
            1,
            2,
            3,
            7,
            999_999,
            1_000_000,
            999_999_999,
            1_000_000_000,
        ];
        let mut ns: std::vec::Vec<u64> = edges.to_vec();
        ns.extend([
            u64::MAX,
            u64::MAX - 1,
            1 << 63,
            (1 << 63) - 1,
            (1 << 63) + 1,
        ]);
        let mut x = 0x1234_5678_9abc_def0u64;
        for _ in 0..20_000 {
            // xorshift64: numerators of every magnitude.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ns.push(x);
            ns.push(x >> (x % 64));
        }
        let mut ds = ns.clone();
        ds.truncate(2_000);
        ds.extend([4, 5, 12, 100, 146_097, 86_400, 400, 1_460, 36_524, 153]);
        for &d in &ds {
            for &n in ns.iter().take(if d < 2 { 64 } else { 2_000 }) {
                let want = match (n.checked_div(d), n.checked_rem(d)) {
                    (Some(q), Some(r)) => (q, r),
                    _ => (u64::MAX, n),
                };
                assert_eq!(div_rem_by_shifts(n, d), want, "{n} / {d}");
                assert_eq!(div_rem(n, d), want, "{n} / {d}");
            }
        }
        for &n in &ns {
            for d in [NANOS_PER_SEC, 1_000_000] {
                assert_eq!(div_rem_by_shifts(n, d), (n / d, n % d));
            }
        }
    }

    /// The `u32` shift-and-subtract divider (every calendar division on bare-metal
    /// targets) against the hardware one: edges, and the calendar's divisors over every
    /// numerator they see and random ones.
    #[test]
    fn u32_divider_matches_hardware_division() {
        let mut ns: std::vec::Vec<u32> = (0..300_000).collect();
        ns.extend([
            u32::MAX,
            u32::MAX - 1,
            1 << 31,
            (1 << 31) - 1,
            (1 << 31) + 1,
        ]);
        let mut x = 0x9abc_def0u32;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            ns.push(x);
            ns.push(x >> (x % 32));
        }
        let calendar = [
            4, 5, 7, 12, 100, 153, 365, 400, 1_460, 36_524, 146_096, 146_097,
        ];
        for &d in &calendar {
            for &n in &ns {
                assert_eq!(div_rem_u32_by_shifts(n, d), (n / d, n % d), "{n} / {d}");
                assert_eq!(div_rem_u32(n, d), (n / d, n % d), "{n} / {d}");
            }
        }
        let mut ds: std::vec::Vec<u32> = ns.iter().copied().skip(299_000).collect();
        ds.extend([0, 1, 2, 3, u32::MAX, 1 << 31]);
        for &d in &ds {
            for &n in ns.iter().skip(299_990).take(2_000) {
                let want = match (n.checked_div(d), n.checked_rem(d)) {
                    (Some(q), Some(r)) => (q, r),
                    _ => (u32::MAX, n),
                };
                assert_eq!(div_rem_u32_by_shifts(n, d), want, "{n} / {d}");
                assert_eq!(div_rem_u32(n, d), want, "{n} / {d}");
            }
        }
    }

    /// `saturating_sub` part by part equals `Duration::saturating_sub`.
    #[test]
    fn saturating_sub_by_parts_matches_duration() {
        let secs = [0, 1, 2, 784_111_777, u64::MAX - 1, u64::MAX];
        let nanos = [0, 1, 500_000_000, 999_999_998, 999_999_999];
        for &sa in &secs {
            for &na in &nanos {
                for &sb in &secs {
                    for &nb in &nanos {
                        let (a, b) = (Duration::new(sa, na), Duration::new(sb, nb));
                        assert_eq!(saturating_sub_by_parts(a, b), a.saturating_sub(b));
                        assert_eq!(saturating_sub(a, b), a.saturating_sub(b));
                    }
                }
            }
        }
        for n in [0, 1, 999_999_999, 1_000_000_000, u32::MAX] {
            assert_eq!(
                duration_from_parts(7, n),
                if n < 1_000_000_000 {
                    Duration::new(7, n)
                } else {
                    Duration::from_secs(7)
                }
            );
        }
    }

    /// Both ways of the saturating multiply-add agree, at the overflow edge and anywhere.
    #[test]
    fn multiply_add_paths_agree() {
        let mut x = 0x0123_4567_89ab_cdefu64;
        let mut values = std::vec![
            0,
            1,
            2,
            3,
            10,
            86_400,
            NANOS_PER_SEC,
            u64::MAX,
            u64::MAX - 1
        ];
        values.extend([
            u64::MAX / NANOS_PER_SEC,
            u64::MAX / NANOS_PER_SEC + 1,
            1 << 32,
        ]);
        for _ in 0..300 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(x >> (x % 64));
        }
        for &a in &values {
            for &b in &values {
                for c in [0, 1, 999_999_999, u64::MAX, b] {
                    let want = a.saturating_mul(b).saturating_add(c);
                    assert_eq!(mul_add_wide(a, b, c), want, "{a} {b} {c}");
                    assert_eq!(mul_add_saturating(a, b, c), want);
                }
            }
        }
    }

    #[test]
    fn nanos_round_trip() {
        for n in [0, 1, 999_999_999, 1_000_000_000, u64::MAX] {
            assert_eq!(duration_to_nanos(nanos_to_duration(n)), n);
        }
    }
}
