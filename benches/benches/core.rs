#![allow(missing_docs)] // criterion_group! generates an undocumented public function.

//! The sans-IO core against peer crates, each group with its peers in the same run.
//!
//! Run: `cargo bench -p relent-benches --bench core -- --warm-up-time 1 --measurement-time 3`
//!
//! Groups (a contender's id is `group/contender/case`):
//!
//! - `backoff`: construct a backoff and take 10 delays of exponential 100 ms ×2 capped at
//!   10 s: relent's [`Backoff`] against backon's `ExponentialBuilder` iterator and the
//!   `backoff` crate (the Rust port of cenkalti/backoff). The jitter kinds differ by crate;
//!   see [`backoff`].
//! - `http_date`: parsing the three HTTP-date formats, a delay-seconds `Retry-After`, and
//!   formatting an IMF-fixdate: relent against `httpdate` (and `str::parse::<u64>`).
//! - `deadline_table`: a stream of 100,000 distinct keys through a capacity-4,096 table:
//!   relent's [`DeadlineTable`] against the seed-003 design
//!   ([`EarliestDeadlineMap`]) and `lru::LruCache`.
//! - `machine`: one whole operation (503, 503, 200) through relent's [`Retry`] machine
//!   against backon's iterator with a hand-written status check.
//!
//! Before timing anything, `check_equivalence` asserts that the contenders of each group
//! give the same answers for the inputs used, so a ratio never compares different work
//! by mistake (where the work differs on purpose, the comment at the group says how).

use std::hint::black_box;
use std::io::Write as _;
use std::num::NonZeroUsize;
use std::time::{Duration, SystemTime};

use backoff::backoff::Backoff as _;
use backon::{BackoffBuilder as _, ExponentialBuilder};
use criterion::{
    BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use lru::LruCache;
use relent::backoff::{Backoff, BackoffBuilder, BackoffPolicy, Factor, Jitter};
use relent::hint::{RetryAfter, format_imf_fixdate, parse_http_date, parse_retry_after};
use relent::retry::{Action, Retry, RetryPolicy};
use relent::table::NextAllowed;
use relent::{DeadlineTable, Instant, UnixTime};
use relent_benches::EarliestDeadlineMap;

// ---------------------------------------------------------------------------------------
// backoff
// ---------------------------------------------------------------------------------------

const BASE: Duration = Duration::from_millis(100);
const CAP: Duration = Duration::from_secs(10);
const DELAYS: u32 = 10;
const SEED: u64 = 0x5eed_2026;

/// relent: exponential 100 ms ×2 (fixed point, integer math), capped at 10 s after jitter,
/// at most 10 delays.
fn relent_policy(jitter: Jitter) -> BackoffPolicy {
    BackoffBuilder::exponential(BASE)
        .factor_exact(Factor::TWO)
        .jitter(jitter)
        .cap(CAP)
        .max_delays(DELAYS)
        .build()
        .expect("valid policy")
}

/// backon with the equivalent settings. Its jitter is not Brooker's full jitter: backon adds
/// `d × U[0, 1)` to the nominal delay `d` (so delays lie in `[d, 2d)` and may exceed the
/// cap), drawn from `fastrand` as an `f32`; its growth multiplies `f32` seconds. relent's
/// full jitter draws `U[0, d]` in integer nanoseconds from a SplitMix64 and never exceeds
/// the cap. Same amount of work per delay (one draw, one multiply), different distribution.
fn backon_builder(jitter: bool) -> ExponentialBuilder {
    let b = ExponentialBuilder::default()
        .with_min_delay(BASE)
        .with_factor(2.0)
        .with_max_delay(CAP)
        .with_max_times(DELAYS as usize);
    if jitter { b.with_jitter() } else { b }
}

/// The `backoff` crate (cenkalti port). It has no full jitter: its randomization is
/// proportional, `d × (1 ± f)`, `f = 0.5` by default (cenkalti's default), drawn with
/// `rand::random::<f64>()` from the thread-local RNG on every call (also with `f = 0`), and
/// each `next_backoff` reads `std::time::Instant::now()` for its elapsed-time check (made
/// with `max_elapsed_time = None` too). It has no attempt limit: the bench takes 10 delays.
fn backoff_crate(randomization: f64) -> backoff::ExponentialBackoff {
    backoff::ExponentialBackoffBuilder::new()
        .with_initial_interval(BASE)
        .with_multiplier(2.0)
        .with_max_interval(CAP)
        .with_randomization_factor(randomization)
        .with_max_elapsed_time(None)
        .build()
}

/// Ten delays from a fresh relent backoff, the driver's clock advancing by each delay.
fn relent_delays(policy: BackoffPolicy, seed: u64) -> Duration {
    let mut b = Backoff::new(policy, seed);
    let mut now = Instant::ZERO;
    let mut total = Duration::ZERO;
    while let Some(d) = b.next_delay(now) {
        now += d;
        total += d;
    }
    total
}

fn backon_delays(builder: ExponentialBuilder) -> Duration {
    builder.build().sum()
}

fn backoff_crate_delays(randomization: f64) -> Duration {
    let mut b = backoff_crate(randomization);
    let mut total = Duration::ZERO;
    for _ in 0..DELAYS {
        total += b.next_backoff().unwrap_or_default();
    }
    total
}

fn bench_backoff(c: &mut Criterion) {
    let mut g = c.benchmark_group("backoff");

    // No jitter: the same schedule on all three (100, 200, …, 6400, 10000 ×3 ms).
    let plain = relent_policy(Jitter::None);
    g.bench_function(BenchmarkId::new("relent", "no_jitter"), |b| {
        b.iter(|| relent_delays(black_box(plain), black_box(SEED)))
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
        b.iter(|| relent_delays(black_box(full), black_box(SEED)))
    });
    g.bench_function(BenchmarkId::new("backon", "jitter"), |b| {
        b.iter(|| backon_delays(black_box(backon_builder(true))))
    });
    g.bench_function(BenchmarkId::new("backon", "jitter_seeded"), |b| {
        b.iter(|| backon_delays(black_box(backon_builder(true).with_jitter_seed(SEED))))
    });
    // Proportional ±50 %, the one kind relent and the backoff crate share.
    let proportional = relent_policy(Jitter::Proportional(Factor::from_millionths(500_000)));
    g.bench_function(BenchmarkId::new("relent", "proportional_0.5"), |b| {
        b.iter(|| relent_delays(black_box(proportional), black_box(SEED)))
    });
    g.bench_function(BenchmarkId::new("backoff_crate", "proportional_0.5"), |b| {
        b.iter(|| backoff_crate_delays(black_box(0.5)))
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------
// http_date
// ---------------------------------------------------------------------------------------

const IMF: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
const RFC850: &str = "Sunday, 06-Nov-94 08:49:37 GMT";
const ASCTIME: &str = "Sun Nov  6 08:49:37 1994";
const DATE_SECS: u64 = 784_111_777;
/// The reference for RFC 850's two-digit year (relent needs it; httpdate uses a fixed rule).
const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

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

const STREAM: usize = 100_000;
const CAPACITY: usize = 4_096;
/// How far back the "revisit" lookup of each step reaches (a host seen 1,024 keys ago).
const REVISIT: usize = 1_024;

/// The three contenders behind one interface, so every one runs the same loop.
trait Table<K> {
    fn record(&mut self, key: K, deadline: Instant, now: Instant);
    fn next_allowed(&mut self, key: &K, now: Instant) -> Option<Instant>;
}

impl<K: std::hash::Hash + Eq> Table<K> for DeadlineTable<K> {
    fn record(&mut self, key: K, deadline: Instant, now: Instant) {
        let _ = DeadlineTable::record(self, key, deadline, now);
    }
    fn next_allowed(&mut self, key: &K, now: Instant) -> Option<Instant> {
        match DeadlineTable::next_allowed(self, key, now) {
            NextAllowed::Now => None,
            NextAllowed::Wait { until } => Some(until),
        }
    }
}

impl<K: std::hash::Hash + Eq + Clone> Table<K> for EarliestDeadlineMap<K> {
    fn record(&mut self, key: K, deadline: Instant, now: Instant) {
        EarliestDeadlineMap::record(self, key, deadline, now);
    }
    fn next_allowed(&mut self, key: &K, now: Instant) -> Option<Instant> {
        EarliestDeadlineMap::next_allowed(self, key, now)
    }
}

/// `lru::LruCache` used as a deadline table with relent's answers: a known key keeps the
/// later deadline and becomes most recent; a new key at a full cache evicts the least
/// recently used; an expired entry found by a lookup is removed.
impl<K: std::hash::Hash + Eq> Table<K> for LruCache<K, Instant> {
    fn record(&mut self, key: K, deadline: Instant, now: Instant) {
        if deadline <= now {
            return;
        }
        if let Some(stored) = self.get_mut(&key) {
            if deadline > *stored {
                *stored = deadline;
            }
            return;
        }
        let _evicted = self.push(key, deadline);
    }
    fn next_allowed(&mut self, key: &K, now: Instant) -> Option<Instant> {
        match self.get(key).copied() {
            Some(d) if d > now => Some(d),
            Some(_) => {
                let _ = self.pop(key);
                None
            }
            None => None,
        }
    }
}

/// One pass of the stream. Step `i` at `now = i ms` is what a per-host Retry-After
/// middleware does for a request that gets a 429:
/// 1. `next_allowed(k_i)` before sending (a miss: the key is new),
/// 2. `record(k_i, now + ttl)` for the answer's Retry-After,
/// 3. `next_allowed(k_{i−1024})`, a revisit of a recent host (a hit while it is held and
///    in force).
///
/// Returns the table (dropped outside the timing) and a checksum of the answers.
fn run_stream<K, T: Table<K>>(
    mut table: T,
    owned: Vec<K>,
    lookups: &[K],
    ttl: Duration,
) -> (T, u64) {
    let mut check = 0u64;
    for (i, key) in owned.into_iter().enumerate() {
        let now = Instant::from_millis(i as u64);
        let probe = lookups.get(i).expect("same length");
        check = check.wrapping_add(u64::from(table.next_allowed(probe, now).is_some()));
        table.record(key, now + ttl, now);
        if let Some(old) = i.checked_sub(REVISIT).and_then(|j| lookups.get(j)) {
            check = check.wrapping_add(u64::from(table.next_allowed(old, now).is_some()));
        }
    }
    (table, check)
}

fn u64_keys() -> Vec<u64> {
    // Distinct, spread-out values (an odd multiplier is a bijection on u64).
    (0..STREAM as u64)
        .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .collect()
}

fn string_keys() -> Vec<String> {
    (0..STREAM)
        .map(|i| format!("https://host-{i}.example.com"))
        .collect()
}

fn lru_cache<K: std::hash::Hash + Eq>() -> LruCache<K, Instant> {
    LruCache::new(NonZeroUsize::new(CAPACITY).expect("non-zero"))
}

fn bench_table_for<K>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    keys: &[K],
    case: &str,
    ttl: Duration,
) where
    K: std::hash::Hash + Eq + Clone,
{
    g.bench_function(BenchmarkId::new("relent", case), |b| {
        b.iter_batched(
            || {
                (
                    DeadlineTable::<K>::new(CAPACITY, SEED).expect("table"),
                    keys.to_vec(),
                )
            },
            |(t, owned)| run_stream(t, owned, keys, ttl),
            BatchSize::PerIteration,
        )
    });
    g.bench_function(BenchmarkId::new("seed003_hashmap", case), |b| {
        b.iter_batched(
            || (EarliestDeadlineMap::<K>::new(CAPACITY), keys.to_vec()),
            |(t, owned)| run_stream(t, owned, keys, ttl),
            BatchSize::PerIteration,
        )
    });
    g.bench_function(BenchmarkId::new("lru", case), |b| {
        b.iter_batched(
            || (lru_cache::<K>(), keys.to_vec()),
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
    for (ttl_name, ttl) in [
        ("live", Duration::from_secs(120)),
        ("expiring", Duration::from_secs(1)),
    ] {
        bench_table_for(&mut g, &u, &format!("u64_{ttl_name}"), ttl);
        bench_table_for(&mut g, &s, &format!("string_{ttl_name}"), ttl);
    }
    g.finish();
}

// ---------------------------------------------------------------------------------------
// machine
// ---------------------------------------------------------------------------------------

/// The statuses of the three attempts.
const STATUSES: [u16; 3] = [503, 503, 200];

/// relent's default retryable set (`StatusSet::DEFAULT_RETRYABLE`), written by hand for backon.
fn retryable(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

fn machine_policy() -> RetryPolicy {
    RetryPolicy::default().with_max_attempts(3).with_backoff(
        relent_policy(Jitter::Full)
            .to_builder()
            .no_max_delays()
            .build()
            .expect("policy"),
    )
}

/// One operation through relent's machine, fed by hand (no clock, no sleep). Per attempt
/// the machine also checks the overall deadline and per-try timeout (none set here), the
/// shared gate, the budget (`Unlimited`), the server hint (none) against the hint cap,
/// idempotency, and keeps a report; backon's loop below does none of that.
fn relent_operation(policy: &RetryPolicy, statuses: [u16; 3], seed: u64) -> (u32, Instant) {
    let mut now = Instant::ZERO;
    let mut op = Retry::new(policy.clone(), seed, now).idempotent(true);
    let mut next = statuses.iter();
    loop {
        match op.poll(now, None) {
            Action::Send { .. } => {
                op.handle_attempt_started(now);
                let status = *next.next().expect("three statuses");
                op.handle_response(now, status, None);
            }
            Action::Wait { until, .. } => now = until,
            Action::Done { attempts } => return (attempts, now),
            Action::GiveUp(_) | Action::AwaitOutcome { .. } => return (0, now),
        }
    }
}

/// The same decisions with backon's delay iterator (2 delays = 3 attempts) and a status check.
fn backon_operation(builder: ExponentialBuilder, statuses: [u16; 3]) -> (u32, Duration) {
    let mut delays = builder.build();
    let mut now = Duration::ZERO;
    let mut attempts = 0;
    for status in statuses {
        attempts += 1;
        if !retryable(status) {
            return (attempts, now);
        }
        match delays.next() {
            Some(d) => now += d,
            None => return (0, now),
        }
    }
    (0, now)
}

fn bench_machine(c: &mut Criterion) {
    let mut g = c.benchmark_group("machine");
    let policy = machine_policy();
    let backon = backon_builder(true).with_max_times(2);
    g.bench_function(BenchmarkId::new("relent", "503_503_200"), |b| {
        b.iter(|| relent_operation(black_box(&policy), black_box(STATUSES), black_box(SEED)))
    });
    g.bench_function(BenchmarkId::new("backon", "503_503_200"), |b| {
        b.iter(|| backon_operation(black_box(backon), black_box(STATUSES)))
    });
    g.bench_function(BenchmarkId::new("backon_seeded", "503_503_200"), |b| {
        b.iter(|| {
            backon_operation(
                black_box(backon.with_jitter_seed(SEED)),
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
    let ttl = Duration::from_secs(120);
    let (relent, r) = run_stream(
        DeadlineTable::<u64>::new(CAPACITY, SEED).expect("table"),
        keys.clone(),
        &keys,
        ttl,
    );
    let (lru, l) = run_stream(lru_cache::<u64>(), keys.clone(), &keys, ttl);
    let (seed, s) = run_stream(
        EarliestDeadlineMap::<u64>::new(CAPACITY),
        keys.clone(),
        &keys,
        ttl,
    );
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
    let (attempts, _) = backon_operation(backon_builder(true).with_max_times(2), STATUSES);
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
