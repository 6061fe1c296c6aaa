//! Checks for `relent::table::DeadlineTable` against a reference model.
//!
//! The model is a `Vec` ordered most recently used first, searched linearly, implementing
//! the documented rules as plainly as possible (ignore deadlines not after `now`; an update
//! keeps the later deadline; a full table reuses the first expired entry among the
//! `RECLAIM_SCAN` least recently used, else evicts the least recently used and counts it;
//! lookups remove expired entries and refresh live ones; `peek` changes nothing). After
//! every operation the answers, `len`, `is_empty`, the eviction count, the evicted and
//! reclaimed keys and the whole recency order with deadlines must agree, and `len` never
//! exceeds the capacity. Keys are small integers, or strings looked up by `&str`; the hasher
//! is seeded, or one that sends every key to the same bucket.

use core::borrow::Borrow;
use core::fmt::Debug;
use core::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use core::time::Duration;

use relent::Instant;
use relent::table::{DeadlineTable, NextAllowed, RECLAIM_SCAN, Recorded};

use crate::input::Input;

/// The documented rules, written as directly as possible.
struct Model<K> {
    /// Most recently used first.
    entries: Vec<(K, Instant)>,
    capacity: usize,
    evictions: u64,
}

impl<K: Clone + Eq> Model<K> {
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

/// Moves `t` by a signed number of nanoseconds, saturating at both ends.
fn shift(t: Instant, by: i64) -> Instant {
    Instant::from_nanos(t.as_nanos().saturating_add_signed(by))
}

/// Runs the operations encoded in `input` against `table` and the model.
fn run<K, Q, S>(
    input: &mut Input<'_>,
    mut table: DeadlineTable<K, S>,
    keys: u16,
    start: Instant,
    scale: i64,
    key: impl Fn(u16) -> K,
) where
    K: Borrow<Q> + Hash + Eq + Clone + Debug,
    Q: Hash + Eq + ?Sized,
    S: BuildHasher,
{
    let capacity = table.capacity();
    let mut model = Model {
        entries: Vec::new(),
        capacity,
        evictions: 0,
    };
    let mut now = start;
    let mut steps = 0usize;
    while let Some(op) = input.next() {
        steps += 1;
        if steps > 4096 {
            break;
        }
        let k = key(u16::from(input.byte()) % keys);
        match op % 16 {
            0..=4 => {
                // Deadline offsets in -8..24 units: some already past, most in the future.
                let offset = i64::from(input.byte() % 32) - 8;
                let d = shift(now, offset * scale);
                let got = table.record(k.clone(), d, now);
                assert_eq!(
                    got,
                    model.record(k, d, now),
                    "record at {now:?} until {d:?}"
                );
            }
            5 => {
                let got = table.record(k.clone(), Instant::MAX, now);
                assert_eq!(got, model.record(k, Instant::MAX, now));
            }
            6 | 7 => {
                let got = table.lookup(k.borrow(), now);
                assert_eq!(got, model.lookup(&k, now), "lookup at {now:?}");
                if let Some(d) = got {
                    assert!(d > now);
                }
            }
            8 => assert_eq!(table.peek(k.borrow(), now), model.peek(&k, now)),
            9 => {
                let got = table.next_allowed(k.borrow(), now);
                let want = match model.lookup(&k, now) {
                    Some(until) => NextAllowed::Wait { until },
                    None => NextAllowed::Now,
                };
                assert_eq!(got, want, "next_allowed at {now:?}");
                assert_eq!(got.is_now(), want == NextAllowed::Now);
                match got {
                    NextAllowed::Wait { until } => {
                        assert!(until > now);
                        assert_eq!(got.delay(now), until.saturating_duration_since(now));
                        assert!(!got.delay(now).is_zero());
                    }
                    NextAllowed::Now => assert_eq!(got.delay(now), Duration::ZERO),
                }
            }
            10 => {
                let got = table.remove(k.borrow());
                assert_eq!(got, model.remove_entry(&k).map(|(_, d)| d));
            }
            11 => assert_eq!(table.remove_entry(k.borrow()), model.remove_entry(&k)),
            12 | 13 => {
                // The clock moves by -16..48 units (a monotonic clock should not go back; it
                // must not panic or corrupt anything when it does).
                let by = i64::from(input.byte() % 64) - 16;
                now = shift(now, by * scale);
            }
            14 => assert_eq!(table.purge_expired(now), model.purge(now)),
            _ => {
                if input.byte() < 16 {
                    table.clear();
                    model.entries.clear();
                } else {
                    now = shift(now, i64::from(input.u32()) * scale);
                }
            }
        }
        assert!(
            table.len() <= capacity,
            "len {} > capacity {capacity}",
            table.len()
        );
        assert_eq!(table.len(), model.entries.len());
        assert_eq!(table.is_empty(), model.entries.is_empty());
        assert_eq!(table.evictions(), model.evictions);
        let order: Vec<(K, Instant)> = table.iter().map(|(k, d)| (k.clone(), d)).collect();
        assert_eq!(order, model.entries, "recency order");
    }
}

/// The `deadline_table` target: a table configuration, then operations.
///
/// Input layout: capacity (`1..=RECLAIM_SCAN + 8`), a byte picking the key type and hasher
/// and the number of distinct keys, a hash seed (u64 LE), a byte picking the start time
/// (zero, small, or next to `Instant::MAX`) and the time unit; then one op byte per operation
/// with a key byte and arguments. Panics only when the table and the model disagree.
pub fn deadline_table(data: &[u8]) {
    let mut input = Input::new(data);
    let capacity = 1 + usize::from(input.byte()) % (RECLAIM_SCAN + 8);
    let shape = input.byte();
    let seed = input.u64();
    let when = input.byte();
    let keys = 1 + u16::from(shape >> 2) % 40;
    let start = match when % 4 {
        0 => Instant::ZERO,
        1 => Instant::from_nanos(u64::from(input.u16())),
        2 => Instant::from_secs(1_000),
        _ => shift(Instant::MAX, -i64::from(input.byte())),
    };
    // The time unit: nanoseconds (to hit Instant::MAX) or milliseconds.
    let scale = if when & 4 == 4 { 1 } else { 1_000_000 };
    match shape % 4 {
        0 | 1 => {
            let table = DeadlineTable::<u16>::new(capacity, seed).expect("a small capacity");
            run::<u16, u16, _>(&mut input, table, keys, start, scale, |k| k);
        }
        2 => {
            let table = DeadlineTable::<u16, BuildHasherDefault<Collide>>::with_hasher(
                capacity,
                BuildHasherDefault::default(),
            )
            .expect("a small capacity");
            run::<u16, u16, _>(&mut input, table, keys, start, scale, |k| k);
        }
        _ => {
            let table = DeadlineTable::<String>::new(capacity, seed).expect("a small capacity");
            run::<String, str, _>(&mut input, table, keys, start, scale, |k| {
                format!("https://host{k}.example")
            });
        }
    }
}
