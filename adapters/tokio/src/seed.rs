//! Jitter seeds from OS entropy, so two processes (or two devices) never jitter alike.
//!
//! How: the standard library's [`RandomState`](std::collections::hash_map::RandomState)
//! draws its SipHash keys from the operating system's random source
//! (`getrandom(2)` on Linux, `BCryptGenRandom` on Windows, …) the first time a
//! thread creates one. We hash a process-wide counter with one such state,
//! taken once per process, and mix it through SplitMix64's finaliser. Every call
//! therefore yields a distinct seed, unpredictable across processes, with no
//! extra dependency and no system call after the first.
//!
//! Jitter needs decorrelation, not secrecy; do not use these seeds for keys.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

static STATE: OnceLock<RandomState> = OnceLock::new();
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh seed for one retry machine's jitter.
#[must_use]
pub fn fresh_seed() -> u64 {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut h = STATE.get_or_init(RandomState::new).build_hasher();
    h.write_u64(n);
    relent::SplitMix64::new(h.finish()).next_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_differ() {
        let seeds: std::collections::HashSet<u64> = (0..1000).map(|_| fresh_seed()).collect();
        assert_eq!(seeds.len(), 1000);
    }
}
