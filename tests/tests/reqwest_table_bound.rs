//! 100,000 distinct URLs, each answered `429` + `Retry-After`, through one client whose
//! Retry-After table is keyed by full URL (as seed 003's was) with room for 1,024 keys:
//! the table stays at its capacity and counts every eviction. Seed 003's inlined
//! middleware kept an unbounded `HashMap<Url, SystemTime>`, which would hold 100,000.
//!
//! The first 25,000 URLs are real HTTP requests over loopback through the middleware (one
//! TCP connection each: the scripted server closes after every response), sent by 32
//! concurrent tasks on a multi-thread runtime; that alone is 24 times the capacity, and
//! is the path that records deadlines. The other 75,000 go straight into the same shared
//! table with the deadline a 429 would have recorded: in a debug build a real request
//! costs about 0.4 ms of CPU on this 2-core machine (bare reqwest included), so 100,000
//! real ones would take about 40 s (13 s in release), and each leaves a loopback socket in
//! TIME_WAIT for a minute: 100,000 of those would crowd the ~28,000 ephemeral ports.
//! The table operation is the same either way.

mod reqwest_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use relent_reqwest::{GiveUpReason, KeyBy, NoRetry, Retrier};
use relent_tests::server::{Script, ScriptedServer, status};
use reqwest_support::{history, quick, through};

const URLS: usize = 100_000;
const REAL: usize = 25_000;
const CAPACITY: usize = 1024;
const WORKERS: usize = 32;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_hundred_thousand_distinct_urls_keep_the_table_at_its_capacity() {
    let started = std::time::Instant::now();
    let server =
        ScriptedServer::start(Script::new().otherwise(status(429).header("retry-after", "120")));
    let retrier = Retrier::builder()
        .policy(quick())
        .key_by(KeyBy::Url)
        .table_capacity(CAPACITY)
        .build()
        .expect("retrier");
    let client = through(&retrier);
    let base = server.url("/item");
    let next = Arc::new(AtomicUsize::new(0));

    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let client = client.clone();
            let next = Arc::clone(&next);
            let base = base.clone();
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= REAL {
                        return;
                    }
                    // One attempt each: the point is what the table keeps, not retrying.
                    let response = client
                        .get(format!("{base}?id={i}"))
                        .with_extension(NoRetry)
                        .send()
                        .await
                        .expect("response");
                    assert_eq!(response.status(), 429);
                    assert_eq!(
                        history(&response).gave_up(),
                        Some(GiveUpReason::MaxAttempts)
                    );
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("worker");
    }

    assert_eq!(server.hits(), REAL);
    let table = retrier.table();
    assert_eq!(table.len(), CAPACITY);
    assert_eq!(
        table.evictions(),
        u64::try_from(REAL - CAPACITY).expect("fits")
    );

    // The rest of the 100,000: what a 429 with `Retry-After: 120` records, straight into the table.
    for i in REAL..URLS {
        let until = relent_tokio::clock::now() + Duration::from_secs(120);
        let _ = table.record(format!("{base}?id={i}"), until);
    }
    assert_eq!(table.capacity(), CAPACITY);
    assert_eq!(table.len(), CAPACITY, "full, and no larger");
    // Every deadline is 120 s ahead, so none expired: each new key past the capacity
    // evicted the least recently used live one.
    assert_eq!(
        table.evictions(),
        u64::try_from(URLS - CAPACITY).expect("fits")
    );
    // The most recent 1,024 URLs are held back; every earlier one was evicted.
    let held = (URLS - CAPACITY..URLS)
        .filter(|i| {
            table
                .not_before(format!("{base}?id={i}").as_str())
                .is_some()
        })
        .count();
    assert_eq!(held, CAPACITY);
    assert!(table.not_before(format!("{base}?id=0").as_str()).is_none());
    assert!(
        table
            .not_before(format!("{base}?id={}", REAL - 1).as_str())
            .is_none()
    );
    eprintln!(
        "{REAL} requests and {} direct records in {:.1}s; table len {}, evictions {}",
        URLS - REAL,
        started.elapsed().as_secs_f64(),
        table.len(),
        table.evictions()
    );
}
