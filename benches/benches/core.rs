#![allow(missing_docs)] // criterion_group! generates an undocumented public function.

//! The sans-IO core against peer crates, each group with its peers in the same run.
//!
//! Run: `cargo bench -p relent-benches --bench core -- --warm-up-time 1 --measurement-time 3`
//!
//! Benchmark ids are `group/contender/case`; relent's contender ids start with `relent`,
//! peers are named by crate (`backon`, `exponential-backoff`, `backoff`, `retry-policies`,
//! `tokio-retry2`, `tower`, `httpdate`, `lru`, `std`), plus two baselines no crate provides:
//! `earliest-evict` (`relent_benches::EarliestDeadlineMap`) and `std-hashmap` (an unbounded std
//! `HashMap`). Groups:
//!
//! - `decision`: ONE next-delay decision, exponential 100 ms ×2 capped at 10 s, on a state
//!   prepared outside the timing (a fresh state advanced by `k` decisions, `k` cycling over
//!   0..10, so the mean covers the whole schedule), against every peer that supports the
//!   case (`no_jitter`, `full_jitter`, `proportional_0.5`, `additive_jitter`; see `Case`).
//! - `sequence`: construct the state and take all 10 decisions (what one operation pays).
//! - `http_date`: parsing the three HTTP-date formats, a delay-seconds `Retry-After`, and
//!   formatting an IMF-fixdate: relent against `httpdate` (and `str::parse::<u64>`).
//! - `deadline_table`: a stream of 100,000 distinct keys through a capacity-4,096 table:
//!   relent's `DeadlineTable` against an earliest-deadline-evicting map, `lru::LruCache` and an unbounded
//!   std `HashMap`.
//! - `operation`: one whole 10-attempt operation (9 × 503 then 200; 10 × 503) through
//!   relent's `Retry` machine against retry-policies' `should_retry` loop and backon's
//!   iterator with a hand-written status check.
//!
//! Before timing anything, `check_*` assert that the contenders of each group give the same
//! answers (or answers in the same range) for the inputs used, so a ratio never compares
//! different work by mistake (where the work differs on purpose, the comment at the
//! contender in `common/mod.rs` says how).

use std::hint::black_box;
use std::io::Write as _;
use std::time::{Duration, SystemTime};

use criterion::{
    BatchSize, BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group,
    criterion_main, measurement::WallTime,
};
use relent::UnixTime;
use relent::hint::{RetryAfter, format_imf_fixdate, parse_http_date, parse_retry_after};

mod common;
use common::*;

// ---------------------------------------------------------------------------------------
// decision and sequence (the contenders and what each can match: see `common`)
// ---------------------------------------------------------------------------------------

/// Registers one contender's `decision` benchmark.
struct DecisionBench<'a, 'g> {
    g: &'a mut BenchmarkGroup<'g, WallTime>,
    case: Case,
    seeds: &'a Seeds,
}

impl Visit for DecisionBench<'_, '_> {
    fn visit<C: Contender>(&mut self, id: &str, c: &C) {
        let seeds = self.seeds;
        self.g
            .bench_function(BenchmarkId::new(id, self.case.name()), |b| {
                b.iter_custom(|iters| timed_decisions(c, seeds, iters))
            });
    }
}

/// States per timed chunk of the `decision` group: small enough that a chunk of the
/// largest state (relent's `Backoff`, about 230 bytes) stays in L1/L2, so the timing
/// measures the decision rather than cache misses; large enough that the two clock reads
/// per chunk (about 25 ns together) add under 0.2 ns per decision.
const CHUNK: usize = 128;

/// `iters` single decisions, each on a fresh state advanced by `k` decisions outside the
/// timing (`k` cycling over 0..10), timed chunk by chunk; outputs are dropped untimed.
///
/// Not criterion's `iter_batched_ref`: it prepares a whole batch (up to millions of states)
/// before timing it, so for states of a few hundred bytes the timed loop mostly measured
/// cache misses (relent's decision came out at 22 ns in a first version, against about 8 ns
/// with chunks that fit in cache).
fn timed_decisions<C: Contender>(c: &C, seeds: &Seeds, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    let mut states: Vec<C::State> = Vec::with_capacity(CHUNK);
    let mut outs: Vec<C::Out> = Vec::with_capacity(CHUNK);
    let mut left = iters;
    let mut k = 0;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        states.clear();
        for _ in 0..n {
            states.push(at_step(c, seeds.next(), k));
            k = (k + 1) % DELAYS;
        }
        let start = std::time::Instant::now();
        for s in states.iter_mut() {
            outs.push(C::decide(black_box(s)));
        }
        total += start.elapsed();
        black_box(&outs);
        outs.clear();
        left -= n as u64;
    }
    total
}

/// Registers one contender's `sequence` benchmark.
struct SequenceBench<'a, 'g> {
    g: &'a mut BenchmarkGroup<'g, WallTime>,
    case: Case,
    seeds: &'a Seeds,
}

impl Visit for SequenceBench<'_, '_> {
    fn visit<C: Contender>(&mut self, id: &str, c: &C) {
        let seeds = self.seeds;
        self.g
            .bench_function(BenchmarkId::new(id, self.case.name()), |b| {
                b.iter(|| sequence(black_box(c), black_box(seeds.next())))
            });
    }
}

fn bench_decision(c: &mut Criterion) {
    let mut g = c.benchmark_group("decision");
    // A new seed per state for every seeded contender (see `Seeds`).
    let seeds = Seeds::new();
    for case in Case::ALL {
        for_each_contender(
            case,
            &mut DecisionBench {
                g: &mut g,
                case,
                seeds: &seeds,
            },
        );
    }
    g.finish();
}

fn bench_sequence(c: &mut Criterion) {
    let mut g = c.benchmark_group("sequence");
    g.throughput(Throughput::Elements(u64::from(DELAYS)));
    let seeds = Seeds::new();
    for case in Case::ALL {
        for_each_contender(
            case,
            &mut SequenceBench {
                g: &mut g,
                case,
                seeds: &seeds,
            },
        );
    }
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
    g.bench_function(BenchmarkId::new("std", "retry_after_120"), |b| {
        b.iter(|| black_box("120").parse::<u64>())
    });

    // Formatting. relent returns a `[u8; 29]`; `fmt_http_date` returns a new `String`;
    // `format_imf_fixdate_into_buf`: httpdate's `Display` written into a stack buffer (no
    // allocation).
    let t = UnixTime::from_secs(DATE_SECS);
    let st = SystemTime::from(t);
    g.bench_function(BenchmarkId::new("relent", "format_imf_fixdate"), |b| {
        b.iter(|| format_imf_fixdate(black_box(t)))
    });
    g.bench_function(BenchmarkId::new("httpdate", "format_imf_fixdate"), |b| {
        b.iter(|| httpdate::fmt_http_date(black_box(st)))
    });
    // The same relent call again as its own case, so that every case has one relent row.
    g.bench_function(
        BenchmarkId::new("relent", "format_imf_fixdate_into_buf"),
        |b| b.iter(|| format_imf_fixdate(black_box(t))),
    );
    g.bench_function(
        BenchmarkId::new("httpdate", "format_imf_fixdate_into_buf"),
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
    g.bench_function(BenchmarkId::new("earliest-evict", case), |b| {
        b.iter_batched(
            || (warmed(earliest_deadline_map::<K>(), keys), keys.to_vec()),
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
    g.bench_function(BenchmarkId::new("std-hashmap", case), |b| {
        b.iter_batched(
            || (warmed(std_hashmap::<K>(), keys), keys.to_vec()),
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
    // and every new key past 4,096 evicts a live entry in the three bounded tables (their
    // worst case), while the unbounded `std-hashmap` keeps all 100,000 and grows.
    // `expiring`: Retry-After 1 s, so about 1,000 entries are in force at any time and a
    // full table has expired entries to reuse.
    for (ttl_name, ttl) in [("live", TTL_LIVE), ("expiring", TTL_EXPIRING)] {
        bench_table_for(&mut g, &u, &format!("u64_{ttl_name}"), ttl);
        bench_table_for(&mut g, &s, &format!("string_{ttl_name}"), ttl);
    }
    g.finish();
}

// ---------------------------------------------------------------------------------------
// operation
// ---------------------------------------------------------------------------------------

fn bench_operation(c: &mut Criterion) {
    let mut g = c.benchmark_group("operation");
    let seeds = Seeds::new();
    let policy = operation_policy();
    let rp = operation_retry_policies();
    let backon = operation_backon();
    for (case, statuses) in OPERATIONS {
        g.bench_function(BenchmarkId::new("relent", case), |b| {
            b.iter(|| {
                relent_operation(
                    black_box(&policy),
                    black_box(&statuses),
                    black_box(seeds.next()),
                )
            })
        });
        g.bench_function(BenchmarkId::new("retry-policies", case), |b| {
            b.iter(|| retry_policies_operation(black_box(&rp), black_box(&statuses)))
        });
        g.bench_function(BenchmarkId::new("backon", case), |b| {
            b.iter(|| backon_operation(black_box(backon), black_box(&statuses)))
        });
    }
    g.finish();
}

// ---------------------------------------------------------------------------------------
// Sanity checks, once, before timing
// ---------------------------------------------------------------------------------------

/// Draws `RUNS` fresh states per contender and checks every delay against the case's range.
struct CheckDecisions {
    case: Case,
}

const RUNS: u32 = 300;
/// backon grows in `f32` seconds: its delays are off by up to a few microseconds.
const SLACK: Duration = Duration::from_millis(1);

impl Visit for CheckDecisions {
    fn visit<C: Contender>(&mut self, id: &str, c: &C) {
        let seeds = Seeds::new();
        let mut max = Duration::ZERO;
        let mut limited = true;
        let mut states = Vec::new();
        for _ in 0..RUNS {
            let mut s = c.fresh(seeds.next());
            for k in 0..DELAYS {
                let (lo, hi) = C::observe(&mut s).unwrap_or_else(|| panic!("{id}: delay {k}"));
                // relent's row in `additive_jitter` is its full jitter (see `Case::Additive`).
                let kind = match self.case {
                    Case::Additive if id.starts_with("relent") => Case::Full,
                    case => case,
                };
                let (want_lo, want_hi) = kind.bounds(k);
                assert!(
                    hi + SLACK >= want_lo && lo <= want_hi + SLACK,
                    "{id} {}: delay {k} in [{lo:?}, {hi:?}], outside [{want_lo:?}, {want_hi:?}]",
                    self.case.name()
                );
                max = max.max(lo);
            }
            limited &= C::observe(&mut s).is_none();
            states.push(s);
        }
        let over = if max > CAP + SLACK {
            format!("exceeds the 10 s cap (max {max:.3?})")
        } else {
            format!("within the cap (max {max:.3?})")
        };
        let limit = if limited {
            "stops after 10"
        } else {
            "no attempt limit (11th delay given)"
        };
        println!(
            "decision check {:<17} {:<20} ok: {over}; {limit}",
            self.case.name(),
            id
        );
    }
}

fn check_decisions() {
    for case in Case::ALL {
        for_each_contender(case, &mut CheckDecisions { case });
    }
    // tower: `make_backoff` clones the maker's RNG, so two backoffs draw the same jitter.
    let maker = TowerC(tower_maker(1.0));
    let (mut a, mut b) = (maker.fresh(0), maker.fresh(0));
    let same = (0..DELAYS).all(|_| {
        let (a_lo, a_hi) = TowerC::observe(&mut a).expect("delay");
        let (b_lo, b_hi) = TowerC::observe(&mut b).expect("delay");
        a_lo <= b_hi + SLACK && b_lo <= a_hi + SLACK
    });
    println!("decision check: two tower backoffs from one maker draw the same jitter: {same}");
}

fn check_equivalence() {
    check_decisions();

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

    // deadline_table: after the `live` stream the bounded tables hold 4,096 keys and the
    // unbounded map all 100,000; relent, lru and the unbounded map give identical answers
    // (the revisits reach 1,024 keys back, within every table's capacity).
    let keys = u64_keys();
    let (relent, r) = run_stream(relent_table::<u64>(), keys.clone(), &keys, TTL_LIVE);
    let (lru, l) = run_stream(lru_cache::<u64>(), keys.clone(), &keys, TTL_LIVE);
    let (seed, s) = run_stream(
        earliest_deadline_map::<u64>(),
        keys.clone(),
        &keys,
        TTL_LIVE,
    );
    let (map, m) = run_stream(std_hashmap::<u64>(), keys.clone(), &keys, TTL_LIVE);
    assert_eq!(
        (relent.len(), lru.len(), seed.len(), map.len()),
        (CAPACITY, CAPACITY, CAPACITY, STREAM)
    );
    assert_eq!((r, r), (l, m), "relent, lru and std-hashmap answer alike");
    println!(
        "deadline_table check (u64_live): hits relent {r}, lru {l}, std-hashmap {m}, earliest-evict {s}; \
         evictions relent {}, earliest-evict {}",
        relent.evictions(),
        seed.evictions()
    );

    // operation: the same attempts and outcome for all three.
    let (policy, rp, backon) = (
        operation_policy(),
        operation_retry_policies(),
        operation_backon(),
    );
    for (case, statuses) in OPERATIONS {
        let want = (ATTEMPTS, statuses[9] == 200);
        for (who, got) in [
            ("relent", relent_operation(&policy, &statuses, SEED)),
            ("retry-policies", retry_policies_operation(&rp, &statuses)),
            ("backon", backon_operation(backon, &statuses)),
        ] {
            assert_eq!((got.attempts, got.ok), want, "{who} {case}");
        }
    }
}

fn bench(c: &mut Criterion) {
    // tower's `next_backoff` creates a tokio `Sleep`, which needs a runtime context.
    let rt = tokio_runtime();
    let _guard = rt.enter();
    check_equivalence();
    bench_decision(c);
    bench_sequence(c);
    bench_http_date(c);
    bench_deadline_table(c);
    bench_operation(c);
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = bench
}
criterion_main!(benches);
