//! A kube-runtime `Controller` whose `error_policy` asks relent's per-key backoff when to
//! requeue, against a fake API server on 127.0.0.1.
//!
//! The server serves `list` and `watch` for ConfigMaps: three objects, and a watch that
//! stays open with no events. Reconcile succeeds for `default/ok`, fails three times and
//! then succeeds for `default/flaky` (and fails once more when it comes back, to show the
//! success reset its backoff), and always fails for `default/broken`. `error_policy` returns
//! `Action::requeue(limiter.when(key, now))` from client-go's `DefaultControllerRateLimiter`
//! (`relent::keyed::controller_default`: 5 ms × 2^failures per object, at most 1000 s, and 10
//! per second overall with a burst of 100); a success calls `forget`. The example prints each
//! object's requeue timeline and checks the decided delays (the times printed beside them are
//! the real ones and vary from run to run).
//!
//! Run: `cargo run --manifest-path adapters/tokio/examples-kube-runtime/Cargo.toml`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use relent::keyed::{ControllerRateLimiter, RateLimiter, controller_default};

/// How many failures of `default/broken` the example waits for before it stops.
const BROKEN_FAILURES: usize = 8;

type Body = BoxBody<Bytes, Infallible>;

/// The fake API server: a ConfigMap list, and a watch that never sends an event.
async fn api_server(req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let query = req.uri().query().unwrap_or("");
    if req.uri().path() != "/api/v1/configmaps" {
        let body = Full::new(Bytes::from_static(b"{}")).boxed();
        return Ok(Response::builder().status(404).body(body).unwrap());
    }
    if query
        .split('&')
        .any(|p| p == "watch=true" || p == "watch=1")
    {
        // Headers now, then nothing until the client hangs up.
        let pending = futures::stream::pending::<Result<Frame<Bytes>, Infallible>>();
        return Ok(Response::builder()
            .header("content-type", "application/json")
            .body(BodyExt::boxed(StreamBody::new(pending)))
            .unwrap());
    }
    let items: Vec<serde_json::Value> = ["ok", "flaky", "broken"]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            serde_json::json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": name,
                    "namespace": "default",
                    "resourceVersion": "7",
                    "uid": format!("00000000-0000-0000-0000-00000000000{i}"),
                },
                "data": { "key": "value" },
            })
        })
        .collect();
    let list = serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMapList",
        "metadata": { "resourceVersion": "7" },
        "items": items,
    });
    Ok(Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(list.to_string())).boxed())
        .unwrap())
}

#[derive(Debug)]
struct ReconcileFailed(&'static str);

impl std::fmt::Display for ReconcileFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for ReconcileFailed {}

/// One line of an object's timeline.
#[derive(Debug)]
enum Event {
    Failed { at: Duration, requeue: Duration },
    Succeeded { at: Duration },
}

struct Ctx {
    started: std::time::Instant,
    limiter: Mutex<ControllerRateLimiter<String>>,
    reconciles: Mutex<HashMap<String, u32>>,
    timeline: Mutex<HashMap<String, Vec<Event>>>,
    done: tokio::sync::Notify,
}

impl Ctx {
    /// relent takes the time as an argument: nanoseconds since the example started.
    fn now(&self) -> relent::Instant {
        relent::Instant::from_nanos(self.started.elapsed().as_nanos() as u64)
    }

    fn log(&self, key: &str, event: Event) {
        let mut timeline = self.timeline.lock().unwrap();
        let events = timeline.entry(key.to_owned()).or_default();
        events.push(event);
        let broken = timeline.get("default/broken").map_or(0, Vec::len);
        let flaky_done = timeline.get("default/flaky").is_some_and(|e| {
            e.iter()
                .filter(|e| matches!(e, Event::Succeeded { .. }))
                .count()
                == 2
        });
        if broken >= BROKEN_FAILURES && flaky_done {
            self.done.notify_one();
        }
    }
}

fn key_of(cm: &ConfigMap) -> String {
    format!("{}/{}", cm.namespace().unwrap_or_default(), cm.name_any())
}

async fn reconcile(cm: Arc<ConfigMap>, ctx: Arc<Ctx>) -> Result<Action, ReconcileFailed> {
    let key = key_of(&cm);
    let n = {
        let mut counts = ctx.reconciles.lock().unwrap();
        let n = counts.entry(key.clone()).or_insert(0);
        *n += 1;
        *n
    };
    let fails = match key.as_str() {
        "default/flaky" => n <= 3 || n == 5,
        "default/broken" => true,
        _ => false,
    };
    if fails {
        return Err(ReconcileFailed("the backend said no"));
    }
    // Success: this object's failures are forgotten, its next failure starts at 5 ms.
    RateLimiter::<str>::forget(&mut *ctx.limiter.lock().unwrap(), &key);
    ctx.log(
        &key,
        Event::Succeeded {
            at: ctx.started.elapsed(),
        },
    );
    if key == "default/flaky" && n == 4 {
        // Come back once more (as a watch event would), to fail again after the reset.
        return Ok(Action::requeue(Duration::from_millis(50)));
    }
    Ok(Action::await_change())
}

/// The README's `error_policy`: requeue after relent's per-object delay.
fn error_policy(cm: Arc<ConfigMap>, _err: &ReconcileFailed, ctx: Arc<Ctx>) -> Action {
    let key = key_of(&cm);
    let delay = ctx.limiter.lock().unwrap().when(key.as_str(), ctx.now());
    ctx.log(
        &key,
        Event::Failed {
            at: ctx.started.elapsed(),
            requeue: delay,
        },
    );
    Action::requeue(delay)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), hyper::service::service_fn(api_server))
                    .await;
            });
        }
    });

    let config = kube::Config::new(format!("http://{addr}").parse()?);
    let client = Client::try_from(config)?;
    let api: Api<ConfigMap> = Api::all(client);
    let ctx = Arc::new(Ctx {
        started: std::time::Instant::now(),
        // One limiter for the controller; the seed keys the hash of object names.
        limiter: Mutex::new(controller_default(1024, std::process::id().into())?),
        reconciles: Mutex::new(HashMap::new()),
        timeline: Mutex::new(HashMap::new()),
        done: tokio::sync::Notify::new(),
    });

    println!("kube-runtime Controller on a fake API server at http://{addr}");
    println!(
        "error_policy: relent::keyed::controller_default (client-go's DefaultControllerRateLimiter)\n"
    );
    let controller = Controller::new(api, watcher::Config::default())
        .run(reconcile, error_policy, Arc::clone(&ctx))
        .for_each(|_| async {});
    tokio::select! {
        _ = controller => return Err("the controller stopped early".into()),
        _ = ctx.done.notified() => {}
        _ = tokio::time::sleep(Duration::from_secs(60)) => return Err("timed out after 60 s".into()),
    }

    let timeline = ctx.timeline.lock().unwrap();
    let mut keys: Vec<&String> = timeline.keys().collect();
    keys.sort();
    for key in &keys {
        println!("{key}");
        for event in &timeline[*key] {
            match event {
                Event::Failed { at, requeue } => println!(
                    "  {:>7.1} ms  reconcile failed   -> requeue in {requeue:?}",
                    at.as_secs_f64() * 1e3
                ),
                Event::Succeeded { at } => println!(
                    "  {:>7.1} ms  reconcile ok       -> backoff forgotten",
                    at.as_secs_f64() * 1e3
                ),
            }
        }
    }

    // The decisions are deterministic: check them.
    let delays = |key: &str| -> Vec<u64> {
        timeline[key]
            .iter()
            .filter_map(|e| match e {
                Event::Failed { requeue, .. } => Some(requeue.as_millis() as u64),
                Event::Succeeded { .. } => None,
            })
            .collect()
    };
    let broken = delays("default/broken");
    assert_eq!(
        broken[..BROKEN_FAILURES],
        [5, 10, 20, 40, 80, 160, 320, 640]
    );
    assert_eq!(
        delays("default/flaky"),
        [5, 10, 20, 5],
        "a success resets the backoff"
    );
    assert!(delays("default/ok").is_empty());
    println!(
        "\nok: per-object delays 5 ms × 2^failures; the success of default/flaky reset it to 5 ms"
    );
    Ok(())
}
