#![allow(missing_docs)]

//! The heap a per-key backoff store holds after 1,000,000 distinct keys failed: relent's
//! bounded `KeyedBackoff` (capacity 4,096) beside unbounded std `HashMap`s of per-key
//! backoffs. No timing.
//!
//! Run: `cargo bench -p relent-benches --bench keyed_memory`
//!
//! Measured with `allocation-counter` (a counting global allocator, hence a bench of its
//! own): the bytes requested from the allocator and still held (allocator overhead not
//! included) after N distinct keys each failed once, at 4,096, 10,000, 100,000 and 1,000,000
//! keys. The table is printed and written to `target/bench-report/keyed_memory.md`.

use std::collections::HashMap;
use std::fmt::Write as _;

use allocation_counter::measure;
use relent::Instant;
use relent::backoff::Backoff;
use relent::keyed::{KeyedBackoff, client_go_item_exponential};

mod common;
use common::{ratio, write_report};

const CAPACITY: usize = 4_096;
const FED: [usize; 4] = [4_096, 10_000, 100_000, 1_000_000];

fn held<T>(n: usize, make: impl FnOnce() -> T, mut fail: impl FnMut(&mut T, u64)) -> i64 {
    let mut keep = None;
    let info = measure(|| {
        let mut t = make();
        for i in 0..n as u64 {
            fail(&mut t, i);
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

fn main() {
    let mut md = String::new();
    md.push_str("### Per-key backoff memory\n\n");
    md.push_str(
        "Heap bytes held (allocation-counter; allocator overhead not included) after N \
         distinct `u64` keys each failed once: relent `KeyedBackoff` with client-go's policy, \
         capacity 4,096 (its `allocated_bytes()` in parentheses), an unbounded \
         `HashMap<u64, relent::Backoff>`, and client-go's shape, an unbounded \
         `HashMap<u64, u32>` of failure counts; command: \
         `cargo bench -p relent-benches --bench keyed_memory`.\n\n",
    );
    md.push_str(
        "| fed | relent `KeyedBackoff` | `HashMap<u64, Backoff>` | `HashMap<u64, u32>` \
         | relent ÷ Backoff map | relent ÷ count map | relent evictions |\n",
    );
    md.push_str("|---:|---:|---:|---:|---:|---:|---:|\n");
    let policy = client_go_item_exponential();
    for n in FED {
        let (mut reported, mut evictions) = (0, 0);
        let relent = held(
            n,
            || KeyedBackoff::<u64>::new(policy, CAPACITY, 1).expect("capacity"),
            |t, i| {
                let _ = t.when(&i, Instant::from_millis(i));
                reported = t.allocated_bytes();
                evictions = t.evictions();
            },
        );
        let backoffs = held(n, HashMap::<u64, Backoff>::new, |t, i| {
            let _ = t
                .entry(i)
                .or_insert_with(|| Backoff::new(policy, i))
                .next_delay(Instant::from_millis(i));
        });
        let counts = held(n, HashMap::<u64, u32>::new, |t, i| {
            *t.entry(i).or_insert(0) += 1;
        });
        let f = |v: i64| v as f64;
        let vs_backoffs = ratio(f(relent), f(backoffs));
        let vs_counts = ratio(f(relent), f(counts));
        writeln!(
            md,
            "| {} | {} ({}) | {} | {} | {vs_backoffs} | {vs_counts} | {} |",
            sep(n as i64),
            sep(relent),
            sep(reported as i64),
            sep(backoffs),
            sep(counts),
            sep(evictions as i64),
        )
        .expect("write to a String");
    }
    print!("{md}");
    write_report("keyed_memory", &md);
}
