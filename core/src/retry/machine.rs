//! The per-operation retry state machine.

use core::num::NonZeroU32;
use core::time::Duration;

use crate::backoff::Backoff;
use crate::hint::{ExcessKind, HintPolicy, HintVerdict, ServerHint};
use crate::retry::{
    Action, Attempt, Budget, Classify, Forbidden, GiveUpReason, Outcome, Report, RetryKind,
    RetryPolicy, StandardClassifier, TransportError, Unlimited, Verdict, WaitReason,
};
use crate::time::Instant;
use crate::timeout::{AttemptTimeout, WaitCheck, attempt_timeout, check_wait, time_left};

/// The give-up for a deadline that has already passed.
const fn deadline_passed() -> GiveUpReason {
    GiveUpReason::Deadline {
        wait: None,
        time_left: Duration::ZERO,
    }
}

/// The kind a failed attempt is charged to the budget as, if it counts (gRFC A6):
/// the classifier asked for a retry, or the server said not to retry on an outcome
/// that is not a success (charged as its driver-given kind, else as transient).
fn counted_failure(verdict: Verdict, outcome: Outcome) -> Option<RetryKind> {
    match (verdict, outcome) {
        (Verdict::Retry(kind), _) => Some(kind),
        (_, Outcome::Response { status, .. }) if (100..400).contains(&status) => None,
        (
            _,
            Outcome::Failure {
                retry,
                hint: Some(ServerHint::DoNotRetry),
            },
        ) => Some(retry.unwrap_or(RetryKind::Transient)),
        (_, outcome) if outcome.hint() == Some(ServerHint::DoNotRetry) => {
            Some(RetryKind::Transient)
        }
        _ => None,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// The next attempt may start once the gate allows.
    Ready,
    /// An attempt is running; it times out at `timeout_at`.
    InFlight { timeout_at: Option<Instant> },
    /// Waiting until `until` before the next attempt.
    Waiting { until: Instant, reason: WaitReason },
    /// Finished with a success or a final response.
    Done,
    /// Finished without success.
    GaveUp(Report),
}

/// One operation's retry state: events in, [`Action`]s out.
///
/// It never reads a clock, sleeps or allocates: every input carries `now`,
/// and the same inputs with the same seed give the same actions on every
/// target. The driving rule:
///
/// 1. `poll(now, gate)`: on [`Action::Send`], call [`handle_attempt_started`](Self::handle_attempt_started),
///    run the attempt within its timeout, then feed how it ended
///    ([`handle_response`](Self::handle_response), [`handle_transport_error`](Self::handle_transport_error),
///    [`handle_success`](Self::handle_success), or [`handle_timer`](Self::handle_timer) when the timeout fires).
/// 2. On [`Action::Wait`], sleep until `until` and poll again.
/// 3. On [`Action::Done`] or [`Action::GiveUp`], stop: the report says why.
///
/// `gate` is the shared deadline for the request's key (from a
/// [`DeadlineTable`](crate::table::DeadlineTable)), or `None`.
///
/// ```
/// use core::time::Duration;
/// use relent::retry::{Action, GiveUpReason, Retry, RetryPolicy, WaitReason};
/// use relent::Instant;
///
/// let policy = RetryPolicy::kube_client();
/// let mut now = Instant::ZERO;
/// let mut op = Retry::new(policy, 7, now).idempotent(true);
///
/// // Attempt 1: the server answers 503.
/// assert!(matches!(op.poll(now, None), Action::Send { attempt: 1, .. }));
/// op.handle_attempt_started(now);
/// op.handle_response(now, 503, None);
///
/// // The machine asks us to back off (kube: 500 ms, doubling).
/// let Action::Wait { until, reason } = op.poll(now, None) else { panic!() };
/// assert_eq!(until, now + Duration::from_millis(500));
/// assert!(matches!(reason, WaitReason::Backoff(_)));
///
/// // Attempt 2 succeeds.
/// now = until;
/// assert!(matches!(op.poll(now, None), Action::Send { attempt: 2, .. }));
/// op.handle_attempt_started(now);
/// op.handle_response(now, 200, None);
/// assert_eq!(op.poll(now, None), Action::Done { attempts: 2 });
/// ```
#[derive(Clone, Debug)]
pub struct Retry<C = StandardClassifier, B = Unlimited> {
    // The policy, taken apart: its backoff policies live in the `Backoff`s, so
    // the machine keeps one copy of everything (it is moved into futures).
    max_attempts: NonZeroU32,
    per_try_timeout: Option<Duration>,
    classifier: C,
    hints: HintPolicy,
    budget: B,
    backoff: Backoff,
    throttled_backoff: Option<Backoff>,
    idempotent: bool,
    started: Instant,
    deadline: Option<Instant>,
    state: State,
    attempts: u32,
    waited: Duration,
    last: Option<Outcome>,
    committed: bool,
    hint_deadline: Option<Instant>,
    /// A gate beyond the hint cap was waited out (capped) once for this attempt.
    gate_capped: bool,
    /// The kind of the last retry the budget paid for (refunded on success).
    last_retry: Option<RetryKind>,
}

impl<C: Classify> Retry<C, Unlimited> {
    /// A machine for one operation starting at `now`, with no shared budget.
    ///
    /// `seed` drives the jitter; adapters seed from OS entropy, tests pick a constant.
    /// The request is treated as not idempotent until [`idempotent`](Self::idempotent) says otherwise.
    #[must_use]
    pub fn new(policy: RetryPolicy<C>, seed: u64, now: Instant) -> Self {
        // Inside a policy, `max_attempts` (and `deadline`) are the limits that count:
        // the backoffs run without their own `max_delays` / `max_elapsed`.
        let backoff = Backoff::new(policy.backoff.without_limits(), seed);
        let throttled_backoff = policy
            .throttled_backoff
            .map(|p| Backoff::new(p.without_limits(), seed ^ 0x7468_726f_7474_6c65));
        let deadline = policy.deadline.map(|d| now.saturating_add(d));
        Retry {
            max_attempts: policy.max_attempts,
            per_try_timeout: policy.per_try_timeout,
            classifier: policy.classifier,
            hints: policy.hints,
            budget: Unlimited,
            backoff,
            throttled_backoff,
            idempotent: false,
            started: now,
            deadline,
            state: State::Ready,
            attempts: 0,
            waited: Duration::ZERO,
            last: None,
            committed: false,
            hint_deadline: None,
            gate_capped: false,
            last_retry: None,
        }
    }
}

impl<C: Classify, B: Budget> Retry<C, B> {
    /// Share a retry budget with other operations (a `TokenBucket`, an `Arc<SharedTokenBucket>`, …).
    #[must_use]
    pub fn with_budget<B2: Budget>(self, budget: B2) -> Retry<C, B2> {
        Retry {
            max_attempts: self.max_attempts,
            per_try_timeout: self.per_try_timeout,
            classifier: self.classifier,
            hints: self.hints,
            budget,
            backoff: self.backoff,
            throttled_backoff: self.throttled_backoff,
            idempotent: self.idempotent,
            started: self.started,
            deadline: self.deadline,
            state: self.state,
            attempts: self.attempts,
            waited: self.waited,
            last: self.last,
            committed: self.committed,
            hint_deadline: self.hint_deadline,
            gate_capped: self.gate_capped,
            last_retry: self.last_retry,
        }
    }

    /// Mark the request idempotent (RFC 9110 methods, or a POST carrying an idempotency key).
    #[must_use]
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// Set the overall deadline to an absolute instant (overrides the policy's relative one).
    #[must_use]
    pub fn deadline_at(mut self, deadline: Option<Instant>) -> Self {
        self.deadline = deadline;
        self
    }

    /// What to do next. Calling it again without new input gives the same answer.
    ///
    /// `gate`: the instant before which this request's key may not be sent
    /// (another operation's Retry-After), if any. A gate wait is judged like a
    /// server hint: beyond the hint cap or the time left, the machine gives up at once.
    /// With [`OnExcess::UseBackoff`](crate::hint::OnExcess::UseBackoff), a gate
    /// beyond the cap is instead waited out for the cap, once, and the request
    /// is then sent although the gate is still active: that setting prefers the
    /// client's own limits to a server's excessive hint.
    pub fn poll(&mut self, now: Instant, gate: Option<Instant>) -> Action {
        loop {
            match self.state {
                State::Done => {
                    return Action::Done {
                        attempts: self.attempts,
                    };
                }
                State::GaveUp(report) => return Action::GiveUp(report),
                State::InFlight { timeout_at } => return Action::AwaitOutcome { timeout_at },
                State::Waiting { until, reason } => {
                    if now < until {
                        return Action::Wait { until, reason };
                    }
                    self.state = State::Ready;
                }
                State::Ready => return self.poll_ready(now, gate),
            }
        }
    }

    fn poll_ready(&mut self, now: Instant, gate: Option<Instant>) -> Action {
        let time_left = self.time_left(now);
        if time_left == Some(Duration::ZERO) {
            return self.give_up(now, deadline_passed());
        }
        if let Some(gate) = gate.filter(|g| *g > now) {
            let wait = gate.saturating_duration_since(now);
            match self.hints.judge(wait, time_left) {
                HintVerdict::Wait(d) => return self.wait(now, d, WaitReason::Gate),
                HintVerdict::GiveUp { hint, limit, kind } => {
                    return self.give_up(now, GiveUpReason::HintTooLong { hint, limit, kind });
                }
                // The configuration prefers the backoff schedule to an excessive hint.
                // For a gate that means: past the deadline, give up; past the cap,
                // wait out the cap once and then send.
                HintVerdict::UseBackoff {
                    kind: ExcessKind::Deadline,
                    ..
                } => {
                    return self.give_up(
                        now,
                        GiveUpReason::Deadline {
                            wait: Some(wait),
                            time_left: time_left.unwrap_or(Duration::MAX),
                        },
                    );
                }
                HintVerdict::UseBackoff { limit, .. } => {
                    if !limit.is_zero() && !self.gate_capped {
                        self.gate_capped = true;
                        return self.wait(now, limit, WaitReason::Gate);
                    }
                }
            }
        }
        let timeout = match attempt_timeout(self.per_try_timeout, self.deadline, now) {
            AttemptTimeout::Unlimited => None,
            AttemptTimeout::Limit(d) => Some(d),
            AttemptTimeout::DeadlinePassed => return self.give_up(now, deadline_passed()),
        };
        Action::Send {
            attempt: self.attempts.saturating_add(1),
            timeout,
        }
    }

    /// The attempt that `poll` announced has started.
    pub fn handle_attempt_started(&mut self, now: Instant) {
        if self.state != State::Ready {
            return;
        }
        self.attempts = self.attempts.saturating_add(1);
        self.gate_capped = false;
        if self.attempts == 1 {
            self.budget.on_request(now);
        }
        let timeout_at = match attempt_timeout(self.per_try_timeout, self.deadline, now) {
            AttemptTimeout::Unlimited => None,
            AttemptTimeout::Limit(d) => Some(now.saturating_add(d)),
            AttemptTimeout::DeadlinePassed => Some(now),
        };
        self.state = State::InFlight { timeout_at };
    }

    /// The caller began consuming the response body: from now on a failure is not retried.
    pub fn handle_commit(&mut self) {
        self.committed = true;
    }

    /// A timer fired. If the in-flight attempt's timeout has passed, it is a [`TransportError::TimedOut`].
    pub fn handle_timer(&mut self, now: Instant) {
        if let State::InFlight {
            timeout_at: Some(t),
        } = self.state
        {
            if now >= t {
                self.handle_transport_error(now, TransportError::TimedOut);
            }
        }
    }

    /// A response arrived with `status` and, maybe, a parsed server hint.
    pub fn handle_response(&mut self, now: Instant, status: u16, hint: Option<ServerHint>) {
        self.finish_attempt(now, Outcome::Response { status, hint });
    }

    /// The attempt failed below HTTP.
    pub fn handle_transport_error(&mut self, now: Instant, error: TransportError) {
        self.finish_attempt(now, Outcome::Transport(error));
    }

    /// The attempt failed with the driver's own error, which the driver
    /// classified: `retry` is `Some(kind)` if it is worth another attempt of
    /// that kind, `None` if it is permanent; `hint` is a server hint that came
    /// with it. The policy's classifier still sees it (so a veto still applies),
    /// and the report's `last` says exactly this, not a stand-in status.
    pub fn handle_failure(
        &mut self,
        now: Instant,
        retry: Option<RetryKind>,
        hint: Option<ServerHint>,
    ) {
        self.finish_attempt(now, Outcome::Failure { retry, hint });
    }

    /// The operation succeeded (for drivers whose own classifier decided so).
    pub fn handle_success(&mut self, now: Instant) {
        if self.start_if_needed(now) {
            self.succeed(now);
        }
    }

    /// Whether an outcome fed now belongs to an attempt: the one in flight, or
    /// one the driver started without calling `handle_attempt_started` (only
    /// possible where `poll` would have said `Send`). A late answer to an
    /// attempt that already timed out arrives while the machine waits; it is
    /// ignored, so it can neither count as an attempt nor skip the wait.
    fn start_if_needed(&mut self, now: Instant) -> bool {
        match self.state {
            State::Done | State::GaveUp(_) => false,
            State::InFlight { .. } => true,
            State::Waiting { until, .. } if now < until => false,
            State::Ready | State::Waiting { .. } => {
                self.state = State::Ready;
                self.handle_attempt_started(now);
                true
            }
        }
    }

    fn succeed(&mut self, now: Instant) {
        self.budget.on_success(self.last_retry, now);
        self.backoff.reset();
        if let Some(b) = self.throttled_backoff.as_mut() {
            b.reset();
        }
        self.state = State::Done;
    }

    fn finish_attempt(&mut self, now: Instant, outcome: Outcome) {
        if !self.start_if_needed(now) {
            return;
        }
        self.last = Some(outcome);
        // The server's "not before" concerns every request to this key, not just
        // this operation, so it is kept even when this operation stops here.
        self.hint_deadline = match outcome.hint() {
            Some(ServerHint::After(d)) => Some(now.saturating_add(d.min(self.hints.cap))),
            _ => None,
        };
        let attempt = Attempt {
            outcome,
            idempotent: self.idempotent,
            number: self.attempts,
        };
        let verdict = self.classifier.classify(&attempt);
        // Every failure that counts is charged before anything else is decided
        // (gRFC A6 retryThrottling); budgets that charge only retries ignore it.
        if let Some(kind) = counted_failure(verdict, outcome) {
            self.budget.on_failure(kind, now);
        }
        match verdict {
            Verdict::Forbid(why) => {
                self.end(now, GiveUpReason::Forbidden(why));
            }
            Verdict::NoOpinion => match outcome {
                Outcome::Response { status, .. } if (100..400).contains(&status) => {
                    self.succeed(now);
                }
                _ => {
                    self.end(now, GiveUpReason::NotRetryable);
                }
            },
            Verdict::Retry(kind) => {
                if self.committed {
                    self.end(now, GiveUpReason::Committed);
                } else {
                    self.schedule_retry(now, kind, outcome.hint());
                }
            }
        }
    }

    fn schedule_retry(&mut self, now: Instant, kind: RetryKind, hint: Option<ServerHint>) {
        if hint == Some(ServerHint::DoNotRetry) {
            self.end(now, GiveUpReason::Forbidden(Forbidden::ServerSaidStop));
            return;
        }
        if self.attempts >= self.max_attempts.get() {
            self.end(now, GiveUpReason::MaxAttempts);
            return;
        }
        let time_left = self.time_left(now);
        if time_left == Some(Duration::ZERO) {
            self.end(now, deadline_passed());
            return;
        }
        let mut planned = None;
        if let Some(ServerHint::After(d)) = hint {
            match self.hints.judge(d, time_left) {
                HintVerdict::Wait(d) => {
                    planned = Some((d, WaitReason::ServerHint(d)));
                }
                HintVerdict::GiveUp { hint, limit, kind } => {
                    self.end(now, GiveUpReason::HintTooLong { hint, limit, kind });
                    return;
                }
                HintVerdict::UseBackoff { .. } => {}
            }
        }
        let (delay, reason) = match planned {
            Some(p) => p,
            None => {
                let backoff = match (kind, self.throttled_backoff.as_mut()) {
                    (RetryKind::Throttled, Some(b)) => b,
                    _ => &mut self.backoff,
                };
                match backoff.next_delay(now) {
                    Some(d) => (d, WaitReason::Backoff(kind)),
                    None => {
                        self.end(now, GiveUpReason::BackoffExhausted);
                        return;
                    }
                }
            }
        };
        // Never start a wait that ends at or past the deadline: there would be no time left to try.
        if let WaitCheck::ExceedsDeadline { time_left } = check_wait(delay, self.deadline, now) {
            self.end(
                now,
                GiveUpReason::Deadline {
                    wait: Some(delay),
                    time_left,
                },
            );
            return;
        }
        if !self.budget.try_withdraw(kind, now) {
            self.end(now, GiveUpReason::BudgetExhausted);
            return;
        }
        self.last_retry = Some(kind);
        let _ = self.wait(now, delay, reason);
    }

    fn wait(&mut self, now: Instant, delay: Duration, reason: WaitReason) -> Action {
        let until = now.saturating_add(delay);
        self.waited = self.waited.saturating_add(delay);
        self.state = State::Waiting { until, reason };
        Action::Wait { until, reason }
    }

    fn give_up(&mut self, now: Instant, reason: GiveUpReason) -> Action {
        self.end(now, reason);
        match self.state {
            State::GaveUp(report) => Action::GiveUp(report),
            _ => Action::Done {
                attempts: self.attempts,
            },
        }
    }

    /// Stop for good, keeping the whole story in the report.
    fn end(&mut self, now: Instant, reason: GiveUpReason) {
        let report = Report {
            reason,
            attempts: self.attempts,
            last: self.last,
            waited: self.waited,
            elapsed: now.saturating_duration_since(self.started),
        };
        self.state = State::GaveUp(report);
    }

    fn time_left(&self, now: Instant) -> Option<Duration> {
        time_left(self.deadline, now)
    }

    /// Attempts made so far.
    #[must_use]
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Total scheduled waiting so far.
    #[must_use]
    pub fn waited(&self) -> Duration {
        self.waited
    }

    /// The overall deadline, if any.
    #[must_use]
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The deadline the last server hint asks the shared table to record for this
    /// request's key (clamped to the hint cap), if a hint was seen.
    #[must_use]
    pub fn hint_deadline(&self) -> Option<Instant> {
        self.hint_deadline
    }

    /// How the last attempt ended.
    #[must_use]
    pub fn last_outcome(&self) -> Option<Outcome> {
        self.last
    }

    /// The budget handle.
    #[must_use]
    pub fn budget(&self) -> &B {
        &self.budget
    }

    /// Whether the request is treated as idempotent.
    #[must_use]
    pub fn is_idempotent(&self) -> bool {
        self.idempotent
    }

    /// The maximum number of attempts.
    #[must_use]
    pub fn max_attempts(&self) -> NonZeroU32 {
        self.max_attempts
    }
}
