//! Model-based test of `relent::table::DeadlineTable`.
//!
//! A reference model (a `Vec` ordered most recently used first, searched linearly) implements
//! the documented rules in the plainest possible way. Random sequences of record / lookup /
//! peek / next_allowed / remove / purge / clear / time steps (forwards and backwards) are run
//! against both; after every step the outcomes, `len`, the eviction counter and the full
//! recency order with deadlines must agree, and `len() <= capacity()` must hold.
#![cfg(feature = "alloc")]

use core::borrow::Borrow;
use core::fmt::Debug;
use core::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};

use proptest::prelude::*;
use relent::Instant;
use relent::table::{DeadlineTable, NextAllowed, RECLAIM_SCAN, Recorded};

/// The documented rules, written as directly as possible.
struct Model<K> {
    /// Most recently used first.
    entries: Vec<(K, Instant)>,
    capacity: usize,
    evictions: u64,
}

impl<K: Clone + Eq> Model<K> {
    fn new(capacity: usize) -> Self {
        Model {
            entries: Vec::new(),
            capacity,
            evictions: 0,
        }
    }

    fn position(&self, k: &K) -> Option<usize> {
        self.entries.iter().position(|(e, _)| e == k)
    }

    fn record(&mut self, k: K, d: Instant, now: Instant) -> Recorded<K> {
        if d <= now {
            return Recorded::Ignored;
        }
        if let Some(p) = self.position(&k) {
            let (k0, d0) = self.entries.remove(p);
            let nd = d0.max(d);
            self.entries.insert(0, (k0, nd));
            return Recorded::Updated { deadline: nd };
        }
        if self.entries.len() < self.capacity {
            self.entries.insert(0, (k, d));
            return Recorded::Inserted;
        }
        let n = self.entries.len();
        let victim = (0..RECLAIM_SCAN.min(n))
            .map(|j| n - 1 - j)
            .find(|&p| self.entries[p].1 <= now)
            .unwrap_or(n - 1);
        let (vk, vd) = self.entries.remove(victim);
        self.entries.insert(0, (k, d));
        if vd > now {
            self.evictions += 1;
            Recorded::Evicted {
                key: vk,
                deadline: vd,
            }
        } else {
            Recorded::Reclaimed {
                key: vk,
                deadline: vd,
            }
        }
    }

    fn lookup(&mut self, k: &K, now: Instant) -> Option<Instant> {
        let p = self.position(k)?;
        let entry = self.entries.remove(p);
        if entry.1 > now {
            let d = entry.1;
            self.entries.insert(0, entry);
            Some(d)
        } else {
            None
        }
    }

    fn peek(&self, k: &K, now: Instant) -> Option<Instant> {
        let p = self.position(k)?;
        let d = self.entries[p].1;
        (d > now).then_some(d)
    }

    fn remove_entry(&mut self, k: &K) -> Option<(K, Instant)> {
        let p = self.position(k)?;
        Some(self.entries.remove(p))
    }

    fn purge(&mut self, now: Instant) -> usize {
        let before = self.entries.len();
        self.entries.retain(|(_, d)| *d > now);
        before - self.entries.len()
    }
}

#[derive(Clone, Debug)]
enum Op {
    /// Record key with deadline `now + offset` (offset may be negative or zero).
    Record(u16, i64),
    /// Record key with the latest representable deadline.
    RecordMax(u16),
    Lookup(u16),
    Peek(u16),
    NextAllowed(u16),
    Remove(u16),
    RemoveEntry(u16),
    /// Move the clock by a signed step (a monotonic clock should not go back; it must not panic).
    Advance(i64),
    Purge,
    Clear,
}

fn op(keys: u16) -> impl Strategy<Value = Op> {
    let k = 0..keys;
    prop_oneof![
        6 => (k.clone(), -5i64..30).prop_map(|(k, o)| Op::Record(k, o)),
        1 => k.clone().prop_map(Op::RecordMax),
        3 => k.clone().prop_map(Op::Lookup),
        2 => k.clone().prop_map(Op::Peek),
        2 => k.clone().prop_map(Op::NextAllowed),
        1 => k.clone().prop_map(Op::Remove),
        1 => k.prop_map(Op::RemoveEntry),
        3 => (-10i64..15).prop_map(Op::Advance),
        1 => Just(Op::Purge),
        1 => Just(Op::Clear),
    ]
}

fn shift(t: Instant, by: i64) -> Instant {
    Instant::from_nanos(t.as_nanos().saturating_add_signed(by))
}

fn start_time() -> impl Strategy<Value = Instant> {
    prop_oneof![
        Just(Instant::ZERO),
        (0u64..1_000).prop_map(Instant::from_nanos),
        Just(shift(Instant::MAX, -20)),
    ]
}

/// Runs `ops` against a table and the model; `key` maps a key number to a table key and `q`
/// turns a stored key into the borrowed form used for lookups (e.g. `String` -> `str`).
fn run<K, Q, S>(
    mut table: DeadlineTable<K, S>,
    start: Instant,
    ops: &[Op],
    key: impl Fn(u16) -> K,
) -> Result<(), TestCaseError>
where
    K: Borrow<Q> + Hash + Eq + Clone + Debug,
    Q: Hash + Eq + ?Sized,
    S: BuildHasher,
{
    let capacity = table.capacity();
    let mut model = Model::new(capacity);
    let mut now = start;
    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::Record(k, o) => {
                let d = shift(now, o);
                let got = table.record(key(k), d, now);
                prop_assert_eq!(got, model.record(key(k), d, now), "step {} {:?}", step, op);
            }
            Op::RecordMax(k) => {
                let got = table.record(key(k), Instant::MAX, now);
                let want = model.record(key(k), Instant::MAX, now);
                prop_assert_eq!(got, want, "step {} {:?}", step, op);
            }
            Op::Lookup(k) => {
                let kk = key(k);
                let got = table.lookup(kk.borrow(), now);
                prop_assert_eq!(got, model.lookup(&kk, now), "step {} {:?}", step, op);
            }
            Op::Peek(k) => {
                let kk = key(k);
                let got = table.peek(kk.borrow(), now);
                prop_assert_eq!(got, model.peek(&kk, now), "step {} {:?}", step, op);
            }
            Op::NextAllowed(k) => {
                let kk = key(k);
                let got = table.next_allowed(kk.borrow(), now);
                let want = match model.lookup(&kk, now) {
                    Some(until) => NextAllowed::Wait { until },
                    None => NextAllowed::Now,
                };
                prop_assert_eq!(got, want, "step {} {:?}", step, op);
                if let NextAllowed::Wait { until } = got {
                    prop_assert!(until > now);
                    prop_assert_eq!(got.delay(now), until.saturating_duration_since(now));
                }
            }
            Op::Remove(k) => {
                let kk = key(k);
                let got = table.remove(kk.borrow());
                let want = model.remove_entry(&kk).map(|(_, d)| d);
                prop_assert_eq!(got, want, "step {} {:?}", step, op);
            }
            Op::RemoveEntry(k) => {
                let kk = key(k);
                let got = table.remove_entry(kk.borrow());
                prop_assert_eq!(got, model.remove_entry(&kk), "step {} {:?}", step, op);
            }
            Op::Advance(by) => now = shift(now, by),
            Op::Purge => {
                prop_assert_eq!(table.purge_expired(now), model.purge(now), "step {}", step);
            }
            Op::Clear => {
                table.clear();
                model.entries.clear();
            }
        }
        prop_assert!(table.len() <= capacity, "len {} > capacity", table.len());
        prop_assert_eq!(table.len(), model.entries.len(), "len after step {}", step);
        prop_assert_eq!(table.is_empty(), model.entries.is_empty());
        prop_assert_eq!(
            table.evictions(),
            model.evictions,
            "evictions after step {}",
            step
        );
        let order: Vec<(K, Instant)> = table.iter().map(|(k, d)| (k.clone(), d)).collect();
        prop_assert_eq!(&order, &model.entries, "recency order after step {}", step);
    }
    Ok(())
}

/// Every key hashes to the same value: what a successful collision attack produces. Only
/// speed may suffer, never the answers.
#[derive(Default)]
struct Collide;
impl Hasher for Collide {
    fn finish(&self) -> u64 {
        0xdead_beef
    }
    fn write(&mut self, _: &[u8]) {}
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Small tables, few keys: lots of hits, updates, reclaims and evictions. Capacities
    /// above RECLAIM_SCAN exercise the bounded scan.
    #[test]
    fn small_tables_agree_with_model(
        capacity in 1usize..=(RECLAIM_SCAN + 4),
        seed: u64,
        start in start_time(),
        ops in prop::collection::vec(op(24), 0..200),
    ) {
        let table = DeadlineTable::<u16>::new(capacity, seed).unwrap();
        run::<u16, u16, _>(table, start, &ops, |k| k)?;
    }

    /// The same, with every key in one hash bucket.
    #[test]
    fn colliding_hasher_agrees_with_model(
        capacity in 1usize..=(RECLAIM_SCAN + 4),
        start in start_time(),
        ops in prop::collection::vec(op(24), 0..200),
    ) {
        let table = DeadlineTable::<u16, BuildHasherDefault<Collide>>::with_hasher(
            capacity,
            BuildHasherDefault::default(),
        )
        .unwrap();
        run::<u16, u16, _>(table, start, &ops, |k| k)?;
    }

    /// `String` keys looked up by `&str`, as the per-origin Retry-After table does.
    #[test]
    fn string_keys_agree_with_model(
        capacity in 1usize..=(RECLAIM_SCAN + 4),
        seed: u64,
        start in start_time(),
        ops in prop::collection::vec(op(24), 0..200),
    ) {
        let table = DeadlineTable::<String>::new(capacity, seed).unwrap();
        run::<String, str, _>(table, start, &ops, |k| format!("https://host{k}.example"))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Larger tables and long runs: many erase/insert cycles, so the hash index goes through
    /// its in-place rehashes while the model keeps checking every answer.
    #[test]
    fn long_runs_agree_with_model(
        capacity in 16usize..200,
        seed: u64,
        ops in prop::collection::vec(op(600), 1000..3000),
    ) {
        let table = DeadlineTable::<u16>::new(capacity, seed).unwrap();
        run::<u16, u16, _>(table, Instant::from_nanos(1_000), &ops, |k| k)?;
    }
}
