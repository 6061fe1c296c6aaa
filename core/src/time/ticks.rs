//! Hardware ticks as relent time: a tick rate that converts both ways with the right
//! rounding, and an extender that turns a wrapping `u16`/`u32` counter into a monotonic
//! [`Instant`].
//!
//! **The rounding rule.** A clock reading is rounded **down** (a tick that has not fully
//! elapsed has not happened: [`TickRate::instant`]), and a sleep's end is rounded **up**
//! (waking one tick late is harmless, waking early breaks "never less than the wait":
//! [`TickRate::ticks_until`], [`TickRate::ticks_for`]). Together they keep the driving
//! rule on a coarse timer: `rate.instant(rate.ticks_until(t)) >= t` for every `t`.
//!
//! With std, [`StdTimer`](crate::drive::blocking::StdTimer) converts
//! `std::time::Instant`s (nanoseconds both sides, nothing to round).
//!
//! ```
//! use core::time::Duration;
//! use relent::time::{TickExtender, TickRate};
//! use relent::Instant;
//!
//! // A 32 kHz RTC behind a 16-bit counter wraps every two seconds.
//! let rate = TickRate::from_hz(32_768).unwrap();
//! let mut clock = TickExtender::<u16>::new(rate, 65_000);
//! clock.update(100); // wrapped once: 536 ticks later
//! assert_eq!(clock.ticks(), 65_536 + 100);
//! assert_eq!(clock.now(), rate.instant(65_636));
//!
//! // Sleep until a relent instant: round up to whole ticks.
//! let until = Instant::ZERO + Duration::from_millis(1);
//! assert_eq!(rate.ticks_until(until), 33); // 32.768 ticks, rounded up
//! assert!(rate.instant(33) >= until);
//! ```

use core::num::NonZeroU32;
use core::time::Duration;

use super::{Instant, NANOS_PER_SEC, duration_to_nanos};

/// A timer's tick frequency, in ticks per second (at most one tick per nanosecond is
/// exact both ways; a faster rate still converts without panicking).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TickRate(NonZeroU32);

impl TickRate {
    /// Milliseconds (a 1 kHz tick, the usual RTOS and embassy `tick-hz-1_000`).
    pub const MILLIS: TickRate = TickRate(nonzero(1_000));
    /// Microseconds (embassy-time's default `tick-hz-1_000_000`).
    pub const MICROS: TickRate = TickRate(nonzero(1_000_000));

    /// `hz` ticks per second; `None` for zero.
    #[must_use]
    pub const fn from_hz(hz: u32) -> Option<TickRate> {
        match NonZeroU32::new(hz) {
            Some(hz) => Some(TickRate(hz)),
            None => None,
        }
    }

    /// Ticks per second.
    #[must_use]
    pub const fn hz(self) -> u32 {
        self.0.get()
    }

    /// The instant `ticks` ticks after the timer's zero, rounded **down** to the
    /// nanosecond (a clock reading: never ahead of the hardware). Saturates at
    /// [`Instant::MAX`].
    #[must_use]
    pub const fn instant(self, ticks: u64) -> Instant {
        let scaled = (ticks as u128).saturating_mul(NANOS_PER_SEC as u128);
        match scaled.checked_div(self.0.get() as u128) {
            Some(ns) => Instant::from_nanos(saturate(ns)),
            None => Instant::MAX, // unreachable: the rate is not zero
        }
    }

    /// The first tick at or after `until`: what to program a sleep for, rounded **up**
    /// so the sleep never ends before `until`. Saturates at `u64::MAX`.
    #[must_use]
    pub const fn ticks_until(self, until: Instant) -> u64 {
        ceil_ticks(until.as_nanos(), self.0.get())
    }

    /// A span as whole ticks, rounded **up** (for a relative sleep). Saturates at `u64::MAX`.
    #[must_use]
    pub const fn ticks_for(self, span: Duration) -> u64 {
        ceil_ticks(duration_to_nanos(span), self.0.get())
    }
}

/// `⌈ns × hz / 10⁹⌉`, saturating.
const fn ceil_ticks(ns: u64, hz: u32) -> u64 {
    const NS: u128 = NANOS_PER_SEC as u128;
    // Whole ticks, plus one for a partial tick: `(x + 10⁹ − 1) / 10⁹` without overflow,
    // since `x ≤ u64::MAX × u32::MAX` leaves ample room in a u128.
    let scaled = (ns as u128).saturating_mul(hz as u128);
    match scaled.saturating_add(NS - 1).checked_div(NS) {
        Some(ticks) => saturate(ticks),
        None => u64::MAX,
    }
}

/// `n` as a `NonZeroU32` (one for zero), for constants.
const fn nonzero(n: u32) -> NonZeroU32 {
    match NonZeroU32::new(n) {
        Some(n) => n,
        None => NonZeroU32::MIN,
    }
}

const fn saturate(v: u128) -> u64 {
    if v > u64::MAX as u128 {
        u64::MAX
    } else {
        v as u64
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for u8 {}
    impl Sealed for u16 {}
    impl Sealed for u32 {}
    impl Sealed for u64 {}
}

/// A hardware counter's raw value that wraps around: `u8`, `u16`, `u32` or `u64`.
pub trait RawTicks: Copy + sealed::Sealed {
    /// Ticks from `earlier` to `self`, counting one wrap-around if `self < earlier`.
    fn ticks_since(self, earlier: Self) -> u64;
    /// The value as a `u64`.
    fn widen(self) -> u64;
}

macro_rules! raw_ticks {
    ($($t:ty),*) => {$(
        impl RawTicks for $t {
            #[inline]
            fn ticks_since(self, earlier: Self) -> u64 {
                u64::from(self.wrapping_sub(earlier))
            }
            #[inline]
            fn widen(self) -> u64 {
                u64::from(self)
            }
        }
    )*};
}
raw_ticks!(u8, u16, u32, u64);

/// Extends a wrapping hardware counter into a monotonic 64-bit tick count and [`Instant`].
///
/// Feed it every raw reading with [`update`](Self::update). Any number of wraps is
/// handled as long as it is fed at least once per wrap period (`2^bits / rate`: 65.5 ms
/// for a 16-bit counter at 1 MHz, 49.7 days for a 32-bit one at 1 kHz): two readings
/// further apart than one period lose whole periods, which no extender can see. It
/// never goes backwards and never panics: the count saturates at `u64::MAX` ticks.
///
/// The count starts at the first reading (the counter is taken not to have wrapped
/// before it), so [`Instant::ZERO`] is the counter's zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TickExtender<T> {
    rate: TickRate,
    last: T,
    ticks: u64,
}

impl<T: RawTicks> TickExtender<T> {
    /// An extender for a counter running at `rate`, whose current raw value is `first`.
    #[must_use]
    pub fn new(rate: TickRate, first: T) -> Self {
        TickExtender {
            rate,
            last: first,
            ticks: first.widen(),
        }
    }

    /// Feed a raw reading; returns the extended [`Instant`] (rounded down).
    pub fn update(&mut self, raw: T) -> Instant {
        self.ticks = self.ticks.saturating_add(raw.ticks_since(self.last));
        self.last = raw;
        self.now()
    }

    /// The extended tick count at the last reading.
    #[must_use]
    pub fn ticks(&self) -> u64 {
        self.ticks
    }

    /// The last reading as an [`Instant`] (rounded down, [`TickRate::instant`]).
    #[must_use]
    pub fn now(&self) -> Instant {
        self.rate.instant(self.ticks)
    }

    /// The tick rate.
    #[must_use]
    pub fn rate(&self) -> TickRate {
        self.rate
    }

    /// The raw counter value at which a sleep until `until` may end, and how many ticks
    /// from the last reading that is (rounded up): program a compare register with the
    /// first and check the second against the counter's period.
    #[must_use]
    pub fn deadline(&self, until: Instant) -> (u64, u64) {
        let target = self.rate.ticks_until(until);
        (target, target.saturating_sub(self.ticks))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    #[test]
    fn constants() {
        assert_eq!(TickRate::MILLIS.hz(), 1_000);
        assert_eq!(TickRate::MICROS.hz(), 1_000_000);
        assert_eq!(TickRate::from_hz(0), None);
        assert_eq!(TickRate::MILLIS.instant(1_500), Instant::from_millis(1_500));
        // 2.0004 ms on a millisecond timer: 3 ticks, never 2.
        assert_eq!(
            TickRate::MILLIS.ticks_for(Duration::from_nanos(2_000_400)),
            3
        );
        assert_eq!(TickRate::MILLIS.ticks_for(Duration::from_millis(2)), 2);
        assert_eq!(
            TickRate::MILLIS.ticks_until(Instant::MAX),
            18_446_744_073_710
        );
        assert_eq!(TickRate::MICROS.instant(u64::MAX), Instant::MAX);
        let fast = TickRate::from_hz(u32::MAX).unwrap();
        assert_eq!(fast.ticks_until(Instant::MAX), u64::MAX);
    }

    #[test]
    fn u16_wraps_many_times() {
        let mut x = TickExtender::<u16>::new(TickRate::MILLIS, 0);
        for i in 1..=10u64 {
            x.update(u16::MAX);
            x.update(0);
            assert_eq!(x.ticks(), i * 65_536);
        }
        assert_eq!(x.now(), Instant::from_millis(655_360));
        assert_eq!(x.deadline(Instant::from_millis(655_361)), (655_361, 1));
        assert_eq!(x.deadline(Instant::ZERO), (0, 0));
    }

    /// A true counter (u64) read through `bits` bits, advancing less than one period
    /// between readings.
    fn model(bits: u32) -> impl Strategy<Value = (u64, Vec<u64>)> {
        let period = 1u64 << bits;
        (0..period, proptest::collection::vec(0..period, 0..200))
    }

    proptest! {
        /// Exact against the u64 model: the extended count is the true counter.
        #[test]
        fn u16_matches_the_u64_model((first, steps) in model(16)) {
            let mut x = TickExtender::<u16>::new(TickRate::MICROS, first as u16);
            let mut truth = first;
            for step in steps {
                truth += step;
                x.update(truth as u16);
                prop_assert_eq!(x.ticks(), truth);
                prop_assert_eq!(x.now(), Instant::from_micros_for_test(truth));
            }
        }

        #[test]
        fn u32_matches_the_u64_model((first, steps) in model(32)) {
            let mut x = TickExtender::<u32>::new(TickRate::MILLIS, first as u32);
            let mut truth = first;
            for step in steps {
                truth += step;
                x.update(truth as u32);
                prop_assert_eq!(x.ticks(), truth);
                prop_assert_eq!(x.now(), Instant::from_millis(truth));
            }
        }

        /// Monotonic and panic-free for any readings at any rate, in any order.
        #[test]
        fn monotonic_for_any_input(hz in any::<u32>(), first in any::<u32>(), raws in proptest::collection::vec(any::<u32>(), 0..100)) {
            let rate = TickRate::from_hz(hz.max(1)).unwrap();
            let mut x = TickExtender::<u32>::new(rate, first);
            let mut before = x.now();
            for raw in raws {
                let now = x.update(raw);
                prop_assert!(now >= before);
                prop_assert_eq!(now, x.now());
                before = now;
            }
        }

        /// The count saturates instead of overflowing.
        #[test]
        fn saturates(raws in proptest::collection::vec(any::<u64>(), 0..50)) {
            let mut x = TickExtender::<u64>::new(TickRate::MILLIS, u64::MAX - 1);
            for raw in raws {
                x.update(raw);
                prop_assert!(x.ticks() >= u64::MAX - 1);
            }
        }

        /// Sleeping to `ticks_until(t)` never ends before `t`, and ends less than one
        /// tick after it; a reading converts back to its own tick (for rates up to 1 GHz).
        #[test]
        fn sleeps_round_up_and_readings_round_down(hz in 1u32..=1_000_000_000, t in any::<u64>(), ticks in any::<u64>()) {
            let rate = TickRate::from_hz(hz).unwrap();
            let until = Instant::from_nanos(t);
            let wake = rate.ticks_until(until);
            prop_assert!(rate.instant(wake) >= until || wake == u64::MAX);
            if wake > 0 && wake < u64::MAX {
                prop_assert!(rate.instant(wake - 1) < until);
            }
            let reading = rate.instant(ticks);
            if reading < Instant::MAX {
                prop_assert_eq!(rate.ticks_until(reading), ticks);
            }
            prop_assert_eq!(rate.ticks_for(Duration::from_nanos(t)), wake);
        }
    }

    impl Instant {
        fn from_micros_for_test(us: u64) -> Instant {
            Instant::from_nanos(us * 1_000)
        }
    }
}
