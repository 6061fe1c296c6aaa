//! Run one operation under relent's driver on tokio: the [`Retrier`] builder and [`retry`].
//!
//! There is no retry loop here: [`Retrier::run`] builds the core's machine and hands it to
//! [`relent::drive::run`] with tokio's clock ([`TokioTimer`]), the shared budget and table,
//! and a judge that reads the caller's [`ErrorClass`] through the policy's classifier.

use core::fmt;
use core::future::Future;
use core::hash::Hash;
use core::time::Duration;

use relent::Instant;
use relent::drive::{self, Finished};
use relent::http::{Attempt, Classify, Observed, StandardClassifier};
use relent::retry::{Outcome, Report, Retry, RetryPolicy, TransportError, WaitReason};

use crate::class::{AlwaysTransient, ClassifyError, ErrorClass};
use crate::clock::TokioTimer;
use crate::error::{Cause, Failure, RetryError};
use crate::history::{Left, Recorder};
use crate::{SharedBudget, SharedDeadlines, seed};

/// Something that happened during a run, for logs and metrics: the one event type of
/// every relent adapter, given to each one's `on_event` hook (relent-tokio's
/// [`Retrier::on_event`], relent-reqwest's and relent-tower's builders).
///
/// Every failure is also kept in the final [`RetryError`] and its
/// [`AttemptHistory`](crate::AttemptHistory); events are for seeing them as they happen
/// (kube-rs's watcher users log each error). For each attempt, in order: `Attempt`,
/// then `Ended`, then `Failed` if it failed with an error or ran past its limit (an HTTP
/// response judged a failure is an `Ended` alone: it is an answer, not an error); then a
/// `Wait` before the next attempt, or `GaveUp`. A run that succeeds ends with its
/// `Ended { outcome: Outcome::Success, .. }`: there is no final event. The HTTP adapters
/// report `GaveUp` also when they return the last response (retries ran out on a status).
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
    /// Attempt number `attempt` ended after `took`, and the policy read it as `outcome`
    /// (a success too).
    Ended {
        /// 1-based attempt number.
        attempt: u32,
        /// How the policy's classifier read it: success, retryable (which kind, with the
        /// server's hint), or final; its `seen` says what it saw (a status, a transport
        /// failure, an error).
        outcome: Outcome,
        /// How long it took.
        took: Duration,
    },
    /// An attempt failed: the cause borrows the operation's error.
    Failed(&'a Cause<&'a E>),
    /// Waiting before the next attempt.
    Wait {
        /// When the next attempt may start, on [`crate::clock`].
        until: Instant,
        /// How long from now: "retrying in 80 ms" needs no clock read.
        delay: Duration,
        /// Why.
        reason: WaitReason,
    },
    /// The run gave up, for the reason the report gives.
    GaveUp(&'a Report),
}

impl<E> Event<'_, E> {
    /// A [`Failed`](Event::Failed) event's error as a trait object, `None` for every other
    /// event: the operation's error (looking through an [`AnyError`](crate::AnyError), so
    /// `downcast_ref` finds e.g. the `reqwest::Error` it holds), or
    /// [`AttemptTimedOut`](crate::AttemptTimedOut) for an attempt that ran past its limit.
    ///
    /// The hook's counterpart of [`Cause::as_dyn_error`], which a hook cannot call: the
    /// event's cause borrows the error for the hook's call only, and that method needs a
    /// `'static` error type.
    ///
    /// ```
    /// use std::io;
    /// use relent_tokio::{ErrorClass, Event, Retrier, RetryPolicy};
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let retrier = Retrier::new(RetryPolicy::default())
    ///     .classify(|_: &io::Error| ErrorClass::Transient)
    ///     .on_event(|event: &Event<'_, io::Error>| {
    ///         if let Some(error) = event.error() {
    ///             let io = error.downcast_ref::<io::Error>().unwrap();
    ///             assert_eq!(io.kind(), io::ErrorKind::ConnectionReset);
    ///         }
    ///     });
    /// let mut calls = 0;
    /// let answer = retrier
    ///     .run(|| {
    ///         calls += 1;
    ///         let first = calls == 1;
    ///         async move {
    ///             if first { Err(io::Error::from(io::ErrorKind::ConnectionReset)) } else { Ok(7) }
    ///         }
    ///     })
    ///     .await;
    /// assert_eq!(answer.unwrap(), 7);
    /// # }
    /// ```
    #[must_use]
    pub fn error(&self) -> Option<&(dyn std::error::Error + 'static)>
    where
        E: std::error::Error + 'static,
    {
        match self {
            Event::Failed(cause) => Some(match &cause.failure {
                Failure::Error { error, .. } => crate::error::look_through(*error),
                Failure::TimedOut(limit) => limit,
            }),
            _ => None,
        }
    }
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

/// An event callback the HTTP adapters share between their clones and requests: called
/// with the run's key (the request's origin) and each [`Event`], on the task that runs
/// the request (keep it short). relent-reqwest's and relent-tower's `on_event` take one.
pub struct OnEvent<E>(std::sync::Arc<EventFn<E>>);

/// The callback behind an [`OnEvent`].
type EventFn<E> = dyn Fn(&str, &Event<'_, E>) + Send + Sync;

impl<E> OnEvent<E> {
    /// Wrap `hook`.
    pub fn new(hook: impl Fn(&str, &Event<'_, E>) + Send + Sync + 'static) -> Self {
        OnEvent(std::sync::Arc::new(hook))
    }

    /// Call it with `key` and `event`.
    #[inline]
    pub fn call(&self, key: &str, event: &Event<'_, E>) {
        (self.0)(key, event);
    }
}

impl<E> Clone for OnEvent<E> {
    fn clone(&self) -> Self {
        OnEvent(std::sync::Arc::clone(&self.0))
    }
}

impl<E> fmt::Debug for OnEvent<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OnEvent(..)")
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
/// takes `&self`, so one `Retrier` serves any number of runs, concurrently; every run
/// borrows its policy instead of copying it):
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// use std::time::Duration;
/// use relent_tokio::{
///     BudgetConfig, ErrorClass, Event, Retrier, RetryPolicy, SharedBudget, SharedDeadlines,
/// };
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
///     .on_event(|event| {
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
/// // At least the Retry-After (exactly 3 s on tokio's paused test clock, as here).
/// assert!(started.elapsed() >= Duration::from_secs(3));
/// // Other tasks sending to the same key see the server's deadline in the table.
/// assert!(table.not_before("api.example").is_none()); // already passed
/// # }
/// ```
#[derive(Clone)]
#[must_use = "a Retrier does nothing until `run` is awaited"]
pub struct Retrier<F = AlwaysTransient, K = (), N = Quiet, C = StandardClassifier> {
    policy: RetryPolicy<C>,
    classify: F,
    budget: Option<SharedBudget>,
    gate: Option<(SharedDeadlines<K>, K)>,
    notify: N,
    seed: Option<u64>,
    deadline_at: Option<Instant>,
}

impl<F, K: fmt::Debug, N, C: fmt::Debug> fmt::Debug for Retrier<F, K, N, C> {
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

impl<C> Retrier<AlwaysTransient, (), Quiet, C> {
    /// A retrier running `policy`, treating every error as transient until
    /// [`classify`](Self::classify) says otherwise.
    ///
    /// The policy is used whole, its classifier included: the caller's [`ErrorClass`]
    /// is read *through* it, so a preset's rules hold here as in every driver. With
    /// [`RetryPolicy::kube_client`], an error classed as
    /// [`ErrorClass::Transport`] (a reset connection) or a timed-out attempt is not
    /// retried, as kube-rs does not retry them; an explicit
    /// [`ErrorClass::Transient`] is the caller's own verdict and is.
    pub fn new(policy: RetryPolicy<C>) -> Self {
        Retrier {
            policy,
            classify: AlwaysTransient,
            budget: None,
            gate: None,
            notify: Quiet,
            seed: None,
            deadline_at: None,
        }
    }
}

impl<F, K, N, C> Retrier<F, K, N, C> {
    /// Classify the operation's errors: transient, permanent, throttled (with a hint),
    /// or what happened (a transport failure, a status) for the policy to judge.
    ///
    /// The `Fn(&E) -> ErrorClass` bound lets a closure's argument be inferred as a
    /// reference for any lifetime, so `.classify(|e: &MyError| ...)` is all it takes.
    pub fn classify<E, F2>(self, classify: F2) -> Retrier<F2, K, N, C>
    where
        F2: Fn(&E) -> ErrorClass,
    {
        self.classify_with(classify)
    }

    /// Classify with any [`ClassifyError`] (a type of your own, or [`AlwaysTransient`]).
    pub fn classify_with<F2>(self, classify: F2) -> Retrier<F2, K, N, C> {
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
    /// hint; a failure that carries a hint records it for everyone else. The rule
    /// is the core's (see [`relent::retry::gate`]).
    pub fn deadlines<K2>(self, table: SharedDeadlines<K2>, key: K2) -> Retrier<F, K2, N, C> {
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

    /// Call `hook` at each [`Event`] of each run: the same name, and the same event type,
    /// as relent-reqwest's and relent-tower's `on_event`.
    ///
    /// The `Fn` bound lets a closure's argument type be inferred:
    /// `.on_event(|event| tracing_or_log(event))` needs no annotation.
    pub fn on_event<E, N2>(self, hook: N2) -> Retrier<F, K, N2, C>
    where
        N2: Fn(&Event<'_, E>),
    {
        Retrier {
            policy: self.policy,
            classify: self.classify,
            budget: self.budget,
            gate: self.gate,
            notify: hook,
            seed: self.seed,
            deadline_at: self.deadline_at,
        }
    }

    /// The earlier name of [`on_event`](Self::on_event), which the other adapters use.
    #[deprecated(note = "use `on_event`, the name every relent adapter uses")]
    pub fn notify<E, N2>(self, notify: N2) -> Retrier<F, K, N2, C>
    where
        N2: Fn(&Event<'_, E>),
    {
        self.on_event(notify)
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

    /// The policy every run borrows.
    pub fn policy(&self) -> &RetryPolicy<C> {
        &self.policy
    }
}

impl<F, K, N> Retrier<F, K, N, StandardClassifier> {
    /// Whether an attempt that timed out is retried (default: as the policy says,
    /// as [`RetryKind::TimedOut`](relent::retry::RetryKind::TimedOut), which a budget may
    /// charge more).
    pub fn retry_timeouts(mut self, retry: bool) -> Self {
        self.policy.classifier.retry_timeouts = retry;
        self
    }
}

impl<F, K, N, C> Retrier<F, K, N, C>
where
    K: Hash + Eq + Clone,
    C: Classify,
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
    /// Time: instants come from [`crate::clock`] (tokio's clock, so paused time works).
    pub async fn run<T, E, Fut, Op>(&self, mut operation: Op) -> Result<T, RetryError<E>>
    where
        Op: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        F: ClassifyError<E>,
        N: Notify<E>,
    {
        let timer = TokioTimer;
        let now = relent::drive::Timer::now(&timer);
        let seed = self.seed.unwrap_or_else(seed::fresh_seed);
        let machine = Retry::new(&self.policy, seed, now)
            .with_budget(self.budget.as_ref().map(SharedBudget::token_bucket))
            .with_gate(self.gate.as_ref().map(|(table, key)| table.gate(key)));
        let machine = match self.deadline_at {
            None => machine,
            Some(at) => {
                let deadline = machine.deadline().map_or(at, |d| d.min(at));
                machine.deadline_at(Some(deadline))
            }
        };
        let judge = |output: &Result<T, E>, attempt: u32| match output {
            Ok(_) => Outcome::Success,
            Err(error) => self.judge_error(self.classify.classify(error), attempt),
        };
        let judge = Judged {
            judge,
            policy: &self.policy,
        };
        let mut observer = Collector {
            retrier: self,
            recorder: Recorder::new(now, false),
            last_class: None,
        };
        let finished = drive::run(machine, &timer, judge, &mut observer, |_, _| operation()).await;
        match finished {
            Finished::Succeeded(Ok(value))
            | Finished::GaveUp {
                last: Some(Ok(value)),
                ..
            } => Ok(value),
            // `judge_error` never reads an error as a success, so the driver can only
            // return an `Ok` as the output of a success.
            Finished::Succeeded(Err(_)) => unreachable!("an error was judged a success"),
            Finished::GaveUp { report, last } => {
                self.notify.notify(&Event::GaveUp(&report));
                let mut recorder = observer.recorder;
                if let Some(Err(error)) = last {
                    let class = match observer.last_class {
                        Some(class) => class,
                        None => self.classify.classify(&error),
                    };
                    recorder.keep(report.attempts, error, class);
                }
                let (history, causes) =
                    recorder.finish(String::new(), report.elapsed, Some(report));
                Err(RetryError::new(causes, history, report))
            }
        }
    }

    /// The outcome of an error of class `class`, judged by the policy's classifier.
    fn judge_error(&self, class: ErrorClass, attempt: u32) -> Outcome {
        let seen = Attempt {
            observed: class.observed(),
            // The caller's operation is not an HTTP request: a failure that may have
            // reached the other side is as safe to repeat as the caller says, and a
            // timeout is retried unless the policy says otherwise.
            idempotent: true,
            number: attempt,
        };
        match self.policy.classifier.outcome(&seen) {
            // An error is never a success, whatever status it names.
            Outcome::Success => Outcome::Final {
                refused: None,
                hint: None,
                seen: seen.observed.seen(),
            },
            outcome => outcome,
        }
    }
}

/// The judge of a run: the caller's classes through the policy, and a timeout as the
/// policy's classifier reads [`TransportError::TimedOut`](relent::retry::TransportError::TimedOut).
struct Judged<'p, J, C> {
    judge: J,
    policy: &'p RetryPolicy<C>,
}

impl<R, J, C> drive::Judge<R> for Judged<'_, J, C>
where
    J: FnMut(&R, u32) -> Outcome,
    C: Classify,
{
    fn judge(&mut self, output: &R, attempt: u32) -> Outcome {
        (self.judge)(output, attempt)
    }

    fn timed_out(&mut self, attempt: u32) -> Outcome {
        self.policy.classifier.outcome(&Attempt {
            observed: ErrorClass::Transport(relent::retry::TransportError::TimedOut).observed(),
            idempotent: true,
            number: attempt,
        })
    }
}

/// Turns the driver's events into relent-tokio's through the shared [`Recorder`], which
/// keeps every error and the history of every failed attempt and wait (a run that
/// succeeds at once records nothing).
struct Collector<'r, F, K, N, C, E> {
    retrier: &'r Retrier<F, K, N, C>,
    recorder: Recorder<E>,
    /// The class of the last attempt's error, as read when it ended, so the error is kept
    /// with the class its events reported (and the classifier is not asked again).
    last_class: Option<ErrorClass>,
}

impl<T, E, F, K, N, C> drive::Observe<Result<T, E>> for Collector<'_, F, K, N, C, E>
where
    F: ClassifyError<E>,
    N: Notify<E>,
{
    fn event(&mut self, event: &drive::Event<'_, Result<T, E>>) {
        let retrier = self.retrier;
        let notify = |e: &Event<'_, E>| retrier.notify.notify(e);
        match *event {
            drive::Event::Attempt {
                attempt, timeout, ..
            } => self.recorder.attempt(attempt, timeout, notify),
            drive::Event::Ended {
                attempt,
                output,
                outcome,
                at,
                took,
            } => {
                let (observed, left) = match output {
                    Some(Err(error)) => {
                        let class = retrier.classify.classify(error);
                        self.last_class = Some(class);
                        (class.observed(), Left::Error(error, class))
                    }
                    // A success: relent-tokio's history keeps failures only, so this
                    // reading is never recorded.
                    Some(Ok(_)) => (
                        Observed::Failure {
                            retry: None,
                            hint: None,
                        },
                        Left::Answer,
                    ),
                    None => (
                        Observed::Transport(TransportError::TimedOut),
                        Left::TimedOut,
                    ),
                };
                self.recorder
                    .ended(attempt, at, took, outcome, observed, left, notify);
            }
            drive::Event::Wait {
                until,
                delay,
                reason,
            } => {
                self.recorder.wait(until, delay, reason, notify);
            }
            _ => {}
        }
    }

    fn superseded(&mut self, attempt: u32, output: Result<T, E>) {
        if let Err(error) = output {
            let class = match self.last_class.take() {
                Some(class) => class,
                None => self.retrier.classify.classify(&error),
            };
            self.recorder.keep(attempt, error, class);
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
/// use relent_tokio::{retry, ErrorClass, RetryPolicy};
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
/// // At least the two backoff delays (exactly, on tokio's paused test clock).
/// assert!(started.elapsed() >= Duration::from_millis(500 + 1000));
/// # }
/// ```
pub async fn retry<C, F, T, E, Fut, Op>(
    policy: RetryPolicy<C>,
    classify: F,
    operation: Op,
) -> Result<T, RetryError<E>>
where
    C: Classify,
    F: Fn(&E) -> ErrorClass,
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    Retrier::new(policy).classify(classify).run(operation).await
}
