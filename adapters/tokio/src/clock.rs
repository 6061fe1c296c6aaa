//! The only place relent-tokio reads a clock.
//!
//! The core works on [`relent::Instant`]: nanoseconds from an epoch the driver
//! chooses. This module fixes that epoch once per process (the first time any
//! clock is read) and maps tokio's [`tokio::time::Instant`] to it and back, so
//! instants recorded by one task (a Retry-After deadline in a shared table) mean
//! the same thing to every other task.
//!
//! Reading tokio's clock rather than `std`'s makes `tokio::time::pause()` work:
//! under paused time, [`now`] advances only when the test runtime advances it.

use std::sync::OnceLock;

use relent::{Instant, UnixTime};

static EPOCH: OnceLock<tokio::time::Instant> = OnceLock::new();

fn epoch() -> tokio::time::Instant {
    *EPOCH.get_or_init(tokio::time::Instant::now)
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
        .unwrap_or_else(|| base + std::time::Duration::from_secs(86_400 * 365 * 30))
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
    use std::time::Duration;

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
}
