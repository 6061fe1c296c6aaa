//! Test helpers for code that uses relent (feature `proptest`).
//!
//! - [proptest](https://docs.rs/proptest) strategies for the policies the builders
//!   accept: [`any_backoff_policy`], [`any_jitter`], [`any_retry_policy`];
//! - [`delays`]: the waits a [`Retry`] machine would make for a policy and a seed, when
//!   every attempt fails at once;
//! - [`worst_case_wait`]: an analytic upper bound on an operation's total backoff wait;
//! - [`simulate`]: run an operation against a scripted list of outcomes on a virtual
//!   clock (the blocking driver, [`crate::drive::blocking::run`]) and get its
//!   [`Timeline`].
//!
//! ```
//! use core::time::Duration;
//! use relent::retry::{GiveUpReason, Outcome, RetryPolicy};
//! use relent::testing::{simulate, Step, End};
//!
//! let policy = RetryPolicy::kube_client().with_per_try_timeout(Some(Duration::from_secs(1)));
//! // A 503, then an attempt that hangs past its 1 s limit, then a success.
//! let script = [
//!     Step::from(Outcome::transient()),
//!     Step::from(Outcome::Success).taking(Duration::from_secs(9)),
//!     Step::from(Outcome::Success).taking(Duration::from_millis(20)),
//! ];
//! // A fixed seed is safe here: this is a test, and kube's preset has no jitter anyway.
//! let timeline = simulate(&policy, 7, script);
//! assert_eq!(timeline.attempts.len(), 3);
//! assert_eq!(timeline.attempts[1].outcome, Outcome::timed_out());
//! assert_eq!(timeline.waits.iter().map(|w| w.delay).collect::<Vec<_>>(),
//!            [Duration::from_millis(500), Duration::from_millis(1000)]);
//! // 500 ms + 1 s (the hung attempt, cut at its limit) + 1 s + 20 ms.
//! assert_eq!(timeline.end, End::Succeeded { at: relent::Instant::from_millis(2_520) });
//! ```

use alloc::vec::Vec;
use core::cell::Cell;
use core::ops::Deref;
use core::time::Duration;

use proptest::prelude::*;

use crate::backoff::{BackoffBuilder, BackoffPolicy, Factor, Jitter, Schedule, Stepper};
use crate::drive::blocking::{self, Clock};
use crate::drive::{Event, Finished, Observe};
use crate::retry::{Action, Outcome, Report, Retry, RetryPolicy, WaitReason};
use crate::time::{Instant, duration_to_nanos, nanos_to_duration};

const SEC: u64 = 1_000_000_000;

/// Durations from zero to one minute, with zero mixed in.
fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        8 => (0..=60 * SEC).prop_map(Duration::from_nanos),
        1 => Just(Duration::ZERO),
    ]
}

/// Every [`Jitter`] kind, proportional spreads from 0 to ±100 %.
pub fn any_jitter() -> impl Strategy<Value = Jitter> {
    prop_oneof![
        Just(Jitter::None),
        Just(Jitter::Full),
        Just(Jitter::Equal),
        (0..=1_000_000u64).prop_map(|m| Jitter::Proportional(Factor::from_millionths(m))),
        Just(Jitter::Decorrelated),
    ]
}

/// Every [`Schedule`] kind, exponential factors from 1.000001 to 5.
fn any_schedule() -> impl Strategy<Value = Schedule> {
    prop_oneof![
        duration().prop_map(|delay| Schedule::Constant { delay }),
        (duration(), duration()).prop_map(|(base, step)| Schedule::Linear { base, step }),
        (duration(), 1_000_001u64..=5_000_000).prop_map(|(base, m)| Schedule::Exponential {
            base,
            factor: Factor::from_millionths(m),
        }),
        duration().prop_map(|base| Schedule::Fibonacci { base }),
    ]
}

/// Any [`BackoffPolicy`] the builder accepts: every schedule and jitter kind, a floor
/// and a cap (sometimes none), and sometimes `max_delays`, `max_elapsed` and a quiet
/// reset. Delays range up to a few minutes.
pub fn any_backoff_policy() -> impl Strategy<Value = BackoffPolicy> {
    (
        any_schedule(),
        any_jitter(),
        duration(),
        proptest::option::of(duration()),
        proptest::option::of(0u32..20),
        proptest::option::of(duration()),
        proptest::option::of(duration()),
    )
        .prop_filter_map(
            "the builder refused it",
            |(schedule, jitter, floor, extra, delays, elapsed, quiet)| {
                let mut b = BackoffBuilder::new(schedule).jitter(jitter).floor(floor);
                if let Some(extra) = extra {
                    b = b.cap(floor.saturating_add(extra));
                }
                if let Some(n) = delays {
                    b = b.max_delays(n);
                }
                if let Some(e) = elapsed {
                    b = b.max_elapsed(e);
                }
                if let Some(q) = quiet {
                    b = b.reset_after_quiet(q);
                }
                b.build().ok()
            },
        )
}

/// Any [`RetryPolicy`] with the standard classifier: 1 to 16 attempts, sometimes a
/// deadline (up to 10 min) and a per-try timeout, [`any_backoff_policy`] for the
/// backoff and sometimes for the throttled backoff.
pub fn any_retry_policy() -> impl Strategy<Value = RetryPolicy> {
    (
        1u32..=16,
        proptest::option::of((0..=600 * SEC).prop_map(Duration::from_nanos)),
        proptest::option::of(duration()),
        any_backoff_policy(),
        proptest::option::of(any_backoff_policy()),
    )
        .prop_map(|(attempts, deadline, per_try, backoff, throttled)| {
            RetryPolicy::default()
                .with_max_attempts(attempts)
                .with_deadline(deadline)
                .with_per_try_timeout(per_try)
                .with_backoff(backoff)
                .with_throttled_backoff(throttled)
        })
}

/// The waits a [`Retry`] machine makes for `policy` and `seed` when every attempt fails
/// at once with [`Outcome::transient`] (so only the main backoff schedule, the attempt
/// limit and the deadline matter). Ends when the machine gives up.
///
/// ```
/// use core::time::Duration;
/// use relent::retry::RetryPolicy;
/// let kube = RetryPolicy::kube_client();
/// let waits: Vec<_> = relent::testing::delays(&kube, 0).collect();
/// assert_eq!(waits, [500, 1_000, 2_000].map(Duration::from_millis));
/// ```
pub fn delays<P, C>(policy: P, seed: u64) -> Delays<P>
where
    P: Deref<Target = RetryPolicy<C>>,
{
    let op = Retry::new(policy, seed, Instant::ZERO);
    Delays {
        op,
        now: Instant::ZERO,
    }
}

/// The iterator [`delays`] returns.
#[derive(Debug)]
pub struct Delays<P> {
    op: Retry<P>,
    now: Instant,
}

impl<P, C> Iterator for Delays<P>
where
    P: Deref<Target = RetryPolicy<C>>,
{
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        loop {
            match self.op.poll(self.now) {
                Action::Send { .. } => self.op.handle_outcome(self.now, Outcome::transient()),
                Action::Wait { until, .. } => {
                    let delay = until.saturating_duration_since(self.now);
                    self.now = until;
                    return Some(delay);
                }
                Action::Done { .. } | Action::GiveUp(_) => return None,
            }
        }
    }
}

impl<P, C> core::iter::FusedIterator for Delays<P> where P: Deref<Target = RetryPolicy<C>> {}

/// Waits this far into a schedule are computed one by one; the rest (only for schedules
/// still growing there) are bounded at once.
const EXACT_WAITS: u32 = 4_096;

/// The upper bounds of one backoff's successive delays: `clamp(hi(jitter, min(d_n, cap)),
/// floor, cap)`, with decorrelated jitter's window following its own upper bounds.
struct Highs<'p> {
    policy: &'p BackoffPolicy,
    stepper: Stepper,
    /// Decorrelated jitter's `delay_{n−1}` upper bound (`d_0` at first).
    previous: u64,
    /// No later bound differs from the last one.
    settled: bool,
}

impl<'p> Highs<'p> {
    fn new(policy: &'p BackoffPolicy) -> Self {
        Highs {
            policy,
            stepper: Stepper::start(&policy.schedule),
            previous: duration_to_nanos(policy.schedule.first()),
            settled: false,
        }
    }

    /// The bound of the delay after `n` earlier ones, given its (un-capped) nominal.
    fn bound(policy: &BackoffPolicy, nominal: u64, previous: u64) -> u64 {
        let (floor, cap) = policy.floor_cap_nanos();
        let d = nominal.min(cap);
        let hi = match policy.jitter {
            Jitter::None | Jitter::Full | Jitter::Equal => d,
            Jitter::Proportional(f) => d.saturating_add(f.mul_nanos_floor(d)),
            Jitter::Decorrelated => {
                duration_to_nanos(policy.schedule.first()).max(previous.saturating_mul(3))
            }
        };
        hi.max(floor).min(cap)
    }

    fn next(&mut self) -> u64 {
        let hi = Self::bound(self.policy, self.stepper.current(), self.previous);
        if !self.settled {
            let before = (self.stepper, self.previous);
            self.stepper.advance(&self.policy.schedule);
            self.previous = hi;
            let (_, cap) = self.policy.floor_cap_nanos();
            // Schedules never shrink: once the nominal reaches the cap (or stops moving)
            // the jitter's input is fixed; decorrelated jitter depends on `previous` only.
            let nominal_fixed = before.0 == self.stepper || before.0.current() >= cap;
            let settled = match self.policy.jitter {
                Jitter::Decorrelated => before.1 == hi,
                _ => nominal_fixed,
            };
            self.settled = settled;
        }
        hi
    }

    /// An upper bound on every delay from the `n`-th on (the bounds never decrease).
    fn bound_from(&self, last: u32) -> u64 {
        match self.policy.schedule {
            // O(1) nominal: the last delay's own bound.
            Schedule::Constant { .. } | Schedule::Linear { .. } => Self::bound(
                self.policy,
                duration_to_nanos(self.policy.schedule.nominal(last)),
                self.previous,
            ),
            _ => self.policy.floor_cap_nanos().1,
        }
    }
}

/// An upper bound on the total backoff wait of one operation under `policy`: the sum,
/// over its `max_attempts − 1` waits, of each delay's upper bound after jitter (the
/// nominal delay limited to the cap, jittered at the top of its range, clamped to
/// `[floor, cap]`; with a throttled backoff, the larger of the two schedules' bounds at
/// each step), limited to the policy's deadline. `None` when there is no deadline and
/// the sum reaches relent's horizon, [`BackoffPolicy::MAX_DELAY`] (`u64::MAX` ns, about
/// 584 years, where an [`Instant`] saturates): no practical bound.
///
/// Every run's scheduled backoff waits add up to at most this bound, whatever the seed
/// and however transient and throttled failures interleave: jitter never exceeds its
/// range, schedules never shrink, and the machine never starts a wait that ends past the
/// deadline. The bound is the least such one without a deadline: with [`Jitter::None`]
/// a run that fails every time waits exactly this long. Waits the server asks for
/// (`Retry-After` up to [`hints.cap`](crate::hint::HintPolicy::cap) each) and gate holds
/// are not backoff and not counted; the deadline bounds them too.
///
/// The first 4,096 waits are bounded one by one; past that, a schedule that is still
/// growing counts each further wait at its cap (or, for constant and linear schedules,
/// at the last wait's bound).
///
/// ```
/// use core::time::Duration;
/// use relent::retry::RetryPolicy;
/// use relent::testing::worst_case_wait;
/// // kube: 500 ms, 1 s, 2 s without jitter.
/// assert_eq!(worst_case_wait(&RetryPolicy::kube_client()), Some(Duration::from_millis(3_500)));
/// // The default: 100 ms and 200 ms nominal, equal jitter's top is the nominal delay.
/// let p = RetryPolicy::default();
/// assert_eq!(worst_case_wait(&p), Some(Duration::from_millis(300)));
/// assert_eq!(worst_case_wait(&p.with_deadline(Some(Duration::from_millis(250)))),
///            Some(Duration::from_millis(250)));
/// ```
#[must_use]
pub fn worst_case_wait<C>(policy: &RetryPolicy<C>) -> Option<Duration> {
    let waits = policy.max_retries();
    let mut main = Highs::new(&policy.backoff);
    let mut throttled = policy.throttled_backoff.as_ref().map(Highs::new);
    let mut total: u128 = 0;
    let mut done = 0u32;
    while done < waits {
        let hi = match throttled.as_mut() {
            Some(t) => main.next().max(t.next()),
            None => main.next(),
        };
        total = total.saturating_add(u128::from(hi));
        done = done.saturating_add(1);
        let left = u128::from(waits.saturating_sub(done));
        let settled = main.settled && throttled.as_ref().is_none_or(|t| t.settled);
        if settled {
            // Every later bound equals this one.
            total = total.saturating_add(left.saturating_mul(u128::from(hi)));
            break;
        }
        if done >= EXACT_WAITS {
            let last = waits.saturating_sub(1);
            let rest = match throttled.as_ref() {
                Some(t) => main.bound_from(last).max(t.bound_from(last)),
                None => main.bound_from(last),
            };
            total = total.saturating_add(left.saturating_mul(u128::from(rest)));
            break;
        }
    }
    let total = u64::try_from(total)
        .ok()
        .filter(|t| *t < u64::MAX)
        .map(nanos_to_duration);
    match (total, policy.deadline) {
        (Some(t), Some(d)) => Some(t.min(d)),
        (None, Some(d)) => Some(d),
        (t, None) => t,
    }
}

/// One scripted attempt for [`simulate`]: how it ends, and how long it takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// How the attempt ends (if it ends within its time limit).
    pub outcome: Outcome,
    /// How long it runs. Past the attempt's time limit it is cut there and ends as
    /// [`Outcome::timed_out`].
    pub takes: Duration,
}

impl Step {
    /// The same step, running for `takes`.
    #[must_use]
    pub const fn taking(mut self, takes: Duration) -> Step {
        self.takes = takes;
        self
    }
}

impl From<Outcome> for Step {
    /// An attempt that ends with `outcome` at once.
    fn from(outcome: Outcome) -> Step {
        Step {
            outcome,
            takes: Duration::ZERO,
        }
    }
}

/// One attempt in a [`Timeline`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttemptRecord {
    /// 1-based attempt number.
    pub number: u32,
    /// When it started.
    pub at: Instant,
    /// Its time limit (`None`: none).
    pub timeout: Option<Duration>,
    /// How long it ran (cut at the time limit).
    pub took: Duration,
    /// How it ended, as the machine was told.
    pub outcome: Outcome,
}

/// One wait in a [`Timeline`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitRecord {
    /// When it started.
    pub at: Instant,
    /// How long.
    pub delay: Duration,
    /// Why.
    pub reason: WaitReason,
}

/// How a simulated operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The last attempt succeeded, ending at `at`.
    Succeeded {
        /// When.
        at: Instant,
    },
    /// The machine gave up at `at`.
    GaveUp {
        /// When.
        at: Instant,
        /// Why, as the machine reports it.
        report: Report,
    },
}

/// What happened in a [`simulate`]d run, on a virtual clock starting at [`Instant::ZERO`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeline {
    /// Every attempt, in order.
    pub attempts: Vec<AttemptRecord>,
    /// Every wait, in order.
    pub waits: Vec<WaitRecord>,
    /// How it ended.
    pub end: End,
}

impl Timeline {
    /// The total wait between attempts.
    #[must_use]
    pub fn total_wait(&self) -> Duration {
        self.waits
            .iter()
            .fold(Duration::ZERO, |sum, w| sum.saturating_add(w.delay))
    }

    /// When the run ended.
    #[must_use]
    pub fn end_at(&self) -> Instant {
        match self.end {
            End::Succeeded { at } | End::GaveUp { at, .. } => at,
        }
    }
}

/// A clock that jumps when it sleeps.
struct Virtual(Cell<Instant>);

impl Clock for Virtual {
    fn now(&self) -> Instant {
        self.0.get()
    }
    fn sleep_until(&self, until: Instant) {
        self.0.set(until.max(self.0.get()));
    }
}

/// Records a run's events.
struct Recorder {
    attempts: Vec<AttemptRecord>,
    waits: Vec<WaitRecord>,
    /// The time limit of the attempt in flight.
    timeout: Option<Duration>,
}

impl Observe<Option<Outcome>> for Recorder {
    fn event(&mut self, event: &Event<'_, Option<Outcome>>) {
        match *event {
            Event::Attempt { timeout, .. } => self.timeout = timeout,
            Event::Ended {
                attempt,
                outcome,
                at,
                took,
                ..
            } => self.attempts.push(AttemptRecord {
                number: attempt,
                at: at.saturating_sub(took),
                timeout: self.timeout,
                took,
                outcome,
            }),
            Event::Wait {
                until,
                delay,
                reason,
            } => self.waits.push(WaitRecord {
                at: until.saturating_sub(delay),
                delay,
                reason,
            }),
        }
    }
}

/// Run one operation under `policy` against `script` on a virtual clock, with the
/// blocking driver ([`crate::drive::blocking::run`]), and return its [`Timeline`].
///
/// Attempt `n` plays the script's `n`-th [`Step`]: the clock advances by its `takes`
/// (at most the attempt's time limit; a step cut there ends as [`Outcome::timed_out`])
/// and the machine is told its outcome. Attempts past the end of the script fail as
/// [`Outcome::transient`]. Waits advance the clock exactly; nothing else does. The same
/// policy, seed and script always give the same timeline.
pub fn simulate<P, C, S>(policy: P, seed: u64, script: impl IntoIterator<Item = S>) -> Timeline
where
    P: Deref<Target = RetryPolicy<C>>,
    S: Into<Step>,
{
    let clock = Virtual(Cell::new(Instant::ZERO));
    let mut script = script.into_iter().map(Into::into);
    let mut recorder = Recorder {
        attempts: Vec::new(),
        waits: Vec::new(),
        timeout: None,
    };
    let machine = Retry::new(policy, seed, Instant::ZERO);
    let finished = blocking::run(
        machine,
        &clock,
        |out: &Option<Outcome>, _| out.unwrap_or(Outcome::timed_out()),
        &mut recorder,
        |_, timeout| {
            let step = script
                .next()
                .unwrap_or_else(|| Step::from(Outcome::transient()));
            let (took, outcome) = match timeout {
                Some(limit) if step.takes > limit => (limit, None),
                _ => (step.takes, Some(step.outcome)),
            };
            clock.0.set(clock.0.get().saturating_add(took));
            outcome
        },
    );
    let end = match finished {
        Finished::Succeeded(_) => End::Succeeded { at: clock.now() },
        Finished::GaveUp { report, .. } => End::GaveUp {
            at: Instant::ZERO.saturating_add(report.elapsed),
            report,
        },
    };
    Timeline {
        attempts: recorder.attempts,
        waits: recorder.waits,
        end,
    }
}
