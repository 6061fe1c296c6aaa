//! Checks for `relent::retry::Retry` fed arbitrary event sequences, with a shared deadline
//! table as the gate. After every step:
//!
//! - attempts never exceed the policy's maximum, and `Send` announces attempt `attempts + 1`;
//! - a `Wait` lies in the future and ends before the overall deadline; a `Send`'s timeout is
//!   at most the per-try timeout and at most the time left; a server-hint wait is within the
//!   hint cap;
//! - a finished machine (Done / GiveUp) never changes its answer, and polling twice without
//!   new input gives the same answer;
//! - a give-up's report is consistent with what happened: its attempts and time waited are
//!   the machine's, its elapsed time is measured from the start to the event that ended it,
//!   and its reason matches the history (`MaxAttempts` only with every attempt made,
//!   `NotIdempotent` only for a non-idempotent request, `Deadline` only with a deadline and
//!   with the refused wait at least the time left, `HintTooLong` naming the broken limit,
//!   `Committed` only after a commit, `ServerSaidStop` only after a "do not retry" hint,
//!   `BodyNotReplayable` only after that error, never `BudgetExhausted` without a budget);
//! - the table never holds more than its capacity;
//! - the same bytes replayed give the same actions (determinism).

use core::time::Duration;

use relent::hint::{ExcessKind, HintPolicy, OnExcess, ServerHint};
use relent::retry::{
    Action, Forbidden, GiveUpReason, Outcome, Retry, RetryKind, RetryPolicy, TransportError,
    WaitReason,
};
use relent::{DeadlineTable, Instant, NextAllowed};

use crate::input::Input;

const TRANSPORT: [TransportError; 5] = [
    TransportError::ConnectFailed,
    TransportError::TimedOut,
    TransportError::ResetAfterSend,
    TransportError::BodyNotReplayable,
    TransportError::Other,
];

const STATUSES: [u16; 12] = [200, 204, 404, 408, 429, 500, 502, 503, 504, 0, 999, 301];

/// What the checks know about the run so far.
struct History {
    max: u32,
    idempotent: bool,
    start: Instant,
    deadline_at: Option<Instant>,
    per_try: Option<Duration>,
    hints: HintPolicy,
    committed: bool,
    /// The last outcome fed while an attempt could take it (a superset check: see below).
    saw_do_not_retry: bool,
    saw_body_not_replayable: bool,
}

fn check_report(h: &History, op: &Retry, action: Action, now: Instant) {
    let Action::GiveUp(report) = action else {
        return;
    };
    assert_eq!(report.attempts, op.attempts());
    assert_eq!(report.waited, op.waited());
    assert_eq!(report.last, op.last_outcome());
    assert_eq!(
        report.elapsed,
        now.saturating_duration_since(h.start),
        "elapsed is measured at the event that ended the operation"
    );
    match report.reason {
        GiveUpReason::MaxAttempts => assert_eq!(report.attempts, h.max),
        GiveUpReason::Forbidden(Forbidden::NotIdempotent) => assert!(!h.idempotent),
        GiveUpReason::Forbidden(Forbidden::ServerSaidStop) => {
            assert!(h.saw_do_not_retry);
            assert_eq!(
                report.last.and_then(|o| o.hint()),
                Some(ServerHint::DoNotRetry)
            );
        }
        GiveUpReason::Forbidden(Forbidden::BodyNotReplayable) => {
            assert!(h.saw_body_not_replayable);
            assert_eq!(
                report.last,
                Some(Outcome::Transport(TransportError::BodyNotReplayable))
            );
        }
        GiveUpReason::Forbidden(Forbidden::Vetoed) => panic!("no classifier vetoes here"),
        GiveUpReason::Deadline { wait, time_left } => {
            let d = h.deadline_at.expect("a deadline give-up needs a deadline");
            assert_eq!(time_left, d.saturating_duration_since(now));
            match wait {
                None => assert_eq!(time_left, Duration::ZERO),
                Some(w) => assert!(
                    w >= time_left,
                    "refused a wait of {w:?} with {time_left:?} left"
                ),
            }
        }
        GiveUpReason::HintTooLong { hint, limit, kind } => match kind {
            ExcessKind::Cap => {
                assert_eq!(limit, h.hints.cap);
                assert!(hint > limit);
            }
            ExcessKind::Deadline => {
                let d = h.deadline_at.expect("a deadline excess needs a deadline");
                assert_eq!(limit, d.saturating_duration_since(now));
                assert!(hint >= limit);
            }
        },
        GiveUpReason::Committed => assert!(h.committed),
        GiveUpReason::BudgetExhausted => panic!("no budget, so it cannot run out"),
        GiveUpReason::NotRetryable | GiveUpReason::BackoffExhausted => {
            assert!(report.last.is_some(), "nothing happened to judge");
        }
        _ => {}
    }
}

fn check_action(h: &History, op: &Retry, action: Action, now: Instant) {
    match action {
        Action::Send { attempt, timeout } => {
            assert!(attempt <= h.max);
            assert_eq!(attempt, op.attempts() + 1);
            if let Some(p) = h.per_try {
                assert!(
                    timeout.is_some_and(|t| t <= p),
                    "timeout {timeout:?} > per-try {p:?}"
                );
            }
            if let Some(d) = h.deadline_at {
                let left = d.saturating_duration_since(now);
                assert!(
                    timeout.is_some_and(|t| t <= left && !left.is_zero()),
                    "timeout {timeout:?} with {left:?} left"
                );
            }
            if h.per_try.is_none() && h.deadline_at.is_none() {
                assert_eq!(timeout, None);
            }
        }
        Action::Wait { until, reason } => {
            assert!(until > now, "a wait must lie in the future");
            if let Some(d) = h.deadline_at {
                assert!(until < d, "wait until {until:?} reaches the deadline {d:?}");
            }
            if let WaitReason::ServerHint(d) = reason {
                assert!(d <= h.hints.cap, "obeyed a hint of {d:?} beyond the cap");
            }
        }
        Action::Done { attempts } => {
            assert!(attempts <= h.max);
            assert_eq!(attempts, op.attempts());
        }
        Action::GiveUp(report) => assert!(report.attempts <= h.max),
        Action::AwaitOutcome { .. } => {}
    }
}

fn run(data: &[u8]) -> Vec<Action> {
    let mut input = Input::new(data);
    let max = u32::from(input.byte() % 8) + 1;
    let deadline = match input.byte() {
        0 => None,
        s => Some(Duration::from_millis(u64::from(s) * 250)),
    };
    let per_try = match input.byte() {
        0 => None,
        s => Some(Duration::from_millis(u64::from(s) * 20)),
    };
    let seed = u64::from(input.u16());
    let flags = input.byte();
    let idempotent = flags & 1 == 1;
    let on_excess = if flags & 2 == 2 {
        OnExcess::UseBackoff
    } else {
        OnExcess::GiveUp
    };
    let cap = match flags >> 2 & 3 {
        0 => HintPolicy::DEFAULT_CAP,
        1 => Duration::ZERO,
        2 => Duration::from_secs(u64::from(input.byte())),
        _ => Duration::MAX,
    };
    let hints = HintPolicy::new(cap, on_excess);
    let policy = RetryPolicy::default()
        .with_max_attempts(max)
        .with_deadline(deadline)
        .with_per_try_timeout(per_try)
        .with_hints(hints);
    let start = Instant::from_secs(1_000);
    let mut history = History {
        max,
        idempotent,
        start,
        deadline_at: deadline.map(|d| start + d),
        per_try,
        hints,
        committed: false,
        saw_do_not_retry: false,
        saw_body_not_replayable: false,
    };
    let mut op = Retry::new(policy, seed, start).idempotent(idempotent);
    assert_eq!(op.deadline(), history.deadline_at);
    let mut table = DeadlineTable::<u8>::new(4, 7).expect("capacity 4");
    let mut now = start;
    let mut actions = Vec::new();
    let mut finished: Option<Action> = None;

    while let Some(op_code) = input.next() {
        match op_code % 11 {
            0 => now += Duration::from_millis(u64::from(input.byte()) * 10),
            // A clock that goes backwards must not panic or break the invariants.
            1 => now = now - Duration::from_millis(u64::from(input.byte())),
            2 => op.handle_attempt_started(now),
            3 => {
                let status = match input.byte() {
                    b @ 0..12 => STATUSES[usize::from(b)],
                    _ => input.u16(),
                };
                let hint = match input.byte() {
                    0..=127 => None,
                    128 => Some(ServerHint::DoNotRetry),
                    s => Some(ServerHint::After(Duration::from_secs(
                        u64::from(s - 128) * 4,
                    ))),
                };
                history.saw_do_not_retry |= hint == Some(ServerHint::DoNotRetry);
                op.handle_response(now, status, hint);
                if let Some(d) = op.hint_deadline() {
                    let _ = table.record(input.byte() % 8, d, now);
                }
            }
            4 => {
                let e = TRANSPORT[usize::from(input.byte() % 5)];
                history.saw_body_not_replayable |= e == TransportError::BodyNotReplayable;
                op.handle_transport_error(now, e);
            }
            5 => op.handle_timer(now),
            6 => op.handle_success(now),
            7 => {
                history.committed = true;
                op.handle_commit();
            }
            8 => {
                let b = input.byte();
                let retry = match b % 4 {
                    0 => None,
                    1 => Some(RetryKind::Transient),
                    2 => Some(RetryKind::Throttled),
                    _ => Some(RetryKind::TimedOut),
                };
                let hint = match b >> 2 {
                    0..=31 => None,
                    32 => Some(ServerHint::DoNotRetry),
                    s => Some(ServerHint::After(Duration::from_millis(u64::from(s) * 100))),
                };
                history.saw_do_not_retry |= hint == Some(ServerHint::DoNotRetry);
                op.handle_failure(now, retry, hint);
            }
            9 => now += Duration::from_secs(u64::from(input.byte())),
            _ => {
                let key = input.byte() % 8;
                let gate = match table.next_allowed(&key, now) {
                    NextAllowed::Now => None,
                    NextAllowed::Wait { until } => Some(until),
                };
                let action = op.poll(now, gate);
                if let Some(f) = finished {
                    assert_eq!(action, f, "a finished machine changed its answer");
                }
                assert_eq!(
                    op.poll(now, gate),
                    action,
                    "polling again changed the answer"
                );
                check_action(&history, &op, action, now);
                if finished.is_none() && matches!(action, Action::Done { .. } | Action::GiveUp(_)) {
                    check_report(&history, &op, action, now);
                    finished = Some(action);
                }
                actions.push(action);
            }
        }
        // Look at the state without disturbing it: a clone polled at time zero (before the
        // start, so before any deadline) cannot decide to give up itself, so it shows Done or
        // GiveUp exactly when the machine has finished, i.e. the moment the event that ended
        // it happened.
        let peek = op.clone().poll(Instant::ZERO, None);
        match (peek, finished) {
            (Action::Done { .. } | Action::GiveUp(_), None) => {
                check_action(&history, &op, peek, now);
                check_report(&history, &op, peek, now);
                finished = Some(peek);
            }
            (_, Some(f)) => assert_eq!(peek, f, "a finished machine changed its answer"),
            (_, None) => {}
        }
        assert!(
            op.attempts() <= max,
            "{} attempts > max {max}",
            op.attempts()
        );
        assert!(table.len() <= table.capacity());
    }
    actions
}

/// The `retry_machine` target: a policy, then a sequence of events and polls.
///
/// Input layout: max attempts, deadline (×250 ms, 0 = none), per-try timeout (×20 ms,
/// 0 = none), a jitter seed (u16 LE), a flags byte (idempotent, `OnExcess`, which hint cap),
/// then one op byte per event with its arguments. Panics only when a law in the module docs
/// breaks.
pub fn retry_machine(data: &[u8]) {
    let first = run(data);
    assert_eq!(first, run(data), "same bytes, different actions");
}
