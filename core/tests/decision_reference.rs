//! The fast decision path of `Backoff::next_delay` against a straightforward reference.
//!
//! The reference below re-derives every delay from the documented rules with the
//! simplest arithmetic there is: `u128` products and quotients for the schedule and the
//! scaling, `Duration` sums for the elapsed limit, and Lemire's bounded draw with its
//! threshold computed up front on every draw. It shares nothing with the library but
//! the SplitMix64 stream (re-derived here from its definition). Law: for any built policy, seed and
//! sequence of clock readings (forwards, backwards, standing still), both give the same
//! answers, call by call, including refusals and exhaustion.

use core::time::Duration;

use proptest::prelude::*;
use relent::Instant;
use relent::backoff::{Backoff, BackoffBuilder, BackoffPolicy, Factor, Jitter, Schedule};

/// SplitMix64 (Steele, Lea and Flood, OOPSLA 2014; Vigna's reference constants), written
/// here from its published definition as an independent oracle for the core's private
/// jitter generator.
#[derive(Clone, Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

const SEC: u64 = 1_000_000_000;

fn sat(v: u128) -> u64 {
    u64::try_from(v).unwrap_or(u64::MAX)
}

fn ns(d: Duration) -> u64 {
    sat(d.as_nanos())
}

/// Lemire's draw in `0..=max`, threshold computed before every draw.
fn below_or_equal(rng: &mut SplitMix64, max: u64) -> u64 {
    if max == u64::MAX {
        return rng.next_u64();
    }
    let range = u128::from(max) + 1;
    let threshold = (1u128 << 64) % range;
    loop {
        let m = u128::from(rng.next_u64()) * range;
        if m % (1u128 << 64) >= threshold {
            return sat(m >> 64);
        }
    }
}

fn between(rng: &mut SplitMix64, a: u64, b: u64) -> u64 {
    let (lo, hi) = (a.min(b), a.max(b));
    lo.saturating_add(below_or_equal(rng, hi - lo))
}

/// The documented backoff, rule by rule.
struct Reference {
    p: BackoffPolicy,
    rng: SplitMix64,
    current: u64,
    fib_previous: u64,
    previous: u64,
    taken: u32,
    started: Option<u64>,
    quiet_from: Option<u64>,
    latest: u64,
    exhausted: bool,
}

impl Reference {
    fn new(p: BackoffPolicy, seed: u64) -> Self {
        let base = ns(p.schedule().first());
        Reference {
            p,
            rng: SplitMix64::new(seed),
            current: base,
            fib_previous: 0,
            previous: base,
            taken: 0,
            started: None,
            quiet_from: None,
            latest: 0,
            exhausted: false,
        }
    }

    fn reset(&mut self) {
        let base = ns(self.p.schedule().first());
        self.current = base;
        self.fib_previous = 0;
        self.previous = base;
        self.taken = 0;
        self.started = None;
        self.quiet_from = None;
        self.exhausted = false;
    }

    fn refuse(&mut self, now: u64) -> Option<Duration> {
        self.exhausted = true;
        self.quiet_from = Some(now);
        None
    }

    fn next_delay(&mut self, now: Instant) -> Option<Duration> {
        let now = now.as_nanos().max(self.latest);
        self.latest = now;
        if let (Some(q), Some(from)) = (self.p.reset_after_quiet(), self.quiet_from) {
            if Duration::from_nanos(now - from.min(now)) >= q {
                self.reset();
            }
        }
        let started = *self.started.get_or_insert(now);
        if self.exhausted || self.p.max_delays().is_some_and(|m| self.taken >= m) {
            return self.refuse(now);
        }
        let (floor, cap) = (ns(self.p.floor()), ns(self.p.cap()));
        let base = ns(self.p.schedule().first());
        let d = self.current.min(cap);
        let jittered = match self.p.jitter() {
            Jitter::None => d,
            Jitter::Full => below_or_equal(&mut self.rng, d),
            Jitter::Equal => d / 2 + below_or_equal(&mut self.rng, d - d / 2),
            Jitter::Proportional(f) => {
                let r = sat(u128::from(d) * u128::from(f.millionths()) / 1_000_000);
                between(&mut self.rng, d.saturating_sub(r), d.saturating_add(r))
            }
            Jitter::Decorrelated => between(&mut self.rng, base, self.previous.saturating_mul(3)),
        };
        let delay = jittered.max(floor).min(cap);
        if let Some(limit) = self.p.max_elapsed() {
            let elapsed = Duration::from_nanos(now - started);
            if elapsed + Duration::from_nanos(delay) > limit {
                return self.refuse(now);
            }
        }
        self.current = match self.p.schedule() {
            Schedule::Constant { .. } => self.current,
            Schedule::Linear { step, .. } => self.current.saturating_add(ns(step)),
            Schedule::Exponential { factor, .. } => sat((u128::from(self.current)
                * u128::from(factor.millionths()))
            .div_ceil(1_000_000)),
            Schedule::Fibonacci { .. } => {
                let next = self.current.saturating_add(self.fib_previous);
                self.fib_previous = self.current;
                next
            }
        };
        self.previous = delay;
        self.taken = self.taken.saturating_add(1);
        self.quiet_from = Some(now.saturating_add(delay));
        Some(Duration::from_nanos(delay))
    }
}

fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        8 => (0..=120 * SEC).prop_map(Duration::from_nanos),
        1 => (0..=u64::MAX).prop_map(Duration::from_nanos),
        1 => Just(Duration::ZERO),
        1 => Just(Duration::MAX),
    ]
}

/// Factors above one: whole ones (the in-line multiply), fractional ones, and huge ones.
fn factor() -> impl Strategy<Value = Factor> {
    prop_oneof![
        (2u64..=10).prop_map(|k| Factor::from_millionths(k * 1_000_000)),
        (1_000_001u64..=5_000_000).prop_map(Factor::from_millionths),
        (1_000_001u64..=u64::MAX).prop_map(Factor::from_millionths),
        Just(Factor::MAX),
    ]
}

fn schedule() -> impl Strategy<Value = Schedule> {
    prop_oneof![
        1 => duration().prop_map(|delay| Schedule::Constant { delay }),
        1 => (duration(), duration()).prop_map(|(base, step)| Schedule::Linear { base, step }),
        3 => (duration(), factor()).prop_map(|(base, factor)| Schedule::Exponential { base, factor }),
        1 => duration().prop_map(|base| Schedule::Fibonacci { base }),
    ]
}

fn jitter() -> impl Strategy<Value = Jitter> {
    prop_oneof![
        2 => Just(Jitter::None),
        2 => Just(Jitter::Full),
        1 => Just(Jitter::Equal),
        1 => (0..=1_000_000u64).prop_map(|m| Jitter::Proportional(Factor::from_millionths(m))),
        1 => Just(Jitter::Decorrelated),
    ]
}

fn policy() -> impl Strategy<Value = BackoffPolicy> {
    (
        schedule(),
        jitter(),
        duration(),
        duration(),
        proptest::option::of(0u32..30),
        proptest::option::of(duration()),
        proptest::option::of(duration()),
    )
        .prop_filter_map(
            "the builder refused it",
            |(schedule, jitter, floor, extra, attempts, elapsed, quiet)| {
                let mut b = BackoffBuilder::new(schedule)
                    .jitter(jitter)
                    .floor(floor)
                    .cap(floor.saturating_add(extra));
                if let Some(a) = attempts {
                    b = b.max_delays(a);
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

/// Clock readings: mostly forwards by up to a minute, sometimes backwards, sometimes huge.
fn clock() -> impl Strategy<Value = Vec<u64>> {
    proptest::collection::vec(
        prop_oneof![
            6 => 0..=60 * SEC,
            1 => Just(0u64),
            1 => any::<u64>(),
        ],
        1..40,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// `Backoff::next_delay` equals the reference, call by call, with resets in between.
    #[test]
    fn next_delay_equals_the_reference(
        p in policy(),
        seed in any::<u64>(),
        steps in clock(),
        reset_at in proptest::option::of(0usize..40),
    ) {
        let mut fast = Backoff::new(p, seed);
        let mut slow = Reference::new(p, seed);
        let mut now = 0u64;
        for (i, step) in steps.into_iter().enumerate() {
            if reset_at == Some(i) {
                fast.reset();
                slow.reset();
            }
            // Forwards by `step`, or (for a huge `step`) a jump anywhere, backwards included.
            now = if step > 60 * SEC { step } else { now.saturating_add(step) };
            let t = Instant::from_nanos(now);
            prop_assert_eq!(fast.next_delay(t), slow.next_delay(t), "call {}", i);
            prop_assert_eq!(fast.delays_taken(), slow.taken);
            prop_assert_eq!(fast.is_exhausted(), slow.exhausted);
        }
    }
}

/// The benchmark's policy (100 ms × 2, cap 10 s, 10 delays), no jitter and full jitter:
/// the exact delays, and the same draws as the reference for many seeds.
#[test]
fn benchmark_policy_agrees() {
    for jitter in [Jitter::None, Jitter::Full] {
        let p = BackoffBuilder::exponential(Duration::from_millis(100))
            .factor_exact(Factor::TWO)
            .jitter(jitter)
            .cap(Duration::from_secs(10))
            .max_delays(10)
            .build()
            .unwrap();
        for seed in 0..2_000u64 {
            let mut fast = Backoff::new(p, seed);
            let mut slow = Reference::new(p, seed);
            for _ in 0..12 {
                assert_eq!(
                    fast.next_delay(Instant::ZERO),
                    slow.next_delay(Instant::ZERO)
                );
            }
        }
    }
}
