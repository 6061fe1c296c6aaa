//! The driver for synchronous code: the same loop as [`run`](super::run), with a
//! sleeping thread instead of a timer future.
//!
//! Blocking code cannot abandon an attempt from outside, so the attempt is given its
//! `timeout` and must keep to it itself (a socket read timeout, a bounded poll); an
//! output the [`Judge`] reads as a timeout is an outcome like any other.
//!
//! The program reads its clock once, at start, and hands that epoch to [`StdTimer`]:
//!
//! ```
//! use core::time::Duration;
//! use relent::drive::{blocking, Finished};
//! use relent::retry::{Outcome, Retry, RetryPolicy};
//!
//! # #[cfg(feature = "std")]
//! fn read_config(epoch: std::time::Instant) -> Option<&'static str> {
//!     let timer = blocking::StdTimer::since(epoch);
//!     let policy = RetryPolicy::default().with_backoff(
//!         relent::backoff::BackoffBuilder::constant(Duration::from_millis(1)).build().ok()?,
//!     );
//!     let machine = Retry::new(&policy, relent::fresh_seed(), blocking::Clock::now(&timer));
//!     let mut calls = 0;
//!     let finished = blocking::run(
//!         machine,
//!         &timer,
//!         |out: &Result<&'static str, std::io::Error>, _| match out {
//!             Ok(_) => Outcome::Success,
//!             Err(_) => Outcome::transient(),
//!         },
//!         &mut (),
//!         |_attempt, _timeout| {
//!             calls += 1;
//!             if calls < 2 { Err(std::io::Error::other("busy")) } else { Ok("done") }
//!         },
//!     );
//!     match finished {
//!         Finished::Succeeded(Ok(config)) => Some(config),
//!         _ => None,
//!     }
//! }
//! ```

use core::ops::Deref;
use core::time::Duration;

use super::{Finished, Judge, Observe};
use crate::retry::{Budget, Gate, Retry, RetryPolicy};
use crate::time::Instant;

/// A clock and a blocking sleep (a thread, a busy-wait on a hardware timer, a low-power wait).
///
/// `sleep_until` must not return before `until`: round up on a coarse timer.
pub trait Clock {
    /// The current instant.
    fn now(&self) -> Instant;
    /// Block until `until` (or later).
    fn sleep_until(&self, until: Instant);
}

/// [`run`](super::run) for synchronous code: `attempt(number, timeout)` runs attempt
/// `number` to its end, and the thread sleeps between attempts.
///
/// It steps the very loop `run` steps (one source for both), calling the attempt and the
/// sleep directly where `run` awaits them: no future is made or polled.
pub fn run<P, C, B, G, K, J, O, R, A>(
    mut machine: Retry<P, B, G>,
    clock: &K,
    mut judge: J,
    observe: &mut O,
    mut attempt: A,
) -> Finished<R>
where
    P: Deref<Target = RetryPolicy<C>>,
    B: Budget,
    G: Gate,
    K: Clock + ?Sized,
    J: Judge<R>,
    O: Observe<R> + ?Sized,
    A: FnMut(u32, Option<Duration>) -> R,
{
    // The attempt has run to its end when `attempt` returns, so it always has an output:
    // blocking code keeps to its time limit itself.
    drive_loop!(
        machine: machine,
        judge: judge,
        observe: observe,
        now: clock.now(),
        attempt: |n, timeout, _at| Some(attempt(n, timeout)),
        sleep: |until| clock.sleep_until(until),
    )
}

#[cfg(feature = "std")]
mod std_clock {
    use super::Clock;
    use crate::time::Instant;

    /// The standard library's monotonic clock and `thread::sleep`.
    ///
    /// relent's instants count from `epoch`, which the caller reads (the decision core
    /// never reads a clock); [`to_std`](Self::to_std) converts back.
    #[derive(Clone, Copy, Debug)]
    pub struct StdTimer {
        epoch: std::time::Instant,
    }

    impl StdTimer {
        /// A clock whose [`Instant::ZERO`] is `epoch` (usually the program's start, read once
        /// by the caller).
        #[must_use]
        pub const fn since(epoch: std::time::Instant) -> StdTimer {
            StdTimer { epoch }
        }

        /// A `std::time::Instant` as a relent [`Instant`] (instants before the epoch are
        /// [`Instant::ZERO`]; beyond 584 years, [`Instant::MAX`]).
        #[must_use]
        pub fn from_std(&self, t: std::time::Instant) -> Instant {
            let since = t.saturating_duration_since(self.epoch);
            Instant::from_nanos(u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
        }

        /// A relent [`Instant`] as a `std::time::Instant` (`None` if the platform cannot
        /// represent it).
        #[must_use]
        pub fn to_std(&self, t: Instant) -> Option<std::time::Instant> {
            self.epoch.checked_add(t.since_epoch())
        }
    }

    impl Clock for StdTimer {
        fn now(&self) -> Instant {
            // The blocking driver's clock: the one read of a clock in relent's core crate,
            // behind `std`, outside every decision.
            let since = self.epoch.elapsed();
            Instant::from_nanos(u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
        }

        fn sleep_until(&self, until: Instant) {
            // `thread::sleep` never returns early, so no rounding is needed here.
            let now = self.now();
            if until > now {
                std::thread::sleep(until.saturating_duration_since(now));
            }
        }
    }
}

#[cfg(feature = "std")]
pub use std_clock::StdTimer;

#[cfg(test)]
mod tests {
    use core::cell::Cell;
    use core::time::Duration;

    use super::{Clock, run};
    use crate::backoff::BackoffBuilder;
    use crate::drive::Finished;
    use crate::retry::{Outcome, Retry, RetryPolicy};
    use crate::time::Instant;

    /// Sleeping jumps the clock to the instant, and is counted.
    struct Virtual {
        now: Cell<Instant>,
        sleeps: Cell<u32>,
    }

    impl Clock for Virtual {
        fn now(&self) -> Instant {
            self.now.get()
        }
        fn sleep_until(&self, until: Instant) {
            self.sleeps.set(self.sleeps.get() + 1);
            self.now.set(until.max(self.now.get()));
        }
    }

    #[test]
    fn an_attempt_that_ends_in_time_costs_no_sleep() {
        let Ok(backoff) = BackoffBuilder::constant(Duration::from_secs(1)).build() else {
            panic!("a constant backoff is valid");
        };
        let policy = RetryPolicy::default()
            .with_backoff(backoff)
            .with_per_try_timeout(Some(Duration::from_secs(5)));
        let clock = Virtual {
            now: Cell::new(Instant::ZERO),
            sleeps: Cell::new(0),
        };
        let machine = Retry::new(&policy, 1, clock.now());
        let judge = |out: &bool, _| {
            if *out {
                Outcome::Success
            } else {
                Outcome::transient()
            }
        };
        // Fails at once, then succeeds at once: one backoff sleep, no time limit slept out.
        let finished = run(machine, &clock, judge, &mut (), |n, _| n == 2);
        assert!(matches!(finished, Finished::Succeeded(true)));
        assert_eq!(clock.sleeps.get(), 1);
        assert_eq!(clock.now(), Instant::from_secs(1));
    }
}
