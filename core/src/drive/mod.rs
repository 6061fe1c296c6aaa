//! The one driver: runs an operation end to end on any runtime, or blocking.
//!
//! [`run`] follows the machine's driving rule (see [`Retry`]) and nothing else: poll; on
//! `Send`, run the attempt under its timeout and feed its judged outcome; on `Wait`,
//! sleep until the instant; on `Done` or `GiveUp`, stop. The runtime supplies time
//! through a [`Timer`] (a clock and "sleep until"); the caller supplies the attempt, a
//! [`Judge`] that turns an attempt's output into an [`Outcome`], and an [`Observe`]r
//! for events. It is `no_std`, allocates nothing and depends on no runtime: relent-tokio,
//! relent-reqwest, relent-tower, the simulator and [`blocking`] code all step this same loop.
//!
//! ```
//! # fn main() { futures_lite_block_on(async {
//! use core::time::Duration;
//! use relent::drive::{self, Finished, Timer};
//! use relent::retry::{Outcome, Retry, RetryPolicy};
//! use relent::Instant;
//! use std::cell::Cell;
//!
//! // A virtual clock: sleeping jumps to the instant (a real runtime sleeps).
//! struct Virtual(Cell<Instant>);
//! impl Timer for Virtual {
//!     fn now(&self) -> Instant { self.0.get() }
//!     async fn sleep_until(&self, until: Instant) { self.0.set(until.max(self.0.get())) }
//! }
//!
//! let policy = RetryPolicy::kube_client(); // 500 ms doubling, 4 attempts
//! let timer = Virtual(Cell::new(Instant::ZERO));
//! // A fixed seed is safe here: a test on a virtual clock, and kube's preset has no jitter.
//! let machine = Retry::new(&policy, 7, timer.now());
//! let finished = drive::run(
//!     machine,
//!     &timer,
//!     |out: &Result<u32, &str>, _attempt| match out {
//!         Ok(_) => Outcome::Success,
//!         Err(_) => Outcome::transient(),
//!     },
//!     &mut (),
//!     |attempt, _timeout| async move { if attempt < 3 { Err("busy") } else { Ok(attempt) } },
//! )
//! .await;
//! assert!(matches!(finished, Finished::Succeeded(Ok(3))));
//! assert_eq!(timer.now(), Instant::ZERO + Duration::from_millis(500 + 1000));
//! # }) }
//! # fn futures_lite_block_on<F: core::future::Future>(f: F) -> F::Output {
//! #     let mut f = core::pin::pin!(f);
//! #     let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
//! #     loop { if let core::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
//! # }
//! ```

/// The driving loop, written once for [`run`] and [`blocking::run`].
///
/// The two drivers differ only in how an attempt is run to its end and how a wait is
/// slept: `attempt` is an expression of the attempt number `$n`, its limit `$timeout` and
/// its start `$at`, giving the attempt's output, or `None` when it was abandoned at its
/// limit; `sleep` is an expression of `$until` that returns at or after it; `now` reads
/// the clock. `run` awaits in them; the blocking driver calls straight through, so it has
/// no future to poll and no generator holding its state (about 300 instructions less per
/// 10-attempt operation than polling `run` to its end).
macro_rules! drive_loop {
    (
        machine: $machine:ident,
        judge: $judge:ident,
        observe: $observe:ident,
        now: $clock_now:expr,
        attempt: |$n:ident, $timeout:ident, $at:ident| $attempt:expr,
        sleep: |$until:ident| $sleep:expr $(,)?
    ) => {{
        let mut now = $machine.started();
        let mut last = None;
        loop {
            match $machine.poll(now) {
                $crate::retry::Action::Send {
                    attempt: $n,
                    timeout: $timeout,
                } => {
                    if let Some(previous) = last.take() {
                        $observe.superseded($n.saturating_sub(1), previous);
                    }
                    $observe.event(&$crate::drive::Event::Attempt {
                        attempt: $n,
                        timeout: $timeout,
                        at: now,
                    });
                    let $at = now;
                    let output = $attempt;
                    now = $clock_now;
                    let outcome = match &output {
                        Some(out) => $judge.judge(out, $n),
                        None => match $judge.timed_out($n) {
                            $crate::retry::Outcome::Success => $crate::retry::Outcome::Final {
                                refused: None,
                                hint: None,
                                seen: $crate::retry::Seen::Transport(
                                    $crate::retry::TransportError::TimedOut,
                                ),
                            },
                            failed => failed,
                        },
                    };
                    $machine.handle_outcome(now, outcome);
                    $observe.event(&$crate::drive::Event::Ended {
                        attempt: $n,
                        output: output.as_ref(),
                        outcome,
                        at: now,
                        took: now.saturating_duration_since($at),
                    });
                    last = output;
                }
                $crate::retry::Action::Wait { until, reason } => {
                    $observe.event(&$crate::drive::Event::Wait {
                        until,
                        delay: until.saturating_duration_since(now),
                        reason,
                    });
                    let $until = until;
                    $sleep;
                    now = $clock_now;
                }
                $crate::retry::Action::Done { .. } => {
                    break match last {
                        Some(output) => $crate::drive::Finished::Succeeded(output),
                        None => $crate::drive::Finished::GaveUp {
                            report: $crate::retry::Report {
                                reason: $crate::retry::GiveUpReason::NotRetryable,
                                attempts: $machine.attempts(),
                                last: $machine.last_outcome(),
                                waited: $machine.waited(),
                                elapsed: now.saturating_duration_since($machine.started()),
                            },
                            last: None,
                        },
                    };
                }
                $crate::retry::Action::GiveUp(report) => {
                    break $crate::drive::Finished::GaveUp { report, last };
                }
            }
        }
    }};
}

pub mod blocking;

use core::future::{Future, poll_fn};
use core::ops::Deref;
use core::pin::pin;
use core::task::Poll;
use core::time::Duration;

use crate::retry::{Budget, Gate, Outcome, Report, Retry, RetryPolicy, WaitReason};
use crate::time::Instant;

/// Time, as a runtime supplies it: the clock and "sleep until".
///
/// `now` is the runtime's monotonic clock as a relent [`Instant`] (an epoch of the
/// runtime's choosing). `sleep_until` must not return before `until`.
///
/// **Rounding on a coarse timer:** convert a clock reading to an `Instant` rounding
/// **down**, and a sleep's end to ticks rounding **up** (a millisecond timer given
/// 2.0004 ms sleeps 3 ms); otherwise the driver wakes early, finds the wait not over
/// and sleeps again for the rest. [`TickRate`](crate::time::TickRate) does both
/// (`instant` down, `ticks_until` up), and
/// [`TickExtender`](crate::time::TickExtender) extends a wrapping `u16`/`u32`
/// hardware counter into a monotonic `Instant`. With std,
/// `drive::blocking::StdTimer` converts `std::time::Instant`s (`from_std`, `to_std`).
pub trait Timer {
    /// The current instant.
    fn now(&self) -> Instant;
    /// Complete at or after `until`.
    fn sleep_until(&self, until: Instant) -> impl Future<Output = ()>;
}

/// Starts attempts: what the driver runs each time the machine says `Send`.
///
/// Implemented for every `FnMut(u32, Option<Duration>) -> impl Future<Output = R>` (the
/// attempt number and its time limit). Implement it on a type of your own when an
/// attempt's future must borrow state the next attempt needs again (a connection, a
/// middleware chain): the driver finishes or drops one attempt before it starts the next.
pub trait Operation<R> {
    /// Start attempt number `attempt`, which the driver abandons after `timeout`.
    fn attempt(&mut self, attempt: u32, timeout: Option<Duration>) -> impl Future<Output = R>;

    /// Whether the attempt enforces its `timeout` itself (an HTTP client given the limit
    /// as its request timeout), ending with an output the [`Judge`] reads as a timeout.
    /// The driver then runs no timer of its own beside it: one timer per attempt, not
    /// two. Default: `false`, the driver races the attempt against the limit.
    fn enforces_timeout(&self) -> bool {
        false
    }

    /// Run attempt number `attempt`, started at `at`, to its end: its output, or `None`
    /// when it was abandoned at `timeout` (measured on `timer`). The driver calls this.
    ///
    /// The default starts [`attempt`](Self::attempt) and, unless
    /// [`enforces_timeout`](Self::enforces_timeout), races it against the limit (the
    /// attempt is polled first, so one that is ready when its time is up still counts).
    /// Override it only to say the same thing more cheaply: an operation that always
    /// enforces its timeout can return `attempt`'s output alone, and the driver's future
    /// then keeps no room for a race it never runs (a timer and a second attempt future).
    fn attempt_within<T: Timer>(
        &mut self,
        attempt: u32,
        timeout: Option<Duration>,
        at: Instant,
        timer: &T,
    ) -> impl Future<Output = Option<R>> {
        async move {
            match timeout.filter(|_| !self.enforces_timeout()) {
                None => Some(self.attempt(attempt, timeout).await),
                // Both are pinned where they are made: no second copy in the future.
                Some(limit) => {
                    let mut work = pin!(self.attempt(attempt, timeout));
                    let mut deadline = pin!(timer.sleep_until(at.saturating_add(limit)));
                    poll_fn(|cx| {
                        if let Poll::Ready(output) = work.as_mut().poll(cx) {
                            return Poll::Ready(Some(output));
                        }
                        if deadline.as_mut().poll(cx).is_ready() {
                            return Poll::Ready(None);
                        }
                        Poll::Pending
                    })
                    .await
                }
            }
        }
    }
}

impl<R, F: Future<Output = R>, A: FnMut(u32, Option<Duration>) -> F> Operation<R> for A {
    fn attempt(&mut self, attempt: u32, timeout: Option<Duration>) -> impl Future<Output = R> {
        self(attempt, timeout)
    }
}

/// Turns an attempt's output into the machine's [`Outcome`].
///
/// Implemented for every `FnMut(&R, u32) -> Outcome` (the output and the attempt number),
/// with [`Outcome::timed_out`] for a timeout. The HTTP adapters judge with the policy's
/// classifier ([`crate::http::Classify::outcome`]), so a preset's rules hold in every driver.
pub trait Judge<R> {
    /// The outcome of attempt number `attempt`, which produced `output`.
    fn judge(&mut self, output: &R, attempt: u32) -> Outcome;
    /// The outcome of attempt number `attempt`, abandoned at its timeout. A
    /// [`Outcome::Success`] here is read as a final failure: a timeout has no output to return.
    fn timed_out(&mut self, attempt: u32) -> Outcome {
        let _ = attempt;
        Outcome::timed_out()
    }
}

impl<R, F: FnMut(&R, u32) -> Outcome> Judge<R> for F {
    fn judge(&mut self, output: &R, attempt: u32) -> Outcome {
        self(output, attempt)
    }
}

/// Something that happened during a run, for logs, metrics and traces.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a, R> {
    /// Attempt number `attempt` starts at `at`, with this time limit (`None`: no limit).
    Attempt {
        /// 1-based attempt number.
        attempt: u32,
        /// `min(per-try timeout, time left)`.
        timeout: Option<Duration>,
        /// When it starts.
        at: Instant,
    },
    /// Attempt number `attempt` ended at `at`, after `took`.
    Ended {
        /// 1-based attempt number.
        attempt: u32,
        /// Its output, or `None` when it was abandoned at its timeout.
        output: Option<&'a R>,
        /// How the judge and the policy read it.
        outcome: Outcome,
        /// When it ended.
        at: Instant,
        /// How long it took.
        took: Duration,
    },
    /// Waiting `delay` (until `until`) before the next attempt.
    Wait {
        /// When the next attempt may start.
        until: Instant,
        /// How long from now.
        delay: Duration,
        /// Why.
        reason: WaitReason,
    },
}

/// Receives a run's [`Event`]s and the outputs it moves past. `()` ignores everything.
pub trait Observe<R> {
    /// Called at each event, on the task that runs the operation; keep it short.
    fn event(&mut self, event: &Event<'_, R>) {
        let _ = event;
    }
    /// The output of attempt `attempt`, which the run retried past: keep it (relent-tokio
    /// keeps every error for its report) or drop it (the default; an HTTP response is
    /// released here, before the next attempt is sent).
    fn superseded(&mut self, attempt: u32, output: R) {
        let _ = (attempt, output);
    }
}

impl<R> Observe<R> for () {}

impl<R, O: Observe<R> + ?Sized> Observe<R> for &mut O {
    fn event(&mut self, event: &Event<'_, R>) {
        (**self).event(event);
    }
    fn superseded(&mut self, attempt: u32, output: R) {
        (**self).superseded(attempt, output);
    }
}

/// How a run ended.
#[derive(Debug)]
#[must_use]
pub enum Finished<R> {
    /// The last attempt succeeded; its output.
    Succeeded(R),
    /// The machine gave up. `last` is the last attempt's output (`None` if no attempt was
    /// made or the last one timed out): for an HTTP client, a final response is still the
    /// answer.
    GaveUp {
        /// Why, and what happened before.
        report: Report,
        /// The last attempt's output, if it produced one.
        last: Option<R>,
    },
}

/// Run an operation to its end under `machine`.
///
/// `operation` starts each attempt (its number, from 1, and its `timeout`); the driver
/// abandons it at that limit (the returned future is dropped) and asks `judge` for the
/// outcome, unless the operation [enforces the limit itself](Operation::enforces_timeout). Time comes from
/// `timer`, read once after each attempt and each wait. The machine should be fresh
/// (built at `timer.now()`); given one that already succeeded there is no output to
/// return, and the run reports [`GiveUpReason::NotRetryable`](crate::retry::GiveUpReason::NotRetryable) with no output.
// A function returning an `async` block rather than an `async fn`: an `async fn` keeps
// each argument twice in its future, as it was passed and as the local it is moved to;
// the block uses what it captured in place, so the future is smaller by the size of the
// machine and the operation, and cheaper to move.
#[allow(clippy::manual_async_fn)]
pub fn run<P, C, B, G, T, J, O, R, A>(
    mut machine: Retry<P, B, G>,
    timer: &T,
    mut judge: J,
    observe: &mut O,
    mut operation: A,
) -> impl Future<Output = Finished<R>>
where
    P: Deref<Target = RetryPolicy<C>>,
    B: Budget,
    G: Gate,
    T: Timer,
    J: Judge<R>,
    O: Observe<R> + ?Sized,
    A: Operation<R>,
{
    async move {
        drive_loop!(
            machine: machine,
            judge: judge,
            observe: observe,
            now: timer.now(),
            attempt: |n, timeout, at| operation.attempt_within(n, timeout, at, timer).await,
            sleep: |until| timer.sleep_until(until).await,
        )
    }
}
