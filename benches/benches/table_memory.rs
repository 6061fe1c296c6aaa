#![allow(missing_docs)]

//! The heap each deadline-table contender of `core.rs`'s `deadline_table` group holds
//! with 4,096 keys: no timing, one printed table.
//!
//! Run: `cargo bench -p relent-benches --bench table_memory`
//!
//! Measured with `allocation-counter`, which installs a counting global allocator in this
//! binary (that is why this is a separate bench: the counter would tax every allocation in
//! the timed benches). The figure is the bytes requested from the allocator and still held
//! (allocator overhead not included), measured twice: right after 4,096 inserts, and after
//! a stream of 100,000 distinct keys (steady state: every structure is full and has evicted
//! 95,904 keys). For `String` keys it includes the keys' own text
//! (`https://host-N.example.com`, 25 to 30 bytes each).

use std::hash::Hash;
use std::num::NonZeroUsize;

use allocation_counter::measure;
use lru::LruCache;
use relent::{DeadlineTable, Instant};
use relent_benches::EarliestDeadlineMap;

const CAPACITY: usize = 4_096;
const STREAM: usize = 100_000;
const TTL_MS: u64 = 120_000;

/// Builds a structure, feeds it `n` distinct keys (1 ms apart, deadlines 120 s ahead) and
/// returns the bytes it holds at the end, keeping it alive across the measurement.
fn held<T>(n: usize, make: impl FnOnce() -> T, mut record: impl FnMut(&mut T, usize)) -> i64 {
    let mut keep = None;
    let info = measure(|| {
        let mut t = make();
        for i in 0..n {
            record(&mut t, i);
        }
        keep = Some(t);
    });
    drop(keep);
    info.bytes_current
}

fn now(i: usize) -> Instant {
    Instant::from_millis(i as u64)
}

fn row<K: Hash + Eq + Clone>(label: &str, key: impl Fn(usize) -> K + Copy) {
    for n in [CAPACITY, STREAM] {
        let mut relent_reported = 0;
        let relent = held(
            n,
            || DeadlineTable::<K>::new(CAPACITY, 1).expect("table"),
            |t, i| {
                let _ = t.record(
                    key(i),
                    now(i) + core::time::Duration::from_millis(TTL_MS),
                    now(i),
                );
                relent_reported = t.allocated_bytes();
            },
        );
        let seed = held(
            n,
            || EarliestDeadlineMap::<K>::new(CAPACITY),
            |t, i| {
                t.record(
                    key(i),
                    now(i) + core::time::Duration::from_millis(TTL_MS),
                    now(i),
                )
            },
        );
        let lru = held(
            n,
            || LruCache::<K, Instant>::new(NonZeroUsize::new(CAPACITY).expect("non-zero")),
            |t, i| {
                let _ = t.push(key(i), now(i) + core::time::Duration::from_millis(TTL_MS));
            },
        );
        println!(
            "| {label} | {n} | {relent} ({relent_reported} by allocated_bytes) | {seed} | {lru} |"
        );
    }
}

fn main() {
    println!("heap held, bytes (capacity {CAPACITY}; keys fed: 4,096, then a 100,000-key stream)");
    println!("| keys | fed | relent DeadlineTable | seed-003 HashMap | lru::LruCache |");
    println!("|---|---|---|---|---|");
    row::<u64>("u64", |i| i as u64);
    row::<String>("String", |i| format!("https://host-{i}.example.com"));
}
