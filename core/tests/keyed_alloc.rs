//! The per-key stores allocate nothing after construction.
//!
//! As in `table_alloc.rs`, `allocation-counter` counts every allocation made inside
//! `measure` on this thread. A million distinct keys pass through stores of capacity 4,096:
//! about a million evictions or reclaims, each an erase and an insert in the hash index.
#![cfg(feature = "alloc")]

use core::time::Duration;

use relent::Instant;
use relent::backoff::{BackoffBuilder, Jitter};
use relent::keyed::{KeyedBackoff, KeyedBudget, RateLimiter, controller_default};
use relent::retry::{Budget, BudgetConfig, RetryKind};

const CAPACITY: usize = 4_096;
const KEYS: u64 = 1_000_000;

#[test]
fn million_keys_through_the_controller_limiter_allocate_nothing() {
    let mut limiter = controller_default::<u64>(CAPACITY, 0xfeed).unwrap();
    let bytes = limiter.first().allocated_bytes();
    let mut max_len = 0usize;
    let info = allocation_counter::measure(|| {
        let mut now = Instant::from_secs(1);
        for i in 0..KEYS {
            now += Duration::from_micros(300);
            // A new key, a repeat failure of a recent one, a success of an older one.
            let _ = limiter.when(&i, now);
            let _ = limiter.when(&i.saturating_sub(i % 5), now);
            if i % 3 == 0 {
                limiter.forget(&i.saturating_sub(17));
            }
            let _ = limiter.failures(&i.saturating_sub(1));
            max_len = max_len.max(limiter.first().len());
        }
    });
    assert_eq!(info.count_total, 0, "allocations: {info:?}");
    assert_eq!(max_len, CAPACITY, "the store did fill up");
    assert_eq!(limiter.first().allocated_bytes(), bytes);
    assert!(limiter.first().evictions() > 10_000);
}

#[test]
fn million_keys_with_jitter_and_cool_down_allocate_nothing() {
    let policy = BackoffBuilder::exponential(Duration::from_millis(5))
        .cap(Duration::from_secs(60))
        .jitter(Jitter::Decorrelated)
        .reset_after_quiet(Duration::from_millis(200))
        .build()
        .unwrap();
    let mut store = KeyedBackoff::<u64>::new(policy, CAPACITY, 3).unwrap();
    let info = allocation_counter::measure(|| {
        let mut now = Instant::from_secs(1);
        for i in 0..KEYS {
            now += Duration::from_micros(100);
            let _ = store.when(&(i % 700_000), now);
            assert!(store.len() <= CAPACITY);
        }
        store.clear();
        let _ = store.when(&1, now);
    });
    assert_eq!(info.count_total, 0, "allocations: {info:?}");
}

#[test]
fn million_keys_through_keyed_budgets_allocate_nothing() {
    let mut budgets = KeyedBudget::<u64>::new(BudgetConfig::AWS_STANDARD, CAPACITY, 4).unwrap();
    let bytes = budgets.allocated_bytes();
    let info = allocation_counter::measure(|| {
        let now = Instant::ZERO;
        for i in 0..KEYS {
            let mut b = budgets.for_key(i);
            b.on_request(now);
            if !b.try_withdraw(RetryKind::Transient, now) {
                b.on_failure(RetryKind::Transient, now);
            }
            budgets.for_key(i / 2).on_success(None, now);
            assert!(budgets.len() <= CAPACITY);
        }
    });
    assert_eq!(info.count_total, 0, "allocations: {info:?}");
    assert_eq!(budgets.allocated_bytes(), bytes);
}

/// The counter does see the construction's allocations.
#[test]
fn the_counter_counts() {
    let info = allocation_counter::measure(|| {
        let l = controller_default::<u64>(CAPACITY, 1).unwrap();
        assert_eq!(l.first().capacity(), CAPACITY);
    });
    assert!(info.count_total >= 2, "slab and index: {info:?}");
}
