//! A tonic client over the retry layer against a tonic server, both on 127.0.0.1.
//! No protoc: the messages are raw bytes through a hand-written codec.

mod support;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use http::uri::PathAndQuery;
use relent::retry::WaitReason;
use relent_tower::{Attempts, Event, RetryLayer};
use tokio::net::TcpListener;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::{Code, Status};
use tower::Layer;

/// Messages are their bytes.
#[derive(Clone, Copy, Debug, Default)]
struct BytesCodec;

impl Codec for BytesCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = BytesCodec;
    type Decoder = BytesCodec;
    fn encoder(&mut self) -> Self {
        *self
    }
    fn decoder(&mut self) -> Self {
        *self
    }
}

impl Encoder for BytesCodec {
    type Item = Bytes;
    type Error = Status;
    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for BytesCodec {
    type Item = Bytes;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

type Script = Arc<dyn Fn(usize) -> Option<Status> + Send + Sync>;

/// A unary echo service that fails call `n` with `script(n)`, and records each call's
/// `grpc-previous-rpc-attempts`.
#[derive(Clone)]
struct Echo {
    calls: Arc<AtomicUsize>,
    previous: Arc<Mutex<Vec<Option<String>>>>,
    script: Script,
}

struct Handler(Option<Status>);

impl tonic::server::UnaryService<Bytes> for Handler {
    type Response = Bytes;
    type Future = std::future::Ready<Result<tonic::Response<Bytes>, Status>>;
    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        std::future::ready(match self.0.take() {
            Some(status) => Err(status),
            None => Ok(tonic::Response::new(request.into_inner())),
        })
    }
}

impl tower::Service<http::Request<tonic::body::Body>> for Echo {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let previous = req
            .headers()
            .get("grpc-previous-rpc-attempts")
            .map(|v| v.to_str().unwrap_or("?").to_owned());
        self.previous.lock().expect("lock").push(previous);
        let fail = (self.script)(self.calls.fetch_add(1, Ordering::SeqCst));
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(BytesCodec);
            Ok(grpc.unary(Handler(fail), req).await)
        })
    }
}

async fn serve(script: impl Fn(usize) -> Option<Status> + Send + Sync + 'static) -> (String, Echo) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    let echo = Echo {
        calls: Arc::new(AtomicUsize::new(0)),
        previous: Arc::new(Mutex::new(Vec::new())),
        script: Arc::new(script),
    };
    let svc = echo.clone();
    tokio::spawn(async move {
        let incoming = tonic::transport::server::TcpIncoming::from(listener);
        let _ = tonic::transport::Server::builder()
            .serve_with_incoming(svc, incoming)
            .await;
    });
    (origin, echo)
}

fn pushback(code: Code, ms: &str) -> Status {
    let mut meta = tonic::metadata::MetadataMap::new();
    meta.insert("grpc-retry-pushback-ms", ms.parse().expect("value"));
    Status::with_metadata(code, "slow down", meta)
}

async fn call(
    layer: &RetryLayer,
    origin: &str,
    message: &'static str,
) -> Result<tonic::Response<Bytes>, Status> {
    let http = support::client::<tonic::body::Body>(true);
    let mut grpc =
        tonic::client::Grpc::with_origin(layer.layer(http), origin.parse().expect("uri"));
    grpc.ready()
        .await
        .map_err(|e| Status::unknown(e.to_string()))?;
    grpc.unary(
        tonic::Request::new(Bytes::from_static(message.as_bytes())),
        PathAndQuery::from_static("/relent.test.Echo/Say"),
        BytesCodec,
    )
    .await
}

fn waits(layer_hook: &Arc<Mutex<Vec<WaitReason>>>) -> Vec<WaitReason> {
    layer_hook.lock().expect("lock").clone()
}

fn layer_with_hook() -> (RetryLayer, Arc<Mutex<Vec<WaitReason>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    let layer = RetryLayer::builder()
        .policy(support::quick())
        .on_event(move |_, n| {
            if let Event::Wait { reason, .. } = n {
                s.lock().expect("lock").push(*reason);
            }
        })
        .build()
        .expect("layer");
    (layer, seen)
}

#[tokio::test]
async fn unavailable_then_ok() {
    let (origin, echo) = serve(|n| (n == 0).then(|| Status::unavailable("warming up"))).await;
    let (layer, _) = layer_with_hook();
    let resp = call(&layer, &origin, "hello").await.expect("retried to OK");
    assert_eq!(resp.get_ref(), &Bytes::from_static(b"hello"));
    assert_eq!(resp.extensions().get::<Attempts>(), Some(&Attempts(2)));
    assert_eq!(echo.calls.load(Ordering::SeqCst), 2);
    // gRFC A6: every retry says how many attempts came before it.
    assert_eq!(
        *echo.previous.lock().expect("lock"),
        vec![None, Some("1".to_owned())]
    );
}

#[tokio::test]
async fn resource_exhausted_honours_the_pushback() {
    let (origin, echo) = serve(|n| match n {
        0 => Some(pushback(Code::ResourceExhausted, "300")),
        _ => None,
    })
    .await;
    let (layer, hook) = layer_with_hook();
    let resp = call(&layer, &origin, "again").await.expect("retried to OK");
    assert_eq!(resp.get_ref(), &Bytes::from_static(b"again"));
    assert_eq!(echo.calls.load(Ordering::SeqCst), 2);
    assert_eq!(
        waits(&hook),
        vec![WaitReason::ServerHint(Duration::from_millis(300))]
    );
}

#[tokio::test]
async fn a_negative_pushback_means_no_retry() {
    let (origin, echo) = serve(|_| Some(pushback(Code::Unavailable, "-1"))).await;
    let (layer, hook) = layer_with_hook();
    let status = call(&layer, &origin, "stop")
        .await
        .expect_err("the server said stop");
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(echo.calls.load(Ordering::SeqCst), 1);
    assert!(waits(&hook).is_empty());
}

#[tokio::test]
async fn a_final_status_is_not_retried() {
    let (origin, echo) = serve(|_| Some(Status::not_found("no such thing"))).await;
    let (layer, _) = layer_with_hook();
    let status = call(&layer, &origin, "x").await.expect_err("final");
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(echo.calls.load(Ordering::SeqCst), 1);
}
