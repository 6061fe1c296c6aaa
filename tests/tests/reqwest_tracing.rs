//! The `tracing` feature of relent-reqwest: one event per attempt, wait and give-up.
//!
//! A minimal subscriber (no tracing-subscriber dependency) collects the events of target
//! `relent_reqwest` while one retried request runs on a single-threaded runtime.

mod reqwest_support;

use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use relent_tests::server::{Script, ScriptedServer, status};
use reqwest_support::{quick, retrier, through};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<(Level, String)>>>);

struct Message<'a>(&'a mut String);

impl Visit for Message<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.push_str(&format!("{}={value:?} ", field.name()));
    }
}

impl Subscriber for Collect {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == "relent_reqwest"
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut line = String::new();
        event.record(&mut Message(&mut line));
        self.0
            .lock()
            .expect("lock")
            .push((*event.metadata().level(), line));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn one_event_per_attempt_wait_and_give_up() {
    let collect = Collect::default();
    let _guard = tracing::subscriber::set_default(collect.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let server = ScriptedServer::start(Script::new().otherwise(status(503)));
        let client = through(&retrier(quick()));
        let response = client.get(server.url("/")).send().await.expect("response");
        assert_eq!(response.status(), 503);
    });
    let events = collect.0.lock().expect("lock").clone();
    let levels: Vec<Level> = events.iter().map(|(l, _)| *l).collect();
    // Three attempts, two waits between them, one give-up.
    assert_eq!(
        levels,
        [
            Level::DEBUG,
            Level::INFO,
            Level::DEBUG,
            Level::INFO,
            Level::DEBUG,
            Level::WARN
        ],
        "{events:#?}"
    );
    assert!(events[0].1.contains("attempt=1"), "{events:#?}");
    // OpenTelemetry's resend count: 0 for the first attempt, then 1, 2.
    assert!(
        events[0].1.contains("http.request.resend_count=0"),
        "{events:#?}"
    );
    assert!(
        events[2].1.contains("http.request.resend_count=1"),
        "{events:#?}"
    );
    assert!(
        events[4].1.contains("http.request.resend_count=2"),
        "{events:#?}"
    );
    assert!(events[0].1.contains("status 503"), "{events:#?}");
    assert!(events[1].1.contains("backoff"), "{events:#?}");
    assert!(
        events[5].1.contains("maximum attempts reached"),
        "{events:#?}"
    );
}
