//! Arbitrary event sequences into one retry machine (and a shared deadline table),
//! checking the machine's invariants after every step:
//! - attempts never exceed the policy's maximum;
//! - a `Wait` never ends at or past the overall deadline, and `Send`'s timeout never exceeds the time left;
//! - a finished machine (Done / GiveUp) never changes its answer;
//! - the same bytes replayed give the same actions (determinism);
//! - the table never holds more than its capacity.
#![no_main]

use core::time::Duration;

use libfuzzer_sys::fuzz_target;
use relent::hint::ServerHint;
use relent::retry::{Action, Retry, RetryPolicy, TransportError};
use relent::{DeadlineTable, Instant, NextAllowed};

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*b)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.byte()?, self.byte()?]))
    }
}

fn run(data: &[u8]) -> Vec<Action> {
    let mut input = Bytes(data);
    let max = u32::from(input.byte().unwrap_or(3) % 8) + 1;
    let deadline = match input.byte().unwrap_or(0) {
        0 => None,
        s => Some(Duration::from_millis(u64::from(s) * 250)),
    };
    let per_try = match input.byte().unwrap_or(0) {
        0 => None,
        s => Some(Duration::from_millis(u64::from(s) * 20)),
    };
    let seed = u64::from(input.u16().unwrap_or(0));
    let idempotent = input.byte().unwrap_or(0) & 1 == 1;
    let policy = RetryPolicy::default()
        .with_max_attempts(max)
        .with_deadline(deadline)
        .with_per_try_timeout(per_try);
    let start = Instant::from_secs(1_000);
    let deadline_at = deadline.map(|d| start + d);
    let mut op = Retry::new(policy, seed, start).idempotent(idempotent);
    let mut table = DeadlineTable::<u8>::new(4, 7).expect("capacity 4");
    let mut now = start;
    let mut actions = Vec::new();
    let mut finished: Option<Action> = None;

    while let Some(op_code) = input.byte() {
        match op_code % 9 {
            0 => now += Duration::from_millis(u64::from(input.byte().unwrap_or(0)) * 10),
            // A clock that goes backwards must not panic or break the invariants.
            1 => now = now - Duration::from_millis(u64::from(input.byte().unwrap_or(0))),
            2 => op.handle_attempt_started(now),
            3 => {
                let status = input.u16().unwrap_or(503);
                let hint = match input.byte().unwrap_or(0) {
                    0..=127 => None,
                    128 => Some(ServerHint::DoNotRetry),
                    s => Some(ServerHint::After(Duration::from_secs(u64::from(s - 128) * 4))),
                };
                op.handle_response(now, status, hint);
                if let Some(d) = op.hint_deadline() {
                    let _ = table.record(input.byte().unwrap_or(0) % 8, d, now);
                }
            }
            4 => {
                let e = [
                    TransportError::ConnectFailed,
                    TransportError::TimedOut,
                    TransportError::ResetAfterSend,
                    TransportError::BodyNotReplayable,
                    TransportError::Other,
                ][usize::from(input.byte().unwrap_or(0) % 5)];
                op.handle_transport_error(now, e);
            }
            5 => op.handle_timer(now),
            6 => op.handle_success(now),
            7 => op.handle_commit(),
            _ => {
                let key = input.byte().unwrap_or(0) % 8;
                let gate = match table.next_allowed(&key, now) {
                    NextAllowed::Now => None,
                    NextAllowed::Wait { until } => Some(until),
                };
                let action = op.poll(now, gate);
                if let Some(f) = finished {
                    assert_eq!(action, f, "a finished machine changed its answer");
                }
                match action {
                    Action::Send { attempt, timeout } => {
                        assert!(attempt <= max);
                        if let Some(d) = deadline_at {
                            let left = d.saturating_duration_since(now);
                            assert!(timeout.is_some_and(|t| t <= left), "timeout {timeout:?} > left {left:?}");
                        }
                    }
                    Action::Wait { until, .. } => {
                        if let Some(d) = deadline_at {
                            assert!(until < d, "wait until {until:?} reaches the deadline {d:?}");
                        }
                    }
                    Action::Done { attempts } => {
                        assert!(attempts <= max);
                        finished = Some(action);
                    }
                    Action::GiveUp(report) => {
                        assert!(report.attempts <= max);
                        finished = Some(action);
                    }
                    Action::AwaitOutcome { .. } => {}
                }
                actions.push(action);
            }
        }
        assert!(op.attempts() <= max, "{} attempts > max {max}", op.attempts());
        assert!(table.len() <= table.capacity());
    }
    actions
}

fuzz_target!(|data: &[u8]| {
    let first = run(data);
    assert_eq!(first, run(data), "same bytes, different actions");
});
