//! Drive one operation's [`Retry`] machine on tokio: the [`Retrier`] builder and [`retry`].

use core::fmt;
use core::future::{Future, poll_fn};
use core::hash::Hash;
use core::pin::{Pin, pin};
use core::time::Duration;

use relent::Instant;
use relent::retry::{
    Action, GiveUpReason, Report, Retry, RetryPolicy, SharedTokenBucket, StandardClassifier,
    TransportError, WaitReason,
};

use crate::class::{AlwaysTransient, ClassifyError, ErrorClass, feed, machine_classifier};
use crate::error::{AttemptTimedOut, Cause, Failure, RetryError};
use crate::{SharedBudget, SharedDeadlines, clock, seed};

/// Something that happened during a run, for logs and metrics.
///
/// Every failure is also kept in the final [`RetryError`]; events are for
/// seeing them as they happen (kube's watcher users log each error, seed 002).
#[non_exhaustive]
#[derive(Debug)]
pub enum Event<'a, E> {
    /// Attempt number `attempt` is starting, with this time limit (`None`: no limit).
    Attempt {
        /// 1-based attempt number.
        attempt: u32,
        /// The attempt's limit: `min(per-try timeout, time left)`.
        timeout: Option<Duration>,
    },
    /// An attempt failed.
    Failed(&'a Cause<E>),
    /// Waiting before the next attempt.
    Wait {
        /// When the next attempt may start, on [`crate::clock`].
        until: Instant,
        /// Why.
        reason: WaitReason,
    },
}

/// Receives [`Event`]s. Implemented for every `Fn(&Event<'_, E>)`.
pub trait Notify<E> {
    /// Called synchronously at each event; keep it short (it runs on the retrying task).
    fn notify(&self, event: &Event<'_, E>);
}

impl<E, F: Fn(&Event<'_, E>)> Notify<E> for F {
    fn notify(&self, event: &Event<'_, E>) {
        self(event);
    }
}

/// Ignores every event (the default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quiet;

impl<E> Notify<E> for Quiet {
    #[inline]
    fn notify(&self, _: &Event<'_, E>) {}
}

/// Retries an async operation on tokio, as a [`RetryPolicy`] and the caller's
/// error classifier decide.
///
/// Build one per kind of call (it is cheap to clone, and [`run`](Self::run)
/// takes `&self`, so one `Retrier` serves any number of runs, concurrently):
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// use std::time::Duration;
/// use relent::retry::{BudgetConfig, RetryPolicy};
/// use relent_tokio::{ErrorClass, Event, Retrier, SharedBudget, SharedDeadlines};
///
/// #[derive(Debug)]
/// enum ApiError { Unavailable, TooMany { after: Duration }, NotFound }
///
/// let budget = SharedBudget::new(BudgetConfig::AWS_STANDARD);
/// let table = SharedDeadlines::new(1024).unwrap();
/// let retrier = Retrier::new(RetryPolicy::default())
///     .classify(|e: &ApiError| match e {
///         ApiError::Unavailable => ErrorClass::Transient,
///         ApiError::TooMany { after } => ErrorClass::Throttled { after: Some(*after) },
///         ApiError::NotFound => ErrorClass::Permanent,
///     })
///     .budget(budget.clone())
///     .deadlines(table.clone(), "api.example")
///     .per_try_timeout(Duration::from_secs(2))
///     .deadline(Duration::from_secs(10))
///     .notify(|event| {
///         if let Event::Failed(cause) = event { eprintln!("{cause:?}"); }
///     });
///
/// let mut calls = 0;
/// let started = tokio::time::Instant::now();
/// let value = retrier
///     .run(|| {
///         calls += 1;
///         let n = calls;
///         async move {
///             match n {
///                 1 => Err(ApiError::TooMany { after: Duration::from_secs(3) }),
///                 _ => Ok("body"),
///             }
///         }
///     })
///     .await
///     .unwrap();
/// assert_eq!(value, "body");
/// assert_eq!(started.elapsed(), Duration::from_secs(3)); // the Retry-After, exactly
/// // Other tasks sending to the same key see the server's deadline in the table.
/// assert!(table.not_before("api.example").is_none()); // already passed
/// # }
/// ```
#[derive(Clone)]
#[must_use = "a Retrier does nothing until `run` is awaited"]
pub struct Retrier<F = AlwaysTransient, K = (), N = Quiet> {
    policy: RetryPolicy<StandardClassifier>,
    classify: F,
    budget: Option<SharedBudget>,
    gate: Option<(SharedDeadlines<K>, K)>,
    notify: N,
    seed: Option<u64>,
    deadline_at: Option<Instant>,
}

impl<F, K: fmt::Debug, N> fmt::Debug for Retrier<F, K, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The classifier and the callback are usually closures, which have no `Debug`.
        f.debug_struct("Retrier")
            .field("policy", &self.policy)
            .field("budget", &self.budget)
            .field("gate", &self.gate)
            .field("seed", &self.seed)
            .field("deadline_at", &self.deadline_at)
            .finish_non_exhaustive()
    }
}

impl Retrier {
    /// A retrier running `policy`, treating every error as transient until
    /// [`classify`](Self::classify) says otherwise.
    ///
    /// The policy's own classifier (HTTP statuses) is replaced by the caller's
    /// error classifier; everything else is used as is: attempts, backoff,
    /// throttled backoff, hint cap, per-try timeout and overall deadline.
    pub fn new<C>(policy: RetryPolicy<C>) -> Self {
        Retrier {
            policy: policy.with_classifier(machine_classifier(true)),
            classify: AlwaysTransient,
            budget: None,
            gate: None,
            notify: Quiet,
            seed: None,
            deadline_at: None,
        }
    }
}

impl<F, K, N> Retrier<F, K, N> {
    /// Classify the operation's errors: transient, permanent or throttled (with a hint).
    pub fn classify<F2>(self, classify: F2) -> Retrier<F2, K, N> {
        Retrier {
            policy: self.policy,
            classify,
            budget: self.budget,
            gate: self.gate,
            notify: self.notify,
            seed: self.seed,
            deadline_at: self.deadline_at,
        }
    }

    /// Share a retry budget with every other operation holding a clone of it.
    pub fn budget(mut self, budget: SharedBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Honour, and record, Retry-After deadlines for `key` in a shared table.
    ///
    /// Before each attempt the run asks the table whether `key` is held back
    /// (another operation's Retry-After) and waits if so, judged like a server
    /// hint; after a throttled error with a hint it records the deadline for
    /// everyone else.
    pub fn deadlines<K2>(self, table: SharedDeadlines<K2>, key: K2) -> Retrier<F, K2, N> {
        Retrier {
            policy: self.policy,
            classify: self.classify,
            budget: self.budget,
            gate: Some((table, key)),
            notify: self.notify,
            seed: self.seed,
            deadline_at: self.deadline_at,
        }
    }

    /// Call `notify` at each [`Event`] of each run.
    ///
    /// The `Fn` bound lets a closure's argument type be inferred:
    /// `.notify(|event| tracing_or_log(event))` needs no annotation.
    pub fn notify<E, N2>(self, notify: N2) -> Retrier<F, K, N2>
    where
        N2: Fn(&Event<'_, E>),
    {
        Retrier {
            policy: self.policy,
            classify: self.classify,
            budget: self.budget,
            gate: self.gate,
            notify,
            seed: self.seed,
            deadline_at: self.deadline_at,
        }
    }

    /// Use this jitter seed for every run instead of a fresh one from
    /// [`seed::fresh_seed`] (OS entropy): for reproducible tests and simulations.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Limit each attempt to `timeout` (each gets `min(timeout, time left)`).
    pub fn per_try_timeout(mut self, timeout: Duration) -> Self {
        self.policy.per_try_timeout = Some(timeout);
        self
    }

    /// Give each run at most `deadline` from its start, attempts and waits included.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.policy.deadline = Some(deadline);
        self
    }

    /// End every run by this instant (on [`crate::clock`]), whichever of this and
    /// [`deadline`](Self::deadline) comes first.
    pub fn deadline_at(mut self, deadline: Instant) -> Self {
        self.deadline_at = Some(deadline);
        self
    }

    /// At most `n` attempts per run, the first included (zero is read as one).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.policy = self.policy.with_max_attempts(n);
        self
    }

    /// Whether an attempt that timed out is retried (default: yes, as
    /// [`RetryKind::TimedOut`](relent::retry::RetryKind::TimedOut), which a budget may charge more).
    pub fn retry_timeouts(mut self, retry: bool) -> Self {
        self.policy.classifier.retry_timeouts = retry;
        self
    }
}

/// The budget as the machine sees it during one run: borrowed, so no reference
/// count moves (`None`: no budget, every retry allowed).
type BudgetRef<'a> = Option<&'a SharedTokenBucket>;

impl<F, K, N> Retrier<F, K, N>
where
    K: Hash + Eq + Clone,
{
    /// Run `operation` until it succeeds or the policy gives up.
    ///
    /// `operation` is called once per attempt and returns that attempt's future.
    /// On success the value is returned; otherwise a [`RetryError`] with the
    /// cause of every failed attempt and the machine's report.
    ///
    /// Cancellation-safe: dropping the returned future at any `.await` leaves
    /// the shared budget and deadline table consistent, because every operation
    /// on them is synchronous and complete (an atomic update of the budget, one
    /// locked O(1) table operation) and no lock is held across an `.await`. A
    /// dropped run has made its first-attempt deposit and one withdrawal per
    /// retry it *scheduled*: the core pays for a retry when it decides on it,
    /// before the wait, so a run dropped during a backoff has spent that token
    /// without sending (the budget errs towards fewer retries, never more).
    ///
    /// Time: instants come from [`crate::clock`]. A run with no budget, table,
    /// deadline or per-try timeout starts its first attempt without reading the
    /// clock (so a success at the first poll costs about the bare call); its
    /// start is then read when that attempt is first pending or fails, so the
    /// first poll's synchronous work is not in [`Report::elapsed`].
    #[inline]
    pub async fn run<T, E, Fut, Op>(&self, mut operation: Op) -> Result<T, RetryError<E>>
    where
        Op: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        F: ClassifyError<E>,
        N: Notify<E>,
    {
        if !self.first_attempt_is_timeless() {
            return self.general_path(operation).await;
        }
        // Fast path. With no deadline, no per-try timeout, no shared table and
        // no budget, the machine's first decision is `Send { attempt: 1, timeout:
        // None }` whatever the time and the seed, and a success has no effect
        // outside it. So the first attempt runs before the machine exists and
        // without reading the clock: an attempt that is ready at its first poll
        // costs about what the bare call costs, and allocates nothing. The clock
        // is read when the attempt is first pending (its start) and when it
        // fails; the machine is then built and fed those same instants, so it
        // decides everything from there exactly as if it had been there from
        // the start. (The start is read after the first poll: that poll's
        // synchronous work, if any, is not counted in `Report::elapsed`.)
        self.notify.notify(&Event::Attempt {
            attempt: 1,
            timeout: None,
        });
        let mut fut = pin!(operation());
        let mut started = None;
        let outcome = poll_fn(|cx| {
            let poll = fut.as_mut().poll(cx);
            if poll.is_pending() && started.is_none() {
                started = Some(clock::now());
            }
            poll
        })
        .await;
        let error = match outcome {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let now = clock::now();
        self.after_first_failure(started.unwrap_or(now), now, error, operation)
            .await
    }

    /// The general path: a machine from the start, driven.
    #[inline(never)]
    fn general_path<T, E, Fut, Op>(
        &self,
        operation: Op,
    ) -> Pin<Box<impl Future<Output = Result<T, RetryError<E>>>>>
    where
        Op: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        F: ClassifyError<E>,
        N: Notify<E>,
    {
        let now = clock::now();
        self.drive_boxed(self.machine(now), now, Vec::new(), operation)
    }

    /// The machine for a run whose first attempt, started at `start`, failed at
    /// `now` with `error`: fed both, then driven from there.
    ///
    /// Kept out of line (as is [`general_path`](Self::general_path)) so
    /// that the fast path's code stays small.
    #[inline(never)]
    fn after_first_failure<T, E, Fut, Op>(
        &self,
        start: Instant,
        now: Instant,
        error: E,
        operation: Op,
    ) -> Pin<Box<impl Future<Output = Result<T, RetryError<E>>>>>
    where
        Op: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        F: ClassifyError<E>,
        N: Notify<E>,
    {
        let mut machine = self.first_attempt(start);
        let cause = self.on_error(&mut machine, now, 1, error);
        self.notify.notify(&Event::Failed(&cause));
        self.drive_boxed(machine, now, vec![cause], operation)
    }

    /// [`drive`](Self::drive), boxed: the machine is large, and a future is
    /// moved (into `spawn`, `block_on`, a `select!`) more often than it is
    /// created, so the run future keeps only a pointer to it.
    fn drive_boxed<'a, T, E, Fut, Op>(
        &'a self,
        machine: Retry<StandardClassifier, BudgetRef<'a>>,
        now: Instant,
        causes: Vec<Cause<E>>,
        operation: Op,
    ) -> Pin<Box<impl Future<Output = Result<T, RetryError<E>>>>>
    where
        Op: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        F: ClassifyError<E>,
        N: Notify<E>,
    {
        Box::pin(self.drive(machine, now, causes, operation))
    }

    /// The driving loop: poll the machine and do what it says, until it is done.
    async fn drive<T, E, Fut, Op>(
        &self,
        mut machine: Retry<StandardClassifier, BudgetRef<'_>>,
        mut now: Instant,
        mut causes: Vec<Cause<E>>,
        mut operation: Op,
    ) -> Result<T, RetryError<E>>
    where
        Op: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        F: ClassifyError<E>,
        N: Notify<E>,
    {
        loop {
            let gate = self.gate_at(now);
            match machine.poll(now, gate) {
                Action::Send { attempt, timeout } => {
                    machine.handle_attempt_started(now);
                    self.notify.notify(&Event::Attempt { attempt, timeout });
                    let fut = operation();
                    let outcome = match timeout {
                        None => Some(fut.await),
                        Some(limit) => clock::within(fut, now.saturating_add(limit)).await,
                    };
                    let cause = match outcome {
                        Some(Ok(value)) => {
                            // Only a budget cares about a success, and only a
                            // refilling one about when it happened.
                            if let Some(budget) = &self.budget {
                                let at = if budget.config().refill_per_sec == 0 {
                                    now
                                } else {
                                    clock::now()
                                };
                                machine.handle_success(at);
                            }
                            return Ok(value);
                        }
                        Some(Err(error)) => {
                            now = clock::now();
                            self.on_error(&mut machine, now, attempt, error)
                        }
                        None => {
                            now = clock::now();
                            // The same input `handle_timer` would give once the limit
                            // has passed, without depending on the rounding of tokio's timer.
                            machine.handle_transport_error(now, TransportError::TimedOut);
                            Cause {
                                attempt,
                                at: now,
                                failure: Failure::TimedOut(AttemptTimedOut {
                                    limit: timeout.unwrap_or_default(),
                                }),
                            }
                        }
                    };
                    self.notify.notify(&Event::Failed(&cause));
                    causes.push(cause);
                }
                Action::Wait { until, reason } => {
                    self.notify.notify(&Event::Wait { until, reason });
                    clock::sleep_until(until).await;
                    now = clock::now();
                }
                Action::GiveUp(report) => return Err(RetryError::new(causes, report)),
                // Unreachable: this driver feeds every attempt's outcome before it
                // polls again (so never `AwaitOutcome`), and returns on success
                // without polling (so never `Done`). Ending with the machine's
                // numbers keeps the function total without a panic.
                Action::AwaitOutcome { .. } | Action::Done { .. } => {
                    let report = Report {
                        reason: GiveUpReason::NotRetryable,
                        attempts: machine.attempts(),
                        last: machine.last_outcome(),
                        waited: machine.waited(),
                        elapsed: Duration::ZERO,
                    };
                    return Err(RetryError::new(causes, report));
                }
            }
        }
    }

    /// Whether the first attempt's decision depends on nothing but the policy (see the fast path in `run`).
    fn first_attempt_is_timeless(&self) -> bool {
        self.budget.is_none()
            && self.gate.is_none()
            && self.deadline_at.is_none()
            && self.policy.deadline.is_none()
            && self.policy.per_try_timeout.is_none()
    }

    /// A machine whose first attempt (`Send { attempt: 1, timeout: None }`) started at `now`.
    fn first_attempt(&self, now: Instant) -> Retry<StandardClassifier, BudgetRef<'_>> {
        let mut machine = self.machine(now);
        let _first = machine.poll(now, None);
        machine.handle_attempt_started(now);
        machine
    }

    /// Classify and feed an attempt's error; share a throttling hint.
    fn on_error<E>(
        &self,
        machine: &mut Retry<StandardClassifier, BudgetRef<'_>>,
        now: Instant,
        attempt: u32,
        error: E,
    ) -> Cause<E>
    where
        F: ClassifyError<E>,
    {
        let class = self.classify.classify(&error);
        feed(machine, now, class);
        if matches!(class, ErrorClass::Throttled { after: Some(_) }) {
            self.record_hint(machine.hint_deadline(), now);
        }
        Cause {
            attempt,
            at: now,
            failure: Failure::Error { error, class },
        }
    }

    /// A machine for one run starting at `now`.
    fn machine(&self, now: Instant) -> Retry<StandardClassifier, BudgetRef<'_>> {
        let seed = self.seed.unwrap_or_else(seed::fresh_seed);
        let machine = Retry::new(self.policy.clone(), seed, now)
            .with_budget(self.budget.as_ref().map(SharedBudget::token_bucket))
            // The caller's classifier is the judge of whether a retry is safe.
            .idempotent(true);
        match self.deadline_at {
            None => machine,
            Some(at) => {
                let deadline = machine.deadline().map_or(at, |d| d.min(at));
                machine.deadline_at(Some(deadline))
            }
        }
    }

    /// The shared deadline for this run's key, if a table is configured.
    fn gate_at(&self, now: Instant) -> Option<Instant> {
        let (table, key) = self.gate.as_ref()?;
        table.not_before_at(key, now)
    }

    /// Share a server hint's deadline with every task sending to the same key.
    fn record_hint(&self, deadline: Option<Instant>, now: Instant) {
        if let (Some((table, key)), Some(until)) = (self.gate.as_ref(), deadline) {
            if until > now {
                // An eviction is counted by the table (`evictions`) and the
                // evicted key's holder simply finds no deadline: nothing waits forever.
                let _ = table.record_at(key.clone(), until, now);
            }
        }
    }
}

/// Retry `operation` under `policy`, classifying its errors with `classify`.
///
/// A shorthand for `Retrier::new(policy).classify(classify).run(operation)`;
/// see [`Retrier`] for budgets, shared deadlines, timeouts and events.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// use std::time::Duration;
/// use relent::retry::RetryPolicy;
/// use relent_tokio::{retry, ErrorClass};
///
/// let mut failures_left = 2;
/// let started = tokio::time::Instant::now();
/// let answer = retry(
///     RetryPolicy::kube_client(), // 500 ms doubling, no jitter, 4 attempts
///     |e: &std::io::Error| match e.kind() {
///         std::io::ErrorKind::NotFound => ErrorClass::Permanent,
///         _ => ErrorClass::Transient,
///     },
///     || {
///         let fail = failures_left > 0;
///         failures_left -= 1;
///         async move {
///             if fail { Err(std::io::Error::other("connection reset")) } else { Ok(42) }
///         }
///     },
/// )
/// .await
/// .unwrap();
/// assert_eq!(answer, 42);
/// assert_eq!(started.elapsed(), Duration::from_millis(500 + 1000));
/// # }
/// ```
pub async fn retry<C, F, T, E, Fut, Op>(
    policy: RetryPolicy<C>,
    classify: F,
    operation: Op,
) -> Result<T, RetryError<E>>
where
    F: ClassifyError<E>,
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    Retrier::new(policy).classify(classify).run(operation).await
}
