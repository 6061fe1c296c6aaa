//! Hostile servers, part 3: connections that break, crawl or stall, through
//! relent-reqwest over real loopback TCP.
//!
//! - a reset after the status line and headers, in the middle of the body;
//! - a body that trickles one byte a second;
//! - a server that accepts, reads the request and never answers.
//!
//! What must hold: the per-try timeout and the overall deadline bound every wait,
//! including the body; nothing is re-sent once the caller holds the response; the error
//! the caller sees says what happened (reset, timed out, after how many attempts).

mod hostile_support;
mod reqwest_support;

use std::time::Duration;

use relent::retry::Forbidden;
use relent_reqwest::{
    GiveUpReason, Observed, RequestBuilderExt, RetryEngine, Step, TransportError, classify_error,
};
use relent_tests::server::{Script, ScriptedServer, hang, ok, raw_then_reset, trickle};
use reqwest_support::{history, plain, quick, retry_error, statuses, through};
use tokio::time::Instant;

use hostile_support::{assert_within, causes};

/// A 200 whose head and first 5 bytes (of 100 announced) arrive, then a RST.
const CUT_200: &str = "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nhello";
/// The same, as a 503.
const CUT_503: &str = "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 100\r\n\r\nhello";

/// Reads `response`'s body chunk by chunk until it fails; returns what arrived and the error.
async fn read_until_error(mut response: reqwest::Response) -> (Vec<u8>, reqwest::Error) {
    let mut got = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => got.extend_from_slice(&chunk),
            Ok(None) => panic!("the body completed: {got:?}"),
            Err(e) => return (got, e),
        }
    }
}

#[tokio::test]
async fn a_reset_in_the_middle_of_the_body_is_the_callers_error_and_nothing_is_re_sent() {
    // The engine's work ends when it hands the response (status and headers) to the
    // caller: the body is the caller's to read, and a failure while reading it is never
    // turned into a hidden second request (which could duplicate a side effect). Both
    // entry points behave alike.
    let server = ScriptedServer::start(
        Script::new().otherwise(raw_then_reset(CUT_200, Duration::from_millis(100))),
    );
    let retrier = RetryEngine::builder()
        .policy(quick().with_per_try_timeout(Some(Duration::from_secs(5))))
        .build()
        .expect("retrier");
    for via_middleware in [true, false] {
        let before = server.hits();
        let started = Instant::now();
        let response = if via_middleware {
            through(&retrier)
                .get(server.url("/cut"))
                .send()
                .await
                .expect("head")
        } else {
            plain()
                .get(server.url("/cut"))
                .send_with(&retrier)
                .await
                .expect("head")
        };
        assert_eq!(response.status(), 200);
        let h = history(&response);
        assert_eq!(statuses(&h), [200]);
        assert_eq!(
            h.gave_up(),
            None,
            "a 200 is a success as far as the engine knows"
        );

        let (got, err) = read_until_error(response).await;
        let elapsed = started.elapsed();
        assert_eq!(got, b"hello", "what came before the reset is delivered");
        assert!(err.is_body() || err.is_decode(), "{err:?}");
        assert!(!err.is_timeout(), "{err:?}");
        assert_eq!(classify_error(&err), TransportError::ResetAfterSend);
        let text = causes(&err).to_lowercase();
        assert!(text.contains("body"), "{text}");
        assert!(text.contains("connection reset"), "{text}");
        // The reset came 100 ms after the head, long before the 5 s per-try timeout.
        assert_within("reset body", elapsed, Duration::from_millis(100));

        // No hidden re-send, now or a little later.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(server.hits() - before, 1, "middleware: {via_middleware}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_cut_503_body_the_caller_never_received_does_not_stop_the_retry() {
    // The other side of the same rule: a 503 is retried from its head alone, so a body
    // that breaks after it belongs to a response the caller never saw. Its reset is
    // irrelevant, and the retry goes ahead.
    let server = ScriptedServer::start(
        Script::new()
            .then(raw_then_reset(CUT_503, Duration::from_millis(50)))
            .then(ok("done")),
    );
    let retrier = RetryEngine::builder()
        .policy(quick())
        .build()
        .expect("retrier");
    let response = through(&retrier)
        .get(server.url("/"))
        .send()
        .await
        .expect("response");
    let h = history(&response);
    assert_eq!(statuses(&h), [503, 200]);
    assert_eq!(response.text().await.expect("body"), "done");
    assert_eq!(server.hits(), 2);
    server.shutdown().await;
}

/// The server: 200 at once, then one byte a second for a minute.
fn one_byte_a_second() -> ScriptedServer {
    ScriptedServer::start(Script::new().otherwise(trickle(200, "x", Duration::from_secs(1), 60)))
}

#[tokio::test]
async fn a_trickled_body_is_cut_off_by_the_per_try_timeout() {
    // The per-try timeout is set on the request itself, so it keeps bounding the body
    // after the engine returned the head: one byte arrives (at 1 s), then the timeout
    // (at 1.5 s) ends the read, not the 60 s the body would take.
    let server = one_byte_a_second();
    let limit = Duration::from_millis(1500);
    let retrier = RetryEngine::builder()
        .policy(quick().with_per_try_timeout(Some(limit)))
        .build()
        .expect("retrier");
    let started = Instant::now();
    let response = through(&retrier)
        .get(server.url("/slow"))
        .send()
        .await
        .expect("head");
    assert_eq!(response.status(), 200);
    let (got, err) = read_until_error(response).await;
    let elapsed = started.elapsed();
    assert_eq!(got, b"x", "one byte a second, for a bit over a second");
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(classify_error(&err), TransportError::TimedOut);
    let text = causes(&err);
    assert!(text.contains("timed out"), "{text}");
    assert!(elapsed >= limit, "{elapsed:?}");
    assert_within("trickle, per-try timeout", elapsed, limit);
    assert_eq!(server.hits(), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn a_trickled_body_is_cut_off_by_the_overall_deadline() {
    // No per-try timeout: the attempt gets the time left before the deadline, and that
    // limit bounds the body too. Not a byte arrives in 600 ms.
    let server = one_byte_a_second();
    let deadline = Duration::from_millis(600);
    let retrier = RetryEngine::builder()
        .policy(quick().with_deadline(Some(deadline)))
        .build()
        .expect("retrier");
    let started = Instant::now();
    let response = plain()
        .get(server.url("/slow"))
        .send_with(&retrier)
        .await
        .expect("head");
    let limit = match history(&response).events() {
        [Step::Attempt { timeout, .. }] => timeout.expect("the deadline sets a limit"),
        other => panic!("{other:?}"),
    };
    assert!(limit <= deadline, "{limit:?}");
    let (got, err) = read_until_error(response).await;
    let elapsed = started.elapsed();
    assert_eq!(got, b"");
    assert!(err.is_timeout(), "{err:?}");
    assert!(causes(&err).contains("timed out"), "{err}");
    assert_within("trickle, deadline", elapsed, deadline);
    server.shutdown().await;
}

#[tokio::test]
async fn a_server_that_never_answers_costs_attempts_times_the_per_try_timeout() {
    let server = ScriptedServer::start(Script::new().otherwise(hang()));
    let per_try = Duration::from_millis(200);
    let retrier = RetryEngine::builder()
        .policy(quick().with_per_try_timeout(Some(per_try)))
        .build()
        .expect("retrier");
    let started = Instant::now();
    let err = through(&retrier)
        .get(server.url("/void"))
        .send()
        .await
        .expect_err("never answered");
    let elapsed = started.elapsed();
    let retry = retry_error(&err);
    assert_eq!(retry.reason(), GiveUpReason::MaxAttempts);
    assert!(retry.is_timeout());
    assert_eq!(retry.history().attempts(), 3);
    assert!(retry.history().events().iter().all(|e| match e {
        Step::Attempt {
            timeout, outcome, ..
        } => {
            *timeout == Some(per_try) && *outcome == Observed::Transport(TransportError::TimedOut)
        }
        _ => true,
    }));
    let own = retry.to_string();
    assert!(
        own.contains("gave up after 3 attempts (last: attempt timed out)"),
        "{own}"
    );
    assert!(own.contains("maximum attempts reached"), "{own}");
    assert!(
        causes(retry).contains("timed out after 200ms")
            || causes(retry).contains("operation timed out"),
        "{}",
        causes(retry)
    );
    assert_eq!(server.hits(), 3);
    // Three 200 ms attempts and two backoffs of 10 and 20 ms.
    assert!(elapsed >= 3 * per_try, "{elapsed:?}");
    assert_within(
        "never answers",
        elapsed,
        3 * per_try + Duration::from_millis(30),
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_server_that_never_answers_is_bounded_by_the_deadline() {
    // Ten attempts allowed, but a 700 ms deadline: 300 + 300 + what is left, then stop.
    let server = ScriptedServer::start(Script::new().otherwise(hang()));
    let deadline = Duration::from_millis(700);
    let retrier = RetryEngine::builder()
        .policy(
            quick()
                .with_max_attempts(10)
                .with_per_try_timeout(Some(Duration::from_millis(300)))
                .with_deadline(Some(deadline)),
        )
        .build()
        .expect("retrier");
    let started = Instant::now();
    let err = plain()
        .get(server.url("/void"))
        .send_with(&retrier)
        .await
        .expect_err("never answered");
    let elapsed = started.elapsed();
    assert!(
        matches!(err.reason(), GiveUpReason::Deadline { .. }),
        "{err}"
    );
    assert!(err.is_timeout());
    let attempts = err.history().attempts();
    assert!((2..=4).contains(&attempts), "{attempts}: {}", err.history());
    // Every attempt's limit fits in the time that was left.
    let limits: Duration = err
        .history()
        .events()
        .iter()
        .filter_map(|e| match e {
            Step::Attempt { timeout, .. } => *timeout,
            _ => None,
        })
        .sum();
    assert!(limits <= deadline, "{limits:?}");
    let own = err.to_string();
    assert!(
        own.contains(&format!(
            "gave up after {attempts} attempts (last: attempt timed out)"
        )),
        "{own}"
    );
    assert!(own.contains("deadline"), "{own}");
    assert_eq!(server.hits(), attempts as usize);
    assert_within("never answers, deadline", elapsed, deadline);
    server.shutdown().await;
}

#[tokio::test]
async fn a_post_to_a_server_that_never_answers_is_not_sent_twice() {
    // The request reached the server, so a timed-out POST may have acted: one attempt.
    let server = ScriptedServer::start(Script::new().otherwise(hang()));
    let retrier = RetryEngine::builder()
        .policy(quick().with_per_try_timeout(Some(Duration::from_millis(200))))
        .build()
        .expect("retrier");
    let started = Instant::now();
    let err = through(&retrier)
        .post(server.url("/pay"))
        .body("amount=5")
        .send()
        .await
        .expect_err("never answered");
    let retry = retry_error(&err);
    assert_eq!(
        retry.reason(),
        GiveUpReason::Forbidden(Forbidden::NotIdempotent)
    );
    assert_eq!(retry.history().attempts(), 1);
    let own = retry.to_string();
    assert!(own.contains("(last: attempt timed out)"), "{own}");
    assert!(own.contains("not idempotent"), "{own}");
    assert_within(
        "POST never answered",
        started.elapsed(),
        Duration::from_millis(200),
    );
    assert_eq!(server.hits(), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn the_clients_own_timeout_bounds_a_server_that_never_answers() {
    // No per-try timeout or deadline in the policy; only reqwest's client timeout, told
    // to the retrier, bounds each attempt.
    let server = ScriptedServer::start(Script::new().otherwise(hang()));
    let timeout = Duration::from_millis(250);
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .expect("client");
    let retrier = RetryEngine::builder()
        .policy(quick().with_max_attempts(2))
        .client_timeout(timeout)
        .build()
        .expect("retrier");
    let started = Instant::now();
    let err = client
        .get(server.url("/"))
        .send_with(&retrier)
        .await
        .expect_err("never answered");
    assert!(err.is_timeout(), "{err}");
    assert_eq!(err.history().attempts(), 2);
    assert!(
        err.to_string()
            .contains("gave up after 2 attempts (last: attempt timed out)"),
        "{err}"
    );
    assert_within("client timeout", started.elapsed(), 2 * timeout);
    server.shutdown().await;
}
