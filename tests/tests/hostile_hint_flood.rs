//! Hostile servers, part 2: a server that answers every request with `429` or `503` and
//! `Retry-After: 1000000` (eleven and a half days), through relent-reqwest's middleware
//! and its plain-client entry point (`send_with`).
//!
//! What must hold: the first request gives up at once (no sleep; measured in wall time,
//! well under a second) with `HintTooLong` naming the hint and the 300 s cap; the table
//! holds the origin back for at most the cap, not for the hint; later requests to that
//! origin are gated, and a gate is never waited beyond the cap or the deadline (with a
//! deadline shorter than the gate they give up before sending anything, saying why).

mod hostile_support;
mod reqwest_support;

use std::time::Duration;

use relent::hint::{ExcessKind, HintPolicy, OnExcess, ServerHint};
use relent_reqwest::{
    GiveUpReason, Observed, Overrides, RequestBuilderExt, RetryEngine, RetryPolicy, WaitReason,
};
use relent_tests::server::{Script, ScriptedServer, status};
use reqwest_support::{history, plain, quick, retry_error, statuses, through};
use tokio::task::JoinSet;
use tokio::time::Instant;

use hostile_support::{assert_within, causes, origin, waits};

const MILLION: Duration = Duration::from_secs(1_000_000);
const CAP: Duration = HintPolicy::DEFAULT_CAP;
/// "Never sleeps": the whole request, over loopback, in well under a second.
const AT_ONCE: Duration = Duration::from_millis(500);

fn flood(code: u16) -> ScriptedServer {
    ScriptedServer::start(Script::new().otherwise(status(code).header("retry-after", "1000000")))
}

/// How long the table holds `url`'s origin back from now.
fn held_back(retrier: &RetryEngine, url: &str) -> Option<Duration> {
    let now = relent_tokio::clock::now();
    retrier
        .table()
        .not_before(origin(url).as_str())
        .map(|until| until.saturating_duration_since(now))
}

#[tokio::test]
async fn every_response_asks_for_a_million_seconds_and_the_client_never_sleeps() {
    for code in [429, 503] {
        let server = flood(code);
        let url = server.url("/flood");
        // The default policy: three attempts, 300 s hint cap, give up on excess.
        let retrier = RetryEngine::builder()
            .policy(RetryPolicy::default())
            .build()
            .expect("retrier");

        // 1. The first request: one attempt, then an immediate give-up with the reason.
        let started = Instant::now();
        let response = through(&retrier).get(&url).send().await.expect("response");
        let elapsed = started.elapsed();
        assert!(elapsed < AT_ONCE, "{code}: slept {elapsed:?}");
        assert_eq!(response.status(), code);
        let h = history(&response);
        assert_eq!(
            h.outcomes().collect::<Vec<_>>(),
            [Observed::Response {
                status: code,
                hint: Some(ServerHint::After(MILLION))
            }]
        );
        assert_eq!(waits(&h), []);
        assert_eq!(
            h.gave_up(),
            Some(GiveUpReason::HintTooLong {
                hint: MILLION,
                limit: CAP,
                kind: ExcessKind::Cap
            })
        );
        let story = h.to_string();
        assert!(story.contains("server hint 1000000.000s"), "{story}");
        assert!(
            story.contains(
                "gave up: the server asked to wait 1000000.000s, beyond the hint cap of 300.000s"
            ),
            "{story}"
        );
        assert_eq!(server.hits(), 1);

        // 2. The table holds the origin back for the cap, not for the hint.
        let held = held_back(&retrier, &url).expect("recorded");
        assert!(
            held <= CAP && held > CAP - Duration::from_secs(5),
            "{held:?}"
        );
        assert_eq!(retrier.table().len(), 1);

        // 3. A later request through the plain client, with a 2 s deadline: the key is
        //    held by a hint that was refused for exceeding the cap, so it gives up before
        //    sending, naming that hint (a million seconds, not what is left of the hold).
        let deadline = Duration::from_secs(2);
        let started = Instant::now();
        let err = plain()
            .get(&url)
            .send_with_overrides(
                &retrier,
                Overrides {
                    policy: Some(RetryPolicy::default().with_deadline(Some(deadline))),
                    ..Overrides::default()
                },
            )
            .await
            .expect_err("gated beyond the deadline");
        let elapsed = started.elapsed();
        assert!(elapsed < AT_ONCE, "{code}: waited {elapsed:?}");
        assert_eq!(server.hits(), 1, "nothing was sent");
        assert_eq!(err.report().attempts, 0);
        let GiveUpReason::HintTooLong { hint, limit, kind } = err.reason() else {
            panic!("{code}: {err}");
        };
        assert_eq!(kind, ExcessKind::Deadline);
        assert_eq!(hint, MILLION, "the original hint is named");
        assert!(limit <= deadline, "{limit:?}");
        let text = causes(&err);
        assert!(text.contains("gave up after 0 attempts"), "{text}");
        assert!(
            text.contains("beyond the time left before the deadline of"),
            "{text}"
        );
        assert!(text.contains("Retry-After"), "{text}");
        assert!(text.contains(&origin(&url)), "{text}");

        // 4. Fifty more at once through the middleware, same deadline: all gated, all
        //    refused at once, none sent; the table still holds one key.
        let client = through(&retrier);
        let policy = RetryPolicy::default().with_deadline(Some(deadline));
        let started = Instant::now();
        let mut tasks = JoinSet::new();
        for _ in 0..50 {
            let request = client.get(&url).with_extension(policy.clone());
            tasks.spawn(async move { request.send().await });
        }
        while let Some(joined) = tasks.join_next().await {
            let err = joined.expect("task").expect_err("gated");
            assert!(matches!(
                retry_error(&err).reason(),
                GiveUpReason::HintTooLong {
                    kind: ExcessKind::Deadline,
                    ..
                }
            ));
        }
        // Fifty tasks on a shared machine: allow a second, still half the deadline.
        let batch = started.elapsed();
        assert!(batch < deadline / 2, "{batch:?}");
        assert_eq!(server.hits(), 1);
        assert_eq!(retrier.table().len(), 1);
        server.shutdown().await;
    }
}

#[tokio::test]
async fn a_gate_is_never_waited_beyond_the_cap() {
    // A 1 s cap, so the gate can be waited out for real: the second request waits at
    // most the cap (the rest of the first one's recorded deadline), sends, and gives up
    // at once on the same million-second answer.
    let cap = Duration::from_secs(1);
    let server = flood(429);
    let url = server.url("/");
    let retrier = RetryEngine::builder()
        .policy(RetryPolicy::default().with_hints(HintPolicy::DEFAULT.with_cap(cap)))
        .build()
        .expect("retrier");
    let client = through(&retrier);

    let started = Instant::now();
    let first = client.get(&url).send().await.expect("response");
    assert!(started.elapsed() < AT_ONCE, "{:?}", started.elapsed());
    assert_eq!(
        history(&first).gave_up(),
        Some(GiveUpReason::HintTooLong {
            hint: MILLION,
            limit: cap,
            kind: ExcessKind::Cap
        })
    );
    assert!(held_back(&retrier, &url).expect("recorded") <= cap);

    // The second request finds the key held by a hint that was refused for exceeding
    // the cap: it refuses at once, naming that hint, and sends nothing. (It used to wait
    // out what was left of the capped hold and ask again.)
    let started = Instant::now();
    let err = client.get(&url).send().await.expect_err("refused at once");
    assert!(started.elapsed() < AT_ONCE, "{:?}", started.elapsed());
    let err = retry_error(&err);
    assert_eq!(err.report().attempts, 0);
    assert_eq!(
        err.reason(),
        GiveUpReason::HintTooLong {
            hint: MILLION,
            limit: cap,
            kind: ExcessKind::Cap
        }
    );
    assert_eq!(server.hits(), 1);
    // The hold never outlasts the cap: once it has passed, the key is free, and the
    // next request is sent (and refused by the server's answer, not by the table).
    let hold = held_back(&retrier, &url).unwrap_or_default();
    assert!(hold <= cap, "{hold:?}");
    tokio::time::sleep(hold + Duration::from_millis(20)).await;
    let started = Instant::now();
    let third = client.get(&url).send().await.expect("response");
    assert!(started.elapsed() < AT_ONCE, "{:?}", started.elapsed());
    let h = history(&third);
    assert!(waits(&h).is_empty(), "nothing left to wait: {h}");
    assert_eq!(statuses(&h), [429]);
    assert!(matches!(
        h.gave_up(),
        Some(GiveUpReason::HintTooLong {
            kind: ExcessKind::Cap,
            ..
        })
    ));
    assert_eq!(server.hits(), 2);
    server.shutdown().await;
}

#[tokio::test]
async fn with_use_backoff_the_hint_is_disregarded_but_its_capped_gate_is_obeyed() {
    // `OnExcess::UseBackoff` disregards a hint beyond the cap for this request's own
    // backoff, but the hint is still recorded for the key (clamped to the cap), and the
    // next attempt of the same request waits for that gate like any other request would.
    // So every wait is at most the cap, and the request ends after its three attempts.
    let cap = Duration::from_millis(300);
    let server = flood(503);
    let retrier = RetryEngine::builder()
        .policy(quick().with_hints(HintPolicy::new(cap, OnExcess::UseBackoff)))
        .build()
        .expect("retrier");
    let started = Instant::now();
    let response = through(&retrier)
        .get(server.url("/"))
        .send()
        .await
        .expect("response");
    let elapsed = started.elapsed();
    let h = history(&response);
    assert_eq!(statuses(&h), [503, 503, 503]);
    assert_eq!(h.gave_up(), Some(GiveUpReason::MaxAttempts));
    assert!(
        waits(&h).iter().all(|(d, _)| *d <= cap),
        "a wait beyond the cap: {h}"
    );
    assert!(
        waits(&h).iter().any(|(_, r)| *r == WaitReason::Gate),
        "the recorded gate was obeyed: {h}"
    );
    assert!(
        waits(&h)
            .iter()
            .all(|(_, r)| !matches!(r, WaitReason::ServerHint(_))),
        "the million-second hint itself was never obeyed: {h}"
    );
    // Two retries, each waiting at most the cap (plus the 10 / 20 ms backoffs).
    assert_within("UseBackoff", elapsed, 2 * cap);
    assert_eq!(server.hits(), 3);
    server.shutdown().await;
}
