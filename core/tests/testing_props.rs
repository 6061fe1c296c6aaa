//! Laws of `relent::testing` (feature `proptest`): the worst-case wait bounds every run,
//! is reached without jitter, and the timeline harness agrees with the machine.
#![cfg(feature = "proptest")]

use core::time::Duration;

use proptest::prelude::*;
use relent::backoff::{BackoffBuilder, Jitter};
use relent::retry::{GiveUpReason, Outcome, RetryKind, RetryPolicy, WaitReason};
use relent::testing::{
    End, Step, any_backoff_policy, any_jitter, any_retry_policy, delays, simulate, worst_case_wait,
};

/// An outcome that fails in a way worth a retry: transient or throttled.
fn failure() -> impl Strategy<Value = Outcome> {
    prop_oneof![Just(Outcome::transient()), Just(Outcome::throttled(None))]
}

proptest! {
    /// Every jittered run waits at most the analytic worst case in total.
    #[test]
    fn every_run_waits_at_most_the_worst_case(policy in any_retry_policy(), seed in any::<u64>()) {
        let total: Duration = delays(&policy, seed).sum();
        let bound = worst_case_wait(&policy);
        prop_assert!(bound.is_none_or(|b| total <= b), "{total:?} > {bound:?}");
        if policy.deadline.is_some() {
            prop_assert!(bound.is_some());
        }
        prop_assert!(delays(&policy, seed).count() <= policy.max_retries() as usize);
    }

    /// The bound holds however transient and throttled failures interleave (the two
    /// schedules advance separately).
    #[test]
    fn mixed_failures_wait_at_most_the_worst_case(
        policy in any_retry_policy(),
        seed in any::<u64>(),
        script in proptest::collection::vec(failure(), 16),
    ) {
        let timeline = simulate(&policy, seed, script);
        let bound = worst_case_wait(&policy);
        prop_assert!(bound.is_none_or(|b| timeline.total_wait() <= b));
    }

    /// Without jitter and deadline, a run that always fails waits the bound exactly.
    #[test]
    fn without_jitter_the_bound_is_reached(policy in any_retry_policy(), seed in any::<u64>()) {
        let backoff = policy.backoff.to_builder().jitter(Jitter::None).build();
        prop_assume!(backoff.is_ok());
        let policy = policy
            .with_backoff(backoff.unwrap())
            .with_deadline(None)
            .with_throttled_backoff(None);
        let total: Duration = delays(&policy, seed).sum();
        match worst_case_wait(&policy) {
            Some(bound) => prop_assert_eq!(total, bound),
            // Beyond relent's horizon: the run's clock saturated there.
            None => prop_assert_eq!(total, relent::BackoffPolicy::MAX_DELAY),
        }
    }

    /// Each jitter kind keeps every delay within the policy's floor and cap.
    #[test]
    fn strategies_build_valid_policies(backoff in any_backoff_policy(), jitter in any_jitter(), seed in any::<u64>()) {
        prop_assert!(backoff.floor() <= backoff.cap());
        if let Ok(b) = backoff.to_builder().jitter(jitter).build() {
            let policy = RetryPolicy::default().with_max_attempts(8).with_backoff(b);
            for d in delays(&policy, seed) {
                prop_assert!(d >= b.floor() && d <= b.cap());
            }
        }
    }

    /// The timeline agrees with the machine: attempts, waits and the end add up, and
    /// failing at once gives the same waits as `delays`.
    #[test]
    fn timeline_adds_up(policy in any_retry_policy(), seed in any::<u64>(), ok_at in 1usize..20) {
        let mut script = vec![Step::from(Outcome::transient()); ok_at - 1];
        script.push(Step::from(Outcome::Success));
        let timeline = simulate(&policy, seed, script);
        let took: Duration = timeline.attempts.iter().map(|a| a.took).sum();
        prop_assert_eq!(timeline.end_at().saturating_duration_since(relent::Instant::ZERO), took + timeline.total_wait());
        let waits: Vec<Duration> = timeline.waits.iter().map(|w| w.delay).collect();
        let expected: Vec<Duration> = delays(&policy, seed).take(waits.len()).collect();
        prop_assert_eq!(&waits, &expected);
        for (i, a) in timeline.attempts.iter().enumerate() {
            prop_assert_eq!(a.number as usize, i + 1);
        }
        match timeline.end {
            End::Succeeded { .. } => prop_assert_eq!(timeline.attempts.len(), ok_at),
            End::GaveUp { report, .. } => {
                prop_assert_eq!(report.attempts as usize, timeline.attempts.len());
                prop_assert!(timeline.attempts.len() < ok_at);
            }
        }
    }
}

#[test]
fn a_hung_attempt_is_cut_at_its_limit() {
    let backoff = BackoffBuilder::constant(Duration::from_secs(1))
        .build()
        .unwrap();
    let policy = RetryPolicy::default()
        .with_backoff(backoff)
        .with_per_try_timeout(Some(Duration::from_secs(2)));
    // A fixed seed is safe here: a test, and the backoff has no jitter.
    let timeline = simulate(
        &policy,
        1,
        [Step::from(Outcome::Success).taking(Duration::from_secs(60))],
    );
    assert_eq!(timeline.attempts.len(), 3);
    assert_eq!(timeline.attempts[0].outcome, Outcome::timed_out());
    assert_eq!(timeline.attempts[0].took, Duration::from_secs(2));
    assert_eq!(timeline.attempts[0].timeout, Some(Duration::from_secs(2)));
    // Past the script, attempts fail as transient.
    assert_eq!(timeline.attempts[2].outcome, Outcome::transient());
    assert_eq!(
        timeline.waits[0].reason,
        WaitReason::Backoff(RetryKind::TimedOut)
    );
    assert_eq!(
        timeline.waits[1].reason,
        WaitReason::Backoff(RetryKind::Transient)
    );
    let End::GaveUp { at, report } = timeline.end else {
        panic!("never succeeds: {timeline:?}");
    };
    assert_eq!(report.reason, GiveUpReason::MaxAttempts);
    // Cut at 2 s, wait 1 s, fail at once, wait 1 s, fail at once.
    assert_eq!(at, relent::Instant::from_secs(4));
}
