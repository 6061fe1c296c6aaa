//! Shared parts of the two benchmarks: a loopback HTTP/1.1 server, the contenders
//! (every client is built with the same reqwest settings) and the report writer.
//!
//! See README.md for why this crate stands outside the workspace.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::thread::JoinHandle;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// What the loopback server answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `200 OK`, body `ok`, to every request: the happy path.
    Ok,
    /// `429 Too Many Requests` with `Retry-After: 3600` to every request (so every
    /// distinct path gets a hint once): the memory run.
    Throttle,
}

/// A hyper 1 HTTP/1.1 keep-alive server on 127.0.0.1, on its own thread and
/// single-threaded runtime (so it shares no allocator counters or scheduler
/// with the client under test). Stops when dropped.
pub struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Bind an ephemeral port on 127.0.0.1 and serve `mode` until dropped.
    pub fn start(mode: Mode) -> Server {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, mut stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("loopback-server".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("server runtime");
                rt.block_on(async move {
                    let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
                    addr_tx
                        .send(listener.local_addr().expect("addr"))
                        .expect("send addr");
                    loop {
                        tokio::select! {
                            _ = &mut stopped => break,
                            accepted = listener.accept() => {
                                let Ok((stream, _)) = accepted else { continue };
                                let _ = stream.set_nodelay(true);
                                tokio::spawn(async move {
                                    let service = service_fn(move |req| answer(mode, req));
                                    let _ = http1::Builder::new()
                                        .keep_alive(true)
                                        .serve_connection(TokioIo::new(stream), service)
                                        .await;
                                });
                            }
                        }
                    }
                });
            })
            .expect("server thread");
        let addr = addr_rx.recv().expect("server address");
        Server {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn answer(
    mode: Mode,
    _req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let response = match mode {
        Mode::Ok => Response::new(Full::new(Bytes::from_static(b"ok"))),
        Mode::Throttle => {
            let mut r = Response::new(Full::new(Bytes::from_static(b"slow down")));
            *r.status_mut() = hyper::StatusCode::TOO_MANY_REQUESTS;
            r.headers_mut().insert(
                hyper::header::RETRY_AFTER,
                hyper::header::HeaderValue::from_static("3600"),
            );
            r
        }
    };
    Ok(response)
}

/// One client under test. Every variant is built on a reqwest client with the
/// same settings (`no_proxy()`, everything else default), so the only
/// difference is the retry layer.
pub enum Contender {
    /// reqwest 0.13, no layer.
    Bare013(reqwest::Client),
    /// reqwest 0.13, no layer, every request with a 10 s timeout of its own
    /// (`RequestBuilder::timeout`): what reqwest's per-request timer costs, the timer
    /// relent-reqwest's default policy has reqwest arm for each attempt.
    Bare013Timeout(reqwest::Client),
    /// reqwest-middleware 0.5 with no layer: the cost of the middleware stack itself.
    Middleware05(reqwest_middleware::ClientWithMiddleware),
    /// relent-reqwest's `RetryMiddleware` in a reqwest-middleware 0.5 stack (and a
    /// handle on the same retrier, to read its table).
    RelentMiddleware(
        reqwest_middleware::ClientWithMiddleware,
        relent_reqwest::RetryEngine,
    ),
    /// relent-reqwest's `RetryClient` (no reqwest-middleware).
    RelentClient(relent_reqwest::RetryClient),
    /// reqwest-retry 0.9's `RetryTransientMiddleware` on reqwest 0.13.
    ReqwestRetry09(reqwest_middleware::ClientWithMiddleware),
    /// reqwest 0.12, no layer.
    Bare012(reqwest012::Client),
    /// reqwest-retry 0.7 stacked over reqwest-retry-after 0.2.1 on reqwest 0.12.
    RetryAndRetryAfter(reqwest_middleware04::ClientWithMiddleware),
    /// reqwest-retry-after 0.2.1 alone on reqwest 0.12 (the memory run: it records and returns).
    RetryAfter(reqwest_middleware04::ClientWithMiddleware),
}

/// A reqwest 0.13 client with the settings every contender shares.
pub fn reqwest013() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("reqwest 0.13")
}

/// A reqwest 0.12 client with the settings every contender shares.
pub fn reqwest012() -> reqwest012::Client {
    reqwest012::Client::builder()
        .no_proxy()
        .build()
        .expect("reqwest 0.12")
}

/// How relent keys its Retry-After table in a run.
pub use relent_reqwest::KeyBy;

/// A relent retrier with the defaults except the table key.
pub fn retrier(key_by: KeyBy) -> relent_reqwest::RetryEngine {
    relent_reqwest::RetryEngine::builder()
        .key_by(key_by)
        .build()
        .expect("retrier")
}

/// A relent retrier like [`retrier`] but with the default policy's time limits removed
/// (no overall deadline, no per-attempt timeout), configured like the reqwest-retry
/// contenders, which set none: the same work per request, without a timer.
pub fn untimed_retrier(key_by: KeyBy) -> relent_reqwest::RetryEngine {
    relent_reqwest::RetryEngine::builder()
        .policy(relent_reqwest::RetryPolicy::default().without_time_limits())
        .key_by(key_by)
        .build()
        .expect("retrier")
}

impl Contender {
    /// Build the contender called `name` (one of [`Contender::NAMES`]); relent keys its table by `key_by`.
    pub fn build(name: &str, key_by: KeyBy) -> Contender {
        match name {
            "bare-reqwest-0.13" => Contender::Bare013(reqwest013()),
            "bare-reqwest-0.13+timeout" => Contender::Bare013Timeout(reqwest013()),
            "reqwest-middleware-0.5" => Contender::Middleware05(
                reqwest_middleware::ClientBuilder::new(reqwest013()).build(),
            ),
            "relent-middleware" => {
                let retrier = retrier(key_by);
                Contender::RelentMiddleware(
                    reqwest_middleware::ClientBuilder::new(reqwest013())
                        .with(retrier.middleware())
                        .build(),
                    retrier,
                )
            }
            "relent-client" => Contender::RelentClient(relent_reqwest::RetryClient::new(
                reqwest013(),
                retrier(key_by),
            )),
            "relent-middleware-untimed" => {
                let retrier = untimed_retrier(key_by);
                Contender::RelentMiddleware(
                    reqwest_middleware::ClientBuilder::new(reqwest013())
                        .with(retrier.middleware())
                        .build(),
                    retrier,
                )
            }
            "relent-client-untimed" => Contender::RelentClient(relent_reqwest::RetryClient::new(
                reqwest013(),
                untimed_retrier(key_by),
            )),
            "reqwest-retry-0.9" => {
                let policy = reqwest_retry::policies::ExponentialBackoff::builder()
                    .build_with_max_retries(3);
                Contender::ReqwestRetry09(
                    reqwest_middleware::ClientBuilder::new(reqwest013())
                        .with(reqwest_retry::RetryTransientMiddleware::new_with_policy(
                            policy,
                        ))
                        .build(),
                )
            }
            "bare-reqwest-0.12" => Contender::Bare012(reqwest012()),
            "reqwest-retry-0.7+reqwest-retry-after" => {
                let policy = reqwest_retry07::policies::ExponentialBackoff::builder()
                    .build_with_max_retries(3);
                Contender::RetryAndRetryAfter(
                    reqwest_middleware04::ClientBuilder::new(reqwest012())
                        .with(reqwest_retry07::RetryTransientMiddleware::new_with_policy(
                            policy,
                        ))
                        .with(reqwest_retry_after::RetryAfterMiddleware::new())
                        .build(),
                )
            }
            "reqwest-retry-after" => Contender::RetryAfter(
                reqwest_middleware04::ClientBuilder::new(reqwest012())
                    .with(reqwest_retry_after::RetryAfterMiddleware::new())
                    .build(),
            ),
            other => panic!("unknown contender {other}"),
        }
    }

    /// GET `url`, read the whole body (so the connection goes back to the pool),
    /// and return the status code.
    pub async fn get(&self, url: &str) -> u16 {
        match self {
            Contender::Bare013(c) => read013(c.get(url).send().await).await,
            Contender::Bare013Timeout(c) => {
                let request = c.get(url).timeout(std::time::Duration::from_secs(10));
                read013(request.send().await).await
            }
            Contender::Middleware05(c)
            | Contender::RelentMiddleware(c, _)
            | Contender::ReqwestRetry09(c) => read013m(c.get(url).send().await).await,
            Contender::RelentClient(c) => {
                let request = c.client().get(url).build().expect("request");
                read013(c.execute(request).await).await
            }
            Contender::Bare012(c) => read012(c.get(url).send().await).await,
            Contender::RetryAndRetryAfter(c) | Contender::RetryAfter(c) => {
                read012m(c.get(url).send().await).await
            }
        }
    }

    /// The relent table's (length, capacity, evictions), if this contender has one.
    pub fn relent_table(&self) -> Option<(usize, usize, u64)> {
        let table = match self {
            Contender::RelentClient(c) => c.retrier().table(),
            Contender::RelentMiddleware(_, r) => r.table(),
            _ => return None,
        };
        Some((table.len(), table.capacity(), table.evictions()))
    }
}

async fn read013<E: std::fmt::Debug>(r: Result<reqwest::Response, E>) -> u16 {
    let response = r.expect("response");
    let status = response.status().as_u16();
    let body = response.bytes().await.expect("body");
    std::hint::black_box(body);
    status
}

async fn read013m(r: reqwest_middleware::Result<reqwest::Response>) -> u16 {
    read013(r).await
}

async fn read012<E: std::fmt::Debug>(r: Result<reqwest012::Response, E>) -> u16 {
    let response = r.expect("response");
    let status = response.status().as_u16();
    let body = response.bytes().await.expect("body");
    std::hint::black_box(body);
    status
}

async fn read012m(r: reqwest_middleware04::Result<reqwest012::Response>) -> u16 {
    read012(r).await
}

/// A single-threaded tokio runtime for the client side.
pub fn client_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime")
}

/// `RELENT_HTTP_QUICK=1` (or `--quick` on the command line): a shorter run.
pub fn quick() -> bool {
    std::env::var_os("RELENT_HTTP_QUICK").is_some_and(|v| !v.is_empty() && v != "0")
        || std::env::args().any(|a| a == "--quick")
}

/// The workspace root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("..")
}

/// Write a Markdown fragment to `<repo root>/target/bench-report/<file>` and print it.
pub fn write_fragment(file: &str, markdown: &str) {
    let dir = repo_root().join("target").join("bench-report");
    std::fs::create_dir_all(&dir).expect("create target/bench-report");
    let path = dir.join(file);
    std::fs::write(&path, markdown).expect("write fragment");
    println!("{markdown}");
    let shown = path.canonicalize().unwrap_or(path);
    println!("(written to {})", shown.display());
}

/// A count with thousands separators: `1,000,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
