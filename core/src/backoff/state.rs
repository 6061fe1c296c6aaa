//! The running backoff: a policy plus the little state needed to walk it, fed with time.

use core::time::Duration;

use super::BackoffPolicy;
use super::policy::duration_gt;
use super::walk::Walk;
use crate::Instant;
use crate::time::duration_to_nanos;
use crate::time::nanos_to_duration;

/// A [`BackoffPolicy`] in motion: hands out one delay per failure, fed with the time.
///
/// Sans-IO: it never reads a clock and never sleeps. The caller passes `now`
/// (its own monotonic clock, as a [`relent::Instant`](crate::Instant)) to
/// [`next_delay`](Self::next_delay), waits the returned delay, tries again, and
/// calls [`reset`](Self::reset) after a success. Each call is O(1), allocates
/// nothing and uses only integer math; the same policy, seed and sequence of
/// `now` values give the same delays on every target.
///
/// For each call, in order:
///
/// 1. **Quiet reset.** If the policy has `reset_after_quiet = q` and
///    `now − quiet_from ≥ q`, where `quiet_from` is when the last handed-out
///    wait ended (`then + delay`; for a refused request, its `now`), start over
///    as [`reset`](Self::reset) would. kube-rs's `ResetTimerBackoff` measures
///    from the moment of the last request instead; measuring from the end of the
///    wait means a long wait can never count as quiet time by itself.
/// 2. **Start the clock.** The first call after construction or a reset
///    records `now` as the start for `max_elapsed`.
/// 3. **Exhausted stays exhausted.** Once `None` was returned, every later call
///    returns `None` until a reset (explicit or quiet).
/// 4. **Attempts.** With `max_delays = m`, the `m + 1`-th request returns `None`.
/// 5. **Delay.** `delay = clamp(jitter(min(d_n, cap)), floor, cap)` with `n` =
///    [`delays_taken`](Self::delays_taken).
/// 6. **Elapsed.** With `max_elapsed = e`, if `(now − start) + delay > e` the
///    wait would end past the limit: return `None` rather than a wait the caller
///    cannot use (as cenkalti/backoff v5 `Retry` does).
///
/// A clock that goes backwards is treated as standing still: the backoff keeps
/// the latest `now` it was given and uses `max(now, latest)`. So an earlier
/// `now` cannot panic, cannot trigger a quiet reset, and cannot buy more time
/// under `max_elapsed`.
///
/// ```
/// use core::time::Duration;
/// use relent::Instant;
/// use relent::backoff::{Backoff, BackoffBuilder};
///
/// let policy = BackoffBuilder::exponential(Duration::from_millis(100))
///     .cap(Duration::from_millis(350))
///     .max_delays(4)
///     .build()?;
/// let mut backoff = Backoff::new(policy, 7);
/// let mut now = Instant::ZERO;
/// let mut waits = Vec::new();
/// while let Some(d) = backoff.next_delay(now) {
///     waits.push(d.as_millis());
///     now += d; // the driver sleeps, then the attempt fails again
/// }
/// assert_eq!(waits, [100, 200, 350, 350]);
/// assert_eq!(backoff.delays_taken(), 4);
/// backoff.reset(); // after a success
/// assert_eq!(backoff.next_delay(now), Some(Duration::from_millis(100)));
/// # Ok::<(), relent::backoff::BackoffError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backoff {
    policy: BackoffPolicy,
    /// Where the schedule stands: step, previous delay and random stream.
    walk: Walk,
    /// Delays handed out since the start or the last reset, counted in a `u64` so that
    /// the in-line path counts one more with a plain add: it does so only after
    /// `taken < fast_limit <= u64::MAX`, so the add cannot wrap. The full path saturates
    /// (an unlimited backoff reaches `u64::MAX` after 2^64 − 1 delays, and goes on).
    /// [`delays_taken`](Backoff::delays_taken) reports it saturated to a `u32`.
    taken: u64,
    /// `max_delays` widened to `u64`, `u64::MAX` when unlimited, so one compare covers
    /// both cases.
    limit: u64,
    /// The limit the in-line path of [`next_delay`](Backoff::next_delay) compares with:
    /// `limit` without a time rule, `0` with one. A timed backoff thus fails the one
    /// compare on every call and takes the full path, and an untimed one pays nothing
    /// for the time rules it does not have.
    fast_limit: u64,
    /// True when the policy has a time rule (`max_elapsed`, or a quiet period short
    /// enough for an `Instant` difference to reach). Without one, `now` changes no
    /// answer, and a decision skips the clock bookkeeping (`latest`, `started`,
    /// `quiet_from`, which only those rules read).
    timed: bool,
    started: Option<Instant>,
    quiet_from: Option<Instant>,
    /// The latest `now` seen; survives resets, since it describes the clock.
    latest: Instant,
    exhausted: bool,
    /// The quiet period in ns: `None` when unset or longer than `u64::MAX` ns, which no
    /// `Instant` difference can reach.
    quiet_ns: Option<u64>,
}

impl Backoff {
    /// A fresh backoff for `policy`, with jitter drawn from `SplitMix64::new(seed)`.
    ///
    /// Give each client (or each request) its own seed, e.g. from OS entropy in
    /// the adapter, so that clients do not jitter alike; a fixed seed makes a
    /// test or simulation reproducible.
    ///
    /// In line, so that the policy is moved once, straight into the new backoff (an
    /// out-of-line constructor receives a copy and copies it again). Always in line on
    /// bare-metal targets (`target_os = "none"`), as is the builder's
    /// [`build`](super::BackoffBuilder::build) with the checks and the plan it runs: a
    /// policy built and handed over in one function is kept in registers and stack slots
    /// field by field and stored straight into the backoff, where a policy passed through
    /// memory is copied whole, by a call to `memcpy` (at `opt-level = "z"` any copy
    /// above 8 bytes is one) that links the library's copy routines (about 0.9 KiB on
    /// Cortex-M0).
    #[must_use]
    #[cfg_attr(not(target_os = "none"), inline)]
    #[cfg_attr(target_os = "none", inline(always))]
    pub const fn new(policy: BackoffPolicy, seed: u64) -> Backoff {
        // A quiet period above `MAX_DELAY` (`u64::MAX` ns) is one no `Instant` difference
        // can reach: compared as a `Duration`, without the `u128` product of `as_nanos`.
        let quiet_ns = match policy.reset_after_quiet {
            Some(q) if !duration_gt(q, BackoffPolicy::MAX_DELAY) => Some(duration_to_nanos(q)),
            _ => None,
        };
        let limit = match policy.max_delays {
            Some(max) => max as u64,
            None => u64::MAX,
        };
        let timed = quiet_ns.is_some() || policy.max_elapsed.is_some();
        Backoff {
            walk: Walk::new(&policy, seed),
            policy,
            taken: 0,
            limit,
            fast_limit: if timed { 0 } else { limit },
            timed,
            started: None,
            quiet_from: None,
            latest: Instant::ZERO,
            exhausted: false,
            quiet_ns,
        }
    }

    /// The wait before the next attempt, or `None` when the policy's limits are reached.
    ///
    /// `now` is the caller's monotonic time at the failure. See the type-level
    /// docs for the exact order of the rules.
    #[must_use = "the delay is the decision: wait it, or give up on `None`"]
    #[inline]
    pub fn next_delay(&mut self, now: Instant) -> Option<Duration> {
        // `taken < fast_limit` only without a time rule (a timed backoff has
        // `fast_limit = 0`): rules 1, 2 and 6 cannot apply, and rule 4 passes. Rule 3
        // needs no check of its own: without a time rule the only refusal is rule 4's,
        // and `taken` only falls on a reset, which also clears `exhausted`, so an
        // exhausted backoff still has `taken >= limit`.
        if self.taken >= self.fast_limit {
            // Tested here rather than in `next_delay_full`, so that a policy known to have
            // no time rule and a `max_delays` (a firmware's fixed policy) compiles the full
            // path away.
            if self.timed || self.policy.max_delays.is_none() {
                return self.next_delay_full(now);
            }
            self.exhausted = true;
            return None;
        }
        let delay_ns = self.walk.next_planned(&self.policy.plan);
        // taken < fast_limit <= u64::MAX: the add cannot wrap.
        self.taken = self.taken.wrapping_add(1);
        Some(nanos_to_duration(delay_ns))
    }

    /// [`next_delay`](Self::next_delay) when its one compare failed, for a policy with a
    /// time rule (every rule, in order), or an untimed, unlimited backoff whose count
    /// reached `u64::MAX`, which decides on through the same rules (without a time rule
    /// only rules 3 to 5 can act; the clock fields they set are read by no rule of its
    /// policy).
    #[inline(never)]
    fn next_delay_full(&mut self, now: Instant) -> Option<Duration> {
        // Integer nanoseconds throughout (the policy's numbers were converted at
        // construction); one conversion to `Duration` for the answer.
        let now = now.max(self.latest);
        self.latest = now;
        if let (Some(quiet), Some(from)) = (self.quiet_ns, self.quiet_from) {
            // `now − from ≥ quiet`, exactly: both sides are whole nanoseconds below 2^64.
            if now.as_nanos().saturating_sub(from.as_nanos()) >= quiet {
                self.reset();
            }
        }
        let started = *self.started.get_or_insert(now);
        if self.exhausted || self.at_limit() {
            return self.refuse(now);
        }
        // Draw and step with the call the in-line path makes (on bare-metal targets one
        // shared copy), then put the step back if rule 6 refuses the delay: the random
        // stream keeps the draw either way, exactly as a draw followed by a conditional
        // step would.
        let before = self.walk.position();
        let delay_ns = self.walk.next_planned(&self.policy.plan);
        if let Some(limit) = self.policy.max_elapsed {
            // `elapsed + delay > limit`, exactly, in nanoseconds.
            let elapsed_ns = now.as_nanos().saturating_sub(started.as_nanos());
            if u128::from(elapsed_ns).wrapping_add(u128::from(delay_ns)) > limit.as_nanos() {
                self.walk.rewind(before);
                return self.refuse(now);
            }
        }
        self.taken = self.taken.saturating_add(1);
        self.quiet_from = Some(Instant::from_nanos(now.as_nanos().saturating_add(delay_ns)));
        Some(nanos_to_duration(delay_ns))
    }

    /// Rule 4: `max_delays` delays were handed out. Never without `max_delays`: `limit` is
    /// `u64::MAX` then, and a count that reaches it (after 2^64 − 1 delays) stays there
    /// while the backoff goes on deciding, as the `u32` count it reports saturates.
    const fn at_limit(&self) -> bool {
        self.taken >= self.limit && self.policy.max_delays.is_some()
    }

    /// Start over from the first delay, as after a success.
    ///
    /// Clears the attempt count, the elapsed clock (the next request restarts
    /// it) and exhaustion. The random stream continues rather than restarting,
    /// so a reset client does not replay its earlier jitter.
    pub fn reset(&mut self) {
        self.walk.reset(&self.policy, self.policy.plan.base_ns);
        self.taken = 0;
        self.started = None;
        self.quiet_from = None;
        self.exhausted = false;
    }

    /// How many delays were handed out since construction or the last reset.
    #[must_use]
    pub const fn delays_taken(&self) -> u32 {
        if self.taken > u32::MAX as u64 {
            u32::MAX
        } else {
            self.taken as u32
        }
    }

    /// True once [`next_delay`](Self::next_delay) returned `None`, until the next reset.
    ///
    /// A quiet-period reset happens inside `next_delay`, so an exhausted backoff
    /// with `reset_after_quiet` may hand out delays again after a quiet period.
    #[must_use]
    pub const fn is_exhausted(&self) -> bool {
        self.exhausted
    }

    /// The policy this backoff runs.
    #[must_use]
    pub const fn policy(&self) -> &BackoffPolicy {
        &self.policy
    }

    /// Record exhaustion: the refused request still counts as activity for the quiet period.
    fn refuse(&mut self, now: Instant) -> Option<Duration> {
        self.exhausted = true;
        self.quiet_from = Some(now);
        None
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::backoff::{BackoffBuilder, Factor, Jitter};
    use std::vec::Vec;

    const MS: Duration = Duration::from_millis(1);

    fn run(b: &mut Backoff, start: Instant, max: usize) -> Vec<Duration> {
        let mut now = start;
        let mut out = Vec::new();
        while out.len() < max {
            match b.next_delay(now) {
                Some(d) => {
                    out.push(d);
                    now += d;
                }
                None => break,
            }
        }
        out
    }

    #[test]
    fn grpc_numbers_are_exact() {
        let p = BackoffBuilder::exponential(Duration::from_secs(1))
            .factor(1.6)
            .cap(Duration::from_secs(120))
            .build()
            .unwrap();
        let got = run(&mut Backoff::new(p, 0), Instant::ZERO, 12);
        let want: Vec<Duration> = [
            1_000_000_000u64,
            1_600_000_000,
            2_560_000_000,
            4_096_000_000,
            6_553_600_000,
            10_485_760_000,
            16_777_216_000,
            26_843_545_600,
            42_949_672_960,
            68_719_476_736,
            109_951_162_778, // 109.9511627776 s rounded up to the nanosecond
            120_000_000_000,
        ]
        .into_iter()
        .map(Duration::from_nanos)
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn max_delays_counts_delays() {
        let p = BackoffBuilder::constant(MS).max_delays(3).build().unwrap();
        let mut b = Backoff::new(p, 1);
        assert_eq!(run(&mut b, Instant::ZERO, 100).len(), 3);
        assert!(b.is_exhausted());
        assert_eq!(b.next_delay(Instant::from_secs(99)), None);
        b.reset();
        assert!(!b.is_exhausted());
        assert_eq!(run(&mut b, Instant::ZERO, 100).len(), 3);

        let never = BackoffBuilder::constant(MS).max_delays(0).build().unwrap();
        assert_eq!(Backoff::new(never, 1).next_delay(Instant::ZERO), None);
    }

    #[test]
    fn max_elapsed_refuses_a_wait_that_ends_late() {
        // 1 s, 2 s, 4 s: waits end at 1, 3, 7 s; the next (8 s) would end at 15 s > 10 s.
        let p = BackoffBuilder::exponential(Duration::from_secs(1))
            .max_elapsed(Duration::from_secs(10))
            .build()
            .unwrap();
        let mut b = Backoff::new(p, 1);
        let got = run(&mut b, Instant::from_secs(100), 100);
        assert_eq!(got, [1, 2, 4].map(Duration::from_secs));
        // Exhaustion is sticky even if a later request comes back in time.
        assert_eq!(b.next_delay(Instant::from_secs(100)), None);
    }

    #[test]
    fn max_elapsed_boundary_is_inclusive() {
        let p = BackoffBuilder::constant(Duration::from_secs(5))
            .max_elapsed(Duration::from_secs(10))
            .build()
            .unwrap();
        let got = run(&mut Backoff::new(p, 1), Instant::ZERO, 100);
        assert_eq!(got, [Duration::from_secs(5); 2]); // ends at exactly 10 s: allowed
    }

    #[test]
    fn quiet_period_resets_from_the_end_of_the_last_wait() {
        let p = BackoffBuilder::exponential(Duration::from_secs(1))
            .reset_after_quiet(Duration::from_secs(120))
            .build()
            .unwrap();
        let mut b = Backoff::new(p, 1);
        let t = Instant::from_secs(1_000);
        assert_eq!(b.next_delay(t), Some(Duration::from_secs(1)));
        assert_eq!(b.next_delay(t), Some(Duration::from_secs(2)));
        // Last wait ended at t + 2 s; 119 s after that is not quiet enough.
        let not_yet = t + Duration::from_secs(2 + 119);
        assert_eq!(b.next_delay(not_yet), Some(Duration::from_secs(4)));
        // That wait ended at not_yet + 4 s; 120 s after it the backoff starts over.
        let quiet = not_yet + Duration::from_secs(4 + 120);
        assert_eq!(b.next_delay(quiet), Some(Duration::from_secs(1)));
        assert_eq!(b.delays_taken(), 1);
    }

    #[test]
    fn quiet_period_revives_an_exhausted_backoff() {
        let p = BackoffBuilder::constant(Duration::from_secs(1))
            .max_delays(1)
            .reset_after_quiet(Duration::from_secs(60))
            .build()
            .unwrap();
        let mut b = Backoff::new(p, 1);
        assert!(b.next_delay(Instant::ZERO).is_some());
        assert_eq!(b.next_delay(Instant::from_secs(1)), None);
        // Still hammering: each refusal counts as activity.
        assert_eq!(b.next_delay(Instant::from_secs(50)), None);
        assert_eq!(b.next_delay(Instant::from_secs(109)), None);
        assert!(b.next_delay(Instant::from_secs(169)).is_some());
    }

    #[test]
    fn backwards_clock_is_harmless() {
        let p = BackoffBuilder::exponential(Duration::from_secs(1))
            .jitter(Jitter::Full)
            .max_elapsed(Duration::from_secs(30))
            .reset_after_quiet(Duration::from_secs(5))
            .build()
            .unwrap();
        let mut b = Backoff::new(p, 5);
        let _ = b.next_delay(Instant::from_secs(1_000));
        let _ = b.next_delay(Instant::from_secs(10));
        let _ = b.next_delay(Instant::ZERO);
        assert_eq!(
            b.delays_taken(),
            3,
            "going back neither resets nor exhausts"
        );
        // A jump to the end of time is a long quiet period: a fresh start.
        assert!(b.next_delay(Instant::MAX).is_some());
        assert_eq!(b.delays_taken(), 1);
    }

    #[test]
    fn backwards_clock_buys_no_elapsed_time() {
        let s = Duration::from_secs(1);
        let p = BackoffBuilder::linear(s * 2, s * 2)
            .max_elapsed(s * 10)
            .build()
            .unwrap();
        let mut b = Backoff::new(p, 0);
        assert_eq!(b.next_delay(Instant::from_secs(100)), Some(s * 2));
        assert_eq!(b.next_delay(Instant::from_secs(105)), Some(s * 4));
        // The clock jumps back to 50 s: still 5 s elapsed, and 5 s + 6 s > 10 s.
        assert_eq!(b.next_delay(Instant::from_secs(50)), None);
    }

    #[test]
    fn cap_is_applied_after_jitter() {
        let p = BackoffBuilder::constant(Duration::from_secs(10))
            .proportional_jitter(1.0)
            .floor(Duration::from_secs(2))
            .cap(Duration::from_secs(12))
            .build()
            .unwrap();
        let mut b = Backoff::new(p, 42);
        let mut hit_cap = false;
        let mut hit_floor = false;
        for _ in 0..2_000 {
            let d = b.next_delay(Instant::ZERO).unwrap();
            assert!(d >= Duration::from_secs(2) && d <= Duration::from_secs(12));
            hit_cap |= d == Duration::from_secs(12);
            hit_floor |= d == Duration::from_secs(2);
        }
        assert!(hit_cap && hit_floor);
    }

    #[test]
    fn decorrelated_follows_brooker() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(5);
        let p = BackoffBuilder::constant(base)
            .jitter(Jitter::Decorrelated)
            .cap(cap)
            .build()
            .unwrap();
        let mut b = Backoff::new(p, 3);
        let mut prev = base;
        let mut reached_cap = false;
        for _ in 0..200 {
            let d = b.next_delay(Instant::ZERO).unwrap();
            assert!(d >= base && d <= cap.min(prev * 3), "{d:?} after {prev:?}");
            reached_cap |= d == cap;
            prev = d;
        }
        assert!(reached_cap);
    }

    #[test]
    fn extremes_do_not_panic() {
        let p = BackoffBuilder::exponential(Duration::MAX)
            .factor_exact(Factor::MAX)
            .jitter(Jitter::Full)
            .max_delays(u32::MAX)
            .max_elapsed(Duration::MAX)
            .reset_after_quiet(Duration::MAX)
            .build()
            .unwrap();
        let mut b = Backoff::new(p, u64::MAX);
        for t in [0, u64::MAX, 0, u64::MAX] {
            let _ = b.next_delay(Instant::from_nanos(t));
        }
        let p = BackoffBuilder::fibonacci(Duration::MAX)
            .jitter(Jitter::Decorrelated)
            .floor(Duration::MAX)
            .build()
            .unwrap();
        let mut b = Backoff::new(p, 0);
        assert_eq!(
            b.next_delay(Instant::MAX),
            Some(nanos_to_duration(u64::MAX))
        );
    }

    #[test]
    fn unlimited_backoff_never_runs_out_of_count() {
        // An untimed and a timed policy without max_delays, their u64 count at its end.
        let untimed = BackoffBuilder::constant(MS).build().unwrap();
        let timed = BackoffBuilder::constant(MS)
            .reset_after_quiet(Duration::from_secs(3_600))
            .build()
            .unwrap();
        for p in [untimed, timed] {
            let mut b = Backoff::new(p, 0);
            b.taken = u64::MAX - 1;
            for _ in 0..3 {
                assert_eq!(b.next_delay(Instant::ZERO), Some(MS));
            }
            assert_eq!(b.delays_taken(), u32::MAX);
            assert!(!b.is_exhausted());
        }
    }

    #[test]
    fn attempt_counter_saturates() {
        let p = BackoffBuilder::constant(MS).build().unwrap();
        let mut b = Backoff::new(p, 0);
        b.taken = u64::from(u32::MAX - 1);
        assert!(b.next_delay(Instant::ZERO).is_some());
        assert!(b.next_delay(Instant::ZERO).is_some());
        assert_eq!(b.delays_taken(), u32::MAX);
    }
}
