//! A hand-written HTTP driver step for tests: one operation whose attempts are fed as
//! HTTP observations (a status, a transport error, a caller-judged failure), read into
//! outcomes by the policy's classifier exactly as the adapters do, with a gate whose
//! hold is set per poll and whose recorded hold can be read back.

#![allow(dead_code)]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use relent::Instant;
use relent::hint::ServerHint;
use relent::http::{Attempt, Classify, Observed, StandardClassifier};
use relent::retry::{
    Action, Budget, Gate, Hold, Outcome, Retry, RetryKind, RetryPolicy, TransportError, Unlimited,
};

#[derive(Default, Debug)]
struct GateState {
    hold: Option<Hold>,
    recorded: Option<Hold>,
}

/// The gate of a test operation: the hold given to the last `poll`, and the last record.
#[derive(Clone, Debug, Default)]
pub struct TestGate(Rc<RefCell<GateState>>);

impl Gate for TestGate {
    fn hold(&mut self, _now: Instant) -> Option<Hold> {
        self.0.borrow().hold
    }
    fn record(&mut self, hold: Hold, _now: Instant) {
        self.0.borrow_mut().recorded = Some(hold);
    }
}

/// One HTTP operation, stepped by hand.
pub struct HttpOp<C = StandardClassifier, B = Unlimited> {
    machine: Retry<Rc<RetryPolicy<C>>, B, TestGate>,
    gate: TestGate,
    idempotent: bool,
    timeout_at: Option<Instant>,
}

impl<C: Classify> HttpOp<C> {
    /// A machine for `policy` at `now`, treated as not idempotent until told otherwise.
    pub fn new(policy: RetryPolicy<C>, seed: u64, now: Instant) -> Self {
        let gate = TestGate::default();
        HttpOp {
            machine: Retry::new(Rc::new(policy), seed, now).with_gate(gate.clone()),
            gate,
            idempotent: false,
            timeout_at: None,
        }
    }
}

impl<C: Classify, B: Budget> HttpOp<C, B> {
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    pub fn with_budget<B2: Budget>(self, budget: B2) -> HttpOp<C, B2> {
        HttpOp {
            machine: self.machine.with_budget(budget),
            gate: self.gate,
            idempotent: self.idempotent,
            timeout_at: self.timeout_at,
        }
    }

    pub fn deadline_at(mut self, deadline: Option<Instant>) -> Self {
        self.machine = self.machine.deadline_at(deadline);
        self
    }

    /// Poll with the key held until `gate` (as another operation's hint of `gate − now`).
    pub fn poll(&mut self, now: Instant, gate: Option<Instant>) -> Action {
        self.gate.0.borrow_mut().hold = gate.map(|until| Hold {
            until,
            hint: until.saturating_duration_since(now),
        });
        let action = self.machine.poll(now);
        if let Action::Send { timeout, .. } = action {
            self.timeout_at = timeout.map(|t| now + t);
        }
        action
    }

    /// Poll with a hold as the table keeps it (until, and the server's uncapped hint).
    pub fn poll_held(&mut self, now: Instant, hold: Hold) -> Action {
        self.gate.0.borrow_mut().hold = Some(hold);
        self.machine.poll(now)
    }

    /// Kept from the earlier contract: `poll`'s `Send` has started the attempt already.
    pub fn handle_attempt_started(&mut self, _now: Instant) {}

    fn feed(&mut self, now: Instant, observed: Observed) {
        let attempt = Attempt {
            observed,
            idempotent: self.idempotent,
            number: self.machine.attempts(),
        };
        let outcome = self.machine.policy().classifier.outcome(&attempt);
        self.machine.handle_outcome(now, outcome);
    }

    pub fn handle_response(&mut self, now: Instant, status: u16, hint: Option<ServerHint>) {
        self.feed(now, Observed::Response { status, hint });
    }

    pub fn handle_transport_error(&mut self, now: Instant, error: TransportError) {
        self.feed(now, Observed::Transport(error));
    }

    pub fn handle_failure(
        &mut self,
        now: Instant,
        retry: Option<RetryKind>,
        hint: Option<ServerHint>,
    ) {
        self.feed(now, Observed::Failure { retry, hint });
    }

    pub fn handle_success(&mut self, now: Instant) {
        self.machine.handle_outcome(now, Outcome::Success);
    }

    /// The attempt's timer fired: a timeout once its limit has passed.
    pub fn handle_timer(&mut self, now: Instant) {
        if self.timeout_at.is_some_and(|t| now >= t) {
            self.handle_transport_error(now, TransportError::TimedOut);
        }
    }

    pub fn handle_commit(&mut self) {
        self.machine.handle_commit();
    }

    /// The deadline the last recorded hint put on the key.
    pub fn hint_deadline(&self) -> Option<Instant> {
        self.gate.0.borrow().recorded.map(|h| h.until)
    }

    /// The last hold recorded for the key.
    pub fn recorded(&self) -> Option<Hold> {
        self.gate.0.borrow().recorded
    }

    pub fn attempts(&self) -> u32 {
        self.machine.attempts()
    }
    pub fn waited(&self) -> Duration {
        self.machine.waited()
    }
    pub fn budget(&self) -> &B {
        self.machine.budget()
    }
    pub fn last_outcome(&self) -> Option<Outcome> {
        self.machine.last_outcome()
    }
    pub fn deadline(&self) -> Option<Instant> {
        self.machine.deadline()
    }
}
