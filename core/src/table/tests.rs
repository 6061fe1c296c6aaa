use super::*;
use alloc::string::String;
use alloc::vec;
use core::hash::BuildHasherDefault;

fn t(secs: u64) -> Instant {
    Instant::from_secs(secs)
}

fn table(capacity: usize) -> DeadlineTable<u64> {
    DeadlineTable::new(capacity, 7).unwrap()
}

fn keys<K: Clone, S>(table: &DeadlineTable<K, S>) -> vec::Vec<K> {
    table.iter().map(|(k, _)| k.clone()).collect()
}

/// A hasher that sends every key to the same bucket: the worst case a collision attack aims
/// for. The table must stay correct (only slower) under it.
#[derive(Default)]
struct Collide;
impl Hasher for Collide {
    fn finish(&self) -> u64 {
        42
    }
    fn write(&mut self, _: &[u8]) {}
}

#[test]
fn capacity_zero_is_an_error() {
    assert_eq!(
        DeadlineTable::<u64>::new(0, 1).unwrap_err(),
        CapacityError::Zero
    );
}

#[test]
fn capacity_above_u32_index_space_is_an_error() {
    let too_big = MAX_CAPACITY.saturating_add(1);
    if too_big > MAX_CAPACITY {
        assert_eq!(
            DeadlineTable::<u64>::new(too_big, 1).unwrap_err(),
            CapacityError::TooLarge { requested: too_big }
        );
    }
    assert!(matches!(
        DeadlineTable::<u64>::new(usize::MAX, 1).unwrap_err(),
        CapacityError::TooLarge { .. }
    ));
}

#[test]
fn capacity_that_cannot_be_allocated_is_an_error_not_an_abort() {
    // 4 billion slots of a 4 GiB key: the byte size overflows, so the allocator is never
    // even asked (no reliance on the machine's overcommit policy).
    #[cfg(target_pointer_width = "64")]
    type Huge = [u8; 1 << 32];
    #[cfg(not(target_pointer_width = "64"))]
    type Huge = [u8; 4096];
    let err = DeadlineTable::<Huge>::new(MAX_CAPACITY, 1).unwrap_err();
    assert_eq!(
        err,
        CapacityError::AllocationFailed {
            requested: MAX_CAPACITY
        }
    );
}

#[test]
fn errors_display() {
    use alloc::string::ToString;
    assert_eq!(
        CapacityError::Zero.to_string(),
        "deadline table capacity must be at least 1"
    );
    assert!(
        CapacityError::TooLarge { requested: 9 }
            .to_string()
            .contains("capacity 9 exceeds")
    );
    assert!(
        CapacityError::AllocationFailed { requested: 9 }
            .to_string()
            .contains("capacity 9")
    );
    let _: &dyn core::error::Error = &CapacityError::Zero;
}

#[test]
fn index_is_reserved_for_in_place_rehash() {
    for cap in [1usize, 2, 3, 4, 7, 8, 100, 4096] {
        let tb = table(cap);
        // hashbrown rehashes in place only while items <= bucket capacity / 2.
        assert!(tb.lru.index_capacity() / 2 >= cap, "cap {cap}");
        assert!(tb.lru.slab_capacity() >= cap);
        assert_eq!(tb.capacity(), cap);
    }
}

#[test]
fn insert_lookup_and_expiry() {
    let mut tb = table(4);
    assert!(tb.is_empty());
    assert_eq!(tb.record(1, t(10), t(0)), Recorded::Inserted);
    assert_eq!(tb.len(), 1);
    assert_eq!(tb.lookup(&1, t(0)), Some(t(10)));
    assert_eq!(tb.lookup(&1, t(9)), Some(t(10)));
    assert_eq!(tb.lookup(&2, t(0)), None);
    // At the deadline the entry has expired: not returned, and removed on sight.
    assert_eq!(tb.peek(&1, t(10)), None);
    assert_eq!(tb.len(), 1, "peek does not remove");
    assert_eq!(tb.lookup(&1, t(10)), None);
    assert_eq!(tb.len(), 0, "lookup removed the expired entry");
}

#[test]
fn deadline_not_in_the_future_is_ignored() {
    let mut tb = table(2);
    assert_eq!(tb.record(1, t(5), t(5)), Recorded::Ignored);
    assert_eq!(tb.record(1, t(4), t(5)), Recorded::Ignored);
    assert!(tb.is_empty());
    // Even for a present key: nothing changes, recency included.
    let _ = tb.record(1, t(50), t(5));
    let _ = tb.record(2, t(50), t(5));
    assert_eq!(keys(&tb), vec![2, 1]);
    assert_eq!(tb.record(1, t(3), t(5)), Recorded::Ignored);
    assert_eq!(keys(&tb), vec![2, 1]);
    assert_eq!(tb.peek(&1, t(5)), Some(t(50)));
}

#[test]
fn update_keeps_the_later_deadline_and_refreshes_recency() {
    let mut tb = table(3);
    let _ = tb.record(1, t(60), t(0));
    let _ = tb.record(2, t(60), t(0));
    // "come back in 1 s" after "in 60 s": the 60 s instruction still holds.
    assert_eq!(
        tb.record(1, t(1), t(0)),
        Recorded::Updated { deadline: t(60) }
    );
    assert_eq!(keys(&tb), vec![1, 2]);
    // A later deadline extends.
    assert_eq!(
        tb.record(2, t(90), t(0)),
        Recorded::Updated { deadline: t(90) }
    );
    assert_eq!(tb.peek(&2, t(0)), Some(t(90)));
    assert_eq!(keys(&tb), vec![2, 1]);
    // An expired stored deadline is simply replaced.
    assert_eq!(
        tb.record(1, t(100), t(70)),
        Recorded::Updated { deadline: t(100) }
    );
    assert_eq!(tb.len(), 2);
}

#[test]
fn full_table_evicts_least_recently_used_and_hands_key_back() {
    let mut tb = table(3);
    for k in 1..=3 {
        assert_eq!(tb.record(k, t(100), t(0)), Recorded::Inserted);
    }
    // Touch 1 so that 2 is now the least recently used.
    assert_eq!(tb.lookup(&1, t(0)), Some(t(100)));
    assert_eq!(keys(&tb), vec![1, 3, 2]);
    assert_eq!(
        tb.record(4, t(100), t(0)),
        Recorded::Evicted {
            key: 2,
            deadline: t(100)
        }
    );
    assert_eq!(tb.evictions(), 1);
    assert_eq!(tb.len(), 3);
    assert_eq!(keys(&tb), vec![4, 1, 3]);
    assert_eq!(tb.peek(&2, t(0)), None);
}

#[test]
fn full_table_reclaims_expired_before_evicting() {
    let mut tb = table(3);
    let _ = tb.record(1, t(100), t(0)); // LRU end, in force
    let _ = tb.record(2, t(5), t(0)); // expires early
    let _ = tb.record(3, t(100), t(0));
    assert_eq!(
        tb.record(4, t(100), t(10)),
        Recorded::Reclaimed {
            key: 2,
            deadline: t(5)
        }
    );
    assert_eq!(tb.evictions(), 0);
    assert_eq!(keys(&tb), vec![4, 3, 1]);
}

#[test]
fn reclaim_scan_is_bounded() {
    let cap = RECLAIM_SCAN + 1;
    let mut tb = table(cap);
    // The most recently used entry expires early; the RECLAIM_SCAN older ones do not.
    for k in 0..RECLAIM_SCAN as u64 {
        let _ = tb.record(k, t(100), t(0));
    }
    let _ = tb.record(99, t(5), t(0));
    assert_eq!(tb.len(), cap);
    // The expired entry sits beyond the scan window, so the LRU entry (0) is evicted.
    assert_eq!(
        tb.record(1000, t(100), t(10)),
        Recorded::Evicted {
            key: 0,
            deadline: t(100)
        }
    );
    // With 0 gone, the expired entry is RECLAIM_SCAN-th from the tail: within the window.
    assert_eq!(
        tb.record(1001, t(100), t(10)),
        Recorded::Reclaimed {
            key: 99,
            deadline: t(5)
        }
    );
}

#[test]
fn remove_and_remove_entry() {
    let mut tb = table(2);
    let _ = tb.record(1, t(10), t(0));
    let _ = tb.record(2, t(20), t(0));
    assert_eq!(tb.remove(&1), Some(t(10)));
    assert_eq!(tb.remove(&1), None);
    assert_eq!(tb.remove_entry(&2), Some((2, t(20))));
    assert!(tb.is_empty());
    // Freed slots are reused without eviction.
    for k in 10..12 {
        assert_eq!(tb.record(k, t(10), t(0)), Recorded::Inserted);
    }
    assert_eq!(tb.evictions(), 0);
    // remove returns an expired deadline too.
    assert_eq!(tb.remove(&10), Some(t(10)));
}

#[test]
fn next_allowed_answers() {
    let mut tb = table(2);
    assert_eq!(tb.next_allowed(&1, t(0)), NextAllowed::Now);
    let _ = tb.record(1, t(10), t(0));
    let w = tb.next_allowed(&1, t(4));
    assert_eq!(w, NextAllowed::Wait { until: t(10) });
    assert!(!w.is_now());
    assert_eq!(w.delay(t(4)), Duration::from_secs(6));
    // Past `until` the delay saturates to zero instead of panicking.
    assert_eq!(w.delay(t(11)), Duration::ZERO);
    assert_eq!(NextAllowed::Now.delay(t(4)), Duration::ZERO);
    assert!(tb.next_allowed(&1, t(10)).is_now());
}

#[test]
fn clock_going_backwards_never_panics() {
    let mut tb = table(2);
    let _ = tb.record(1, t(10), t(100));
    assert!(tb.is_empty(), "deadline in the past of `now` is ignored");
    let _ = tb.record(1, t(110), t(100));
    // Time jumps back to zero: the entry is in force, with the same deadline.
    assert_eq!(
        tb.next_allowed(&1, t(0)),
        NextAllowed::Wait { until: t(110) }
    );
    assert_eq!(
        tb.next_allowed(&1, t(0)).delay(t(0)),
        Duration::from_secs(110)
    );
    let _ = tb.record(2, t(5), t(0));
    let _ = tb.record(3, Instant::MAX, Instant::ZERO);
    assert_eq!(tb.len(), 2);
    assert_eq!(tb.purge_expired(Instant::MAX), 2);
    assert_eq!(tb.purge_expired(Instant::ZERO), 0);
}

#[test]
fn purge_expired_removes_only_expired() {
    let mut tb = table(5);
    for (k, d) in [(1, 5), (2, 50), (3, 7), (4, 70), (5, 10)] {
        let _ = tb.record(k, t(d), t(0));
    }
    assert_eq!(tb.purge_expired(t(10)), 3);
    assert_eq!(keys(&tb), vec![4, 2]);
    assert_eq!(tb.len(), 2);
    // Freed slots are reused.
    for k in 6..9 {
        assert_eq!(tb.record(k, t(100), t(10)), Recorded::Inserted);
    }
    assert_eq!(tb.len(), 5);
}

#[test]
fn clear_keeps_memory_and_counters() {
    let mut tb = table(2);
    let bytes = tb.allocated_bytes();
    for k in 0..5 {
        let _ = tb.record(k, t(100), t(0));
    }
    assert_eq!(tb.evictions(), 3);
    tb.clear();
    assert!(tb.is_empty());
    assert_eq!(tb.iter().count(), 0);
    assert_eq!(tb.peek(&4, t(0)), None);
    assert_eq!(tb.evictions(), 3);
    assert_eq!(tb.allocated_bytes(), bytes);
    assert_eq!(tb.record(9, t(100), t(0)), Recorded::Inserted);
    assert_eq!(keys(&tb), vec![9]);
}

#[test]
fn allocated_bytes_is_fixed() {
    let mut tb = table(64);
    let bytes = tb.allocated_bytes();
    assert!(bytes >= 64 * tb.lru.slot_size());
    for k in 0..10_000u64 {
        let _ = tb.record(k, t(k % 50 + 1), t(k % 40));
        if k % 3 == 0 {
            let _ = tb.remove(&(k / 2));
        }
        assert_eq!(tb.allocated_bytes(), bytes);
        assert!(tb.len() <= 64);
    }
}

#[test]
fn string_keys_are_looked_up_by_str() {
    let mut tb: DeadlineTable<String> = DeadlineTable::new(2, 3).unwrap();
    let _ = tb.record(String::from("https://a.example"), t(10), t(0));
    assert_eq!(tb.lookup("https://a.example", t(1)), Some(t(10)));
    assert_eq!(tb.peek("https://b.example", t(1)), None);
    assert_eq!(
        tb.remove_entry("https://a.example"),
        Some((String::from("https://a.example"), t(10)))
    );
}

#[test]
fn colliding_hasher_is_still_correct() {
    let mut tb: DeadlineTable<u32, BuildHasherDefault<Collide>> =
        DeadlineTable::with_hasher(8, BuildHasherDefault::default()).unwrap();
    for k in 0..8 {
        assert_eq!(
            tb.record(k, t(100 + u64::from(k)), t(0)),
            Recorded::Inserted
        );
    }
    for k in 0..8 {
        assert_eq!(tb.peek(&k, t(0)), Some(t(100 + u64::from(k))));
    }
    assert_eq!(tb.remove(&3), Some(t(103)));
    assert_eq!(tb.peek(&3, t(0)), None);
    assert_eq!(tb.peek(&4, t(0)), Some(t(104)));
    let _ = tb.record(20, t(200), t(0));
    let _ = tb.record(21, t(200), t(0));
    assert_eq!(tb.evictions(), 1);
    assert_eq!(tb.peek(&0, t(0)), None);
}

#[test]
fn seeded_state_depends_on_seed_and_hides_it() {
    use alloc::format;
    let a = SeededState::new(1);
    let b = SeededState::new(2);
    let a2 = SeededState::new(1);
    let differing = (0u64..64)
        .filter(|k| a.hash_one(k) != b.hash_one(k))
        .count();
    assert!(differing > 60, "different seeds should hash differently");
    assert!((0u64..64).all(|k| a.hash_one(k) == a2.hash_one(k)));
    assert_eq!(a.hash_one("abc"), a.clone().hash_one("abc"));
    assert_eq!(format!("{a:?}"), "SeededState { .. }");
    assert_eq!(format!("{:?}", a.build_hasher()), "SeededHasher { .. }");
}

#[test]
fn debug_shows_sizes_only() {
    use alloc::format;
    let mut tb = table(3);
    let _ = tb.record(1, t(10), t(0));
    assert_eq!(
        format!("{tb:?}"),
        "DeadlineTable { len: 1, capacity: 3, evictions: 0, .. }"
    );
    assert_eq!(format!("{:?}", tb.iter()), "Iter { remaining: 1, .. }");
}

#[test]
fn iter_is_exact_size_and_most_recent_first() {
    let mut tb = table(4);
    for k in [5, 6, 7] {
        let _ = tb.record(k, t(k), t(0));
    }
    let _ = tb.lookup(&5, t(0));
    let it = tb.iter();
    assert_eq!(it.len(), 3);
    let got: vec::Vec<(u64, Instant)> = (&tb).into_iter().map(|(k, d)| (*k, d)).collect();
    assert_eq!(got, vec![(5, t(5)), (7, t(7)), (6, t(6))]);
}

#[test]
fn capacity_one() {
    let mut tb = table(1);
    assert_eq!(tb.record(1, t(10), t(0)), Recorded::Inserted);
    assert_eq!(
        tb.record(2, t(10), t(0)),
        Recorded::Evicted {
            key: 1,
            deadline: t(10)
        }
    );
    assert_eq!(
        tb.record(3, t(20), t(10)),
        Recorded::Reclaimed {
            key: 2,
            deadline: t(10)
        }
    );
    assert_eq!(tb.len(), 1);
    assert_eq!(tb.evictions(), 1);
}
