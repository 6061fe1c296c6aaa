//! The bounded LRU mechanics shared by [`DeadlineTable`](super::DeadlineTable) and the
//! per-key stores of [`crate::keyed`]: a slab of entries, a hash index of `u32` slab indices
//! and an intrusive recency list, all reserved at construction.
//!
//! This type knows nothing about deadlines, backoffs or budgets: it stores a value per key,
//! keeps them in recency order and offers the victim scan ("the first of the
//! [`RECLAIM_SCAN`] least recently used entries that the caller calls reclaimable, else the
//! least recently used"). What counts as reclaimable, what an eviction means and whether it is
//! counted belong to the structure built on top.
//!
//! Why the index is reserved for `2 × capacity` items: hashbrown's erase leaves tombstones,
//! and when they use up its spare room it rehashes *in place* only while the live items are at
//! most half of what its buckets can hold, otherwise it reallocates; the double reservation
//! keeps every rehash in place, so nothing allocates after construction.

use alloc::vec::Vec;
use core::borrow::Borrow;
use core::hash::{BuildHasher, Hash};

use hashbrown::HashTable;

use super::{CapacityError, MAX_CAPACITY, RECLAIM_SCAN};

/// "No entry" in the intrusive recency list and in the free list.
pub(crate) const NIL: u32 = u32::MAX;

/// One entry of the slab. A free slot has `entry == None` and links the free list via `next`.
struct Slot<K, V> {
    entry: Option<(K, V)>,
    /// The key's hash, kept so the index can be rehashed and an evicted entry found without
    /// hashing its key again.
    hash: u64,
    /// Towards the most recently used end (`NIL` at the head).
    prev: u32,
    /// Towards the least recently used end (`NIL` at the tail); free-list link for free slots.
    next: u32,
}

/// A bounded map from keys to values in recency order; see the [module docs](self).
pub(crate) struct Lru<K, V, S> {
    index: HashTable<u32>,
    slots: Vec<Slot<K, V>>,
    /// Most recently used entry.
    head: u32,
    /// Least recently used entry.
    tail: u32,
    /// First free slot below `slots.len()`.
    free: u32,
    len: u32,
    capacity: u32,
    hasher: S,
}

impl<K, V, S> Lru<K, V, S> {
    /// An empty map for at most `capacity` entries, with all its memory reserved.
    pub(crate) fn with_hasher(capacity: usize, hasher: S) -> Result<Self, CapacityError> {
        if capacity == 0 {
            return Err(CapacityError::Zero);
        }
        let cap32 = match u32::try_from(capacity) {
            Ok(c) if capacity <= MAX_CAPACITY => c,
            _ => {
                return Err(CapacityError::TooLarge {
                    requested: capacity,
                });
            }
        };
        let failed = CapacityError::AllocationFailed {
            requested: capacity,
        };
        let mut slots = Vec::new();
        slots.try_reserve_exact(capacity).map_err(|_| failed)?;
        let index_items = capacity.checked_mul(2).ok_or(failed)?;
        let mut index = HashTable::new();
        // The map is empty, so the hasher closure is never called here.
        index
            .try_reserve(index_items, |_: &u32| 0)
            .map_err(|_| failed)?;
        Ok(Lru {
            index,
            slots,
            head: NIL,
            tail: NIL,
            free: NIL,
            len: 0,
            capacity: cap32,
            hasher,
        })
    }

    pub(crate) fn len(&self) -> usize {
        ix(self.len)
    }

    pub(crate) fn capacity(&self) -> usize {
        ix(self.capacity)
    }

    pub(crate) fn is_full(&self) -> bool {
        self.len >= self.capacity
    }

    pub(crate) fn hasher(&self) -> &S {
        &self.hasher
    }

    /// Bytes of heap held (slab plus hash index); fixed at construction.
    pub(crate) fn allocated_bytes(&self) -> usize {
        self.slots
            .capacity()
            .saturating_mul(core::mem::size_of::<Slot<K, V>>())
            .saturating_add(self.index.allocation_size())
    }

    /// How many items the hash index holds without growing (for the tests of the reservation).
    #[cfg(test)]
    pub(crate) fn index_capacity(&self) -> usize {
        self.index.capacity()
    }

    /// How many entries the slab holds without growing.
    #[cfg(test)]
    pub(crate) fn slab_capacity(&self) -> usize {
        self.slots.capacity()
    }

    /// The size of one slab entry in bytes.
    #[cfg(test)]
    pub(crate) fn slot_size(&self) -> usize {
        core::mem::size_of::<Slot<K, V>>()
    }

    /// Removes every entry, keeping the memory.
    pub(crate) fn clear(&mut self) {
        self.index.clear();
        self.slots.clear();
        self.head = NIL;
        self.tail = NIL;
        self.free = NIL;
        self.len = 0;
    }

    /// The value at slab index `i`, if live.
    pub(crate) fn value(&self, i: u32) -> Option<&V> {
        self.slots
            .get(ix(i))
            .and_then(|s| s.entry.as_ref())
            .map(|(_, v)| v)
    }

    /// The value at slab index `i`, if live, mutably.
    pub(crate) fn value_mut(&mut self, i: u32) -> Option<&mut V> {
        self.slots
            .get_mut(ix(i))
            .and_then(|s| s.entry.as_mut())
            .map(|(_, v)| v)
    }

    /// Stores a new entry as the most recently used. The caller checked `!is_full()` and that
    /// the key is absent; if the map is full anyway, nothing is stored and `None` comes back.
    pub(crate) fn insert_new(&mut self, key: K, hash: u64, value: V) -> Option<u32> {
        if self.is_full() {
            return None;
        }
        let fresh = Slot {
            entry: Some((key, value)),
            hash,
            prev: NIL,
            next: NIL,
        };
        let i = if let Some(slot) = self.slots.get_mut(ix(self.free)) {
            let i = self.free;
            self.free = slot.next;
            *slot = fresh;
            i
        } else {
            // No free slot below `slots.len()`: every slot is live, so `slots.len() == len`,
            // which is below the capacity reserved up front. This push never reallocates.
            let i = self.len;
            self.slots.push(fresh);
            i
        };
        self.index_insert(hash, i);
        self.push_front(i);
        self.len = self.len.saturating_add(1);
        Some(i)
    }

    /// Puts a new key and value into the live slot `victim`, which becomes the most recently
    /// used, and hands back the entry it held (`None` if `victim` was not live, in which case
    /// nothing changes and the passed key and value are dropped).
    pub(crate) fn replace(&mut self, victim: u32, key: K, hash: u64, value: V) -> Option<(K, V)> {
        let slot = self.slots.get_mut(ix(victim))?;
        // A free slot is no victim: leave everything as it is.
        slot.entry.as_ref()?;
        let old = slot.entry.replace((key, value));
        let old_hash = core::mem::replace(&mut slot.hash, hash);
        self.index_erase(old_hash, victim);
        self.unlink(victim);
        self.index_insert(hash, victim);
        self.push_front(victim);
        old
    }

    /// The first entry among the [`RECLAIM_SCAN`] least recently used for which `reclaimable`
    /// holds, else the least recently used (`NIL` only when empty). Bounded: O(1).
    pub(crate) fn pick_victim(&self, mut reclaimable: impl FnMut(&V) -> bool) -> u32 {
        let mut cursor = self.tail;
        for _ in 0..RECLAIM_SCAN {
            let Some(slot) = self.slots.get(ix(cursor)) else {
                break;
            };
            if slot.entry.as_ref().is_some_and(|(_, v)| reclaimable(v)) {
                return cursor;
            }
            cursor = slot.prev;
        }
        self.tail
    }

    /// Removes the live entry at `i`, handing it back.
    pub(crate) fn remove_at(&mut self, i: u32) -> Option<(K, V)> {
        let slot = self.slots.get_mut(ix(i))?;
        let entry = slot.entry.take()?;
        let hash = slot.hash;
        self.index_erase(hash, i);
        self.unlink(i);
        if let Some(slot) = self.slots.get_mut(ix(i)) {
            slot.next = self.free;
            slot.prev = NIL;
        }
        self.free = i;
        self.len = self.len.saturating_sub(1);
        Some(entry)
    }

    /// Removes every entry for which `remove` holds, walking from the least recently used
    /// end; returns how many went. O(len).
    pub(crate) fn remove_where(&mut self, mut remove: impl FnMut(&V) -> bool) -> usize {
        let mut removed = 0usize;
        let mut cursor = self.tail;
        while cursor != NIL {
            let Some(slot) = self.slots.get(ix(cursor)) else {
                break;
            };
            let prev = slot.prev;
            let hit = slot.entry.as_ref().is_some_and(|(_, v)| remove(v));
            if hit && self.remove_at(cursor).is_some() {
                removed = removed.saturating_add(1);
            }
            cursor = prev;
        }
        removed
    }

    /// Marks `i` the most recently used.
    pub(crate) fn touch(&mut self, i: u32) {
        if self.head != i {
            self.unlink(i);
            self.push_front(i);
        }
    }

    /// The entries, most recently used first.
    pub(crate) fn iter(&self) -> Iter<'_, K, V> {
        Iter {
            slots: &self.slots,
            next: self.head,
            remaining: self.len(),
        }
    }

    fn index_insert(&mut self, hash: u64, i: u32) {
        let slots = &self.slots;
        self.index
            .insert_unique(hash, i, |&j| slots.get(ix(j)).map_or(0, |s| s.hash));
    }

    fn index_erase(&mut self, hash: u64, i: u32) {
        if let Ok(entry) = self.index.find_entry(hash, |&j| j == i) {
            let _ = entry.remove();
        }
    }

    fn unlink(&mut self, i: u32) {
        let Some(slot) = self.slots.get(ix(i)) else {
            return;
        };
        let (prev, next) = (slot.prev, slot.next);
        if prev == NIL {
            self.head = next;
        } else if let Some(p) = self.slots.get_mut(ix(prev)) {
            p.next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else if let Some(n) = self.slots.get_mut(ix(next)) {
            n.prev = prev;
        }
    }

    fn push_front(&mut self, i: u32) {
        let old_head = self.head;
        let Some(slot) = self.slots.get_mut(ix(i)) else {
            return;
        };
        slot.prev = NIL;
        slot.next = old_head;
        if let Some(h) = self.slots.get_mut(ix(old_head)) {
            h.prev = i;
        } else {
            self.tail = i;
        }
        self.head = i;
    }
}

impl<K, V, S: BuildHasher> Lru<K, V, S> {
    /// The hash of `key` under this map's hasher.
    #[inline]
    pub(crate) fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The slab index of `key`, whose hash is `hash`, if present.
    pub(crate) fn find<Q>(&self, hash: u64, key: &Q) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let slots = &self.slots;
        self.index
            .find(hash, |&i| {
                slots
                    .get(ix(i))
                    .and_then(|s| s.entry.as_ref())
                    .is_some_and(|(k, _)| k.borrow() == key)
            })
            .copied()
    }
}

/// Iterator over the entries, most recently used first.
pub(crate) struct Iter<'a, K, V> {
    slots: &'a [Slot<K, V>],
    next: u32,
    remaining: usize,
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let slot = self.slots.get(ix(self.next))?;
        self.next = slot.next;
        self.remaining = self.remaining.saturating_sub(1);
        slot.entry.as_ref().map(|(k, v)| (k, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<'a, K, V> Iter<'a, K, V> {
    pub(crate) fn remaining(&self) -> usize {
        self.remaining
    }
}

/// A slab index as a `usize`. Indices are below the capacity, which was checked to fit both
/// `u32` and `usize`, so this never truncates a real index (`NIL` may map to any value that is
/// out of the slab's range, which `get` then rejects).
#[inline]
pub(crate) fn ix(i: u32) -> usize {
    i as usize
}
