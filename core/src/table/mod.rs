//! A bounded table of "do not send before" deadlines, one per key (host, origin, URL…).
//!
//! Servers answer `429`/`503` with a `Retry-After` hint that is about the *next* request to the
//! same place, not only the retry of this one. A client therefore has to remember, per key,
//! the instant before which it should not send again, and check it before every request.
//! The usual Retry-After middleware (melotic/reqwest-retry-after's `RetryAfterMiddleware`,
//! often inlined into services) keeps an unbounded `HashMap<Url, SystemTime>`: a server (or a crawl over many hosts) that hands out deadlines
//! for a million distinct keys grows it by a million entries. [`DeadlineTable`] keeps the same
//! answer for every key it still holds, but its memory is fixed when it is built:
//!
//! * **Capacity fixed at construction.** All memory (a slab of entries and a hash index) is
//!   reserved by [`DeadlineTable::new`]/[`DeadlineTable::with_hasher`]; no later call allocates.
//! * **O(1) operations.** [`record`](DeadlineTable::record), [`lookup`](DeadlineTable::lookup),
//!   [`next_allowed`](DeadlineTable::next_allowed) and [`remove`](DeadlineTable::remove) do one
//!   hash-index probe plus a bounded amount of list work.
//! * **Expired entries go first, then the least recently used.** When a new key arrives at a
//!   full table, up to [`RECLAIM_SCAN`] entries from the least-recently-used end are checked for
//!   an expired deadline and the first one found is reused; only if none has expired is the
//!   least-recently-used entry evicted. Evictions are counted ([`DeadlineTable::evictions`]) and
//!   the evicted key is handed back in [`Recorded::Evicted`], so nothing is dropped silently.
//! * **Seeded hashing.** Keys such as hostnames are chosen by whoever controls the URLs the
//!   client follows; a hash with a fixed, public seed would let them pick keys that all collide.
//!   The default hasher [`SeededState`] takes a seed, and any [`BuildHasher`] can be supplied.
//!
//! # Example: a per-origin Retry-After table
//!
//! ```
//! use core::time::Duration;
//! use relent::Instant;
//! use relent::table::{DeadlineTable, NextAllowed, Recorded};
//!
//! // One table for the whole client; drivers seed it from OS entropy.
//! let mut table: DeadlineTable<String> = DeadlineTable::new(4096, 0x5eed_1234)?;
//!
//! // A 429 from this origin at t = 100 s carried `Retry-After: 120`
//! // (parsed and capped by the hint module; here just a Duration).
//! let now = Instant::from_secs(100);
//! let retry_after = Duration::from_secs(120);
//! let outcome = table.record(String::from("https://api.example.com"), now + retry_after, now);
//! assert_eq!(outcome, Recorded::Inserted);
//!
//! // Before each request, ask whether this origin may be contacted yet (a &str is enough).
//! let later = now + Duration::from_secs(30);
//! match table.next_allowed("https://api.example.com", later) {
//!     NextAllowed::Now => unreachable!("the server asked for 120 s"),
//!     NextAllowed::Wait { until } => {
//!         assert_eq!(until, Instant::from_secs(220));
//!         // A driver sleeps this long, then sends.
//!         assert_eq!(NextAllowed::Wait { until }.delay(later), Duration::from_secs(90));
//!     }
//! }
//! // Other origins are not held back.
//! assert_eq!(table.next_allowed("https://other.example", later), NextAllowed::Now);
//! // Once the deadline has passed, the origin is free again.
//! assert_eq!(
//!     table.next_allowed("https://api.example.com", Instant::from_secs(220)),
//!     NextAllowed::Now
//! );
//! # Ok::<(), relent::table::CapacityError>(())
//! ```

use core::borrow::Borrow;
use core::fmt;
use core::hash::{BuildHasher, Hash, Hasher};
use core::time::Duration;

use crate::retry::{Gate, Hold};
use crate::time::Instant;

pub(crate) mod lru;
pub(crate) use lru::Lru;

/// How many entries, counted from the least-recently-used end, a full table checks for an
/// expired deadline before it evicts a live entry.
///
/// Bounded so that [`DeadlineTable::record`] stays O(1): a full scan would cost O(capacity) on
/// every new key. The idea of examining a small fixed sample rather than the whole keyspace is
/// the one Redis uses for eviction (`maxmemory-samples`, default 5, redis.conf); 8 is a small
/// constant of the same order that still fits a few cache lines of entries. Expired entries
/// deeper in the list are removed when they are looked up, when they drift to the end, or by
/// [`DeadlineTable::purge_expired`].
pub const RECLAIM_SCAN: usize = 8;

/// The largest capacity a table accepts.
///
/// Entries are addressed by `u32` indices (half the size of a pointer on 64-bit targets, which
/// keeps the hash index at 4 bytes per bucket) and `u32::MAX` marks "no entry", so at most
/// `u32::MAX - 1` entries fit. On targets whose `usize` is narrower, `usize::MAX - 1` is the
/// limit (so that "no entry" stays outside every slab index there too).
pub const MAX_CAPACITY: usize = if usize::BITS < u32::BITS {
    usize::MAX - 1
} else {
    (u32::MAX - 1) as usize
};

/// Why a table could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CapacityError {
    /// A capacity of zero was requested.
    ///
    /// A table that can hold nothing would drop every deadline a server sends and so ignore
    /// every `Retry-After`; that is refused rather than built. A caller that wants no table can
    /// hold an `Option<DeadlineTable<_>>`.
    Zero,
    /// The capacity is above [`MAX_CAPACITY`].
    TooLarge {
        /// The capacity that was asked for.
        requested: usize,
    },
    /// The allocator could not provide the memory for this capacity (or its size overflowed).
    AllocationFailed {
        /// The capacity that was asked for.
        requested: usize,
    },
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CapacityError::Zero => f.write_str("deadline table capacity must be at least 1"),
            CapacityError::TooLarge { requested } => write!(
                f,
                "deadline table capacity {requested} exceeds the maximum of {MAX_CAPACITY}"
            ),
            CapacityError::AllocationFailed { requested } => write!(
                f,
                "could not allocate a deadline table with capacity {requested}"
            ),
        }
    }
}

impl core::error::Error for CapacityError {}

/// What [`DeadlineTable::record`] did with a deadline.
///
/// Handing keys back (heapless style) means a full table never loses an entry without the
/// caller being able to see which one.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Recorded<K> {
    /// The key was new and there was a free entry for it.
    Inserted,
    /// The key was already present. Its deadline is now the later of the stored and the new
    /// one (see [`DeadlineTable::record`] for why), and it became the most recently used.
    Updated {
        /// The deadline now in force for the key.
        deadline: Instant,
    },
    /// The table was full; an entry whose deadline had already passed was reused. Nothing
    /// that was still in force was lost. Not counted as an eviction.
    Reclaimed {
        /// The key whose expired entry was reused.
        key: K,
        /// Its (past) deadline.
        deadline: Instant,
    },
    /// The table was full and no entry among the [`RECLAIM_SCAN`] least recently used had
    /// expired: the least-recently-used entry, still in force, was evicted and counted in
    /// [`DeadlineTable::evictions`].
    Evicted {
        /// The evicted key.
        key: K,
        /// Its deadline, which had not passed yet.
        deadline: Instant,
    },
    /// The deadline was not after `now`, so it asks for no waiting; the table is unchanged.
    ///
    /// Storing it would only take an entry (possibly evicting a live one) for nothing.
    Ignored,
}

/// The answer to "may I send to this key now, and if not, until when must I wait?".
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NextAllowed {
    /// No deadline is in force for the key: send now.
    Now,
    /// A deadline is in force: do not send before `until`.
    Wait {
        /// The instant from which sending is allowed again.
        until: Instant,
    },
}

impl NextAllowed {
    /// `true` for [`NextAllowed::Now`].
    #[must_use]
    pub const fn is_now(self) -> bool {
        matches!(self, NextAllowed::Now)
    }

    /// How long to wait from `now`: `until - now`, or zero for [`NextAllowed::Now`] (and zero,
    /// not a panic, if `now` is already past `until`).
    #[must_use]
    pub const fn delay(self, now: Instant) -> Duration {
        match self {
            NextAllowed::Now => Duration::ZERO,
            NextAllowed::Wait { until } => until.saturating_duration_since(now),
        }
    }
}

/// The default [`BuildHasher`] of [`DeadlineTable`]: foldhash, keyed with a caller-given seed.
///
/// Why seeded: table keys (hostnames, origins, URLs) are picked by whoever controls the links
/// a client follows. With a fixed, public hash seed they could pick keys that all land in the
/// same bucket and turn every O(1) probe into a scan of the whole table. Drivers should pass a
/// seed from OS entropy.
///
/// What it is: foldhash's [`SeedableRandomState`](foldhash::fast::SeedableRandomState) with
/// `seed` as the per-hasher seed and foldhash's process-wide random shared seed
/// ([`SharedSeed::global_random`](foldhash::SharedSeed::global_random), derived from
/// address-space randomisation) as the other key. Foldhash is fast and "minimally
/// DoS-resistant" in its authors' words: it defeats blind collision attacks, not an attacker
/// who can observe hash values or timings at length. On targets without address-space
/// randomisation the shared part is a constant and `seed` is the only secret. Callers who want
/// a stronger keyed hash (e.g. SipHash with a 128-bit key) pass it to
/// [`DeadlineTable::with_hasher`].
///
/// Nothing observable depends on hash values: which entries are kept, reclaimed or evicted is
/// decided by recency and deadlines alone, so the table gives the same answers on every run.
#[derive(Clone)]
pub struct SeededState {
    inner: foldhash::fast::SeedableRandomState,
}

impl SeededState {
    /// A hasher state keyed by `seed` (see the type docs for what else goes into the key).
    #[must_use]
    pub fn new(seed: u64) -> Self {
        SeededState {
            inner: foldhash::fast::SeedableRandomState::with_seed(
                seed,
                foldhash::SharedSeed::global_random(),
            ),
        }
    }
}

impl fmt::Debug for SeededState {
    /// The seed is a secret; it is not printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeededState").finish_non_exhaustive()
    }
}

impl BuildHasher for SeededState {
    type Hasher = SeededHasher;

    fn build_hasher(&self) -> SeededHasher {
        SeededHasher {
            inner: self.inner.build_hasher(),
        }
    }
}

/// The [`Hasher`] built by [`SeededState`] (a foldhash hasher behind a type of our own, so the
/// hash function can change without changing the public API).
#[derive(Clone)]
pub struct SeededHasher {
    inner: foldhash::fast::FoldHasher<'static>,
}

impl fmt::Debug for SeededHasher {
    /// The state is derived from the secret seed; it is not printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeededHasher").finish_non_exhaustive()
    }
}

impl Hasher for SeededHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.inner.finish()
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        self.inner.write(bytes);
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.inner.write_u8(i);
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.inner.write_u16(i);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.inner.write_u32(i);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.inner.write_u64(i);
    }
    #[inline]
    fn write_u128(&mut self, i: u128) {
        self.inner.write_u128(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.inner.write_usize(i);
    }
}

/// A bounded map from keys to "do not send before" deadlines, with O(1) operations, no
/// allocation after construction and least-recently-used eviction.
///
/// See the [module docs](self) for the why and an example.
///
/// # Layout
///
/// A slab of `capacity` entries (`Vec`, reserved up front) holds each key once, with its
/// deadline, its hash and the `u32` links of a doubly linked recency list (most recently used
/// at the head). A [`hashbrown::HashTable<u32>`] maps hashes to slab indices. The index is
/// reserved for `2 × capacity` items: hashbrown's erase leaves tombstones, and when they use up
/// its spare room it rehashes *in place* only while the live items are at most half of what
/// its buckets can hold, otherwise it reallocates; the double reservation keeps every rehash in
/// place, so the table never allocates after construction. Memory is
/// `capacity × (size_of::<Option<K>>() + 40)` bytes for the slab plus 5 bytes (a `u32` and a
/// control byte) per index bucket, with 2.3 to 4.6 buckets per entry of capacity (hashbrown
/// rounds buckets up to a power of two); [`allocated_bytes`](Self::allocated_bytes) gives the
/// exact figure. Capacity 4,096 with `String` keys: 278,544 bytes, plus the keys' own text.
///
/// # Time
///
/// An entry is *in force* while `now < deadline` and *expired* once `deadline <= now`. Every
/// method that needs the time takes `now`; comparisons are the only time arithmetic, so a
/// clock that goes backwards never panics (entries simply look in force again until they are
/// removed).
pub struct DeadlineTable<K, S = SeededState> {
    /// Slab, hash index and recency list: the mechanics shared with [`crate::keyed`].
    lru: Lru<K, Hold, S>,
    evictions: u64,
}

impl<K: Hash + Eq> DeadlineTable<K, SeededState> {
    /// A table for at most `capacity` keys, hashed with [`SeededState::new(seed)`](SeededState).
    ///
    /// Allocates all the memory the table will ever use.
    ///
    /// # Errors
    ///
    /// [`CapacityError::Zero`] for a capacity of 0, [`CapacityError::TooLarge`] above
    /// [`MAX_CAPACITY`], [`CapacityError::AllocationFailed`] if the memory cannot be had.
    pub fn new(capacity: usize, seed: u64) -> Result<Self, CapacityError> {
        Self::with_hasher(capacity, SeededState::new(seed))
    }
}

impl<K: Hash + Eq, S: BuildHasher> DeadlineTable<K, S> {
    /// A table for at most `capacity` keys, hashed with the caller's `hasher`.
    ///
    /// Use this for a stronger keyed hash than the default, or a deterministic one in tests.
    /// Allocates all the memory the table will ever use.
    ///
    /// # Errors
    ///
    /// As for [`DeadlineTable::new`].
    pub fn with_hasher(capacity: usize, hasher: S) -> Result<Self, CapacityError> {
        Ok(DeadlineTable {
            lru: Lru::with_hasher(capacity, hasher)?,
            evictions: 0,
        })
    }

    /// Remembers that `key` should not be contacted before `deadline`.
    ///
    /// * `deadline <= now`: nothing to remember; the table is unchanged ([`Recorded::Ignored`]).
    /// * `key` present: its deadline becomes `max(stored, deadline)` and it becomes the most
    ///   recently used ([`Recorded::Updated`]). The passed key is dropped; the stored one kept.
    /// * `key` new, table not full: stored as the most recently used ([`Recorded::Inserted`]).
    /// * `key` new, table full: the first expired entry among the [`RECLAIM_SCAN`] least
    ///   recently used is reused ([`Recorded::Reclaimed`]); if none has expired, the least
    ///   recently used entry is evicted ([`Recorded::Evicted`], counted by
    ///   [`evictions`](Self::evictions)).
    ///
    /// Why the *later* deadline wins over the newest one: a `Retry-After` is a lower bound,
    /// "do not come back before". Two lower bounds hold together only at their maximum, so
    /// keeping it obeys every instruction the server gave. A shorter hint after a longer one
    /// can only come from a request that was already in flight (a client honouring the table
    /// sends nothing before the deadline), i.e. from the same moment of the server, not from
    /// newer knowledge; letting it shorten the wait would send early against the longer
    /// instruction, and servers behind several backends can give such mixed answers. Waits are
    /// bounded by the caller's hint cap before they get here. When the server signals it is
    /// ready again (a success), the caller [`remove`](Self::remove)s the key.
    ///
    /// O(1): one hash of `key`, one index probe, at most [`RECLAIM_SCAN`] list steps.
    pub fn record(&mut self, key: K, deadline: Instant, now: Instant) -> Recorded<K> {
        let hint = deadline.saturating_duration_since(now);
        self.record_hold(
            key,
            Hold {
                until: deadline,
                hint,
            },
            now,
        )
    }

    /// [`record`](Self::record), keeping the server's uncapped hint beside the deadline
    /// (`hold.until` is the deadline). A present key keeps [`Hold::merge`] of both holds.
    ///
    /// The retry machine records through this (see [`crate::retry::gate`]), so a hint refused
    /// for exceeding the cap is remembered as such and later requests refuse it at once.
    pub fn record_hold(&mut self, key: K, hold: Hold, now: Instant) -> Recorded<K> {
        let deadline = hold.until;
        if deadline <= now {
            return Recorded::Ignored;
        }
        let hash = self.lru.hash(&key);
        if let Some(i) = self.lru.find(hash, &key) {
            let Some(stored) = self.lru.value_mut(i) else {
                return Recorded::Ignored;
            };
            *stored = stored.merge(hold);
            let deadline = stored.until;
            self.lru.touch(i);
            return Recorded::Updated { deadline };
        }
        if !self.lru.is_full() {
            let _ = self.lru.insert_new(key, hash, hold);
            return Recorded::Inserted;
        }
        // Full: reuse an expired entry near the LRU end, else the LRU entry itself.
        let victim = self.lru.pick_victim(|h| h.until <= now);
        let Some((old_key, old)) = self.lru.replace(victim, key, hash, hold) else {
            return Recorded::Ignored;
        };
        if old.until > now {
            self.evictions = self.evictions.saturating_add(1);
            Recorded::Evicted {
                key: old_key,
                deadline: old.until,
            }
        } else {
            Recorded::Reclaimed {
                key: old_key,
                deadline: old.until,
            }
        }
    }

    /// The deadline in force for `key` at `now`, if any, marking the key most recently used.
    ///
    /// An expired entry is not returned: it is removed on sight (freeing its slot) and `None`
    /// comes back. A key that is being asked about is one the client still talks to, hence the
    /// recency update. Use [`peek`](Self::peek) to look without changing anything.
    pub fn lookup<Q>(&mut self, key: &Q, now: Instant) -> Option<Instant>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.hold(key, now).map(|hold| hold.until)
    }

    /// The [`Hold`] in force for `key` at `now`, if any: [`lookup`](Self::lookup) with the
    /// server's uncapped hint beside the deadline.
    pub fn hold<Q>(&mut self, key: &Q, now: Instant) -> Option<Hold>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.lru.hash(key);
        let i = self.lru.find(hash, key)?;
        let hold = *self.lru.value(i)?;
        if hold.until > now {
            self.lru.touch(i);
            Some(hold)
        } else {
            let _expired = self.lru.remove_at(i);
            None
        }
    }

    /// This table as the [`Gate`] of an operation on `key`.
    pub fn gate(&mut self, key: K) -> TableGate<'_, K, S> {
        TableGate { table: self, key }
    }

    /// The deadline in force for `key` at `now`, if any, without touching recency or removing
    /// an expired entry (for observers that must not disturb the eviction order).
    #[must_use]
    pub fn peek<Q>(&self, key: &Q, now: Instant) -> Option<Instant>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.lru.hash(key);
        let i = self.lru.find(hash, key)?;
        let deadline = self.lru.value(i)?.until;
        (deadline > now).then_some(deadline)
    }

    /// May a request to `key` be sent at `now`? [`NextAllowed::Now`] if no deadline is in
    /// force, else [`NextAllowed::Wait`] with the deadline. Same effects as
    /// [`lookup`](Self::lookup).
    pub fn next_allowed<Q>(&mut self, key: &Q, now: Instant) -> NextAllowed
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        match self.lookup(key, now) {
            Some(until) => NextAllowed::Wait { until },
            None => NextAllowed::Now,
        }
    }

    /// Forgets `key` (e.g. after a successful response), returning its deadline, expired or
    /// not, if it was present.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<Instant>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_entry(key).map(|(_, deadline)| deadline)
    }

    /// Forgets `key`, handing back the stored key and its deadline if it was present.
    pub fn remove_entry<Q>(&mut self, key: &Q) -> Option<(K, Instant)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.lru.hash(key);
        let i = self.lru.find(hash, key)?;
        self.lru.remove_at(i).map(|(key, hold)| (key, hold.until))
    }

    /// Removes every expired entry (`deadline <= now`) and returns how many went.
    ///
    /// O(len): meant for an occasional housekeeping tick, not for every request; the per-call
    /// operations reclaim expired entries on their own within their O(1) bounds. Does not
    /// allocate.
    pub fn purge_expired(&mut self, now: Instant) -> usize {
        self.lru.remove_where(|hold| hold.until <= now)
    }
}

impl<K, S> DeadlineTable<K, S> {
    /// Number of entries held, expired ones not yet reclaimed included. Never above
    /// [`capacity`](Self::capacity).
    #[must_use]
    pub fn len(&self) -> usize {
        self.lru.len()
    }

    /// `true` when no entry is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.lru.len() == 0
    }

    /// The capacity fixed at construction.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.lru.capacity()
    }

    /// How many entries still in force were evicted to make room, since construction.
    ///
    /// Each one is a server instruction the client forgot; a rising count means the capacity
    /// is too small for the number of keys in play. Reclaimed expired entries are not
    /// counted, and [`clear`](Self::clear) does not reset it (it is a monotonic metric).
    #[must_use]
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// The hasher the table was built with.
    #[must_use]
    pub fn hasher(&self) -> &S {
        self.lru.hasher()
    }

    /// Bytes of heap the table itself holds (slab plus hash index). Fixed at construction;
    /// excludes heap memory owned by the keys (e.g. the bytes of `String` keys).
    #[must_use]
    pub fn allocated_bytes(&self) -> usize {
        self.lru.allocated_bytes()
    }

    /// Removes every entry, keeping the memory. Does not reset [`evictions`](Self::evictions).
    pub fn clear(&mut self) {
        self.lru.clear();
    }

    /// The entries, most recently used first, with their deadlines (expired entries not yet
    /// reclaimed included). For metrics and debugging.
    pub fn iter(&self) -> Iter<'_, K> {
        Iter {
            inner: self.lru.iter(),
        }
    }
}

impl<K, S> fmt::Debug for DeadlineTable<K, S> {
    /// Sizes and counters only: keys may be private (URLs with tokens) and need not be `Debug`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeadlineTable")
            .field("len", &self.lru.len())
            .field("capacity", &self.lru.capacity())
            .field("evictions", &self.evictions)
            .finish_non_exhaustive()
    }
}

impl<'a, K, S> IntoIterator for &'a DeadlineTable<K, S> {
    type Item = (&'a K, Instant);
    type IntoIter = Iter<'a, K>;
    fn into_iter(self) -> Iter<'a, K> {
        self.iter()
    }
}

/// Iterator over a table's entries, most recently used first; see [`DeadlineTable::iter`].
pub struct Iter<'a, K> {
    inner: lru::Iter<'a, K, Hold>,
}

impl<'a, K> Iterator for Iter<'a, K> {
    type Item = (&'a K, Instant);

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|(k, hold)| (k, hold.until))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<K> ExactSizeIterator for Iter<'_, K> {}

impl<K> fmt::Debug for Iter<'_, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter")
            .field("remaining", &self.inner.remaining())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;

/// A [`DeadlineTable`] bound to one key: the [`Gate`] of an operation on that key.
///
/// Made by [`DeadlineTable::gate`]. The machine asks it before each attempt and records
/// the server's hints through it (see [`crate::retry::gate`] for the rule).
///
/// ```
/// use core::time::Duration;
/// use relent::retry::{Action, GiveUpReason, Outcome, Retry, RetryKind, RetryPolicy, Seen};
/// use relent::{DeadlineTable, Instant, ServerHint};
///
/// let policy = RetryPolicy::default();
/// let mut table = DeadlineTable::new(64, 1).unwrap();
/// let now = Instant::ZERO;
///
/// // One operation sees `Retry-After` far beyond the 300 s cap and gives up.
/// let mut first = Retry::new(&policy, 1, now).with_gate(table.gate("api.example"));
/// let _ = first.poll(now);
/// let huge = Duration::from_secs(1_000_000);
/// first.handle_outcome(now, Outcome::Retryable {
///     kind: RetryKind::Throttled,
///     hint: Some(ServerHint::After(huge)),
///     seen: Seen::Status(429),
/// });
/// assert!(matches!(first.poll(now), Action::GiveUp(r)
///     if matches!(r.reason, GiveUpReason::HintTooLong { hint, .. } if hint == huge)));
///
/// // A later request to the same key refuses at once, naming that hint.
/// let mut later = Retry::new(&policy, 2, now).with_gate(table.gate("api.example"));
/// let Action::GiveUp(report) = later.poll(now) else { panic!() };
/// assert_eq!(report.attempts, 0);
/// assert!(matches!(report.reason, GiveUpReason::HintTooLong { hint, .. } if hint == huge));
/// ```
#[derive(Debug)]
pub struct TableGate<'t, K, S = SeededState> {
    table: &'t mut DeadlineTable<K, S>,
    key: K,
}

impl<K: Hash + Eq + Clone, S: BuildHasher> Gate for TableGate<'_, K, S> {
    fn hold(&mut self, now: Instant) -> Option<Hold> {
        self.table.hold(&self.key, now)
    }

    fn record(&mut self, hold: Hold, now: Instant) {
        // An eviction is counted by the table and handed back; the evicted key's next
        // request simply finds no hold, so nothing waits forever.
        let _ = self.table.record_hold(self.key.clone(), hold, now);
    }
}
