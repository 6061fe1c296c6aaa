//! [`KeyedBudget`]: a retry budget per key (host, region), in a bounded table.

use core::borrow::Borrow;
use core::fmt;
use core::hash::{BuildHasher, Hash};

use crate::retry::{Budget, BudgetConfig, RetryKind, refill_step};
use crate::table::{CapacityError, Lru, SeededState};
use crate::time::Instant;

/// One key's bucket: the balance in millitokens and the refill clock (the configuration is
/// the table's, shared by every key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Balance {
    balance: u64,
    last_refill: Instant,
}

impl Balance {
    /// Brings the balance up to `now` under `config` (the same refill rule as
    /// [`TokenBucket`](crate::retry::TokenBucket)).
    fn refill(&mut self, config: &BudgetConfig, now: Instant) {
        let (add, last) = refill_step(config, self.last_refill, now);
        self.last_refill = last;
        self.deposit(config, add);
    }

    fn deposit(&mut self, config: &BudgetConfig, amount: u64) {
        self.balance = self.balance.saturating_add(amount).min(config.max);
    }

    /// The balance `refill` would give at `now`, without changing anything.
    fn refilled(self, config: &BudgetConfig, now: Instant) -> u64 {
        let mut copy = self;
        copy.refill(config, now);
        copy.balance
    }
}

/// A retry budget split per key: one token bucket per host, origin or region, all with the
/// same [`BudgetConfig`], at most `capacity` of them.
///
/// Why per key: one budget for a whole client lets a single failing backend use up the
/// retries of every healthy one (and a healthy one's successes refill the failing one's
/// retries). The AWS SDKs in smithy-rs keep one standard-mode token bucket per retry partition
/// (by default, per region) for this reason. Keys come from outside (hostnames), so the
/// number of buckets must be bounded as well.
///
/// Bind an operation to its key with [`for_key`](Self::for_key); the [`KeyBudget`] it returns
/// is the operation's [`Budget`] and acts on that key's bucket exactly as a
/// [`TokenBucket`](crate::retry::TokenBucket) of the same configuration would. A key seen for
/// the first time starts with `config.initial` (at most `config.max`).
///
/// # Bounded memory, and why churn creates no tokens
///
/// Memory is reserved at construction (a slab of 16-byte balances plus the keys, a seeded
/// hash index, a recency list: the mechanics of [`DeadlineTable`](crate::DeadlineTable)); no
/// later call allocates. A new key at a full table takes, among the
/// [`RECLAIM_SCAN`](crate::table::RECLAIM_SCAN) least recently used buckets, the first one
/// that has refilled to at least the starting balance (dropping it loses nothing a fresh
/// bucket would not give back). If none has, the least recently used bucket is evicted,
/// counted by [`evictions`](Self::evictions), and the new key **inherits its balance** when
/// that is lower than the starting one. Without that rule, cycling through more keys than
/// the capacity would hand every evicted-then-returning key a fresh bucket, and a storm over
/// many keys would retry without bound; with it, churn in a full table never adds tokens.
/// The price: a key arriving while the table is full of drained buckets starts drained.
///
/// ```
/// use relent::Instant;
/// use relent::keyed::KeyedBudget;
/// use relent::retry::{Budget, BudgetConfig, RetryKind};
///
/// let mut budgets = KeyedBudget::<&str>::new(BudgetConfig::AWS_STANDARD, 64, 1)?;
/// let now = Instant::ZERO;
/// // eu-west-1 is failing: it drains its own bucket (500 / 5 = 100 retries) …
/// let mut eu = budgets.for_key("eu-west-1");
/// let granted = (0..200).filter(|_| eu.try_withdraw(RetryKind::Transient, now)).count();
/// assert_eq!(granted, 100);
/// // … and us-east-1 keeps all of its own.
/// assert!(budgets.for_key("us-east-1").try_withdraw(RetryKind::Transient, now));
/// assert_eq!(budgets.balance("us-east-1", now), Some(495_000));
/// # Ok::<(), relent::table::CapacityError>(())
/// ```
pub struct KeyedBudget<K, S = SeededState> {
    lru: Lru<K, Balance, S>,
    config: BudgetConfig,
    evictions: u64,
}

impl<K> KeyedBudget<K, SeededState> {
    /// Buckets for at most `capacity` keys, hashed with [`SeededState::new(seed)`](SeededState).
    ///
    /// # Errors
    ///
    /// [`CapacityError`] as for [`DeadlineTable::new`](crate::DeadlineTable::new).
    pub fn new(config: BudgetConfig, capacity: usize, seed: u64) -> Result<Self, CapacityError> {
        Self::with_hasher(config, capacity, SeededState::new(seed))
    }
}

impl<K, S> KeyedBudget<K, S> {
    /// Buckets hashed with the caller's `hasher`.
    ///
    /// # Errors
    ///
    /// As for [`new`](KeyedBudget::new).
    pub fn with_hasher(
        config: BudgetConfig,
        capacity: usize,
        hasher: S,
    ) -> Result<Self, CapacityError> {
        Ok(KeyedBudget {
            lru: Lru::with_hasher(capacity, hasher)?,
            config,
            evictions: 0,
        })
    }

    /// The configuration every key's bucket follows.
    #[must_use]
    pub const fn config(&self) -> &BudgetConfig {
        &self.config
    }

    /// Keys held; at most the capacity.
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

    /// How many buckets below the starting balance were evicted to make room, since
    /// construction. Monotonic.
    #[must_use]
    pub const fn evictions(&self) -> u64 {
        self.evictions
    }

    /// Bytes of heap the table holds; fixed at construction (keys' own heap excluded).
    #[must_use]
    pub fn allocated_bytes(&self) -> usize {
        self.lru.allocated_bytes()
    }

    /// The balance a key starts with.
    const fn start(&self) -> u64 {
        if self.config.initial < self.config.max {
            self.config.initial
        } else {
            self.config.max
        }
    }
}

impl<K: Hash + Eq, S: BuildHasher> KeyedBudget<K, S> {
    /// The [`Budget`] of an operation on `key`.
    pub fn for_key(&mut self, key: K) -> KeyBudget<'_, K, S> {
        KeyBudget { table: self, key }
    }

    /// `key`'s balance in millitokens at `now` (refill included), if it has a bucket. Changes
    /// nothing.
    #[must_use]
    pub fn balance<Q>(&self, key: &Q, now: Instant) -> Option<u64>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let i = self.lru.find(self.lru.hash(key), key)?;
        self.lru.value(i).map(|b| b.refilled(&self.config, now))
    }

    /// Drops `key`'s bucket (its next operation starts with the starting balance), returning
    /// the balance it had.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<u64>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let i = self.lru.find(self.lru.hash(key), key)?;
        self.lru.remove_at(i).map(|(_, b)| b.balance)
    }

    /// `key`'s bucket, refilled to `now` and marked most recently used; made if new.
    fn bucket(&mut self, key: &K, now: Instant) -> Option<&mut Balance>
    where
        K: Clone,
    {
        let hash = self.lru.hash(key);
        let i = if let Some(i) = self.lru.find(hash, key) {
            self.lru.touch(i);
            i
        } else {
            let start = self.start();
            let mut fresh = Balance {
                balance: start,
                last_refill: now,
            };
            if self.lru.is_full() {
                let config = self.config;
                let victim = self.lru.pick_victim(|b| b.refilled(&config, now) >= start);
                let victim_balance = self.lru.value(victim)?.refilled(&config, now);
                if victim_balance < start {
                    // Evicting a drained bucket: its debt moves to the newcomer.
                    fresh.balance = victim_balance;
                    self.evictions = self.evictions.saturating_add(1);
                }
                let _ = self.lru.replace(victim, key.clone(), hash, fresh);
                victim
            } else {
                self.lru.insert_new(key.clone(), hash, fresh)?
            }
        };
        let config = self.config;
        let bucket = self.lru.value_mut(i)?;
        bucket.refill(&config, now);
        Some(bucket)
    }
}

impl<K, S> fmt::Debug for KeyedBudget<K, S> {
    /// Sizes and counters only: keys may be private and need not be `Debug`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedBudget")
            .field("config", &self.config)
            .field("len", &self.lru.len())
            .field("capacity", &self.lru.capacity())
            .field("evictions", &self.evictions)
            .finish_non_exhaustive()
    }
}

/// A [`KeyedBudget`] bound to one key: the [`Budget`] of an operation on that key.
///
/// Made by [`KeyedBudget::for_key`]. Each call finds (or makes) the key's bucket and applies
/// the [`BudgetConfig`] rules to it, as [`TokenBucket`](crate::retry::TokenBucket) does.
pub struct KeyBudget<'t, K, S = SeededState> {
    table: &'t mut KeyedBudget<K, S>,
    key: K,
}

impl<K, S> fmt::Debug for KeyBudget<'_, K, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyBudget")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl<K: Hash + Eq + Clone, S: BuildHasher> Budget for KeyBudget<'_, K, S> {
    fn on_request(&mut self, now: Instant) {
        let config = self.table.config;
        if let Some(b) = self.table.bucket(&self.key, now) {
            b.deposit(&config, config.deposit_per_request);
        }
    }

    fn on_failure(&mut self, kind: RetryKind, now: Instant) {
        let config = self.table.config;
        if let Some(b) = self.table.bucket(&self.key, now) {
            b.balance = config.charge_failure(b.balance, kind);
        }
    }

    fn try_withdraw(&mut self, kind: RetryKind, now: Instant) -> bool {
        let config = self.table.config;
        let Some(b) = self.table.bucket(&self.key, now) else {
            return false;
        };
        match config.withdraw(b.balance, kind) {
            Some(left) => {
                b.balance = left;
                true
            }
            None => false,
        }
    }

    fn on_success(&mut self, after_retry: Option<RetryKind>, now: Instant) {
        let config = self.table.config;
        if let Some(b) = self.table.bucket(&self.key, now) {
            b.deposit(&config, config.refund(after_retry));
        }
    }
}
