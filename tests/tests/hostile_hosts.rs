//! Hostile servers, part 4: a million distinct hosts' worth of Retry-After hints, into
//! one client's bounded table.
//!
//! - Real part: 3,000 distinct host names, all resolved to 127.0.0.1 by a custom
//!   resolver (`ClientBuilder::dns_resolver`), each answered `429` +
//!   `Retry-After: 1000000` through relent-reqwest's middleware. Keys are origins, so
//!   each host is one key; idle connections are not pooled.
//! - Simulated part: 1,000,000 more distinct origins recorded into the same retrier's
//!   table by the engine's own record path (the key from `KeyBy::Origin`, the deadline
//!   `now + min(hint, cap)`, `SharedDeadlines::record`), without 1,000,000 sockets.
//!
//! What must hold: the table never holds more than its capacity and counts every
//! eviction; the bytes it holds do not grow with the number of hosts (measured with
//! `allocation-counter`, whose global allocator is linked into this test binary only);
//! afterwards a new request still succeeds, a recently recorded host is held back no
//! longer than the cap, and an evicted host is simply forgotten.

mod hostile_support;
mod reqwest_support;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use relent::hint::{ExcessKind, HintPolicy};
use relent_reqwest::{GiveUpReason, KeyBy, NoRetry, RetryEngine, RetryPolicy};
use relent_tests::server::{Script, ScriptedServer, ok, status};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest_support::{history, retry_error, statuses};
use tokio::task::JoinSet;
use tokio::time::Instant;

const REAL_HOSTS: usize = 3_000;
const SIMULATED_HOSTS: usize = 1_000_000;
const CAPACITY: usize = 1_024;
const WORKERS: usize = 16;
const CAP: Duration = HintPolicy::DEFAULT_CAP;

/// Resolves every name under `.hostile.test` to 127.0.0.1 (the URL's port is kept);
/// anything else fails, so no request can leave the machine.
struct Loopback;

impl Resolve for Loopback {
    fn resolve(&self, name: Name) -> Resolving {
        let known = name.as_str().ends_with(".hostile.test");
        Box::pin(async move {
            if known {
                let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
                Ok(Box::new(std::iter::once(addr)) as Addrs)
            } else {
                Err("not a .hostile.test name".into())
            }
        })
    }
}

fn real_url(i: usize, port: u16) -> String {
    format!("http://h{i:04}.hostile.test:{port}/")
}

/// Simulated hosts have names of one length, so every key has the same size and the
/// bytes the table holds can be compared exactly across a million of them.
fn simulated_host(i: usize) -> String {
    format!("s{i:07}.hostile.test")
}

fn simulated_url(i: usize, port: u16) -> String {
    format!("http://{}:{port}/", simulated_host(i))
}

/// Records simulated hosts `range` by the engine's path, on one URL whose host is
/// rewritten each time (parsing a million whole URLs would only slow the test down).
fn record_simulated(retrier: &RetryEngine, port: u16, range: std::ops::Range<usize>) {
    let mut url = reqwest::Url::parse(&simulated_url(0, port)).expect("url");
    for i in range {
        url.set_host(Some(&simulated_host(i))).expect("host");
        record_like_the_engine(retrier, &url);
    }
}

/// What the engine does with a `Retry-After: 1000000` on a 429 for `url`: the key from
/// the retrier's `KeyBy`, the deadline clamped to the hint cap, the shared table's record.
fn record_like_the_engine(retrier: &RetryEngine, url: &reqwest::Url) {
    let key = retrier.key_by().key(url);
    let now = relent_tokio::clock::now();
    let deadline = now.saturating_add(Duration::from_secs(1_000_000).min(CAP));
    let _ = retrier.table().record(key, deadline);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_hosts_of_hints_keep_the_table_and_its_memory_bounded() {
    let server = ScriptedServer::start(
        Script::new()
            .on("/fresh", ok("fresh"))
            .otherwise(status(429).header("retry-after", "1000000")),
    );
    let port = server.addr().port();
    let retrier = RetryEngine::builder()
        .policy(RetryPolicy::default())
        .key_by(KeyBy::Origin)
        .table_capacity(CAPACITY)
        .build()
        .expect("retrier");
    let reqwest_client = reqwest::Client::builder()
        .no_proxy()
        .dns_resolver(Arc::new(Loopback))
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let client = reqwest_middleware::ClientBuilder::new(reqwest_client)
        .with(retrier.middleware())
        .build();

    // Real part: 3,000 hosts, 16 at a time.
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = JoinSet::new();
    for _ in 0..WORKERS {
        let client = client.clone();
        let next = Arc::clone(&next);
        workers.spawn(async move {
            let mut slowest = Duration::ZERO;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= REAL_HOSTS {
                    return slowest;
                }
                let one = Instant::now();
                let response = client
                    .get(real_url(i, port))
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("host {i}: {e:#}"));
                slowest = slowest.max(one.elapsed());
                assert_eq!(response.status(), 429);
                assert!(
                    matches!(
                        history(&response).gave_up(),
                        Some(GiveUpReason::HintTooLong {
                            kind: ExcessKind::Cap,
                            ..
                        })
                    ),
                    "host {i}"
                );
            }
        });
    }
    let mut slowest = Duration::ZERO;
    while let Some(worker) = workers.join_next().await {
        slowest = slowest.max(worker.expect("worker"));
    }
    let real_elapsed = started.elapsed();
    // No request slept: each gave up on its own million-second answer at once.
    assert!(
        slowest < Duration::from_secs(2),
        "slowest request {slowest:?}"
    );
    assert_eq!(server.hits(), REAL_HOSTS);
    let table = retrier.table();
    assert_eq!(table.capacity(), CAPACITY);
    assert_eq!(table.len(), CAPACITY);
    // Every deadline is 300 s ahead, so each host past the capacity evicted a live one.
    let mut evictions = u64::try_from(REAL_HOSTS - CAPACITY).expect("fits");
    assert_eq!(table.evictions(), evictions);

    // Simulated part: 1,000,000 more origins, through the engine's record path. The
    // first CAPACITY of them replace the real hosts; measure what the rest add.
    let started = Instant::now();
    let first = allocation_counter::measure(|| record_simulated(&retrier, port, 0..CAPACITY));
    let rest = allocation_counter::measure(|| {
        record_simulated(&retrier, port, CAPACITY..SIMULATED_HOSTS);
    });
    let simulated_elapsed = started.elapsed();
    evictions += u64::try_from(SIMULATED_HOSTS).expect("fits");
    assert_eq!(table.len(), CAPACITY);
    assert_eq!(table.evictions(), evictions);
    // Held after a million keys <= held after the first CAPACITY: each new key's bytes
    // are paid for by the evicted key's. Nothing else is kept, and the peak while
    // recording is one key and one parsed URL, not a growing structure.
    assert!(
        rest.bytes_current <= 0,
        "the table grew by {} bytes over {} more keys",
        rest.bytes_current,
        SIMULATED_HOSTS - CAPACITY
    );
    assert!(rest.count_current <= 0, "{rest:?}");
    assert!(rest.bytes_max < 4 * 1024, "peak while recording: {rest:?}");
    // And what the first CAPACITY keys hold is their text: well under 128 bytes a key.
    let per_key_bound = i64::try_from(CAPACITY * 128).expect("fits");
    assert!(first.bytes_current <= per_key_bound, "{first:?}");

    // Afterwards: a new host is sent to, and succeeds.
    let response = client
        .get(format!("http://fresh.hostile.test:{port}/fresh"))
        .send()
        .await
        .expect("a new host");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "fresh");

    // The most recently recorded host is held back for at most the cap; with a 2 s
    // deadline the request gives up at once, before sending, saying why.
    let recent = simulated_url(SIMULATED_HOSTS - 1, port);
    let now = relent_tokio::clock::now();
    let until = table
        .not_before(
            KeyBy::Origin
                .key(&reqwest::Url::parse(&recent).expect("url"))
                .as_str(),
        )
        .expect("recent host is held back");
    assert!(until.saturating_duration_since(now) <= CAP);
    let hits = server.hits();
    let one = Instant::now();
    let err = client
        .get(&recent)
        .with_extension(RetryPolicy::default().with_deadline(Some(Duration::from_secs(2))))
        .send()
        .await
        .expect_err("gated");
    assert!(
        one.elapsed() < Duration::from_millis(500),
        "{:?}",
        one.elapsed()
    );
    let retry = retry_error(&err);
    let GiveUpReason::HintTooLong { hint, kind, .. } = retry.reason() else {
        panic!("{retry}");
    };
    assert_eq!(kind, ExcessKind::Deadline);
    assert!(hint <= CAP, "{hint:?}");
    assert!(retry.to_string().contains("Retry-After"), "{retry}");
    assert_eq!(server.hits(), hits, "nothing sent");

    // An evicted host (the first real one) is forgotten: its request goes out again.
    let response = client
        .get(real_url(0, port))
        .with_extension(NoRetry)
        .send()
        .await
        .expect("evicted host");
    assert_eq!(statuses(&history(&response)), [429]);
    assert_eq!(server.hits(), hits + 1);
    assert_eq!(table.len(), CAPACITY);

    eprintln!(
        "{REAL_HOSTS} real hosts in {real_elapsed:?} (slowest request {slowest:?}); \
         {SIMULATED_HOSTS} simulated in {simulated_elapsed:?}; table len {}, evictions {}; \
         bytes held by the first {CAPACITY} keys {}, by the next {} keys {}",
        table.len(),
        table.evictions(),
        first.bytes_current,
        SIMULATED_HOSTS - CAPACITY,
        rest.bytes_current,
    );
    server.shutdown().await;
}
