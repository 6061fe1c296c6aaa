//! Ready-made policies that reproduce well-known clients, each with its source.
//!
//! Every preset differs from its original in one deliberate way: the cap is
//! applied **after** jitter, so no delay exceeds the documented maximum (the
//! originals apply their maximum before jitter and can overshoot it). Each one
//! is an ordinary [`BackoffPolicy`]; derive variants with
//! [`BackoffPolicy::to_builder`]:
//!
//! ```
//! use relent::backoff::presets;
//!
//! let fewer = presets::kube_watcher().to_builder().max_delays(5).build()?;
//! assert_eq!(fewer.max_delays(), Some(5));
//! # Ok::<(), relent::backoff::BackoffError>(())
//! ```

use core::time::Duration;

use super::{BackoffPolicy, Factor, Jitter, Plan, Schedule};

/// kube-rs watcher backoff: 800 ms doubling to 30 s, jittered, reset after 120 s of quiet.
///
/// Source: kube-runtime `watcher::DefaultBackoff` (and `WatchStreamExt::default_backoff`):
/// `ResetTimerBackoff::new(ExponentialBackoff(800 ms, max 30 s, factor 2.0, jitter),
/// 120 s)`; the numbers come from client-go's reflector. No attempt or elapsed
/// limit: a watcher retries forever, and kube's `StreamBackoff` resets on every
/// successful event (call [`Backoff::reset`](super::Backoff::reset)).
///
/// Jitter: kube has used two distributions, both of which can exceed 30 s:
/// `d × U[0, 2]` (the `backoff` crate with `randomization_factor: 1.0`) and
/// `d × (1 + U[0, 1))` (backon's `with_jitter`, applied after its 30 s limit, so
/// plateau waits fall in [30 s, 60 s)). This preset uses [`Jitter::Equal`],
/// `delay ∈ [d/2, d]`: it keeps the 800 ms → 30 s band, never retries sooner
/// than half the schedule, never exceeds 30 s, and unlike `d × U[0, 2]` clamped
/// to the cap it puts no pile of clients exactly on 30 s.
///
/// The quiet period is measured from the end of the last wait (kube measures
/// from the last request; with waits of at most 30 s the two differ by at most
/// that wait).
#[must_use]
pub const fn kube_watcher() -> BackoffPolicy {
    BackoffPolicy {
        schedule: Schedule::Exponential {
            base: Duration::from_millis(800),
            factor: Factor::TWO,
        },
        jitter: Jitter::Equal,
        floor: Duration::ZERO,
        cap: Duration::from_secs(30),
        max_delays: None,
        max_elapsed: None,
        reset_after_quiet: Some(Duration::from_secs(120)),
        plan: Plan::UNPLANNED,
    }
    .planned()
}

/// gRPC connection backoff: 1 s × 1.6 per attempt, ±20% jitter, at most 120 s.
///
/// Source: grpc/grpc `doc/connection-backoff.md`: `INITIAL_BACKOFF = 1 second`,
/// `MULTIPLIER = 1.6`, `JITTER = 0.2`, `MAX_BACKOFF = 120 seconds`, i.e.
/// `current_backoff = min(current_backoff × MULTIPLIER, MAX_BACKOFF)` and a
/// deadline of `current_backoff × (1 + U[−0.2, 0.2])` (so up to 144 s there;
/// clamped to 120 s here). The 1.6 factor is exact in fixed point: 1 s, 1.6 s,
/// 2.56 s, 4.096 s, …
///
/// Not modelled: `MIN_CONNECT_TIMEOUT = 20 seconds` is the minimum time given to
/// a connection *attempt* (a connect timeout for the driver), not a delay. The
/// document does not jitter its very first backoff; this preset jitters every
/// delay. No attempt limit: gRPC channels reconnect forever.
#[must_use]
pub const fn grpc_connection() -> BackoffPolicy {
    BackoffPolicy {
        schedule: Schedule::Exponential {
            base: Duration::from_secs(1),
            factor: Factor::from_millionths(1_600_000),
        },
        jitter: Jitter::Proportional(Factor::from_millionths(200_000)),
        floor: Duration::ZERO,
        cap: Duration::from_secs(120),
        max_delays: None,
        max_elapsed: None,
        reset_after_quiet: None,
        plan: Plan::UNPLANNED,
    }
    .planned()
}

/// AWS SDKs "standard" retry mode: full jitter on 1 s doubling, at most 20 s, 3 attempts.
///
/// Sources: AWS SDKs and Tools Reference Guide, "Retry behavior"
/// (`retry_mode = standard` makes `max_attempts = 3` attempts by default), and
/// botocore `retries/standard.py`: `t_i = rand(0, 1) × min(2^i, MAX_BACKOFF)`
/// with `_BASE = 2`, `_MAX_BACKOFF = 20` seconds and `i` the 0-based retry.
///
/// **3 attempts = 2 delays.** AWS counts requests: the first try plus two
/// retries (botocore retries while `attempt_number < max_attempts`). This
/// policy counts waits, so `max_delays` here is **2** (1st wait `U[0, 1 s]`,
/// 2nd `U[0, 2 s]`).
///
/// Not modelled here: the retry quota (token bucket) and the throttling vs
/// transient distinction belong to the retry machine; newer botocore
/// ("standard" v2.1) also scales the base to 50 ms for non-throttling errors.
#[must_use]
pub const fn aws_standard() -> BackoffPolicy {
    BackoffPolicy {
        schedule: Schedule::Exponential {
            base: Duration::from_secs(1),
            factor: Factor::TWO,
        },
        jitter: Jitter::Full,
        floor: Duration::ZERO,
        cap: Duration::from_secs(20),
        max_delays: Some(2),
        max_elapsed: None,
        reset_after_quiet: None,
        plan: Plan::UNPLANNED,
    }
    .planned()
}

/// cenkalti/backoff `ExponentialBackOff` defaults: 500 ms × 1.5, ±50%, at most 60 s, 15 min total.
///
/// Source: cenkalti/backoff `exponential.go` defaults: `DefaultInitialInterval =
/// 500 ms`, `DefaultRandomizationFactor = 0.5`, `DefaultMultiplier = 1.5`,
/// `DefaultMaxInterval = 60 s`, and `DefaultMaxElapsedTime = 15 min` (in v5 it
/// moved to `retry.go`, which stops when `elapsed + next > MaxElapsedTime`,
/// the same rule as [`max_elapsed`](BackoffPolicy::max_elapsed) here).
///
/// cenkalti applies `MaxInterval` to the interval before randomising, so its
/// waits reach 90 s; here they stop at 60 s.
#[must_use]
pub const fn cenkalti_default() -> BackoffPolicy {
    BackoffPolicy {
        schedule: Schedule::Exponential {
            base: Duration::from_millis(500),
            factor: Factor::from_millionths(1_500_000),
        },
        jitter: Jitter::Proportional(Factor::from_millionths(500_000)),
        floor: Duration::ZERO,
        cap: Duration::from_secs(60),
        max_delays: None,
        max_elapsed: Some(Duration::from_secs(15 * 60)),
        reset_after_quiet: None,
        plan: Plan::UNPLANNED,
    }
    .planned()
}

#[cfg(test)]
mod tests {
    use super::super::{Backoff, BackoffBuilder};
    use super::*;
    use crate::Instant;

    #[test]
    fn presets_pass_validation_and_match_the_builder() {
        for p in [
            kube_watcher(),
            grpc_connection(),
            aws_standard(),
            cenkalti_default(),
        ] {
            assert_eq!(p.validate(), Ok(()));
            assert_eq!(p.to_builder().build(), Ok(p));
        }
        let grpc = BackoffBuilder::exponential(Duration::from_secs(1))
            .factor(1.6)
            .proportional_jitter(0.2)
            .cap(Duration::from_secs(120))
            .build();
        assert_eq!(grpc, Ok(grpc_connection()));
        let cenkalti = BackoffBuilder::exponential(Duration::from_millis(500))
            .factor(1.5)
            .proportional_jitter(0.5)
            .cap(Duration::from_secs(60))
            .max_elapsed(Duration::from_secs(900))
            .build();
        assert_eq!(cenkalti, Ok(cenkalti_default()));
    }

    #[test]
    fn aws_makes_two_waits_within_one_and_two_seconds() {
        for seed in 0..200 {
            let mut b = Backoff::new(aws_standard(), seed);
            let first = b.next_delay(Instant::ZERO).unwrap();
            let second = b.next_delay(Instant::ZERO + first).unwrap();
            assert!(first <= Duration::from_secs(1));
            assert!(second <= Duration::from_secs(2));
            assert_eq!(b.next_delay(Instant::from_secs(5)), None);
        }
    }

    #[test]
    fn kube_band() {
        let p = kube_watcher();
        assert_eq!(p.nominal_delay(0), Duration::from_millis(800));
        assert_eq!(p.nominal_delay(5), Duration::from_millis(25_600));
        assert_eq!(p.nominal_delay(6), Duration::from_secs(30));
        let mut b = Backoff::new(p, 11);
        let mut now = Instant::ZERO;
        for n in 0..50u32 {
            let d = b.next_delay(now).unwrap();
            let nominal = p.nominal_delay(n);
            assert!(d >= nominal / 2 && d <= nominal, "{n}: {d:?}");
            now += d;
        }
    }

    #[test]
    fn cenkalti_stops_within_fifteen_minutes() {
        for seed in 0..50 {
            let mut b = Backoff::new(cenkalti_default(), seed);
            let start = Instant::from_secs(7);
            let mut now = start;
            while let Some(d) = b.next_delay(now) {
                assert!(d <= Duration::from_secs(60));
                now += d;
            }
            assert!(now.saturating_duration_since(start) <= Duration::from_secs(900));
            // ...and it did not stop early: one more 60 s wait would not have fit.
            assert!(
                now.saturating_duration_since(start) + Duration::from_secs(60)
                    > Duration::from_secs(900)
            );
        }
    }
}
