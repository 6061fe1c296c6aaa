#![allow(missing_docs)]

//! The heap each deadline-table contender of `core.rs`'s `deadline_table` group holds after
//! a stream of distinct keys: no timing, one table.
//!
//! Run: `cargo bench -p relent-benches --bench table_memory`
//!
//! Measured with `allocation-counter`, which installs a counting global allocator in this
//! binary (that is why this is a separate bench: the counter would tax every allocation in
//! the timed benches). The figure is the bytes requested from the allocator and still held
//! (allocator overhead not included) after feeding 4,096, 10,000, 100,000 and 1,000,000
//! distinct keys, 1 ms apart, each with a deadline 120 s ahead (nothing expires: the worst
//! case). The bounded contenders (relent, an earliest-deadline-evicting map, `lru`) hold 4,096 keys; the
//! unbounded std `HashMap` holds them all. For `String` keys it includes the held keys' own
//! text (`https://host-N.example.com`, 25 to 32 bytes each). The table is printed and
//! written to `target/bench-report/table_memory.md`.

use std::fmt::Write as _;
use std::hash::Hash;
use std::num::NonZeroUsize;

use allocation_counter::measure;
use lru::LruCache;
use relent::{DeadlineTable, Instant};
use relent_benches::EarliestDeadlineMap;

mod common;
use common::{ratio, write_report};

const CAPACITY: usize = 4_096;
const FED: [usize; 4] = [4_096, 10_000, 100_000, 1_000_000];
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

/// `1234567` as `1,234,567`.
fn sep(v: i64) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if v < 0 { format!("-{out}") } else { out }
}

fn now(i: usize) -> Instant {
    Instant::from_millis(i as u64)
}

fn deadline(i: usize) -> Instant {
    now(i) + core::time::Duration::from_millis(TTL_MS)
}

fn rows<K: Hash + Eq + Clone>(label: &str, key: impl Fn(usize) -> K + Copy, md: &mut String) {
    for n in FED {
        let mut reported = 0;
        let relent = held(
            n,
            || DeadlineTable::<K>::new(CAPACITY, 1).expect("table"),
            |t, i| {
                let _ = t.record(key(i), deadline(i), now(i));
                reported = t.allocated_bytes();
            },
        );
        let seed = held(
            n,
            || EarliestDeadlineMap::<K>::new(CAPACITY),
            |t, i| t.record(key(i), deadline(i), now(i)),
        );
        let lru = held(
            n,
            || LruCache::<K, Instant>::new(NonZeroUsize::new(CAPACITY).expect("non-zero")),
            |t, i| {
                let _ = t.push(key(i), deadline(i));
            },
        );
        let map = held(n, std::collections::HashMap::<K, Instant>::new, |t, i| {
            t.insert(key(i), deadline(i));
        });
        let f = |v: i64| v as f64;
        let (n, reported) = (sep(n as i64), sep(reported as i64));
        let (relent_s, map_s, lru_s, seed_s) = (sep(relent), sep(map), sep(lru), sep(seed));
        writeln!(
            md,
            "| {label} | {n} | {relent_s} ({reported}) | {map_s} | {lru_s} | {seed_s} | {} | {} | {} |",
            ratio(f(relent), f(map)),
            ratio(f(relent), f(lru)),
            ratio(f(relent), f(seed)),
        )
        .expect("write to a String");
    }
}

fn main() {
    let mut md = String::new();
    md.push_str("### Deadline table memory\n\n");
    md.push_str(
        "Heap bytes held (allocation-counter; allocator overhead not included) after feeding \
         N distinct keys with live deadlines into a capacity-4,096 relent `DeadlineTable` \
         (its `allocated_bytes()` in parentheses, key text excluded), an unbounded std \
         `HashMap`, `lru::LruCache` (capacity 4,096) and an earliest-deadline-evicting map (capacity \
         4,096); `String` rows include the held keys' text; command: \
         `cargo bench -p relent-benches --bench table_memory`.\n\n",
    );
    md.push_str(
        "| keys | fed | relent `DeadlineTable` | std `HashMap` (unbounded) | `lru::LruCache` \
         | earliest-evict `HashMap` | relent ÷ HashMap | relent ÷ lru | relent ÷ earliest-evict |\n",
    );
    md.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    rows::<u64>("u64", |i| i as u64, &mut md);
    rows::<String>(
        "String",
        |i| format!("https://host-{i}.example.com"),
        &mut md,
    );
    print!("{md}");
    write_report("table_memory", &md);
}
