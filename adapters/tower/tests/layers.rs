//! The timeout layer, the shared budget and the per-request markers on loopback.

mod support;

use std::time::Duration;

use http::{Method, StatusCode};
use relent::retry::{BudgetConfig, GiveUpReason, Report};
use relent_tower::{
    Attempts, Elapsed, NoRetry, RetryError, RetryLayer, SharedBudget, TimeoutLayer,
    TimeoutOverride, Timeouts,
};
use support::{Server, client, full, quick, reply, request};
use tower::{Layer, Service, ServiceBuilder, ServiceExt};

#[tokio::test]
async fn the_timeout_layer_below_the_retry_bounds_each_attempt() {
    for http2 in [false, true] {
        let server = Server::start(|n| {
            reply(200).delayed(if n == 0 {
                Duration::from_secs(30)
            } else {
                Duration::ZERO
            })
        })
        .await;
        let retry = RetryLayer::builder()
            .policy(quick())
            .build()
            .expect("layer");
        let mut svc = ServiceBuilder::new()
            .layer(retry)
            .layer(TimeoutLayer::new(Timeouts::from(Duration::from_millis(
                200,
            ))))
            .service(client(http2));
        let resp = svc
            .ready()
            .await
            .expect("ready")
            .call(request(Method::GET, &server.url("/"), full("")))
            .await
            .expect("the second attempt answers");
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.extensions().get::<Attempts>(), Some(&Attempts(2)));
    }
}

#[tokio::test]
async fn a_request_can_set_or_disable_the_client_default() {
    let server = Server::start(|_| reply(200).delayed(Duration::from_millis(300))).await;
    let mut svc =
        TimeoutLayer::new(Timeouts::from(Duration::from_millis(100))).layer(client(false));

    // Inherit: the 100 ms default cuts the 300 ms answer.
    let err = svc
        .ready()
        .await
        .expect("ready")
        .call(request(
            Method::GET,
            &server.url("/"),
            relent_tower::ReplayBody::new(full(""), 0),
        ))
        .await
        .expect_err("too slow");
    assert_eq!(
        err.downcast_ref::<Elapsed>(),
        Some(&Elapsed(Duration::from_millis(100)))
    );

    // Disable: no client-side limit for this request.
    let mut req = request(
        Method::GET,
        &server.url("/"),
        relent_tower::ReplayBody::new(full(""), 0),
    );
    req.extensions_mut().insert(TimeoutOverride::Disable);
    let resp = svc
        .ready()
        .await
        .expect("ready")
        .call(req)
        .await
        .expect("waited");
    assert_eq!(resp.status(), StatusCode::OK);

    // Set: this request's own limit replaces the default.
    let mut req = request(
        Method::GET,
        &server.url("/"),
        relent_tower::ReplayBody::new(full(""), 0),
    );
    req.extensions_mut()
        .insert(TimeoutOverride::from(Duration::from_secs(5)));
    let resp = svc
        .ready()
        .await
        .expect("ready")
        .call(req)
        .await
        .expect("within 5 s");
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_timed_out_post_is_not_retried() {
    let server = Server::start(|_| reply(200).delayed(Duration::from_secs(30))).await;
    let retry = RetryLayer::builder()
        .policy(quick().with_per_try_timeout(Some(Duration::from_millis(150))))
        .build()
        .expect("layer");
    let mut svc = retry.layer(client(true));
    let err = svc
        .ready()
        .await
        .expect("ready")
        .call(request(Method::POST, &server.url("/"), full("x")))
        .await
        .expect_err("timed out");
    let err = err.downcast::<RetryError>().expect("ours");
    assert_eq!(err.report().attempts, 1);
    assert!(matches!(err.report().reason, GiveUpReason::Forbidden(_)));
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn the_shared_budget_stops_retries_across_requests() {
    let server = Server::start(|_| reply(503)).await;
    // One token, a retry costs one, nothing refills.
    let budget = SharedBudget::new(BudgetConfig::ratio(0, 1, 0));
    let retry = RetryLayer::builder()
        .policy(quick())
        .budget(budget.clone())
        .build()
        .expect("layer");
    let mut svc = retry.layer(client(false));
    let mut reasons = Vec::new();
    for _ in 0..2 {
        let resp = svc
            .ready()
            .await
            .expect("ready")
            .call(request(Method::GET, &server.url("/"), full("")))
            .await
            .expect("the 503 is the answer");
        let report = *resp.extensions().get::<Report>().expect("report");
        reasons.push((report.attempts, report.reason));
    }
    assert_eq!(
        reasons,
        vec![
            (2, GiveUpReason::BudgetExhausted),
            (1, GiveUpReason::BudgetExhausted)
        ]
    );
    assert_eq!(server.hits(), 3);
}

#[tokio::test]
async fn no_retry_makes_one_attempt() {
    let server = Server::start(|_| reply(503)).await;
    let retry = RetryLayer::builder()
        .policy(quick())
        .build()
        .expect("layer");
    let mut svc = retry.layer(client(false));
    let mut req = request(Method::GET, &server.url("/"), full(""));
    req.extensions_mut().insert(NoRetry);
    let resp = svc
        .ready()
        .await
        .expect("ready")
        .call(req)
        .await
        .expect("503");
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.extensions().get::<Attempts>(), Some(&Attempts(1)));
    assert_eq!(server.hits(), 1);
}

#[cfg(feature = "tracing")]
mod tracing_events {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing::field::{Field, Visit};

    /// Records every event's fields as `name=value` strings.
    struct Fields(Arc<Mutex<Vec<Vec<String>>>>);
    struct Collect<'a>(&'a mut Vec<String>);
    impl Visit for Collect<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.0.push(format!("{}={value:?}", field.name()));
        }
        fn record_u64(&mut self, field: &Field, value: u64) {
            self.0.push(format!("{}={value}", field.name()));
        }
    }
    impl tracing::Subscriber for Fields {
        fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            tracing::span::Id::from_u64(1)
        }
        fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
        fn event(&self, event: &tracing::Event<'_>) {
            if event.metadata().target() == "relent_tower" {
                let mut fields = Vec::new();
                event.record(&mut Collect(&mut fields));
                self.0.lock().expect("lock").push(fields);
            }
        }
        fn enter(&self, _: &tracing::span::Id) {}
        fn exit(&self, _: &tracing::span::Id) {}
    }

    #[tokio::test(flavor = "current_thread")]
    async fn resends_carry_the_opentelemetry_resend_count() {
        let events = Arc::new(Mutex::new(Vec::new()));
        let _guard = tracing::subscriber::set_default(Fields(Arc::clone(&events)));
        let server = Server::start(|n| reply(if n < 2 { 503 } else { 200 })).await;
        let retry = RetryLayer::builder()
            .policy(quick())
            .build()
            .expect("layer");
        let mut svc = retry.layer(client(false));
        let resp = svc
            .ready()
            .await
            .expect("ready")
            .call(request(Method::GET, &server.url("/"), full("")))
            .await
            .expect("response");
        assert_eq!(resp.status(), StatusCode::OK);
        let ended: Vec<Option<String>> = events
            .lock()
            .expect("lock")
            .iter()
            .filter(|f| f.iter().any(|x| x == "message=attempt ended"))
            .map(|f| {
                f.iter()
                    .find(|x| x.starts_with("http.request.resend_count="))
                    .cloned()
            })
            .collect();
        assert_eq!(
            ended,
            vec![
                None,
                Some("http.request.resend_count=1".to_owned()),
                Some("http.request.resend_count=2".to_owned())
            ]
        );
    }
}
