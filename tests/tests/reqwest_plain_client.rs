//! The same engine without reqwest-middleware (`RetryClient`, `send_with`), the error
//! classification on real reqwest errors, and `apply_timeouts` on a `ClientBuilder`.

mod reqwest_support;

use std::time::Duration;

use relent::retry::Forbidden;
use relent_reqwest::{
    AttemptTimedOut, ClientBuilderExt, GiveUpReason, Overrides, RequestBuilderExt, RetryClient,
    Timeouts, TransportError, classify_error,
};
use relent_tests::server::{
    Script, ScriptedServer, close, hang, ok, reset, status, trickle, unused_local_addr,
};
use reqwest_support::{history, plain, quick, retrier, statuses};

#[tokio::test]
async fn retry_client_executes_with_retries() {
    let server = ScriptedServer::start(Script::new().then(status(503)).then(ok("done")));
    let client = RetryClient::new(plain(), retrier(quick()));
    let request = client
        .client()
        .get(server.url("/"))
        .build()
        .expect("request");
    let response = client.execute(request).await.expect("response");
    assert_eq!(statuses(&history(&response)), [503, 200]);
    assert_eq!(response.text().await.expect("body"), "done");
}

#[tokio::test]
async fn retry_client_takes_overrides() {
    let server = ScriptedServer::start(
        Script::new()
            .then(status(503))
            .then(ok("paid"))
            .then(status(503)),
    );
    let client = RetryClient::new(plain(), retrier(quick()));
    let post = || {
        client
            .client()
            .post(server.url("/pay"))
            .body("x")
            .build()
            .expect("request")
    };
    let response = client
        .execute_with(post(), Overrides::new().idempotent())
        .await
        .expect("response");
    assert_eq!(response.text().await.expect("body"), "paid");
    let response = client.execute(post()).await.expect("response");
    assert_eq!(response.status(), 503);
    assert_eq!(
        history(&response).gave_up(),
        Some(GiveUpReason::Forbidden(Forbidden::NotIdempotent))
    );
    assert_eq!(server.hits(), 3);
}

#[tokio::test]
async fn send_with_on_a_plain_request_builder() {
    let server = ScriptedServer::start(
        Script::new()
            .then(reset())
            .then(ok("after a reset"))
            .then(reset()),
    );
    let retrier = retrier(quick());
    let client = plain();
    let response = client
        .get(server.url("/"))
        .send_with(&retrier)
        .await
        .expect("response");
    assert_eq!(response.text().await.expect("body"), "after a reset");

    // A POST that was reset: the typed error directly, no downcast needed.
    let err = client
        .post(server.url("/"))
        .body("x")
        .send_with(&retrier)
        .await
        .expect_err("reset");
    assert_eq!(
        err.reason(),
        GiveUpReason::Forbidden(Forbidden::NotIdempotent)
    );
    assert_eq!(err.transport_error(), Some(TransportError::ResetAfterSend));
    assert!(err.to_string().contains("not idempotent"), "{err}");
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn an_unbuildable_request_is_an_error_without_attempts() {
    let err = plain()
        .get("http://[::1")
        .send_with(&retrier(quick()))
        .await
        .expect_err("not a URL");
    assert_eq!(err.report().attempts, 0);
    assert_eq!(err.reason(), GiveUpReason::NotRetryable);
    assert!(
        err.find::<reqwest::Error>()
            .is_some_and(reqwest::Error::is_builder)
    );
}

#[tokio::test]
async fn real_reqwest_errors_are_classified_by_where_they_happened() {
    let server = ScriptedServer::start(Script::new().then(reset()).then(close()).then(hang()));
    let client = plain();
    let refused = client
        .get(format!("http://{}/", unused_local_addr()))
        .send()
        .await
        .expect_err("refused");
    assert_eq!(classify_error(&refused), TransportError::ConnectFailed);
    let reset = client.get(server.url("/")).send().await.expect_err("reset");
    assert_eq!(classify_error(&reset), TransportError::ResetAfterSend);
    let closed = client
        .get(server.url("/"))
        .send()
        .await
        .expect_err("closed");
    assert_eq!(classify_error(&closed), TransportError::ResetAfterSend);
    let timed_out = client
        .get(server.url("/"))
        .timeout(Duration::from_millis(100))
        .send()
        .await
        .expect_err("hang");
    assert_eq!(classify_error(&timed_out), TransportError::TimedOut);
    let ours = AttemptTimedOut {
        limit: Duration::from_secs(1),
    };
    assert_eq!(classify_error(&ours), TransportError::TimedOut);
    assert_eq!(
        classify_error(&std::fmt::Error),
        TransportError::Other,
        "an unknown error is Other, never a connect failure"
    );
}

#[tokio::test]
async fn apply_timeouts_sets_the_client_total_and_read_limits() {
    let server = ScriptedServer::start(Script::new().then(hang()).then(trickle(
        200,
        "x",
        Duration::from_millis(400),
        3,
    )));
    // total 300 ms: a hanging server is cut off.
    let total = plain_with(Timeouts::from_total(Duration::from_millis(300)));
    let err = total.get(server.url("/")).send().await.expect_err("hang");
    assert!(err.is_timeout(), "{err:?}");

    // read 150 ms: the headers come at once, the body's first chunk after 400 ms.
    let read = plain_with(Timeouts::NONE.with_read(Duration::from_millis(150)));
    let response = read.get(server.url("/")).send().await.expect("headers");
    let err = response.bytes().await.expect_err("a read stalls 400 ms");
    assert!(err.is_timeout() || err.is_body(), "{err:?}");
}

fn plain_with(timeouts: Timeouts) -> reqwest::Client {
    reqwest::Client::builder()
        .apply_timeouts(&timeouts.resolve())
        .no_proxy()
        .build()
        .expect("client")
}

#[tokio::test]
async fn a_transport_errors_cause_is_readable_without_a_downcast_chain() {
    // A refused connection: the io::Error below reqwest and hyper, and its kind, are one
    // call away; the root cause names what happened.
    let err = plain()
        .get(format!("http://{}/", unused_local_addr()))
        .send_with(&retrier(quick().with_max_attempts(1)))
        .await
        .expect_err("refused");
    assert!(err.is_connect(), "{err}");
    let io = err.io_error().expect("an io::Error in the chain");
    assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
    let root = err.root_cause().expect("a root cause");
    assert!(root.source().is_none(), "the innermost error has no source");
}
