//! One meaning of "attempts": tries, the first included. The retries are named apart.
//!
//! [`RetryPolicy::max_attempts`] counts tries; [`max_retries`](RetryPolicy::max_retries)
//! is the same limit counted as retries (tries − 1), and a backoff's
//! [`max_delays`](crate::backoff::BackoffPolicy::max_delays) counts waits (also tries − 1,
//! but ignored inside a policy, whose `max_attempts` wins).

use crate::backoff::BackoffPolicy;
use crate::retry::RetryPolicy;
use crate::retry::policy::attempts;

impl<C> RetryPolicy<C> {
    /// The most retries after the first try: [`max_attempts`](Self::max_attempts) − 1,
    /// which is also the most backoff waits an operation makes.
    ///
    /// ```
    /// use relent::retry::RetryPolicy;
    /// let kube = RetryPolicy::kube_client();
    /// assert_eq!((kube.max_attempts.get(), kube.max_retries()), (4, 3));
    /// ```
    #[must_use]
    pub const fn max_retries(&self) -> u32 {
        self.max_attempts.get().saturating_sub(1)
    }

    /// The same policy allowing `retries` retries after the first try, i.e.
    /// `retries + 1` attempts (saturating at `u32::MAX` attempts). What reqwest-retry's
    /// `build_with_max_retries(n)` and kube's "3 retries" count.
    ///
    /// ```
    /// use relent::retry::RetryPolicy;
    /// let p = RetryPolicy::default().with_max_retries(3);
    /// assert_eq!(p.max_attempts.get(), 4);
    /// assert_eq!(p, RetryPolicy::default().with_max_attempts(4));
    /// ```
    #[must_use]
    pub const fn with_max_retries(mut self, retries: u32) -> Self {
        self.max_attempts = attempts(retries.saturating_add(1));
        self
    }

    /// The same policy with its own delays after throttling (a 429, or any outcome
    /// judged [`RetryKind::Throttled`](crate::retry::RetryKind::Throttled)); `None`: the
    /// main [`backoff`](Self::backoff) serves every retry. The two schedules advance
    /// separately, and as with `backoff`, only the delays count: the policy's
    /// `max_attempts` and `deadline` are the limits.
    ///
    /// ```
    /// use core::time::Duration;
    /// use relent::backoff::BackoffBuilder;
    /// use relent::retry::RetryPolicy;
    /// let slow = BackoffBuilder::constant(Duration::from_secs(5)).build()?;
    /// let p = RetryPolicy::default().with_throttled_backoff(Some(slow));
    /// assert_eq!(p.throttled_backoff, Some(slow));
    /// # Ok::<(), relent::BackoffError>(())
    /// ```
    #[must_use]
    pub const fn with_throttled_backoff(mut self, backoff: Option<BackoffPolicy>) -> Self {
        self.throttled_backoff = backoff;
        self
    }
}

#[cfg(test)]
mod tests {
    use core::time::Duration;

    use crate::backoff::BackoffBuilder;
    use crate::retry::{Action, Outcome, Retry, RetryKind, RetryPolicy, WaitReason};
    use crate::time::Instant;

    fn wait(
        op: &mut Retry<&RetryPolicy>,
        now: Instant,
        outcome: Outcome,
    ) -> (Duration, WaitReason) {
        assert!(matches!(op.poll(now), Action::Send { .. }));
        op.handle_outcome(now, outcome);
        match op.poll(now) {
            Action::Wait { until, reason } => (until.saturating_duration_since(now), reason),
            other => panic!("expected a wait, got {other:?}"),
        }
    }

    /// A 429 (throttled) waits on the throttled schedule, a 503 (transient) on the main
    /// one, and each schedule advances only with its own kind.
    #[test]
    fn throttled_outcomes_use_the_throttled_schedule() {
        let main = BackoffBuilder::exponential(Duration::from_millis(100))
            .build()
            .unwrap();
        let throttled = BackoffBuilder::exponential(Duration::from_secs(2))
            .build()
            .unwrap();
        let policy = RetryPolicy::default()
            .with_max_attempts(10)
            .with_backoff(main)
            .with_throttled_backoff(Some(throttled));
        let mut now = Instant::ZERO;
        let mut op = Retry::new(&policy, 1, now);
        let steps = [
            (
                Outcome::throttled(None),
                Duration::from_secs(2),
                RetryKind::Throttled,
            ),
            (
                Outcome::transient(),
                Duration::from_millis(100),
                RetryKind::Transient,
            ),
            (
                Outcome::throttled(None),
                Duration::from_secs(4),
                RetryKind::Throttled,
            ),
            (
                Outcome::transient(),
                Duration::from_millis(200),
                RetryKind::Transient,
            ),
            (
                Outcome::transient(),
                Duration::from_millis(400),
                RetryKind::Transient,
            ),
        ];
        for (outcome, expected, kind) in steps {
            let (delay, reason) = wait(&mut op, now, outcome);
            assert_eq!(delay, expected);
            assert_eq!(reason, WaitReason::Backoff(kind));
            now += delay;
        }

        // Without a throttled schedule, a 429 waits on the main one.
        let plain = policy.clone().with_throttled_backoff(None);
        let mut op = Retry::new(&plain, 1, Instant::ZERO);
        let (delay, _) = wait(&mut op, Instant::ZERO, Outcome::throttled(None));
        assert_eq!(delay, Duration::from_millis(100));
    }

    #[test]
    fn retries_are_attempts_minus_one() {
        let p = RetryPolicy::default();
        assert_eq!(p.max_retries(), 2);
        assert_eq!(p.clone().with_max_retries(0).max_attempts.get(), 1);
        assert_eq!(
            p.clone().with_max_retries(u32::MAX).max_attempts.get(),
            u32::MAX
        );
        assert_eq!(p.with_max_attempts(0).max_retries(), 0);
        assert_eq!(RetryPolicy::kube_watcher().max_retries(), u32::MAX - 1);
    }
}
