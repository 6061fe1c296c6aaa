//! Laws of `relent::backoff`, checked with proptest over arbitrary policies, seeds and clocks.

use core::time::Duration;

use proptest::prelude::*;
use relent::Instant;
use relent::backoff::{
    Backoff, BackoffBuilder, BackoffError, BackoffPolicy, Factor, Jitter, Schedule, presets,
};

const SEC: u64 = 1_000_000_000;

fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Durations from zero to two minutes, with the extremes mixed in.
fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        8 => (0..=120 * SEC).prop_map(Duration::from_nanos),
        1 => Just(Duration::ZERO),
        1 => Just(Duration::MAX),
    ]
}

fn schedule() -> impl Strategy<Value = Schedule> {
    prop_oneof![
        duration().prop_map(|delay| Schedule::Constant { delay }),
        (duration(), duration()).prop_map(|(base, step)| Schedule::Linear { base, step }),
        (duration(), 1_000_001u64..=5_000_000).prop_map(|(base, m)| Schedule::Exponential {
            base,
            factor: Factor::from_millionths(m)
        }),
        duration().prop_map(|base| Schedule::Fibonacci { base }),
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

/// Any policy the builder accepts (floor and cap drawn so that floor <= cap is common).
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

/// Run `b` as a driver would: wait each delay plus `work` (the next attempt's duration).
fn drive(b: &mut Backoff, start: Instant, work: Duration, max: usize) -> Vec<Duration> {
    let mut now = start;
    let mut out = Vec::new();
    while out.len() < max {
        match b.next_delay(now) {
            Some(d) => {
                out.push(d);
                now = now + d + work;
            }
            None => break,
        }
    }
    out
}

proptest! {
    /// Every delay lies in [floor, cap], whatever the schedule, jitter, seed and clock.
    #[test]
    fn floor_and_cap_always_hold(p in policy(), seed in any::<u64>(), work in duration()) {
        let mut b = Backoff::new(p, seed);
        for d in drive(&mut b, Instant::from_secs(1), work, 60) {
            prop_assert!(d >= p.floor() && d <= p.cap(), "{d:?} outside [{:?}, {:?}]", p.floor(), p.cap());
        }
    }

    /// Without jitter, an exponential backoff never shrinks and reaches its cap.
    #[test]
    fn exponential_is_monotone_and_reaches_cap(
        base_ms in 1u64..=10_000,
        m in 1_050_000u64..=4_000_000,
        cap_ms in 1u64..=3_600_000,
    ) {
        let base = Duration::from_millis(base_ms);
        let cap = Duration::from_millis(cap_ms.max(base_ms));
        let p = BackoffBuilder::exponential(base)
            .factor_exact(Factor::from_millionths(m))
            .cap(cap)
            .build()
            .unwrap();
        // log(3.6e6) / log(1.05) < 310 steps from 1 ms to an hour.
        let got = drive(&mut Backoff::new(p, 0), Instant::ZERO, Duration::ZERO, 400);
        prop_assert_eq!(got.len(), 400);
        prop_assert_eq!(got[0], base);
        prop_assert!(got.windows(2).all(|w| w[0] <= w[1]));
        prop_assert_eq!(*got.last().unwrap(), cap);
    }

    /// Full, equal and proportional jitter stay in their documented windows around
    /// d = min(d_n, cap), then get clamped to the cap.
    #[test]
    fn jitter_windows(s in schedule(), cap in duration(), m in 0u64..=1_000_000, seed in any::<u64>()) {
        let f = Factor::from_millionths(m);
        for kind in [Jitter::Full, Jitter::Equal, Jitter::Proportional(f)] {
            let Ok(p) = BackoffBuilder::new(s).jitter(kind).cap(cap).max_delays(40).build() else {
                continue;
            };
            let mut b = Backoff::new(p, seed);
            let nominal = s.iter();
            for (n, d_n) in nominal.take(40).enumerate() {
                let d = u128::from(ns(d_n).min(ns(cap)));
                let got = u128::from(ns(b.next_delay(Instant::ZERO).unwrap()));
                let (lo, hi) = match kind {
                    Jitter::Full => (0, d),
                    Jitter::Equal => (d / 2, d),
                    _ => {
                        let r = d * u128::from(m) / 1_000_000;
                        (d - r, (d + r).min(u128::from(ns(cap))))
                    }
                };
                prop_assert!(lo <= got && got <= hi, "{kind:?} step {n}: {got} not in [{lo}, {hi}]");
            }
        }
    }

    /// Decorrelated jitter: every delay in [min(base, cap), min(cap, 3 × previous)].
    #[test]
    fn decorrelated_window(base_ms in 1u64..=5_000, cap_ms in 1u64..=120_000, seed in any::<u64>()) {
        let base = Duration::from_millis(base_ms);
        let cap = Duration::from_millis(cap_ms);
        let p = BackoffBuilder::constant(base).jitter(Jitter::Decorrelated).cap(cap).build().unwrap();
        let mut b = Backoff::new(p, seed);
        let mut prev = base;
        for _ in 0..100 {
            let d = b.next_delay(Instant::ZERO).unwrap();
            // The window is [base, 3·prev] (either order), then clamped to the cap.
            let (lo, hi) = if base <= prev * 3 { (base, prev * 3) } else { (prev * 3, base) };
            prop_assert!(d >= lo.min(cap) && d <= hi.min(cap), "{d:?} prev {prev:?}");
            prev = d;
        }
    }

    /// Same policy, seed and clock give the same delays; a clone continues in lockstep.
    #[test]
    fn deterministic(p in policy(), seed in any::<u64>(), steps in proptest::collection::vec(0u64..=300 * SEC, 1..40)) {
        let mut a = Backoff::new(p, seed);
        let mut b = Backoff::new(p, seed);
        let mut now = 0u64;
        let mut clone: Option<Backoff> = None;
        for (i, step) in steps.iter().enumerate() {
            now = now.saturating_add(*step);
            let t = Instant::from_nanos(now);
            let da = a.next_delay(t);
            prop_assert_eq!(da, b.next_delay(t));
            if let Some(c) = clone.as_mut() {
                prop_assert_eq!(c.next_delay(t), da);
            }
            if i == steps.len() / 2 {
                clone = Some(a.clone());
            }
            prop_assert_eq!(a.delays_taken(), b.delays_taken());
        }
    }

    /// `max_delays(m)` hands out exactly m delays, then only `None`.
    #[test]
    fn max_delays_exact(m in 0u32..200, p in policy(), seed in any::<u64>()) {
        let p = p.to_builder().max_delays(m).no_max_elapsed().no_quiet_reset().build();
        let Ok(p) = p else { return Ok(()); };
        let mut b = Backoff::new(p, seed);
        let got = drive(&mut b, Instant::ZERO, Duration::from_millis(3), 500);
        prop_assert_eq!(got.len(), m as usize);
        prop_assert_eq!(b.delays_taken(), m);
        prop_assert_eq!(b.next_delay(Instant::MAX), None);
    }

    /// Under `max_elapsed(e)`, every wait ends within e of the first request, however long
    /// each attempt takes; without jitter it also does not stop while another wait fits.
    #[test]
    fn max_elapsed_never_exceeded(p in policy(), e in duration(), work in duration(), seed in any::<u64>()) {
        let Ok(p) = p.to_builder().max_elapsed(e).no_max_delays().no_quiet_reset().build() else {
            return Ok(());
        };
        let start = Instant::from_secs(10);
        let mut b = Backoff::new(p, seed);
        let mut now = start;
        let mut waits = 0usize;
        while let Some(d) = b.next_delay(now) {
            let end = now + d;
            prop_assert!(end.saturating_duration_since(start) <= e);
            now = end + work;
            waits += 1;
            if waits == 200 { break; }
        }
        if waits < 200 && p.jitter() == Jitter::None {
            // The refused wait would have ended past the limit.
            let refused = p.nominal_delay(waits as u32);
            prop_assert!(now.saturating_duration_since(start).saturating_add(refused) > e);
        }
    }

    /// After `reset`, the backoff hands out its first delay again.
    #[test]
    fn reset_returns_to_the_first_delay(p in policy(), k in 0usize..20, seed in any::<u64>()) {
        let p = p.to_builder().jitter(Jitter::None).no_quiet_reset().build();
        let Ok(p) = p else { return Ok(()); };
        let mut b = Backoff::new(p, seed);
        let first = b.next_delay(Instant::ZERO);
        let _ = drive(&mut b, Instant::ZERO, Duration::ZERO, k);
        b.reset();
        prop_assert_eq!(b.delays_taken(), 0);
        prop_assert_eq!(b.next_delay(Instant::from_secs(5)), first);
    }

    /// A request at least `quiet` after the last wait ended starts over; one sooner continues.
    #[test]
    fn quiet_period_reset(
        base_ms in 1u64..=1_000,
        quiet_ms in 1u64..=600_000,
        k in 1u32..10,
        gap_ms in 0u64..=1_200_000,
    ) {
        let p = BackoffBuilder::exponential(Duration::from_millis(base_ms))
            .reset_after_quiet(Duration::from_millis(quiet_ms))
            .build()
            .unwrap();
        let mut b = Backoff::new(p, 0);
        let mut now = Instant::from_secs(1);
        for _ in 0..k {
            let d = b.next_delay(now).unwrap();
            now += d; // the wait ends here
        }
        let d = b.next_delay(now + Duration::from_millis(gap_ms)).unwrap();
        if gap_ms >= quiet_ms {
            prop_assert_eq!(d, p.nominal_delay(0));
            prop_assert_eq!(b.delays_taken(), 1);
        } else {
            prop_assert_eq!(d, p.nominal_delay(k));
            prop_assert_eq!(b.delays_taken(), k + 1);
        }
    }

    /// Arbitrary, non-monotonic clocks never panic and never break floor/cap.
    #[test]
    fn any_clock_is_safe(p in policy(), seed in any::<u64>(), times in proptest::collection::vec(any::<u64>(), 1..60)) {
        let mut b = Backoff::new(p, seed);
        let mut calls = 0u32;
        for t in times {
            calls += 1;
            if let Some(d) = b.next_delay(Instant::from_nanos(t)) {
                prop_assert!(d >= p.floor() && d <= p.cap());
            }
            prop_assert!(b.delays_taken() <= calls);
        }
    }

    /// A clock that runs backwards never buys more time under `max_elapsed`.
    #[test]
    fn backwards_clock_cannot_extend_max_elapsed(
        e_ms in 0u64..=60_000,
        times in proptest::collection::vec(0u64..=120_000, 1..60),
    ) {
        let p = BackoffBuilder::constant(Duration::from_millis(700))
            .jitter(Jitter::Full)
            .max_elapsed(Duration::from_millis(e_ms))
            .build()
            .unwrap();
        let mut b = Backoff::new(p, 1);
        let start = Instant::from_millis(times[0]);
        let mut latest = start;
        for t in times {
            let now = Instant::from_millis(t);
            latest = latest.max(now);
            if let Some(d) = b.next_delay(now) {
                prop_assert!((latest + d).saturating_duration_since(start) <= Duration::from_millis(e_ms));
            }
        }
    }

    /// Preview, iterator and running state agree on the nominal sequence.
    #[test]
    fn nominal_views_agree(s in schedule(), n in 0u32..120) {
        let it: Vec<Duration> = s.iter().take(n as usize + 1).collect();
        prop_assert_eq!(s.nominal(n), it[n as usize]);
        if let Ok(p) = BackoffBuilder::new(s).max_delays(n + 1).build() {
            let run = drive(&mut Backoff::new(p, 9), Instant::ZERO, Duration::ZERO, 1_000);
            prop_assert_eq!(run, it);
        }
    }

    /// Decimal factors are exact: a factor written with six places round-trips through f64.
    #[test]
    fn decimal_factors_are_exact(m in 0u64..=(1u64 << 40)) {
        #[allow(clippy::cast_precision_loss)]
        let x = m as f64 / 1e6;
        prop_assert_eq!(Factor::from_f64(x), Ok(Factor::from_millionths(m)));
        prop_assert_eq!(Factor::from_ratio(m, 1_000_000), Some(Factor::from_millionths(m)));
    }

    /// Any f64 handed to a builder is either accepted or a typed error, never a panic.
    #[test]
    fn any_float_is_handled(bits in any::<u64>(), jbits in any::<u64>()) {
        let f = f64::from_bits(bits);
        let j = f64::from_bits(jbits);
        match BackoffBuilder::exponential(Duration::from_secs(1)).factor(f).proportional_jitter(j).build() {
            Ok(p) => {
                let Schedule::Exponential { factor, .. } = p.schedule() else { unreachable!() };
                prop_assert!(factor > Factor::ONE);
                prop_assert!(f > 1.0 && (0.0..=1.0).contains(&j));
            }
            Err(
                BackoffError::InvalidFactor(_)
                | BackoffError::FactorNotGrowing { .. }
                | BackoffError::InvalidProportionalJitter(_)
                | BackoffError::ProportionalJitterAboveOne { .. },
            ) => {}
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
        }
    }
}

/// 1 s × 1.6ⁿ is exact to the nanosecond: 1 s, 1.6 s, 2.56 s, 4.096 s, 6.5536 s.
#[test]
fn factor_one_point_six_is_exact() {
    let p = BackoffBuilder::exponential(Duration::from_secs(1))
        .factor(1.6)
        .build()
        .unwrap();
    let got = drive(&mut Backoff::new(p, 0), Instant::ZERO, Duration::ZERO, 5);
    assert_eq!(
        got,
        [
            Duration::new(1, 0),
            Duration::new(1, 600_000_000),
            Duration::new(2, 560_000_000),
            Duration::new(4, 96_000_000),
            Duration::new(6, 553_600_000),
        ]
    );
}

/// Pinned output: SplitMix64 and the integer math give these exact delays on every
/// target. A change here changes what every deployed client does.
#[test]
fn golden_vectors() {
    let run = |p: BackoffPolicy| -> Vec<u64> {
        drive(&mut Backoff::new(p, 42), Instant::ZERO, Duration::ZERO, 6)
            .into_iter()
            .map(ns)
            .collect()
    };
    assert_eq!(run(presets::kube_watcher()), GOLDEN_KUBE);
    assert_eq!(run(presets::grpc_connection()), GOLDEN_GRPC);
    assert_eq!(run(presets::aws_standard()), GOLDEN_AWS);
    assert_eq!(run(presets::cenkalti_default()), GOLDEN_CENKALTI);
}

// Each value is inside its preset's window: kube [d/2, d] around 0.8, 1.6, 3.2, 6.4,
// 12.8, 25.6 s; gRPC 1.6ⁿ s ± 20%; AWS [0, 1 s], [0, 2 s]; cenkalti 0.5 × 1.5ⁿ s ± 50%.
const GOLDEN_KUBE: [u64; 6] = [
    696_625_952,
    927_928_314,
    2_045_761_808,
    4_301_410_293,
    6_643_393_078,
    23_913_319_380,
];
const GOLDEN_GRPC: [u64; 6] = [
    1_096_625_952,
    1_382_342_651,
    2_333_287_557,
    3_840_722_070,
    5_342_573_805,
    12_030_220_495,
];
const GOLDEN_AWS: [u64; 2] = [741_564_879, 319_820_785];
const GOLDEN_CENKALTI: [u64; 6] = [
    620_782_440,
    494_932_794,
    875_926_271,
    1_424_571_834,
    1_361_888_864,
    5_194_990_979,
];

/// Found by `floor_and_cap_always_hold`: a floor of `Duration::MAX` is beyond the
/// nanosecond range, so the builder stores it as `MAX_DELAY` and the law holds exactly.
#[test]
fn floor_and_cap_at_duration_max() {
    let p = BackoffBuilder::constant(Duration::ZERO)
        .floor(Duration::MAX)
        .cap(Duration::MAX)
        .build()
        .unwrap();
    assert_eq!(p.floor(), BackoffPolicy::MAX_DELAY);
    let d = Backoff::new(p, 0).next_delay(Instant::ZERO).unwrap();
    assert!(d >= p.floor() && d <= p.cap());
    assert_eq!(d, BackoffPolicy::MAX_DELAY);
}
