//! The per-operation retry state machine.

use core::ops::Deref;
use core::time::Duration;

use crate::backoff::Walk;
use crate::hint::{HintVerdict, ServerHint};
use crate::retry::{
    Action, Budget, Forbidden, Gate, GiveUpReason, Hold, NoGate, Outcome, Report, RetryKind,
    RetryPolicy, Unlimited, WaitReason,
};
use crate::time::{Instant, duration_to_nanos, nanos_to_duration};
use crate::timeout::time_left;

/// The give-up for a deadline that has already passed.
const fn deadline_passed() -> GiveUpReason {
    GiveUpReason::Deadline {
        wait: None,
        time_left: Duration::ZERO,
    }
}

/// An attempt's time limit: what [`attempt_timeout`](crate::timeout::attempt_timeout)
/// gives for a deadline that has not passed, from the time left already in hand (a
/// comparison of `Duration`s, not of their `u128` nanoseconds): the shorter of the per-try
/// timeout and the time left; `None` for no limit.
#[inline]
fn attempt_limit(per_try: Option<Duration>, time_left: Option<Duration>) -> Option<Duration> {
    match (per_try, time_left) {
        (Some(per_try), Some(left)) => Some(per_try.min(left)),
        (per_try, None) => per_try,
        (None, left) => left,
    }
}

/// The seed of the throttled backoff's walk, apart from the main one.
const THROTTLED_SEED: u64 = 0x7468_726f_7474_6c65;

/// The kind a failed attempt is charged to the budget as, if it counts (gRFC A6,
/// "Throttling Retry Attempts"): a failure worth a retry, or any failure that came with
/// the server's "do not retry" (charged as transient).
fn counted_failure(outcome: &Outcome) -> Option<RetryKind> {
    match *outcome {
        Outcome::Retryable { kind, .. } => Some(kind),
        Outcome::Final {
            hint: Some(ServerHint::DoNotRetry),
            ..
        } => Some(RetryKind::Transient),
        _ => None,
    }
}

// A tag byte of its own (no niche in a payload): `poll` reads the state without decoding
// a niche first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum State {
    /// The next attempt may start once the gate allows.
    Ready,
    /// An attempt started at `at` is running, with this time limit.
    InFlight {
        at: Instant,
        timeout: Option<Duration>,
    },
    /// Waiting until `until` before the next attempt.
    Waiting { until: Instant, reason: WaitReason },
    /// Finished with a success.
    Done,
    /// Finished without success, at `at`.
    GaveUp { reason: GiveUpReason, at: Instant },
}

/// What the general paths of [`Retry::poll`] decided, before it is told as an [`Action`]:
/// small, so no `Action` (which may carry a whole [`Report`]) is returned through memory.
#[derive(Clone, Copy, Debug)]
enum Next {
    /// The attempt started (the state is `InFlight`), with this limit.
    Send(Option<Duration>),
    /// Waiting until `until`.
    Wait { until: Instant, reason: WaitReason },
    /// Gave up at `at`.
    GiveUp { reason: GiveUpReason, at: Instant },
}

// One operation's state stays small on every target, so a machine fits beside a firmware
// task's other state (192 bytes on thumbv7em-none-eabihf and on x86_64 today): the
// bare-metal CI builds check this bound.
const _: () =
    assert!(core::mem::size_of::<Retry<&'static RetryPolicy, Unlimited, NoGate>>() <= 256);

/// One operation's retry state: outcomes in, [`Action`]s out.
///
/// It never reads a clock, sleeps or allocates, and it knows no HTTP: every input
/// carries `now`, attempts are reported as judged [`Outcome`]s, and the same inputs with
/// the same seed give the same actions on every target.
///
/// **The driving rule** (what [`crate::drive`] does, and any hand-written loop must):
///
/// 1. `poll(now)`. On [`Action::Send`], the attempt has started: run it within
///    `timeout`, then [`handle_outcome`](Self::handle_outcome) with how it ended (a
///    timeout is an outcome too), and poll again.
/// 2. On [`Action::Wait`], sleep until `until` (never less: round up on a coarse
///    timer), then poll again.
/// 3. On [`Action::Done`] or [`Action::GiveUp`], stop: the report says why.
///
/// The policy is shared, not copied: `P` is anything that derefs to a [`RetryPolicy`]
/// (`&RetryPolicy`, `Arc<RetryPolicy>`, a `&'static` one in firmware). A shared
/// [`Budget`] (`B`) and a [`Gate`] bound to the operation's key (`G`: the shared
/// Retry-After table) are consulted by the machine itself, so every driver follows
/// the same rule for them (see [`crate::retry::gate`]).
///
/// ```
/// use core::time::Duration;
/// use relent::retry::{Action, Outcome, Retry, RetryPolicy, WaitReason};
/// use relent::Instant;
///
/// let policy = RetryPolicy::kube_client();
/// let mut now = Instant::ZERO;
/// // A fixed seed is safe here: a test, and kube's preset has no jitter. Real code seeds
/// // from entropy (`relent::fresh_seed()`), or clients retry in step.
/// let mut op = Retry::new(&policy, 7, now);
///
/// // Attempt 1 fails in a way worth a retry.
/// assert!(matches!(op.poll(now), Action::Send { attempt: 1, .. }));
/// op.handle_outcome(now, Outcome::transient());
///
/// // The machine asks us to back off (kube: 500 ms, doubling).
/// let Action::Wait { until, reason } = op.poll(now) else { panic!() };
/// assert_eq!(until, now + Duration::from_millis(500));
/// assert!(matches!(reason, WaitReason::Backoff(_)));
///
/// // Attempt 2 succeeds.
/// now = until;
/// assert!(matches!(op.poll(now), Action::Send { attempt: 2, .. }));
/// op.handle_outcome(now, Outcome::Success);
/// assert_eq!(op.poll(now), Action::Done { attempts: 2 });
/// ```
#[derive(Clone, Debug)]
pub struct Retry<P, B = Unlimited, G = NoGate> {
    policy: P,
    budget: B,
    gate: G,
    walk: Walk,
    /// The throttled backoff's walk, when the policy has one.
    throttled_walk: Option<Walk>,
    started: Instant,
    /// The overall deadline, when `has_deadline` (an `Option<Instant>` split in two: the
    /// flag packs beside the other small fields, and the machine keeps its size with a
    /// tagged `State`).
    deadline: Instant,
    has_deadline: bool,
    state: State,
    attempts: u32,
    /// The caller began consuming a response: failures are no longer retried.
    committed: bool,
    /// A gate beyond the hint cap was waited out (capped) once for this attempt.
    gate_capped: bool,
    /// The kind of the last retry the budget paid for (refunded on success).
    last_retry: Option<RetryKind>,
    /// Scheduled waiting so far, in ns (saturating).
    waited_ns: u64,
    last: Option<Outcome>,
}

impl<P, C> Retry<P>
where
    P: Deref<Target = RetryPolicy<C>>,
{
    /// A machine for one operation starting at `now`, with no budget and no gate.
    ///
    /// `seed` drives the jitter: adapters seed from OS entropy (two clients must not
    /// jitter alike); a test picks a constant.
    #[must_use]
    pub fn new(policy: P, seed: u64, now: Instant) -> Self {
        let walk = Walk::new(&policy.backoff, seed);
        let throttled_walk = policy
            .throttled_backoff
            .as_ref()
            .map(|p| Walk::new(p, seed ^ THROTTLED_SEED));
        let deadline = policy.deadline.map(|d| now.saturating_add(d));
        Retry {
            deadline: deadline.unwrap_or(Instant::ZERO),
            has_deadline: deadline.is_some(),
            policy,
            budget: Unlimited,
            gate: NoGate,
            walk,
            throttled_walk,
            started: now,
            state: State::Ready,
            attempts: 0,
            committed: false,
            gate_capped: false,
            last_retry: None,
            waited_ns: 0,
            last: None,
        }
    }
}

impl<P, B, G> Retry<P, B, G> {
    /// Share a retry budget with other operations (a `&mut TokenBucket`, an
    /// `&SharedTokenBucket`, an `Option` of either, …).
    #[must_use]
    pub fn with_budget<B2: Budget>(self, budget: B2) -> Retry<P, B2, G> {
        Retry {
            policy: self.policy,
            budget,
            gate: self.gate,
            walk: self.walk,
            throttled_walk: self.throttled_walk,
            started: self.started,
            deadline: self.deadline,
            has_deadline: self.has_deadline,
            state: self.state,
            attempts: self.attempts,
            committed: self.committed,
            gate_capped: self.gate_capped,
            last_retry: self.last_retry,
            waited_ns: self.waited_ns,
            last: self.last,
        }
    }

    /// Hold this operation to its key's entry in a shared Retry-After table, and record
    /// the server's hints there (see [`crate::retry::gate`] for the rule).
    #[must_use]
    pub fn with_gate<G2: Gate>(self, gate: G2) -> Retry<P, B, G2> {
        Retry {
            policy: self.policy,
            budget: self.budget,
            gate,
            walk: self.walk,
            throttled_walk: self.throttled_walk,
            started: self.started,
            deadline: self.deadline,
            has_deadline: self.has_deadline,
            state: self.state,
            attempts: self.attempts,
            committed: self.committed,
            gate_capped: self.gate_capped,
            last_retry: self.last_retry,
            waited_ns: self.waited_ns,
            last: self.last,
        }
    }

    /// Set the overall deadline to an absolute instant (replaces the policy's relative one;
    /// `None`: no deadline).
    #[must_use]
    pub fn deadline_at(mut self, deadline: Option<Instant>) -> Self {
        self.deadline = deadline.unwrap_or(Instant::ZERO);
        self.has_deadline = deadline.is_some();
        self
    }

    /// Attempts made so far.
    #[must_use]
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Total scheduled waiting so far.
    #[must_use]
    pub fn waited(&self) -> Duration {
        nanos_to_duration(self.waited_ns)
    }

    /// When the operation started.
    #[must_use]
    pub fn started(&self) -> Instant {
        self.started
    }

    /// The overall deadline, if any.
    #[must_use]
    pub fn deadline(&self) -> Option<Instant> {
        if self.has_deadline {
            Some(self.deadline)
        } else {
            None
        }
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

    /// The gate.
    #[must_use]
    pub fn gate(&self) -> &G {
        &self.gate
    }

    /// The shared policy.
    #[must_use]
    pub fn policy(&self) -> &P {
        &self.policy
    }
}

impl<P, C, B, G> Retry<P, B, G>
where
    P: Deref<Target = RetryPolicy<C>>,
    B: Budget,
    G: Gate,
{
    /// What to do next.
    ///
    /// [`Action::Send`] starts the attempt it announces (the attempt count, the budget's
    /// first-attempt deposit). While that attempt is in flight, `poll` repeats the same
    /// `Send` with the time it has left: feed its outcome first. Otherwise calling it
    /// again without new input gives the same answer.
    ///
    /// Before an attempt the machine asks its [`Gate`] whether the key is held back
    /// (another operation's Retry-After): a hold is judged like a server hint, and one
    /// whose hint exceeded the cap gives up at once, naming that hint. With
    /// [`OnExcess::UseBackoff`](crate::hint::OnExcess::UseBackoff), a hold beyond the cap
    /// is instead waited out for at most the cap, once, and the request is then sent: that
    /// setting prefers the client's own limits to a server's excessive hint.
    #[inline]
    pub fn poll(&mut self, now: Instant) -> Action {
        // Inlined into the driver, and no `Action` crosses a call (the general paths
        // answer with a small `Next`): the compiler then follows the answer straight into
        // the driver's matching arm, without building the action in memory.
        match self.state {
            State::Waiting { until, reason } if now < until => Action::Wait { until, reason },
            // No `State::Ready` is stored: every path of `poll_ready` sets the next state.
            State::Waiting { .. } | State::Ready => self.poll_ready(now),
            State::InFlight { at, timeout } => {
                // What is left of the limit; a clock that went back leaves it whole.
                let elapsed = now.saturating_duration_since(at);
                Action::Send {
                    attempt: self.attempts,
                    timeout: timeout.map(|t| t.saturating_sub(elapsed)),
                }
            }
            State::Done => Action::Done {
                attempts: self.attempts,
            },
            State::GaveUp { reason, at } => Action::GiveUp(self.report(reason, at)),
        }
    }

    /// [`poll`](Self::poll) as it was before its fast paths: every state, every setting.
    /// The fast paths must agree with it (a property test checks they do).
    #[cfg(all(test, feature = "proptest"))]
    fn poll_general(&mut self, now: Instant) -> Action {
        loop {
            match self.state {
                State::Done => {
                    return Action::Done {
                        attempts: self.attempts,
                    };
                }
                State::GaveUp { reason, at } => return Action::GiveUp(self.report(reason, at)),
                State::InFlight { at, timeout } => {
                    // What is left of the limit; a clock that went back leaves it whole.
                    let elapsed = now.saturating_duration_since(at);
                    return Action::Send {
                        attempt: self.attempts,
                        timeout: timeout.map(|t| t.saturating_sub(elapsed)),
                    };
                }
                State::Waiting { until, reason } => {
                    if now < until {
                        return Action::Wait { until, reason };
                    }
                    self.state = State::Ready;
                }
                State::Ready => {
                    let next = self.poll_ready_general(now);
                    return self.tell(next);
                }
            }
        }
    }

    /// The next attempt, when the machine is ready for one. Without an overall deadline
    /// there is no time left to check and the attempt's limit is the per-try timeout
    /// alone (what [`attempt_timeout`](crate::timeout::attempt_timeout) gives for no deadline), so the common case needs
    /// no `Option<Duration>` arithmetic; with one, the general path decides.
    #[inline]
    fn poll_ready(&mut self, now: Instant) -> Action {
        // Firmware keeps one copy, the general path (code size over a few instructions).
        #[cfg(target_os = "none")]
        let next = self.poll_ready_general(now);
        #[cfg(not(target_os = "none"))]
        let next = if self.has_deadline {
            self.poll_ready_general(now)
        } else if let Some(next) = self
            .gate
            .hold(now)
            .filter(|h| h.until > now)
            .and_then(|hold| self.judge_hold(now, hold, None))
        {
            next
        } else {
            self.start_attempt(now, self.policy.per_try_timeout)
        };
        self.tell(next)
    }

    #[inline(never)]
    fn poll_ready_general(&mut self, now: Instant) -> Next {
        let time_left = self.time_left(now);
        if time_left == Some(Duration::ZERO) {
            return self.give_up(now, deadline_passed());
        }
        if let Some(hold) = self.gate.hold(now).filter(|h| h.until > now) {
            if let Some(next) = self.judge_hold(now, hold, time_left) {
                return next;
            }
        }
        let timeout = attempt_limit(self.policy.per_try_timeout, time_left);
        self.start_attempt(now, timeout)
    }

    /// Attempt `attempts + 1` starts now, with this limit.
    #[inline]
    fn start_attempt(&mut self, now: Instant, timeout: Option<Duration>) -> Next {
        self.attempts = self.attempts.saturating_add(1);
        self.gate_capped = false;
        if self.attempts == 1 {
            self.budget.on_request(now);
        }
        self.state = State::InFlight { at: now, timeout };
        Next::Send(timeout)
    }

    /// `next` as the driver is told it.
    #[inline]
    fn tell(&self, next: Next) -> Action {
        match next {
            Next::Send(timeout) => Action::Send {
                attempt: self.attempts,
                timeout,
            },
            Next::Wait { until, reason } => Action::Wait { until, reason },
            Next::GiveUp { reason, at } => Action::GiveUp(self.report(reason, at)),
        }
    }

    /// A wait or a give-up for a held key, or `None` to send anyway.
    #[inline(never)]
    fn judge_hold(
        &mut self,
        now: Instant,
        hold: Hold,
        time_left: Option<Duration>,
    ) -> Option<Next> {
        let hints = self.policy.hints;
        let remaining = hold.until.saturating_duration_since(now);
        // A hint that was over the cap when it was given stays over it: it is judged as
        // given, not as what is left of its capped hold.
        let judged = if hold.hint > hints.cap {
            hold.hint
        } else {
            remaining
        };
        match hints.judge(judged, time_left) {
            HintVerdict::Wait(_) => Some(self.wait(now, remaining, WaitReason::Gate)),
            HintVerdict::GiveUp { hint, limit, kind } => {
                Some(self.give_up(now, GiveUpReason::HintTooLong { hint, limit, kind }))
            }
            // The configuration prefers the client's own limits to an excessive hint. For
            // a hold that means: wait out what is left of it, at most the cap, once, then
            // send; give up only if that wait would reach the deadline.
            HintVerdict::UseBackoff { .. } => {
                let wait = remaining.min(hints.cap);
                if let Some(left) = time_left.filter(|left| wait >= *left) {
                    return Some(self.give_up(
                        now,
                        GiveUpReason::Deadline {
                            wait: Some(wait),
                            time_left: left,
                        },
                    ));
                }
                if wait.is_zero() || self.gate_capped {
                    return None;
                }
                self.gate_capped = true;
                Some(self.wait(now, wait, WaitReason::Gate))
            }
        }
    }

    /// The attempt in flight ended with `outcome`.
    ///
    /// An outcome that does not belong to an attempt in flight (fed twice, or a late
    /// answer to an attempt the driver already reported as timed out) is ignored, so it
    /// can neither count as an attempt nor skip a wait.
    #[inline]
    pub fn handle_outcome(&mut self, now: Instant, outcome: Outcome) {
        // Firmware keeps one copy, the general path (code size over a few instructions).
        #[cfg(target_os = "none")]
        self.handle_outcome_general(now, outcome);
        #[cfg(not(target_os = "none"))]
        self.handle_outcome_fast(now, outcome);
    }

    /// [`handle_outcome`](Self::handle_outcome) with its hot paths inlined into the driver.
    #[cfg(not(target_os = "none"))]
    #[inline]
    fn handle_outcome_fast(&mut self, now: Instant, outcome: Outcome) {
        // The outcome is matched before the state is checked: the judge's answer then
        // leads straight to its arm in the driver, without being tested twice.
        let in_flight = matches!(self.state, State::InFlight { .. });
        match outcome {
            // The hot paths, inlined into the driver: a success, and a failure worth a
            // retry that carries no server hint, with no overall deadline. Nothing is
            // recorded at the gate (no hint), so the general path reduces to: charge the
            // failure, then the attempt limit, the backoff and the budget.
            Outcome::Success if in_flight => {
                self.last = Some(outcome);
                self.succeed(now);
            }
            Outcome::Retryable {
                kind, hint: None, ..
            } if in_flight && !self.has_deadline => {
                self.last = Some(outcome);
                self.budget.on_failure(kind, now);
                if self.committed {
                    self.end(now, GiveUpReason::Committed);
                } else {
                    self.retry_after_backoff(now, kind);
                }
            }
            _ if in_flight => {
                // The general path reads the outcome back from `last`: passed by
                // reference, it would be written to the stack on every call, hot paths
                // included.
                self.last = Some(outcome);
                self.settle_last(now);
            }
            _ => {}
        }
    }

    /// [`handle_outcome`](Self::handle_outcome) without its fast paths, as it was before
    /// them: what firmware runs. The fast paths must agree with it (a property test checks
    /// they do).
    #[cfg(any(target_os = "none", all(test, feature = "proptest")))]
    fn handle_outcome_general(&mut self, now: Instant, outcome: Outcome) {
        if !matches!(self.state, State::InFlight { .. }) {
            return;
        }
        self.last = Some(outcome);
        self.settle_last(now);
    }

    /// The general path of [`handle_outcome`](Self::handle_outcome): the attempt in
    /// flight ended with the outcome just stored in `last`.
    #[inline(never)]
    fn settle_last(&mut self, now: Instant) {
        let Some(outcome) = self.last else {
            return;
        };
        // Every failure that counts is charged before anything else is decided (gRFC A6
        // retryThrottling); budgets that charge only the retries they grant ignore it.
        if let Some(kind) = counted_failure(&outcome) {
            self.budget.on_failure(kind, now);
        }
        // The server's "not before" concerns every request to this key, not just this
        // operation, so it is recorded even when this operation stops here.
        if let Some(ServerHint::After(hint)) = outcome.hint() {
            if outcome.wants_retry() && !hint.is_zero() {
                let until = now.saturating_add(hint.min(self.policy.hints.cap));
                self.gate.record(Hold { until, hint }, now);
            }
        }
        match outcome {
            Outcome::Success => self.succeed(now),
            Outcome::Final {
                refused: Some(why), ..
            } => self.end(now, GiveUpReason::Forbidden(why)),
            Outcome::Final { refused: None, .. } => self.end(now, GiveUpReason::NotRetryable),
            Outcome::Retryable { kind, hint, .. } => {
                if self.committed {
                    self.end(now, GiveUpReason::Committed);
                } else {
                    self.schedule_retry(now, kind, hint);
                }
            }
        }
    }

    /// The operation cannot be attempted at all (its request could not even be built):
    /// unless it has already finished, it ends now as [`GiveUpReason::NotRetryable`],
    /// with the attempts made so far.
    pub fn handle_unsendable(&mut self, now: Instant) {
        if !matches!(self.state, State::Done | State::GaveUp { .. }) {
            self.end(now, GiveUpReason::NotRetryable);
        }
    }

    /// The caller began consuming the response body: from now on a failure is not retried.
    pub fn handle_commit(&mut self) {
        self.committed = true;
    }

    #[inline]
    fn succeed(&mut self, now: Instant) {
        self.budget.on_success(self.last_retry, now);
        self.state = State::Done;
    }

    #[inline(never)]
    fn schedule_retry(&mut self, now: Instant, kind: RetryKind, hint: Option<ServerHint>) {
        // Every refusal ends the operation the same way: one `end` for all of them.
        if let Err(reason) = self.plan_retry(now, kind, hint) {
            self.end(now, reason);
        }
    }

    /// [`schedule_retry`](Self::schedule_retry)'s decision: the wait it starts, or why
    /// the operation gives up instead.
    #[inline(always)]
    fn plan_retry(
        &mut self,
        now: Instant,
        kind: RetryKind,
        hint: Option<ServerHint>,
    ) -> Result<(), GiveUpReason> {
        if hint == Some(ServerHint::DoNotRetry) {
            return Err(GiveUpReason::Forbidden(Forbidden::ServerSaidStop));
        }
        // The policy's attempt limit is the one that counts: the backoff's own
        // `max_delays` and `max_elapsed` are for a standalone `Backoff` (a stream).
        if self.attempts >= self.policy.max_attempts.get() {
            return Err(GiveUpReason::MaxAttempts);
        }
        // Everything from here is whole nanoseconds: no `Duration` is built on the common path.
        let left_ns = self
            .deadline()
            .map(|d| d.as_nanos().saturating_sub(now.as_nanos()));
        if left_ns == Some(0) {
            return Err(deadline_passed());
        }
        let mut planned = None;
        if let Some(ServerHint::After(d)) = hint {
            let time_left = left_ns.map(nanos_to_duration);
            match self.policy.hints.judge(d, time_left) {
                // A hint the policy accepts is at most the cap and shorter than the time left.
                HintVerdict::Wait(d) => {
                    planned = Some((duration_to_nanos(d), WaitReason::ServerHint(d)));
                }
                HintVerdict::GiveUp { hint, limit, kind } => {
                    return Err(GiveUpReason::HintTooLong { hint, limit, kind });
                }
                HintVerdict::UseBackoff { .. } => {}
            }
        }
        let (delay_ns, reason) = match planned {
            Some(p) => p,
            None => (self.next_backoff_ns(kind), WaitReason::Backoff(kind)),
        };
        // Never start a wait that ends at or past the deadline: there would be no time left to try.
        if let Some(left_ns) = left_ns.filter(|left| delay_ns >= *left) {
            return Err(GiveUpReason::Deadline {
                wait: Some(nanos_to_duration(delay_ns)),
                time_left: nanos_to_duration(left_ns),
            });
        }
        if !self.budget.try_withdraw(kind, now) {
            return Err(GiveUpReason::BudgetExhausted);
        }
        self.last_retry = Some(kind);
        self.state = State::Waiting {
            until: Instant::from_nanos(now.as_nanos().saturating_add(delay_ns)),
            reason,
        };
        self.waited_ns = self.waited_ns.saturating_add(delay_ns);
        Ok(())
    }

    /// [`schedule_retry`](Self::schedule_retry) for a retry without a server hint and
    /// without an overall deadline: the attempt limit, the backoff, the budget.
    #[cfg(not(target_os = "none"))]
    #[inline]
    fn retry_after_backoff(&mut self, now: Instant, kind: RetryKind) {
        if self.attempts >= self.policy.max_attempts.get() {
            self.end(now, GiveUpReason::MaxAttempts);
            return;
        }
        let delay_ns = self.next_backoff_ns(kind);
        if !self.budget.try_withdraw(kind, now) {
            self.end(now, GiveUpReason::BudgetExhausted);
            return;
        }
        self.last_retry = Some(kind);
        self.state = State::Waiting {
            until: Instant::from_nanos(now.as_nanos().saturating_add(delay_ns)),
            reason: WaitReason::Backoff(kind),
        };
        self.waited_ns = self.waited_ns.saturating_add(delay_ns);
    }

    /// The next backoff delay for a retry of `kind`, in ns: the throttled schedule after
    /// throttling when the policy has one, the main schedule otherwise.
    #[inline]
    fn next_backoff_ns(&mut self, kind: RetryKind) -> u64 {
        let policy: &RetryPolicy<C> = &self.policy;
        match (
            kind,
            self.throttled_walk.as_mut(),
            &policy.throttled_backoff,
        ) {
            (RetryKind::Throttled, Some(walk), Some(throttled)) => walk.next_ns(throttled),
            _ => self.walk.next_ns(&policy.backoff),
        }
    }

    fn wait(&mut self, now: Instant, delay: Duration, reason: WaitReason) -> Next {
        let until = now.saturating_add(delay);
        self.waited_ns = self.waited_ns.saturating_add(duration_to_nanos(delay));
        self.state = State::Waiting { until, reason };
        Next::Wait { until, reason }
    }

    fn give_up(&mut self, now: Instant, reason: GiveUpReason) -> Next {
        self.end(now, reason);
        Next::GiveUp { reason, at: now }
    }

    /// Stop for good; the report is told from the machine's own record.
    fn end(&mut self, now: Instant, reason: GiveUpReason) {
        self.state = State::GaveUp { reason, at: now };
    }

    // Inline, so that no `Report` (nor the `Action` carrying it) is returned through
    // memory on `poll`'s hot paths.
    #[inline]
    fn report(&self, reason: GiveUpReason, at: Instant) -> Report {
        Report {
            reason,
            attempts: self.attempts,
            last: self.last,
            waited: nanos_to_duration(self.waited_ns),
            elapsed: at.saturating_duration_since(self.started),
        }
    }

    fn time_left(&self, now: Instant) -> Option<Duration> {
        time_left(self.deadline(), now)
    }
}

/// The fast paths of `poll` and `handle_outcome` (no deadline, no hint; waits, sends and
/// successes inlined into the driver) agree with the general paths they skip: two copies
/// of one machine, one driven through the public methods and one through the general
/// paths only, give the same actions and end in the same state, for any policy, gate,
/// budget, deadline, outcome and clock.
#[cfg(all(test, feature = "proptest"))]
mod fast_path_laws {
    use alloc::format;
    use core::time::Duration;

    use proptest::prelude::*;

    use super::Retry;
    use crate::hint::ServerHint;
    use crate::retry::{
        BudgetConfig, Forbidden, Gate, Hold, Outcome, RetryKind, RetryPolicy, Seen, TokenBucket,
    };
    use crate::testing::any_retry_policy;
    use crate::time::Instant;

    /// A gate holding at most one hold, merged on record (enough to take every branch).
    #[derive(Clone, Debug, PartialEq)]
    struct OneHold(Option<Hold>);

    impl Gate for OneHold {
        fn hold(&mut self, _: Instant) -> Option<Hold> {
            self.0
        }
        fn record(&mut self, hold: Hold, _: Instant) {
            self.0 = Some(self.0.map_or(hold, |h| h.merge(hold)));
        }
    }

    fn any_hint() -> impl Strategy<Value = Option<ServerHint>> {
        prop_oneof![
            6 => Just(None),
            2 => (0u64..=400_000).prop_map(|ms| Some(ServerHint::After(Duration::from_millis(ms)))),
            1 => Just(Some(ServerHint::DoNotRetry)),
        ]
    }

    fn any_kind() -> impl Strategy<Value = RetryKind> {
        prop_oneof![
            Just(RetryKind::Transient),
            Just(RetryKind::Throttled),
            Just(RetryKind::TimedOut),
        ]
    }

    fn any_outcome() -> impl Strategy<Value = Outcome> {
        prop_oneof![
            3 => Just(Outcome::Success),
            8 => (any_kind(), any_hint(), any::<u16>()).prop_map(|(kind, hint, status)| {
                Outcome::Retryable { kind, hint, seen: Seen::Status(status) }
            }),
            2 => (
                proptest::option::of(Just(Forbidden::NotIdempotent)),
                any_hint(),
            )
                .prop_map(|(refused, hint)| Outcome::Final { refused, hint, seen: Seen::Error }),
        ]
    }

    /// One input: feed an outcome after `took`, or poll after `after`, or commit.
    #[derive(Clone, Copy, Debug)]
    enum Input {
        Outcome { took: Duration, outcome: Outcome },
        Poll { after: Duration },
        Commit,
    }

    fn any_input() -> impl Strategy<Value = Input> {
        let d = prop_oneof![
            3 => (0u64..=20_000).prop_map(Duration::from_millis),
            1 => (0u64..=700).prop_map(Duration::from_secs),
            1 => Just(Duration::ZERO),
        ];
        prop_oneof![
            6 => (d.clone(), any_outcome()).prop_map(|(took, outcome)| Input::Outcome { took, outcome }),
            4 => d.prop_map(|after| Input::Poll { after }),
            1 => Just(Input::Commit),
        ]
    }

    type Machine<'p> = Retry<&'p RetryPolicy, Option<TokenBucket>, OneHold>;

    fn lockstep(mut fast: Machine<'_>, inputs: &[Input]) -> Result<(), TestCaseError> {
        let mut general = fast.clone();
        let mut now = fast.started();
        for input in inputs {
            match *input {
                Input::Outcome { took, outcome } => {
                    now = now.saturating_add(took);
                    fast.handle_outcome(now, outcome);
                    general.handle_outcome_general(now, outcome);
                }
                Input::Poll { after } => {
                    now = now.saturating_add(after);
                    let a = fast.poll(now);
                    let b = general.poll_general(now);
                    prop_assert_eq!(a, b);
                }
                Input::Commit => {
                    fast.handle_commit();
                    general.handle_commit();
                }
            }
            prop_assert_eq!(format!("{fast:?}"), format!("{general:?}"));
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn fast_paths_agree_with_the_general_path(
            policy in any_retry_policy(),
            seed in any::<u64>(),
            start_ms in prop_oneof![Just(0u64), 0u64..=1_000_000_000],
            no_deadline in any::<bool>(),
            budget in proptest::option::of((1u64..=10, 0u64..=5_000)),
            hold in proptest::option::of((0u64..=30_000, 0u64..=400_000)),
            inputs in proptest::collection::vec(any_input(), 0..40),
        ) {
            let start = Instant::from_millis(start_ms);
            let budget = budget.map(|(ratio, tokens)| {
                TokenBucket::new(BudgetConfig::ratio(ratio * 100, tokens, 0), start)
            });
            let gate = OneHold(hold.map(|(until_ms, hint_ms)| Hold {
                until: start.saturating_add(Duration::from_millis(until_ms)),
                hint: Duration::from_millis(hint_ms),
            }));
            let mut machine = Retry::new(&policy, seed, start).with_budget(budget).with_gate(gate);
            // Half the cases without a deadline, where the fast paths apply.
            if no_deadline {
                machine = machine.deadline_at(None);
            }
            lockstep(machine, &inputs)?;
        }
    }
}

/// The attempt limit the machine computes from the time left agrees with
/// [`attempt_timeout`](crate::timeout::attempt_timeout) whenever the deadline has not
/// passed (the machine gives up before asking otherwise).
#[cfg(test)]
mod attempt_limit_law {
    use core::time::Duration;

    use proptest::prelude::*;

    use super::attempt_limit;
    use crate::time::Instant;
    use crate::timeout::{AttemptTimeout, attempt_timeout, time_left};

    fn span() -> impl Strategy<Value = Duration> {
        prop_oneof![
            (0u64..=5_000, 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
            Just(Duration::MAX),
            Just(Duration::ZERO),
        ]
    }

    proptest! {
        #[test]
        fn agrees_with_attempt_timeout(
            per_try in proptest::option::of(span()),
            deadline in proptest::option::of(prop_oneof![any::<u64>(), 0u64..10_000_000_000, Just(u64::MAX)]),
            now in prop_oneof![any::<u64>(), 0u64..10_000_000_000],
        ) {
            let (deadline, now) = (deadline.map(Instant::from_nanos), Instant::from_nanos(now));
            let left = time_left(deadline, now);
            let want = attempt_timeout(per_try, deadline, now);
            if left == Some(Duration::ZERO) {
                prop_assert_eq!(want, AttemptTimeout::DeadlinePassed);
            } else {
                let got = match attempt_limit(per_try, left) {
                    None => AttemptTimeout::Unlimited,
                    Some(d) => AttemptTimeout::Limit(d),
                };
                prop_assert_eq!(got, want);
            }
        }
    }
}
