//! 100,000 distinct URLs, each answered `429` + `Retry-After`, through one client whose
//! Retry-After table is keyed by full URL (as seed 003's was) with room for 1,024 keys:
//! the table stays at its capacity and counts every eviction. Seed 003's inlined
//! middleware kept an unbounded `HashMap<Url, SystemTime>`, which would hold 100,000.
//!
//! All 100,000 are real HTTP requests over loopback through the middleware, sent by 32
//! concurrent tasks on a multi-thread runtime. The server here is a minimal keep-alive
//! hyper server (not the scripted one, which closes every connection so that it can
//! reset any of them): 100,000 closed connections would leave as many loopback sockets
//! in TIME_WAIT and crowd the ~28,000 ephemeral ports.

mod reqwest_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use relent_reqwest::{GiveUpReason, KeyBy, NoRetry, RetryEngine};
use reqwest_support::{history, quick, through};

/// A keep-alive HTTP/1.1 server on 127.0.0.1 answering every request with
/// `429` + `Retry-After: 120`; returns its base URL and a hit counter.
async fn throttling_server() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let service = service_fn(move |_: Request<hyper::body::Incoming>| {
                    counter.fetch_add(1, Ordering::Relaxed);
                    async {
                        Response::builder()
                            .status(429)
                            .header("retry-after", "120")
                            .body(Full::new(Bytes::new()))
                    }
                });
                let _ = http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), hits)
}

const URLS: usize = 100_000;
const CAPACITY: usize = 1024;
const WORKERS: usize = 32;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_hundred_thousand_distinct_urls_keep_the_table_at_its_capacity() {
    let started = std::time::Instant::now();
    let (server, hits) = throttling_server().await;
    let retrier = RetryEngine::builder()
        .policy(quick())
        .key_by(KeyBy::Url)
        .table_capacity(CAPACITY)
        .build()
        .expect("retrier");
    let client = through(&retrier);
    let base = format!("{server}/item");
    let next = Arc::new(AtomicUsize::new(0));

    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let client = client.clone();
            let next = Arc::clone(&next);
            let base = base.clone();
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= URLS {
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

    assert_eq!(hits.load(Ordering::Relaxed), URLS);
    let table = retrier.table();
    assert_eq!(table.capacity(), CAPACITY);
    assert_eq!(table.len(), CAPACITY, "full, and no larger");
    // Every deadline is 120 s ahead, so none expired: each new key past the capacity
    // evicted the least recently used live one.
    assert_eq!(
        table.evictions(),
        u64::try_from(URLS - CAPACITY).expect("fits")
    );
    // Exactly 1,024 URLs are held back: the last ones recorded (workers finish in
    // any order, so which ones is not fixed), and none of the first requests.
    let held = (0..URLS)
        .filter(|i| {
            table
                .not_before(format!("{base}?id={i}").as_str())
                .is_some()
        })
        .count();
    assert_eq!(held, CAPACITY);
    assert!(
        (0..CAPACITY).all(|i| table
            .not_before(format!("{base}?id={i}").as_str())
            .is_none()),
        "the earliest URLs were evicted"
    );
    eprintln!(
        "{URLS} requests in {:.1}s; table len {}, evictions {}",
        started.elapsed().as_secs_f64(),
        table.len(),
        table.evictions()
    );
}
