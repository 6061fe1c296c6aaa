//! State shared by many tasks: the Retry-After deadline table and the retry budget.
//!
//! Both are cheap to clone (an `Arc` each) and never hold a lock across an
//! `.await`: the table's mutex is taken only inside these synchronous methods,
//! for one O(1) table operation, and the budget is lock-free atomics.

use std::borrow::Borrow;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

use relent::Instant;
use relent::retry::{BudgetConfig, Gate, Hold, SharedTokenBucket};
use relent::table::{CapacityError, DeadlineTable, NextAllowed, Recorded};

use crate::clock;

/// A cloneable handle to one bounded [`DeadlineTable`], shared by every task that sends to the same keys.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
/// use relent_tokio::SharedDeadlines;
///
/// let table = SharedDeadlines::<String>::new(1024).unwrap();
/// let until = relent_tokio::clock::now() + Duration::from_secs(2);
/// let _ = table.record("https://api.example".to_string(), until);
/// assert_eq!(table.not_before("https://api.example"), Some(until));
/// assert_eq!(table.not_before("https://other.example"), None);
/// # }
/// ```
pub struct SharedDeadlines<K> {
    inner: Arc<Mutex<DeadlineTable<K>>>,
}

impl<K> Clone for SharedDeadlines<K> {
    fn clone(&self) -> Self {
        SharedDeadlines {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<K> std::fmt::Debug for SharedDeadlines<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = self.lock();
        f.debug_struct("SharedDeadlines")
            .field("len", &t.len())
            .field("capacity", &t.capacity())
            .field("evictions", &t.evictions())
            .finish()
    }
}

impl<K: Hash + Eq> SharedDeadlines<K> {
    /// A table of `capacity` keys, with its hasher seeded from OS entropy.
    pub fn new(capacity: usize) -> Result<Self, CapacityError> {
        Ok(Self::from_table(DeadlineTable::new(
            capacity,
            crate::seed::fresh_seed(),
        )?))
    }
}

impl<K> SharedDeadlines<K> {
    /// Share an existing table.
    pub fn from_table(table: DeadlineTable<K>) -> Self {
        SharedDeadlines {
            inner: Arc::new(Mutex::new(table)),
        }
    }

    /// The table, locked. A panic in another thread while it held the lock
    /// cannot leave the table inconsistent (every operation is a few field
    /// writes), so a poisoned lock is simply taken over.
    fn lock(&self) -> MutexGuard<'_, DeadlineTable<K>> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Entries held now.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no entry is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// The fixed capacity.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.lock().capacity()
    }

    /// Live entries evicted to make room so far.
    #[must_use]
    pub fn evictions(&self) -> u64 {
        self.lock().evictions()
    }
}

impl<K: Hash + Eq> SharedDeadlines<K> {
    /// The instant before which `key` may not be sent, if a live deadline exists.
    #[must_use]
    pub fn not_before<Q>(&self, key: &Q) -> Option<Instant>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.not_before_at(key, clock::now())
    }

    /// Record that `key` may not be sent before `deadline` (the later of two deadlines wins).
    pub fn record(&self, key: K, deadline: Instant) -> Recorded<K> {
        self.record_at(key, deadline, clock::now())
    }

    /// [`not_before`](Self::not_before) at a time the caller has already read
    /// from [`clock::now`], to save a clock read in a loop that has one.
    #[must_use]
    pub fn not_before_at<Q>(&self, key: &Q, now: Instant) -> Option<Instant>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        match self.lock().next_allowed(key, now) {
            NextAllowed::Now => None,
            NextAllowed::Wait { until } => Some(until),
        }
    }

    /// [`record`](Self::record) at a time the caller has already read from [`clock::now`].
    pub fn record_at(&self, key: K, deadline: Instant, now: Instant) -> Recorded<K> {
        self.lock().record(key, deadline, now)
    }

    /// Forget `key`'s deadline.
    pub fn remove<Q>(&self, key: &Q) -> Option<Instant>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.lock().remove(key)
    }
}

/// A [`SharedDeadlines`] table bound to one key: the [`Gate`] of one run, made by
/// [`SharedDeadlines::gate`] (or [`gate_borrowed`](SharedDeadlines::gate_borrowed), with
/// the key as a borrowed form `Q`). Each call takes the table's lock for one O(1) operation.
#[derive(Debug)]
pub struct SharedGate<'a, K, Q: ?Sized = K> {
    table: &'a SharedDeadlines<K>,
    key: &'a Q,
}

impl<K, Q> Gate for SharedGate<'_, K, Q>
where
    K: Hash + Eq + Borrow<Q>,
    Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
{
    fn hold(&mut self, now: Instant) -> Option<Hold> {
        let mut table = self.table.lock();
        // An empty table holds nothing: no need to hash the key (most runs, most of the time).
        if table.is_empty() {
            return None;
        }
        table.hold(self.key, now)
    }

    fn record(&mut self, hold: Hold, now: Instant) {
        // An eviction is counted by the table (`evictions`), and the evicted key's
        // holder simply finds no deadline: nothing waits forever.
        let _ = self
            .table
            .lock()
            .record_hold(self.key.to_owned(), hold, now);
    }
}

impl<K> SharedDeadlines<K> {
    /// This table as the [`Gate`] of a run on `key`: the core's machine asks it before
    /// each attempt and records the server's hints through it (the rule is the core's,
    /// see [`relent::retry::gate`]).
    pub fn gate<'a>(&'a self, key: &'a K) -> SharedGate<'a, K> {
        SharedGate { table: self, key }
    }

    /// [`gate`](Self::gate) with the key in a borrowed form (a `&str` for a `String`
    /// table): for an adapter that holds its key in another form (a shared `Arc<str>`)
    /// and should not make an owned copy per run only to ask the table. A copy is made
    /// only when a hint is recorded.
    pub fn gate_borrowed<'a, Q>(&'a self, key: &'a Q) -> SharedGate<'a, K, Q>
    where
        Q: ?Sized,
    {
        SharedGate { table: self, key }
    }
}

/// A cloneable, lock-free handle to one retry budget shared across operations.
#[derive(Clone, Debug)]
pub struct SharedBudget {
    inner: Arc<SharedTokenBucket>,
}

impl SharedBudget {
    /// A budget with this configuration, starting now.
    #[must_use]
    pub fn new(config: BudgetConfig) -> Self {
        SharedBudget {
            inner: Arc::new(SharedTokenBucket::new(config, clock::now())),
        }
    }

    /// The bucket, to hand to a [`relent::retry::Retry`] machine (`Arc<SharedTokenBucket>` is a `Budget`).
    #[must_use]
    pub fn bucket(&self) -> Arc<SharedTokenBucket> {
        Arc::clone(&self.inner)
    }

    /// The shared bucket itself, borrowed (no reference count moves); `&SharedTokenBucket` is a `Budget` too.
    #[must_use]
    pub fn token_bucket(&self) -> &SharedTokenBucket {
        &self.inner
    }

    /// The balance in millitokens.
    #[must_use]
    pub fn balance(&self) -> u64 {
        self.inner.balance()
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &BudgetConfig {
        self.inner.config()
    }
}
