//! relent-reqwest's `RetryMiddleware` end to end, against the scripted server on 127.0.0.1.
//!
//! Every test drives a real reqwest client through reqwest-middleware; waits are real
//! (the longest is a server's `Retry-After: 1`).

mod reqwest_support;

use std::time::Duration;

use relent::hint::{ExcessKind, ServerHint};
use relent::retry::{BudgetConfig, Forbidden, RetryKind, TOKEN};
use relent_reqwest::{
    GiveUpReason, Idempotent, KeyBy, NoRetry, Observed, RetryEngine, SharedBudget, Step,
    TimeoutOverride, Timeouts, TransportError, WaitReason,
};
use relent_tests::server::{Script, ScriptedServer, hang, ok, reset, status, unused_local_addr};
use reqwest_support::{history, quick, retrier, retry_error, statuses, through};
use tokio::time::Instant;

#[tokio::test]
async fn a_503_then_200_is_retried_and_the_history_says_so() {
    let server = ScriptedServer::start(Script::new().then(status(503)).then(ok("done")));
    let client = through(&retrier(quick()));

    let response = client.get(server.url("/a")).send().await.expect("response");
    // The attempt count, without reading the history (reqwest-middleware#152).
    assert_eq!(
        response.extensions().get::<relent_reqwest::Attempts>(),
        Some(&relent_reqwest::Attempts(2))
    );
    let h = history(&response);
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "done");
    assert_eq!(server.hits(), 2);
    assert_eq!(statuses(&h), [503, 200]);
    assert_eq!(h.attempts(), 2);
    assert_eq!(h.gave_up(), None);
    let waits: Vec<_> = h.waits().collect();
    assert_eq!(
        waits,
        [(
            Duration::from_millis(10),
            WaitReason::Backoff(RetryKind::Transient)
        )]
    );
    assert!(h.to_string().contains("attempt 2 -> status 200"), "{h}");
}

#[tokio::test]
async fn retry_after_in_seconds_is_obeyed() {
    let server = ScriptedServer::start(
        Script::new()
            .then(status(429).header("retry-after", "1"))
            .then(ok("done")),
    );
    let client = through(&retrier(quick()));
    let started = Instant::now();
    let response = client.get(server.url("/")).send().await.expect("response");
    let elapsed = started.elapsed();
    assert_eq!(response.status(), 200);
    let h = history(&response);
    let one = Duration::from_secs(1);
    assert_eq!(
        h.waits().collect::<Vec<_>>(),
        [(one, WaitReason::ServerHint(one))]
    );
    assert_eq!(
        h.outcomes().next(),
        Some(Observed::Response {
            status: 429,
            hint: Some(ServerHint::After(one))
        })
    );
    let arrivals: Vec<_> = server.requests().iter().map(|r| r.arrived).collect();
    assert!(arrivals[1] - arrivals[0] >= one, "{arrivals:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[tokio::test]
async fn retry_after_as_a_date_is_measured_against_the_servers_own_date() {
    // The server's clock says 1994; its Retry-After is one second after its own `Date`.
    // Measured against our clock that date is 30 years past (a wait of zero); measured
    // against the response's `Date`, as RFC 9110 intends, it is exactly one second.
    let server = ScriptedServer::start(
        Script::new()
            .then(
                status(503)
                    .header("date", "Sun, 06 Nov 1994 08:49:37 GMT")
                    .header("retry-after", "Sun, 06 Nov 1994 08:49:38 GMT"),
            )
            .then(ok("done")),
    );
    let client = through(&retrier(quick()));
    let response = client.get(server.url("/")).send().await.expect("response");
    assert_eq!(response.status(), 200);
    let one = Duration::from_secs(1);
    assert_eq!(
        history(&response).waits().collect::<Vec<_>>(),
        [(one, WaitReason::ServerHint(one))]
    );
    let arrivals: Vec<_> = server.requests().iter().map(|r| r.arrived).collect();
    assert!(arrivals[1] - arrivals[0] >= one, "{arrivals:?}");
}

#[tokio::test]
async fn a_deadline_shorter_than_the_hint_gives_up_at_once() {
    let server = ScriptedServer::start(
        Script::new()
            .then(status(429).header("retry-after", "30"))
            .then(ok("never sent")),
    );
    let retrier = retrier(quick().with_deadline(Some(Duration::from_secs(3))));
    let client = through(&retrier);
    let started = Instant::now();
    let response = client.get(server.url("/")).send().await.expect("response");
    let elapsed = started.elapsed();

    // The last response is returned, at once, with the reason.
    assert_eq!(response.status(), 429);
    // Generous bound for a loaded machine: sleeping would have taken 30 s.
    assert!(elapsed < Duration::from_secs(2), "slept: {elapsed:?}");
    let report = *history(&response).report().expect("gave up");
    match report.reason {
        GiveUpReason::HintTooLong { hint, limit, kind } => {
            assert_eq!(hint, Duration::from_secs(30));
            assert_eq!(kind, ExcessKind::Deadline);
            assert!(limit <= Duration::from_secs(3), "{limit:?}");
        }
        other => panic!("unexpected reason {other:?}"),
    }
    assert_eq!(report.attempts, 1);
    assert_eq!(report.waited, Duration::ZERO);
    assert_eq!(server.hits(), 1);
    // The hint is still recorded for the requests that follow.
    let origin = KeyBy::Origin.key(&reqwest::Url::parse(&server.url("/")).expect("url"));
    assert!(retrier.table().not_before(origin.as_str()).is_some());
}

#[tokio::test]
async fn a_post_that_reached_the_server_is_not_retried() {
    let server = ScriptedServer::start(
        Script::new()
            .then(status(503))
            .then(reset())
            .then(ok("never")),
    );
    let client = through(&retrier(quick()));

    // A 503: the last response comes back, not retried.
    let response = client
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

    // A reset after the request was sent: a typed error, not retried.
    let err = client
        .post(server.url("/pay"))
        .body("amount=5")
        .send()
        .await
        .expect_err("reset");
    let retry = retry_error(&err);
    assert_eq!(
        retry.reason(),
        GiveUpReason::Forbidden(Forbidden::NotIdempotent)
    );
    assert_eq!(
        retry.transport_error(),
        Some(TransportError::ResetAfterSend)
    );
    assert!(retry.find::<reqwest::Error>().is_some(), "{retry:?}");
    assert_eq!(retry.history().attempts(), 1);
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn a_post_whose_connection_failed_is_retried() {
    // Nothing listens here: every attempt fails to connect, so the request never left and
    // even a POST may be sent again, until the attempts run out.
    let url = format!("http://{}/pay", unused_local_addr());
    let client = through(&retrier(quick()));
    let err = client
        .post(url)
        .body("amount=5")
        .send()
        .await
        .expect_err("nothing listens");
    let retry = retry_error(&err);
    assert_eq!(retry.reason(), GiveUpReason::MaxAttempts);
    assert!(retry.is_connect());
    assert_eq!(retry.history().attempts(), 3);
    assert!(
        retry
            .history()
            .outcomes()
            .all(|o| o == Observed::Transport(TransportError::ConnectFailed))
    );
    assert!(
        retry
            .find::<reqwest::Error>()
            .is_some_and(reqwest::Error::is_connect)
    );
    // `source()` is reqwest's error itself, as any error reporter walks the chain, and
    // classify_error reads a RetryError through it.
    assert!(
        std::error::Error::source(retry)
            .and_then(|s| s.downcast_ref::<reqwest::Error>())
            .is_some_and(reqwest::Error::is_connect)
    );
    assert_eq!(
        relent_reqwest::classify_error(retry),
        TransportError::ConnectFailed
    );
    // Every attempt's error is kept, not only the last (the error type is the one every
    // relent adapter shares).
    assert_eq!(retry.causes().len(), 3);
    assert!(retry.causes().iter().all(|c| {
        c.error()
            .and_then(|e| e.downcast_ref::<reqwest::Error>())
            .is_some_and(reqwest::Error::is_connect)
    }));
}

#[tokio::test]
async fn the_event_hook_sees_each_attempt_failure_and_wait_as_it_happens() {
    use std::sync::{Arc, Mutex};
    let server = ScriptedServer::start(
        Script::new()
            .then(status(503))
            .then(reset())
            .then(ok("done")),
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let engine = RetryEngine::builder()
        .policy(quick())
        .on_event(move |key, event| {
            let line = match event {
                relent_reqwest::Event::Attempt { attempt, .. } => format!("attempt {attempt}"),
                relent_reqwest::Event::Ended { outcome, .. } => {
                    format!("ended {:?}", outcome.seen())
                }
                relent_reqwest::Event::Failed(cause) => {
                    format!("failed {} {}", cause.attempt, cause.error().is_some())
                }
                relent_reqwest::Event::Wait { delay, .. } => format!("wait {delay:?}"),
                relent_reqwest::Event::GaveUp(report) => format!("gave up {}", report.reason),
                _ => "other".to_string(),
            };
            log.lock().expect("lock").push(format!("{key} {line}"));
        })
        .build()
        .expect("engine");
    let response = through(&engine)
        .get(server.url("/"))
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), 200);
    let origin = format!("http://{}", server.addr());
    let want: Vec<String> = [
        "attempt 1",
        "ended Some(Status(503))",
        "wait 10ms",
        "attempt 2",
        "ended Some(Transport(ResetAfterSend))",
        "failed 2 true",
        "wait 20ms",
        "attempt 3",
        "ended None",
    ]
    .iter()
    .map(|l| format!("{origin} {l}"))
    .collect();
    assert_eq!(*seen.lock().expect("lock"), want);
}

#[tokio::test]
async fn a_post_marked_idempotent_is_retried() {
    let server = ScriptedServer::start(
        Script::new()
            .then(status(503))
            .then(ok("paid"))
            .then(reset())
            .then(ok("paid again")),
    );
    let client = through(&retrier(quick()));
    for expected in ["paid", "paid again"] {
        let response = client
            .post(server.url("/pay"))
            .header("idempotency-key", expected)
            .with_extension(Idempotent)
            .body("amount=5")
            .send()
            .await
            .expect("response");
        assert_eq!(history(&response).attempts(), 2);
        assert_eq!(response.text().await.expect("body"), expected);
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    // The retry carried the same body and key.
    assert!(requests.iter().all(|r| r.body == "amount=5"));
    assert_eq!(requests[1].headers["idempotency-key"], "paid");
}

#[tokio::test]
async fn a_streaming_body_is_sent_exactly_once() {
    let server = ScriptedServer::start(
        Script::new()
            .then(status(503))
            .then(reset())
            .then(ok("never")),
    );
    let client = through(&retrier(quick()));
    let stream = || {
        reqwest::Body::wrap(http_body_util::Full::new(bytes::Bytes::from_static(
            b"one-shot",
        )))
    };

    // A PUT is idempotent, but its body is a stream: one attempt, and the reason says why.
    let response = client
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

    let err = client
        .put(server.url("/upload"))
        .body(stream())
        .send()
        .await
        .expect_err("reset");
    let retry = retry_error(&err);
    assert_eq!(
        retry.reason(),
        GiveUpReason::Forbidden(Forbidden::BodyNotReplayable)
    );
    assert_eq!(
        retry.transport_error(),
        Some(TransportError::ResetAfterSend)
    );

    let requests = server.requests();
    assert_eq!(requests.len(), 2, "each streaming request was sent once");
    assert!(
        requests
            .iter()
            .all(|r| r.body == "one-shot" && r.body_complete)
    );
}

#[tokio::test]
async fn a_retry_after_holds_back_the_next_request_to_the_same_origin() {
    let server = ScriptedServer::start(Script::new().then(status(429).header("retry-after", "3")));
    let other = ScriptedServer::start(Script::new());
    let client = through(&retrier(quick()));

    // One attempt only: the 429 comes back at once, and its hint is recorded.
    let first = client
        .get(server.url("/a"))
        .with_extension(NoRetry)
        .send()
        .await
        .expect("response");
    assert_eq!(first.status(), 429);
    assert_eq!(history(&first).gave_up(), Some(GiveUpReason::MaxAttempts));

    // Another origin is not held back.
    let started = Instant::now();
    let free = client.get(other.url("/")).send().await.expect("response");
    assert!(history(&free).waits().next().is_none());
    assert!(started.elapsed() < Duration::from_secs(2));

    // Another path on the same origin waits out the deadline before it is sent.
    let second = client.get(server.url("/b")).send().await.expect("response");
    assert_eq!(second.status(), 200);
    let h = history(&second);
    let waits: Vec<_> = h.waits().collect();
    assert_eq!(waits.len(), 1, "{h}");
    assert_eq!(waits[0].1, WaitReason::Gate);
    // Most of the 3 s are left to wait (generous for a loaded machine).
    assert!(waits[0].0 > Duration::from_millis(1_500), "{h}");
    let arrivals: Vec<_> = server.requests().iter().map(|r| r.arrived).collect();
    assert!(
        arrivals[1] - arrivals[0] >= Duration::from_secs(3),
        "the second request arrived only after the server's deadline: {arrivals:?}"
    );
}

#[tokio::test]
async fn keyed_by_url_a_retry_after_holds_back_only_that_url() {
    let server = ScriptedServer::start(Script::new().then(status(503).header("retry-after", "2")));
    let retrier = RetryEngine::builder()
        .policy(quick())
        .key_by(KeyBy::Url)
        .build()
        .expect("retrier");
    let client = through(&retrier);
    let first = client
        .get(server.url("/a?x=1"))
        .with_extension(NoRetry)
        .send()
        .await
        .expect("response");
    assert_eq!(first.status(), 503);
    let started = Instant::now();
    let other_path = client.get(server.url("/b")).send().await.expect("response");
    assert_eq!(other_path.status(), 200);
    assert!(started.elapsed() < Duration::from_millis(500));
    let key = format!("{}?x=1", server.url("/a"));
    assert!(retrier.table().not_before(key.as_str()).is_some());
    assert_eq!(retrier.table().len(), 1);
}

#[tokio::test]
async fn when_retries_run_out_on_a_status_the_last_response_is_returned() {
    let server = ScriptedServer::start(
        Script::new()
            .then(status(500).body("first"))
            .then(status(502).body("second"))
            .then(status(503).body("third")),
    );
    let client = through(&retrier(quick()));
    let response = client.get(server.url("/")).send().await.expect("response");
    let h = history(&response);
    // The report rides on the response too, as relent-tower's does.
    assert_eq!(
        response.extensions().get::<relent_reqwest::Report>(),
        h.report()
    );
    assert_eq!(response.status(), 503);
    assert_eq!(response.text().await.expect("body"), "third");
    assert_eq!(statuses(&h), [500, 502, 503]);
    let report = h.report().expect("gave up");
    assert_eq!(report.reason, GiveUpReason::MaxAttempts);
    assert_eq!(report.attempts, 3);
    assert_eq!(report.waited, Duration::from_millis(30));
}

#[tokio::test]
async fn a_final_status_is_not_retried() {
    let server = ScriptedServer::start(Script::new().then(status(404)).then(ok("no")));
    let client = through(&retrier(quick()));
    let response = client.get(server.url("/")).send().await.expect("response");
    assert_eq!(response.status(), 404);
    assert_eq!(
        history(&response).gave_up(),
        Some(GiveUpReason::NotRetryable)
    );
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn each_attempt_is_bounded_by_the_per_try_timeout() {
    let server = ScriptedServer::start(Script::new().then(hang()).then(ok("done")));
    let client = through(&retrier(
        quick().with_per_try_timeout(Some(Duration::from_millis(200))),
    ));
    let started = Instant::now();
    let response = client.get(server.url("/")).send().await.expect("response");
    let elapsed = started.elapsed();
    assert_eq!(response.status(), 200);
    let h = history(&response);
    assert_eq!(
        h.outcomes().next(),
        Some(Observed::Transport(TransportError::TimedOut))
    );
    assert!(
        matches!(h.events()[0], Step::Attempt { timeout: Some(t), .. } if t == Duration::from_millis(200))
    );
    assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

#[tokio::test]
async fn the_overall_deadline_bounds_attempts_and_waits() {
    let server = ScriptedServer::start(Script::new().otherwise(hang()));
    let client = through(&retrier(
        quick().with_deadline(Some(Duration::from_millis(300))),
    ));
    let started = Instant::now();
    let err = client.get(server.url("/")).send().await.expect_err("hangs");
    let elapsed = started.elapsed();
    let retry = retry_error(&err);
    assert_eq!(
        retry.reason(),
        GiveUpReason::Deadline {
            wait: None,
            time_left: Duration::ZERO
        }
    );
    assert!(retry.is_timeout());
    // The cause says so too, as relent-tokio's and relent-tower's do (reqwest enforced the
    // limit, so the cause is reqwest's own timeout error).
    assert!(retry.causes().last().is_some_and(|c| c.is_timeout()));
    assert!(
        retry
            .find::<reqwest::Error>()
            .is_some_and(reqwest::Error::is_timeout)
    );
    assert_eq!(retry.history().attempts(), 1);
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

#[tokio::test]
async fn the_timeout_override_sets_or_disables_the_attempt_limit() {
    let server = ScriptedServer::start(
        Script::new()
            .then(hang())
            .then(ok("quick"))
            .then(ok("slow").delayed(Duration::from_millis(400))),
    );
    let client = through(&retrier(
        quick().with_per_try_timeout(Some(Duration::from_millis(150))),
    ));

    // Set: 100 ms for this request, instead of the policy's 150 ms.
    let response = client
        .get(server.url("/"))
        .with_extension(TimeoutOverride::from(Duration::from_millis(100)))
        .send()
        .await
        .expect("response");
    assert_eq!(response.text().await.expect("body"), "quick");

    // Disable: a 400 ms answer is waited for, although the policy says 150 ms.
    let response = client
        .get(server.url("/"))
        .with_extension(TimeoutOverride::Disable)
        .send()
        .await
        .expect("response");
    let h = history(&response);
    assert_eq!(response.text().await.expect("body"), "slow");
    assert!(matches!(h.events()[0], Step::Attempt { timeout: None, .. }));

    // A Set without a total (connect only) leaves the attempt unlimited: only `total`
    // can be set per request in reqwest.
    let only_connect = Timeouts::NONE.with_connect(Duration::from_millis(10));
    let response = client
        .get(server.url("/"))
        .with_extension(TimeoutOverride::Set(only_connect))
        .send()
        .await
        .expect("response");
    assert!(matches!(
        history(&response).events()[0],
        Step::Attempt { timeout: None, .. }
    ));
}

#[tokio::test]
async fn a_policy_override_and_no_retry_apply_to_one_request() {
    let server = ScriptedServer::start(
        Script::new()
            .then_times(4, status(503))
            .then(ok("fifth"))
            .then(status(503)),
    );
    let client = through(&retrier(quick()));
    let response = client
        .get(server.url("/"))
        .with_extension(quick().with_max_attempts(5))
        .send()
        .await
        .expect("response");
    assert_eq!(response.text().await.expect("body"), "fifth");

    let response = client
        .get(server.url("/"))
        .with_extension(NoRetry)
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), 503);
    assert_eq!(history(&response).attempts(), 1);
    assert_eq!(server.hits(), 6);
}

#[tokio::test]
async fn a_shared_budget_stops_retries_across_requests() {
    // One retry's worth of tokens, no deposits: the first request may retry, the second not.
    let budget = SharedBudget::new(BudgetConfig {
        max: TOKEN,
        initial: TOKEN,
        deposit_per_request: 0,
        refund_on_success: 0,
        refund_retry_cost: false,
        transient_cost: TOKEN,
        throttled_cost: TOKEN,
        timeout_cost: TOKEN,
        failure_cost: 0,
        reserve: 0,
        refill_per_sec: 0,
    });
    let retrier = RetryEngine::builder()
        .policy(quick())
        .budget(budget.clone())
        .build()
        .expect("retrier");
    let server = ScriptedServer::start(Script::new().otherwise(status(503)));
    let client = through(&retrier);
    let first = client.get(server.url("/")).send().await.expect("response");
    assert_eq!(history(&first).attempts(), 2);
    assert_eq!(
        history(&first).gave_up(),
        Some(GiveUpReason::BudgetExhausted)
    );
    let second = client.get(server.url("/")).send().await.expect("response");
    assert_eq!(history(&second).attempts(), 1);
    assert_eq!(
        history(&second).gave_up(),
        Some(GiveUpReason::BudgetExhausted)
    );
    assert_eq!(budget.balance(), 0);
}

#[tokio::test]
async fn a_hint_beyond_the_cap_is_not_obeyed_and_is_recorded_capped() {
    let server =
        ScriptedServer::start(Script::new().then(status(429).header("retry-after", "1000000")));
    let retrier = retrier(quick());
    let client = through(&retrier);
    let started = Instant::now();
    let response = client.get(server.url("/")).send().await.expect("response");
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(response.status(), 429);
    assert!(matches!(
        history(&response).gave_up(),
        Some(GiveUpReason::HintTooLong {
            kind: ExcessKind::Cap,
            ..
        })
    ));
    // The table holds the capped deadline (300 s), not a million seconds.
    let origin = KeyBy::Origin.key(&reqwest::Url::parse(&server.url("/")).expect("url"));
    let until = retrier
        .table()
        .not_before(origin.as_str())
        .expect("recorded");
    let ahead = until.saturating_duration_since(relent_tokio::clock::now());
    assert!(ahead <= Duration::from_secs(300), "{ahead:?}");
    assert!(ahead > Duration::from_secs(299), "{ahead:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_requests_through_one_client() {
    let mut script = Script::new();
    for i in 0..200 {
        script = script.on(&format!("/r{i}"), status(503));
    }
    let server = ScriptedServer::start(script);
    let client = through(&retrier(quick()));
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let client = client.clone();
            let url = server.url(&format!("/r{i}"));
            tokio::spawn(async move { client.get(url).send().await })
        })
        .collect();
    for task in tasks {
        let response = task.await.expect("task").expect("response");
        assert_eq!(response.status(), 200);
        assert_eq!(statuses(&history(&response)), [503, 200]);
    }
    assert_eq!(server.hits(), 400);
}

#[tokio::test]
async fn the_clients_own_timeout_stays_an_upper_bound() {
    // The client allows 200 ms; the retrier's deadline is 5 s. reqwest lets a request's
    // timeout replace the client's, so the retrier must keep the tighter one.
    let server = ScriptedServer::start(
        Script::new().otherwise(ok("late").delayed(Duration::from_millis(800))),
    );
    let client_timeout = Duration::from_millis(200);
    let retrier = RetryEngine::builder()
        .policy(
            quick()
                .with_deadline(Some(Duration::from_secs(5)))
                .with_max_attempts(1),
        )
        .client_timeout(client_timeout)
        .build()
        .expect("retrier");
    let client = reqwest_middleware::ClientBuilder::new(
        reqwest::Client::builder()
            .no_proxy()
            .timeout(client_timeout)
            .build()
            .expect("client"),
    )
    .with(retrier.middleware())
    .build();
    let started = Instant::now();
    let err = client
        .get(server.url("/"))
        .send()
        .await
        .expect_err("times out");
    let elapsed = started.elapsed();
    assert!(retry_error(&err).is_timeout(), "{err}");
    assert!(
        elapsed < Duration::from_millis(700),
        "the 200 ms client limit held: {elapsed:?}"
    );
}

#[tokio::test]
async fn a_give_up_after_a_wait_still_returns_the_last_response() {
    // /a answers 503 and backs off 300 ms; meanwhile /b, same origin, gets a 429 with a
    // Retry-After longer than /a's deadline. /a then gives up at the gate: its answer
    // must still be the 503 it received, not an error without a response.
    let server = ScriptedServer::start(
        Script::new()
            .on("/a", status(503))
            .on("/b", status(429).header("retry-after", "100")),
    );
    let backoff = relent::backoff::BackoffBuilder::constant(Duration::from_millis(300))
        .build()
        .expect("backoff");
    let retrier = retrier(
        quick()
            .with_backoff(backoff)
            .with_deadline(Some(Duration::from_secs(2))),
    );
    let client = through(&retrier);
    let a = {
        let client = client.clone();
        let url = server.url("/a");
        tokio::spawn(async move { client.get(url).send().await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let b = client.get(server.url("/b")).send().await.expect("b");
    assert_eq!(b.status(), 429);
    let a = a.await.expect("task").expect("a keeps its response");
    assert_eq!(a.status(), 503);
    assert!(
        matches!(
            history(&a).gave_up(),
            Some(GiveUpReason::HintTooLong {
                kind: ExcessKind::Deadline,
                ..
            })
        ),
        "{:?}",
        history(&a).gave_up()
    );
    assert_eq!(server.hits_for("/a"), 1);
}

#[tokio::test]
async fn the_default_middleware_needs_no_build_and_has_time_limits() {
    // `RetryMiddleware::default()` cannot fail, and its policy bounds a silent server:
    // 30 s overall and 10 s per attempt (RetryPolicy::standard).
    let middleware = relent_reqwest::RetryMiddleware::default();
    let policy = middleware.retrier().policy();
    assert_eq!(policy.deadline, Some(Duration::from_secs(30)));
    assert_eq!(policy.per_try_timeout, Some(Duration::from_secs(10)));
    let server = ScriptedServer::start(Script::new().then(status(503)).then(ok("done")));
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(middleware)
        .build();
    let response = client.get(server.url("/")).send().await.expect("response");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.extensions().get::<relent_reqwest::Attempts>(),
        Some(&relent_reqwest::Attempts(2))
    );
}
