//! The per-decision state of a backoff, walked against a borrowed policy.
//!
//! A [`Backoff`](super::Backoff) owns its policy and adds limits, a quiet-period reset
//! and a start time. The retry machine needs less: the policy is shared by every
//! operation (borrowed, `Arc`, `&'static`) and the operation's own limits count, so it
//! keeps only this walker. Both draw their delays through [`Walk::draw`], so a preview,
//! a standalone backoff and a retry machine can never disagree on a delay.

use super::{BackoffPolicy, Jitter, Stepper};
use crate::SplitMix64;
use crate::time::duration_to_nanos;

/// Where a backoff is on its schedule: the nominal step, the last delay handed out
/// (decorrelated jitter's `delay_{n−1}`) and the jitter's random stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Walk {
    rng: SplitMix64,
    stepper: Stepper,
    /// The last delay handed out, in ns (`d_0` before the first).
    previous: u64,
}

impl Walk {
    /// At the start of `policy`'s schedule, with jitter drawn from `SplitMix64::new(seed)`.
    pub(crate) const fn new(policy: &BackoffPolicy, seed: u64) -> Walk {
        Walk {
            rng: SplitMix64::new(seed),
            stepper: Stepper::start(&policy.schedule),
            previous: duration_to_nanos(policy.schedule.first()),
        }
    }

    /// Back to the first step. The random stream continues, so a reset walk does not
    /// replay its earlier jitter.
    pub(crate) fn reset(&mut self, policy: &BackoffPolicy, base_ns: u64) {
        self.stepper = Stepper::start(&policy.schedule);
        self.previous = base_ns;
    }

    /// The next delay in ns, `clamp(jitter(min(d_n, cap)), floor, cap)`, without moving on.
    #[inline]
    pub(crate) fn draw(&mut self, jitter: Jitter, base_ns: u64, floor_ns: u64, cap_ns: u64) -> u64 {
        let nominal = self.stepper.current().min(cap_ns);
        let jittered = jitter.apply(nominal, base_ns, self.previous, &mut self.rng);
        // `floor <= cap` holds for a built policy.
        jittered.max(floor_ns).min(cap_ns)
    }

    /// Take `delay_ns` as the delay handed out, and step the schedule.
    #[inline]
    pub(crate) fn advance(&mut self, policy: &BackoffPolicy, delay_ns: u64) {
        self.stepper.advance(&policy.schedule);
        self.previous = delay_ns;
    }

    /// Draw and advance in one step, converting the policy's numbers on the way: the
    /// retry machine's decision, which has no limits of its own to check in between.
    #[inline]
    pub(crate) fn next_ns(&mut self, policy: &BackoffPolicy) -> u64 {
        let base_ns = duration_to_nanos(policy.schedule.first());
        let (floor_ns, cap_ns) = policy.floor_cap_nanos();
        let delay = self.draw(policy.jitter, base_ns, floor_ns, cap_ns);
        self.advance(policy, delay);
        delay
    }
}
