#![allow(missing_docs)] // criterion_group! generates an undocumented public function.

//! Per-call cost of a per-key backoff decision: relent's bounded `KeyedBackoff` (capacity
//! 4,096) beside an unbounded std `HashMap` of per-key backoffs, the way a work queue keeps
//! them without relent (client-go keeps a `map[item]int` of failure counts).
//!
//! Run: `cargo bench -p relent-benches --bench keyed`
//!
//! One call = "this key failed at `now`: how long until its next try?". Contenders:
//! * relent `KeyedBackoff<u64>` with client-go's policy (5 ms × 2^n, at most 1000 s), capacity
//!   4,096: memory fixed, keys beyond the capacity evicted;
//! * `HashMap<u64, relent::Backoff>`: one full `Backoff` per key, unbounded;
//! * `HashMap<u64, u32>`: client-go's shape, a failure count per key and the formula
//!   `min(5 ms × 2^n, 1000 s)`, unbounded.
//!
//! Two key streams: `1M distinct` cycles through 1,000,000 keys (after the warm-up the maps
//! hold all of them, relent holds 4,096 and evicts on every call), and `hot 1k` cycles through
//! 1,000 keys that every contender holds. The memory side is `keyed_memory.rs`.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use relent::Instant;
use relent::backoff::Backoff;
use relent::keyed::{KeyedBackoff, client_go_item_exponential};

const CAPACITY: usize = 4_096;

/// client-go's formula on a failure count.
fn client_go_delay(n: u32) -> Duration {
    let base = Duration::from_millis(5);
    let cap = Duration::from_secs(1000);
    if n >= 64 {
        return cap;
    }
    base.checked_mul(1u32.checked_shl(n).unwrap_or(u32::MAX))
        .map_or(cap, |d| d.min(cap))
}

/// The i-th call's key: a multiplicative scramble of `i mod keys`, so consecutive calls do
/// not touch neighbouring keys.
fn key(i: u64, keys: u64) -> u64 {
    (i % keys).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("keyed_when");
    g.throughput(Throughput::Elements(1));
    g.warm_up_time(Duration::from_secs(2));
    g.measurement_time(Duration::from_secs(4));
    for (label, keys) in [("1M distinct", 1_000_000u64), ("hot 1k", 1_000)] {
        let mut store =
            KeyedBackoff::<u64>::new(client_go_item_exponential(), CAPACITY, 1).expect("capacity");
        let mut i = 0u64;
        g.bench_function(format!("relent KeyedBackoff (cap 4096), {label}"), |b| {
            b.iter(|| {
                i = i.wrapping_add(1);
                black_box(store.when(&key(i, keys), Instant::from_nanos(i)))
            });
        });
        let policy = client_go_item_exponential();
        let mut map: HashMap<u64, Backoff> = HashMap::new();
        let mut i = 0u64;
        g.bench_function(format!("HashMap<u64, Backoff> (unbounded), {label}"), |b| {
            b.iter(|| {
                i = i.wrapping_add(1);
                let now = Instant::from_nanos(i);
                let backoff = map
                    .entry(key(i, keys))
                    .or_insert_with(|| Backoff::new(policy, i));
                black_box(backoff.next_delay(now))
            });
        });
        let mut counts: HashMap<u64, u32> = HashMap::new();
        let mut i = 0u64;
        g.bench_function(
            format!("HashMap<u64, u32> client-go shape (unbounded), {label}"),
            |b| {
                b.iter(|| {
                    i = i.wrapping_add(1);
                    let n = counts.entry(key(i, keys)).or_insert(0);
                    let d = client_go_delay(*n);
                    *n = n.saturating_add(1);
                    black_box(d)
                });
            },
        );
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = bench
}
criterion_main!(benches);
