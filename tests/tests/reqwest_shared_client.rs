//! A shared reqwest-middleware client rebuilt on relent (`adapters/reqwest/examples/shared_client/`):
//! construction, reload by rebuild-and-swap, per-request credentials, the Retry-After
//! table across reloads, and the optional CA bundle.

mod reqwest_support;

#[path = "../../adapters/reqwest/examples/shared_client/http_client.rs"]
mod http_client;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_client::{ClientError, Credential, HttpClientConfig, SharedHttpClient, TrustHook};
use relent_reqwest::{GiveUpReason, NoRetry, RetryPolicy, WaitReason};
use relent_tests::server::{Script, ScriptedServer, ok, status};
use reqwest::Method;
use reqwest_support::{history, quick, statuses};

fn config(policy: RetryPolicy) -> HttpClientConfig {
    HttpClientConfig {
        pool_max_idle_per_host: Some(4),
        request_timeout: Some(Duration::from_secs(5)),
        retry_policy: policy,
        ca_bundle: None,
    }
}

#[tokio::test]
async fn client_returns_a_usable_client_with_retries() {
    let server = ScriptedServer::start(Script::new().then(status(503)).then(ok("models")));
    let shared = SharedHttpClient::new(config(quick())).expect("client");
    let response = shared
        .client()
        .get(server.url("/v1/models"))
        .send()
        .await
        .expect("response");
    assert_eq!(statuses(&history(&response)), [503, 200]);
    // The config's request timeout is the per-attempt limit.
    assert!(matches!(
        history(&response).events()[0],
        relent_reqwest::Step::Attempt { timeout: Some(t), .. } if t == Duration::from_secs(5)
    ));
}

#[tokio::test]
async fn reload_swaps_the_client_and_its_policy() {
    let server = ScriptedServer::start(Script::new().otherwise(status(503)));
    let shared = SharedHttpClient::new(config(quick().with_max_attempts(1))).expect("client");
    let before = shared.client();
    assert!(
        Arc::ptr_eq(&before, &shared.client()),
        "no reload, same client"
    );
    let response = before.get(server.url("/")).send().await.expect("response");
    assert_eq!(history(&response).attempts(), 1);

    let after = shared
        .reload(config(quick().with_max_attempts(3)))
        .expect("reload");
    assert!(!Arc::ptr_eq(&before, &after), "a new client");
    assert!(
        Arc::ptr_eq(&after, &shared.client()),
        "the new one is current"
    );
    assert_eq!(shared.config().retry_policy.max_attempts.get(), 3);
    let response = shared
        .client()
        .get(server.url("/"))
        .send()
        .await
        .expect("response");
    assert_eq!(history(&response).attempts(), 3, "the new policy");
    // Whoever still holds the old client keeps its old behaviour until they drop it.
    let response = before.get(server.url("/")).send().await.expect("response");
    assert_eq!(history(&response).attempts(), 1);
}

#[tokio::test]
async fn a_failed_reload_keeps_the_current_client() {
    let shared = SharedHttpClient::new(config(quick())).expect("client");
    let before = shared.client();
    let mut bad = config(RetryPolicy::urllib3());
    bad.ca_bundle = Some(PathBuf::from("/nonexistent/relent/ca.pem"));
    let err = shared
        .reload(bad)
        .expect_err("no such file, and no trust hook");
    assert!(matches!(err, ClientError::NoTrustHook { .. }), "{err}");
    assert!(Arc::ptr_eq(&before, &shared.client()));
    assert_eq!(shared.config().retry_policy, quick());
}

#[tokio::test]
async fn credentials_are_per_request() {
    let server = ScriptedServer::start(
        Script::new()
            .then(status(503))
            .then(ok("a"))
            .then(ok("b"))
            .then(ok("none")),
    );
    let shared = SharedHttpClient::new(config(quick())).expect("client");
    let url = server.url("/v1/chat");
    for credential in [
        Credential::Bearer("alpha"),
        Credential::Bearer("beta"),
        Credential::None,
    ] {
        let response = shared
            .request(Method::POST, &url, credential)
            .with_extension(relent_reqwest::Idempotent)
            .body("{}")
            .send()
            .await
            .expect("response");
        assert_eq!(response.status(), 200);
    }
    let seen: Vec<Option<String>> = server
        .requests()
        .iter()
        .map(|r| {
            r.headers
                .get("authorization")
                .map(|v| v.to_str().expect("ascii").to_owned())
        })
        .collect();
    assert_eq!(
        seen,
        [
            // The retry of the first call carries the same credential.
            Some("Bearer alpha".to_owned()),
            Some("Bearer alpha".to_owned()),
            Some("Bearer beta".to_owned()),
            None,
        ]
    );
}

#[tokio::test]
async fn the_retry_after_table_outlives_a_reload() {
    let server = ScriptedServer::start(Script::new().then(status(429).header("retry-after", "1")));
    let shared = SharedHttpClient::new(config(quick())).expect("client");
    let first = shared
        .request(Method::GET, &server.url("/a"), Credential::None)
        .with_extension(NoRetry)
        .send()
        .await
        .expect("response");
    assert_eq!(history(&first).gave_up(), Some(GiveUpReason::MaxAttempts));
    assert_eq!(shared.table().len(), 1);

    shared.reload(config(quick())).expect("reload");
    let second = shared
        .request(Method::GET, &server.url("/b"), Credential::None)
        .send()
        .await
        .expect("response");
    assert_eq!(second.status(), 200);
    let waits: Vec<_> = history(&second).waits().map(|(_, r)| r).collect();
    assert_eq!(
        waits,
        [WaitReason::Gate],
        "the new client honours the old hint"
    );
}

#[tokio::test]
async fn a_ca_bundle_is_read_only_when_configured_and_handed_to_the_trust_hook() {
    let seen: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let hook: TrustHook = {
        let seen = Arc::clone(&seen);
        Arc::new(move |builder, pem| {
            seen.lock().expect("lock").push(pem.to_vec());
            Ok(builder)
        })
    };

    // Not configured: the hook is never called.
    let shared = SharedHttpClient::with_trust_hook(config(quick()), hook.clone()).expect("client");
    assert!(seen.lock().expect("lock").is_empty());

    // Configured: the file's bytes reach the hook, on construction and on reload.
    let dir = std::env::temp_dir().join(format!("relent-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("gateway.pem");
    let pem = b"-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n";
    std::fs::write(&path, pem).expect("write");
    let mut with_ca = config(quick());
    with_ca.ca_bundle = Some(path.clone());
    shared.reload(with_ca.clone()).expect("reload");
    SharedHttpClient::with_trust_hook(with_ca.clone(), hook).expect("client");
    assert_eq!(*seen.lock().expect("lock"), [pem.to_vec(), pem.to_vec()]);

    // Without a hook there is no TLS backend to give it to: an error, not a silent skip.
    let err = SharedHttpClient::new(with_ca).expect_err("no hook");
    assert!(matches!(err, ClientError::NoTrustHook { .. }), "{err}");

    // A missing file is reported with its path.
    std::fs::remove_dir_all(&dir).expect("cleanup");
    let refuse: TrustHook = Arc::new(|builder, _| Ok(builder));
    let mut missing = config(quick());
    missing.ca_bundle = Some(path.clone());
    let err = SharedHttpClient::with_trust_hook(missing, refuse).expect_err("missing");
    assert!(
        matches!(&err, ClientError::CaBundle { path: p, .. } if *p == path),
        "{err}"
    );
}
