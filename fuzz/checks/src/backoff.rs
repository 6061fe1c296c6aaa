//! Checks for `relent::backoff`: any policy the builder accepts, any seed, any clock.
//!
//! - The builder never panics: any durations and any `f64` (NaN, infinities, subnormals)
//!   give a policy or a typed error; an accepted exponential factor grows (> 1).
//! - Every delay lies in `[floor, cap]`: the cap holds after jitter.
//! - A shadow model of the documented counters agrees with the backoff after every call:
//!   the clock is the latest seen (a clock going backwards buys nothing), a quiet period of
//!   at least `reset_after_quiet` after the last wait ended starts over, `max_delays` hands
//!   out exactly that many, a delay is handed out only if it ends within `max_elapsed` of
//!   the first request, and once refused the backoff stays refused until a reset (explicit,
//!   or a quiet period counted from the refused request).
//! - Without jitter each delay is exactly `nominal_delay(n)`, and a refusal under
//!   `max_elapsed` means that delay would not have fit.
//! - Same policy, seed and clock give the same delays; `reset` returns to the first delay.

use core::time::Duration;

use relent::Instant;
use relent::backoff::{Backoff, BackoffBuilder, BackoffPolicy, Factor, Jitter, Schedule};

use crate::input::Input;

fn duration(input: &mut Input<'_>) -> Duration {
    match input.byte() % 8 {
        0 => Duration::ZERO,
        1 => Duration::MAX,
        2 => Duration::from_nanos(u64::from(input.u16())),
        3 | 4 => Duration::from_millis(u64::from(input.u16())),
        5 => Duration::from_secs(u64::from(input.u16())),
        6 => Duration::from_nanos(input.u64()),
        _ => Duration::new(input.u64() >> 1, input.u32() % 1_000_000_000),
    }
}

fn factor(input: &mut Input<'_>) -> Factor {
    match input.byte() % 4 {
        0 => Factor::TWO,
        1 => Factor::from_millionths(1_000_000 + u64::from(input.u32())),
        2 => Factor::from_millionths(u64::from(input.u32())),
        _ => Factor::from_millionths(input.u64()),
    }
}

/// A builder, possibly fed raw `f64`s, and whether it was.
fn builder(input: &mut Input<'_>) -> BackoffBuilder {
    let schedule = match input.byte() % 4 {
        0 => Schedule::Constant {
            delay: duration(input),
        },
        1 => Schedule::Linear {
            base: duration(input),
            step: duration(input),
        },
        2 => Schedule::Exponential {
            base: duration(input),
            factor: factor(input),
        },
        _ => Schedule::Fibonacci {
            base: duration(input),
        },
    };
    let jitter = match input.byte() % 5 {
        0 => Jitter::None,
        1 => Jitter::Full,
        2 => Jitter::Equal,
        3 => Jitter::Proportional(Factor::from_millionths(u64::from(input.u32() % 1_200_000))),
        _ => Jitter::Decorrelated,
    };
    let flags = input.byte();
    let mut b = BackoffBuilder::new(schedule).jitter(jitter);
    if flags & 1 == 1 {
        b = b.factor(f64::from_bits(input.u64()));
    }
    if flags & 2 == 2 {
        b = b.proportional_jitter(f64::from_bits(input.u64()));
    }
    if flags & 4 == 4 {
        b = b.floor(duration(input));
    }
    if flags & 8 == 8 {
        b = b.cap(duration(input));
    }
    if flags & 16 == 16 {
        b = b.max_delays(u32::from(input.byte()));
    }
    if flags & 32 == 32 {
        b = b.max_elapsed(duration(input));
    }
    if flags & 64 == 64 {
        b = b.reset_after_quiet(duration(input));
    }
    b
}

/// The documented counters, kept beside the real backoff.
struct Shadow {
    latest: Instant,
    started: Option<Instant>,
    taken: u32,
    quiet_from: Option<Instant>,
    exhausted: bool,
}

impl Shadow {
    fn reset(&mut self) {
        self.started = None;
        self.taken = 0;
        self.quiet_from = None;
        self.exhausted = false;
    }
}

fn step(p: &BackoffPolicy, b: &mut Backoff, twin: &mut Backoff, s: &mut Shadow, now: Instant) {
    let got = b.next_delay(now);
    assert_eq!(
        got,
        twin.next_delay(now),
        "same seed, same clock, different delay"
    );
    let now = now.max(s.latest);
    s.latest = now;
    if let (Some(q), Some(from)) = (p.reset_after_quiet(), s.quiet_from) {
        if now.saturating_duration_since(from) >= q {
            s.reset();
        }
    }
    let started = *s.started.get_or_insert(now);
    let elapsed = now.saturating_duration_since(started);
    let maxed = p.max_delays().is_some_and(|m| s.taken >= m);
    match got {
        Some(d) => {
            assert!(!s.exhausted, "a refused backoff handed out {d:?}");
            assert!(!maxed, "more than max_delays");
            assert!(
                d >= p.floor() && d <= p.cap(),
                "{d:?} outside [{:?}, {:?}]",
                p.floor(),
                p.cap()
            );
            if let Some(e) = p.max_elapsed() {
                assert!(
                    elapsed.saturating_add(d) <= e,
                    "a wait ending past max_elapsed"
                );
            }
            if p.jitter() == Jitter::None {
                assert_eq!(d, p.nominal_delay(s.taken), "no jitter: the nominal delay");
            }
            s.taken += 1;
            s.quiet_from = Some(now.saturating_add(d));
        }
        None => {
            assert!(
                s.exhausted || maxed || p.max_elapsed().is_some(),
                "refused with no limit reached"
            );
            if !s.exhausted && !maxed && p.jitter() == Jitter::None {
                let e = p.max_elapsed().unwrap_or(Duration::MAX);
                assert!(
                    elapsed.saturating_add(p.nominal_delay(s.taken)) > e,
                    "refused a delay that fit"
                );
            }
            s.exhausted = true;
            // A refused request still counts as activity for the quiet period.
            s.quiet_from = Some(now);
        }
    }
    assert_eq!(b.delays_taken(), s.taken);
    assert_eq!(b.is_exhausted(), s.exhausted);
}

/// The `backoff` target: a builder (schedule, jitter, raw floats, limits), a seed, then clock
/// events.
///
/// Input layout: schedule tag and its durations/factor, jitter tag, a flags byte saying which
/// builder settings follow (raw `f64` factor, raw `f64` proportional jitter, floor, cap,
/// max delays, max elapsed, quiet period), a seed (u64 LE), then one op byte per call: move
/// the clock (forwards, backwards, to anywhere), call `next_delay`, or `reset`. Panics only
/// when a law in the module docs breaks.
pub fn backoff(data: &[u8]) {
    let mut input = Input::new(data);
    let b = builder(&mut input);
    let seed = input.u64();
    let p = match b.build() {
        Ok(p) => p,
        // A typed refusal (its Display must work too).
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    if let Schedule::Exponential { factor, .. } = p.schedule() {
        assert!(factor > Factor::ONE, "an exponential that never grows");
    }
    assert!(p.floor() <= p.cap());
    let mut real = Backoff::new(p, seed);
    let mut twin = Backoff::new(p, seed);
    let mut shadow = Shadow {
        latest: Instant::ZERO,
        started: None,
        taken: 0,
        quiet_from: None,
        exhausted: false,
    };
    let mut now = Instant::from_secs(1);
    let mut calls = 0;
    while let Some(op) = input.next() {
        calls += 1;
        if calls > 2_000 {
            break;
        }
        match op % 8 {
            0 => now = now.saturating_add(Duration::from_millis(u64::from(input.u16()))),
            1 => now = now.saturating_sub(Duration::from_millis(u64::from(input.byte()))),
            2 => now = Instant::from_nanos(input.u64()),
            3 => {
                let first = p.nominal_delay(0);
                real.reset();
                twin.reset();
                shadow.reset();
                assert_eq!(real.delays_taken(), 0);
                if p.jitter() == Jitter::None && p.max_delays() != Some(0) {
                    let mut probe = real.clone();
                    let got = probe.next_delay(now);
                    if p.max_elapsed().is_none_or(|e| first <= e) {
                        assert_eq!(got, Some(first), "reset returns to the first delay");
                    }
                }
            }
            _ => step(&p, &mut real, &mut twin, &mut shadow, now),
        }
    }
}
