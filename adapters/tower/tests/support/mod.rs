//! A scripted hyper server on 127.0.0.1 that speaks HTTP/1.1 and HTTP/2 (prior
//! knowledge) on one port, records what it received, and answers request `n` with
//! `script(n)`; plus the clients and bodies the tests send with.

#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use relent_tower::ReplayBody;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// How the server answers one request.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    /// Answer after the first body frame, without reading the rest.
    pub early: bool,
    /// Wait this long before answering.
    pub delay: Duration,
}

pub fn reply(status: u16) -> Reply {
    Reply {
        status,
        headers: Vec::new(),
        early: false,
        delay: Duration::ZERO,
    }
}

impl Reply {
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }
    pub fn early(mut self) -> Reply {
        self.early = true;
        self
    }
    pub fn delayed(mut self, d: Duration) -> Reply {
        self.delay = d;
        self
    }
}

/// What the server received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: Method,
    pub version: http::Version,
    pub headers: HeaderMap,
    pub body: Bytes,
}

pub struct Server {
    pub addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    pub async fn start(script: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let hits = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(script);
        let (h, s) = (Arc::clone(&hits), Arc::clone(&seen));
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (hits, seen, script) = (Arc::clone(&h), Arc::clone(&s), Arc::clone(&script));
                let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let (hits, seen, script) =
                        (Arc::clone(&hits), Arc::clone(&seen), Arc::clone(&script));
                    async move {
                        let n = hits.fetch_add(1, Ordering::SeqCst);
                        let r = script(n);
                        let (parts, mut body) = req.into_parts();
                        let data = if r.early {
                            match body.frame().await {
                                Some(Ok(f)) => f.into_data().unwrap_or_default(),
                                _ => Bytes::new(),
                            }
                        } else {
                            body.collect()
                                .await
                                .map(|c| c.to_bytes())
                                .unwrap_or_default()
                        };
                        seen.lock().expect("lock").push(Seen {
                            method: parts.method,
                            version: parts.version,
                            headers: parts.headers,
                            body: data,
                        });
                        if !r.delay.is_zero() {
                            tokio::time::sleep(r.delay).await;
                        }
                        let mut resp = Response::builder().status(r.status);
                        for (k, v) in &r.headers {
                            resp = resp.header(*k, v.as_str());
                        }
                        Ok::<_, Infallible>(resp.body(Full::new(Bytes::new())).expect("response"))
                    }
                });
                tokio::spawn(async move {
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Server {
            addr,
            hits,
            seen,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }
}

/// A hyper-util client whose requests carry `ReplayBody<B>`: HTTP/1.1, or HTTP/2 with
/// prior knowledge.
pub fn client<B>(http2: bool) -> Client<HttpConnector, ReplayBody<B>>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    Client::builder(TokioExecutor::new())
        .http2_only(http2)
        .build_http()
}

pub fn full(s: &'static str) -> Full<Bytes> {
    Full::new(Bytes::from_static(s.as_bytes()))
}

/// A streaming body fed through a channel; its size is unknown until it ends.
pub struct ChanBody(pub mpsc::Receiver<Bytes>);

pub fn channel_body() -> (mpsc::Sender<Bytes>, ChanBody) {
    let (tx, rx) = mpsc::channel(8);
    (tx, ChanBody(rx))
}

impl Body for ChanBody {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|c| c.map(|b| Ok(Frame::data(b))))
    }
}

/// A quick policy for loopback tests: 3 attempts, 10 ms constant backoff.
pub fn quick() -> relent::RetryPolicy {
    relent::RetryPolicy::default().with_backoff(
        relent::BackoffBuilder::constant(Duration::from_millis(10))
            .build()
            .expect("backoff"),
    )
}

pub fn request<B>(method: Method, url: &str, body: B) -> Request<B> {
    Request::builder()
        .method(method)
        .uri(url)
        .body(body)
        .expect("request")
}
