//! Jitter seeds from OS entropy (feature `std`), so two processes never jitter alike.
//!
//! Seeding every client with a constant brings the thundering herd back: with one seed,
//! a fleet draws the same "random" delays and retries in lockstep.
//!
//! How: the standard library's [`RandomState`]
//! draws its SipHash keys from the operating system's random source
//! (`getrandom(2)` on Linux, `BCryptGenRandom` on Windows, …) the first time a
//! thread creates one. Each thread hashes a process-wide counter with one such
//! state, once, to get a 64-bit starting point; every seed that thread hands
//! out is then the next output of a SplitMix64 stream from that point
//! (`seed_i = mix(start + (i + 1) × 0x9E3779B97F4A7C15)`, Steele, Lea and Flood,
//! "Fast splittable pseudorandom number generators", OOPSLA 2014). So every call
//! yields a fresh seed, unpredictable across processes and distinct across
//! threads, for the cost of a few arithmetic instructions: no lock, no shared
//! atomic, no system call after a thread's first.
//!
//! Jitter needs decorrelation, not secrecy; do not use these seeds for keys.

use core::cell::Cell;
use core::hash::{BuildHasher, Hasher};
use core::sync::atomic::{AtomicU64, Ordering};
use std::collections::hash_map::RandomState;

use crate::rng::SplitMix64;

/// SplitMix64's increment (the odd integer closest to 2^64 / φ).
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

static THREADS: AtomicU64 = AtomicU64::new(0);

std::thread_local! {
    /// This thread's position in its stream; 0 means "not started yet".
    static STREAM: Cell<u64> = const { Cell::new(0) };
}

/// A starting point from OS entropy, distinct for each thread (never 0).
fn thread_start() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(THREADS.fetch_add(1, Ordering::Relaxed));
    h.finish().max(1)
}

/// A fresh seed for one retry machine's jitter.
///
/// ```
/// let (a, b) = (relent::fresh_seed(), relent::fresh_seed());
/// assert_ne!(a, b);
/// ```
#[must_use]
pub fn fresh_seed() -> u64 {
    let next = |position: u64| {
        let position = if position == 0 {
            thread_start()
        } else {
            position
        };
        (
            SplitMix64::new(position).next_u64(),
            position.wrapping_add(GAMMA).max(1),
        )
    };
    STREAM
        .try_with(|stream| {
            let (seed, position) = next(stream.get());
            stream.set(position);
            seed
        })
        // Only while this thread's locals are being destroyed: start afresh.
        .unwrap_or_else(|_| next(0).0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn seeds_differ_within_and_across_threads() {
        let mine: HashSet<u64> = (0..1000).map(|_| fresh_seed()).collect();
        assert_eq!(mine.len(), 1000);
        let theirs: HashSet<u64> = std::thread::spawn(|| (0..1000).map(|_| fresh_seed()).collect())
            .join()
            .unwrap();
        assert_eq!(theirs.len(), 1000);
        assert!(mine.is_disjoint(&theirs));
    }
}
