//! The contenders shared by `core.rs` (criterion, wall time) and `callgrind.rs`
//! (instruction counts), so both measure exactly the same code.

// Each bench binary uses a different subset.
#![allow(dead_code)]

use std::hash::Hash;
use std::num::NonZeroUsize;
use std::time::Duration;

use backoff::backoff::Backoff as _;
use backon::{BackoffBuilder as _, ExponentialBuilder};
use lru::LruCache;
use relent::backoff::{Backoff, BackoffBuilder, BackoffPolicy, Factor, Jitter};
use relent::retry::{Action, Retry, RetryPolicy};
use relent::table::NextAllowed;
use relent::{DeadlineTable, Instant, UnixTime};
use relent_benches::EarliestDeadlineMap;

pub const SEED: u64 = 0x5eed_2026;

/// A different seed for every iteration of a timed loop.
///
/// With one constant seed every iteration draws the same jitter, and the CPU's branch
/// predictor learns the whole sequence: data-dependent branches (backon's `f32` to
/// `Duration` conversion, relent's bounded draw) then never mispredict, which flatters
/// seeded contenders against unseeded ones (backon's default, the `backoff` crate). A
/// first version of this bench did that: `backon/jitter_seeded` came out about twice as
/// fast as `backon/jitter` for the same instruction count. Costs one add per iteration.
pub struct Seeds(std::cell::Cell<u64>);

impl Seeds {
    pub fn new() -> Self {
        Seeds(std::cell::Cell::new(SEED))
    }

    /// The next seed (a Weyl sequence: consecutive values differ in many bits).
    pub fn next(&self) -> u64 {
        let s = self.0.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
        self.0.set(s);
        s
    }
}

// ----------------------------------------------------------------------------- backoff

pub const BASE: Duration = Duration::from_millis(100);
pub const CAP: Duration = Duration::from_secs(10);
pub const DELAYS: u32 = 10;

/// relent: exponential 100 ms ×2 (fixed point, integer math), capped at 10 s after jitter,
/// at most 10 delays.
pub fn relent_policy(jitter: Jitter) -> BackoffPolicy {
    BackoffBuilder::exponential(BASE)
        .factor_exact(Factor::TWO)
        .jitter(jitter)
        .cap(CAP)
        .max_delays(DELAYS)
        .build()
        .expect("valid policy")
}

/// relent's proportional ±50 % jitter (the kind the `backoff` crate has).
pub const PROPORTIONAL_HALF: Jitter = Jitter::Proportional(Factor::from_millionths(500_000));

/// backon with the equivalent settings. Its jitter is not Brooker's full jitter: backon adds
/// `d × U[0, 1)` to the nominal delay `d` (so delays lie in `[d, 2d)` and may exceed the
/// cap), drawn from `fastrand` as an `f32`; its growth multiplies `f32` seconds. relent's
/// full jitter draws `U[0, d]` in integer nanoseconds from a SplitMix64 and never exceeds
/// the cap. Same amount of work per delay (one draw, one multiply), different distribution.
pub fn backon_builder(jitter: bool) -> ExponentialBuilder {
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
pub fn backoff_crate(randomization: f64) -> backoff::ExponentialBackoff {
    backoff::ExponentialBackoffBuilder::new()
        .with_initial_interval(BASE)
        .with_multiplier(2.0)
        .with_max_interval(CAP)
        .with_randomization_factor(randomization)
        .with_max_elapsed_time(None)
        .build()
}

/// Ten delays from a fresh relent backoff, the driver's clock advancing by each delay.
pub fn relent_delays(policy: BackoffPolicy, seed: u64) -> Duration {
    let mut b = Backoff::new(policy, seed);
    let mut now = Instant::ZERO;
    let mut total = Duration::ZERO;
    while let Some(d) = b.next_delay(now) {
        now += d;
        total += d;
    }
    total
}

/// Ten delays from a fresh backon iterator.
pub fn backon_delays(builder: ExponentialBuilder) -> Duration {
    builder.build().sum()
}

/// Ten delays from a fresh `backoff::ExponentialBackoff`.
pub fn backoff_crate_delays(randomization: f64) -> Duration {
    let mut b = backoff_crate(randomization);
    let mut total = Duration::ZERO;
    for _ in 0..DELAYS {
        total += b.next_backoff().unwrap_or_default();
    }
    total
}

// --------------------------------------------------------------------------- http_date

pub const IMF: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
pub const RFC850: &str = "Sunday, 06-Nov-94 08:49:37 GMT";
pub const ASCTIME: &str = "Sun Nov  6 08:49:37 1994";
pub const DATE_SECS: u64 = 784_111_777;
/// The reference for RFC 850's two-digit year (relent needs it; httpdate uses a fixed rule).
pub const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

// ---------------------------------------------------------------------- deadline_table

pub const STREAM: usize = 100_000;
pub const CAPACITY: usize = 4_096;
/// How far back the "revisit" lookup of each step reaches (a host seen 1,024 keys ago).
pub const REVISIT: usize = 1_024;
/// `live`: longer than the stream (1 ms per step), so nothing expires.
pub const TTL_LIVE: Duration = Duration::from_secs(120);
/// `expiring`: about 1,000 entries in force at any time.
pub const TTL_EXPIRING: Duration = Duration::from_secs(1);

/// The three contenders behind one interface, so every one runs the same loop.
pub trait Table<K> {
    fn record(&mut self, key: K, deadline: Instant, now: Instant);
    fn next_allowed(&mut self, key: &K, now: Instant) -> Option<Instant>;
    /// Forget every entry (keeping whatever memory the structure keeps).
    fn clear(&mut self);
}

/// `table` after it held `CAPACITY` keys once and was cleared, so that the timed stream
/// measures steady-state operations: the first touch of fresh memory (page faults, which
/// come and go with the allocator's state: relent's slab and std's `HashMap` are 140 to
/// 280 KB, around glibc's `mmap` threshold) is not charged to the stream. A long-running
/// client builds its table once; the stream stands for its steady state.
pub fn warmed<K: Clone, T: Table<K>>(mut table: T, keys: &[K]) -> T {
    let now = Instant::ZERO;
    for key in keys.iter().take(CAPACITY) {
        table.record(key.clone(), now + TTL_LIVE, now);
    }
    table.clear();
    table
}

impl<K: Hash + Eq> Table<K> for DeadlineTable<K> {
    fn record(&mut self, key: K, deadline: Instant, now: Instant) {
        let _ = DeadlineTable::record(self, key, deadline, now);
    }
    fn next_allowed(&mut self, key: &K, now: Instant) -> Option<Instant> {
        match DeadlineTable::next_allowed(self, key, now) {
            NextAllowed::Now => None,
            NextAllowed::Wait { until } => Some(until),
        }
    }
    fn clear(&mut self) {
        DeadlineTable::clear(self);
    }
}

impl<K: Hash + Eq + Clone> Table<K> for EarliestDeadlineMap<K> {
    fn record(&mut self, key: K, deadline: Instant, now: Instant) {
        EarliestDeadlineMap::record(self, key, deadline, now);
    }
    fn next_allowed(&mut self, key: &K, now: Instant) -> Option<Instant> {
        EarliestDeadlineMap::next_allowed(self, key, now)
    }
    fn clear(&mut self) {
        EarliestDeadlineMap::clear(self);
    }
}

/// `lru::LruCache` used as a deadline table with relent's answers: a known key keeps the
/// later deadline and becomes most recent; a new key at a full cache evicts the least
/// recently used; an expired entry found by a lookup is removed.
impl<K: Hash + Eq> Table<K> for LruCache<K, Instant> {
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
    fn clear(&mut self) {
        LruCache::clear(self);
    }
}

/// One pass of the stream. Step `i` at `now = i ms` is what a per-host Retry-After
/// middleware does for a request that gets a 429:
/// 1. `next_allowed(k_i)` before sending (a miss: the key is new),
/// 2. `record(k_i, now + ttl)` for the answer's Retry-After,
/// 3. `next_allowed(k_{i−1024})`, a revisit of a recent host (a hit while it is held and
///    in force).
///
/// Returns the table (dropped outside the timing) and how many lookups found a deadline.
#[inline(never)]
pub fn run_stream<K, T: Table<K>>(
    mut table: T,
    owned: Vec<K>,
    lookups: &[K],
    ttl: Duration,
) -> (T, u64) {
    let mut hits = 0u64;
    for (i, key) in owned.into_iter().enumerate() {
        let now = Instant::from_millis(i as u64);
        let probe = lookups.get(i).expect("same length");
        hits += u64::from(table.next_allowed(probe, now).is_some());
        table.record(key, now + ttl, now);
        if let Some(old) = i.checked_sub(REVISIT).and_then(|j| lookups.get(j)) {
            hits += u64::from(table.next_allowed(old, now).is_some());
        }
    }
    (table, hits)
}

/// 100,000 distinct, spread-out `u64` keys (an odd multiplier is a bijection on u64).
pub fn u64_keys() -> Vec<u64> {
    (0..STREAM as u64)
        .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .collect()
}

/// 100,000 distinct origins.
pub fn string_keys() -> Vec<String> {
    (0..STREAM)
        .map(|i| format!("https://host-{i}.example.com"))
        .collect()
}

pub fn relent_table<K: Hash + Eq>() -> DeadlineTable<K> {
    DeadlineTable::new(CAPACITY, SEED).expect("table")
}

pub fn seed003_map<K: Hash + Eq + Clone>() -> EarliestDeadlineMap<K> {
    EarliestDeadlineMap::new(CAPACITY)
}

pub fn lru_cache<K: Hash + Eq>() -> LruCache<K, Instant> {
    LruCache::new(NonZeroUsize::new(CAPACITY).expect("non-zero"))
}

// ----------------------------------------------------------------------------- machine

/// The statuses of the three attempts.
pub const STATUSES: [u16; 3] = [503, 503, 200];

/// relent's default retryable set (`StatusSet::DEFAULT_RETRYABLE`), written by hand for backon.
pub fn retryable(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// Three attempts, the `backoff` group's full-jitter policy between them.
pub fn machine_policy() -> RetryPolicy {
    let backoff = relent_policy(Jitter::Full)
        .to_builder()
        .no_max_delays()
        .build()
        .expect("policy");
    RetryPolicy::default()
        .with_max_attempts(3)
        .with_backoff(backoff)
}

/// backon for the machine group: 2 delays = 3 attempts.
pub fn machine_backon() -> ExponentialBuilder {
    backon_builder(true).with_max_times(2)
}

/// One operation through relent's machine, fed by hand (no clock, no sleep). Per attempt
/// the machine also checks the overall deadline and per-try timeout (none set here), the
/// shared gate, the budget (`Unlimited`), the server hint (none) against the hint cap,
/// idempotency, and keeps a report; backon's loop below does none of that.
pub fn relent_operation(policy: &RetryPolicy, statuses: [u16; 3], seed: u64) -> (u32, Instant) {
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

/// The same decisions with backon's delay iterator and a hand-written status check.
pub fn backon_operation(builder: ExponentialBuilder, statuses: [u16; 3]) -> (u32, Duration) {
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
