//! relent-reqwest against a flaky server: every attempt, wait and reason, on a timeline.
//!
//! ```text
//! cargo run -p relent-reqwest --example demo
//! ```
//!
//! Starts a small scripted HTTP server on 127.0.0.1 (examples/support/server.rs) and sends requests
//! through one `ClientWithMiddleware` carrying relent's `RetryMiddleware`.
//! Finishes in about two seconds (one of them is a server's `Retry-After: 1`).

#[allow(dead_code)]
#[path = "support/server.rs"]
mod server;

use std::error::Error;
use std::time::Duration;

use relent_reqwest::{AttemptHistory, Idempotent, RetryEngine, RetryError, RetryPolicy};
use reqwest_middleware::ClientWithMiddleware;
use server::{Script, ScriptedServer, ok, reset, status};

/// Print a request's timeline and how it ended.
async fn show(result: reqwest_middleware::Result<reqwest::Response>) {
    match result {
        Ok(response) => {
            let history = response.extensions().get::<AttemptHistory>().cloned();
            let code = response.status();
            let body = response.text().await.unwrap_or_default();
            if let Some(h) = &history {
                print_timeline(h);
            }
            let attempts = history.as_ref().map_or(0, AttemptHistory::attempts);
            let elapsed = history
                .as_ref()
                .map_or(Duration::ZERO, AttemptHistory::elapsed);
            println!(
                "   => {code} {body:?} after {attempts} attempt{}, {:.3}s",
                if attempts == 1 { "" } else { "s" },
                elapsed.as_secs_f64()
            );
        }
        Err(reqwest_middleware::Error::Middleware(e)) => match e.downcast_ref::<RetryError>() {
            Some(retry) => {
                print_timeline(retry.history());
                println!("   => error: {retry}");
            }
            None => println!("   => error: {e}"),
        },
        Err(e) => println!("   => error: {e}"),
    }
    println!();
}

fn print_timeline(history: &AttemptHistory) {
    for line in history.to_string().lines() {
        println!("   {line}");
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let started = std::time::Instant::now();
    let server = ScriptedServer::start(
        Script::new()
            .on("/flaky", status(503))
            .on("/flaky", status(429).header("retry-after", "1"))
            .on("/flaky", reset())
            .on("/flaky", ok("hello"))
            .on("/pay", status(503))
            .on("/pay", status(503))
            .on("/pay", ok("paid"))
            .on("/slow", status(429).header("retry-after", "30"))
            .on("/upload", status(503)),
    );

    // One engine for the whole client: policy, Retry-After table (by origin), no budget.
    let retrier = RetryEngine::builder()
        .policy(
            RetryPolicy::default()
                .with_max_attempts(5)
                .with_deadline(Some(Duration::from_secs(10))),
        )
        .build()?;
    let client: ClientWithMiddleware =
        reqwest_middleware::ClientBuilder::new(reqwest::Client::builder().no_proxy().build()?)
            .with(retrier.middleware())
            .build();

    println!(
        "relent-reqwest demo: a scripted flaky server at {}",
        server.url("")
    );
    println!("policy: 5 attempts, 10 s deadline, 100 ms doubling backoff (equal jitter)\n");

    println!(
        "1. GET /flaky: the server answers 503, 429 + Retry-After: 1, resets the connection, then 200"
    );
    println!(
        "2. GET /other, sent while /flaky waits out that Retry-After: same origin, so it waits too"
    );
    let flaky = tokio::spawn({
        let client = client.clone();
        let url = server.url("/flaky");
        async move { client.get(url).send().await }
    });
    // Once the 429 went out (and the client had a moment to record it), start the second request.
    server.wait_for_hits(2, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let other = tokio::spawn({
        let client = client.clone();
        let url = server.url("/other");
        async move { client.get(url).send().await }
    });
    println!("-- /flaky");
    show(flaky.await?).await;
    println!("-- /other");
    show(other.await?).await;

    println!(
        "3. POST /pay: 503; it may have reached the server and POST is not idempotent, so no retry"
    );
    show(
        client
            .post(server.url("/pay"))
            .body("amount=5")
            .send()
            .await,
    )
    .await;

    println!("4. POST /pay with an idempotency key, marked Idempotent: 503, then 200");
    show(
        client
            .post(server.url("/pay"))
            .header("idempotency-key", "demo-1")
            .with_extension(Idempotent)
            .body("amount=5")
            .send()
            .await,
    )
    .await;

    println!(
        "5. PUT /upload with a streaming body: 503; the body cannot be replayed, so one attempt"
    );
    let stream = reqwest::Body::wrap(http_body_util::Full::new(bytes::Bytes::from_static(
        b"chunk",
    )));
    show(client.put(server.url("/upload")).body(stream).send().await).await;

    println!(
        "6. GET /slow: 429 + Retry-After: 30 against a 2 s deadline: give up at once, no sleep"
    );
    show(
        client
            .get(server.url("/slow"))
            .with_extension(RetryPolicy::default().with_deadline(Some(Duration::from_secs(2))))
            .send()
            .await,
    )
    .await;

    println!(
        "7. POST to a port where nothing listens: the request never left, so even a POST is retried"
    );
    let dead = format!("http://{}/pay", server::unused_local_addr());
    show(client.post(dead).body("amount=5").send().await).await;

    println!("8. GET /flaky again: its origin is still under the 30 s Retry-After from step 6");
    show(
        client
            .get(server.url("/flaky"))
            .with_extension(RetryPolicy::default().with_deadline(Some(Duration::from_secs(2))))
            .send()
            .await,
    )
    .await;

    println!(
        "table: {} key(s) with a Retry-After deadline; server saw {} requests; done in {:.2}s",
        retrier.table().len(),
        server.hits(),
        started.elapsed().as_secs_f64()
    );
    server.shutdown().await;
    Ok(())
}
