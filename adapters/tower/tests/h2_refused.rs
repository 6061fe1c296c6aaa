//! HTTP/2 REFUSED_STREAM from a raw h2 server (the `h2` crate): the stream was not
//! processed (RFC 9113 §8.7), so even a POST is sent again.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{Method, StatusCode};
use relent_tower::{Attempts, RetryLayer};
use support::{client, full, quick, request};
use tokio::net::TcpListener;
use tower::{Layer, Service, ServiceExt};

/// Refuses the first `refuse` streams, answers 200 to the others after reading their
/// bodies; returns the address, the streams seen and the bodies read.
async fn refusing_server(
    refuse: usize,
) -> (
    std::net::SocketAddr,
    Arc<AtomicUsize>,
    Arc<std::sync::Mutex<Vec<Bytes>>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let streams = Arc::new(AtomicUsize::new(0));
    let bodies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (s, b) = (Arc::clone(&streams), Arc::clone(&bodies));
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (s, b) = (Arc::clone(&s), Arc::clone(&b));
            tokio::spawn(async move {
                let Ok(mut conn) = h2::server::handshake(socket).await else {
                    return;
                };
                while let Some(Ok((req, mut respond))) = conn.accept().await {
                    if s.fetch_add(1, Ordering::SeqCst) < refuse {
                        respond.send_reset(h2::Reason::REFUSED_STREAM);
                        continue;
                    }
                    let b = Arc::clone(&b);
                    tokio::spawn(async move {
                        let mut body = req.into_body();
                        let mut got = Vec::new();
                        while let Some(Ok(chunk)) = body.data().await {
                            let _ = body.flow_control().release_capacity(chunk.len());
                            got.extend_from_slice(&chunk);
                        }
                        b.lock().expect("lock").push(Bytes::from(got));
                        let _ = respond.send_response(http::Response::new(()), true);
                    });
                }
            });
        }
    });
    (addr, streams, bodies)
}

#[tokio::test]
async fn a_refused_stream_is_retried_even_for_a_post() {
    let (addr, streams, bodies) = refusing_server(1).await;
    let layer = RetryLayer::builder()
        .policy(quick())
        .build()
        .expect("layer");
    let mut svc = layer.layer(client(true));
    let url = format!("http://{addr}/orders");
    let resp = svc
        .ready()
        .await
        .expect("ready")
        .call(request(Method::POST, &url, full("one order")))
        .await
        .expect("response");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.extensions().get::<Attempts>(), Some(&Attempts(2)));
    assert_eq!(streams.load(Ordering::SeqCst), 2);
    assert_eq!(
        *bodies.lock().expect("lock"),
        vec![Bytes::from_static(b"one order")]
    );
}

#[tokio::test]
async fn refused_every_time_the_post_stops_at_max_attempts() {
    let (addr, streams, _) = refusing_server(usize::MAX).await;
    let layer = RetryLayer::builder()
        .policy(quick())
        .build()
        .expect("layer");
    let mut svc = layer.layer(client(true));
    let url = format!("http://{addr}/");
    let err = svc
        .ready()
        .await
        .expect("ready")
        .call(request(Method::POST, &url, full("x")))
        .await
        .expect_err("always refused");
    let err = err.downcast::<relent_tower::RetryError>().expect("ours");
    assert_eq!(err.report().attempts, 3);
    assert_eq!(
        err.report().reason,
        relent::retry::GiveUpReason::MaxAttempts
    );
    assert_eq!(streams.load(Ordering::SeqCst), 3);
}
