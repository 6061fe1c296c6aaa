//! [`KeyedBackoff`]: failures and a backoff walk per key, bounded.

use alloc::borrow::ToOwned;
use core::borrow::Borrow;
use core::fmt;
use core::hash::{BuildHasher, Hash};
use core::time::Duration;

use super::RateLimiter;
use crate::backoff::{BackoffPolicy, Walk};
use crate::rng::SplitMix64;
use crate::table::{CapacityError, Lru, SeededState};
use crate::time::{Instant, nanos_to_duration};

/// What the store keeps per key.
#[derive(Clone, Debug)]
struct Entry {
    /// Where the key is on the policy's schedule (and its jitter stream).
    walk: Walk,
    /// Failures since the key was new, forgotten or cooled down.
    failures: u32,
    /// The end of the last delay handed out (`now + delay`): the key is not quiet before.
    busy_until: Instant,
}

/// Per-key exponential (or any [`BackoffPolicy`]) backoff with a fixed capacity: what
/// client-go's `ItemExponentialFailureRateLimiter` keeps in an unbounded map, in a bounded
/// table.
///
/// * [`when(key, now)`](Self::when) counts one more failure of `key` and returns the delay
///   before its next try: the policy's next delay for that key,
///   `clamp(jitter(min(d_n, cap)), floor, cap)` with `n` its earlier failures.
/// * [`forget(key)`](Self::forget) after a success: the next failure starts over.
/// * [`failures(key)`](Self::failures): the failures counted (client-go's `NumRequeues`).
/// * **Cool-down**: the policy's [`reset_after_quiet`](BackoffPolicy::reset_after_quiet). A key
///   with no `when` for that long after the end of its last delay starts over at its next
///   `when`, as if forgotten (a controller that stopped failing on an object, but never
///   called `forget`, does not punish its next unrelated failure). `None` (client-go's
///   behaviour) keeps failures until `forget`.
/// * The policy's limits (`max_delays`, `max_elapsed`) do not apply: a work queue never
///   drops a key, the cap bounds the delay instead.
///
/// # Bounded memory
///
/// All memory is reserved by [`new`](Self::new); no later call allocates (the key itself
/// is cloned from the borrowed one when a key is new, which allocates only if the key type
/// does, e.g. `String`; integer or `Arc` keys do not). A new key at a full store reuses, among
/// the [`RECLAIM_SCAN`](crate::table::RECLAIM_SCAN) least recently used, the first that has
/// cooled down (nothing is lost: it would start over anyway), else it evicts the least
/// recently used key, counted by [`evictions`](Self::evictions): that key's next failure
/// starts over at the first delay. Keys are hashed with a seeded hasher
/// ([`SeededState`]) because their names come from outside (object names, hostnames).
///
/// O(1) per call: one hash, one index probe, at most `RECLAIM_SCAN` list steps, and one
/// step of the schedule (integer math, no `Duration` conversions on the common paths).
///
/// ```
/// use core::time::Duration;
/// use relent::Instant;
/// use relent::backoff::BackoffBuilder;
/// use relent::keyed::KeyedBackoff;
///
/// let policy = BackoffBuilder::exponential(Duration::from_millis(100))
///     .cap(Duration::from_secs(10))
///     .reset_after_quiet(Duration::from_secs(60))
///     .build()?;
/// let mut store = KeyedBackoff::<u64>::new(policy, 1024, 7)?;
/// let t = Instant::from_secs(1);
/// assert_eq!(store.when(&42, t), Duration::from_millis(100));
/// assert_eq!(store.when(&42, t), Duration::from_millis(200));
/// assert_eq!(store.when(&7, t), Duration::from_millis(100)); // keys are independent
/// // Quiet for a minute after its last delay ended: 42 starts over.
/// let later = t + Duration::from_millis(200) + Duration::from_secs(60);
/// assert_eq!(store.when(&42, later), Duration::from_millis(100));
/// assert_eq!(store.failures(&42), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct KeyedBackoff<K, S = SeededState> {
    lru: Lru<K, Entry, S>,
    /// Its plan (the per-decision numbers) is cached in it.
    policy: BackoffPolicy,
    cool_down: Option<Duration>,
    /// Seeds each new key's jitter stream, so a run is reproducible from the store's seed.
    seeds: SplitMix64,
    evictions: u64,
}

impl<K> KeyedBackoff<K, SeededState> {
    /// A store for at most `capacity` keys under `policy`, hashed with
    /// [`SeededState::new(seed)`](SeededState); `seed` also seeds the jitter.
    ///
    /// Allocates all the memory the store will ever use.
    ///
    /// # Errors
    ///
    /// [`CapacityError`] as for [`DeadlineTable::new`](crate::DeadlineTable::new).
    pub fn new(policy: BackoffPolicy, capacity: usize, seed: u64) -> Result<Self, CapacityError> {
        Self::with_hasher(policy, capacity, SeededState::new(seed), seed)
    }
}

impl<K, S> KeyedBackoff<K, S> {
    /// A store hashed with the caller's `hasher`; `jitter_seed` seeds the jitter.
    ///
    /// # Errors
    ///
    /// As for [`new`](KeyedBackoff::new).
    pub fn with_hasher(
        policy: BackoffPolicy,
        capacity: usize,
        hasher: S,
        jitter_seed: u64,
    ) -> Result<Self, CapacityError> {
        Ok(KeyedBackoff {
            lru: Lru::with_hasher(capacity, hasher)?,
            cool_down: policy.reset_after_quiet(),
            policy,
            seeds: SplitMix64::new(jitter_seed),
            evictions: 0,
        })
    }

    /// The policy every key follows.
    #[must_use]
    pub const fn policy(&self) -> &BackoffPolicy {
        &self.policy
    }

    /// Keys held (cooled-down ones not yet reclaimed included); at most the capacity.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lru.len()
    }

    /// `true` when no key is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.lru.len() == 0
    }

    /// The capacity fixed at construction.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.lru.capacity()
    }

    /// How many keys that had not cooled down were evicted to make room, since construction
    /// (each one's next failure starts over at the first delay). Monotonic; not reset by
    /// [`clear`](Self::clear).
    #[must_use]
    pub const fn evictions(&self) -> u64 {
        self.evictions
    }

    /// Bytes of heap the store holds; fixed at construction (keys' own heap excluded).
    #[must_use]
    pub fn allocated_bytes(&self) -> usize {
        self.lru.allocated_bytes()
    }

    /// Forgets every key, keeping the memory.
    pub fn clear(&mut self) {
        self.lru.clear();
    }

    /// The keys with their failure counts, most recently failed first.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&K, u32)> + '_ {
        IterAdapter(self.lru.iter())
    }

    /// The policy's first delay, for a key with no walk of its own.
    fn first_delay(&self) -> Duration {
        nanos_to_duration(Walk::new(&self.policy, 0).next_planned(&self.policy.plan))
    }

    /// `true` when an entry whose last delay ended at `busy_until` has cooled down at `now`.
    fn cooled(cool_down: Option<Duration>, busy_until: Instant, now: Instant) -> bool {
        cool_down.is_some_and(|c| now.saturating_duration_since(busy_until) >= c)
    }
}

impl<K: Hash + Eq, S: BuildHasher> KeyedBackoff<K, S> {
    /// Counts one more failure of `key` at `now` and returns the delay before its next try.
    ///
    /// A new key (or one forgotten, evicted or cooled down) gets the policy's first delay.
    /// The key is cloned into the store only when it is new.
    pub fn when<Q>(&mut self, key: &Q, now: Instant) -> Duration
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let hash = self.lru.hash(key);
        let i = match self.lru.find(hash, key) {
            Some(i) => {
                self.lru.touch(i);
                i
            }
            None => {
                let fresh = Entry {
                    walk: Walk::new(&self.policy, self.seeds.next_u64()),
                    failures: 0,
                    busy_until: now,
                };
                if self.lru.is_full() {
                    let cool_down = self.cool_down;
                    let victim = self
                        .lru
                        .pick_victim(|e| Self::cooled(cool_down, e.busy_until, now));
                    match self.lru.replace(victim, key.to_owned(), hash, fresh) {
                        Some((_, old)) if !Self::cooled(cool_down, old.busy_until, now) => {
                            self.evictions = self.evictions.saturating_add(1);
                        }
                        _ => {}
                    }
                    victim
                } else {
                    match self.lru.insert_new(key.to_owned(), hash, fresh) {
                        Some(i) => i,
                        // Not reached: the store was not full. Hand out a first delay.
                        None => return self.first_delay(),
                    }
                }
            }
        };
        let (policy, cool_down) = (&self.policy, self.cool_down);
        let plan = &policy.plan;
        let Some(entry) = self.lru.value_mut(i) else {
            // Not reached: `i` is live. Hand out a first delay.
            return nanos_to_duration(Walk::new(policy, 0).next_planned(plan));
        };
        if entry.failures > 0 && Self::cooled(cool_down, entry.busy_until, now) {
            entry.walk.reset(policy, plan.base_ns);
            entry.failures = 0;
        }
        let delay_ns = entry.walk.next_planned(plan);
        let delay = nanos_to_duration(delay_ns);
        entry.failures = entry.failures.saturating_add(1);
        entry.busy_until = now.saturating_add(delay);
        delay
    }

    /// Forgets `key` (after a success), returning the failures it had, if it was held.
    pub fn forget<Q>(&mut self, key: &Q) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.lru.hash(key);
        let i = self.lru.find(hash, key)?;
        self.lru.remove_at(i).map(|(_, e)| e.failures)
    }

    /// The failures counted for `key` (0 if it is not held). A key past its cool-down still
    /// shows its count until its next [`when`](Self::when) starts it over. Does not touch
    /// recency.
    #[must_use]
    pub fn failures<Q>(&self, key: &Q) -> u32
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.lru.hash(key);
        self.lru
            .find(hash, key)
            .and_then(|i| self.lru.value(i))
            .map_or(0, |e| e.failures)
    }

    /// `true` if `key` is held.
    #[must_use]
    pub fn contains<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.lru.find(self.lru.hash(key), key).is_some()
    }
}

impl<K, Q, S> RateLimiter<Q> for KeyedBackoff<K, S>
where
    K: Hash + Eq + Borrow<Q>,
    Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    S: BuildHasher,
{
    fn when(&mut self, key: &Q, now: Instant) -> Duration {
        KeyedBackoff::when(self, key, now)
    }
    fn forget(&mut self, key: &Q) {
        let _ = KeyedBackoff::forget(self, key);
    }
    fn failures(&self, key: &Q) -> u32 {
        KeyedBackoff::failures(self, key)
    }
}

impl<K, S> fmt::Debug for KeyedBackoff<K, S> {
    /// Sizes and counters only: keys may be private and need not be `Debug`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedBackoff")
            .field("policy", &self.policy)
            .field("len", &self.lru.len())
            .field("capacity", &self.lru.capacity())
            .field("evictions", &self.evictions)
            .finish_non_exhaustive()
    }
}

struct IterAdapter<'a, K>(crate::table::lru::Iter<'a, K, Entry>);

impl<'a, K> Iterator for IterAdapter<'a, K> {
    type Item = (&'a K, u32);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, e)| (k, e.failures))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<K> ExactSizeIterator for IterAdapter<'_, K> {}
