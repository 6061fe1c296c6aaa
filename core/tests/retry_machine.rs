//! The retry machine's contract, case by case, and its laws under random event sequences.

use core::time::Duration;

use proptest::prelude::*;
use relent::Instant;
use relent::backoff::{BackoffPolicy, Jitter};
use relent::hint::{ExcessKind, HintPolicy, OnExcess, ServerHint};
use relent::http::{Attempt, Classify, Observed, Verdict};
use relent::retry::{
    Action, BudgetConfig, Forbidden, GiveUpReason, Outcome, RetryKind, RetryPolicy, Seen,
    TokenBucket, TransportError, WaitReason,
};

mod support;
use support::http_op::HttpOp;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn fixed_policy() -> RetryPolicy {
    // 1 s, 2 s, 4 s … without jitter, so waits are exact.
    let backoff = BackoffPolicy::builder(relent::Schedule::Exponential {
        base: secs(1),
        factor: relent::Factor::TWO,
    })
    .jitter(Jitter::None)
    .cap(secs(60))
    .build()
    .unwrap();
    RetryPolicy::default()
        .with_backoff(backoff)
        .with_max_attempts(5)
}

/// Start an attempt and feed it a status; returns the next action.
fn answer<C: Classify, B: relent::retry::Budget>(
    op: &mut HttpOp<C, B>,
    now: Instant,
    status: u16,
    hint: Option<ServerHint>,
) -> Action {
    assert!(
        matches!(op.poll(now, None), Action::Send { .. }),
        "{:?}",
        op.poll(now, None)
    );
    op.handle_attempt_started(now);
    op.handle_response(now, status, hint);
    op.poll(now, None)
}

#[test]
fn backoff_waits_are_exact_and_success_is_done() {
    let mut op = HttpOp::new(fixed_policy(), 1, Instant::ZERO).idempotent(true);
    let mut now = Instant::ZERO;
    for expected in [1, 2, 4] {
        let Action::Wait { until, reason } = answer(&mut op, now, 503, None) else {
            panic!()
        };
        assert_eq!(until, now + secs(expected));
        assert!(matches!(reason, WaitReason::Backoff(_)));
        // Polling early keeps waiting; polling on time sends.
        assert!(matches!(
            op.poll(until - Duration::from_nanos(1), None),
            Action::Wait { .. }
        ));
        now = until;
    }
    assert_eq!(
        answer(&mut op, now, 204, None),
        Action::Done { attempts: 4 }
    );
    assert_eq!(op.waited(), secs(7));
}

#[test]
fn max_attempts_gives_up_with_the_whole_story() {
    let mut op =
        HttpOp::new(fixed_policy().with_max_attempts(2), 1, Instant::ZERO).idempotent(true);
    let Action::Wait { until, .. } = answer(&mut op, Instant::ZERO, 502, None) else {
        panic!()
    };
    let Action::GiveUp(report) = answer(&mut op, until, 503, None) else {
        panic!()
    };
    assert_eq!(report.reason, GiveUpReason::MaxAttempts);
    assert_eq!(report.attempts, 2);
    assert_eq!(
        report.last,
        Some(Outcome::Retryable {
            kind: RetryKind::Transient,
            hint: None,
            seen: Seen::Status(503)
        })
    );
    assert_eq!(report.waited, secs(1));
    assert_eq!(report.elapsed, secs(1));
    let text = report.to_string();
    assert!(
        text.contains("2 attempts") && text.contains("503") && text.contains("maximum"),
        "{text}"
    );
}

#[test]
fn final_responses_and_nonsense_statuses_are_not_retried() {
    for status in [404, 0, 999, u16::MAX] {
        let mut op = HttpOp::new(fixed_policy(), 1, Instant::ZERO).idempotent(true);
        let Action::GiveUp(report) = answer(&mut op, Instant::ZERO, status, None) else {
            panic!()
        };
        assert_eq!(report.reason, GiveUpReason::NotRetryable, "{status}");
    }
    let mut op = HttpOp::new(fixed_policy(), 1, Instant::ZERO).idempotent(true);
    assert_eq!(
        answer(&mut op, Instant::ZERO, 304, None),
        Action::Done { attempts: 1 }
    );
}

#[test]
fn server_hints_override_backoff_and_are_capped() {
    let mut op = HttpOp::new(fixed_policy(), 1, Instant::ZERO).idempotent(true);
    let hint = Some(ServerHint::After(secs(7)));
    let Action::Wait { until, reason } = answer(&mut op, Instant::ZERO, 429, hint) else {
        panic!()
    };
    assert_eq!(until, Instant::ZERO + secs(7));
    assert_eq!(reason, WaitReason::ServerHint(secs(7)));
    assert_eq!(op.hint_deadline(), Some(until));

    // Beyond the default 300 s cap: give up at once, saying so; the table is told the cap.
    let mut op = HttpOp::new(fixed_policy(), 1, Instant::ZERO).idempotent(true);
    let Action::GiveUp(report) = answer(
        &mut op,
        Instant::ZERO,
        429,
        Some(ServerHint::After(secs(1_000_000))),
    ) else {
        panic!()
    };
    assert_eq!(
        report.reason,
        GiveUpReason::HintTooLong {
            hint: secs(1_000_000),
            limit: secs(300),
            kind: ExcessKind::Cap
        }
    );
    assert_eq!(op.hint_deadline(), Some(Instant::ZERO + secs(300)));

    // With UseBackoff, the excessive hint is replaced by the schedule.
    let policy =
        fixed_policy().with_hints(HintPolicy::DEFAULT.with_on_excess(OnExcess::UseBackoff));
    let mut op = HttpOp::new(policy, 1, Instant::ZERO).idempotent(true);
    let Action::Wait { until, reason } = answer(
        &mut op,
        Instant::ZERO,
        429,
        Some(ServerHint::After(secs(1_000_000))),
    ) else {
        panic!()
    };
    assert_eq!(until, Instant::ZERO + secs(1));
    assert!(matches!(reason, WaitReason::Backoff(_)));

    // A negative gRPC pushback means stop.
    let mut op = HttpOp::new(fixed_policy(), 1, Instant::ZERO).idempotent(true);
    let Action::GiveUp(report) = answer(&mut op, Instant::ZERO, 503, Some(ServerHint::DoNotRetry))
    else {
        panic!()
    };
    assert_eq!(
        report.reason,
        GiveUpReason::Forbidden(Forbidden::ServerSaidStop)
    );
}

#[test]
fn the_gate_waits_or_gives_up_before_sending() {
    let t0 = Instant::from_secs(100);
    let policy = fixed_policy().with_deadline(Some(secs(10)));
    // A gate 3 s away: wait for it, then send.
    let mut op = HttpOp::new(policy.clone(), 1, t0).idempotent(true);
    let gate = Some(t0 + secs(3));
    assert_eq!(
        op.poll(t0, gate),
        Action::Wait {
            until: t0 + secs(3),
            reason: WaitReason::Gate
        }
    );
    assert!(matches!(
        op.poll(t0 + secs(3), gate),
        Action::Send { attempt: 1, .. }
    ));
    // A gate past the deadline: give up at once, no attempt made.
    let mut op = HttpOp::new(policy.clone(), 1, t0).idempotent(true);
    let Action::GiveUp(report) = op.poll(t0, Some(t0 + secs(60))) else {
        panic!()
    };
    assert!(matches!(
        report.reason,
        GiveUpReason::HintTooLong {
            kind: ExcessKind::Deadline,
            ..
        }
    ));
    assert_eq!(report.attempts, 0);
    assert_eq!(report.elapsed, Duration::ZERO);
    // A gate beyond the cap (no deadline): give up at once too.
    let mut op = HttpOp::new(fixed_policy(), 1, t0).idempotent(true);
    let Action::GiveUp(report) = op.poll(t0, Some(t0 + secs(3_600))) else {
        panic!()
    };
    assert!(matches!(
        report.reason,
        GiveUpReason::HintTooLong {
            kind: ExcessKind::Cap,
            ..
        }
    ));
    // An expired gate is ignored.
    let mut op = HttpOp::new(fixed_policy(), 1, t0).idempotent(true);
    assert!(matches!(
        op.poll(t0, Some(t0 - secs(1))),
        Action::Send { .. }
    ));
}

#[test]
fn deadline_bounds_attempt_timeouts_and_waits() {
    let policy = fixed_policy()
        .with_deadline(Some(secs(5)))
        .with_per_try_timeout(Some(secs(3)));
    let mut op = HttpOp::new(policy, 1, Instant::ZERO).idempotent(true);
    assert_eq!(
        op.poll(Instant::ZERO, None),
        Action::Send {
            attempt: 1,
            timeout: Some(secs(3))
        }
    );
    op.handle_attempt_started(Instant::ZERO);
    // The attempt times out at 3 s: while it is in flight, poll repeats its Send with
    // the time it has left.
    assert_eq!(
        op.poll(Instant::ZERO + secs(1), None),
        Action::Send {
            attempt: 1,
            timeout: Some(secs(2))
        }
    );
    op.handle_timer(Instant::ZERO + secs(2)); // too early: nothing
    assert!(matches!(
        op.poll(Instant::ZERO, None),
        Action::Send { attempt: 1, .. }
    ));
    let t = Instant::ZERO + secs(3);
    op.handle_timer(t);
    // Backoff 1 s, ends at 4 s < 5 s: wait; the next attempt gets only the 1 s left.
    let Action::Wait { until, .. } = op.poll(t, None) else {
        panic!()
    };
    assert_eq!(until, Instant::ZERO + secs(4));
    assert_eq!(
        op.poll(until, None),
        Action::Send {
            attempt: 2,
            timeout: Some(secs(1))
        }
    );
    op.handle_attempt_started(until);
    op.handle_response(until + Duration::from_millis(100), 503, None);
    // The next backoff (2 s) would end past the deadline: give up now.
    let Action::GiveUp(report) = op.poll(until, None) else {
        panic!()
    };
    assert_eq!(
        report.reason,
        GiveUpReason::Deadline {
            wait: Some(secs(2)),
            time_left: Duration::from_millis(900)
        }
    );
    assert_eq!(
        report.last,
        Some(Outcome::Retryable {
            kind: RetryKind::Transient,
            hint: None,
            seen: Seen::Status(503)
        })
    );
}

#[test]
fn committed_operations_are_not_retried() {
    let mut op = HttpOp::new(fixed_policy(), 1, Instant::ZERO).idempotent(true);
    assert!(matches!(op.poll(Instant::ZERO, None), Action::Send { .. }));
    op.handle_attempt_started(Instant::ZERO);
    op.handle_commit();
    op.handle_transport_error(Instant::ZERO, TransportError::ResetAfterSend);
    let Action::GiveUp(report) = op.poll(Instant::ZERO, None) else {
        panic!()
    };
    assert_eq!(report.reason, GiveUpReason::Committed);
}

#[test]
fn body_not_replayable_gets_one_attempt() {
    let mut op = HttpOp::new(fixed_policy(), 1, Instant::ZERO).idempotent(true);
    assert!(matches!(op.poll(Instant::ZERO, None), Action::Send { .. }));
    op.handle_attempt_started(Instant::ZERO);
    op.handle_transport_error(Instant::ZERO, TransportError::BodyNotReplayable);
    let Action::GiveUp(report) = op.poll(Instant::ZERO, None) else {
        panic!()
    };
    assert_eq!(
        report.reason,
        GiveUpReason::Forbidden(Forbidden::BodyNotReplayable)
    );
    assert_eq!(report.attempts, 1);
}

#[test]
fn a_veto_classifier_ends_classification() {
    let veto = |a: &Attempt| match a.observed {
        Observed::Response { status: 503, .. } => Verdict::Forbid(Forbidden::Vetoed),
        _ => Verdict::NoOpinion,
    };
    let policy = fixed_policy();
    let classifier = veto.then(policy.classifier);
    let mut op = HttpOp::new(policy.with_classifier(classifier), 1, Instant::ZERO).idempotent(true);
    assert!(matches!(op.poll(Instant::ZERO, None), Action::Send { .. }));
    op.handle_attempt_started(Instant::ZERO);
    op.handle_response(Instant::ZERO, 503, None);
    let Action::GiveUp(report) = op.poll(Instant::ZERO, None) else {
        panic!()
    };
    assert_eq!(report.reason, GiveUpReason::Forbidden(Forbidden::Vetoed));
}

#[test]
fn an_empty_budget_refuses_retries() {
    let bucket = TokenBucket::new(BudgetConfig::ratio(0, 1, 0), Instant::ZERO);
    let mut op = HttpOp::new(fixed_policy(), 1, Instant::ZERO)
        .idempotent(true)
        .with_budget(bucket);
    assert!(matches!(op.poll(Instant::ZERO, None), Action::Send { .. }));
    op.handle_attempt_started(Instant::ZERO);
    op.handle_response(Instant::ZERO, 503, None);
    let Action::Wait { until, .. } = op.poll(Instant::ZERO, None) else {
        panic!()
    };
    assert!(matches!(op.poll(until, None), Action::Send { .. }));
    op.handle_attempt_started(until);
    op.handle_response(until, 503, None);
    let Action::GiveUp(report) = op.poll(until, None) else {
        panic!()
    };
    assert_eq!(report.reason, GiveUpReason::BudgetExhausted);
    assert_eq!(op.budget().balance(), 0);
}

#[test]
fn extremes_never_panic() {
    // Start an hour before the end of time, with "forever" limits: the send and
    // hint paths must run and saturate, not panic.
    let start = Instant::MAX - secs(3_600);
    let policy = fixed_policy()
        .with_max_attempts(u32::MAX)
        .with_deadline(Some(Duration::MAX))
        .with_per_try_timeout(Some(Duration::MAX));
    let mut op = HttpOp::new(policy, u64::MAX, start).idempotent(true);
    let mut sends = 0;
    let mut now = start;
    for _ in 0..100 {
        match op.poll(now, None) {
            Action::Send { .. } => {
                sends += 1;
                op.handle_attempt_started(now);
                let hint = ServerHint::After(if sends % 2 == 0 {
                    Duration::MAX
                } else {
                    secs(60)
                });
                op.handle_response(now, 503, Some(hint));
            }
            Action::Wait { until, .. } => now = until,
            Action::Done { .. } | Action::GiveUp(_) => break,
        }
    }
    assert!(sends >= 2, "the send path ran ({sends} sends)");
    let Action::GiveUp(report) = op.poll(now, None) else {
        panic!()
    };
    assert!(
        matches!(report.reason, GiveUpReason::HintTooLong { .. }),
        "{report}"
    );

    // Zero attempts reads as one.
    let mut op =
        HttpOp::new(fixed_policy().with_max_attempts(0), 1, Instant::ZERO).idempotent(true);
    let Action::GiveUp(report) = answer(&mut op, Instant::ZERO, 503, None) else {
        panic!()
    };
    assert_eq!(report.reason, GiveUpReason::MaxAttempts);

    // A deadline of Instant::MAX means "never", even at Instant::MAX.
    let mut op = HttpOp::new(fixed_policy(), 1, Instant::ZERO).deadline_at(Some(Instant::MAX));
    assert!(matches!(
        op.poll(Instant::MAX, None),
        Action::Send { timeout: None, .. }
    ));
}

#[test]
fn every_hint_reaches_the_table_even_when_the_operation_stops() {
    // Last attempt: no retry, but the 30 s "not before" is still reported.
    let mut op =
        HttpOp::new(fixed_policy().with_max_attempts(1), 1, Instant::ZERO).idempotent(true);
    let Action::GiveUp(report) = answer(
        &mut op,
        Instant::ZERO,
        429,
        Some(ServerHint::After(secs(30))),
    ) else {
        panic!()
    };
    assert_eq!(report.reason, GiveUpReason::MaxAttempts);
    assert_eq!(op.hint_deadline(), Some(Instant::ZERO + secs(30)));
    // A POST: not retried, hint still reported.
    let mut op = HttpOp::new(fixed_policy(), 1, Instant::ZERO);
    let _ = answer(
        &mut op,
        Instant::ZERO,
        429,
        Some(ServerHint::After(secs(30))),
    );
    assert_eq!(op.hint_deadline(), Some(Instant::ZERO + secs(30)));
    // A response without a hint clears it.
    let mut op = HttpOp::new(fixed_policy(), 1, Instant::ZERO).idempotent(true);
    let Action::Wait { until, .. } = answer(
        &mut op,
        Instant::ZERO,
        429,
        Some(ServerHint::After(secs(3))),
    ) else {
        panic!()
    };
    // A later failure without a hint records nothing: the key's hold stays as the server
    // gave it (the table lets it expire), rather than being cleared by a response that
    // said nothing about it.
    let _ = answer(&mut op, until, 503, None);
    assert_eq!(op.hint_deadline(), Some(Instant::ZERO + secs(3)));
}

#[test]
fn do_not_retry_stops_failures_but_not_successes() {
    // A success carrying a (malformed → DoNotRetry) pushback is still a success.
    let mut op = HttpOp::new(fixed_policy(), 1, Instant::ZERO).idempotent(true);
    assert_eq!(
        answer(&mut op, Instant::ZERO, 200, Some(ServerHint::DoNotRetry)),
        Action::Done { attempts: 1 }
    );
    // A classifier that asks for a retry cannot override the server's stop.
    let eager = |_: &Attempt| Verdict::Retry(relent::retry::RetryKind::Transient);
    let mut op = HttpOp::new(fixed_policy().with_classifier(eager), 1, Instant::ZERO);
    let Action::GiveUp(report) = answer(&mut op, Instant::ZERO, 503, Some(ServerHint::DoNotRetry))
    else {
        panic!()
    };
    assert_eq!(
        report.reason,
        GiveUpReason::Forbidden(Forbidden::ServerSaidStop)
    );
}

#[test]
fn driver_classified_failures_are_reported_as_such() {
    use relent::retry::RetryKind;
    // Transient: backs off; throttled with a hint: waits the hint and reports it to the table.
    let mut op = HttpOp::new(fixed_policy(), 1, Instant::ZERO).idempotent(true);
    assert!(matches!(op.poll(Instant::ZERO, None), Action::Send { .. }));
    op.handle_attempt_started(Instant::ZERO);
    op.handle_failure(Instant::ZERO, Some(RetryKind::Transient), None);
    let Action::Wait { until, reason } = op.poll(Instant::ZERO, None) else {
        panic!()
    };
    assert_eq!(reason, WaitReason::Backoff(RetryKind::Transient));
    assert!(matches!(op.poll(until, None), Action::Send { .. }));
    op.handle_attempt_started(until);
    op.handle_failure(
        until,
        Some(RetryKind::Throttled),
        Some(ServerHint::After(secs(9))),
    );
    assert_eq!(
        op.poll(until, None),
        Action::Wait {
            until: until + secs(9),
            reason: WaitReason::ServerHint(secs(9))
        }
    );
    assert_eq!(op.hint_deadline(), Some(until + secs(9)));
    // Permanent: gives up at once, and the report says what it was.
    let mut op = HttpOp::new(fixed_policy(), 1, Instant::ZERO).idempotent(true);
    assert!(matches!(op.poll(Instant::ZERO, None), Action::Send { .. }));
    op.handle_attempt_started(Instant::ZERO);
    op.handle_failure(Instant::ZERO, None, None);
    let Action::GiveUp(report) = op.poll(Instant::ZERO, None) else {
        panic!()
    };
    assert_eq!(report.reason, GiveUpReason::NotRetryable);
    assert_eq!(
        report.last,
        Some(Outcome::Final {
            refused: None,
            hint: None,
            seen: Seen::Error
        })
    );
    assert!(
        report.to_string().contains("a permanent failure"),
        "{report}"
    );
    // A veto in the policy's classifier still applies to driver-classified failures.
    let veto = |_: &Attempt| Verdict::Forbid(Forbidden::Vetoed);
    let mut op = HttpOp::new(fixed_policy().with_classifier(veto), 1, Instant::ZERO);
    assert!(matches!(op.poll(Instant::ZERO, None), Action::Send { .. }));
    op.handle_attempt_started(Instant::ZERO);
    op.handle_failure(Instant::ZERO, Some(RetryKind::Transient), None);
    let Action::GiveUp(report) = op.poll(Instant::ZERO, None) else {
        panic!()
    };
    assert_eq!(report.reason, GiveUpReason::Forbidden(Forbidden::Vetoed));
}

#[test]
fn a_late_answer_to_a_timed_out_attempt_is_ignored() {
    let policy = fixed_policy().with_per_try_timeout(Some(secs(1)));
    let mut op = HttpOp::new(policy, 1, Instant::ZERO).idempotent(true);
    assert!(matches!(op.poll(Instant::ZERO, None), Action::Send { .. }));
    op.handle_attempt_started(Instant::ZERO);
    op.handle_timer(Instant::ZERO + secs(1));
    let Action::Wait { until, .. } = op.poll(Instant::ZERO + secs(1), None) else {
        panic!()
    };
    // The first attempt's answer turns up during the backoff: not an attempt, no skipped wait.
    op.handle_response(Instant::ZERO + Duration::from_millis(1_500), 200, None);
    assert_eq!(op.attempts(), 1);
    assert!(matches!(
        op.poll(Instant::ZERO + Duration::from_millis(1_500), None),
        Action::Wait { .. }
    ));
    assert!(matches!(
        op.poll(until, None),
        Action::Send { attempt: 2, .. }
    ));
}

#[test]
fn aws_quota_refunds_the_retry_cost_on_success() {
    let bucket = TokenBucket::new(BudgetConfig::AWS_STANDARD, Instant::ZERO);
    let policy = RetryPolicy::aws_standard();
    let mut op = HttpOp::new(policy, 1, Instant::ZERO)
        .idempotent(true)
        .with_budget(bucket);
    assert!(matches!(op.poll(Instant::ZERO, None), Action::Send { .. }));
    op.handle_attempt_started(Instant::ZERO);
    op.handle_transport_error(Instant::ZERO, TransportError::TimedOut);
    let Action::Wait { until, .. } = op.poll(Instant::ZERO, None) else {
        panic!()
    };
    assert_eq!(op.budget().balance(), 490_000); // a timeout retry costs 10
    assert_eq!(
        answer(&mut op, until, 200, None),
        Action::Done { attempts: 2 }
    );
    assert_eq!(op.budget().balance(), 500_000); // and the success returns those 10
}

#[derive(Clone, Debug)]
enum Input {
    Poll(u64),
    PollGated(u64, u64),
    Back(u64),
    Started,
    Status(u16, Option<u64>),
    Error(u8),
    Timer(u64),
    Success,
    Commit,
    Failure(Option<u8>, Option<u64>),
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        (0u64..20_000).prop_map(Input::Poll),
        (0u64..20_000, 0u64..700_000).prop_map(|(a, g)| Input::PollGated(a, g)),
        (0u64..5_000).prop_map(Input::Back),
        Just(Input::Started),
        (
            prop::sample::select(vec![200u16, 204, 404, 408, 429, 500, 502, 503, 504, 0, 999]),
            prop::option::of(0u64..401)
        )
            .prop_map(|(s, h)| Input::Status(s, h)),
        (0u8..5).prop_map(Input::Error),
        (0u64..20_000).prop_map(Input::Timer),
        Just(Input::Success),
        Just(Input::Commit),
        (prop::option::of(0u8..3), prop::option::of(0u64..400))
            .prop_map(|(k, h)| Input::Failure(k, h)),
    ]
}

/// Runs the inputs; returns each poll's time and answer.
fn drive(
    policy: &RetryPolicy,
    seed: u64,
    idempotent: bool,
    inputs: &[Input],
) -> Vec<(Instant, Action)> {
    let start = Instant::from_secs(10_000);
    let mut op = HttpOp::new(policy.clone(), seed, start).idempotent(idempotent);
    let mut now = start;
    let mut out = Vec::new();
    for i in inputs {
        match i {
            Input::Poll(ms) => {
                now += Duration::from_millis(*ms);
                out.push((now, op.poll(now, None)));
            }
            Input::PollGated(ms, gate_ms) => {
                now += Duration::from_millis(*ms);
                let gate = Some(now + Duration::from_millis(*gate_ms));
                out.push((now, op.poll(now, gate)));
            }
            // The clock goes backwards.
            Input::Back(ms) => now = now - Duration::from_millis(*ms),
            Input::Started => op.handle_attempt_started(now),
            Input::Status(s, h) => {
                let hint = h.map(|h| {
                    if h == 400 {
                        ServerHint::DoNotRetry
                    } else {
                        ServerHint::After(secs(h))
                    }
                });
                op.handle_response(now, *s, hint)
            }
            Input::Error(e) => op.handle_transport_error(
                now,
                [
                    TransportError::ConnectFailed,
                    TransportError::TimedOut,
                    TransportError::ResetAfterSend,
                    TransportError::BodyNotReplayable,
                    TransportError::Other,
                ][*e as usize],
            ),
            Input::Timer(ms) => {
                now += Duration::from_millis(*ms);
                op.handle_timer(now);
            }
            Input::Success => op.handle_success(now),
            Input::Commit => op.handle_commit(),
            Input::Failure(kind, hint) => {
                use relent::retry::RetryKind;
                let kind = kind.map(|k| {
                    [
                        RetryKind::Transient,
                        RetryKind::Throttled,
                        RetryKind::TimedOut,
                    ][k as usize]
                });
                op.handle_failure(now, kind, hint.map(|h| ServerHint::After(secs(h))));
            }
        }
        assert!(op.attempts() <= policy.max_attempts.get());
    }
    out.push((now, op.poll(now, None)));
    out
}

proptest! {
    /// Same seed and same events give the same actions; attempts never exceed the maximum;
    /// every wait ends before the deadline; once finished, the machine stays finished.
    #[test]
    fn laws_hold_for_any_event_sequence(
        seed in any::<u64>(),
        idempotent in any::<bool>(),
        max in 1u32..6,
        deadline_s in prop::option::of(1u64..60),
        inputs in prop::collection::vec(input(), 0..80),
    ) {
        let policy = RetryPolicy::default()
            .with_max_attempts(max)
            .with_deadline(deadline_s.map(secs))
            .with_per_try_timeout(Some(secs(2)));
        let a = drive(&policy, seed, idempotent, &inputs);
        let b = drive(&policy, seed, idempotent, &inputs);
        prop_assert_eq!(&a, &b);
        let deadline = deadline_s.map(|s| Instant::from_secs(10_000) + secs(s));
        let mut finished: Option<Action> = None;
        for &(now, action) in &a {
            if let Some(f) = finished {
                prop_assert_eq!(action, f, "a finished machine changed its mind");
            }
            match action {
                Action::Wait { until, .. } => {
                    prop_assert!(until > now, "a wait must lie in the future");
                    if let Some(d) = deadline { prop_assert!(until < d); }
                }
                Action::Send { attempt, timeout } => {
                    prop_assert!(attempt <= max);
                    prop_assert!(timeout.is_some_and(|t| t <= secs(2)));
                    if let Some(d) = deadline {
                        prop_assert!(timeout.is_some_and(|t| t <= d.saturating_duration_since(now)));
                    }
                }
                Action::Done { attempts } => { prop_assert!(attempts <= max); finished = Some(action); }
                Action::GiveUp(r) => {
                    prop_assert!(r.attempts <= max);
                    match r.reason {
                        GiveUpReason::MaxAttempts => prop_assert_eq!(r.attempts, max),
                        GiveUpReason::Forbidden(Forbidden::NotIdempotent) => prop_assert!(!idempotent),
                        GiveUpReason::Deadline { .. } => prop_assert!(deadline.is_some()),
                        _ => {}
                    }
                    finished = Some(action);
                }
            }
        }
    }
}

/// The one rule for the shared table, as the machine applies it.
mod gate_rule {
    use super::*;
    use relent::retry::{Hold, Outcome};

    fn failed(op: &mut HttpOp, status: u16, hint: Option<ServerHint>) -> Action {
        answer(op, Instant::ZERO, status, hint)
    }

    #[test]
    fn failures_meant_to_be_retried_record_their_hint_uncapped() {
        // A 429 to a GET: recorded, with the hint as given beside the capped deadline.
        let mut op = HttpOp::new(fixed_policy(), 1, Instant::ZERO).idempotent(true);
        let _ = failed(&mut op, 429, Some(ServerHint::After(secs(1_000_000))));
        assert_eq!(
            op.recorded(),
            Some(Hold {
                until: Instant::ZERO + secs(300),
                hint: secs(1_000_000)
            })
        );
        // A 503 to a POST is not retried, but the server's hint still holds the key.
        let mut op = HttpOp::new(fixed_policy(), 1, Instant::ZERO);
        let _ = failed(&mut op, 503, Some(ServerHint::After(secs(30))));
        assert_eq!(op.hint_deadline(), Some(Instant::ZERO + secs(30)));
    }

    #[test]
    fn final_answers_successes_and_zero_hints_record_nothing() {
        for (status, hint) in [
            (404, ServerHint::After(secs(30))),
            (999, ServerHint::After(secs(30))),
            (200, ServerHint::After(secs(30))),
            (503, ServerHint::After(Duration::ZERO)),
            (503, ServerHint::DoNotRetry),
        ] {
            let mut op = HttpOp::new(fixed_policy(), 1, Instant::ZERO).idempotent(true);
            let _ = failed(&mut op, status, Some(hint));
            assert_eq!(op.recorded(), None, "{status} {hint:?}");
        }
    }

    #[test]
    fn a_hold_over_the_cap_refuses_at_once_naming_the_original_hint() {
        let mut op = HttpOp::new(fixed_policy(), 1, Instant::ZERO).idempotent(true);
        let hold = Hold {
            until: Instant::ZERO + secs(300),
            hint: Duration::MAX,
        };
        // Even with 299 s left of the capped hold and no deadline.
        let Action::GiveUp(report) = op.poll_held(Instant::ZERO + secs(1), hold) else {
            panic!()
        };
        assert_eq!(report.attempts, 0);
        assert_eq!(
            report.reason,
            GiveUpReason::HintTooLong {
                hint: Duration::MAX,
                limit: secs(300),
                kind: ExcessKind::Cap
            }
        );
        // A hold within the cap is waited out, exactly.
        let mut op = HttpOp::new(fixed_policy(), 1, Instant::ZERO).idempotent(true);
        let hold = Hold {
            until: Instant::ZERO + secs(40),
            hint: secs(40),
        };
        assert_eq!(
            op.poll_held(Instant::ZERO + secs(10), hold),
            Action::Wait {
                until: Instant::ZERO + secs(40),
                reason: WaitReason::Gate
            }
        );
    }

    #[test]
    fn use_backoff_waits_out_a_capped_hold_that_ends_before_the_deadline() {
        // Deadline 20 s, cap 10 s, a hold of 10 s left whose hint was 32 s: the hint is
        // disregarded (client limits first), the capped hold is waited out once, then sent.
        let policy = fixed_policy()
            .with_deadline(Some(secs(20)))
            .with_hints(HintPolicy::new(secs(10), OnExcess::UseBackoff));
        let mut op = HttpOp::new(policy, 1, Instant::ZERO).idempotent(true);
        let hold = Hold {
            until: Instant::ZERO + secs(10),
            hint: secs(32),
        };
        assert_eq!(
            op.poll_held(Instant::ZERO, hold),
            Action::Wait {
                until: Instant::ZERO + secs(10),
                reason: WaitReason::Gate
            }
        );
        assert!(matches!(
            op.poll_held(Instant::ZERO + secs(10), hold),
            Action::Send { attempt: 1, .. }
        ));
        // A capped hold that reaches the deadline gives up, naming the wait it refused.
        let policy = fixed_policy()
            .with_deadline(Some(secs(5)))
            .with_hints(HintPolicy::new(secs(10), OnExcess::UseBackoff));
        let mut op = HttpOp::new(policy, 1, Instant::ZERO).idempotent(true);
        let Action::GiveUp(report) = op.poll_held(Instant::ZERO, hold) else {
            panic!()
        };
        assert_eq!(
            report.reason,
            GiveUpReason::Deadline {
                wait: Some(secs(10)),
                time_left: secs(5)
            }
        );
    }

    #[test]
    fn the_policy_is_shared_not_copied() {
        use relent::retry::{NoGate, Retry, Unlimited};
        let policy = RetryPolicy::default();
        // Borrowed, reference-counted or static: one policy, many small machines.
        let mut a = Retry::new(&policy, 1, Instant::ZERO);
        let mut b = Retry::new(std::sync::Arc::new(policy.clone()), 2, Instant::ZERO);
        static POLICY: RetryPolicy = RetryPolicy::kube_client();
        let mut c = Retry::new(&POLICY, 3, Instant::ZERO);
        for action in [
            a.poll(Instant::ZERO),
            b.poll(Instant::ZERO),
            c.poll(Instant::ZERO),
        ] {
            assert!(matches!(action, Action::Send { attempt: 1, .. }));
        }
        c.handle_outcome(Instant::ZERO, Outcome::transient());
        assert!(matches!(c.poll(Instant::ZERO), Action::Wait { .. }));
        // The per-operation state stays small (the embedded budget for it is 256 bytes).
        let size = core::mem::size_of::<Retry<&'static RetryPolicy, Unlimited, NoGate>>();
        assert!(size <= 256, "{size} bytes");
    }
}
