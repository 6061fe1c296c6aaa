//! The driver for synchronous code: the same loop as [`run`](super::run), with a
//! sleeping thread instead of a timer future.
//!
//! Blocking code cannot abandon an attempt from outside, so the attempt is given its
//! `timeout` and must keep to it itself (a socket read timeout, a bounded poll); an
//! output the [`Judge`] reads as a timeout is an outcome like any other.
//!
//! ```
//! use core::time::Duration;
//! use relent::drive::{blocking, Finished};
//! use relent::retry::{Outcome, Retry, RetryPolicy};
//!
//! # #[cfg(feature = "std")] {
//! let timer = blocking::StdTimer::since(std::time::Instant::now());
//! let policy = RetryPolicy::default().with_backoff(
//!     relent::backoff::BackoffBuilder::constant(Duration::from_millis(1)).build().unwrap(),
//! );
//! let machine = Retry::new(&policy, relent::fresh_seed(), blocking::Clock::now(&timer));
//! let mut calls = 0;
//! let finished = blocking::run(
//!     machine,
//!     &timer,
//!     |out: &Result<&str, std::io::Error>, _| match out {
//!         Ok(_) => Outcome::Success,
//!         Err(_) => Outcome::transient(),
//!     },
//!     &mut (),
//!     |_attempt, _timeout| {
//!         calls += 1;
//!         if calls < 2 { Err(std::io::Error::other("busy")) } else { Ok("done") }
//!     },
//! );
//! assert!(matches!(finished, Finished::Succeeded(Ok("done"))));
//! # }
//! ```

use core::future::{Future, Ready, ready};
use core::ops::Deref;
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use core::time::Duration;

use super::{Finished, Judge, Observe, Timer};
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

/// A [`Clock`] seen as a [`Timer`] whose sleeps are already over when they are polled.
struct Blocking<'c, K: ?Sized>(&'c K);

impl<K: Clock + ?Sized> Timer for Blocking<'_, K> {
    fn now(&self) -> Instant {
        self.0.now()
    }
    fn sleep_until(&self, until: Instant) -> impl Future<Output = ()> {
        self.0.sleep_until(until);
        ready(())
    }
}

/// [`run`](super::run) for synchronous code: `attempt(number, timeout)` runs attempt
/// `number` to its end, and the thread sleeps between attempts.
pub fn run<P, C, B, G, K, J, O, R, A>(
    machine: Retry<P, B, G>,
    clock: &K,
    judge: J,
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
    let timer = Blocking(clock);
    let run = super::run(machine, &timer, judge, observe, |n, timeout| -> Ready<R> {
        ready(attempt(n, timeout))
    });
    // Every future in the run is ready when first polled (attempts run and sleeps end
    // before their futures are made), so one poll finishes it; the loop only guards the
    // contract should that ever change.
    let mut run = pin!(run);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(finished) = run.as_mut().poll(&mut cx) {
            return finished;
        }
    }
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
        /// A clock whose [`Instant::ZERO`] is `epoch` (usually `std::time::Instant::now()`).
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
