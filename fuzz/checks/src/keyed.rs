//! Checks for `relent::keyed`: the per-key backoff store, the overall bucket and per-key
//! budgets, against reference models.
//!
//! * `KeyedBackoff` against a `Vec` ordered most recently used first, implementing the
//!   documented rules plainly (a failure counts; a key quiet for the cool-down after the end
//!   of its last delay starts over; a full store reclaims the first cooled-down key among the
//!   `RECLAIM_SCAN` least recently used, else evicts the least recently used and counts it).
//!   The failure counts, `len`, evictions and the recency order must agree after every
//!   operation, `len` never exceeds the capacity, and each delay lies within the policy's
//!   cap; without jitter it equals `min(base × 2^n, cap)`, with full jitter it is at most that.
//! * `BucketLimiter` against golang.org/x/time/rate's token algorithm (tokens scaled by the
//!   interval, exact in integers), fed a clock that never goes back.
//! * `KeyedBudget` through a small capacity with no deposits: at most `capacity × initial /
//!   cost` retries are granted, however the keys churn.

use core::time::Duration;

use relent::Instant;
use relent::backoff::{BackoffBuilder, Jitter};
use relent::keyed::{BucketLimiter, KeyedBackoff, KeyedBudget};
use relent::retry::{Budget, BudgetConfig, RetryKind};
use relent::table::RECLAIM_SCAN;

use crate::input::Input;

struct Entry {
    key: u8,
    failures: u32,
    busy_until: Instant,
}

struct Model {
    entries: Vec<Entry>,
    capacity: usize,
    evictions: u64,
    cool_down: Option<Duration>,
}

impl Model {
    fn cooled(&self, busy_until: Instant, now: Instant) -> bool {
        self.cool_down
            .is_some_and(|c| now.saturating_duration_since(busy_until) >= c)
    }

    /// Counts the failure and returns the failures before it; the caller sets `busy_until`.
    fn when(&mut self, key: u8, now: Instant) -> u32 {
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
        entry.failures += 1;
        self.entries.insert(0, entry);
        n
    }
}

/// Layout: capacity byte, base ms u16, cap ms u32, cool-down tag byte (+ ms u16 when odd),
/// jitter byte, bucket interval ms u16, burst byte, budget capacity byte, seed u64, then ops
/// (`op % 8`: 0-2 `when(key)`, 3 `forget(key)`, 4 `failures(key)`, 5 clock + ms u16,
/// 6 clock − ms byte, 7 a budget withdrawal for a key u16).
pub fn keyed(data: &[u8]) {
    let mut input = Input::new(data);
    let capacity = 1 + usize::from(input.byte()) % (RECLAIM_SCAN + 8);
    let base_ms = u64::from(input.u16()).max(1);
    let cap_ms = u64::from(input.u32()).max(base_ms);
    let cool_down =
        (input.byte() % 2 == 1).then(|| Duration::from_millis(u64::from(input.u16()).max(1)));
    let jitter = match input.byte() % 4 {
        0 => Jitter::None,
        1 => Jitter::Full,
        2 => Jitter::Equal,
        _ => Jitter::Decorrelated,
    };
    let interval_ms = u64::from(input.u16()).max(1);
    let burst = u32::from(input.byte()).max(1);
    let budget_capacity = 1 + usize::from(input.byte()) % 16;
    let seed = input.u64();

    let mut builder = BackoffBuilder::exponential(Duration::from_millis(base_ms))
        .cap(Duration::from_millis(cap_ms))
        .jitter(jitter);
    if let Some(c) = cool_down {
        builder = builder.reset_after_quiet(c);
    }
    let policy = builder.build().expect("a valid policy");
    let mut store = KeyedBackoff::<u8>::new(policy, capacity, seed).expect("a small capacity");
    let mut model = Model {
        entries: Vec::new(),
        capacity,
        evictions: 0,
        cool_down,
    };
    let mut bucket =
        BucketLimiter::every(Duration::from_millis(interval_ms), burst).expect("positive");
    let interval = i128::from(interval_ms) * 1_000_000;
    let full = interval * i128::from(burst);
    let mut tokens = full;
    let mut bucket_last: Option<u64> = None;
    let mut budgets = KeyedBudget::<u16>::new(BudgetConfig::AWS_STANDARD, budget_capacity, seed)
        .expect("a small capacity");
    let mut granted = 0u64;

    let mut now = Instant::from_secs(1_000);
    let cap = Duration::from_millis(cap_ms);
    while let Some(op) = input.next() {
        match op % 8 {
            0..=2 => {
                let key = input.byte() % 24;
                let got = store.when(&key, now);
                let n = model.when(key, now);
                if let Some(e) = model.entries.first_mut() {
                    e.busy_until = now.saturating_add(got);
                }
                assert!(got <= cap, "delay {got:?} above the cap {cap:?}");
                let nominal = policy.nominal_delay(n);
                match jitter {
                    Jitter::None => assert_eq!(got, nominal, "failure {n} of key {key}"),
                    Jitter::Full => assert!(got <= nominal, "{got:?} above {nominal:?}"),
                    _ => {}
                }
                // The bucket, on a clock that never goes back.
                let t = bucket_last.map_or(now.as_nanos(), |l| l.max(now.as_nanos()));
                let elapsed = i128::from(t - bucket_last.unwrap_or(t));
                bucket_last = Some(t);
                tokens = (tokens + elapsed).min(full) - interval;
                let expected = if tokens < 0 { (-tokens) as u64 } else { 0 };
                assert_eq!(
                    bucket.reserve(Instant::from_nanos(t)),
                    Duration::from_nanos(expected)
                );
            }
            3 => {
                let key = input.byte() % 24;
                let expected = model
                    .entries
                    .iter()
                    .position(|e| e.key == key)
                    .map(|p| model.entries.remove(p).failures);
                assert_eq!(store.forget(&key), expected);
            }
            4 => {
                let key = input.byte() % 24;
                let expected = model
                    .entries
                    .iter()
                    .find(|e| e.key == key)
                    .map_or(0, |e| e.failures);
                assert_eq!(store.failures(&key), expected);
            }
            5 => now = now.saturating_add(Duration::from_millis(u64::from(input.u16()))),
            6 => now = now.saturating_sub(Duration::from_millis(u64::from(input.byte()))),
            _ => {
                let key = input.u16();
                if budgets.for_key(key).try_withdraw(RetryKind::Transient, now) {
                    granted += 1;
                }
                assert!(budgets.len() <= budget_capacity);
                // AWS standard: 500 tokens, 5 a retry, no deposits here.
                assert!(granted <= budget_capacity as u64 * 100, "{granted} granted");
            }
        }
        assert!(store.len() <= capacity);
        assert_eq!(store.len(), model.entries.len());
        assert_eq!(store.evictions(), model.evictions);
        assert!(
            store
                .iter()
                .map(|(k, f)| (*k, f))
                .eq(model.entries.iter().map(|e| (e.key, e.failures))),
            "recency order"
        );
    }
}
