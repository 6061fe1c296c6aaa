//! A shared reqwest-middleware client (the common shape: reqwest-retry's
//! `RetryTransientMiddleware` plus an inlined copy of melotic/reqwest-retry-after's
//! `RetryAfterMiddleware`), rebuilt on relent: config, construction, per-call
//! credentials, a Retry-After that holds back the next call, and reload by rebuild-and-swap.
//!
//! ```text
//! cargo run -p relent-reqwest --example shared_client
//! ```

#[allow(dead_code)]
#[path = "support/server.rs"]
mod server;

// The reusable part; the test uses all of it, this example only some.
#[allow(dead_code)]
#[path = "shared_client/http_client.rs"]
mod http_client;

use std::sync::Arc;
use std::time::Duration;

use http_client::{Credential, HttpClientConfig, SharedHttpClient};
use relent_reqwest::{AttemptHistory, RetryPolicy};
use reqwest::Method;
use server::{Script, ScriptedServer, status};

async fn call(
    shared: &SharedHttpClient,
    server: &ScriptedServer,
    who: &str,
    token: &str,
) -> Result<(), reqwest_middleware::Error> {
    let response = shared
        .request(
            Method::GET,
            &server.url("/v1/models"),
            Credential::Bearer(token),
        )
        .send()
        .await?;
    if let Some(history) = response.extensions().get::<AttemptHistory>() {
        println!(
            "{who}: {} after {} attempt(s)",
            response.status(),
            history.attempts()
        );
        for line in history.to_string().lines() {
            println!("   {line}");
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = ScriptedServer::start(
        Script::new()
            .then(status(503))
            .then(status(200))
            .then(status(429).header("retry-after", "1"))
            .then(status(200)),
    );
    let shared = SharedHttpClient::new(HttpClientConfig {
        pool_max_idle_per_host: Some(8),
        request_timeout: Some(Duration::from_secs(5)),
        retry_policy: RetryPolicy::default(),
        ca_bundle: None,
    })?;

    // Two handlers, two credentials, one client: alice meets a 503, bob a 429 + Retry-After: 1.
    for (who, token) in [("alice", "token-a"), ("bob", "token-b")] {
        call(&shared, &server, who, token).await?;
    }

    let before = shared.client();
    let after = shared.reload(HttpClientConfig {
        pool_max_idle_per_host: Some(2),
        request_timeout: Some(Duration::from_secs(2)),
        retry_policy: RetryPolicy::urllib3(),
        ca_bundle: None,
    })?;
    println!(
        "reloaded: new client {}; the old one still works for whoever holds it: {}",
        !Arc::ptr_eq(&before, &after),
        before.get(server.url("/health")).send().await?.status()
    );
    // carol's call runs on the rebuilt client (urllib3's policy now).
    call(&shared, &server, "carol", "token-c").await?;
    for request in server.requests() {
        let auth = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        println!("server saw {} {} with {auth}", request.method, request.uri);
    }
    server.shutdown().await;
    Ok(())
}
