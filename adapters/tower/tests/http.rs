//! The retry layer on a real hyper-util client against a real hyper server on
//! 127.0.0.1, over HTTP/1.1 and HTTP/2 (every test runs both).

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use relent::retry::{Forbidden, GiveUpReason, Report, Seen, TransportError, WaitReason};
use relent::{UnixTime, hint::format_imf_fixdate};
use relent_tower::{Attempts, Event, Idempotent, RetryError, RetryLayer, TimeoutOverride};
use support::{Server, channel_body, client, full, quick, reply, request};
use tower::{Layer, Service, ServiceExt};

type Resp = Response<hyper::body::Incoming>;

fn attempts(r: &Resp) -> u32 {
    r.extensions()
        .get::<Attempts>()
        .expect("the layer counts attempts")
        .0
}

fn report(r: &Resp) -> Report {
    *r.extensions().get::<Report>().expect("a give-up report")
}

async fn send<B>(
    layer: &RetryLayer,
    http2: bool,
    req: http::Request<B>,
) -> Result<Resp, relent_tower::BoxError>
where
    B: http_body::Body + Send + 'static + Unpin,
    B::Data: Send,
    B::Error: Into<relent_tower::BoxError>,
{
    let mut svc = layer.layer(client::<B>(http2));
    svc.ready().await?.call(req).await
}

#[tokio::test]
async fn a_503_then_a_200() {
    for http2 in [false, true] {
        let server = Server::start(|n| reply(if n == 0 { 503 } else { 200 })).await;
        let layer = RetryLayer::builder()
            .policy(quick())
            .build()
            .expect("layer");
        let resp = send(
            &layer,
            http2,
            request(Method::GET, &server.url("/"), full("")),
        )
        .await
        .expect("response");
        assert_eq!(resp.status(), StatusCode::OK, "http2={http2}");
        assert_eq!(attempts(&resp), 2);
        assert_eq!(server.hits(), 2);
        let want = if http2 {
            http::Version::HTTP_2
        } else {
            http::Version::HTTP_11
        };
        assert!(server.seen().iter().all(|s| s.version == want));
    }
}

#[tokio::test]
async fn a_429_with_a_retry_after_date_is_waited_out() {
    for http2 in [false, true] {
        // The date is read against the response's own Date header: exactly one second.
        let now = UnixTime::from(std::time::SystemTime::now());
        let date = String::from_utf8(format_imf_fixdate(now).to_vec()).expect("ascii");
        let later = UnixTime::from_secs(now.as_secs() + 1);
        let after = String::from_utf8(format_imf_fixdate(later).to_vec()).expect("ascii");
        let server = Server::start(move |n| {
            if n == 0 {
                reply(429)
                    .header("date", date.clone())
                    .header("retry-after", after.clone())
            } else {
                reply(200)
            }
        })
        .await;
        let waits = Arc::new(Mutex::new(Vec::new()));
        let w = Arc::clone(&waits);
        let table = relent_tower::SharedDeadlines::<String>::new(16).expect("table");
        let t = table.clone();
        let origin = format!("http://{}", server.addr);
        let layer = RetryLayer::builder()
            .policy(quick())
            .shared_table(table)
            .on_event(move |_, n| {
                if let Event::Wait { reason, .. } = n {
                    // While it waits, the origin is held back for every request.
                    let held = t.not_before(origin.as_str()).is_some();
                    w.lock().expect("lock").push((*reason, held));
                }
            })
            .build()
            .expect("layer");
        let url = server.url("/limited");
        let resp = send(&layer, http2, request(Method::GET, &url, full("")))
            .await
            .expect("response");
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(attempts(&resp), 2);
        assert_eq!(
            *waits.lock().expect("lock"),
            vec![(WaitReason::ServerHint(Duration::from_secs(1)), true)]
        );
    }
}

#[tokio::test]
async fn a_503_to_a_post_is_not_retried() {
    for http2 in [false, true] {
        let server = Server::start(|_| reply(503)).await;
        let layer = RetryLayer::builder()
            .policy(quick())
            .build()
            .expect("layer");
        let resp = send(
            &layer,
            http2,
            request(Method::POST, &server.url("/"), full("x")),
        )
        .await
        .expect("the 503 is the answer");
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(attempts(&resp), 1);
        assert_eq!(
            report(&resp).reason,
            GiveUpReason::Forbidden(Forbidden::NotIdempotent)
        );
        assert_eq!(server.hits(), 1);
    }
}

#[tokio::test]
async fn a_post_with_an_idempotency_key_or_the_marker_is_retried() {
    for http2 in [false, true] {
        let server = Server::start(|n| reply(if n % 2 == 0 { 503 } else { 201 })).await;
        let layer = RetryLayer::builder()
            .policy(quick())
            .build()
            .expect("layer");
        let mut keyed = request(Method::POST, &server.url("/orders"), full("order"));
        keyed
            .headers_mut()
            .insert("idempotency-key", "8e03978e-40d5".parse().expect("value"));
        let resp = send(&layer, http2, keyed).await.expect("response");
        assert_eq!((resp.status(), attempts(&resp)), (StatusCode::CREATED, 2));

        let mut marked = request(Method::POST, &server.url("/orders"), full("order"));
        marked.extensions_mut().insert(Idempotent);
        let resp = send(&layer, http2, marked).await.expect("response");
        assert_eq!((resp.status(), attempts(&resp)), (StatusCode::CREATED, 2));
        // Every attempt carried the whole body.
        assert_eq!(server.hits(), 4);
        assert!(server.seen().iter().all(|s| s.body == "order"));
    }
}

#[tokio::test]
async fn a_connect_failure_is_retried_for_a_post() {
    for http2 in [false, true] {
        // A port that was just bound and released: nothing listens there.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port");
        let layer = RetryLayer::builder()
            .policy(quick())
            .build()
            .expect("layer");
        let url = format!("http://{addr}/");
        let err = send(&layer, http2, request(Method::POST, &url, full("x")))
            .await
            .expect_err("nothing listens");
        let err = err.downcast::<RetryError>().expect("the layer's error");
        let report = err.report();
        assert_eq!(report.reason, GiveUpReason::MaxAttempts, "{err}");
        assert_eq!(report.attempts, 3);
        assert_eq!(
            report.last.and_then(|o| o.seen()),
            Some(Seen::Transport(TransportError::ConnectFailed))
        );
        assert!(err.last_error().is_some());
        // The shared error type keeps every attempt's error and the whole story.
        assert_eq!(err.causes().len(), 3);
        assert!(err.is_connect());
        assert_eq!(err.history().attempts(), 3);
        assert_eq!(err.history().waits().count(), 2);
        assert_eq!(err.key(), format!("http://{addr}"));
        assert!(
            err.to_string().starts_with(&format!(
                "request to http://{addr}: gave up after 3 attempts"
            )),
            "{err}"
        );
    }
}

#[tokio::test]
async fn the_hook_sees_every_event_in_order_and_the_response_carries_the_history() {
    for http2 in [false, true] {
        let server = Server::start(|n| reply(if n == 0 { 503 } else { 200 })).await;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let layer = RetryLayer::builder()
            .policy(quick())
            .on_event(move |key, event| {
                let line = match event {
                    Event::Attempt { attempt, .. } => format!("attempt {attempt}"),
                    Event::Ended {
                        attempt, outcome, ..
                    } => {
                        format!("ended {attempt} {:?}", outcome.seen())
                    }
                    Event::Failed(cause) => format!("failed {}", cause.attempt),
                    Event::Wait { .. } => "wait".to_string(),
                    Event::GaveUp(report) => format!("gave up {}", report.reason),
                    _ => "other".to_string(),
                };
                log.lock().expect("lock").push(format!("{key} {line}"));
            })
            .build()
            .expect("layer");
        let resp = send(
            &layer,
            http2,
            request(Method::GET, &server.url("/"), full("")),
        )
        .await
        .expect("response");
        assert_eq!(resp.status(), StatusCode::OK);
        let origin = format!("http://{}", server.addr);
        let want: Vec<String> = [
            "attempt 1",
            "ended 1 Some(Status(503))",
            "wait",
            "attempt 2",
            "ended 2 None",
        ]
        .iter()
        .map(|l| format!("{origin} {l}"))
        .collect();
        assert_eq!(*seen.lock().expect("lock"), want);
        let history = resp
            .extensions()
            .get::<relent_tower::AttemptHistory>()
            .expect("the history rides on the response");
        assert_eq!(history.key(), origin);
        assert_eq!(history.attempts(), 2);
        assert_eq!(history.waits().count(), 1);
        assert!(history.report().is_none());
    }
}

#[tokio::test]
#[allow(deprecated)]
async fn the_first_release_notice_hook_still_reports_waits() {
    let server = Server::start(|n| reply(if n == 0 { 503 } else { 200 })).await;
    let waits = Arc::new(Mutex::new(Vec::new()));
    let w = Arc::clone(&waits);
    let layer = RetryLayer::builder()
        .policy(quick())
        .on_notice(move |n| {
            if let relent_tower::Notice::Wait { key, reason, .. } = n {
                w.lock().expect("lock").push((key.to_string(), *reason));
            }
        })
        .build()
        .expect("layer");
    let resp = send(
        &layer,
        false,
        request(Method::GET, &server.url("/"), full("")),
    )
    .await
    .expect("response");
    assert_eq!(resp.status(), StatusCode::OK);
    let waits = waits.lock().expect("lock");
    assert_eq!(waits.len(), 1);
    assert_eq!(waits[0].0, format!("http://{}", server.addr));
    assert!(matches!(waits[0].1, WaitReason::Backoff(_)));
}

#[tokio::test]
async fn a_streaming_body_is_replayed_within_the_cap_even_after_an_early_answer() {
    for http2 in [false, true] {
        // The first attempt is answered 503 after its first chunk, before the rest was sent.
        let server = Server::start(|n| {
            if n == 0 {
                reply(503).early()
            } else {
                reply(200)
            }
        })
        .await;
        let layer = RetryLayer::builder()
            .policy(quick())
            .build()
            .expect("layer");
        let (tx, body) = channel_body();
        let url = server.url("/upload");
        let feeder = tokio::spawn(async move {
            tx.send(Bytes::from_static(b"chunk-1;"))
                .await
                .expect("send");
            tokio::time::sleep(Duration::from_millis(50)).await;
            tx.send(Bytes::from_static(b"chunk-2")).await.expect("send");
        });
        let resp = send(&layer, http2, request(Method::PUT, &url, body))
            .await
            .expect("response");
        feeder.await.expect("feeder");
        assert_eq!(resp.status(), StatusCode::OK, "http2={http2}");
        assert_eq!(attempts(&resp), 2);
        let seen = server.seen();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].body, "chunk-1;", "the early answer read one chunk");
        assert_eq!(seen[1].body, "chunk-1;chunk-2", "the retry sent all of it");
    }
}

#[tokio::test]
async fn past_the_cap_a_streaming_body_gets_exactly_one_attempt() {
    for http2 in [false, true] {
        let server = Server::start(|_| reply(503)).await;
        let layer = RetryLayer::builder()
            .policy(quick())
            .body_cap(8)
            .build()
            .expect("layer");
        let (tx, body) = channel_body();
        tx.send(Bytes::from_static(b"0123456")).await.expect("send");
        tx.send(Bytes::from_static(b"789abcdef"))
            .await
            .expect("send");
        drop(tx);
        let resp = send(
            &layer,
            http2,
            request(Method::PUT, &server.url("/big"), body),
        )
        .await
        .expect("the 503 is the answer");
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(attempts(&resp), 1);
        assert_eq!(
            report(&resp).reason,
            GiveUpReason::Forbidden(Forbidden::BodyNotReplayable)
        );
        assert_eq!(server.hits(), 1);
        assert_eq!(server.seen()[0].body, "0123456789abcdef");
    }
}

#[tokio::test]
async fn a_body_sent_in_full_is_sent_again_in_full() {
    for http2 in [false, true] {
        let server = Server::start(|n| reply(if n < 2 { 502 } else { 200 })).await;
        let layer = RetryLayer::builder()
            .policy(quick())
            .build()
            .expect("layer");
        let resp = send(
            &layer,
            http2,
            request(Method::PUT, &server.url("/"), full("same body")),
        )
        .await
        .expect("response");
        assert_eq!((resp.status(), attempts(&resp)), (StatusCode::OK, 3));
        let seen = server.seen();
        assert!(seen.iter().all(|s| s.body == "same body"));
        if !http2 {
            // HTTP/1.1 frames the replay with the same exact length.
            assert!(seen.iter().all(|s| s.headers["content-length"] == "9"));
        }
    }
}

#[tokio::test]
async fn an_attempt_past_its_timeout_is_abandoned_and_retried() {
    for http2 in [false, true] {
        let server = Server::start(|n| {
            if n == 0 {
                reply(200).delayed(Duration::from_secs(30))
            } else {
                reply(200)
            }
        })
        .await;
        let layer = RetryLayer::builder()
            .policy(quick().with_per_try_timeout(Some(Duration::from_millis(200))))
            .build()
            .expect("layer");
        let resp = send(
            &layer,
            http2,
            request(Method::GET, &server.url("/"), full("")),
        )
        .await
        .expect("response");
        assert_eq!((resp.status(), attempts(&resp)), (StatusCode::OK, 2));

        // A request that disables the timeout waits for its slow answer instead.
        let server = Server::start(|_| reply(200).delayed(Duration::from_millis(400))).await;
        let mut req = request(Method::GET, &server.url("/"), full(""));
        req.extensions_mut().insert(TimeoutOverride::Disable);
        let resp = send(&layer, http2, req).await.expect("response");
        assert_eq!((resp.status(), attempts(&resp)), (StatusCode::OK, 1));
    }
}

#[tokio::test]
async fn a_retry_after_too_close_to_the_deadline_gives_up_at_once() {
    for http2 in [false, true] {
        let server = Server::start(|_| reply(503).header("retry-after", "5")).await;
        let layer = RetryLayer::builder()
            .policy(quick().with_deadline(Some(Duration::from_secs(2))))
            .build()
            .expect("layer");
        let started = std::time::Instant::now();
        let resp = send(
            &layer,
            http2,
            request(Method::GET, &server.url("/"), full("")),
        )
        .await
        .expect("the 503 is the answer");
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(matches!(
            report(&resp).reason,
            GiveUpReason::HintTooLong { .. } | GiveUpReason::Deadline { .. }
        ));
        assert_eq!(server.hits(), 1);
        // It did not wait the five seconds (a sanity bound, not a timing assertion).
        assert!(started.elapsed() < Duration::from_secs(5));

        // The origin is now held back: a later request to it waits, or refuses at once
        // when the hold outlasts its own deadline, without reaching the server.
        let resp = send(
            &layer,
            http2,
            request(Method::GET, &server.url("/other"), full("")),
        )
        .await;
        let err = resp
            .expect_err("held back")
            .downcast::<RetryError>()
            .expect("ours");
        assert_eq!(err.report().attempts, 0);
        assert_eq!(server.hits(), 1);
    }
}

#[tokio::test]
async fn tower_retry_with_the_relent_policy() {
    for http2 in [false, true] {
        let server = Server::start(|n| reply(if n == 0 { 503 } else { 200 })).await;
        let layer = RetryLayer::builder()
            .policy(quick())
            .build()
            .expect("layer");
        let mut svc = tower::retry::RetryLayer::new(layer.tower_policy())
            .layer(client::<http_body_util::Full<Bytes>>(http2));
        let req = request(
            Method::GET,
            &server.url("/"),
            relent_tower::ReplayBody::new(full(""), 1024),
        );
        let resp: Resp = svc
            .ready()
            .await
            .expect("ready")
            .call(req)
            .await
            .expect("response");
        assert_eq!((resp.status(), attempts(&resp)), (StatusCode::OK, 2));
        assert_eq!(server.hits(), 2);

        // A POST's 503 is final there too.
        let req = request(
            Method::POST,
            &server.url("/"),
            relent_tower::ReplayBody::new(full("x"), 1024),
        );
        let server2 = Server::start(|_| reply(503)).await;
        let req = {
            let (mut parts, body) = req.into_parts();
            parts.uri = server2.url("/").parse().expect("uri");
            http::Request::from_parts(parts, body)
        };
        let resp: Resp = svc
            .ready()
            .await
            .expect("ready")
            .call(req)
            .await
            .expect("response");
        assert_eq!(
            (resp.status(), attempts(&resp)),
            (StatusCode::SERVICE_UNAVAILABLE, 1)
        );
        assert_eq!(server2.hits(), 1);
    }
}
