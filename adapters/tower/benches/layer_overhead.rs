#![allow(missing_docs)]

//! What the retry layer costs per request over a bare hyper-util client, on loopback.
//!
//! `layer_overhead bare|layer|layer-untimed N` sends N sequential GETs (keep-alive, HTTP/1.1) to a hyper
//! server on 127.0.0.1 inside `measured`, the one function callgrind is told to collect,
//! with the client alone or under [`relent_tower::RetryLayer`]. The server runs on its own
//! thread, which never enters `measured`, so only the client side is counted. Instructions
//! per request, and the layer's extra:
//!
//! ```text
//! cargo bench -p relent-tower --bench layer_overhead --no-run
//! B=$(ls -t target/release/deps/layer_overhead-* | grep -v '\.d$' | head -1)
//! for m in bare layer; do
//!   valgrind --tool=callgrind --toggle-collect='*measured*' --callgrind-out-file=/tmp/cg.$m "$B" $m 2000
//!   grep -E '^(summary|totals):' /tmp/cg.$m | tail -1
//! done   # (layer − bare) / 2000 = extra instructions per request
//! ```
//!
//! Without arguments (as `cargo bench` runs it) it prints the wall time per request of
//! both, which is noisy; the instruction count is the figure to compare.

use std::convert::Infallible;
use std::hint::black_box;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use relent_tower::{ReplayBody, RetryLayer};
use tower::{Layer, Service, ServiceExt};

#[inline(never)]
fn measured<T>(f: impl FnOnce() -> T) -> T {
    f()
}

fn server() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(|_req| async {
                        Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from_static(
                            b"ok",
                        ))))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
    });
    addr
}

async fn run<S>(mut svc: S, uri: &http::Uri, n: u32)
where
    S: Service<http::Request<Empty<Bytes>>, Response = http::Response<hyper::body::Incoming>>,
    S::Error: std::fmt::Debug,
{
    for _ in 0..n {
        let req = http::Request::get(uri.clone())
            .body(Empty::new())
            .expect("request");
        let resp = svc
            .ready()
            .await
            .expect("ready")
            .call(req)
            .await
            .expect("response");
        black_box(resp.into_body().collect().await.expect("body").to_bytes());
    }
}

fn bench(mode: &str, n: u32, uri: &http::Uri) -> std::time::Duration {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let executor = TokioExecutor::new();
    let start;
    if mode == "bare" {
        // The client alone, with its own body type: the layer's body wrapper is not in it.
        let client = Client::builder(executor).build_http::<Empty<Bytes>>();
        // Warm up: the connection and every lazy initialisation happen outside `measured`.
        rt.block_on(run(client.clone(), uri, 10));
        start = Instant::now();
        measured(|| rt.block_on(run(client, uri, n)));
    } else {
        let client = Client::builder(executor).build_http::<ReplayBody<Empty<Bytes>>>();
        // `layer`: the defaults (a 10 s per-attempt timeout, so one timer per request);
        // `layer-untimed`: no time limits, configured like a bare retry loop.
        let builder = RetryLayer::builder();
        let builder = if mode == "layer-untimed" {
            builder.policy(relent::retry::RetryPolicy::default().without_time_limits())
        } else {
            builder
        };
        let layer = builder.build().expect("layer");
        rt.block_on(run(layer.layer(client.clone()), uri, 10));
        start = Instant::now();
        measured(|| rt.block_on(run(layer.layer(client), uri, n)));
    }
    start.elapsed()
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let uri: http::Uri = format!("http://{}/", server()).parse().expect("uri");
    match args.first().map(String::as_str) {
        Some(mode @ ("bare" | "layer" | "layer-untimed")) => {
            let n = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(2000);
            let took = bench(mode, n, &uri);
            println!("{mode}: {n} requests, {:?} per request", took / n);
        }
        _ => {
            for mode in ["bare", "layer"] {
                let took = bench(mode, 500, &uri);
                println!("{mode}: {:?} per request (wall time, noisy)", took / 500);
            }
        }
    }
}
