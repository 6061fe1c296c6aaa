//! Conformance: every preset replays its upstream's own test vectors.
//!
//! Each test names the upstream file and the release it was read from, and
//! replays the same event sequence through relent's public API. Vectors
//! (numbers, sequences, expected outcomes) are copied; code is not. Where relent
//! differs on purpose, the test asserts relent's documented behaviour and the
//! preset's doc comment says why.

use core::time::Duration;

use relent::Instant;
use relent::backoff::{Backoff, BackoffBuilder, BackoffPolicy, Jitter, presets};
use relent::hint::{ExcessKind, ServerHint};
use relent::http::{Attempt, Classify, Observed};
use relent::retry::{
    Action, Budget, BudgetConfig, GiveUpReason, Retry, RetryKind, RetryPolicy, SharedTokenBucket,
    TOKEN, TokenBucket, TransportError,
};

/// How one operation went: attempts made, each wait before a retry, and the final action.
#[derive(Debug)]
struct Run {
    attempts: u32,
    waits: Vec<Duration>,
    end: Action,
}

/// The only code that drives the retry machine: one idempotent operation starting
/// at `start`, whose attempt `n` (1-based) sees `server(n)`, judged by the policy's
/// classifier as the HTTP adapters judge; every wait is slept out exactly. Returns
/// when the machine is done or gives up.
fn run<C: Classify, B: Budget>(
    policy: RetryPolicy<C>,
    budget: B,
    seed: u64,
    start: Instant,
    mut server: impl FnMut(u32) -> Observed,
) -> Run {
    let mut op = Retry::new(&policy, seed, start).with_budget(budget);
    let mut now = start;
    let mut waits = Vec::new();
    loop {
        match op.poll(now) {
            Action::Send { attempt, .. } => {
                let seen = Attempt {
                    observed: server(attempt),
                    idempotent: true,
                    number: attempt,
                };
                op.handle_outcome(now, policy.classifier.outcome(&seen));
            }
            Action::Wait { until, .. } => {
                waits.push(until.saturating_duration_since(now));
                now = until;
            }
            end => {
                return Run {
                    attempts: op.attempts(),
                    waits,
                    end,
                };
            }
        }
    }
}

fn status(code: u16) -> Observed {
    Observed::Response {
        status: code,
        hint: None,
    }
}

fn pushback(code: u16, hint: ServerHint) -> Observed {
    Observed::Response {
        status: code,
        hint: Some(hint),
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn gave_up(run: &Run) -> GiveUpReason {
    match run.end {
        Action::GiveUp(report) => report.reason,
        other => panic!("expected a give-up, got {other:?}"),
    }
}

fn done(run: &Run) -> bool {
    matches!(run.end, Action::Done { .. })
}

/// `policy` with its jitter replaced, everything else kept.
fn with_jitter(policy: BackoffPolicy, jitter: Jitter) -> BackoffPolicy {
    policy.to_builder().jitter(jitter).build().unwrap()
}

/// Asserts `d` lies in `[lo_per_mille, hi_per_mille] / 1000 × nominal`.
fn assert_within(d: Duration, nominal: Duration, lo_per_mille: u32, hi_per_mille: u32) {
    let lo = nominal * lo_per_mille / 1_000;
    let hi = nominal * hi_per_mille / 1_000;
    assert!(d >= lo && d <= hi, "{d:?} not in [{lo:?}, {hi:?}]");
}

mod aws {
    //! AWS standard retry mode: botocore 1.43.67 (tests/functional/test_retry.py,
    //! tests/unit/retries/test_standard.py, tests/unit/retries/test_quota.py) and
    //! smithy-rs `rust-runtime/aws-smithy-runtime/src/client/retries/strategy/standard.rs`
    //! (smithy-lang/smithy-rs, commit 09ae416e, as stored).

    use super::*;

    fn quota() -> TokenBucket {
        TokenBucket::new(BudgetConfig::AWS_STANDARD, Instant::ZERO)
    }

    /// botocore 1.43.67 `tests/functional/test_retry.py`,
    /// `TestRetriesV2.test_standard_mode_can_configure_max_attempts`: standard mode
    /// with `total_max_attempts=5` retries 4 times on HTTP 500.
    #[test]
    fn botocore_test_standard_mode_can_configure_max_attempts() {
        let mut bucket = quota();
        let policy = RetryPolicy::aws_standard().with_max_attempts(5);
        let r = run(policy, &mut bucket, 1, Instant::ZERO, |_| status(500));
        assert_eq!(r.attempts, 5);
        assert_eq!(gave_up(&r), GiveUpReason::MaxAttempts);
        assert_eq!(r.waits.len(), 4);
        // Full jitter on 1 s doubling: wait i is at most 2^i s.
        for (i, w) in r.waits.iter().enumerate() {
            assert!(*w <= secs(1 << i), "wait {i}: {w:?}");
        }
        // Four retries at 5 tokens each, nothing returned for a failed operation.
        assert_eq!(bucket.balance(), 480 * TOKEN);
    }

    /// botocore 1.43.67 `tests/functional/test_retry.py`:
    /// `test_standard_mode_has_default_3_retries` (3 attempts on 500) and
    /// `test_standard_mode_retry_transient_error` (2 retries on 502); and
    /// `tests/unit/retries/test_standard.py` `test_can_honor_max_attempts`
    /// (with `max_attempts=3`, attempts 1 and 2 are retryable, 3 is not).
    #[test]
    fn botocore_default_is_three_attempts() {
        for code in [500, 502] {
            let r = run(
                RetryPolicy::aws_standard(),
                quota(),
                2,
                Instant::ZERO,
                |_| status(code),
            );
            assert_eq!(r.attempts, 3, "{code}");
            assert_eq!(gave_up(&r), GiveUpReason::MaxAttempts);
        }
    }

    /// botocore 1.43.67 `tests/unit/retries/test_standard.py`, `TestExponentialBackoff`:
    /// with `random = 1` the delays for attempts 1..9 are 1, 2, 4, 8, 16, 20, 20, 20,
    /// 20 s (`test_range_of_exponential_backoff`); with real jitter attempt 3 waits
    /// within [0, 4] s (`test_exponential_backoff_with_jitter`).
    #[test]
    fn botocore_exponential_backoff() {
        let p = presets::aws_standard();
        let nominal: Vec<u64> = (0..9).map(|n| p.nominal_delay(n).as_secs()).collect();
        assert_eq!(nominal, [1, 2, 4, 8, 16, 20, 20, 20, 20]);
        let unlimited = p.to_builder().no_max_delays().build().unwrap();
        for seed in 0..200 {
            let mut b = Backoff::new(unlimited, seed);
            let mut now = Instant::ZERO;
            for _ in 0..2 {
                now += b.next_delay(now).unwrap();
            }
            assert!(b.next_delay(now).unwrap() <= secs(4));
        }
    }

    /// botocore 1.43.67 `tests/unit/retries/test_standard.py`, `TestRetryQuotaChecker`
    /// (a 500-token quota): a non-timeout retry takes 5 and a timeout retry 10; a
    /// success after a retry gives its 5 back (495 → 500); a failed operation gives
    /// nothing back (495 stays); a success without retries gives back 1 (495 → 496); a
    /// quota of 5 allows one retry, then refuses; a quota of 0 refuses; a 400 does not
    /// give back quota (450 stays).
    #[test]
    fn botocore_retry_quota_checker() {
        // acquire: 5 for a 5xx, 10 for a timeout.
        let mut b = quota();
        let r = run(RetryPolicy::aws_standard(), &mut b, 3, Instant::ZERO, |n| {
            if n == 1 { status(503) } else { status(200) }
        });
        assert!(done(&r));
        assert_eq!(b.balance(), 500 * TOKEN); // 495, then released on success
        let mut b = quota();
        let policy = RetryPolicy::aws_standard().with_max_attempts(2);
        let r = run(policy.clone(), &mut b, 3, Instant::ZERO, |_| {
            Observed::Transport(TransportError::TimedOut)
        });
        assert_eq!(gave_up(&r), GiveUpReason::MaxAttempts);
        assert_eq!(b.balance(), 490 * TOKEN); // test_can_acquire_quota_for_timeout_error
        // test_dont_release_quota_if_all_retries_failed
        let mut b = quota();
        let r = run(policy.clone(), &mut b, 3, Instant::ZERO, |_| status(500));
        assert_eq!(gave_up(&r), GiveUpReason::MaxAttempts);
        assert_eq!(b.balance(), 495 * TOKEN);
        // test_can_release_default_quota_if_not_in_context: 495, then a first-try success.
        let r = run(policy.clone(), &mut b, 3, Instant::ZERO, |_| status(200));
        assert!(done(&r));
        assert_eq!(b.balance(), 496 * TOKEN);
        // test_acquire_quota_fails: a quota of 5 pays one retry only.
        let five = BudgetConfig {
            max: 5 * TOKEN,
            initial: 5 * TOKEN,
            ..BudgetConfig::AWS_STANDARD
        };
        let mut b = TokenBucket::new(five, Instant::ZERO);
        let r = run(
            RetryPolicy::aws_standard(),
            &mut b,
            3,
            Instant::ZERO,
            |_| status(500),
        );
        assert_eq!(
            (r.attempts, gave_up(&r)),
            (2, GiveUpReason::BudgetExhausted)
        );
        // test_quota_reached_adds_retry_metadata: a quota of 0 refuses at once.
        assert_eq!(b.balance(), 0);
        let r = run(
            RetryPolicy::aws_standard(),
            &mut b,
            3,
            Instant::ZERO,
            |_| status(500),
        );
        assert_eq!(
            (r.attempts, gave_up(&r)),
            (1, GiveUpReason::BudgetExhausted)
        );
        // test_single_failed_request_does_not_give_back_quota: 450, then a 400.
        let mut b = quota();
        for _ in 0..10 {
            assert!(b.try_withdraw(RetryKind::Transient, Instant::ZERO));
        }
        assert_eq!(b.balance(), 450 * TOKEN);
        let r = run(
            RetryPolicy::aws_standard(),
            &mut b,
            3,
            Instant::ZERO,
            |_| status(400),
        );
        assert_eq!(gave_up(&r), GiveUpReason::NotRetryable);
        assert_eq!(b.balance(), 450 * TOKEN);
    }

    /// botocore 1.43.67 `tests/unit/retries/test_quota.py`, `RetryQuota(50)`: acquire 5
    /// → 45; release 5 → 50; release 10 from 45 → 50 (never above the maximum); release
    /// at the maximum is a no-op; acquire 49 → 1, then acquire 10 fails and leaves 1.
    /// Amounts map onto retry kinds: 5 = transient, 10 = timed out, 49 = throttled.
    #[test]
    fn botocore_retry_quota() {
        let cfg = BudgetConfig {
            max: 50 * TOKEN,
            initial: 50 * TOKEN,
            throttled_cost: 49 * TOKEN,
            ..BudgetConfig::AWS_STANDARD
        };
        let t = Instant::ZERO;
        let mut q = TokenBucket::new(cfg, t);
        assert!(q.try_withdraw(RetryKind::Transient, t));
        assert_eq!(q.balance(), 45 * TOKEN);
        q.on_success(Some(RetryKind::Transient), t);
        assert_eq!(q.balance(), 50 * TOKEN);
        assert!(q.try_withdraw(RetryKind::Transient, t));
        q.on_success(Some(RetryKind::TimedOut), t);
        assert_eq!(q.balance(), 50 * TOKEN);
        q.on_success(Some(RetryKind::TimedOut), t);
        assert_eq!(q.balance(), 50 * TOKEN);
        assert!(q.try_withdraw(RetryKind::Throttled, t));
        assert_eq!(q.balance(), TOKEN);
        assert!(!q.try_withdraw(RetryKind::TimedOut, t));
        assert_eq!(q.balance(), TOKEN);
    }

    /// The static-base backoff of smithy-rs's tests (`with_use_static_exponential_base`,
    /// jitter factor 1): relent's preset without jitter.
    fn static_base(cap: Duration) -> RetryPolicy {
        let backoff = presets::aws_standard()
            .to_builder()
            .jitter(Jitter::None)
            .cap(cap)
            .build()
            .unwrap();
        RetryPolicy::aws_standard()
            .with_max_attempts(5)
            .with_backoff(backoff)
    }

    /// Runs `policy` against a server that always answers `outcome`, with a shared
    /// bucket; returns the waits, the balance seen at each retry, and the final balance.
    fn balances(policy: RetryPolicy, cfg: BudgetConfig, outcome: Observed) -> (Run, Vec<u64>, u64) {
        let bucket = SharedTokenBucket::new(cfg, Instant::ZERO);
        let mut seen = Vec::new();
        let r = run(policy, &bucket, 4, Instant::ZERO, |n| {
            if n > 1 {
                seen.push(bucket.balance() / TOKEN);
            }
            outcome
        });
        let end = bucket.balance() / TOKEN;
        (r, seen, end)
    }

    /// smithy-rs `aws-smithy-runtime` `strategy/standard.rs` (commit 09ae416e),
    /// `backoff_timing`: max attempts 5, static base: waits 1, 2, 4, 8 s, quota
    /// 495, 490, 485, 480, and the fifth failure is not retried (480 stays).
    #[test]
    fn smithy_rs_backoff_timing() {
        let (r, seen, end) = balances(
            static_base(secs(20)),
            BudgetConfig::AWS_STANDARD,
            status(500),
        );
        assert_eq!(r.waits, [secs(1), secs(2), secs(4), secs(8)]);
        assert_eq!(seen, [495, 490, 485, 480]);
        assert_eq!(
            (r.attempts, gave_up(&r), end),
            (5, GiveUpReason::MaxAttempts, 480)
        );
    }

    /// smithy-rs (commit 09ae416e) `max_backoff_time`: the same with a 3 s maximum
    /// backoff: waits 1, 2, 3, 3 s, quota 495 … 480.
    #[test]
    fn smithy_rs_max_backoff_time() {
        let (r, seen, end) = balances(
            static_base(secs(3)),
            BudgetConfig::AWS_STANDARD,
            status(500),
        );
        assert_eq!(r.waits, [secs(1), secs(2), secs(3), secs(3)]);
        assert_eq!(seen, [495, 490, 485, 480]);
        assert_eq!(end, 480);
    }

    /// smithy-rs (commit 09ae416e) `no_quota`: a bucket of 5 pays the first retry
    /// (→ 0) and refuses the second (0 stays).
    #[test]
    fn smithy_rs_no_quota() {
        let five = BudgetConfig {
            max: 5 * TOKEN,
            initial: 5 * TOKEN,
            ..BudgetConfig::AWS_STANDARD
        };
        let (r, seen, end) = balances(static_base(secs(20)), five, status(500));
        assert_eq!(r.waits, [secs(1)]);
        assert_eq!(seen, [0]);
        assert_eq!(
            (r.attempts, gave_up(&r), end),
            (2, GiveUpReason::BudgetExhausted, 0)
        );
    }

    /// smithy-rs (commit 09ae416e) `quota_replenishes_on_success`: a bucket of 100; a
    /// transient error (10) → 90, then a transient error with an explicit 1 s delay
    /// (10) → 80, then a success releases the last permit → 90. Waits 1 s and 1 s.
    /// smithy-rs's `TransientError` kind (connection failures, timeouts) costs what
    /// relent's [`RetryKind::TimedOut`] costs.
    #[test]
    fn smithy_rs_quota_replenishes_on_success() {
        let hundred = BudgetConfig {
            max: 100 * TOKEN,
            initial: 100 * TOKEN,
            ..BudgetConfig::AWS_STANDARD
        };
        let bucket = SharedTokenBucket::new(hundred, Instant::ZERO);
        let mut seen = Vec::new();
        let r = run(static_base(secs(20)), &bucket, 5, Instant::ZERO, |n| {
            seen.push(bucket.balance() / TOKEN);
            match n {
                1 => Observed::Transport(TransportError::TimedOut),
                2 => Observed::Failure {
                    retry: Some(RetryKind::TimedOut),
                    hint: Some(ServerHint::After(secs(1))),
                },
                _ => status(200),
            }
        });
        assert!(done(&r));
        assert_eq!(r.waits, [secs(1), secs(1)]);
        assert_eq!(seen, [100, 90, 80]);
        assert_eq!(bucket.balance(), 90 * TOKEN);
    }
}

mod grpc {
    //! gRPC: gRFC A6 (grpc/proposal `A6-client-retries.md` at dc9fd4f, the PR #452
    //! revision), grpc-go v1.83.1 `test/retry_test.go`, grpc-java v1.83.1
    //! `core/src/test/java/io/grpc/internal/RetriableStreamTest.java`, and grpc/grpc
    //! `doc/connection-backoff.md` (commit 0f8d72ed).
    //!
    //! Status codes map onto HTTP as in [`RetryPolicy::grpc_a6`]: UNAVAILABLE = 503
    //! (retryable), INTERNAL = 500 (not retryable).

    use super::*;

    const UNAVAILABLE: u16 = 503;
    const INTERNAL: u16 = 500;

    /// A `retryThrottling` config in the shape [`BudgetConfig::GRPC`] documents.
    fn throttling(max_tokens: u64, token_ratio_milli: u64) -> BudgetConfig {
        BudgetConfig {
            max: max_tokens * TOKEN,
            initial: max_tokens * TOKEN,
            refund_on_success: token_ratio_milli,
            reserve: max_tokens * TOKEN / 2 + 1,
            ..BudgetConfig::GRPC
        }
    }

    /// grpc-go v1.83.1 `test/retry_test.go`, `TestRetryThrottling`: `maxTokens: 10`,
    /// `tokenRatio: 0.5`, `maxAttempts: 4`, UNAVAILABLE retryable; the server succeeds
    /// on its requests 0, 3, 6, 10, 11, 12, 13, 14, 16, 18 and fails all others. Twelve
    /// calls end OK, OK, OK, UNAVAILABLE, UNAVAILABLE, OK ×5, OK, UNAVAILABLE with the
    /// server's counter at 0, 3, 6, 8, 9, 10, 11, 12, 13, 14, 16, 17: call 4's second
    /// retry and call 12's first are refused because every failure takes a token.
    #[test]
    fn grpc_go_test_retry_throttling() {
        let mut bucket = TokenBucket::new(throttling(10, 500), Instant::ZERO);
        let mut i: i64 = -1;
        let want = [
            (true, 0),
            (true, 3),
            (true, 6),
            (false, 8),
            (false, 9),
            (true, 10),
            (true, 11),
            (true, 12),
            (true, 13),
            (true, 14),
            (true, 16),
            (false, 17),
        ];
        for (call, (ok, count)) in want.into_iter().enumerate() {
            let r = run(
                RetryPolicy::grpc_a6(),
                &mut bucket,
                6,
                Instant::ZERO,
                |_| {
                    i += 1;
                    if [0, 3, 6, 10, 11, 12, 13, 14, 16, 18].contains(&i) {
                        status(200)
                    } else {
                        status(UNAVAILABLE)
                    }
                },
            );
            assert_eq!(done(&r), ok, "call {}", call + 1);
            if !ok {
                assert_eq!(
                    gave_up(&r),
                    GiveUpReason::BudgetExhausted,
                    "call {}",
                    call + 1
                );
            }
            assert_eq!(i, count, "call {}", call + 1);
        }
    }

    /// A `Throttle(4, 0.8)` after "some other call in the channel" failed: 3 tokens.
    fn java_throttle() -> TokenBucket {
        let mut b = TokenBucket::new(throttling(4, 800), Instant::ZERO);
        b.on_failure(RetryKind::Transient, Instant::ZERO);
        assert_eq!(b.balance(), 3 * TOKEN);
        b
    }

    /// grpc-java v1.83.1 `RetriableStreamTest`, `throttledStream_*` (`Throttle(4f, 0.8f)`,
    /// one failure elsewhere first, so 3 tokens; threshold 2):
    /// - `FailWithRetriableStatusCode_WithoutPushback`: charged (2), not retried;
    /// - `FailWithNonRetriableStatusCode_WithoutPushback`: not charged (3);
    /// - `FailWithRetriableStatusCode_WithRetriablePushback` (123 ms): charged (2), not retried;
    /// - `FailWithRetriableStatusCode_WithNonRetriablePushback`: charged (2);
    /// - `FailWithNonRetriableStatusCode_WithNonRetriablePushback`: charged (2);
    /// - `FailWithNonRetriableStatusCode_WithRetriablePushback`: not charged (3). grpc-java
    ///   then retries after the pushback; relent retries only what its classifier calls
    ///   retryable, so here the operation ends (the budget vector is the same).
    /// - `throttleStream_Succeed`: a success from 3 tokens adds 0.8 (3.8).
    #[test]
    fn grpc_java_throttled_stream() {
        let cases = [
            (status(UNAVAILABLE), 2, GiveUpReason::BudgetExhausted),
            (status(INTERNAL), 3, GiveUpReason::NotRetryable),
            (
                pushback(UNAVAILABLE, ServerHint::After(ms(123))),
                2,
                GiveUpReason::BudgetExhausted,
            ),
            (
                pushback(UNAVAILABLE, ServerHint::DoNotRetry),
                2,
                GiveUpReason::Forbidden(relent::retry::Forbidden::ServerSaidStop),
            ),
            (
                pushback(INTERNAL, ServerHint::DoNotRetry),
                2,
                GiveUpReason::NotRetryable,
            ),
            (
                pushback(INTERNAL, ServerHint::After(ms(123))),
                3,
                GiveUpReason::NotRetryable,
            ),
        ];
        for (i, (outcome, tokens, reason)) in cases.into_iter().enumerate() {
            let mut b = java_throttle();
            let r = run(RetryPolicy::grpc_a6(), &mut b, 7, Instant::ZERO, |_| {
                outcome
            });
            assert_eq!((r.attempts, gave_up(&r)), (1, reason), "case {i}");
            assert_eq!(b.balance(), tokens * TOKEN, "case {i}");
        }
        let mut b = java_throttle();
        let r = run(RetryPolicy::grpc_a6(), &mut b, 7, Instant::ZERO, |_| {
            status(200)
        });
        assert!(done(&r));
        assert_eq!(b.balance(), 3 * TOKEN + 800);
    }

    /// grpc-java v1.83.1 `RetriableStreamTest.expBackoff_maxBackoff_maxRetryAttempts`:
    /// `maxAttempts` 6, initial backoff 100 s, maximum 700 s, multiplier 2; with its fake
    /// random at the midpoint (factor 1.0 of `0.8 + 0.4 × random`) the waits are 100,
    /// 200, 400, 700, 700 s, and the sixth failure is final. relent: the nominal
    /// sequence is exact, each jittered wait lies in [0.8, 1.0] × nominal (A6 allows up
    /// to 1.2 ×; relent's cap, `maxBackoff`, applies after jitter).
    #[test]
    fn grpc_java_exp_backoff_max_backoff_max_retry_attempts() {
        let a6 = RetryPolicy::grpc_a6().backoff;
        let backoff = BackoffBuilder::exponential(secs(100))
            .factor_exact(relent::Factor::TWO)
            .jitter(a6.jitter())
            .cap(secs(700))
            .build()
            .unwrap();
        let nominal: Vec<Duration> = (0..5).map(|n| backoff.nominal_delay(n)).collect();
        assert_eq!(
            nominal,
            [secs(100), secs(200), secs(400), secs(700), secs(700)]
        );
        let policy = RetryPolicy::grpc_a6().with_max_attempts(6);
        let midpoint = run(
            policy
                .clone()
                .with_backoff(with_jitter(backoff, Jitter::None)),
            relent::retry::Unlimited,
            8,
            Instant::ZERO,
            |_| status(UNAVAILABLE),
        );
        assert_eq!(midpoint.waits, nominal);
        assert_eq!(
            (midpoint.attempts, gave_up(&midpoint)),
            (6, GiveUpReason::MaxAttempts)
        );
        for seed in 0..100 {
            let r = run(
                policy.clone().with_backoff(backoff),
                relent::retry::Unlimited,
                seed,
                Instant::ZERO,
                |_| status(UNAVAILABLE),
            );
            assert_eq!(r.attempts, 6);
            for (w, n) in r.waits.iter().zip(&nominal) {
                assert_within(*w, *n, 800, 1_200);
                assert!(*w <= secs(700));
            }
        }
    }

    /// gRFC A6 (PR #452 revision), "Exponential Backoff" with the proposal's example
    /// config (`maxAttempts: 4`, `initialBackoff: .1s`, `maxBackoff: 1s`, multiplier 2):
    /// retry n waits `min(0.1 s × 2^(n−1), 1 s) × random(0.8, 1.2)`; and "Pushback": once
    /// `maxAttempts` is exhausted the call is not retried even if the server says to.
    #[test]
    fn grpc_a6_example_retry_policy() {
        let p = RetryPolicy::grpc_a6();
        let nominal: Vec<Duration> = (0..6).map(|n| p.backoff.nominal_delay(n)).collect();
        assert_eq!(
            nominal,
            [ms(100), ms(200), ms(400), ms(800), secs(1), secs(1)]
        );
        let mut lowest = secs(1);
        let mut highest = Duration::ZERO;
        for seed in 0..300 {
            let r = run(
                p.clone(),
                relent::retry::Unlimited,
                seed,
                Instant::ZERO,
                |_| status(UNAVAILABLE),
            );
            assert_eq!((r.attempts, gave_up(&r)), (4, GiveUpReason::MaxAttempts));
            for (w, n) in r.waits.iter().zip(&nominal) {
                assert_within(*w, *n, 800, 1_200);
            }
            lowest = lowest.min(r.waits[0]);
            highest = highest.max(r.waits[0]);
        }
        // Proportional, not full, jitter: the first wait spreads over most of [80, 120] ms.
        assert!(
            lowest < ms(85) && highest > ms(115),
            "{lowest:?} {highest:?}"
        );
        let r = run(p, relent::retry::Unlimited, 9, Instant::ZERO, |_| {
            pushback(UNAVAILABLE, ServerHint::After(ms(10)))
        });
        assert_eq!(r.waits, [ms(10), ms(10), ms(10)]);
        assert_eq!((r.attempts, gave_up(&r)), (4, GiveUpReason::MaxAttempts));
    }

    /// gRFC A6, "Throttling Retry Attempts and Hedged RPCs" with the example
    /// `retryThrottling` (`maxTokens: 10`, `tokenRatio: 0.1`): "every failed RPC will
    /// decrement the token_count by 1, every successful RPC will increment it by
    /// tokenRatio", retries stop at or below `maxTokens / 2`. A server failing every
    /// other attempt (a 50% failure ratio) therefore turns retries off for good: after
    /// the bucket first drops to the threshold, no call is retried again.
    #[test]
    fn grpc_a6_half_failing_server_turns_retries_off() {
        let mut bucket = TokenBucket::new(BudgetConfig::GRPC, Instant::ZERO);
        let mut attempts = 0u32;
        let mut answer = |_: u32| {
            attempts += 1;
            if attempts % 2 == 1 {
                status(UNAVAILABLE)
            } else {
                status(200)
            }
        };
        let mut retried = Vec::new();
        for _ in 0..200 {
            let r = run(
                RetryPolicy::grpc_a6(),
                &mut bucket,
                10,
                Instant::ZERO,
                &mut answer,
            );
            retried.push(r.attempts > 1);
        }
        let last_retry = retried.iter().rposition(|r| *r).unwrap();
        // 10 → 9.1 → 8.2 → 7.3 → 6.4 → 5.5 by five retried calls; the sixth failure
        // leaves 4.5 and from then on the balance only falls.
        assert_eq!(last_retry, 4);
        assert!(bucket.balance() < TOKEN, "{}", bucket.balance());
    }

    /// grpc/grpc `doc/connection-backoff.md` (commit 0f8d72ed): `INITIAL_BACKOFF = 1
    /// second`, `MULTIPLIER = 1.6`, `MAX_BACKOFF = 120 seconds`, `JITTER = 0.2`:
    /// `current_backoff = min(current_backoff × 1.6, 120 s)` and each deadline is
    /// `current_backoff ± 20%`. relent: the nominal sequence is exact (to the
    /// nearest nanosecond), every delay lies within ±20% of it, and never above 120 s (the
    /// document allows 144 s; it also does not jitter the first backoff).
    #[test]
    fn grpc_connection_backoff() {
        let p = presets::grpc_connection();
        let nominal: Vec<u64> = (0..13)
            .map(|n| p.nominal_delay(n).as_nanos() as u64)
            .collect();
        assert_eq!(
            nominal,
            [
                1_000_000_000,
                1_600_000_000,
                2_560_000_000,
                4_096_000_000,
                6_553_600_000,
                10_485_760_000,
                16_777_216_000,
                26_843_545_600,
                42_949_672_960,
                68_719_476_736,
                109_951_162_778, // 109.9511627776 s, to the nearest nanosecond
                120_000_000_000,
                120_000_000_000,
            ]
        );
        for seed in 0..100 {
            let mut b = Backoff::new(p, seed);
            let mut now = Instant::ZERO;
            for n in 0..20 {
                let d = b.next_delay(now).unwrap();
                assert_within(d, p.nominal_delay(n), 800, 1_200);
                assert!(d <= secs(120));
                now += d;
            }
        }
    }
}

mod kube {
    //! kube-rs 4.2.0: `kube-client/src/client/retry.rs` (`RetryPolicy::default`,
    //! `test_default_policy`, `test_retryable_status`), `kube-runtime/src/watcher.rs`
    //! (`DefaultBackoff`, `exponential_backoff_without_jitter`) and
    //! `kube-runtime/src/utils/backoff_reset_timer.rs` (`should_reset_when_timer_expires`).

    use super::*;

    /// kube-client 4.2.0 `retry.rs`: `max_retries` 3 (`test_default_policy`); 429, 503 and
    /// 504 are retryable, 200, 400, 500 and 404 are not (`test_retryable_status`). The
    /// backoff is tower's with min 500 ms and max 5 s: base 500 ms, 1 s, 2 s, which
    /// kube jitters up to `min(3 × base, 5 s)`; relent waits the base (see the preset).
    #[test]
    fn kube_client_default_policy() {
        for code in [429, 503, 504] {
            let r = run(
                RetryPolicy::kube_client(),
                relent::retry::Unlimited,
                1,
                Instant::ZERO,
                |_| status(code),
            );
            assert_eq!(
                (r.attempts, gave_up(&r)),
                (4, GiveUpReason::MaxAttempts),
                "{code}"
            );
            // tower's base, min(500 ms × 2ⁿ, 5 s): the lower end of kube's range.
            assert_eq!(r.waits, [ms(500), ms(1_000), ms(2_000)]);
        }
        for code in [400, 500, 404] {
            let r = run(
                RetryPolicy::kube_client(),
                relent::retry::Unlimited,
                1,
                Instant::ZERO,
                |_| status(code),
            );
            assert_eq!(
                (r.attempts, gave_up(&r)),
                (1, GiveUpReason::NotRetryable),
                "{code}"
            );
        }
        let r = run(
            RetryPolicy::kube_client(),
            relent::retry::Unlimited,
            1,
            Instant::ZERO,
            |_| status(200),
        );
        assert!(done(&r));
        // Transport errors are never retried by kube's policy (it only sees responses).
        let r = run(
            RetryPolicy::kube_client(),
            relent::retry::Unlimited,
            1,
            Instant::ZERO,
            |_| Observed::Transport(TransportError::ConnectFailed),
        );
        assert_eq!(r.attempts, 1);
    }

    /// kube-runtime 4.2.0 `watcher.rs` `exponential_backoff_without_jitter`:
    /// `ExponentialBackoff::new(100 ms, 1 s, 2.0, false)` gives 100, 200, 400 ms; and the
    /// `DefaultBackoff` parameters (800 ms, ×2, 30 s, jittered, reset after 120 s) that
    /// [`presets::kube_watcher`] carries, its delays within [d/2, d] (equal jitter, a
    /// documented difference: kube's backon jitter can exceed 30 s).
    #[test]
    fn kube_watcher_backoff() {
        let p = BackoffBuilder::exponential(ms(100))
            .factor(2.0)
            .cap(secs(1))
            .build()
            .unwrap();
        let mut b = Backoff::new(p, 0);
        let waits: Vec<Duration> = (0..3)
            .map(|_| b.next_delay(Instant::ZERO).unwrap())
            .collect();
        assert_eq!(waits, [ms(100), ms(200), ms(400)]);
        let w = presets::kube_watcher();
        assert_eq!(w.nominal_delay(0), ms(800));
        assert_eq!(w.cap(), secs(30));
        assert_eq!(w.reset_after_quiet(), Some(secs(120)));
        assert_eq!((w.max_delays(), w.max_elapsed()), (None, None));
        let mut b = Backoff::new(w, 3);
        let mut now = Instant::ZERO;
        for n in 0..12 {
            let d = b.next_delay(now).unwrap();
            assert_within(d, w.nominal_delay(n), 500, 1_000);
            now += d;
        }
    }

    /// kube-runtime 4.2.0 `backoff_reset_timer.rs` `should_reset_when_timer_expires`: a
    /// linear 2 s backoff with a 60 s reset timer, advanced 40, 40, 80, 80 s between
    /// calls, gives 2, 4, 6, 2, 2 s. relent measures the quiet period from the end of
    /// the last wait rather than from the last call; with these numbers both agree.
    #[test]
    fn kube_reset_timer() {
        let p = BackoffBuilder::linear(secs(2), secs(2))
            .reset_after_quiet(secs(60))
            .build()
            .unwrap();
        let mut b = Backoff::new(p, 0);
        let mut got = Vec::new();
        for t in [0, 40, 80, 160, 240] {
            got.push(b.next_delay(Instant::from_secs(t)).unwrap().as_secs());
        }
        assert_eq!(got, [2, 4, 6, 2, 2]);
    }
}

mod urllib3 {
    //! urllib3 2.7.0: `src/urllib3/util/retry.py` and `test/test_retry.py`.

    use super::*;

    /// A relent backoff for urllib3's `backoff_factor` `f` and `backoff_max`: relent's
    /// `n`-th wait is urllib3's `(n+1)`-th, `f × 2^n` (relent never retries at once).
    fn factor(f_ms: u64, max: Duration) -> BackoffPolicy {
        BackoffBuilder::exponential(ms(f_ms * 2))
            .factor(2.0)
            .cap(max)
            .build()
            .unwrap()
    }

    /// urllib3 2.7.0 `test_retry.py` `test_backoff`: `backoff_factor=0.2` gives 0 after
    /// one error, then 0.4, 0.8, 1.6 s, and `DEFAULT_BACKOFF_MAX` (120 s) after 14; and
    /// `test_configurable_backoff_max` (`backoff_max=1`): 0, 0.4, 0.8, 1, 1 s. relent
    /// replays the sequence without the leading 0.
    #[test]
    fn urllib3_test_backoff() {
        let mut b = Backoff::new(factor(200, secs(120)), 0);
        let mut waits: Vec<Duration> = (0..13)
            .map(|_| b.next_delay(Instant::ZERO).unwrap())
            .collect();
        assert_eq!(waits[..3], [ms(400), ms(800), ms(1_600)]);
        assert_eq!(waits.pop(), Some(secs(120)));
        let mut b = Backoff::new(factor(200, secs(1)), 0);
        let waits: Vec<Duration> = (0..4)
            .map(|_| b.next_delay(Instant::ZERO).unwrap())
            .collect();
        assert_eq!(waits, [ms(400), ms(800), secs(1), secs(1)]);
    }

    /// The preset: `Retry.DEFAULT = Retry(3)` (4 attempts), `backoff_factor=0.5`:
    /// urllib3 waits 0, 1, 2 s, relent 1, 2, 4 s; `RETRY_AFTER_STATUS_CODES` 413, 429
    /// and 503 are retried, 500 is not (no `status_forcelist`). `test_retry.py`
    /// `test_respect_retry_after_header_sleep`: a 503 with `Retry-After: 3600` sleeps
    /// 3600 s in urllib3 (its cap is 6 h); relent's hint cap of 300 s gives up instead.
    #[test]
    fn urllib3_preset() {
        let r = run(
            RetryPolicy::urllib3(),
            relent::retry::Unlimited,
            1,
            Instant::ZERO,
            |_| status(503),
        );
        assert_eq!((r.attempts, gave_up(&r)), (4, GiveUpReason::MaxAttempts));
        assert_eq!(r.waits, [secs(1), secs(2), secs(4)]);
        for (code, attempts) in [(413, 2), (429, 2), (503, 2), (500, 1)] {
            let r = run(
                RetryPolicy::urllib3().with_max_attempts(2),
                relent::retry::Unlimited,
                1,
                Instant::ZERO,
                |_| status(code),
            );
            assert_eq!(r.attempts, attempts, "{code}");
        }
        let r = run(
            RetryPolicy::urllib3(),
            relent::retry::Unlimited,
            1,
            Instant::ZERO,
            |_| pushback(503, ServerHint::After(secs(3_600))),
        );
        assert_eq!(
            gave_up(&r),
            GiveUpReason::HintTooLong {
                hint: secs(3_600),
                limit: secs(300),
                kind: ExcessKind::Cap
            }
        );
    }
}

mod cenkalti {
    //! cenkalti/backoff v4.3.0: `exponential.go` (defaults) and `exponential_test.go`.

    use super::*;

    /// cenkalti/backoff v4.3.0 `exponential_test.go` `TestBackOff`: initial 500 ms,
    /// randomization 0.1, multiplier 2, max interval 5 s: intervals 500, 1000, 2000,
    /// 4000, then 5000 ms ×6, each backoff within ±10% of its interval. relent caps
    /// after jitter, so at 5 s the upper half of the spread is clipped to 5 s.
    #[test]
    fn cenkalti_test_backoff() {
        let p = BackoffBuilder::exponential(ms(500))
            .factor(2.0)
            .proportional_jitter(0.1)
            .cap(secs(5))
            .build()
            .unwrap();
        let expected = [
            500, 1_000, 2_000, 4_000, 5_000, 5_000, 5_000, 5_000, 5_000, 5_000,
        ];
        for (n, e) in expected.iter().enumerate() {
            assert_eq!(p.nominal_delay(n as u32), ms(*e));
        }
        for seed in 0..100 {
            let mut b = Backoff::new(p, seed);
            let mut now = Instant::ZERO;
            for e in expected {
                let d = b.next_delay(now).unwrap();
                assert_within(d, ms(e), 900, 1_100);
                assert!(d <= secs(5));
                now += d;
            }
        }
    }

    /// cenkalti/backoff v4.3.0 `exponential.go` defaults: `DefaultInitialInterval` 500 ms,
    /// `DefaultRandomizationFactor` 0.5, `DefaultMultiplier` 1.5, `DefaultMaxInterval`
    /// 60 s, `DefaultMaxElapsedTime` 15 min: [`presets::cenkalti_default`].
    #[test]
    fn cenkalti_defaults() {
        let p = presets::cenkalti_default();
        let nominal: Vec<u128> = (0..4).map(|n| p.nominal_delay(n).as_millis()).collect();
        assert_eq!(nominal, [500, 750, 1_125, 1_687]);
        assert_eq!(p.jitter().bounds(ms(500)), Some((ms(250), ms(750))));
        assert_eq!(p.cap(), secs(60));
        assert_eq!(p.max_elapsed(), Some(secs(15 * 60)));
    }
}
