//! Model-based tests of `relent::keyed`.
//!
//! * `KeyedBackoff` against a reference model (a `Vec` ordered most recently used first,
//!   searched linearly, with the delay computed from the closed formula
//!   `min(base × 2^n, cap)`): random sequences of `when` / `forget` / `failures` / clock steps
//!   (forwards and backwards) / `clear` on a few keys through a small capacity must give the
//!   same delays, counts, evictions and recency order. With full jitter, the same model gives
//!   the counts and each delay must lie in `[0, nominal]`.
//! * `BucketLimiter` against golang.org/x/time/rate's algorithm written with tokens (scaled
//!   by the interval, so exact in integers): same delays for every sequence of calls at
//!   non-decreasing times.
//! * `KeyedBudget`, with room for every key, against one `TokenBucket` per key; and, through
//!   a small capacity, the law that churn creates no tokens.
#![cfg(feature = "alloc")]

use core::time::Duration;
use std::collections::HashMap;

use proptest::prelude::*;
use relent::Instant;
use relent::backoff::{BackoffBuilder, BackoffPolicy, Jitter};
use relent::keyed::{BucketLimiter, KeyedBackoff, KeyedBudget};
use relent::retry::{Budget, BudgetConfig, RetryKind, TokenBucket};
use relent::table::RECLAIM_SCAN;

struct Entry {
    key: u8,
    failures: u32,
    busy_until: Instant,
}

/// The documented rules of `KeyedBackoff`, as plainly as possible.
struct Model {
    entries: Vec<Entry>,
    capacity: usize,
    evictions: u64,
    base_ns: u128,
    cap_ns: u128,
    cool_down: Option<Duration>,
}

impl Model {
    fn cooled(&self, busy_until: Instant, now: Instant) -> bool {
        self.cool_down
            .is_some_and(|c| now.saturating_duration_since(busy_until) >= c)
    }

    fn nominal(&self, n: u32) -> Duration {
        let d = if n >= 100 {
            self.cap_ns
        } else {
            (self.base_ns << n).min(self.cap_ns)
        };
        Duration::from_nanos(d as u64)
    }

    /// Returns the failures before this one (the `n` of the delay) and the delay.
    fn when(&mut self, key: u8, now: Instant) -> (u32, Duration) {
        let mut entry = match self.entries.iter().position(|e| e.key == key) {
            Some(p) => self.entries.remove(p),
            None => {
                if self.entries.len() == self.capacity {
                    let n = self.entries.len();
                    let victim = (0..RECLAIM_SCAN.min(n))
                        .map(|j| n - 1 - j)
                        .find(|&p| self.cooled(self.entries[p].busy_until, now))
                        .unwrap_or(n - 1);
                    let old = self.entries.remove(victim);
                    if !self.cooled(old.busy_until, now) {
                        self.evictions += 1;
                    }
                }
                Entry {
                    key,
                    failures: 0,
                    busy_until: now,
                }
            }
        };
        if entry.failures > 0 && self.cooled(entry.busy_until, now) {
            entry.failures = 0;
        }
        let n = entry.failures;
        let delay = self.nominal(n);
        entry.failures += 1;
        entry.busy_until = now.saturating_add(delay);
        self.entries.insert(0, entry);
        (n, delay)
    }

    fn forget(&mut self, key: u8) -> Option<u32> {
        let p = self.entries.iter().position(|e| e.key == key)?;
        Some(self.entries.remove(p).failures)
    }

    fn failures(&self, key: u8) -> u32 {
        self.entries
            .iter()
            .find(|e| e.key == key)
            .map_or(0, |e| e.failures)
    }
}

#[derive(Clone, Debug)]
enum Op {
    When(u8),
    Forget(u8),
    Failures(u8),
    Advance(u64),
    Back(u64),
    Clear,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0u8..12).prop_map(Op::When),
        2 => (0u8..12).prop_map(Op::Forget),
        2 => (0u8..12).prop_map(Op::Failures),
        // Steps on a 100 ms grid too, so that "quiet for exactly the cool-down" happens.
        2 => (0u64..5_000).prop_map(Op::Advance),
        2 => (0u64..40).prop_map(|x| Op::Advance(x * 100)),
        1 => (0u64..2_000).prop_map(Op::Back),
        1 => Just(Op::Clear),
    ]
}

fn policy(base_ms: u64, cap_ms: u64, cool_ms: Option<u64>, jitter: Jitter) -> BackoffPolicy {
    let b = BackoffBuilder::exponential(Duration::from_millis(base_ms))
        .cap(Duration::from_millis(cap_ms))
        .jitter(jitter);
    match cool_ms {
        Some(c) => b.reset_after_quiet(Duration::from_millis(c)),
        None => b,
    }
    .build()
    .unwrap()
}

fn run_against_model(
    ops: &[Op],
    capacity: usize,
    base_ms: u64,
    cap_ms: u64,
    cool_ms: Option<u64>,
    jitter: Jitter,
    seed: u64,
) -> Result<(), TestCaseError> {
    let policy = policy(base_ms, cap_ms, cool_ms, jitter);
    let mut store = KeyedBackoff::<u8>::new(policy, capacity, seed).unwrap();
    let mut model = Model {
        entries: Vec::new(),
        capacity,
        evictions: 0,
        base_ns: u128::from(base_ms) * 1_000_000,
        cap_ns: u128::from(cap_ms) * 1_000_000,
        cool_down: cool_ms.map(Duration::from_millis),
    };
    let mut now = Instant::from_secs(10);
    for op in ops {
        match *op {
            Op::When(k) => {
                let got = store.when(&k, now);
                let (n, nominal) = model.when(k, now);
                if jitter == Jitter::None {
                    prop_assert_eq!(got, nominal, "when({}) after {} failures", k, n);
                } else {
                    prop_assert!(got <= nominal, "{:?} above {:?}", got, nominal);
                    // The model's busy_until follows the nominal delay; only the jitter-free
                    // runs compare cool-downs, so keep the model on the real delay here.
                    model.entries[0].busy_until = now.saturating_add(got);
                }
            }
            Op::Forget(k) => prop_assert_eq!(store.forget(&k), model.forget(k)),
            Op::Failures(k) => prop_assert_eq!(store.failures(&k), model.failures(k)),
            Op::Advance(ms) => now = now.saturating_add(Duration::from_millis(ms)),
            Op::Back(ms) => now = now.saturating_sub(Duration::from_millis(ms)),
            Op::Clear => {
                store.clear();
                model.entries.clear();
            }
        }
        prop_assert!(store.len() <= store.capacity());
        prop_assert_eq!(store.len(), model.entries.len());
        prop_assert_eq!(store.evictions(), model.evictions);
        let order: Vec<(u8, u32)> = store.iter().map(|(k, f)| (*k, f)).collect();
        let expected: Vec<(u8, u32)> = model.entries.iter().map(|e| (e.key, e.failures)).collect();
        prop_assert_eq!(order, expected);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn keyed_backoff_matches_the_model(
        ops in prop::collection::vec(op(), 0..200),
        capacity in 1usize..10,
        base_ms in prop_oneof![1u64..50, Just(100)],
        cap_ms in prop_oneof![1u64..20_000, Just(400)],
        cool_ms in prop::option::of(prop_oneof![1u64..8_000, (1u64..40).prop_map(|x| x * 100)]),
        seed in any::<u64>(),
    ) {
        run_against_model(&ops, capacity, base_ms, cap_ms.max(base_ms), cool_ms, Jitter::None, seed)?;
    }

    #[test]
    fn keyed_backoff_with_full_jitter_stays_under_the_nominal_delay(
        ops in prop::collection::vec(op(), 0..200),
        capacity in 1usize..10,
        base_ms in 1u64..50,
        cap_ms in 1u64..20_000,
        seed in any::<u64>(),
    ) {
        // No cool-down: with jitter the quiet period depends on the drawn delay.
        run_against_model(&ops, capacity, base_ms, cap_ms.max(base_ms), None, Jitter::Full, seed)?;
    }

    /// x/time/rate's `Reserve` with float tokens, here scaled by the interval: `tokens` is
    /// tokens × interval in ns, refilled by elapsed ns, at most burst × interval; a reservation
    /// takes one interval and waits for any debt.
    #[test]
    fn bucket_matches_x_time_rate(
        interval_ms in 1u64..500,
        burst in 1u32..20,
        steps in prop::collection::vec((0u64..400, 1usize..30), 1..60),
    ) {
        let interval = u128::from(interval_ms) * 1_000_000;
        let mut bucket = BucketLimiter::every(Duration::from_millis(interval_ms), burst).unwrap();
        let full = interval * u128::from(burst);
        let mut tokens: i128 = full as i128;
        let mut last = 0u128;
        let mut now_ns = 1_000_000_000u128;
        for (advance_ms, calls) in steps {
            now_ns += u128::from(advance_ms) * 1_000_000;
            for _ in 0..calls {
                tokens = (tokens + (now_ns - last) as i128).min(full as i128);
                last = now_ns;
                tokens -= interval as i128;
                let expected = if tokens < 0 { (-tokens) as u64 } else { 0 };
                let got = bucket.reserve(Instant::from_nanos(now_ns as u64));
                prop_assert_eq!(got, Duration::from_nanos(expected));
            }
            let whole = if tokens <= 0 { 0 } else { (tokens / interval as i128) as u32 };
            prop_assert_eq!(bucket.available(Instant::from_nanos(now_ns as u64)), whole);
        }
    }

    /// With a bucket for every key, each key's bucket is exactly a `TokenBucket`.
    #[test]
    fn keyed_budget_is_a_token_bucket_per_key(
        events in prop::collection::vec((0u8..6, 0u8..4, 0u64..3_000), 0..300),
        refill in 0u64..5,
    ) {
        let mut config = BudgetConfig::ratio(100, 3, refill);
        config.failure_cost = 200;
        let mut budgets = KeyedBudget::<u8>::new(config, 6, 3).unwrap();
        let mut oracle: HashMap<u8, TokenBucket> = HashMap::new();
        let mut now = Instant::from_secs(1);
        for (key, what, advance) in events {
            now = now.saturating_add(Duration::from_millis(advance));
            let bucket = oracle.entry(key).or_insert_with(|| TokenBucket::new(config, now));
            let mut ours = budgets.for_key(key);
            match what {
                0 => { bucket.on_request(now); ours.on_request(now); }
                1 => { bucket.on_failure(RetryKind::Throttled, now); ours.on_failure(RetryKind::Throttled, now); }
                2 => prop_assert_eq!(
                    bucket.try_withdraw(RetryKind::Transient, now),
                    ours.try_withdraw(RetryKind::Transient, now)
                ),
                _ => { bucket.on_success(Some(RetryKind::Transient), now); ours.on_success(Some(RetryKind::Transient), now); }
            }
            prop_assert_eq!(budgets.balance(&key, now), Some(bucket.balance()));
        }
        prop_assert_eq!(budgets.evictions(), 0);
    }

    /// Churn creates no tokens: with no deposits and no refill, however many keys pass
    /// through a table of capacity `c`, at most `c × initial / cost` retries are granted.
    #[test]
    fn keyed_budget_churn_creates_no_tokens(
        keys in prop::collection::vec(0u16..500, 0..2_000),
        capacity in 1usize..16,
    ) {
        let config = BudgetConfig::AWS_STANDARD; // 500 tokens, a retry costs 5
        let mut budgets = KeyedBudget::<u16>::new(config, capacity, 5).unwrap();
        let now = Instant::ZERO;
        let mut granted = 0u64;
        for key in keys {
            if budgets.for_key(key).try_withdraw(RetryKind::Transient, now) {
                granted += 1;
            }
            prop_assert!(budgets.len() <= capacity);
        }
        prop_assert!(granted <= capacity as u64 * 100, "{} granted", granted);
    }
}

#[test]
fn a_full_store_reclaims_cooled_keys_before_evicting() {
    let policy = policy(10, 1_000, Some(1_000), Jitter::None);
    let mut store = KeyedBackoff::<u32>::new(policy, 2, 0).unwrap();
    let t = Instant::from_secs(1);
    let _ = store.when(&1, t);
    let _ = store.when(&2, t + Duration::from_secs(5));
    // Key 1 (the LRU) has cooled down: it is reclaimed, not counted.
    let _ = store.when(&3, t + Duration::from_secs(5));
    assert_eq!(store.evictions(), 0);
    assert!(!store.contains(&1));
    // Nothing has cooled: the LRU (key 2) is evicted and counted.
    let _ = store.when(&4, t + Duration::from_secs(5));
    assert_eq!(store.evictions(), 1);
    assert!(store.contains(&3) && store.contains(&4));
}
