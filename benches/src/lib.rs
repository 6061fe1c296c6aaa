//! Side-by-side benchmarks of relent against peer crates; see `benches/` and the README.
//!
//! - `core`: the sans-IO core against peers, group by group (one next-delay decision and a
//!   10-decision sequence against backon, exponential-backoff, backoff, retry-policies,
//!   tokio-retry2 and tower; HTTP dates against httpdate; the deadline table against the
//!   earliest-deadline-evicting map, lru and an unbounded `HashMap`; a 10-attempt operation against
//!   retry-policies' and backon's loops):
//!   `cargo bench -p relent-benches --bench core -- --warm-up-time 1 --measurement-time 3`
//! - `tokio_retry`: `relent_tokio::Retrier::run` around an immediately
//!   successful future, against the bare call and backon's `.retry()`:
//!   `cargo bench -p relent-benches --bench tokio_retry -- --warm-up-time 1 --measurement-time 3`
//! - `table_memory`: the heap each deadline-table contender holds after 4,096 to 1,000,000
//!   distinct keys (no timing): `cargo bench -p relent-benches --bench table_memory`
//! - `allocs`: allocations per decision for relent and every peer (no timing):
//!   `cargo bench -p relent-benches --bench allocs`
//! - `callgrind`: the `core` workloads for `valgrind --tool=callgrind` (instruction counts,
//!   noise-free): `bash benches/callgrind.sh [FILTER]`
//!
//! The non-criterion benches also write their table to `target/bench-report/<name>.md`.
//!
//! Results, as ratios against the peers measured in the same run, are in `README.md`.
//!
//! This library holds the baselines that no crate provides, so that the bench
//! files only wire contenders together.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

use relent::Instant;

/// A per-URL Retry-After store bounded by "LRU eviction by earliest deadline" (the simple
/// bounded store a service writes first, before [`relent::DeadlineTable`]),
/// written out as a baseline for the `deadline_table` benchmark group.
///
/// melotic/reqwest-retry-after's `RetryAfterMiddleware` keeps an unbounded
/// `HashMap<Url, SystemTime>`; services that inline it bound it by "LRU eviction by earliest deadline":
/// when a new key arrives at a full map, the entry whose deadline comes first is removed.
/// A `HashMap` has no order, so finding that entry is a linear scan over every entry:
/// O(capacity) per insertion once the map is full, which is what this baseline measures.
/// It uses std's `HashMap` with its default (SipHash-1-3, randomly keyed) hasher, as such
/// middleware would.
///
/// The answers are kept equal to [`relent::DeadlineTable`]'s for a fair comparison:
/// recording an existing key keeps the later deadline, and a lookup that finds an expired
/// entry removes it and reports no deadline. Only the eviction rule differs (relent reuses an
/// expired entry near the least-recently-used end, else evicts the least recently used).
#[derive(Debug, Clone)]
pub struct EarliestDeadlineMap<K> {
    map: HashMap<K, Instant>,
    capacity: usize,
    evictions: u64,
}

impl<K: Hash + Eq + Clone> EarliestDeadlineMap<K> {
    /// An empty map that holds at most `capacity` keys (at least one), with room reserved up front.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        EarliestDeadlineMap {
            map: HashMap::with_capacity(capacity),
            capacity,
            evictions: 0,
        }
    }

    /// Remembers that `key` should not be contacted before `deadline` (ignored if `deadline <= now`).
    ///
    /// A known key keeps `max(stored, deadline)`. A new key at a full map first removes the
    /// entry with the earliest deadline, found by scanning all entries.
    pub fn record(&mut self, key: K, deadline: Instant, now: Instant) {
        if deadline <= now {
            return;
        }
        if let Some(stored) = self.map.get_mut(&key) {
            if deadline > *stored {
                *stored = deadline;
            }
            return;
        }
        if self.map.len() >= self.capacity {
            // The seed's eviction rule: the earliest deadline goes. O(len) scan, then one
            // clone of the victim's key to remove it (the borrow of the scan must end first).
            //
            // A plain loop on purpose: written as `iter().min_by_key(..)`, one build had
            // LLVM outline hashbrown's `fold` and carry the running minimum through the
            // stack, which made this scan about 6× slower (2.8 s instead of 0.46 s per
            // stream). The baseline should be measured at its best, not at a codegen accident.
            let mut earliest: Option<(&K, Instant)> = None;
            for (k, &d) in &self.map {
                if earliest.is_none_or(|(_, e)| d < e) {
                    earliest = Some((k, d));
                }
            }
            if let Some((victim, d)) = earliest.map(|(k, d)| (k.clone(), d)) {
                self.map.remove(&victim);
                if d > now {
                    self.evictions += 1;
                }
            }
        }
        self.map.insert(key, deadline);
    }

    /// The deadline in force for `key` at `now`, if any; an expired entry is removed on sight.
    pub fn next_allowed<Q>(&mut self, key: &Q, now: Instant) -> Option<Instant>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let deadline = *self.map.get(key)?;
        if deadline > now {
            Some(deadline)
        } else {
            self.map.remove(key);
            None
        }
    }

    /// Number of keys held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// `true` when no key is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Removes every entry, keeping the memory.
    pub fn clear(&mut self) {
        self.map.clear();
    }

    /// Live entries removed to make room so far.
    #[must_use]
    pub fn evictions(&self) -> u64 {
        self.evictions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn evicts_the_earliest_deadline_when_full() {
        let mut m = EarliestDeadlineMap::new(2);
        let now = Instant::ZERO;
        m.record("a", now + 3 * S, now);
        m.record("b", now + S, now);
        m.record("c", now + 2 * S, now);
        assert_eq!(m.len(), 2);
        assert_eq!(m.evictions(), 1);
        assert_eq!(m.next_allowed("b", now), None, "earliest deadline evicted");
        assert_eq!(m.next_allowed("a", now), Some(now + 3 * S));
        assert_eq!(m.next_allowed("c", now), Some(now + 2 * S));
    }

    #[test]
    fn keeps_the_later_deadline_and_forgets_expired_entries() {
        let mut m = EarliestDeadlineMap::new(4);
        let now = Instant::ZERO;
        m.record("a", now + 5 * S, now);
        m.record("a", now + 2 * S, now);
        assert_eq!(m.next_allowed("a", now), Some(now + 5 * S));
        m.record("z", now, now);
        assert!(
            m.next_allowed("z", now).is_none(),
            "a past deadline is ignored"
        );
        assert_eq!(m.next_allowed("a", now + 5 * S), None);
        assert!(m.is_empty(), "expired entry removed on lookup");
    }
}
