//! The per-decision state of a backoff, walked against a borrowed policy.
//!
//! A [`Backoff`](super::Backoff) owns its policy and adds limits, a quiet-period reset
//! and a start time. The retry machine needs less: the policy is shared by every
//! operation (borrowed, `Arc`, `&'static`) and the operation's own limits count, so it
//! keeps only this walker. Both draw their delays through [`Walk::draw`], so a preview,
//! a standalone backoff and a retry machine can never disagree on a delay.

use super::schedule::Step;
use super::{BackoffPolicy, Jitter, Stepper};
use crate::rng::SplitMix64;
use crate::time::duration_to_nanos;

/// A policy's per-decision numbers, converted once: the schedule's `d_0`, the floor and
/// the cap in ns (each saturating at `u64::MAX`), the jitter, and the schedule's growth
/// reduced to a [`Step`]. A decision that holds a plan converts no `Duration` and does
/// no `u128` arithmetic on the common paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Plan {
    pub(crate) base_ns: u64,
    pub(crate) floor_ns: u64,
    pub(crate) cap_ns: u64,
    jitter: Jitter,
    step: Step,
}

impl Plan {
    /// The plan of a policy still being built (replaced when it is built).
    pub(crate) const UNPLANNED: Plan = Plan {
        base_ns: 0,
        floor_ns: 0,
        cap_ns: 0,
        jitter: Jitter::None,
        step: Step::Constant,
    };

    /// The plan of `policy`; always in line on bare-metal targets (see
    /// [`BackoffPolicy::planned`]).
    #[cfg_attr(target_os = "none", inline(always))]
    pub(crate) const fn of(policy: &BackoffPolicy) -> Plan {
        let (floor_ns, cap_ns) = policy.floor_cap_nanos();
        Plan {
            base_ns: duration_to_nanos(policy.schedule.first()),
            floor_ns,
            cap_ns,
            jitter: policy.jitter,
            step: Step::of(&policy.schedule),
        }
    }
}

/// Where a backoff is on its schedule: the nominal step, the last delay handed out
/// (decorrelated jitter's `delay_{n−1}`) and the jitter's random stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Walk {
    rng: SplitMix64,
    stepper: Stepper,
    /// The last delay handed out, in ns (`d_0` before the first).
    previous: u64,
}

/// Where a walk stands on its schedule, without its random stream: what
/// [`Walk::rewind`] puts back when a drawn delay is refused.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Position {
    stepper: Stepper,
    previous: u64,
}

/// Whether [`Walk::advance_planned`] computes a whole-factor step ([`Step::Times`]) in
/// line. Not on bare-metal targets (`target_os = "none"`): there a 64-bit saturating
/// multiply is a sizeable sequence (a library call per partial product on Cortex-M0), and
/// [`Stepper::advance_by`], out of line, already holds one.
const TIMES_IN_LINE: bool = !cfg!(target_os = "none");

impl Walk {
    /// The current step and previous delay, to [`rewind`](Self::rewind) to.
    #[inline]
    pub(crate) const fn position(&self) -> Position {
        Position {
            stepper: self.stepper,
            previous: self.previous,
        }
    }

    /// Back to `position`, keeping the random stream where it is: after
    /// [`next_planned`](Self::next_planned), the state a draw without a step leaves.
    #[inline]
    pub(crate) fn rewind(&mut self, position: Position) {
        self.stepper = position.stepper;
        self.previous = position.previous;
    }

    /// At the start of `policy`'s schedule, with jitter drawn from `SplitMix64::new(seed)`.
    ///
    /// Reads `d_0` from the policy's [`Plan`] (`base_ns`, converted when the policy was
    /// built) instead of converting the schedule's first `Duration` again.
    #[inline]
    pub(crate) const fn new(policy: &BackoffPolicy, seed: u64) -> Walk {
        Walk::planned(&policy.plan, seed)
    }

    /// At the start of the schedule `plan` describes, with jitter drawn from
    /// `SplitMix64::new(seed)`.
    #[inline]
    pub(crate) const fn planned(plan: &Plan, seed: u64) -> Walk {
        Walk {
            rng: SplitMix64::new(seed),
            stepper: Stepper::at(plan.base_ns),
            previous: plan.base_ns,
        }
    }

    /// Back to the first step. The random stream continues, so a reset walk does not
    /// replay its earlier jitter.
    ///
    /// `base_ns` is `d_0` (the plan's `base_ns`); the policy is not read, and is kept in
    /// the signature for the callers that hold one.
    pub(crate) fn reset(&mut self, _policy: &BackoffPolicy, base_ns: u64) {
        self.stepper = Stepper::at(base_ns);
        self.previous = base_ns;
    }

    /// The next delay in ns, `clamp(jitter(min(d_n, cap)), floor, cap)`, without moving on.
    #[inline]
    #[allow(
        dead_code,
        reason = "for a caller without a plan; Backoff uses draw_planned"
    )]
    pub(crate) fn draw(&mut self, jitter: Jitter, base_ns: u64, floor_ns: u64, cap_ns: u64) -> u64 {
        let nominal = self.stepper.current().min(cap_ns);
        let jittered = jitter.apply(nominal, base_ns, self.previous, &mut self.rng);
        // `floor <= cap` holds for a built policy.
        jittered.max(floor_ns).min(cap_ns)
    }

    /// Take `delay_ns` as the delay handed out, and step the schedule.
    #[inline]
    #[allow(
        dead_code,
        reason = "for a caller without a plan; Backoff uses advance_planned"
    )]
    pub(crate) fn advance(&mut self, policy: &BackoffPolicy, delay_ns: u64) {
        self.stepper.advance(&policy.schedule);
        self.previous = delay_ns;
    }

    /// Draw and advance in one step, converting the policy's numbers on the way: the
    /// retry machine's decision, which has no limits of its own to check in between.
    /// A caller that decides often against one policy can keep its [`Plan`] and call
    /// [`next_planned`](Self::next_planned), which skips the conversions.
    #[inline]
    pub(crate) fn next_ns(&mut self, policy: &BackoffPolicy) -> u64 {
        self.next_planned(&policy.plan)
    }

    /// The next delay in ns under `plan`, `clamp(jitter(min(d_n, cap)), floor, cap)`,
    /// without moving on: the one decision [`Backoff`](super::Backoff) and the retry
    /// machine share.
    ///
    /// The same arithmetic as [`draw`](Self::draw), arranged for the common cases: no
    /// jitter and full jitter are tested first and computed in line; the other kinds
    /// go through [`Jitter::apply`] out of line.
    ///
    /// For those two the final `min(cap)` is left out, because it cannot change the
    /// value: `nominal <= cap`, a full-jitter draw is at most `nominal`, and
    /// `floor <= cap` (a built policy), so `max(jittered, floor) <= cap` already. The
    /// other kinds can draw above `nominal` and clamp to the cap out of line.
    #[inline]
    pub(crate) fn draw_planned(&mut self, plan: &Plan) -> u64 {
        let nominal = self.stepper.current().min(plan.cap_ns);
        let jittered = if let Jitter::None = plan.jitter {
            nominal
        } else if let Jitter::Full = plan.jitter {
            self.rng.below_or_equal(nominal)
        } else {
            return self.jitter_other(plan, nominal);
        };
        jittered.max(plan.floor_ns)
    }

    /// The jitter kinds [`draw_planned`](Self::draw_planned) does not compute in line,
    /// clamped to `[floor, cap]`.
    #[inline(never)]
    fn jitter_other(&mut self, plan: &Plan, nominal: u64) -> u64 {
        let jittered = plan
            .jitter
            .apply(nominal, plan.base_ns, self.previous, &mut self.rng);
        // `floor <= cap` holds for a built policy.
        jittered.max(plan.floor_ns).min(plan.cap_ns)
    }

    /// Take `delay_ns` as the delay handed out, and step the schedule under `plan`.
    ///
    /// A whole exponential factor (the common `× 2`) is one saturating multiply in
    /// line; the other steps go through [`Stepper::advance_by`] out of line. On
    /// bare-metal targets every step goes out of line ([`TIMES_IN_LINE`]).
    #[inline]
    pub(crate) fn advance_planned(&mut self, plan: &Plan, delay_ns: u64) {
        self.advance_planned_with(plan, delay_ns, TIMES_IN_LINE);
    }

    /// [`advance_planned`](Self::advance_planned), with the choice of computing
    /// [`Step::Times`] in line as a parameter, so that tests on any target check both.
    #[inline(always)]
    fn advance_planned_with(&mut self, plan: &Plan, delay_ns: u64, times_in_line: bool) {
        if let (true, Step::Times(k)) = (times_in_line, plan.step) {
            self.stepper.times(k);
        } else {
            self.advance_other(plan.step);
        }
        self.previous = delay_ns;
    }

    /// The steps [`advance_planned`](Self::advance_planned) does not compute in line.
    #[inline(never)]
    fn advance_other(&mut self, step: Step) {
        self.stepper.advance_by(step);
    }

    /// [`draw_planned`](Self::draw_planned) then [`advance_planned`](Self::advance_planned).
    ///
    /// In line where speed is what counts; out of line on bare-metal targets
    /// (`target_os = "none"`), where flash is, so that a firmware holds one copy of the
    /// decision for every caller (a backoff's in-line and full paths, the retry machine).
    #[cfg_attr(not(target_os = "none"), inline)]
    #[cfg_attr(target_os = "none", inline(never))]
    pub(crate) fn next_planned(&mut self, plan: &Plan) -> u64 {
        let delay = self.draw_planned(plan);
        self.advance_planned(plan, delay);
        delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backoff::{BackoffBuilder, Factor, Schedule};
    use core::time::Duration;
    use proptest::prelude::*;

    /// Durations from nothing to past `u64::MAX` ns, weighted towards the edges.
    fn duration() -> impl Strategy<Value = Duration> {
        prop_oneof![
            (0u64..=5_000_000_000).prop_map(Duration::from_nanos),
            any::<u64>().prop_map(Duration::from_nanos),
            (u64::MAX - 1_000..=u64::MAX).prop_map(Duration::from_nanos),
            Just(Duration::MAX),
        ]
    }

    fn jitter() -> impl Strategy<Value = Jitter> {
        prop_oneof![
            Just(Jitter::None),
            Just(Jitter::Full),
            Just(Jitter::Equal),
            (0..=1_000_000u64).prop_map(|m| Jitter::Proportional(Factor::from_millionths(m))),
            Just(Jitter::Decorrelated),
        ]
    }

    fn schedule() -> impl Strategy<Value = Schedule> {
        prop_oneof![
            duration().prop_map(|delay| Schedule::Constant { delay }),
            (duration(), duration()).prop_map(|(base, step)| Schedule::Linear { base, step }),
            (duration(), 1_000_001u64..=5_000_000).prop_map(|(base, m)| {
                Schedule::Exponential {
                    base,
                    factor: Factor::from_millionths(m),
                }
            }),
            (duration(), 2u64..=10, any::<u64>()).prop_map(|(base, k, m)| {
                // Whole factors (the `Step::Times` path) and any factor at all.
                let m = if m % 2 == 0 {
                    k * Factor::SCALE
                } else {
                    m.max(1_000_001)
                };
                Schedule::Exponential {
                    base,
                    factor: Factor::from_millionths(m),
                }
            }),
            duration().prop_map(|base| Schedule::Fibonacci { base }),
        ]
    }

    fn policy() -> impl Strategy<Value = BackoffPolicy> {
        (schedule(), jitter(), duration(), duration()).prop_filter_map(
            "the builder refused it",
            |(schedule, jitter, a, b)| {
                let (floor, cap) = if a <= b { (a, b) } else { (b, a) };
                BackoffBuilder::new(schedule)
                    .jitter(jitter)
                    .floor(floor)
                    .cap(cap)
                    .max_delays(1)
                    .build()
                    .ok()
            },
        )
    }

    proptest! {
        /// The planned path (`next_planned`: jitter and step split into in-line and
        /// out-of-line cases, no final `min(cap)` for no and full jitter) gives the
        /// reference path's delays (`draw` then `advance`: `Jitter::apply`, the full
        /// clamp, `Stepper::advance` from the schedule), and leaves the walk in the same
        /// state, step after step, for every schedule, jitter, floor and cap.
        #[test]
        fn planned_path_agrees_with_the_reference(policy in policy(), seed in any::<u64>()) {
            let (floor_ns, cap_ns) = policy.floor_cap_nanos();
            let base_ns = duration_to_nanos(policy.schedule.first());
            let mut planned = Walk::new(&policy, seed);
            let mut reference = Walk {
                rng: SplitMix64::new(seed),
                stepper: Stepper::start(&policy.schedule),
                previous: base_ns,
            };
            prop_assert_eq!(&planned, &reference);
            for _ in 0..40 {
                // The other choice of where a whole-factor step is computed (out of line on
                // bare-metal targets, in line elsewhere) takes the same step.
                let mut other = planned.clone();
                let d = other.draw_planned(&policy.plan);
                other.advance_planned_with(&policy.plan, d, !TIMES_IN_LINE);
                let want = reference.draw(policy.jitter, base_ns, floor_ns, cap_ns);
                reference.advance(&policy, want);
                prop_assert_eq!(planned.next_planned(&policy.plan), want);
                prop_assert_eq!(&planned, &reference);
                prop_assert_eq!(&other, &reference);
            }
            // A refused delay: a step then a rewind leaves what a draw alone leaves.
            let before = planned.position();
            let drawn = planned.next_planned(&policy.plan);
            planned.rewind(before);
            prop_assert_eq!(drawn, reference.draw(policy.jitter, base_ns, floor_ns, cap_ns));
            prop_assert_eq!(&planned, &reference);
            planned.reset(&policy, policy.plan.base_ns);
            reference.stepper = Stepper::start(&policy.schedule);
            reference.previous = base_ns;
            prop_assert_eq!(&planned, &reference);
        }
    }
}
