//! The same scripted sequences through relent's `RetryMiddleware` and through
//! reqwest-retry 0.9's `RetryTransientMiddleware` with `ExponentialBackoff` (the stack
//! a shared client commonly uses), so every difference in behaviour is an executable assertion.
//!
//! | sequence | relent-reqwest | reqwest-retry |
//! |---|---|---|
//! | GET: 503, 200 | retried, 200 | retried, 200 |
//! | GET: 500, 502, 503 (out of retries) | last response (503) + history | last response (503) |
//! | GET: 404 | not retried | not retried |
//! | GET: 429 + `Retry-After: 1`, 200 | waits the 1 s | ignores it, retries after its own backoff |
//! | GET: 429 + `Retry-After: 30`, 2 s deadline | gives up at once, returns the 429 | re-sends within its backoff |
//! | GET /a: 429 + `Retry-After: 1`, then GET /b | /b waits out the deadline | /b is sent at once (no shared table) |
//! | POST: 503, 200 | not retried (may have reached the server), 503 | retried, 200: the server saw it twice |
//! | POST: reset, 200 | not retried, typed error | retried, 200: the server saw it twice |
//! | POST: timed out, 200 | not retried | retried: the server saw it twice |
//! | POST to a closed port | retried (never left), then typed error | retried, then error |
//! | PUT with a streaming body: 503, 200 | sent once, 503, reason `BodyNotReplayable` | refused before sending: never sent |

mod reqwest_support;

use std::time::Duration;

use relent::retry::Forbidden;
use relent_reqwest::{GiveUpReason, NoRetry, RetryPolicy, TransportError};
use relent_tests::server::{ScriptedServer, Step, hang, ok, reset, status, unused_local_addr};
use reqwest_middleware::ClientWithMiddleware;
use reqwest_retry::RetryTransientMiddleware;
use reqwest_retry::policies::ExponentialBackoff;
use reqwest_support::{history, quick, retrier, retry_error, statuses, through};

/// reqwest-retry with up to `retries` retries, backing off 10–50 ms (short, so tests are fast;
/// its default bounds are 1 s to 30 min).
fn peer(retries: u32) -> ClientWithMiddleware {
    let policy = ExponentialBackoff::builder()
        .retry_bounds(Duration::from_millis(10), Duration::from_millis(50))
        .build_with_max_retries(retries);
    reqwest_middleware::ClientBuilder::new(reqwest_support::plain())
        .with(RetryTransientMiddleware::new_with_policy(policy))
        .build()
}

fn relent_client() -> ClientWithMiddleware {
    through(&retrier(quick()))
}

fn serve(steps: &[Step]) -> ScriptedServer {
    ScriptedServer::start(steps.iter().cloned().collect())
}

/// The gap between the first two requests the server received.
fn gap(server: &ScriptedServer) -> Duration {
    let r = server.requests();
    r[1].arrived - r[0].arrived
}

#[tokio::test]
async fn a_503_then_200_both_retry() {
    for client in [relent_client(), peer(2)] {
        let server = serve(&[status(503), ok("done")]);
        let response = client.get(server.url("/")).send().await.expect("response");
        assert_eq!(response.status(), 200);
        assert_eq!(server.hits(), 2);
    }
}

#[tokio::test]
async fn out_of_retries_both_return_the_last_response_only_relent_says_why() {
    let steps = [status(500), status(502), status(503)];
    let server = serve(&steps);
    let response = relent_client()
        .get(server.url("/"))
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), 503);
    assert_eq!(statuses(&history(&response)), [500, 502, 503]);
    assert_eq!(
        history(&response).gave_up(),
        Some(GiveUpReason::MaxAttempts)
    );

    let server = serve(&steps);
    let response = peer(2).get(server.url("/")).send().await.expect("response");
    assert_eq!(response.status(), 503);
    // reqwest-retry keeps no record of the attempts: only the server knows there were three.
    assert_eq!(server.hits(), 3);
}

#[tokio::test]
async fn a_404_is_final_for_both() {
    for client in [relent_client(), peer(2)] {
        let server = serve(&[status(404), ok("no")]);
        let response = client.get(server.url("/")).send().await.expect("response");
        assert_eq!(response.status(), 404);
        assert_eq!(server.hits(), 1);
    }
}

#[tokio::test]
async fn retry_after_is_obeyed_by_relent_and_ignored_by_reqwest_retry() {
    let steps = [status(429).header("retry-after", "1"), ok("done")];
    let server = serve(&steps);
    relent_client()
        .get(server.url("/"))
        .send()
        .await
        .expect("response");
    assert!(gap(&server) >= Duration::from_secs(1), "{:?}", gap(&server));

    let server = serve(&steps);
    let response = peer(2).get(server.url("/")).send().await.expect("response");
    assert_eq!(response.status(), 200);
    assert!(
        gap(&server) < Duration::from_millis(500),
        "reqwest-retry waited {:?}: it would have honoured Retry-After",
        gap(&server)
    );
}

#[tokio::test]
async fn a_hint_past_the_deadline_relent_gives_up_reqwest_retry_resends() {
    let steps = [status(429).header("retry-after", "30"), ok("too soon")];
    let server = serve(&steps);
    let response = relent_client()
        .get(server.url("/"))
        .with_extension(RetryPolicy::default().with_deadline(Some(Duration::from_secs(2))))
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), 429);
    assert!(matches!(
        history(&response).gave_up(),
        Some(GiveUpReason::HintTooLong { .. })
    ));
    assert_eq!(server.hits(), 1);

    // reqwest-retry's closest knob is a total retry duration; it re-sends long before the
    // 30 s the server asked for.
    let policy = ExponentialBackoff::builder()
        .retry_bounds(Duration::from_millis(10), Duration::from_millis(50))
        .build_with_total_retry_duration(Duration::from_secs(2));
    let client = reqwest_middleware::ClientBuilder::new(reqwest_support::plain())
        .with(RetryTransientMiddleware::new_with_policy(policy))
        .build();
    let server = serve(&steps);
    let response = client.get(server.url("/")).send().await.expect("response");
    assert_eq!(response.status(), 200);
    assert!(gap(&server) < Duration::from_secs(1), "{:?}", gap(&server));
}

#[tokio::test]
async fn only_relent_holds_back_the_next_request_to_a_throttled_origin() {
    let steps = [status(429).header("retry-after", "1"), ok("b")];
    let server = serve(&steps);
    let client = relent_client();
    let first = client
        .get(server.url("/a"))
        .with_extension(NoRetry)
        .send()
        .await
        .expect("response");
    assert_eq!(first.status(), 429);
    client.get(server.url("/b")).send().await.expect("response");
    assert!(gap(&server) >= Duration::from_secs(1), "{:?}", gap(&server));

    let server = serve(&steps);
    let client = peer(0);
    let first = client.get(server.url("/a")).send().await.expect("response");
    assert_eq!(first.status(), 429);
    client.get(server.url("/b")).send().await.expect("response");
    assert!(
        gap(&server) < Duration::from_millis(500),
        "{:?}",
        gap(&server)
    );
}

#[tokio::test]
async fn a_post_answered_503_relent_does_not_resend_reqwest_retry_does() {
    let steps = [status(503), ok("charged twice")];
    let server = serve(&steps);
    let response = relent_client()
        .post(server.url("/pay"))
        .body("amount=5")
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), 503);
    assert_eq!(
        history(&response).gave_up(),
        Some(GiveUpReason::Forbidden(Forbidden::NotIdempotent))
    );
    assert_eq!(server.hits(), 1);

    let server = serve(&steps);
    let response = peer(2)
        .post(server.url("/pay"))
        .body("amount=5")
        .send()
        .await
        .expect("response");
    assert_eq!(response.text().await.expect("body"), "charged twice");
    assert_eq!(server.hits(), 2, "the POST reached the server twice");
}

#[tokio::test]
async fn a_post_reset_after_sending_relent_does_not_resend_reqwest_retry_does() {
    let steps = [reset(), ok("charged twice")];
    let server = serve(&steps);
    let err = relent_client()
        .post(server.url("/pay"))
        .body("amount=5")
        .send()
        .await
        .expect_err("reset");
    let retry = retry_error(&err);
    assert_eq!(
        retry.transport_error(),
        Some(TransportError::ResetAfterSend)
    );
    assert_eq!(server.hits(), 1);

    let server = serve(&steps);
    let response = peer(2)
        .post(server.url("/pay"))
        .body("amount=5")
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), 200);
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn a_post_that_timed_out_relent_does_not_resend_reqwest_retry_does() {
    let steps = [hang(), ok("charged twice")];
    let server = serve(&steps);
    let err = relent_client()
        .post(server.url("/pay"))
        .timeout(Duration::from_millis(200))
        .body("amount=5")
        .send()
        .await
        .expect_err("timed out");
    assert!(retry_error(&err).is_timeout());
    assert_eq!(server.hits(), 1);

    let server = serve(&steps);
    let response = peer(2)
        .post(server.url("/pay"))
        .timeout(Duration::from_millis(200))
        .body("amount=5")
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), 200);
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn a_post_to_a_closed_port_both_retry() {
    let url = format!("http://{}/pay", unused_local_addr());
    let err = relent_client()
        .post(&url)
        .body("x")
        .send()
        .await
        .expect_err("refused");
    let retry = retry_error(&err);
    assert_eq!(retry.history().attempts(), 3);
    assert!(retry.is_connect());

    let err = peer(2)
        .post(&url)
        .body("x")
        .send()
        .await
        .expect_err("refused");
    let reqwest_middleware::Error::Middleware(e) = err else {
        panic!("reqwest-retry wraps its errors: {err:?}")
    };
    assert!(matches!(
        e.downcast_ref::<reqwest_retry::RetryError>(),
        Some(reqwest_retry::RetryError::WithRetries { retries: 2, .. })
    ));
}

#[tokio::test]
async fn a_streaming_body_relent_sends_once_reqwest_retry_never_sends() {
    let stream = || {
        reqwest::Body::wrap(http_body_util::Full::new(bytes::Bytes::from_static(
            b"one-shot",
        )))
    };
    let steps = [status(503), ok("done")];
    let server = serve(&steps);
    let response = relent_client()
        .put(server.url("/upload"))
        .body(stream())
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), 503);
    assert_eq!(
        history(&response).gave_up(),
        Some(GiveUpReason::Forbidden(Forbidden::BodyNotReplayable))
    );
    assert_eq!(server.hits(), 1);

    let server = serve(&steps);
    let err = peer(2)
        .put(server.url("/upload"))
        .body(stream())
        .send()
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("not cloneable"), "{err}");
    assert_eq!(server.hits(), 0, "reqwest-retry never sent it");
}
