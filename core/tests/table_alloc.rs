//! `DeadlineTable` allocates nothing after construction.
//!
//! `allocation-counter` installs a counting global allocator (its own, so this test needs no
//! `unsafe`) and counts, per thread, every allocation made inside `measure`; a reallocation
//! goes through `GlobalAlloc::alloc` too and is counted. A million distinct keys pass through
//! a table of capacity 4,096: that is ~1,000,000 evictions or reclaims and, in the hash index,
//! as many erase + insert pairs, which is what would make a naive table grow or rehash into a
//! new allocation.
#![cfg(feature = "alloc")]

use core::fmt::Write as _;
use core::time::Duration;

use relent::Instant;
use relent::table::{DeadlineTable, NextAllowed, Recorded};

const CAPACITY: usize = 4_096;
const KEYS: u64 = 1_000_000;

/// Deadlines vary per key (1..=300 s, like capped Retry-After values) and the clock advances
/// 1 ms per key, so the table sees a mix of in-force entries (evicted) and expired ones
/// (reclaimed), lookups that hit, miss and expire, and removals.
fn deadline(i: u64, now: Instant) -> Instant {
    now + Duration::from_secs(1 + (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) % 300)
}

#[test]
fn million_u64_keys_allocate_nothing_after_construction() {
    let mut table = DeadlineTable::<u64>::new(CAPACITY, 0x0123_4567_89ab_cdef).unwrap();
    let bytes = table.allocated_bytes();
    let mut max_len = 0usize;
    let mut counts = [0u64; 5];
    let info = allocation_counter::measure(|| {
        let mut now = Instant::from_secs(1);
        for i in 0..KEYS {
            now += Duration::from_millis(1);
            let slot = match table.record(i, deadline(i, now), now) {
                Recorded::Inserted => 0,
                Recorded::Updated { .. } => 1,
                Recorded::Reclaimed { .. } => 2,
                Recorded::Evicted { .. } => 3,
                Recorded::Ignored => 4,
            };
            counts[slot] += 1;
            // Hits, misses and expiries on recent and old keys.
            let _ = table.lookup(&i.saturating_sub(i % 7), now);
            if let NextAllowed::Wait { until } = table.next_allowed(&i.saturating_sub(3), now) {
                assert!(until > now);
            }
            if i % 5 == 0 {
                let _ = table.remove(&i.saturating_sub(11));
            }
            if i % 100_000 == 0 {
                let _ = table.purge_expired(now);
            }
            max_len = max_len.max(table.len());
            assert!(table.len() <= CAPACITY);
        }
        table.clear();
        let _ = table.record(1, Instant::MAX, Instant::ZERO);
    });
    assert_eq!(
        info.count_total, 0,
        "allocations after construction: {info:?}"
    );
    assert_eq!(info.bytes_total, 0);
    assert_eq!(max_len, CAPACITY, "the table did fill up");
    assert_eq!(table.allocated_bytes(), bytes);
    // The run did exercise every path.
    assert_eq!(counts[1], 0, "all keys distinct");
    assert_eq!(counts[4], 0, "no deadline in the past");
    assert!(counts[0] >= CAPACITY as u64, "{counts:?}");
    assert!(counts[2] > 10_000, "reclaims: {counts:?}");
    assert!(counts[3] > 10_000, "evictions: {counts:?}");
    assert_eq!(table.evictions(), counts[3]);
}

#[test]
fn million_string_keys_allocate_nothing_in_the_table() {
    let mut table = DeadlineTable::<String>::new(CAPACITY, 42).unwrap();
    let bytes = table.allocated_bytes();
    let mut max_len = 0usize;
    // Lookups borrow a `&str` from a buffer reused across iterations: no key is built.
    let mut probe = String::with_capacity(64);
    let info = allocation_counter::measure(|| {
        let mut now = Instant::from_secs(1);
        for i in 0..KEYS {
            now += Duration::from_millis(1);
            // The caller's key allocation is not the table's: leave it out of the count.
            let mut origin = String::new();
            allocation_counter::opt_out(|| origin = format!("https://host-{i}.example"));
            // Evicted and reclaimed keys are dropped here: a deallocation, not counted.
            let _ = table.record(origin, deadline(i, now), now);
            probe.clear();
            write!(probe, "https://host-{}.example", i / 2).unwrap();
            let _ = table.next_allowed(probe.as_str(), now);
            if i % 5 == 0 {
                let _ = table.remove("https://host-0.example");
            }
            max_len = max_len.max(table.len());
            assert!(table.len() <= CAPACITY);
        }
    });
    assert_eq!(
        info.count_total, 0,
        "allocations after construction: {info:?}"
    );
    assert_eq!(max_len, CAPACITY);
    assert_eq!(table.allocated_bytes(), bytes);
    assert!(table.evictions() > 0);
}

/// The counter does see allocations: without this, a broken counter would pass the tests above.
#[test]
fn the_counter_counts() {
    let info = allocation_counter::measure(|| {
        let t = DeadlineTable::<u64>::new(CAPACITY, 1).unwrap();
        assert_eq!(t.capacity(), CAPACITY);
    });
    assert!(info.count_total >= 2, "slab and index: {info:?}");
    assert_eq!(info.count_current, 0, "dropped table frees everything");
}
