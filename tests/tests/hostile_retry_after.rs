//! Hostile servers, part 1: every `Retry-After` value of DESIGN.md's "Bad input"
//! catalogue, and the statuses HTTP/1.1 can barely carry, sent by a real server on
//! 127.0.0.1 and read by relent-reqwest's middleware through a real reqwest client.
//!
//! The rules asserted, value by value:
//! - malformed (`""`, `" "`, `-1`, `1.5`, `+5`, `31 Feb`, lower-case `gmt`, non-UTF-8,
//!   64 KiB of letters, two differing headers): the hint is ignored and the client's own
//!   backoff (10 ms here) is used;
//! - a past date: no wait at all;
//! - beyond the 300 s cap (`18446744073709551616`, 99 digits, year 9999, 64 KiB of
//!   digits): the client gives up at once, returns the response, and its history names
//!   the hint and the cap;
//! - a deadline shorter than the hint: the client gives up at once, naming the deadline.
//!
//! No case sleeps more than the 10 ms backoff, so each takes milliseconds.

mod hostile_support;
mod reqwest_support;

use std::time::Duration;

use relent::hint::{ExcessKind, HintPolicy, ServerHint};
use relent::retry::RetryKind;
use relent_reqwest::{
    AttemptHistory, GiveUpReason, Observed, RetryEngine, TransportError, WaitReason,
};
use relent_tests::server::{Script, ScriptedServer, ok, raw, status};
use reqwest_support::{history, quick, retry_error, statuses, through};
use tokio::time::Instant;

use hostile_support::{assert_within, causes, origin, waits};

/// What the catalogue says a value must do.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Malformed: ignored, the client's own backoff is used.
    Ignored,
    /// Obeyed: a wait of exactly this long (a past date is zero).
    Wait(Duration),
    /// Beyond the cap: give up at once; the hint is this long, or, for a date, within a
    /// few seconds of it (the server's `Date` has whole seconds).
    TooLong(Duration),
}

const CAP: Duration = HintPolicy::DEFAULT_CAP;
const BACKOFF: Duration = Duration::from_millis(10);
const MAX_SECS: Duration = Duration::from_secs(u64::MAX);

/// Seconds from now until `Fri, 31 Dec 9999 23:59:59 GMT`.
fn until_year_9999() -> Duration {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970");
    Duration::from_secs(253_402_300_799) - Duration::from_secs(now.as_secs())
}

/// The catalogue: a name, the header lines the server sends, what must happen.
fn catalogue() -> Vec<(&'static str, Vec<Vec<u8>>, Expect)> {
    let one = |v: &[u8]| vec![v.to_vec()];
    vec![
        ("empty", one(b""), Expect::Ignored),
        ("a space", one(b" "), Expect::Ignored),
        ("-1", one(b"-1"), Expect::Ignored),
        ("1.5", one(b"1.5"), Expect::Ignored),
        ("+5", one(b"+5"), Expect::Ignored),
        (
            "2^64 seconds",
            one(b"18446744073709551616"),
            Expect::TooLong(MAX_SECS),
        ),
        ("99 digits", one(&[b'9'; 99]), Expect::TooLong(MAX_SECS)),
        (
            "a past date",
            one(b"Sun, 06 Nov 1994 08:49:37 GMT"),
            Expect::Wait(Duration::ZERO),
        ),
        (
            "31 February",
            one(b"Sun, 31 Feb 2026 00:00:00 GMT"),
            Expect::Ignored,
        ),
        (
            "year 9999",
            one(b"Fri, 31 Dec 9999 23:59:59 GMT"),
            Expect::TooLong(until_year_9999()),
        ),
        (
            // A future date, so that accepting it by mistake would show (a long wait).
            "lower-case gmt",
            one(b"Sat, 06 Nov 2094 08:49:37 gmt"),
            Expect::Ignored,
        ),
        ("non-UTF-8", one(b"\xff\xfe\x80"), Expect::Ignored),
        ("digits then non-UTF-8", one(b"12\xe9"), Expect::Ignored),
        (
            "64 KiB of digits",
            one(&[b'7'; 64 * 1024]),
            Expect::TooLong(MAX_SECS),
        ),
        (
            "64 KiB of letters",
            one(&[b'x'; 64 * 1024]),
            Expect::Ignored,
        ),
        (
            "two differing headers",
            vec![b"1".to_vec(), b"2".to_vec()],
            Expect::Ignored,
        ),
        (
            "two equal headers",
            vec![b"0".to_vec(), b"0".to_vec()],
            Expect::Wait(Duration::ZERO),
        ),
    ]
}

/// One request through the middleware against a server that answers `code` with these
/// `Retry-After` lines, then `200 done`.
async fn one_case(
    code: u16,
    lines: &[Vec<u8>],
) -> (
    reqwest::Response,
    AttemptHistory,
    Duration,
    ScriptedServer,
    RetryEngine,
) {
    let mut first = status(code);
    for line in lines {
        first = first.header("retry-after", line);
    }
    let server = ScriptedServer::start(Script::new().then(first).then(ok("done")));
    let retrier = RetryEngine::builder()
        .policy(quick())
        .build()
        .expect("retrier");
    let client = through(&retrier);
    let started = Instant::now();
    let response = client
        .get(server.url("/catalogue"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("status {code}: no response: {e:#}"));
    let elapsed = started.elapsed();
    let h = history(&response);
    (response, h, elapsed, server, retrier)
}

#[tokio::test]
async fn every_catalogue_retry_after_value_gets_its_exact_behaviour() {
    for (name, lines, expect) in catalogue() {
        for code in [429, 503] {
            let what = format!("{name} on a {code}");
            let (response, h, elapsed, server, retrier) = one_case(code, &lines).await;
            let first = h.outcomes().next().expect("one attempt at least");
            match expect {
                Expect::Ignored => {
                    // The hint was not read; the client's own 10 ms backoff was used.
                    assert_eq!(
                        first,
                        Observed::Response {
                            status: code,
                            hint: None
                        },
                        "{what}"
                    );
                    let kind = if code == 429 {
                        RetryKind::Throttled
                    } else {
                        RetryKind::Transient
                    };
                    assert_eq!(waits(&h), [(BACKOFF, WaitReason::Backoff(kind))], "{what}");
                    assert_eq!(response.status(), 200, "{what}");
                    assert_eq!(response.text().await.expect("body"), "done", "{what}");
                    assert_eq!(server.hits(), 2, "{what}");
                    // Nothing recorded: there was no hint to record.
                    assert_eq!(retrier.table().len(), 0, "{what}");
                    assert_within(&what, elapsed, BACKOFF);
                }
                Expect::Wait(d) => {
                    assert_eq!(
                        first,
                        Observed::Response {
                            status: code,
                            hint: Some(ServerHint::After(d))
                        },
                        "{what}"
                    );
                    if d.is_zero() {
                        // A wait that is already over is no wait: the retry goes at once.
                        assert_eq!(waits(&h), [], "{what}");
                    } else {
                        assert_eq!(waits(&h), [(d, WaitReason::ServerHint(d))], "{what}");
                    }
                    assert_eq!(response.status(), 200, "{what}");
                    assert_eq!(server.hits(), 2, "{what}");
                    assert_within(&what, elapsed, d);
                }
                Expect::TooLong(expected) => {
                    // Given up at once: one attempt, no wait, the response itself returned.
                    assert_eq!(response.status(), code, "{what}");
                    assert_eq!(server.hits(), 1, "{what}");
                    assert_eq!(waits(&h), [], "{what}");
                    let Some(GiveUpReason::HintTooLong { hint, limit, kind }) = h.gave_up() else {
                        panic!("{what}: not HintTooLong: {h}");
                    };
                    assert_eq!((limit, kind), (CAP, ExcessKind::Cap), "{what}");
                    let off = hint.abs_diff(expected);
                    assert!(off <= Duration::from_secs(5), "{what}: hint {hint:?}");
                    assert!(hint > CAP, "{what}");
                    // The caller can read the cause: the hint, the cap, that it gave up.
                    let story = h.to_string();
                    assert!(story.contains("gave up"), "{what}: {story}");
                    assert!(
                        story.contains("beyond the hint cap of 300.000s"),
                        "{what}: {story}"
                    );
                    assert!(
                        story.contains(&format!("status {code}, server hint {}.", hint.as_secs())),
                        "{what}: {story}"
                    );
                    // The table holds the key back for the cap, not for the hint.
                    let key = origin(&server.url("/"));
                    let now = relent_tokio::clock::now();
                    let until = retrier.table().not_before(key.as_str()).expect("recorded");
                    let held = until.saturating_duration_since(now);
                    assert!(
                        held <= CAP && held > CAP - Duration::from_secs(5),
                        "{what}: {held:?}"
                    );
                    assert_within(&what, elapsed, Duration::ZERO);
                }
            }
            server.shutdown().await;
        }
    }
}

#[tokio::test]
async fn a_deadline_shorter_than_the_hint_gives_up_at_once_and_says_so() {
    // Both a hint within the cap and one far beyond it: the deadline is the limit named,
    // because it is the one that cannot be argued with.
    for value in ["5", "18446744073709551616"] {
        let server = ScriptedServer::start(
            Script::new()
                .then(status(503).header("retry-after", value))
                .then(ok("never sent")),
        );
        let deadline = Duration::from_secs(1);
        let retrier = RetryEngine::builder()
            .policy(quick().with_deadline(Some(deadline)))
            .build()
            .expect("retrier");
        let started = Instant::now();
        let response = through(&retrier)
            .get(server.url("/"))
            .send()
            .await
            .expect("response");
        let elapsed = started.elapsed();
        assert_eq!(response.status(), 503, "{value}");
        assert_eq!(server.hits(), 1, "{value}");
        let h = history(&response);
        let Some(GiveUpReason::HintTooLong { hint, limit, kind }) = h.gave_up() else {
            panic!("{value}: {h}");
        };
        assert_eq!(kind, ExcessKind::Deadline, "{value}");
        assert!(hint >= Duration::from_secs(5), "{value}: {hint:?}");
        assert!(limit <= deadline, "{value}: {limit:?}");
        assert!(
            h.to_string()
                .contains("beyond the time left before the deadline"),
            "{value}: {h}"
        );
        // At once: well inside the deadline, let alone the hint.
        assert!(elapsed < deadline, "{value}: {elapsed:?}");
        server.shutdown().await;
    }
}

#[tokio::test]
async fn a_hint_the_client_cannot_even_read_is_a_transport_error_that_names_it() {
    // 512 KiB of Retry-After: the server sends it, but hyper's client refuses a response
    // head over ~400 KiB ("message head is too large"). The engine sees a transport
    // error, not a response; a GET may be retried, so it is, up to the attempt limit,
    // and the error names the cause in its chain.
    let server = ScriptedServer::start(
        Script::new().otherwise(status(503).header("retry-after", vec![b'7'; 512 * 1024])),
    );
    let retrier = RetryEngine::builder()
        .policy(quick())
        .build()
        .expect("retrier");
    let started = Instant::now();
    let err = through(&retrier)
        .get(server.url("/"))
        .send()
        .await
        .expect_err("the head is too large to read");
    let elapsed = started.elapsed();
    let retry = retry_error(&err);
    assert_eq!(retry.reason(), GiveUpReason::MaxAttempts);
    assert_eq!(retry.transport_error(), Some(TransportError::Other));
    assert_eq!(retry.history().attempts(), 3);
    assert_eq!(server.hits(), 3);
    // The error itself names the cause, not only its source chain.
    let own = retry.to_string();
    assert!(own.contains("gave up after 3 attempts"), "{own}");
    assert!(
        own.contains("(last error: message head is too large)"),
        "{own}"
    );
    assert!(causes(retry).contains("error sending request"), "{retry:?}");
    // Two 10/20 ms backoffs, no hint obeyed.
    assert_within("head too large", elapsed, Duration::from_millis(30));
    server.shutdown().await;
}

#[tokio::test]
async fn status_999_is_returned_as_final_and_its_hint_is_not_recorded() {
    // HTTP/1.1 carries any three-digit status; 999 means nothing, so it is not retried.
    let server = ScriptedServer::start(
        Script::new().otherwise(status(999).header("retry-after", "1000000")),
    );
    let retrier = RetryEngine::builder()
        .policy(quick())
        .build()
        .expect("retrier");
    let started = Instant::now();
    let response = through(&retrier)
        .get(server.url("/"))
        .send()
        .await
        .expect("a response");
    assert_eq!(response.status().as_u16(), 999);
    let h = history(&response);
    assert_eq!(statuses(&h), [999]);
    assert_eq!(h.gave_up(), Some(GiveUpReason::NotRetryable));
    assert!(h.to_string().contains("not retryable"), "{h}");
    assert_eq!(server.hits(), 1);
    // A final answer records nothing: only a failure the server meant to be retried
    // (retryable, or refused only by the client) holds its key (the core's gate rule).
    assert_eq!(retrier.table().len(), 0);
    assert_within("status 999", started.elapsed(), Duration::ZERO);
    server.shutdown().await;
}

#[tokio::test]
async fn status_000_is_refused_by_the_client_and_the_error_names_it() {
    // No HTTP library writes status 0, so the server writes the bytes itself. hyper's
    // client parses three digits but refuses a code below 100: a transport error (the
    // request was sent, so "Other"), retried for a GET, then reported with its cause.
    let server = ScriptedServer::start(Script::new().otherwise(raw(
        "HTTP/1.1 000 Zero\r\nretry-after: 1000000\r\ncontent-length: 0\r\n\r\n",
    )));
    let retrier = RetryEngine::builder()
        .policy(quick())
        .build()
        .expect("retrier");
    let started = Instant::now();
    let err = through(&retrier)
        .get(server.url("/"))
        .send()
        .await
        .expect_err("status 000 is not a response");
    let retry = retry_error(&err);
    assert_eq!(retry.reason(), GiveUpReason::MaxAttempts);
    assert_eq!(retry.transport_error(), Some(TransportError::Other));
    assert_eq!(server.hits(), 3);
    let own = retry.to_string();
    assert!(own.contains("gave up after 3 attempts"), "{own}");
    assert!(
        own.contains("(last error: invalid HTTP status-code parsed)"),
        "{own}"
    );
    // Its Retry-After was never seen, so nothing is recorded and nothing waited for.
    assert_eq!(retrier.table().len(), 0);
    assert_within("status 000", started.elapsed(), Duration::from_millis(30));
    server.shutdown().await;
}

#[tokio::test]
async fn a_hint_refused_over_the_cap_makes_later_requests_to_the_origin_refuse_at_once() {
    // `Retry-After: 100000000000000000000` (10^20 s, beyond u64 seconds: read as the
    // largest) is refused for exceeding the 300 s cap. The next request to the same
    // origin, with no deadline of its own, does not sleep the capped 300 s: it gives up
    // at once, sends nothing, and names the server's hint.
    let server = ScriptedServer::start(
        Script::new().otherwise(status(503).header("retry-after", "100000000000000000000")),
    );
    let retrier = RetryEngine::builder()
        .policy(quick())
        .build()
        .expect("retrier");
    let client = through(&retrier);
    let response = client
        .get(server.url("/a"))
        .send()
        .await
        .expect("a response");
    assert_eq!(response.status().as_u16(), 503);
    let too_long = GiveUpReason::HintTooLong {
        hint: MAX_SECS,
        limit: CAP,
        kind: ExcessKind::Cap,
    };
    assert_eq!(history(&response).gave_up(), Some(too_long));
    assert_eq!(server.hits(), 1);

    let started = Instant::now();
    let err = client
        .get(server.url("/b"))
        .send()
        .await
        .expect_err("refused before sending");
    assert_within("the later request", started.elapsed(), Duration::ZERO);
    let err = retry_error(&err);
    assert_eq!(err.report().attempts, 0);
    assert_eq!(err.reason(), too_long);
    let text = err.to_string();
    assert!(
        text.contains("18446744073709551615"),
        "names the hint: {text}"
    );
    assert!(text.contains("Retry-After"), "{text}");
    assert_eq!(server.hits(), 1, "nothing was sent");
    server.shutdown().await;
}
