//! Self-tests of the scripted server: each step does what its doc says, seen from a
//! plain reqwest client, so the retry tests built on it can trust it.

use std::collections::BTreeSet;
use std::io;
use std::time::Duration;

use relent_tests::server::{
    Script, ScriptedServer, Step, close, delay, hang, ok, reset, status, trickle, unused_local_addr,
};
use tokio::time::Instant;

/// A client that never consults proxy settings from the environment, so requests to
/// 127.0.0.1 go straight to the test server.
fn client() -> reqwest::Client {
    client_with(reqwest::Client::builder())
}

fn client_with(builder: reqwest::ClientBuilder) -> reqwest::Client {
    builder.no_proxy().build().expect("reqwest client")
}

/// Every error in `err`'s source chain, outermost first.
fn chain<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Vec<&'a (dyn std::error::Error + 'static)> {
    let mut out = vec![err];
    let mut next = err.source();
    while let Some(e) = next {
        out.push(e);
        next = e.source();
    }
    out
}

fn io_kinds(err: &reqwest::Error) -> Vec<io::ErrorKind> {
    chain(err)
        .into_iter()
        .filter_map(|e| e.downcast_ref::<io::Error>().map(io::Error::kind))
        .collect()
}

fn hyper_incomplete(err: &reqwest::Error) -> bool {
    chain(err)
        .into_iter()
        .filter_map(|e| e.downcast_ref::<hyper::Error>())
        .any(hyper::Error::is_incomplete_message)
}

#[tokio::test]
async fn scripted_statuses_headers_and_bodies_arrive_in_order() {
    let server = ScriptedServer::start(
        Script::new()
            .then(status(503).header("retry-after", "1"))
            .then(
                status(429)
                    .header("Retry-After", "2")
                    .header("retry-after", "3")
                    .header("x-raw", [b'a', 0xff, b'z'])
                    .body("slow down"),
            )
            .then(ok("done")),
    );
    let client = client();
    let url = server.url("/thing");

    let first = client.get(&url).send().await.expect("first");
    assert_eq!(first.status(), 503);
    assert_eq!(first.headers()["retry-after"], "1");
    assert_eq!(first.headers()["connection"], "close");
    assert!(first.headers().contains_key("date"));
    assert_eq!(first.bytes().await.expect("body").len(), 0);

    let second = client.get(&url).send().await.expect("second");
    assert_eq!(second.status(), 429);
    let retry_after: Vec<_> = second.headers().get_all("retry-after").iter().collect();
    assert_eq!(retry_after, ["2", "3"], "duplicate headers kept, in order");
    assert_eq!(second.headers()["x-raw"].as_bytes(), [b'a', 0xff, b'z']);
    assert_eq!(second.text().await.expect("body"), "slow down");

    let third = client.get(&url).send().await.expect("third");
    assert_eq!(third.status(), 200);
    assert_eq!(third.text().await.expect("body"), "done");

    // Queue empty: the default fallback.
    let fourth = client.get(&url).send().await.expect("fourth");
    assert_eq!(fourth.status(), 200);
    assert_eq!(fourth.text().await.expect("body"), "ok");

    assert_eq!(server.hits(), 4);
    assert_eq!(server.remaining(), 0);
    assert_eq!(server.connections(), 4, "one connection per request");
    let steps: Vec<Step> = server.requests().into_iter().map(|r| r.step).collect();
    assert_eq!(steps[0], status(503).header("retry-after", "1"));
    assert_eq!(steps[2], ok("done"));
    assert_eq!(steps[3], ok("ok"));
}

#[tokio::test]
async fn per_path_queues_come_first_then_global_then_fallback() {
    let server = ScriptedServer::start(
        Script::new()
            .on("/a", status(500))
            .on("/a", status(502))
            .then(status(418))
            .otherwise(status(204)),
    );
    let client = client();
    let get = |path: &'static str| {
        let client = client.clone();
        let url = server.url(path);
        async move {
            client
                .get(url)
                .send()
                .await
                .expect("send")
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        get("/b").await,
        418,
        "global queue for a path without its own"
    );
    assert_eq!(get("/a?x=1").await, 500, "query is not part of the key");
    assert_eq!(get("/a").await, 502);
    assert_eq!(get("/a").await, 204, "both queues empty: fallback");
    server.push_for("/a", status(401));
    server.push(status(403));
    server.set_fallback(status(202));
    assert_eq!(get("/b").await, 403);
    assert_eq!(get("/a").await, 401);
    assert_eq!(get("/a").await, 202);
    assert_eq!(server.hits_for("/a"), 5);
    assert_eq!(server.hits_for("/b"), 2);
    assert_eq!(server.requests()[1].uri, "/a?x=1");
}

#[tokio::test]
async fn script_from_iterator_and_repeated_steps() {
    let script: Script = [status(500), status(501)].into_iter().collect();
    let server = ScriptedServer::start(script.then_times(2, status(503)));
    assert_eq!(server.remaining(), 4);
    let client = client();
    let mut seen = Vec::new();
    for _ in 0..5 {
        let response = client.get(server.url("x")).send().await.expect("send");
        seen.push(response.status().as_u16());
    }
    assert_eq!(seen, [500, 501, 503, 503, 200]);
    assert_eq!(server.requests()[0].path, "/x");
}

#[tokio::test]
async fn reset_is_a_connection_reset_after_the_request_arrived() {
    let server = ScriptedServer::start(Script::new().then(reset()).then(ok("after")));
    let client = client();
    let err = client
        .post(server.url("/pay"))
        .body("amount=5")
        .send()
        .await
        .expect_err("a reset connection cannot give a response");
    assert!(!err.is_connect(), "the connection was established: {err:?}");
    assert!(!err.is_timeout(), "{err:?}");
    assert!(
        io_kinds(&err).contains(&io::ErrorKind::ConnectionReset),
        "expected ECONNRESET in the source chain: {err:?}"
    );
    // The server did receive the whole request before resetting.
    let recorded = server.requests();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].method, "POST");
    assert_eq!(recorded[0].body, "amount=5");
    assert!(recorded[0].body_complete);
    assert_eq!(recorded[0].step, reset());
    // The server is unaffected: the next request gets the next step.
    let next = client.get(server.url("/pay")).send().await.expect("next");
    assert_eq!(next.text().await.expect("body"), "after");
}

#[tokio::test]
async fn close_ends_the_connection_cleanly_without_a_response() {
    let server = ScriptedServer::start(Script::new().then(close()));
    let err = client()
        .get(server.url("/"))
        .send()
        .await
        .expect_err("no response");
    assert!(!err.is_connect(), "{err:?}");
    assert!(
        hyper_incomplete(&err),
        "expected an incomplete message: {err:?}"
    );
    assert!(
        !io_kinds(&err).contains(&io::ErrorKind::ConnectionReset),
        "a close is a FIN, not a RST: {err:?}"
    );
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn hang_is_caught_by_a_client_timeout() {
    let server = ScriptedServer::start(Script::new().then(hang()));
    let client = client_with(reqwest::Client::builder().timeout(Duration::from_millis(300)));
    let started = Instant::now();
    let err = client
        .get(server.url("/slow"))
        .send()
        .await
        .expect_err("hang never answers");
    let waited = started.elapsed();
    assert!(err.is_timeout(), "{err:?}");
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    assert_eq!(server.hits(), 1, "the request was received before the hang");
}

#[tokio::test]
async fn shutdown_closes_hanging_connections() {
    let server = ScriptedServer::start(Script::new().otherwise(hang()));
    let url = server.url("/");
    let pending = tokio::spawn(async move { client().get(url).send().await });
    assert!(server.wait_for_hits(1, Duration::from_secs(5)).await);
    assert!(!server.wait_for_hits(2, Duration::from_millis(50)).await);
    let addr = server.addr();
    server.shutdown().await;
    let outcome = tokio::time::timeout(Duration::from_secs(5), pending)
        .await
        .expect("the hanging request ends once the server is shut down")
        .expect("task");
    let err = outcome.expect_err("no response was ever sent");
    assert!(!err.is_connect(), "{err:?}");
    // And nothing listens any more.
    let refused = tokio::net::TcpStream::connect(addr).await;
    assert!(refused.is_err(), "listener still open after shutdown");
}

#[tokio::test]
async fn drop_stops_the_server() {
    let server = ScriptedServer::start(Script::new());
    let addr = server.addr();
    assert!(tokio::net::TcpStream::connect(addr).await.is_ok());
    drop(server);
    // Abort is asynchronous: give the runtime a bounded number of turns to drop it.
    let mut closed = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(closed, "listener still open a second after drop");
}

#[tokio::test]
async fn trickle_sends_every_chunk_over_time() {
    let interval = Duration::from_millis(60);
    let server = ScriptedServer::start(
        Script::new().then(trickle(200, "abc", interval, 5).header("x-kind", "slow")),
    );
    let started = Instant::now();
    let mut response = client()
        .get(server.url("/stream"))
        .send()
        .await
        .expect("send");
    let headers_at = started.elapsed();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-kind"], "slow");
    assert_eq!(response.content_length(), Some(15));
    let mut body = Vec::new();
    let mut reads = 0;
    while let Some(chunk) = response.chunk().await.expect("chunk") {
        body.extend_from_slice(&chunk);
        reads += 1;
    }
    let done_at = started.elapsed();
    assert_eq!(body, b"abcabcabcabcabc");
    assert!(
        done_at >= interval * 5,
        "all five pauses happened: {done_at:?}"
    );
    assert!(
        done_at.saturating_sub(headers_at) >= interval * 4,
        "the body came after the headers, slowly: headers {headers_at:?}, done {done_at:?}"
    );
    assert!(
        reads >= 2,
        "the body arrived in pieces, not at once ({reads} reads)"
    );
}

#[tokio::test]
async fn trickle_is_caught_by_a_client_timeout() {
    let server = ScriptedServer::start(Script::new().then(trickle(
        200,
        "x",
        Duration::from_millis(200),
        50,
    )));
    let client = client_with(reqwest::Client::builder().timeout(Duration::from_millis(500)));
    let response = client
        .get(server.url("/"))
        .send()
        .await
        .expect("headers arrive");
    let err = response
        .bytes()
        .await
        .expect_err("10 s body, 0.5 s timeout");
    assert!(err.is_timeout() || err.is_body(), "{err:?}");
}

#[tokio::test]
async fn delay_waits_then_performs_the_inner_step() {
    let wait = Duration::from_millis(200);
    let server = ScriptedServer::start(
        Script::new()
            .then(delay(wait, status(503)).header("retry-after", "0"))
            .then(ok("quick").delayed(Duration::ZERO)),
    );
    let client = client();
    let started = Instant::now();
    let slow = client.get(server.url("/")).send().await.expect("send");
    assert!(started.elapsed() >= wait, "{:?}", started.elapsed());
    assert_eq!(slow.status(), 503);
    assert_eq!(slow.headers()["retry-after"], "0");
    let quick = client.get(server.url("/")).send().await.expect("send");
    assert_eq!(quick.text().await.expect("body"), "quick");
}

#[tokio::test]
async fn requests_are_recorded_with_method_headers_body_and_time() {
    let server = ScriptedServer::start(Script::new());
    let client = client();
    let before = Instant::now();
    client
        .post(server.url("/items?id=7"))
        .header("idempotency-key", "k-1")
        .body("hello")
        .send()
        .await
        .expect("post");
    client
        .put(server.url("/items/7"))
        .body(vec![0u8, 1, 2, 255])
        .send()
        .await
        .expect("put");
    client.get(server.url("/items")).send().await.expect("get");
    let after = Instant::now();

    let recorded = server.requests();
    assert_eq!(recorded.len(), 3);
    assert_eq!(server.hits(), 3);
    let first = &recorded[0];
    assert_eq!(first.seq, 0);
    assert_eq!(first.method, "POST");
    assert_eq!(first.uri, "/items?id=7");
    assert_eq!(first.path, "/items");
    assert_eq!(first.headers["idempotency-key"], "k-1");
    assert_eq!(first.body, "hello");
    assert_eq!(recorded[1].method, "PUT");
    assert_eq!(recorded[1].body.as_ref(), [0u8, 1, 2, 255]);
    assert_eq!(recorded[2].method, "GET");
    assert!(recorded[2].body.is_empty());
    assert!(recorded.iter().all(|r| r.body_complete));
    let times: Vec<Instant> = recorded.iter().map(|r| r.arrived).collect();
    assert!(before <= times[0] && times[0] <= times[1] && times[1] <= times[2]);
    assert!(times[2] <= after);
}

#[tokio::test]
async fn date_header_can_be_disabled_or_set_by_a_step() {
    let fixed = "Sun, 06 Nov 1994 08:49:37 GMT";
    let server = ScriptedServer::start(
        Script::new()
            .without_date_header()
            .then(status(429).header("date", fixed))
            .then(status(200)),
    );
    let client = client();
    let with_own = client.get(server.url("/")).send().await.expect("send");
    let dates: Vec<_> = with_own.headers().get_all("date").iter().collect();
    assert_eq!(dates, [fixed]);
    let without = client.get(server.url("/")).send().await.expect("send");
    assert!(!without.headers().contains_key("date"));

    // With the automatic date on (the default), a step's own date still wins, alone.
    let server = ScriptedServer::start(Script::new().then(status(429).header("date", fixed)));
    let response = client.get(server.url("/")).send().await.expect("send");
    let dates: Vec<_> = response.headers().get_all("date").iter().collect();
    assert_eq!(dates, [fixed]);
}

#[tokio::test]
async fn unused_address_gives_a_connect_error() {
    let addr = unused_local_addr();
    assert!(addr.ip().is_loopback());
    let err = client()
        .get(format!("http://{addr}/"))
        .send()
        .await
        .expect_err("nothing listens there");
    assert!(err.is_connect(), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_requests_are_answered_and_recorded() {
    const N: usize = 200;
    let server = ScriptedServer::start(Script::new().then_times(N / 2, status(503)));
    let client = client_with(reqwest::Client::builder().timeout(Duration::from_secs(20)));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..N {
        let client = client.clone();
        let url = server.url(&format!("/c/{i}"));
        tasks.spawn(async move {
            let response = client.get(url).send().await.expect("send");
            response.status().as_u16()
        });
    }
    let mut statuses = Vec::new();
    let all = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(status) = tasks.join_next().await {
            statuses.push(status.expect("task"));
        }
    })
    .await;
    assert!(all.is_ok(), "not all {N} requests finished in 30 s");
    assert_eq!(statuses.len(), N);
    assert_eq!(statuses.iter().filter(|&&s| s == 503).count(), N / 2);
    assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), N / 2);
    assert_eq!(server.hits(), N);
    assert_eq!(server.connections(), N);
    let paths: BTreeSet<String> = server.requests().into_iter().map(|r| r.path).collect();
    let expected: BTreeSet<String> = (0..N).map(|i| format!("/c/{i}")).collect();
    assert_eq!(paths, expected);
    let seqs: Vec<usize> = server.requests().iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (0..N).collect::<Vec<_>>());
}

#[test]
fn starting_outside_a_runtime_is_an_error_not_a_hang() {
    let err = ScriptedServer::try_start(Script::new()).expect_err("no runtime");
    assert!(err.to_string().contains("runtime"), "{err}");
}

#[test]
#[should_panic(expected = "step that sends no response")]
fn header_on_a_reset_is_a_script_mistake() {
    let _ = reset().header("retry-after", "1");
}
