//! `kube::Client` over a tower stack with relent-tower's retry layer, against a fake API
//! server on 127.0.0.1: a create answered 503 that is not sent twice, a list that meets a
//! 429 with `Retry-After` and a 503, and a watch that reconnects with kube's watcher
//! backoff numbers and is cut by an idle timeout of the server's `timeoutSeconds` plus a
//! margin.
//!
//! The stack, outermost first: kube's base-URI layer (requests become absolute, so the
//! retry layer keys its Retry-After table by origin), relent-tower's `RetryLayer` with
//! `RetryPolicy::kube_client()` (kube-rs's own client policy: 429, 503 and 504, 500 ms
//! doubling), an idle timeout on response bodies, and a hyper-util client.
//!
//! The watcher (`kube::runtime::watcher`) reconnects after an error with
//! `relent::backoff::presets::kube_watcher()` (kube-rs's `DefaultBackoff` numbers: 800 ms
//! doubling to 30 s, jittered, reset after 120 s quiet) behind kube-runtime's `Backoff`
//! trait. The watch asks the server for `timeoutSeconds=1`, and the idle limit on its body
//! is `relent::timeout::stream_timeouts` of that plus kube's 5 s margin.
//!
//! Run: `cargo run --manifest-path adapters/tower/examples-kube/Cargo.toml`.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use http_body::{Body, Frame};
use http_body_util::Full;
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::{TokioExecutor, TokioIo};
use k8s_openapi::api::core::v1::Pod;
use kube::client::ConfigExt;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher;
use kube::{Api, ResourceExt};
use relent::backoff::presets::kube_watcher;
use relent::timeout::{KUBE_WATCH_IDLE_MARGIN, ServerTimeout, Timeouts, stream_timeouts};
use relent_tower::{Event, ReplayBody, RetryLayer, RetryPolicy};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type ServerBody = BoxBody<Bytes, Infallible>;

/// The `timeoutSeconds` the watch asks for.
const WATCH_TIMEOUT_SECS: u32 = 1;

// ---------------------------------------------------------------------------------------
// The fake API server.

#[derive(Default)]
struct ApiState {
    lists: AtomicUsize,
    watches: AtomicUsize,
    creates: AtomicUsize,
    /// The `timeoutSeconds` each watch asked for.
    watch_timeouts: Mutex<Vec<Option<String>>>,
}

fn pod_json(name: &str, rv: u32) -> String {
    format!(
        r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{name}","namespace":"default","resourceVersion":"{rv}"}}}}"#
    )
}

fn json(status: u16, body: String) -> Response<ServerBody> {
    let mut r = Response::new(BoxBody::new(Full::new(Bytes::from(body))));
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or_default();
    r.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    r
}

/// A body that sends one frame, then nothing, ever: a watch gone quiet.
struct OneThenSilence(Option<Bytes>);

impl Body for OneThenSilence {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.0.take() {
            Some(b) => Poll::Ready(Some(Ok(Frame::data(b)))),
            None => Poll::Pending,
        }
    }
}

async fn api(
    state: Arc<ApiState>,
    req: Request<Incoming>,
) -> Result<Response<ServerBody>, Infallible> {
    let query = req.uri().query().unwrap_or("");
    if req.uri().path() != "/api/v1/namespaces/default/pods" {
        return Ok(json(
            404,
            r#"{"kind":"Status","apiVersion":"v1","status":"Failure","code":404}"#.into(),
        ));
    }
    if req.method() == http::Method::POST {
        // A create the server may have persisted before failing: never sent twice.
        state.creates.fetch_add(1, Ordering::SeqCst);
        return Ok(json(
            503,
            r#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"ServiceUnavailable","code":503}"#.into(),
        ));
    }
    if !query.contains("watch=true") {
        // The list: rate limited, then unavailable, then served.
        return Ok(match state.lists.fetch_add(1, Ordering::SeqCst) {
            0 => {
                let mut r = json(429, r#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"TooManyRequests","code":429}"#.into());
                r.headers_mut().insert("retry-after", http::HeaderValue::from_static("1"));
                r
            }
            1 => json(503, r#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"ServiceUnavailable","code":503}"#.into()),
            _ => json(
                200,
                format!(
                    r#"{{"apiVersion":"v1","kind":"PodList","metadata":{{"resourceVersion":"10"}},"items":[{}]}}"#,
                    pod_json("a", 10)
                ),
            ),
        });
    }
    let timeout = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("timeoutSeconds="))
        .map(str::to_owned);
    state
        .watch_timeouts
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(timeout);
    let event = |name: &str, rv| {
        Bytes::from(format!(r#"{{"type":"ADDED","object":{}}}"#, pod_json(name, rv)) + "\n")
    };
    Ok(match state.watches.fetch_add(1, Ordering::SeqCst) {
        // One event, then the server ends the watch (as at its timeoutSeconds).
        0 => {
            let mut r = Response::new(BoxBody::new(Full::new(event("b", 11))));
            r.headers_mut().insert("content-type", http::HeaderValue::from_static("application/json"));
            r
        }
        // A final error: the retry layer returns it, the watcher backs off.
        1 => json(403, r#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"watch forbidden","reason":"Forbidden","code":403}"#.into()),
        // One event, then silence: the idle timeout cuts it.
        _ => {
            let mut r = Response::new(BoxBody::new(OneThenSilence(Some(event("c", 12)))));
            r.headers_mut().insert("content-type", http::HeaderValue::from_static("application/json"));
            r
        }
    })
}

async fn start_server(state: Arc<ApiState>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let state = Arc::clone(&state);
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| api(Arc::clone(&state), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

// ---------------------------------------------------------------------------------------
// The client side.

/// How many response bodies the idle limit cut.
static IDLE_CUTS: AtomicUsize = AtomicUsize::new(0);

/// The response body gave nothing for `idle`.
#[derive(Debug)]
struct IdleTimeout(Duration);

impl std::fmt::Display for IdleTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no data for {:?}", self.0)
    }
}

impl std::error::Error for IdleTimeout {}

pin_project_lite::pin_project! {
    /// A response body that fails after `idle` without a frame (a watch's idle limit).
    struct IdleBody<B> {
        #[pin]
        inner: B,
        #[pin]
        timer: tokio::time::Sleep,
        idle: Duration,
    }
}

impl<B> Body for IdleBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        if let Poll::Ready(frame) = this.inner.poll_frame(cx) {
            let idle = *this.idle;
            this.timer
                .as_mut()
                .reset(tokio::time::Instant::now() + idle);
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        match this.timer.poll(cx) {
            Poll::Ready(()) => {
                IDLE_CUTS.fetch_add(1, Ordering::SeqCst);
                Poll::Ready(Some(Err(Box::new(IdleTimeout(*this.idle)))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
}

/// relent's backoff behind kube-runtime's `Backoff` trait, recording each delay it gives.
struct RelentBackoff {
    inner: relent::backoff::Backoff,
    given: Arc<Mutex<Vec<Duration>>>,
}

impl Iterator for RelentBackoff {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        let d = self.inner.next_delay(relent_tokio::clock::now());
        if let Some(d) = d {
            self.given.lock().unwrap_or_else(|p| p.into_inner()).push(d);
        }
        d
    }
}

impl kube::runtime::utils::Backoff for RelentBackoff {
    fn reset(&mut self) {
        self.inner.reset();
    }
}

const SEED: u64 = 7;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let state = Arc::new(ApiState::default());
    let addr = start_server(Arc::clone(&state)).await;
    let config = kube::Config::new(format!("http://{addr}").parse()?);

    // The idle limit of a watch body: the server's timeoutSeconds plus kube's margin.
    let server_timeout = ServerTimeout::from_secs(WATCH_TIMEOUT_SECS).ok_or("zero timeout")?;
    let limits = stream_timeouts(
        &Timeouts::KUBE_CLIENT.resolve(),
        Some(server_timeout),
        KUBE_WATCH_IDLE_MARGIN,
    );
    let idle = limits.idle().ok_or("no idle limit")?;
    assert_eq!(
        idle,
        Duration::from_secs(u64::from(WATCH_TIMEOUT_SECS)) + KUBE_WATCH_IDLE_MARGIN
    );

    let waits = Arc::new(Mutex::new(Vec::new()));
    let w = Arc::clone(&waits);
    let retry = RetryLayer::builder()
        .policy(RetryPolicy::kube_client())
        .on_event(move |key, n| {
            if let Event::Wait { delay, reason, .. } = n {
                println!("  retry layer: {key}: waiting {delay:?} ({reason})");
                w.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((*delay, *reason));
            }
        })
        .build()?;
    let http =
        HyperClient::builder(TokioExecutor::new()).build_http::<ReplayBody<kube::client::Body>>();
    let service = tower::ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .layer(retry)
        .map_response(move |r: Response<Incoming>| {
            r.map(|body| IdleBody {
                inner: body,
                timer: tokio::time::sleep(idle),
                idle,
            })
        })
        .service(http);
    let client = kube::Client::new(service, "default");

    let given = Arc::new(Mutex::new(Vec::new()));
    let backoff = RelentBackoff {
        inner: relent::backoff::Backoff::new(kube_watcher(), SEED),
        given: Arc::clone(&given),
    };
    let pods: Api<Pod> = Api::default_namespaced(client);

    // A create (POST) answered 503 is returned, not repeated: the server may have
    // persisted it (kube-rs#2082: kube's own RetryPolicy decides from the status alone).
    let mut pod = Pod::default();
    pod.metadata.name = Some("new".into());
    let created = pods.create(&Default::default(), &pod).await;
    println!(
        "create: {}",
        created
            .as_ref()
            .map(|_| "created".to_owned())
            .unwrap_or_else(|e| e.to_string())
    );
    assert!(created.is_err());
    assert_eq!(
        state.creates.load(Ordering::SeqCst),
        1,
        "the POST was sent once"
    );
    let mut stream = watcher(pods, watcher::Config::default().timeout(WATCH_TIMEOUT_SECS))
        .backoff(backoff)
        .boxed();

    let (mut seen, mut errors) = (Vec::new(), Vec::new());
    let started = tokio::time::Instant::now();
    while errors.len() < 2 {
        let Some(item) = tokio::time::timeout(Duration::from_secs(60), stream.next()).await? else {
            break;
        };
        match item {
            Ok(watcher::Event::InitApply(p) | watcher::Event::Apply(p)) => {
                println!("  watcher: {} at {:?}", p.name_any(), started.elapsed());
                seen.push(p.name_any());
            }
            Ok(_) => {}
            Err(e) => {
                println!("  watcher error at {:?}: {e}", started.elapsed());
                errors.push(e.to_string());
            }
        }
    }

    // The list met a 429 with Retry-After: 1 and a 503: the layer waited the hint, then
    // kube's first backoff step (500 ms; the hint took the place of a backoff step, so
    // the schedule had not advanced), and the third list succeeded.
    let waits = waits.lock().unwrap_or_else(|p| p.into_inner()).clone();
    println!(
        "list requests: {}, retry-layer waits: {waits:?}",
        state.lists.load(Ordering::SeqCst)
    );
    assert_eq!(state.lists.load(Ordering::SeqCst), 3);
    assert_eq!(waits.first().map(|w| w.0), Some(Duration::from_secs(1)));
    assert!(matches!(
        waits.first().map(|w| w.1),
        Some(relent::retry::WaitReason::ServerHint(_))
    ));
    assert_eq!(waits.get(1).map(|w| w.0), Some(Duration::from_millis(500)));

    // The watch: b, then a 403 the watcher backed off from, then c, then the idle cut.
    assert_eq!(seen, ["a", "b", "c"]);
    assert!(errors[0].contains("forbidden"), "{errors:?}");
    assert_eq!(
        IDLE_CUTS.load(Ordering::SeqCst),
        1,
        "the quiet watch was cut once"
    );
    let timeouts = state
        .watch_timeouts
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    assert!(
        timeouts.iter().all(|t| t.as_deref() == Some("1")),
        "{timeouts:?}"
    );

    // The watcher's delays are kube's numbers through relent: a twin walk with the same
    // seed, reset after each success as kube-runtime's StreamBackoff resets, gives them.
    let given = given.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut twin = relent::backoff::Backoff::new(kube_watcher(), SEED);
    let expected: Vec<Duration> = given
        .iter()
        .map(|_| {
            twin.reset();
            twin.next_delay(relent::Instant::ZERO).unwrap_or_default()
        })
        .collect();
    println!("watcher backoff delays: {given:?} (kube: 800 ms doubling, equal jitter)");
    assert_eq!(given, expected);
    assert!(
        given
            .iter()
            .all(|d| *d >= Duration::from_millis(400) && *d <= Duration::from_millis(800))
    );
    println!(
        "ok: list retried past 429 and 503; watch reconnected with kube's backoff; idle limit {idle:?}"
    );
    Ok(())
}
