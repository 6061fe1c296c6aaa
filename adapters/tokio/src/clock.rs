//! The only place relent-tokio reads a clock.
//!
//! The core works on [`relent::Instant`]: nanoseconds from an epoch the driver
//! chooses. This module fixes that epoch once per process and maps tokio's
//! [`tokio::time::Instant`] to it and back, so instants recorded by one task (a
//! Retry-After deadline in a shared table) mean the same thing to every other
//! task.
//!
//! The epoch is the earliest instant the platform's monotonic clock can
//! represent, or about 136 years before the first read if it can go further
//! back, found once by a binary search on `checked_sub` (nanoseconds in a
//! `u64` leave centuries of headroom either way). Every instant any runtime of the process will produce lies
//! after it, including those of a runtime whose paused clock started before
//! the first read here (tests run side by side in one process): none of them
//! is clamped.
//!
//! Reading tokio's clock rather than `std`'s makes `tokio::time::pause()` work:
//! under paused time, [`now`] advances only when the test runtime advances it.
//! tokio's timers have millisecond resolution and round up, so a wait until
//! `t` ends at the first millisecond tick at or after `t`.

use std::sync::OnceLock;
use std::time::Duration;

use relent::{Instant, UnixTime};

static EPOCH: OnceLock<tokio::time::Instant> = OnceLock::new();

fn epoch() -> tokio::time::Instant {
    *EPOCH.get_or_init(|| earliest_before(tokio::time::Instant::now()))
}

/// The earliest instant reachable from `t` by `checked_sub`, to the second
/// (at most `u32::MAX` seconds, about 136 years, back).
fn earliest_before(t: tokio::time::Instant) -> tokio::time::Instant {
    let (mut lo, mut hi) = (0u64, u64::from(u32::MAX));
    while lo < hi {
        // The upper middle, so that `lo = mid` always makes progress.
        let mid = hi.saturating_sub(hi.saturating_sub(lo) / 2);
        if t.checked_sub(Duration::from_secs(mid)).is_some() {
            lo = mid;
        } else {
            hi = mid.saturating_sub(1);
        }
    }
    t.checked_sub(Duration::from_secs(lo)).unwrap_or(t)
}

/// The current monotonic time, on tokio's clock, as a core [`Instant`].
///
/// Must be called from inside a tokio runtime when time is paused (as every
/// `tokio::time` function must).
#[must_use]
pub fn now() -> Instant {
    from_tokio(tokio::time::Instant::now())
}

/// The current wall-clock time, for HTTP dates (`Retry-After: <date>`, `Date`).
#[must_use]
pub fn unix_now() -> UnixTime {
    UnixTime::from(std::time::SystemTime::now())
}

/// A tokio instant as a core [`Instant`] (instants before the process epoch map to the epoch).
#[must_use]
pub fn from_tokio(t: tokio::time::Instant) -> Instant {
    let since = t.saturating_duration_since(epoch());
    Instant::from_nanos(u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
}

/// A core [`Instant`] as a tokio instant (saturating far in the future).
#[must_use]
pub fn to_tokio(t: Instant) -> tokio::time::Instant {
    let base = epoch();
    base.checked_add(t.since_epoch())
        // About 30 years ahead is "never" for a timer and cannot overflow tokio's clock.
        .unwrap_or_else(|| far_future(base))
}

/// About 30 years after `base`: "never" for a timer, without overflowing tokio's clock.
fn far_future(base: tokio::time::Instant) -> tokio::time::Instant {
    base.checked_add(Duration::from_secs(86_400 * 365 * 30))
        .unwrap_or(base)
}

/// Run `fut` until `deadline`: `Some(output)`, or `None` once the deadline has
/// passed (the future is then dropped). The future is polled before the timer,
/// so an outcome that is ready when the deadline passes still counts, and the
/// timer checks the clock before it is first polled ([`sleep_until`]). The
/// deadline is absolute, so time spent before the first poll counts against it.
pub async fn within<T>(fut: impl std::future::Future<Output = T>, deadline: Instant) -> Option<T> {
    let mut fut = std::pin::pin!(fut);
    let mut timer = std::pin::pin!(sleep_until(deadline));
    std::future::poll_fn(|cx| {
        if let std::task::Poll::Ready(v) = fut.as_mut().poll(cx) {
            return std::task::Poll::Ready(Some(v));
        }
        timer.as_mut().poll(cx).map(|()| None)
    })
    .await
}

/// Sleep until `deadline`, checking the clock first: a deadline that has
/// already passed returns at once, so it is never missed, and no timer is
/// registered for it.
pub async fn sleep_until(deadline: Instant) {
    if now() >= deadline {
        return;
    }
    tokio::time::sleep_until(to_tokio(deadline)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn round_trip_and_paused_advance() {
        let a = now();
        assert_eq!(from_tokio(to_tokio(a)), a);
        tokio::time::advance(Duration::from_millis(1500)).await;
        assert_eq!(
            now().saturating_duration_since(a),
            Duration::from_millis(1500)
        );
        // A deadline in the past returns without waiting.
        let before = tokio::time::Instant::now();
        sleep_until(a).await;
        assert_eq!(tokio::time::Instant::now(), before);
        // A far deadline does not overflow.
        let _ = to_tokio(Instant::MAX);
    }

    #[test]
    fn epoch_precedes_everything() {
        let t = tokio::time::Instant::now();
        let e = earliest_before(t);
        assert!(e <= t);
        // Either nothing representable lies a second earlier, or the search went the whole way back.
        assert!(
            e.checked_sub(Duration::from_secs(1)).is_none()
                || t.duration_since(e) == Duration::from_secs(u64::from(u32::MAX))
        );
        // So an instant from well before the first clock read is not clamped.
        if let Some(earlier) = t.checked_sub(Duration::from_secs(3_600)) {
            assert!(from_tokio(earlier) > Instant::ZERO);
            assert_eq!(
                from_tokio(t).saturating_duration_since(from_tokio(earlier)),
                Duration::from_secs(3_600)
            );
        }
    }
}

/// tokio's clock and timers as the core driver's [`Timer`](relent::drive::Timer): what
/// [`Retrier`](crate::Retrier) runs [`relent::drive::run`] with.
///
/// `sleep_until` rounds up (tokio's timer wakes at the first millisecond tick at or after
/// the instant), so the driver never wakes early.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokioTimer;

impl relent::drive::Timer for TokioTimer {
    #[inline]
    fn now(&self) -> Instant {
        now()
    }

    fn sleep_until(&self, until: Instant) -> impl std::future::Future<Output = ()> {
        sleep_until(until)
    }
}
