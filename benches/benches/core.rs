#![allow(missing_docs)] // criterion_group! generates an undocumented public function.

//! The sans-IO core against peer crates, each group with its peers in the same run.
//!
//! Run: `cargo bench -p relent-benches --bench core -- --warm-up-time 1 --measurement-time 3`
//!
//! Groups (a contender's id is `group/contender/case`):
//!
//! - `backoff`: construct a backoff and take 10 delays of exponential 100 ms ×2 capped at
//!   10 s: relent's `Backoff` against backon's `ExponentialBuilder` iterator and the
//!   `backoff` crate (the Rust port of cenkalti/backoff). The jitter kinds differ by crate;
//!   see `common/mod.rs`, which holds every contender (shared with `callgrind.rs`).
//! - `http_date`: parsing the three HTTP-date formats, a delay-seconds `Retry-After`, and
//!   formatting an IMF-fixdate: relent against `httpdate` (and `str::parse::<u64>`).
//! - `deadline_table`: a stream of 100,000 distinct keys through a capacity-4,096 table:
//!   relent's `DeadlineTable` against the seed-003 design
//!   (`relent_benches::EarliestDeadlineMap`) and `lru::LruCache`.
//! - `machine`: one whole operation (503, 503, 200) through relent's `Retry` machine
//!   against backon's iterator with a hand-written status check.
//!
//! Before timing anything, `check_equivalence` asserts that the contenders of each group
//! give the same answers for the inputs used, so a ratio never compares different work
//! by mistake (where the work differs on purpose, the comment at the group says how).

use std::hint::black_box;
use std::io::Write as _;
use std::time::{Duration, SystemTime};

use backoff::backoff::Backoff as _;
use backon::BackoffBuilder as _;
use criterion::{
    BatchSize, BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group,
    criterion_main, measurement::WallTime,
};
use relent::backoff::{Backoff, Jitter};
use relent::hint::{RetryAfter, format_imf_fixdate, parse_http_date, parse_retry_after};
use relent::{Instant, UnixTime};

mod common;
use common::*;

// ---------------------------------------------------------------------------------------
// backoff (the contenders and how their jitter differs: see `common`)
// ---------------------------------------------------------------------------------------

fn bench_backoff(c: &mut Criterion) {
    let mut g = c.benchmark_group("backoff");
    // A new seed per iteration for every seeded contender (see `Seeds`).
    let seeds = Seeds::new();

    // No jitter: the same schedule on all three (100, 200, …, 6400, 10000 ×3 ms).
    let plain = relent_policy(Jitter::None);
    g.bench_function(BenchmarkId::new("relent", "no_jitter"), |b| {
        b.iter(|| relent_delays(black_box(plain), black_box(seeds.next())))
    });
    g.bench_function(BenchmarkId::new("backon", "no_jitter"), |b| {
        b.iter(|| backon_delays(black_box(backon_builder(false))))
    });
    g.bench_function(BenchmarkId::new("backoff_crate", "no_jitter"), |b| {
        b.iter(|| backoff_crate_delays(black_box(0.0)))
    });

    // Jitter. relent full jitter vs backon's additive jitter: backon's default build seeds
    // its fastrand generator from a thread-local one (what a caller gets); `seeded` passes
    // a seed, as relent always takes one.
    let full = relent_policy(Jitter::Full);
    g.bench_function(BenchmarkId::new("relent", "full_jitter"), |b| {
        b.iter(|| relent_delays(black_box(full), black_box(seeds.next())))
    });
    g.bench_function(BenchmarkId::new("backon", "jitter"), |b| {
        b.iter(|| backon_delays(black_box(backon_builder(true))))
    });
    g.bench_function(BenchmarkId::new("backon", "jitter_seeded"), |b| {
        b.iter(|| {
            backon_delays(black_box(
                backon_builder(true).with_jitter_seed(seeds.next()),
            ))
        })
    });
    // Proportional ±50 %, the one kind relent and the backoff crate share.
    let proportional = relent_policy(PROPORTIONAL_HALF);
    g.bench_function(BenchmarkId::new("relent", "proportional_0.5"), |b| {
        b.iter(|| relent_delays(black_box(proportional), black_box(seeds.next())))
    });
    g.bench_function(BenchmarkId::new("backoff_crate", "proportional_0.5"), |b| {
        b.iter(|| backoff_crate_delays(black_box(0.5)))
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------
// http_date
// ---------------------------------------------------------------------------------------

fn bench_http_date(c: &mut Criterion) {
    let mut g = c.benchmark_group("http_date");
    for (name, input) in [
        ("imf_fixdate", IMF),
        ("rfc850", RFC850),
        ("asctime", ASCTIME),
    ] {
        g.bench_function(BenchmarkId::new("relent", name), |b| {
            b.iter(|| parse_http_date(black_box(input.as_bytes()), black_box(NOW)))
        });
        g.bench_function(BenchmarkId::new("httpdate", name), |b| {
            b.iter(|| httpdate::parse_http_date(black_box(input)))
        });
    }

    // `Retry-After: 120`. relent trims OWS, tells a date from seconds, saturates instead
    // of failing on overflow and returns a typed value; `str::parse::<u64>` is the floor.
    g.bench_function(BenchmarkId::new("relent", "retry_after_120"), |b| {
        b.iter(|| parse_retry_after(black_box(b"120"), black_box(NOW)))
    });
    g.bench_function(BenchmarkId::new("std_parse_u64", "retry_after_120"), |b| {
        b.iter(|| black_box("120").parse::<u64>())
    });

    // Formatting. relent returns a `[u8; 29]`; `fmt_http_date` returns a new `String`;
    // `httpdate_into_buf` writes httpdate's `Display` into a stack buffer (no allocation).
    let t = UnixTime::from_secs(DATE_SECS);
    let st = SystemTime::from(t);
    g.bench_function(BenchmarkId::new("relent", "format_imf_fixdate"), |b| {
        b.iter(|| format_imf_fixdate(black_box(t)))
    });
    g.bench_function(BenchmarkId::new("httpdate", "format_imf_fixdate"), |b| {
        b.iter(|| httpdate::fmt_http_date(black_box(st)))
    });
    g.bench_function(
        BenchmarkId::new("httpdate_into_buf", "format_imf_fixdate"),
        |b| {
            b.iter(|| {
                let mut buf = [0u8; 29];
                let mut w: &mut [u8] = &mut buf;
                write!(w, "{}", httpdate::HttpDate::from(black_box(st))).expect("29 bytes");
                buf
            })
        },
    );
    g.finish();
}

// ---------------------------------------------------------------------------------------
// deadline_table
// ---------------------------------------------------------------------------------------

fn bench_table_for<K>(g: &mut BenchmarkGroup<'_, WallTime>, keys: &[K], case: &str, ttl: Duration)
where
    K: std::hash::Hash + Eq + Clone,
{
    g.bench_function(BenchmarkId::new("relent", case), |b| {
        b.iter_batched(
            || (warmed(relent_table::<K>(), keys), keys.to_vec()),
            |(t, owned)| run_stream(t, owned, keys, ttl),
            BatchSize::PerIteration,
        )
    });
    g.bench_function(BenchmarkId::new("seed003_hashmap", case), |b| {
        b.iter_batched(
            || (warmed(seed003_map::<K>(), keys), keys.to_vec()),
            |(t, owned)| run_stream(t, owned, keys, ttl),
            BatchSize::PerIteration,
        )
    });
    g.bench_function(BenchmarkId::new("lru", case), |b| {
        b.iter_batched(
            || (warmed(lru_cache::<K>(), keys), keys.to_vec()),
            |(t, owned)| run_stream(t, owned, keys, ttl),
            BatchSize::PerIteration,
        )
    });
}

fn bench_deadline_table(c: &mut Criterion) {
    let mut g = c.benchmark_group("deadline_table");
    // One iteration is a whole stream (tens of ms to about a second): flat sampling, few samples.
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    g.throughput(Throughput::Elements(STREAM as u64));
    let (u, s) = (u64_keys(), string_keys());
    // `live`: Retry-After 120 s at 1 ms per step, longer than the stream, so nothing expires
    // and every new key past 4,096 evicts a live entry (the worst case for all three).
    // `expiring`: Retry-After 1 s, so about 1,000 entries are in force at any time and a
    // full table has expired entries to reuse.
    for (ttl_name, ttl) in [("live", TTL_LIVE), ("expiring", TTL_EXPIRING)] {
        bench_table_for(&mut g, &u, &format!("u64_{ttl_name}"), ttl);
        bench_table_for(&mut g, &s, &format!("string_{ttl_name}"), ttl);
    }
    g.finish();
}

// ---------------------------------------------------------------------------------------
// machine
// ---------------------------------------------------------------------------------------

fn bench_machine(c: &mut Criterion) {
    let mut g = c.benchmark_group("machine");
    let seeds = Seeds::new();
    let policy = machine_policy();
    let backon = machine_backon();
    g.bench_function(BenchmarkId::new("relent", "503_503_200"), |b| {
        b.iter(|| {
            relent_operation(
                black_box(&policy),
                black_box(STATUSES),
                black_box(seeds.next()),
            )
        })
    });
    g.bench_function(BenchmarkId::new("backon", "503_503_200"), |b| {
        b.iter(|| backon_operation(black_box(backon), black_box(STATUSES)))
    });
    g.bench_function(BenchmarkId::new("backon_seeded", "503_503_200"), |b| {
        b.iter(|| {
            backon_operation(
                black_box(backon.with_jitter_seed(seeds.next())),
                black_box(STATUSES),
            )
        })
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------
// Sanity checks, once, before timing
// ---------------------------------------------------------------------------------------

fn check_equivalence() {
    // backoff: the un-jittered schedules agree (backon's f32 growth within 1 ms).
    let relent: Vec<Duration> = {
        let mut b = Backoff::new(relent_policy(Jitter::None), SEED);
        let mut now = Instant::ZERO;
        std::iter::from_fn(|| {
            let d = b.next_delay(now)?;
            now += d;
            Some(d)
        })
        .collect()
    };
    let backon: Vec<Duration> = backon_builder(false).build().collect();
    let mut cenkalti = backoff_crate(0.0);
    let cenkalti: Vec<Duration> = (0..DELAYS)
        .map(|_| cenkalti.next_backoff().expect("no limit"))
        .collect();
    assert_eq!(relent.len(), DELAYS as usize);
    for (name, other) in [("backon", &backon), ("backoff", &cenkalti)] {
        assert_eq!(other.len(), relent.len(), "{name}");
        for (a, b) in relent.iter().zip(other) {
            assert!(
                a.abs_diff(*b) < Duration::from_millis(1),
                "{name}: {a:?} vs {b:?}"
            );
        }
    }

    // http_date: both parsers agree on all three formats.
    for input in [IMF, RFC850, ASCTIME] {
        let r = parse_http_date(input.as_bytes(), NOW).expect("relent parses");
        let h = httpdate::parse_http_date(input).expect("httpdate parses");
        assert_eq!(SystemTime::from(r), h, "{input}");
        assert_eq!(r.as_secs(), DATE_SECS);
    }
    assert_eq!(
        parse_retry_after(b"120", NOW),
        Ok(RetryAfter::Delay(Duration::from_secs(120)))
    );
    let t = UnixTime::from_secs(DATE_SECS);
    assert_eq!(
        httpdate::fmt_http_date(SystemTime::from(t)).as_bytes(),
        format_imf_fixdate(t)
    );

    // deadline_table: after the `live` stream all three hold 4,096 keys; relent and lru
    // (both least-recently-used) give identical answers.
    let keys = u64_keys();
    let (relent, r) = run_stream(relent_table::<u64>(), keys.clone(), &keys, TTL_LIVE);
    let (lru, l) = run_stream(lru_cache::<u64>(), keys.clone(), &keys, TTL_LIVE);
    let (seed, s) = run_stream(seed003_map::<u64>(), keys.clone(), &keys, TTL_LIVE);
    assert_eq!(
        (relent.len(), lru.len(), seed.len()),
        (CAPACITY, CAPACITY, CAPACITY)
    );
    assert_eq!(r, l, "relent and lru answer alike");
    println!(
        "deadline_table check (u64_live): hits relent {r}, lru {l}, seed003 {s}; \
         evictions relent {}, seed003 {}",
        relent.evictions(),
        seed.evictions()
    );

    // machine: both end after 3 attempts.
    let (attempts, _) = relent_operation(&machine_policy(), STATUSES, SEED);
    assert_eq!(attempts, 3);
    let (attempts, _) = backon_operation(machine_backon(), STATUSES);
    assert_eq!(attempts, 3);
}

fn bench(c: &mut Criterion) {
    check_equivalence();
    bench_backoff(c);
    bench_http_date(c);
    bench_deadline_table(c);
    bench_machine(c);
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = bench
}
criterion_main!(benches);
