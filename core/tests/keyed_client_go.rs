//! relent's per-key limiters side by side with client-go's numbers.
//!
//! The vectors are client-go's own unit tests for its work-queue rate limiters
//! (kubernetes/client-go `util/workqueue/default_rate_limiters_test.go`, release v0.32.0:
//! `TestItemExponentialFailureRateLimiter`, `TestItemExponentialFailureRateLimiterOverFlow`)
//! and the formulas of `default_rate_limiters.go` at the same release
//! (`ItemExponentialFailureRateLimiter.When`: `baseDelay × 2^failures`, at most `maxDelay`;
//! `BucketRateLimiter.When`: `Limiter.Reserve().Delay()` on `rate.NewLimiter(10, 100)`).
//! Vectors are restated, no code is copied.
#![cfg(feature = "alloc")]

use core::time::Duration;

use relent::Instant;
use relent::backoff::BackoffBuilder;
use relent::keyed::{
    BucketLimiter, KeyedBackoff, RateLimiter, client_go_bucket, client_go_item_exponential,
    controller_default,
};

const MS: Duration = Duration::from_millis(1);

fn item_exponential(base: Duration, max: Duration) -> KeyedBackoff<String> {
    let policy = BackoffBuilder::exponential(base).cap(max).build().unwrap();
    KeyedBackoff::new(policy, 64, 9).unwrap()
}

#[test]
fn test_item_exponential_failure_rate_limiter() {
    // NewItemExponentialFailureRateLimiter(1ms, 1s)
    let mut l = item_exponential(MS, Duration::from_secs(1));
    let t = Instant::from_secs(1);
    for expect in [1, 2, 4, 8, 16] {
        assert_eq!(l.when("one", t), expect * MS);
    }
    assert_eq!(l.failures("one"), 5);
    assert_eq!(l.when("two", t), MS);
    assert_eq!(l.when("two", t), 2 * MS);
    assert_eq!(l.failures("two"), 2);
    RateLimiter::forget(&mut l, "one");
    assert_eq!(l.failures("one"), 0);
    assert_eq!(l.when("one", t), MS);
}

#[test]
fn test_item_exponential_failure_rate_limiter_overflow() {
    let t = Instant::from_secs(1);
    let mut l = item_exponential(MS, Duration::from_secs(1000));
    for _ in 0..5 {
        let _ = l.when("one", t);
    }
    assert_eq!(l.when("one", t), 32 * MS);
    for _ in 0..1000 {
        let _ = l.when("overflow1", t);
    }
    assert_eq!(l.when("overflow1", t), Duration::from_secs(1000));

    let mut l = item_exponential(Duration::from_secs(60), Duration::from_secs(1000 * 3600));
    for _ in 0..2 {
        let _ = l.when("two", t);
    }
    assert_eq!(l.when("two", t), Duration::from_secs(4 * 60));
    for _ in 0..1000 {
        let _ = l.when("overflow2", t);
    }
    assert_eq!(l.when("overflow2", t), Duration::from_secs(1000 * 3600));
}

/// The first 10 requeue delays of one item under `DefaultControllerRateLimiter`, beside
/// client-go's formula `5 ms × 2^failures` (the bucket, with 100 tokens, adds nothing here).
#[test]
fn default_controller_first_ten_delays_of_one_item() {
    let mut relent = controller_default::<String>(4096, 1).unwrap();
    let t = Instant::from_secs(1);
    let ours: Vec<Duration> = (0..10).map(|_| relent.when("default/web", t)).collect();
    let client_go: Vec<Duration> = (0..10u32).map(|n| 5 * MS * 2u32.pow(n)).collect();
    assert_eq!(
        client_go,
        [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560].map(|m| m * MS)
    );
    assert_eq!(ours, client_go);
    assert_eq!(RateLimiter::<str>::failures(&relent, "default/web"), 10);
    // ... and on to the cap: 5 ms × 2^17 = 655.36 s, then 1000 s for ever.
    let mut l = KeyedBackoff::<u32>::new(client_go_item_exponential(), 4, 0).unwrap();
    let d: Vec<Duration> = (0..40).map(|_| l.when(&1, t)).collect();
    assert_eq!(d[17], Duration::from_millis(655_360));
    assert!(d[18..].iter().all(|&x| x == Duration::from_secs(1000)));
}

/// 1,000 adds of distinct items at one instant through `DefaultControllerRateLimiter`: each
/// item's own backoff asks 5 ms, the bucket admits the first 100 at once and then one per
/// 100 ms, so the i-th add (from 0) waits `max(5 ms, (i − 99) × 100 ms)`; the last waits 90 s.
#[test]
fn default_controller_under_a_burst_of_1000_adds() {
    let mut relent = controller_default::<u32>(4096, 2).unwrap();
    let t = Instant::from_secs(100);
    let delays: Vec<Duration> = (0..1000u32).map(|i| relent.when(&i, t)).collect();
    for (i, d) in delays.iter().enumerate() {
        let bucket = Duration::from_millis(100) * (i as u32).saturating_sub(99);
        assert_eq!(*d, bucket.max(5 * MS), "add {i}");
    }
    assert!(delays[..100].iter().all(|&d| d == 5 * MS));
    assert_eq!(delays[100], Duration::from_millis(100));
    assert_eq!(delays[999], Duration::from_secs(90));
    // Admissions per second once the burst is spent: 10.
    let admitted_in_first_second = delays
        .iter()
        .filter(|d| **d < Duration::from_secs(1))
        .count();
    assert_eq!(admitted_in_first_second, 100 + 9);
}

/// The bucket alone: x/time/rate's reservations, and its refill.
#[test]
fn bucket_refills_at_ten_per_second() {
    let mut b = client_go_bucket();
    assert_eq!(b, BucketLimiter::per_second(10, 100).unwrap());
    assert_eq!(b, BucketLimiter::qps(10.0, 100).unwrap());
    let t = Instant::from_secs(3);
    for _ in 0..100 {
        assert_eq!(b.reserve(t), Duration::ZERO);
    }
    assert_eq!(b.available(t), 0);
    // 250 ms later, 2 whole tokens are back (the third is half full).
    let later = t + Duration::from_millis(250);
    assert_eq!(b.available(later), 2);
    assert_eq!(b.reserve(later), Duration::ZERO);
    assert_eq!(b.reserve(later), Duration::ZERO);
    assert_eq!(b.reserve(later), Duration::from_millis(50));
    // Quiet for long enough, it is full again, never more.
    assert_eq!(b.available(later + Duration::from_secs(60)), 100);
}
