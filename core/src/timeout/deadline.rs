//! Overall deadlines: how long one attempt may take, and whether a wait still fits.
//!
//! An operation may carry an overall deadline covering every attempt and
//! every wait between them. Each attempt then gets `min(per-try, time left)`,
//! and a wait that would end at or past the deadline is never started: the
//! caller gives up at once, instead of sleeping only to find no time left.
//!
//! A deadline of `Some(Instant::MAX)` means the same as `None` ("never"), the
//! convention of [`Instant::MAX`]; `now + Duration::MAX` saturates there, so a
//! driver that computes "start + forever" gets "no deadline", not a 584-year
//! limit. Every computation saturates: `Duration::MAX`, `Instant::MAX` and a
//! `now` later than the deadline (including a clock that went backwards
//! between calls) never panic.

use core::time::Duration;

use crate::time::Instant;

/// Time left until `deadline`, or `None` when there is no deadline.
///
/// ```text
/// time_left(None, now)         = None
/// time_left(Some(MAX), now)    = None            // MAX means never
/// time_left(Some(d), now)      = Some(d - now)   // saturating: 0 once now >= d
/// ```
///
/// ```
/// use core::time::Duration;
/// use relent::Instant;
/// use relent::timeout::time_left;
///
/// let now = Instant::from_secs(10);
/// assert_eq!(time_left(Some(Instant::from_secs(12)), now), Some(Duration::from_secs(2)));
/// assert_eq!(time_left(Some(Instant::from_secs(8)), now), Some(Duration::ZERO));
/// assert_eq!(time_left(None, now), None);
/// ```
#[must_use]
pub const fn time_left(deadline: Option<Instant>, now: Instant) -> Option<Duration> {
    match deadline {
        Some(d) if d.as_nanos() != Instant::MAX.as_nanos() => {
            Some(d.saturating_duration_since(now))
        }
        _ => None,
    }
}

/// The limit for one attempt, combining a per-try timeout and an overall deadline.
///
/// Returned by [`attempt_timeout`]. Three outcomes, because "no limit" and
/// "no time left" must never be confused: the first means send without a
/// timer, the second means do not send at all.
///
/// ```
/// use core::time::Duration;
/// use relent::Instant;
/// use relent::timeout::{attempt_timeout, AttemptTimeout};
///
/// let now = Instant::from_secs(100);
/// let deadline = Some(Instant::from_secs(103));
/// // A 10 s per-try limit, but only 3 s remain.
/// assert_eq!(
///     attempt_timeout(Some(Duration::from_secs(10)), deadline, now),
///     AttemptTimeout::Limit(Duration::from_secs(3)),
/// );
/// // Nothing configured at all.
/// assert_eq!(attempt_timeout(None, None, now), AttemptTimeout::Unlimited);
/// // Too late.
/// assert_eq!(
///     attempt_timeout(None, deadline, Instant::from_secs(103)),
///     AttemptTimeout::DeadlinePassed,
/// );
/// ```
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AttemptTimeout {
    /// Neither a per-try timeout nor a deadline: run the attempt without a timer.
    Unlimited,
    /// Run the attempt, abandoning it after this long.
    Limit(Duration),
    /// The deadline is now or already behind us: do not start the attempt.
    DeadlinePassed,
}

impl AttemptTimeout {
    /// True for [`AttemptTimeout::DeadlinePassed`]: the caller must give up.
    #[must_use]
    pub const fn is_deadline_passed(&self) -> bool {
        matches!(self, AttemptTimeout::DeadlinePassed)
    }
}

/// How long the next attempt may run: `min(per_try, time left)`.
///
/// ```text
/// left = time_left(deadline, now)
/// left == Some(0)             -> DeadlinePassed      (now >= deadline)
/// per_try, left both None     -> Unlimited
/// otherwise                   -> Limit(min of the ones present)
/// ```
///
/// Laws: a `Limit(d)` has `d <= per_try` (when set) and `d <= time left`
/// (when there is a deadline), so `now + d <= deadline`: an attempt never
/// outlives the deadline. `DeadlinePassed` is returned exactly when a
/// deadline exists and `now >= deadline`. A per-try of zero yields
/// `Limit(0)`; it is a configuration the caller chose, not reinterpreted.
pub const fn attempt_timeout(
    per_try: Option<Duration>,
    deadline: Option<Instant>,
    now: Instant,
) -> AttemptTimeout {
    match (per_try, time_left(deadline, now)) {
        (_, Some(left)) if left.is_zero() => AttemptTimeout::DeadlinePassed,
        (None, None) => AttemptTimeout::Unlimited,
        (Some(p), None) => AttemptTimeout::Limit(p),
        (None, Some(left)) => AttemptTimeout::Limit(left),
        (Some(p), Some(left)) => {
            if p.as_nanos() <= left.as_nanos() {
                AttemptTimeout::Limit(p)
            } else {
                AttemptTimeout::Limit(left)
            }
        }
    }
}

/// Whether a wait (a backoff sleep, a Retry-After pause) may start.
///
/// Returned by [`check_wait`]; both outcomes report the time left *now*, so
/// a caller that gives up can say "asked to wait 10 s, 3 s left".
///
/// ```
/// use core::time::Duration;
/// use relent::Instant;
/// use relent::timeout::{check_wait, WaitCheck};
///
/// let now = Instant::from_secs(0);
/// let deadline = Some(Instant::from_secs(5));
/// assert_eq!(
///     check_wait(Duration::from_secs(2), deadline, now),
///     WaitCheck::Fits { time_left: Some(Duration::from_secs(5)) },
/// );
/// // Waking exactly at the deadline would leave no time to try: give up now.
/// assert_eq!(
///     check_wait(Duration::from_secs(5), deadline, now),
///     WaitCheck::ExceedsDeadline { time_left: Duration::from_secs(5) },
/// );
/// ```
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WaitCheck {
    /// The wait ends before the deadline; `time_left` is `None` without a deadline.
    Fits {
        /// Time left until the deadline, measured now (before waiting).
        time_left: Option<Duration>,
    },
    /// The wait would end at or past the deadline: give up at once instead.
    ExceedsDeadline {
        /// Time left until the deadline, measured now (zero if already passed).
        time_left: Duration,
    },
}

impl WaitCheck {
    /// True for [`WaitCheck::Fits`]: the wait may start.
    #[must_use]
    pub const fn fits(&self) -> bool {
        matches!(self, WaitCheck::Fits { .. })
    }
}

/// May a wait of `wait` start at `now` without running into `deadline`?
///
/// ```text
/// left = time_left(deadline, now)
/// left == None       -> Fits { time_left: None }
/// wait <  left       -> Fits { time_left: left }
/// wait >= left       -> ExceedsDeadline { time_left: left }
/// ```
///
/// The comparison is strict on purpose: a wait that ends exactly at the
/// deadline would be followed by [`AttemptTimeout::DeadlinePassed`], so
/// sleeping first would only delay the same failure. Law (consistency with
/// [`attempt_timeout`]): `check_wait(w, dl, now)` fits exactly when
/// `attempt_timeout(p, dl, now + w)` is not `DeadlinePassed`, for any `p`.
pub const fn check_wait(wait: Duration, deadline: Option<Instant>, now: Instant) -> WaitCheck {
    match time_left(deadline, now) {
        None => WaitCheck::Fits { time_left: None },
        Some(left) => {
            if wait.as_nanos() < left.as_nanos() {
                WaitCheck::Fits {
                    time_left: Some(left),
                }
            } else {
                WaitCheck::ExceedsDeadline { time_left: left }
            }
        }
    }
}
