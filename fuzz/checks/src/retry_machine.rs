//! Checks for `relent::retry::Retry` fed arbitrary input sequences (polls, judged outcomes
//! with any hint, outcomes read from HTTP by the standard classifier, commits, a clock
//! that jumps both ways), with a model gate whose holds come from the input. After every
//! step:
//!
//! - attempts never exceed the policy's maximum; a fresh `Send` announces attempt
//!   `attempts + 1` and starts it, and while it is in flight every poll repeats that `Send`
//!   with what is left of its timeout;
//! - a `Wait` lies in the future and ends before the overall deadline; a `Send`'s timeout is
//!   at most the per-try timeout and at most the time left; a server-hint wait is within the
//!   hint cap; a gate wait ends no later than a hold the gate gave;
//! - a finished machine (Done / GiveUp) never changes its answer, and polling twice without
//!   new input gives the same answer; an outcome fed while no attempt is in flight changes
//!   nothing and records nothing;
//! - a give-up's report is consistent with what happened: its attempts, time waited and last
//!   outcome are the machine's, its elapsed time is measured from the start to the event that
//!   ended it, and its reason matches the history (`MaxAttempts` only with every attempt made
//!   and a retryable last outcome, `Forbidden(why)` only after a final outcome refused for
//!   `why` (or a retryable one saying "do not retry"), `NotRetryable` only after a final
//!   outcome nobody refused, `Committed` only after a commit, `Deadline` only with a deadline
//!   and with the refused wait at least the time left, `HintTooLong` naming the broken limit
//!   and a hint that was given, never `BudgetExhausted` without a budget);
//! - the gate rule: a hold is recorded exactly when an outcome fed in flight wants a retry
//!   ([`Outcome::wants_retry`]) and carries `After(d)` with `d > 0`, and it is exactly
//!   `Hold { until: now + min(d, cap), hint: d }` (the hint uncapped); a hold over the cap,
//!   with `OnExcess::GiveUp`, makes the next poll that could send give up with
//!   `HintTooLong` naming that hint (or with `Deadline` when no time is left), never send;
//! - the same bytes replayed give the same actions and the same records (determinism).

use core::cell::RefCell;
use core::time::Duration;
use std::rc::Rc;

use relent::Instant;
use relent::hint::{ExcessKind, HintPolicy, OnExcess, ServerHint};
use relent::http::{Attempt, Classify, Observed, StandardClassifier};
use relent::retry::{
    Action, Forbidden, Gate, GiveUpReason, Hold, Outcome, Retry, RetryKind, RetryPolicy, Seen,
    TransportError, Unlimited, WaitReason,
};

use crate::input::Input;

const TRANSPORT: [TransportError; 5] = [
    TransportError::ConnectFailed,
    TransportError::TimedOut,
    TransportError::ResetAfterSend,
    TransportError::BodyNotReplayable,
    TransportError::Other,
];

const STATUSES: [u16; 12] = [200, 204, 404, 408, 429, 500, 502, 503, 504, 0, 999, 301];

const KINDS: [RetryKind; 3] = [
    RetryKind::Transient,
    RetryKind::Throttled,
    RetryKind::TimedOut,
];

const REFUSED: [Option<Forbidden>; 5] = [
    None,
    Some(Forbidden::NotIdempotent),
    Some(Forbidden::ServerSaidStop),
    Some(Forbidden::BodyNotReplayable),
    Some(Forbidden::Vetoed),
];

/// A hint byte: `0..=95` none, `96` "do not retry", `97..=191` 0–9.4 s in 100 ms steps,
/// `192..=255` 0–1008 s in 16 s steps (across the default 300 s cap).
fn hint(b: u8) -> Option<ServerHint> {
    match b {
        0..=95 => None,
        96 => Some(ServerHint::DoNotRetry),
        97..=191 => Some(ServerHint::After(Duration::from_millis(
            u64::from(b - 97) * 100,
        ))),
        _ => Some(ServerHint::After(Duration::from_secs(
            u64::from(b - 192) * 16,
        ))),
    }
}

fn status(input: &mut Input<'_>) -> u16 {
    match input.byte() {
        b @ 0..12 => STATUSES[usize::from(b)],
        _ => input.u16(),
    }
}

fn seen(input: &mut Input<'_>) -> Seen {
    match input.byte() % 4 {
        0 => Seen::Status(status(input)),
        1 => Seen::Transport(TRANSPORT[usize::from(input.byte() % 5)]),
        2 => Seen::Error,
        _ => Seen::Status(input.u16()),
    }
}

/// What the model gate knows: the hold it gives, and every hold the machine recorded.
#[derive(Debug, Default)]
struct GateState {
    hold: Option<Hold>,
    /// While set, the gate holds nothing (for the side-effect-free peek below).
    muted: bool,
    recorded: Vec<(Hold, Instant)>,
}

/// The machine's gate: holds set by the input, records kept for the checks.
#[derive(Clone, Debug, Default)]
struct ModelGate(Rc<RefCell<GateState>>);

impl Gate for ModelGate {
    fn hold(&mut self, _now: Instant) -> Option<Hold> {
        let state = self.0.borrow();
        if state.muted { None } else { state.hold }
    }
    fn record(&mut self, hold: Hold, now: Instant) {
        self.0.borrow_mut().recorded.push((hold, now));
    }
}

type Machine<'p> = Retry<&'p RetryPolicy, Unlimited, ModelGate>;

/// What the checks know about the run so far.
struct History {
    max: u32,
    start: Instant,
    deadline_at: Option<Instant>,
    per_try: Option<Duration>,
    hints: HintPolicy,
    committed: bool,
    /// The attempt in flight: its number, when it started and its timeout.
    in_flight: Option<(u32, Instant, Option<Duration>)>,
    /// Every hint a gate hold carried, and what was left of each hold when polled.
    hold_hints: Vec<Duration>,
    /// The latest `until` of any hold the gate gave.
    latest_hold: Option<Instant>,
    /// The `until` of the last `Wait` polled.
    last_wait: Option<Instant>,
}

fn check_report(h: &History, op: &Machine<'_>, action: Action, now: Instant) {
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
    let last = report.last;
    match report.reason {
        GiveUpReason::MaxAttempts => {
            assert_eq!(report.attempts, h.max);
            assert!(matches!(last, Some(Outcome::Retryable { .. })), "{last:?}");
        }
        GiveUpReason::Forbidden(why) => {
            let refused = matches!(last, Some(Outcome::Final { refused: Some(w), .. }) if w == why);
            let said_stop = why == Forbidden::ServerSaidStop
                && matches!(
                    last,
                    Some(Outcome::Retryable {
                        hint: Some(ServerHint::DoNotRetry),
                        ..
                    })
                );
            assert!(refused || said_stop, "{why:?} after {last:?}");
        }
        GiveUpReason::NotRetryable => {
            assert!(
                matches!(last, Some(Outcome::Final { refused: None, .. })),
                "{last:?}"
            );
        }
        GiveUpReason::Committed => {
            assert!(h.committed);
            assert!(matches!(last, Some(Outcome::Retryable { .. })), "{last:?}");
        }
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
        GiveUpReason::HintTooLong { hint, limit, kind } => {
            match kind {
                ExcessKind::Cap => {
                    assert_eq!(limit, h.hints.cap);
                    assert!(hint > limit);
                }
                ExcessKind::Deadline => {
                    let d = h.deadline_at.expect("a deadline excess needs a deadline");
                    assert_eq!(limit, d.saturating_duration_since(now));
                    assert!(hint >= limit);
                }
            }
            let from_outcome = matches!(
                last,
                Some(Outcome::Retryable { hint: Some(ServerHint::After(d)), .. }) if d == hint
            );
            assert!(
                from_outcome || h.hold_hints.contains(&hint),
                "{hint:?} was never given"
            );
        }
        GiveUpReason::BudgetExhausted => panic!("no budget, so it cannot run out"),
        other => panic!("a give-up this machine has no way to reach: {other:?}"),
    }
}

fn check_action(h: &History, action: Action, now: Instant) {
    match action {
        Action::Send { attempt, timeout } => {
            assert!(attempt <= h.max);
            if let Some(p) = h.per_try {
                assert!(
                    timeout.is_some_and(|t| t <= p),
                    "timeout {timeout:?} > per-try {p:?}"
                );
            }
            if let Some(d) = h.deadline_at {
                let left = d.saturating_duration_since(now);
                assert!(
                    timeout.is_some_and(|t| t <= left),
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
            match reason {
                WaitReason::ServerHint(d) => {
                    assert!(d <= h.hints.cap, "obeyed a hint of {d:?} beyond the cap");
                }
                WaitReason::Gate => assert!(
                    h.latest_hold.is_some_and(|l| until <= l),
                    "a gate wait until {until:?} past every hold ({:?})",
                    h.latest_hold
                ),
                WaitReason::Backoff(_) => {}
            }
        }
        Action::Done { attempts } => assert!(attempts <= h.max),
        Action::GiveUp(report) => assert!(report.attempts <= h.max),
    }
}

/// Feed `outcome` and check the gate rule for it.
fn feed(h: &mut History, op: &mut Machine<'_>, gate: &ModelGate, now: Instant, outcome: Outcome) {
    let before = gate.0.borrow().recorded.len();
    let (attempts, last) = (op.attempts(), op.last_outcome());
    op.handle_outcome(now, outcome);
    let recorded: Vec<(Hold, Instant)> = gate.0.borrow().recorded[before..].to_vec();
    if h.in_flight.take().is_none() {
        assert_eq!(op.attempts(), attempts, "an outcome out of flight counted");
        assert_eq!(
            op.last_outcome(),
            last,
            "an outcome out of flight was taken"
        );
        assert!(recorded.is_empty(), "an outcome out of flight was recorded");
        return;
    }
    assert_eq!(op.last_outcome(), Some(outcome));
    let expected = match outcome.hint() {
        Some(ServerHint::After(d)) if outcome.wants_retry() && !d.is_zero() => Some(Hold {
            until: now.saturating_add(d.min(h.hints.cap)),
            hint: d,
        }),
        _ => None,
    };
    assert_eq!(
        recorded,
        expected
            .map(|hold| (hold, now))
            .into_iter()
            .collect::<Vec<_>>(),
        "the gate rule for {outcome:?}"
    );
}

/// The actions polled and the holds recorded, for the determinism check.
type Trace = (Vec<Action>, Vec<(Hold, Instant)>);

fn run(data: &[u8]) -> Trace {
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
    let classifier = StandardClassifier::DEFAULT;
    let start = Instant::from_secs(1_000);
    let mut h = History {
        max,
        start,
        deadline_at: deadline.map(|d| start + d),
        per_try,
        hints,
        committed: false,
        in_flight: None,
        hold_hints: Vec::new(),
        latest_hold: None,
        last_wait: None,
    };
    let gate = ModelGate::default();
    let mut op = Retry::new(&policy, seed, start).with_gate(gate.clone());
    assert_eq!(op.deadline(), h.deadline_at);
    let mut now = start;
    let mut actions = Vec::new();
    let mut finished: Option<Action> = None;

    while let Some(op_code) = input.next() {
        match op_code % 11 {
            0 => now += Duration::from_millis(u64::from(input.byte()) * 10),
            // A clock that goes backwards must not panic or break the invariants.
            1 => now = now - Duration::from_millis(u64::from(input.byte())),
            // The gate holds the key as a table would after a hint (`0` or no hint: free).
            2 => {
                let hold = match hint(input.byte()) {
                    Some(ServerHint::After(d)) if !d.is_zero() => Some(Hold {
                        until: now.saturating_add(d.min(cap)),
                        hint: d,
                    }),
                    _ => None,
                };
                gate.0.borrow_mut().hold = hold;
            }
            3 => feed(&mut h, &mut op, &gate, now, Outcome::Success),
            4 => {
                let b = input.byte();
                let outcome = Outcome::Retryable {
                    kind: KINDS[usize::from(b % 3)],
                    hint: hint(input.byte()),
                    seen: seen(&mut input),
                };
                feed(&mut h, &mut op, &gate, now, outcome);
            }
            5 => {
                let b = input.byte();
                let outcome = Outcome::Final {
                    refused: REFUSED[usize::from(b % 5)],
                    hint: hint(input.byte()),
                    seen: seen(&mut input),
                };
                feed(&mut h, &mut op, &gate, now, outcome);
            }
            6 => {
                h.committed = true;
                op.handle_commit();
            }
            // An HTTP response or a transport failure, read by the standard classifier.
            7 | 8 => {
                let observed = if op_code % 11 == 7 {
                    let status = status(&mut input);
                    Observed::Response {
                        status,
                        hint: hint(input.byte()),
                    }
                } else {
                    Observed::Transport(TRANSPORT[usize::from(input.byte() % 5)])
                };
                let attempt = Attempt {
                    observed,
                    idempotent,
                    number: op.attempts(),
                };
                feed(&mut h, &mut op, &gate, now, classifier.outcome(&attempt));
            }
            9 => now += Duration::from_secs(u64::from(input.byte())),
            _ => {
                let attempts = op.attempts();
                let (was_in_flight, was_finished) = (h.in_flight, finished);
                let hold = gate.0.borrow().hold.filter(|hold| hold.until > now);
                if let Some(hold) = hold {
                    // A hold is judged on the hint it was given when that was over the
                    // cap, else on what is left of it: a give-up names one of the two.
                    h.hold_hints.push(hold.hint);
                    h.hold_hints.push(hold.until.saturating_duration_since(now));
                    h.latest_hold = h.latest_hold.max(Some(hold.until));
                }
                let action = op.poll(now);
                if let Some(f) = finished {
                    assert_eq!(action, f, "a finished machine changed its answer");
                }
                assert_eq!(op.poll(now), action, "polling again changed the answer");
                check_action(&h, action, now);
                match (h.in_flight, action) {
                    (_, Action::Done { .. } | Action::GiveUp(_)) => {}
                    (Some((n, at, timeout)), _) => {
                        let left =
                            timeout.map(|t| t.saturating_sub(now.saturating_duration_since(at)));
                        assert_eq!(
                            action,
                            Action::Send {
                                attempt: n,
                                timeout: left
                            },
                            "in flight, poll repeats the Send"
                        );
                    }
                    (None, Action::Send { attempt, timeout }) => {
                        assert_eq!(attempt, attempts + 1, "a Send starts the next attempt");
                        assert_eq!(op.attempts(), attempt);
                        if let Some(d) = h.deadline_at {
                            assert!(now < d, "sent at or after the deadline");
                        }
                        h.in_flight = Some((attempt, now, timeout));
                    }
                    (None, Action::Wait { .. }) => {}
                }
                // The gate rule before an attempt: a hold over the cap refuses, naming it.
                let over_cap = hold.filter(|hold| hold.hint > cap);
                if let (Some(hold), OnExcess::GiveUp, None, None) =
                    (over_cap, on_excess, was_in_flight, was_finished)
                {
                    match action {
                        Action::GiveUp(report) => assert!(
                            matches!(report.reason,
                                GiveUpReason::HintTooLong { hint, .. } if hint == hold.hint)
                                || matches!(
                                    report.reason,
                                    GiveUpReason::Deadline { wait: None, .. }
                                ),
                            "a hold of {:?} over the cap gave {:?}",
                            hold.hint,
                            report.reason
                        ),
                        // A backoff or hint wait still running, or a gate wait decided before.
                        Action::Wait { until, reason } => assert!(
                            reason != WaitReason::Gate || h.last_wait == Some(until),
                            "a fresh gate wait for a hold over the cap"
                        ),
                        other => panic!("a hold over the cap let {other:?} through"),
                    }
                }
                if let Action::Wait { until, .. } = action {
                    h.last_wait = Some(until);
                }
                if finished.is_none() && matches!(action, Action::Done { .. } | Action::GiveUp(_)) {
                    check_report(&h, &op, action, now);
                    finished = Some(action);
                }
                actions.push(action);
            }
        }
        // Look at the state without disturbing it: a clone polled at time zero (before the
        // start, so before any deadline) with the gate muted cannot decide to give up itself,
        // so it shows Done or GiveUp exactly when the machine has finished, i.e. the moment
        // the event that ended it happened.
        gate.0.borrow_mut().muted = true;
        let peek = op.clone().poll(Instant::ZERO);
        gate.0.borrow_mut().muted = false;
        match (peek, finished) {
            (Action::Done { .. } | Action::GiveUp(_), None) => {
                check_action(&h, peek, now);
                check_report(&h, &op, peek, now);
                finished = Some(peek);
                h.in_flight = None;
            }
            (_, Some(f)) => assert_eq!(peek, f, "a finished machine changed its answer"),
            (_, None) => {}
        }
        assert!(
            op.attempts() <= max,
            "{} attempts > max {max}",
            op.attempts()
        );
    }
    let recorded = gate.0.borrow().recorded.clone();
    (actions, recorded)
}

/// The `retry_machine` target: a policy, then a sequence of inputs and polls.
///
/// Input layout: max attempts, deadline (×250 ms, 0 = none), per-try timeout (×20 ms,
/// 0 = none), a jitter seed (u16 LE), a flags byte (bit 0: the request is idempotent, for
/// the classifier; bit 1: `OnExcess::UseBackoff`; bits 2–3: which hint cap, `2` reading a
/// byte of seconds), then one op byte per input with its arguments (op % 11):
///
/// | op | input | arguments |
/// |---|---|---|
/// | 0 | clock + 10 ms × b | b |
/// | 1 | clock − b ms | b |
/// | 2 | the gate's hold: a hint byte (none or 0: no hold) | h |
/// | 3 | `Outcome::Success` | |
/// | 4 | `Outcome::Retryable` | kind (b % 3), hint byte, seen |
/// | 5 | `Outcome::Final` | refused (b % 5: none or a `Forbidden`), hint byte, seen |
/// | 6 | `handle_commit` | |
/// | 7 | an HTTP response judged by the standard classifier | status, hint byte |
/// | 8 | a transport failure judged by the standard classifier | b % 5 |
/// | 9 | clock + b s | b |
/// | 10 | poll | |
///
/// A status is a byte (`< 12`: a common status, else a u16 follows); "seen" is a byte
/// (% 4: a status, a transport error byte, the caller's error, a raw u16 status); a hint
/// byte is `0..=95` none, `96` do not retry, `97..=191` 0–9.4 s by 100 ms, `192..` 0–1008 s
/// by 16 s. Panics only when a law in the module docs breaks.
pub fn retry_machine(data: &[u8]) {
    let first = run(data);
    assert_eq!(first, run(data), "same bytes, different actions");
}
