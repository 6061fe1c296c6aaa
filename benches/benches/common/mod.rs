//! The contenders shared by `core.rs` (criterion, wall time), `callgrind.rs` (instruction
//! counts) and `allocs.rs` (allocations), so all three measure exactly the same code.

// Each bench binary uses a different subset.
#![allow(dead_code)]

use std::collections::HashMap;
use std::hash::Hash;
use std::iter::{Map, Take};
use std::num::NonZeroUsize;
use std::time::{Duration, SystemTime};

use backoff::backoff::Backoff as _;
use backon::{BackoffBuilder as _, ExponentialBuilder};
use lru::LruCache;
use relent::backoff::{Backoff, BackoffBuilder, BackoffPolicy, Factor, Jitter};
use relent::drive::Finished;
use relent::drive::blocking::{self, Clock};
use relent::http::{Attempt, Classify, Observed};
use relent::retry::{Retry, RetryPolicy};
use relent::table::NextAllowed;
use relent::{DeadlineTable, Instant, UnixTime};
use relent_benches::EarliestDeadlineMap;
use retry_policies::RetryPolicy as _;
use tower::retry::backoff::{Backoff as _, ExponentialBackoffMaker, MakeBackoff as _};
use tower::util::rng::HasherRng;

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
//
// One configuration for every contender: exponential, first delay 100 ms, factor 2, cap 10 s,
// 10 delays. What each crate can and cannot match is said at its constructor below and in
// the README; `core.rs::check_decisions` verifies the delays before anything is timed.

pub const BASE: Duration = Duration::from_millis(100);
pub const CAP: Duration = Duration::from_secs(10);
pub const DELAYS: u32 = 10;

/// The un-jittered delay `k` (from 0): `min(100 ms × 2^k, 10 s)`.
pub fn nominal(k: u32) -> Duration {
    BASE.saturating_mul(2u32.saturating_pow(k)).min(CAP)
}

/// The jitter cases; each has its own set of contenders (a crate joins the cases it supports).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    /// `d_k` exactly: every contender.
    NoJitter,
    /// Brooker's full jitter, `U[0, d_k]`: relent, retry-policies.
    Full,
    /// `d_k × U[0.5, 1.5]`: relent (`Jitter::Proportional(0.5)`), backoff (randomization
    /// factor 0.5), exponential-backoff (`set_jitter(0.5)`), tokio-retry2 (`strategy::jitter`).
    Proportional,
    /// `d_k + d_k × U[0, 1)`, i.e. `[d_k, 2 d_k)`: backon (`with_jitter`), tower (jitter 1.0).
    /// relent has no such kind (it overshoots the schedule by design); its row here is
    /// `relent-full`, its full jitter, which does the same work (one draw, one multiply).
    Additive,
}

impl Case {
    pub const ALL: [Case; 4] = [
        Case::NoJitter,
        Case::Full,
        Case::Proportional,
        Case::Additive,
    ];

    /// The case's name in benchmark ids.
    pub fn name(self) -> &'static str {
        match self {
            Case::NoJitter => "no_jitter",
            Case::Full => "full_jitter",
            Case::Proportional => "proportional_0.5",
            Case::Additive => "additive_jitter",
        }
    }

    /// relent's contender id in this case (always starts with `relent`).
    pub fn relent_id(self) -> &'static str {
        match self {
            Case::Additive => "relent-full",
            _ => "relent",
        }
    }

    /// relent's jitter for this case.
    pub fn relent_jitter(self) -> Jitter {
        match self {
            Case::NoJitter => Jitter::None,
            Case::Full | Case::Additive => Jitter::Full,
            Case::Proportional => PROPORTIONAL_HALF,
        }
    }

    /// Inclusive range delay `k` must fall in, for every contender of the case.
    pub fn bounds(self, k: u32) -> (Duration, Duration) {
        let d = nominal(k);
        match self {
            Case::NoJitter => (d, d),
            Case::Full => (Duration::ZERO, d),
            Case::Proportional => (d / 2, d + d / 2),
            Case::Additive => (d, d * 2),
        }
    }
}

/// A contender of the `decision` and `sequence` groups: a fresh state (what one retried
/// operation builds), and one next-delay decision on it.
pub trait Contender {
    /// The running state of one operation's backoff.
    type State;
    /// What one decision returns (a delay, a time to retry at, or tower's `Sleep`).
    type Out;
    /// A fresh state. `seed` is used by contenders that take one (relent); the others seed
    /// themselves (thread-local or OS-seeded generators), as their users get them.
    fn fresh(&self, seed: u64) -> Self::State;
    /// One next-delay decision.
    fn decide(state: &mut Self::State) -> Self::Out;
    /// One decision, as the inclusive range the delay lies in: exact for contenders that
    /// return a `Duration`; for those that return a point in time computed from a clock read
    /// inside (retry-policies, tower), the window between clock reads before and after.
    fn observe(state: &mut Self::State) -> Option<(Duration, Duration)>;
}

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

/// relent's `Backoff` and the driver's `now`.
#[derive(Clone, Copy)]
pub struct RelentC(pub BackoffPolicy);

impl Contender for RelentC {
    type State = (Backoff, Instant);
    type Out = Option<Duration>;
    fn fresh(&self, seed: u64) -> Self::State {
        (Backoff::new(self.0, seed), Instant::ZERO)
    }
    /// `next_delay(now)` and nothing else: the policy has no time limit (`max_elapsed`,
    /// `reset_after_quiet`), so `now` changes no answer, and the driver's clock stands still
    /// (the peers take no time argument at all).
    #[inline]
    fn decide(s: &mut Self::State) -> Option<Duration> {
        s.0.next_delay(s.1)
    }
    fn observe(s: &mut Self::State) -> Option<(Duration, Duration)> {
        Self::decide(s).map(|d| (d, d))
    }
}

/// backon with the equivalent settings. Its jitter adds `d × U[0, 1)` to the nominal delay
/// (so `[d, 2d)`), drawn from `fastrand` as an `f32`; its growth multiplies `f32` seconds.
pub fn backon_builder(jitter: bool) -> ExponentialBuilder {
    let b = ExponentialBuilder::default()
        .with_min_delay(BASE)
        .with_factor(2.0)
        .with_max_delay(CAP)
        .with_max_times(DELAYS as usize);
    if jitter { b.with_jitter() } else { b }
}

/// backon: `ExponentialBuilder::build()` and its iterator.
#[derive(Clone, Copy)]
pub struct BackonC(pub ExponentialBuilder);

impl Contender for BackonC {
    type State = backon::ExponentialBackoff;
    type Out = Option<Duration>;
    fn fresh(&self, _: u64) -> Self::State {
        self.0.build()
    }
    #[inline]
    fn decide(s: &mut Self::State) -> Option<Duration> {
        s.next()
    }
    fn observe(s: &mut Self::State) -> Option<(Duration, Duration)> {
        s.next().map(|d| (d, d))
    }
}

/// exponential-backoff 2.x: `Backoff::new(max_attempts, min, max)` counts attempts, so 11
/// attempts give 10 delays (the 11th item is `Some(None)`: "no more"). Its jitter is
/// proportional but not uniform: a percentage `r ∈ [0, 2j)` is drawn; below `j` the delay
/// shrinks by `r %`, else grows by `r/2 %`, so with `j = 0.5` delays fall in
/// `[0.51 d, d] ∪ [1.25 d, 1.495 d]`, then are clamped to `[min, max]`. Every iterator
/// seeds a `fastrand::Rng` from the thread-local one, jitter or not.
pub fn exponential_backoff(jitter: f32) -> exponential_backoff::Backoff {
    let mut b = exponential_backoff::Backoff::new(DELAYS + 1, BASE, CAP);
    b.set_factor(2);
    b.set_jitter(jitter);
    b
}

/// exponential-backoff: `Backoff::iter()` and its `Option<Duration>` items.
#[derive(Clone)]
pub struct ExponentialBackoffC(pub exponential_backoff::Backoff);

impl Contender for ExponentialBackoffC {
    type State = exponential_backoff::IntoIter;
    type Out = Option<Duration>;
    fn fresh(&self, _: u64) -> Self::State {
        self.0.iter()
    }
    #[inline]
    fn decide(s: &mut Self::State) -> Option<Duration> {
        s.next().flatten()
    }
    fn observe(s: &mut Self::State) -> Option<(Duration, Duration)> {
        Self::decide(s).map(|d| (d, d))
    }
}

/// The `backoff` crate (cenkalti port). It has no full jitter: its randomization is
/// proportional, `d × (1 ± f)`, drawn with `rand::random::<f64>()` from the thread-local
/// RNG on every call (also with `f = 0`), and each `next_backoff` reads
/// `std::time::Instant::now()` for its elapsed-time check (made with `max_elapsed_time =
/// None` too). Its cap applies before randomization (a delay can reach 1.5 × 10 s). It has
/// no attempt limit: the bench takes 10 delays.
pub fn backoff_crate(randomization: f64) -> backoff::ExponentialBackoff {
    backoff::ExponentialBackoffBuilder::new()
        .with_initial_interval(BASE)
        .with_multiplier(2.0)
        .with_max_interval(CAP)
        .with_randomization_factor(randomization)
        .with_max_elapsed_time(None)
        .build()
}

/// backoff: `ExponentialBackoffBuilder::build()` (reads the clock) and `next_backoff()`.
#[derive(Clone, Copy)]
pub struct BackoffCrateC(pub f64);

impl Contender for BackoffCrateC {
    type State = backoff::ExponentialBackoff;
    type Out = Option<Duration>;
    fn fresh(&self, _: u64) -> Self::State {
        backoff_crate(self.0)
    }
    #[inline]
    fn decide(s: &mut Self::State) -> Option<Duration> {
        s.next_backoff()
    }
    fn observe(s: &mut Self::State) -> Option<(Duration, Duration)> {
        s.next_backoff().map(|d| (d, d))
    }
}

/// retry-policies 0.5: `ExponentialBackoff` with `retry_bounds(100 ms, 10 s)`, base 2, at
/// most 10 retries. It is stateless: the caller passes the start time and the number of
/// past retries, and each `should_retry` reads `SystemTime::now()` to return an absolute
/// `execute_after` (no way to get the bare delay), and draws from `rand::rng()` (the
/// thread-local generator) for `Full` jitter (`d × U[0, 1)`, an `f64` multiply).
pub fn retry_policies(
    jitter: retry_policies::Jitter,
) -> retry_policies::policies::ExponentialBackoff {
    retry_policies::policies::ExponentialBackoff::builder()
        .retry_bounds(BASE, CAP)
        .jitter(jitter)
        .base(2)
        .build_with_max_retries(DELAYS)
}

/// retry-policies: the policy, the request's start time (a clock read, as its callers do)
/// and the number of past retries.
#[derive(Clone, Copy)]
pub struct RetryPoliciesC(pub retry_policies::policies::ExponentialBackoff);

impl Contender for RetryPoliciesC {
    type State = (
        retry_policies::policies::ExponentialBackoff,
        SystemTime,
        u32,
    );
    type Out = retry_policies::RetryDecision;
    fn fresh(&self, _: u64) -> Self::State {
        (self.0, SystemTime::now(), 0)
    }
    #[inline]
    fn decide(s: &mut Self::State) -> retry_policies::RetryDecision {
        let r = s.0.should_retry(s.1, s.2);
        s.2 += 1;
        r
    }
    fn observe(s: &mut Self::State) -> Option<(Duration, Duration)> {
        let before = SystemTime::now();
        let r = Self::decide(s);
        let after = SystemTime::now();
        match r {
            retry_policies::RetryDecision::Retry { execute_after } => Some((
                execute_after.duration_since(after).unwrap_or_default(),
                execute_after.duration_since(before).unwrap_or_default(),
            )),
            retry_policies::RetryDecision::DoNotRetry => None,
        }
    }
}

/// tokio-retry2 0.9: `ExponentialBackoff::from_millis(2).factor(50)` yields `2^(k+1) × 50`
/// ms = 100, 200, 400, … ms (its base is also the growth factor, so 100 ms ×2 needs base 2
/// and factor 50); `max_delay(10 s)`; the iterator is endless, so `.take(10)`. Its jitter is
/// a free function mapped over the delays: `strategy::jitter(d) = d × U[0.5, 1.5)`
/// (`rand::random::<f64>()`), applied after the cap (a delay can reach 15 s).
pub fn tokio_retry2() -> Take<tokio_retry2::strategy::ExponentialBackoff> {
    tokio_retry2::strategy::ExponentialBackoff::from_millis(2)
        .factor(50)
        .max_delay(CAP)
        .take(DELAYS as usize)
}

/// tokio-retry2 with a jitter function mapped over its delays (`|d| d` for none).
#[derive(Clone, Copy)]
pub struct TokioRetry2C<F>(pub F);

impl<F: Fn(Duration) -> Duration + Copy> Contender for TokioRetry2C<F> {
    type State = Map<Take<tokio_retry2::strategy::ExponentialBackoff>, F>;
    type Out = Option<Duration>;
    fn fresh(&self, _: u64) -> Self::State {
        tokio_retry2().map(self.0)
    }
    #[inline]
    fn decide(s: &mut Self::State) -> Option<Duration> {
        s.next()
    }
    fn observe(s: &mut Self::State) -> Option<(Duration, Duration)> {
        s.next().map(|d| (d, d))
    }
}

/// The identity "jitter" of tokio-retry2's no-jitter row (inlined away).
pub fn no_jitter(d: Duration) -> Duration {
    d
}

/// tower 0.5: `ExponentialBackoffMaker::new(100 ms, 10 s, jitter, HasherRng::default())`;
/// its growth factor is fixed at 2. `jitter = 0.0` turns jitter off (no draw); `1.0` adds
/// `d × U(0, 1)` (an `f64` from a SipHash-based counter RNG), never past the max. It has no
/// attempt limit (tower's retry `Policy` counts). `next_backoff()` does not return the delay:
/// it returns `tokio::time::sleep(delay)`, a `Sleep` (which reads tokio's clock and needs a
/// runtime context), so its rows measure the delay computation plus creating the `Sleep`;
/// the timed rows drop the `Sleep` outside the timing. `make_backoff()` clones the maker's
/// RNG, so every backoff made by one maker draws the same jitter sequence.
pub fn tower_maker(jitter: f64) -> ExponentialBackoffMaker<HasherRng> {
    ExponentialBackoffMaker::new(BASE, CAP, jitter, HasherRng::default()).expect("valid backoff")
}

/// tower: `make_backoff()` and `next_backoff()`; needs an entered tokio runtime with time.
#[derive(Clone)]
pub struct TowerC(pub ExponentialBackoffMaker<HasherRng>);

impl Contender for TowerC {
    type State = tower::retry::backoff::ExponentialBackoff<HasherRng>;
    type Out = tokio::time::Sleep;
    fn fresh(&self, _: u64) -> Self::State {
        self.0.clone().make_backoff()
    }
    #[inline]
    fn decide(s: &mut Self::State) -> tokio::time::Sleep {
        s.next_backoff()
    }
    fn observe(s: &mut Self::State) -> Option<(Duration, Duration)> {
        let before = tokio::time::Instant::now();
        let sleep = s.next_backoff();
        let after = tokio::time::Instant::now();
        let deadline = sleep.deadline();
        Some((deadline - after, deadline - before))
    }
}

/// The runtime tower's `Sleep` needs: current thread, time enabled. Enter it around tower.
pub fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime")
}

/// Construct a contender's state and take all 10 decisions (the `sequence` group).
#[inline]
pub fn sequence<C: Contender>(c: &C, seed: u64) {
    let mut s = c.fresh(seed);
    for _ in 0..DELAYS {
        std::hint::black_box(C::decide(&mut s));
    }
}

/// A fresh state advanced by `k` decisions: the input of one timed decision.
pub fn at_step<C: Contender>(c: &C, seed: u64, k: u32) -> C::State {
    let mut s = c.fresh(seed);
    for _ in 0..k {
        std::hint::black_box(C::decide(&mut s));
    }
    s
}

/// Every contender of `case`, by id, as a callback on a visitor (one monomorphic path each).
pub trait Visit {
    fn visit<C: Contender>(&mut self, id: &str, c: &C);
}

pub fn for_each_contender(case: Case, v: &mut impl Visit) {
    let id = case.relent_id();
    v.visit(id, &RelentC(relent_policy(case.relent_jitter())));
    match case {
        Case::NoJitter => {
            v.visit("backon", &BackonC(backon_builder(false)));
            v.visit(
                "exponential-backoff",
                &ExponentialBackoffC(exponential_backoff(0.0)),
            );
            v.visit("backoff", &BackoffCrateC(0.0));
            v.visit(
                "retry-policies",
                &RetryPoliciesC(retry_policies(retry_policies::Jitter::None)),
            );
            v.visit("tokio-retry2", &TokioRetry2C(no_jitter));
            v.visit("tower", &TowerC(tower_maker(0.0)));
        }
        Case::Full => {
            v.visit(
                "retry-policies",
                &RetryPoliciesC(retry_policies(retry_policies::Jitter::Full)),
            );
        }
        Case::Proportional => {
            v.visit(
                "exponential-backoff",
                &ExponentialBackoffC(exponential_backoff(0.5)),
            );
            v.visit("backoff", &BackoffCrateC(0.5));
            v.visit(
                "tokio-retry2",
                &TokioRetry2C(tokio_retry2::strategy::jitter),
            );
        }
        Case::Additive => {
            v.visit("backon", &BackonC(backon_builder(true)));
            v.visit("tower", &TowerC(tower_maker(1.0)));
        }
    }
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

pub fn earliest_deadline_map<K: Hash + Eq + Clone>() -> EarliestDeadlineMap<K> {
    EarliestDeadlineMap::new(CAPACITY)
}

pub fn lru_cache<K: Hash + Eq>() -> LruCache<K, Instant> {
    LruCache::new(NonZeroUsize::new(CAPACITY).expect("non-zero"))
}

/// An unbounded std `HashMap<K, Instant>` (SipHash, randomly keyed), with relent's answers:
/// a known key keeps the later deadline, an expired entry found by a lookup is removed. It
/// never evicts, so under a stream of distinct keys it grows with the number of keys still
/// held: what a Retry-After store without a bound does (melotic/reqwest-retry-after's middleware).
pub fn std_hashmap<K: Hash + Eq>() -> HashMap<K, Instant> {
    HashMap::new()
}

impl<K: Hash + Eq> Table<K> for HashMap<K, Instant> {
    fn record(&mut self, key: K, deadline: Instant, now: Instant) {
        if deadline <= now {
            return;
        }
        let stored = self.entry(key).or_insert(deadline);
        if deadline > *stored {
            *stored = deadline;
        }
    }
    fn next_allowed(&mut self, key: &K, now: Instant) -> Option<Instant> {
        let deadline = *self.get(key)?;
        if deadline > now {
            Some(deadline)
        } else {
            self.remove(key);
            None
        }
    }
    fn clear(&mut self) {
        HashMap::clear(self);
    }
}

// --------------------------------------------------------------------------- operation

/// relent's default retryable set (`StatusSet::DEFAULT_RETRYABLE`), written by hand for the
/// peers' loops.
pub fn retryable(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// At most 10 attempts (9 retries) for every contender of the `operation` group.
pub const ATTEMPTS: u32 = 10;

/// The two operations: 9 retryable failures then a success (10 attempts, done), and 10
/// retryable failures (10 attempts, then give up at the attempt limit).
pub const NINE_FAILURES_THEN_OK: [u16; 10] = [503, 503, 503, 503, 503, 503, 503, 503, 503, 200];
pub const TEN_FAILURES: [u16; 10] = [503; 10];

/// The operation cases: name and statuses.
pub const OPERATIONS: [(&str, [u16; 10]); 2] = [
    ("9x503_then_200", NINE_FAILURES_THEN_OK),
    ("10x503", TEN_FAILURES),
];

/// How an operation ended: attempts made, whether it succeeded, and the total time waited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ended {
    pub attempts: u32,
    pub ok: bool,
    pub waited: Duration,
}

/// 10 attempts, the decision group's full-jitter backoff (100 ms ×2, cap 10 s) between them.
pub fn operation_policy() -> RetryPolicy {
    let backoff = relent_policy(Jitter::Full)
        .to_builder()
        .no_max_delays()
        .build()
        .expect("policy");
    // No overall deadline and no per-attempt timeout, like the peers' loops (the default
    // policy has both since this round; with them each attempt also races a timer).
    RetryPolicy::default()
        .without_time_limits()
        .with_max_attempts(ATTEMPTS)
        .with_backoff(backoff)
}

/// A clock for the `operation` group: "sleeping" moves it to the instant, at once.
pub struct VirtualClock(std::cell::Cell<Instant>);

impl VirtualClock {
    pub fn new(now: Instant) -> Self {
        VirtualClock(std::cell::Cell::new(now))
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Instant {
        self.0.get()
    }
    fn sleep_until(&self, until: Instant) {
        self.0.set(self.0.get().max(until));
    }
}

/// One operation through relent's driver (`relent::drive::blocking::run`, the loop every
/// adapter steps) over a virtual clock: no real sleep. Per attempt the machine also checks
/// the overall deadline and per-try timeout (none set here), the gate (none), the budget
/// (`Unlimited`), the server hint (none) against the hint cap and keeps a report; the
/// policy's classifier reads each status with the request's idempotency; the peers' loops
/// below do none of that.
pub fn relent_operation(policy: &RetryPolicy, statuses: &[u16], seed: u64) -> Ended {
    let start = Instant::ZERO;
    let clock = VirtualClock::new(start);
    let machine = Retry::new(policy, seed, start);
    let mut next = statuses.iter();
    let mut attempts = 0;
    let judge = |status: &u16, number: u32| {
        policy.classifier.outcome(&Attempt {
            observed: Observed::Response {
                status: *status,
                hint: None,
            },
            idempotent: true,
            number,
        })
    };
    let finished = blocking::run(machine, &clock, judge, &mut (), |n, _timeout| {
        attempts = n;
        next.next().copied().unwrap_or(200)
    });
    match finished {
        Finished::Succeeded(_) => Ended {
            attempts,
            ok: true,
            waited: clock.now().saturating_duration_since(start),
        },
        Finished::GaveUp { report, .. } => Ended {
            attempts: report.attempts,
            ok: false,
            waited: report.waited,
        },
    }
}

/// retry-policies' `should_retry` loop, as reqwest-retry drives it: after each retryable
/// failure, `should_retry(start, n_past_retries)`; `Retry { execute_after }` would sleep
/// until then (here: nothing), `DoNotRetry` gives up. Full jitter, at most 9 retries. The
/// start time and every decision read `SystemTime::now()` (its API).
pub fn retry_policies_operation(
    policy: &retry_policies::policies::ExponentialBackoff,
    statuses: &[u16],
) -> Ended {
    let start = SystemTime::now();
    let mut last = start;
    let mut attempts = 0;
    let mut ok = false;
    for &status in statuses {
        attempts += 1;
        if !retryable(status) {
            ok = true;
            break;
        }
        match policy.should_retry(start, attempts - 1) {
            // The caller would sleep until `execute_after`; here it goes straight on.
            retry_policies::RetryDecision::Retry { execute_after } => last = execute_after,
            retry_policies::RetryDecision::DoNotRetry => break,
        }
    }
    // Not the sum of the waits (that would need a clock read per attempt): the last
    // `execute_after` minus the start, which keeps every decision's result alive.
    let waited = last.duration_since(start).unwrap_or_default();
    Ended {
        attempts,
        ok,
        waited,
    }
}

/// retry-policies for the operation group: full jitter, at most 9 retries = 10 attempts.
pub fn operation_retry_policies() -> retry_policies::policies::ExponentialBackoff {
    retry_policies::policies::ExponentialBackoff::builder()
        .retry_bounds(BASE, CAP)
        .jitter(retry_policies::Jitter::Full)
        .base(2)
        .build_with_max_retries(ATTEMPTS - 1)
}

/// backon for the operation group: 9 delays = 10 attempts, its (additive) jitter.
pub fn operation_backon() -> ExponentialBuilder {
    backon_builder(true).with_max_times((ATTEMPTS - 1) as usize)
}

/// The same decisions with backon's delay iterator and a hand-written status check.
pub fn backon_operation(builder: ExponentialBuilder, statuses: &[u16]) -> Ended {
    let mut delays = builder.build();
    let mut waited = Duration::ZERO;
    let mut attempts = 0;
    for &status in statuses {
        attempts += 1;
        if !retryable(status) {
            return Ended {
                attempts,
                ok: true,
                waited,
            };
        }
        match delays.next() {
            Some(d) => waited += d,
            None => break,
        }
    }
    Ended {
        attempts,
        ok: false,
        waited,
    }
}

// ------------------------------------------------------------------------------ report

/// `target/bench-report/<name>.md`: where every non-criterion bench writes its table, for
/// the BENCHMARKS.md generator. The target dir is found from this executable's path
/// (`target/<profile>/deps/<bench>-<hash>`), or `CARGO_TARGET_DIR`.
pub fn write_report(name: &str, markdown: &str) {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            let exe = std::env::current_exe().ok()?;
            exe.ancestors().nth(3).map(std::path::Path::to_path_buf)
        })
        .expect("a target directory");
    let dir = target.join("bench-report");
    std::fs::create_dir_all(&dir).expect("create target/bench-report");
    let path = dir.join(format!("{name}.md"));
    std::fs::write(&path, markdown).expect("write the report");
    eprintln!("wrote {}", path.display());
}

/// `a ÷ b` for a ratio column: `n/a` when both are zero, `0` when only `a` is.
pub fn ratio(a: f64, b: f64) -> String {
    if b == 0.0 {
        if a == 0.0 { "n/a".into() } else { "inf".into() }
    } else {
        let r = a / b;
        if r != 0.0 && r < 0.1 {
            format!("1/{:.0}", 1.0 / r)
        } else {
            format!("{r:.2}")
        }
    }
}
