//! A scripted HTTP/1.1 server on `127.0.0.1`, for tests and demos.
//!
//! Retry code is only believable when it is run against a server that misbehaves on
//! purpose: one that answers 503, asks for a pause with `Retry-After`, resets the TCP
//! connection after the request went out, never answers, or trickles its body. This
//! module is that server. A [`Script`] is a queue of [`Step`]s; every request that
//! arrives consumes one step, and every request is recorded ([`Recorded`]) so a test can
//! assert what the client really sent and when.
//!
//! Design:
//! - Every TCP connection carries exactly one request: responses go out with
//!   `connection: close` (hyper's `keep_alive(false)`), so "one step per request" is also
//!   "one step per connection", and a [`Step::Reset`] can reset exactly the connection
//!   that carried its request.
//! - The step is chosen once the request head *and body* were received, so a reset, a
//!   hang or a close always happens after the client has sent everything.
//! - [`Step::Reset`] is a real TCP RST: the socket gets `SO_LINGER` = 0 and is closed,
//!   so the client reads "connection reset by peer", not a clean end of stream. Use
//!   [`Step::Close`] for the clean (FIN) variant.
//! - [`Step::Raw`] takes the socket back from hyper and writes bytes as given, for
//!   responses no HTTP library would write (a status `000`, a body cut by a reset).
//! - Everything runs on spawned tokio tasks owned by the [`ScriptedServer`]; dropping it
//!   aborts them, [`ScriptedServer::shutdown`] stops them and waits until every socket
//!   is closed. Nothing outlives the server.
//! - The shared state sits behind one `std::sync::Mutex` that is never held across an
//!   `.await`.
//!
//! This file depends only on `tokio`, `hyper` (server, http1), `hyper-util` (tokio),
//! `http-body-util`, `bytes` and `http`, and refers to nothing else in its crate, so
//! another crate can include it with `#[path = ".../tests/src/server.rs"] mod server;`
//! (the reqwest adapter's demo does). Put `#[allow(dead_code)]` on that `mod` line if
//! the including crate uses only part of the API.
//!
//! ```
//! use std::time::Duration;
//! use relent_tests::server::{ScriptedServer, Script, status, reset, ok};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let server = ScriptedServer::start(
//!     Script::new()
//!         .then(status(503).header("retry-after", "1"))
//!         .then(reset())
//!         .then(ok("done")),
//! );
//! let url = server.url("/thing");
//! assert!(url.starts_with("http://127.0.0.1:"));
//! assert_eq!(server.hits(), 0);
//! server.shutdown().await;
//! # }
//! ```

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdTcpListener};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, Sleep};

/// Listen backlog. Large enough that a burst of a few hundred concurrent connects is
/// queued by the kernel instead of dropped (a dropped SYN costs the client a 1 s
/// retransmission and would make concurrency tests slow and flaky).
const BACKLOG: u32 = 1024;

/// How long the server waits for a request head before giving up on a connection
/// (hyper's own default is 30 s; a test server should not keep idle sockets longer).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// What the server does with one request.
///
/// Steps are plain data (`Clone`, `PartialEq`), so a test can compare
/// [`Recorded::step`] with the step it scripted. Build them with the helper functions
/// ([`status`], [`ok`], [`reset`], [`close`], [`hang`], [`trickle`], [`delay`], [`raw`],
/// [`raw_then_reset`]) and the
/// builder methods ([`Step::header`], [`Step::body`], [`Step::delayed`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Answer at once with this status, these headers (duplicates allowed, in order) and
    /// this body (`content-length` is set from it), then close the connection.
    Respond {
        /// The status line's code.
        status: StatusCode,
        /// Response headers, sent in insertion order; the same name may appear twice.
        headers: HeaderMap,
        /// The whole body.
        body: Bytes,
    },
    /// Answer with this status and headers at once, then send `chunks` copies of `chunk`,
    /// each one preceded by a pause of `interval` (so the whole body takes
    /// `chunks × interval`). `content-length` is announced up front
    /// (`chunk.len() × chunks`), so a client that stops early sees a truncated body.
    /// Models a slow or stalled stream, for read/idle-timeout tests.
    Trickle {
        /// The status line's code.
        status: StatusCode,
        /// Response headers, sent before the first chunk.
        headers: HeaderMap,
        /// The bytes sent at every tick.
        chunk: Bytes,
        /// The pause before each chunk.
        interval: Duration,
        /// How many chunks are sent in all.
        chunks: u32,
    },
    /// Reset the TCP connection (`SO_LINGER` = 0, then close: the kernel sends RST)
    /// after the whole request was received and recorded. The client sees
    /// "connection reset by peer" after its request reached the server, which is the
    /// case where a non-idempotent request must not be retried.
    Reset,
    /// Close the TCP connection cleanly (FIN) without answering, after the request
    /// was received. The client sees the connection closed before a response
    /// (hyper's "incomplete message").
    Close,
    /// Receive the request, then never answer and keep the connection open (until the
    /// client gives up or the server shuts down). For timeout tests.
    Hang,
    /// Wait this long after the request was received, then perform the inner step.
    Delay(Duration, Box<Step>),
    /// Write these bytes to the socket exactly as given, bypassing hyper's response
    /// writer, wait `pause`, then end the connection as `end` says. For what an HTTP
    /// library refuses to send: a status line `HTTP/1.1 000`, a response cut off by a
    /// reset after its headers and part of its body, malformed framing.
    Raw {
        /// The bytes, written in one go (status line, headers, any body, as-is).
        bytes: Bytes,
        /// The pause between the write and the end of the connection.
        pause: Duration,
        /// How the connection ends after the pause.
        end: RawEnd,
    },
}

/// How a [`Step::Raw`] ends its connection once its bytes are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawEnd {
    /// A clean close (FIN): the client sees the end of the stream.
    Close,
    /// A reset (RST, `SO_LINGER` = 0): the client sees "connection reset by peer",
    /// whatever it has not read yet.
    Reset,
    /// Keep the connection open without writing more (until the client gives up or
    /// the server shuts down).
    Hang,
}

impl Step {
    /// Adds a response header (appended: calling it twice with one name sends the
    /// header twice, as some bad-input tests need). The value may hold any bytes HTTP
    /// allows in a field value, including non-UTF-8 `obs-text` (0x80..=0xFF).
    /// On a [`Step::Delay`] it applies to the delayed step.
    ///
    /// # Panics
    ///
    /// If `name` is not a valid header name, `value` is not a valid field value
    /// (control characters such as CR/LF), or the step sends no response
    /// ([`Step::Reset`], [`Step::Close`], [`Step::Hang`]): all are mistakes in a test
    /// script, not runtime conditions.
    #[must_use]
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Step {
        let name = HeaderName::from_bytes(name.as_bytes())
            .unwrap_or_else(|e| panic!("invalid header name {name:?}: {e}"));
        let value = HeaderValue::from_bytes(value.as_ref())
            .unwrap_or_else(|e| panic!("invalid value for header {name}: {e}"));
        match &mut self {
            Step::Respond { headers, .. } | Step::Trickle { headers, .. } => {
                headers.append(name, value);
            }
            Step::Delay(_, inner) => {
                let step = std::mem::replace(inner.as_mut(), Step::Hang);
                **inner = step.header(name.as_str(), value.as_bytes());
            }
            Step::Reset | Step::Close | Step::Hang | Step::Raw { .. } => {
                panic!("header() on {self:?}, a step that sends no response (or raw bytes)")
            }
        }
        self
    }

    /// Sets the body of a [`Step::Respond`] (or of the step inside a [`Step::Delay`]).
    ///
    /// # Panics
    ///
    /// On any other step: a trickled body is set by [`trickle`], and the other steps
    /// send no response.
    #[must_use]
    pub fn body(mut self, new_body: impl Into<Bytes>) -> Step {
        match &mut self {
            Step::Respond { body, .. } => *body = new_body.into(),
            Step::Delay(_, inner) => {
                let step = std::mem::replace(inner.as_mut(), Step::Hang);
                **inner = step.body(new_body);
            }
            Step::Trickle { .. } | Step::Reset | Step::Close | Step::Hang | Step::Raw { .. } => {
                panic!("body() on {self:?}: only Respond steps take a body")
            }
        }
        self
    }

    /// Wraps this step in a [`Step::Delay`]: the server waits `wait` after receiving
    /// the request, then performs it.
    #[must_use]
    pub fn delayed(self, wait: Duration) -> Step {
        Step::Delay(wait, Box::new(self))
    }
}

/// A [`Step::Respond`] with this status, no extra headers and an empty body.
///
/// # Panics
///
/// If `code` is outside 100..=999 (the only codes HTTP/1.1 can carry).
#[must_use]
pub fn status(code: u16) -> Step {
    Step::Respond {
        status: status_code(code),
        headers: HeaderMap::new(),
        body: Bytes::new(),
    }
}

/// A `200 OK` with this body.
#[must_use]
pub fn ok(body: impl Into<Bytes>) -> Step {
    status(200).body(body)
}

/// [`Step::Reset`]: receive the request, then reset the TCP connection.
#[must_use]
pub fn reset() -> Step {
    Step::Reset
}

/// [`Step::Close`]: receive the request, then close the connection without a response.
#[must_use]
pub fn close() -> Step {
    Step::Close
}

/// [`Step::Hang`]: receive the request, never answer.
#[must_use]
pub fn hang() -> Step {
    Step::Hang
}

/// [`Step::Trickle`]: status and headers at once, then `chunks` copies of `chunk`, each
/// after a pause of `interval`.
///
/// # Panics
///
/// If `code` is outside 100..=999.
#[must_use]
pub fn trickle(code: u16, chunk: impl Into<Bytes>, interval: Duration, chunks: u32) -> Step {
    Step::Trickle {
        status: status_code(code),
        headers: HeaderMap::new(),
        chunk: chunk.into(),
        interval,
        chunks,
    }
}

/// [`Step::Delay`]: wait `wait` after receiving the request, then perform `step`.
#[must_use]
pub fn delay(wait: Duration, step: Step) -> Step {
    step.delayed(wait)
}

/// [`Step::Raw`]: write `bytes` as they are, then close the connection cleanly.
#[must_use]
pub fn raw(bytes: impl Into<Bytes>) -> Step {
    Step::Raw {
        bytes: bytes.into(),
        pause: Duration::ZERO,
        end: RawEnd::Close,
    }
}

/// [`Step::Raw`]: write `bytes` as they are, wait `pause`, then reset the connection.
/// With a status line, headers and part of a `content-length` body in `bytes`, this is
/// a response that breaks while its body is being read.
#[must_use]
pub fn raw_then_reset(bytes: impl Into<Bytes>, pause: Duration) -> Step {
    Step::Raw {
        bytes: bytes.into(),
        pause,
        end: RawEnd::Reset,
    }
}

fn status_code(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or_else(|e| panic!("status {code}: {e}"))
}

/// The plan of a [`ScriptedServer`]: what to do with each request, in order.
///
/// For a request to path `p` (the URI path, without the query), the server takes the
/// first step of `p`'s own queue ([`Script::on`]) if that queue is non-empty, else the
/// first step of the global queue ([`Script::then`]), else the fallback
/// ([`Script::otherwise`], by default `200 OK` with body `ok`). Each queued step is
/// served once; the fallback is served as often as needed.
#[derive(Clone, Debug)]
pub struct Script {
    queue: VecDeque<Step>,
    by_path: HashMap<String, VecDeque<Step>>,
    fallback: Step,
    date_header: bool,
}

impl Default for Script {
    fn default() -> Self {
        Script::new()
    }
}

impl FromIterator<Step> for Script {
    /// A script whose global queue is these steps, in order.
    fn from_iter<I: IntoIterator<Item = Step>>(steps: I) -> Self {
        let mut script = Script::new();
        script.queue.extend(steps);
        script
    }
}

impl Script {
    /// An empty script: every request gets the fallback, `200 OK` with body `ok`;
    /// responses carry an automatic `date` header.
    #[must_use]
    pub fn new() -> Self {
        Script {
            queue: VecDeque::new(),
            by_path: HashMap::new(),
            fallback: ok("ok"),
            date_header: true,
        }
    }

    /// Appends a step to the global queue.
    #[must_use]
    pub fn then(mut self, step: Step) -> Self {
        self.queue.push_back(step);
        self
    }

    /// Appends `times` copies of a step to the global queue.
    #[must_use]
    pub fn then_times(mut self, times: usize, step: Step) -> Self {
        self.queue.extend(std::iter::repeat_n(step, times));
        self
    }

    /// Appends a step to the queue of one path (the URI path, e.g. `"/a"`, without the
    /// query). That queue is used before the global one for requests to this path.
    #[must_use]
    pub fn on(mut self, path: &str, step: Step) -> Self {
        self.by_path
            .entry(path.to_owned())
            .or_default()
            .push_back(step);
        self
    }

    /// Sets the step served when the queues for a request are empty.
    #[must_use]
    pub fn otherwise(mut self, step: Step) -> Self {
        self.fallback = step;
        self
    }

    /// Stops hyper from adding its automatic `date` header, for tests of a
    /// `Retry-After` HTTP-date without a `Date` to compare against. A step's own
    /// `date` header is always sent as given (with or without this).
    #[must_use]
    pub fn without_date_header(mut self) -> Self {
        self.date_header = false;
        self
    }

    /// Steps still queued (global and per path), not counting the fallback.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.by_path
            .values()
            .map(VecDeque::len)
            .fold(self.queue.len(), usize::saturating_add)
    }

    fn next_for(&mut self, path: &str) -> Step {
        if let Some(step) = self.by_path.get_mut(path).and_then(VecDeque::pop_front) {
            return step;
        }
        self.queue
            .pop_front()
            .unwrap_or_else(|| self.fallback.clone())
    }
}

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// 0-based position in the order steps were chosen (the index in
    /// [`ScriptedServer::requests`]).
    pub seq: usize,
    /// The request method.
    pub method: Method,
    /// The request target as sent (origin form: path and query).
    pub uri: Uri,
    /// The URI path alone (what per-path queues are keyed by).
    pub path: String,
    /// Request headers as received.
    pub headers: HeaderMap,
    /// The request body (what arrived of it, if `body_complete` is false).
    pub body: Bytes,
    /// False if the client stopped sending before the end of its body.
    pub body_complete: bool,
    /// When the request head had been parsed (before the body was read), on tokio's
    /// clock, so it can be compared with `tokio::time::Instant::now()` in the test.
    pub arrived: Instant,
    /// The step that was chosen for this request.
    pub step: Step,
}

struct State {
    script: Script,
    records: Vec<Recorded>,
}

struct Shared {
    state: Mutex<State>,
    /// Number of recorded requests, observable without the lock (for `wait_for_hits`).
    hits: watch::Sender<usize>,
    connections: AtomicUsize,
    date_header: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while the lock was held cannot leave `State` half-updated in a way
        // that matters to a test (every update is a single push/pop), so poisoning is
        // ignored instead of cascading into every later request.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A scripted HTTP/1.1 server listening on `127.0.0.1` (port chosen by the OS).
///
/// Runs on the tokio runtime it was started in; stops when dropped (tasks aborted) or
/// on [`ScriptedServer::shutdown`] (stopped and awaited).
pub struct ScriptedServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for ScriptedServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptedServer")
            .field("addr", &self.addr)
            .field("hits", &self.hits())
            .finish_non_exhaustive()
    }
}

impl ScriptedServer {
    /// Binds `127.0.0.1:0` and starts serving `script` on a spawned tokio task.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (with IO and time enabled), or if the loopback bind
    /// fails; see [`ScriptedServer::try_start`] for the fallible form.
    #[must_use]
    pub fn start(script: Script) -> ScriptedServer {
        ScriptedServer::try_start(script)
            .unwrap_or_else(|e| panic!("cannot start the scripted server: {e}"))
    }

    /// Like [`ScriptedServer::start`], but returns the error instead of panicking
    /// (including "no tokio runtime").
    pub fn try_start(script: Script) -> io::Result<ScriptedServer> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| io::Error::other(format!("no tokio runtime: {e}")))?;
        let _guard = runtime.enter();
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
        let listener = socket.listen(BACKLOG)?;
        let addr = listener.local_addr()?;
        let (hits, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            date_header: script.date_header,
            state: Mutex::new(State {
                script,
                records: Vec::new(),
            }),
            hits,
            connections: AtomicUsize::new(0),
        });
        let (stop, stop_rx) = watch::channel(false);
        let task = runtime.spawn(accept_loop(listener, Arc::clone(&shared), stop_rx));
        Ok(ScriptedServer {
            addr,
            shared,
            stop,
            task: Some(task),
        })
    }

    /// The address the server listens on.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` followed by `path` (a `/` is put in front if missing).
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        let slash = if path.starts_with('/') { "" } else { "/" };
        format!("http://{}{slash}{path}", self.addr)
    }

    /// Every request received so far, in the order steps were chosen for them.
    #[must_use]
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().records.clone()
    }

    /// How many requests were received (and served a step) so far.
    #[must_use]
    pub fn hits(&self) -> usize {
        *self.shared.hits.borrow()
    }

    /// How many requests to this path (URI path, without query) were received.
    #[must_use]
    pub fn hits_for(&self, path: &str) -> usize {
        self.shared
            .lock()
            .records
            .iter()
            .filter(|r| r.path == path)
            .count()
    }

    /// How many TCP connections were accepted. Each carries at most one request, so
    /// `connections() > hits()` means some connection sent no complete request yet.
    #[must_use]
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::Relaxed)
    }

    /// Steps still queued (global and per path), not counting the fallback.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.shared.lock().script.remaining()
    }

    /// Appends a step to the global queue of the running server.
    pub fn push(&self, step: Step) {
        self.shared.lock().script.queue.push_back(step);
    }

    /// Appends a step to one path's queue on the running server.
    pub fn push_for(&self, path: &str, step: Step) {
        self.shared
            .lock()
            .script
            .by_path
            .entry(path.to_owned())
            .or_default()
            .push_back(step);
    }

    /// Replaces the fallback step of the running server.
    pub fn set_fallback(&self, step: Step) {
        self.shared.lock().script.fallback = step;
    }

    /// Waits until at least `count` requests were recorded, for at most `within`.
    /// Returns whether the count was reached (useful with [`Step::Hang`], where the
    /// client gets no answer to wait for).
    pub async fn wait_for_hits(&self, count: usize, within: Duration) -> bool {
        let mut hits = self.shared.hits.subscribe();
        matches!(
            tokio::time::timeout(within, hits.wait_for(|&h| h >= count)).await,
            Ok(Ok(_))
        )
    }

    /// Stops accepting, closes every open connection (hanging ones included) and waits
    /// until all of the server's tasks have ended.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            // The accept loop ends on the stop signal; an error here can only be a
            // panic inside it, which a test should see.
            if let Err(e) = task.await {
                if e.is_panic() {
                    std::panic::resume_unwind(e.into_panic());
                }
            }
        }
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            // Aborting the accept loop drops its JoinSet, which aborts every
            // connection task: nothing of the server outlives it.
            task.abort();
        }
    }
}

/// A `127.0.0.1` address with nothing listening on it (bound to an OS-chosen port,
/// then released), for connect-failure tests.
///
/// Another process could take the port between this call and its use; on a test
/// machine that is rare enough to accept.
///
/// # Panics
///
/// If the loopback interface cannot be bound at all.
#[must_use]
pub fn unused_local_addr() -> SocketAddr {
    let listener = StdTcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap_or_else(|e| panic!("cannot bind 127.0.0.1:0: {e}"));
    listener
        .local_addr()
        .unwrap_or_else(|e| panic!("no local address: {e}"))
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            // A send or the sender's drop both mean stop.
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    shared.connections.fetch_add(1, Ordering::Relaxed);
                    connections.spawn(serve_connection(stream, Arc::clone(&shared)));
                }
                // Out of file descriptors and the like: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
        }
        // Reap finished connections so the set stays as small as the open ones.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    connections.shutdown().await;
}

/// Lets a request handler end its own connection: with a reset (RST), a clean close,
/// or by taking the socket over to write raw bytes ([`Step::Raw`]).
struct KillSwitch {
    reset: AtomicBool,
    fire: Notify,
    /// A raw step to perform on the socket once hyper has let go of it.
    raw: Mutex<Option<RawPlan>>,
    /// The socket, handed back by `ConnStream::drop` when a raw step is planned.
    salvaged: Mutex<Option<TcpStream>>,
}

/// What a [`Step::Raw`] does, once the socket is free of hyper.
struct RawPlan {
    bytes: Bytes,
    pause: Duration,
    end: RawEnd,
}

/// Locks a mutex whose data a panic cannot leave half-updated (single assignments).
fn lock_ignoring_poison<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The connection's socket, which turns its close into a reset when asked to, or hands
/// itself back for a raw step.
struct ConnStream {
    /// Always `Some` while hyper uses it; taken only in `drop`.
    stream: Option<TcpStream>,
    kill: Arc<KillSwitch>,
}

impl ConnStream {
    fn stream(&mut self) -> io::Result<&mut TcpStream> {
        self.stream
            .as_mut()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }
}

/// SO_LINGER with a zero timeout makes close() abort the connection with a RST instead
/// of a FIN. (Deprecated in tokio because a *non-zero* linger blocks the thread in
/// close(); a zero one never blocks.)
fn reset_on_close(stream: &TcpStream) {
    #[allow(deprecated)]
    let _ = stream.set_linger(Some(Duration::ZERO));
}

impl Drop for ConnStream {
    fn drop(&mut self) {
        let Some(stream) = self.stream.take() else {
            return;
        };
        if lock_ignoring_poison(&self.kill.raw).is_some() {
            *lock_ignoring_poison(&self.kill.salvaged) = Some(stream);
        } else if self.kill.reset.load(Ordering::Acquire) {
            reset_on_close(&stream);
        }
    }
}

impl AsyncRead for ConnStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut().stream() {
            Ok(stream) => Pin::new(stream).poll_read(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl AsyncWrite for ConnStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().stream() {
            Ok(stream) => Pin::new(stream).poll_write(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().stream() {
            Ok(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.stream
            .as_ref()
            .is_some_and(TcpStream::is_write_vectored)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().stream() {
            Ok(stream) => Pin::new(stream).poll_flush(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().stream() {
            Ok(stream) => Pin::new(stream).poll_shutdown(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

type ResponseBody = UnsyncBoxBody<Bytes, Infallible>;

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let kill = Arc::new(KillSwitch {
        reset: AtomicBool::new(false),
        fire: Notify::new(),
        raw: Mutex::new(None),
        salvaged: Mutex::new(None),
    });
    let io = TokioIo::new(ConnStream {
        stream: Some(stream),
        kill: Arc::clone(&kill),
    });
    let mut builder = http1::Builder::new();
    builder
        .keep_alive(false)
        .auto_date_header(shared.date_header)
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let handler_kill = Arc::clone(&kill);
    let service =
        service_fn(move |request| handle(request, Arc::clone(&shared), Arc::clone(&handler_kill)));
    let connection = builder.serve_connection(io, service);
    tokio::select! {
        // Hyper finished: response sent (or the client went away).
        _ = connection => {}
        // A Reset/Close/Raw step: dropping `connection` drops the socket, and
        // `ConnStream::drop` turns that into a RST, or hands the socket back.
        () = kill.fire.notified() => {}
    }
    let plan = lock_ignoring_poison(&kill.raw).take();
    let stream = lock_ignoring_poison(&kill.salvaged).take();
    if let (Some(plan), Some(stream)) = (plan, stream) {
        write_raw(stream, plan).await;
    }
}

/// Performs a [`Step::Raw`] on a socket hyper no longer owns. (Written with the
/// `AsyncWrite` trait's poll methods, so this file needs no tokio `io-util` feature.)
async fn write_raw(mut stream: TcpStream, plan: RawPlan) {
    let mut rest: &[u8] = &plan.bytes;
    while !rest.is_empty() {
        let written = std::future::poll_fn(|cx| Pin::new(&mut stream).poll_write(cx, rest)).await;
        match written {
            Ok(n) if n > 0 => rest = rest.get(n..).unwrap_or_default(),
            // The client is gone (or the socket refuses more): nothing left to do.
            Ok(_) | Err(_) => return,
        }
    }
    tokio::time::sleep(plan.pause).await;
    match plan.end {
        RawEnd::Close => {
            let _ = std::future::poll_fn(|cx| Pin::new(&mut stream).poll_shutdown(cx)).await;
        }
        RawEnd::Reset => reset_on_close(&stream),
        RawEnd::Hang => std::future::pending::<()>().await,
    }
}

async fn handle(
    request: Request<Incoming>,
    shared: Arc<Shared>,
    kill: Arc<KillSwitch>,
) -> Result<Response<ResponseBody>, Infallible> {
    let arrived = Instant::now();
    let (parts, mut incoming) = request.into_parts();
    let mut body = Vec::new();
    let mut body_complete = true;
    loop {
        match incoming.frame().await {
            None => break,
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    body.extend_from_slice(&data);
                }
            }
            Some(Err(_)) => {
                body_complete = false;
                break;
            }
        }
    }
    let path = parts.uri.path().to_owned();
    let step = {
        let mut state = shared.lock();
        let step = state.script.next_for(&path);
        let seq = state.records.len();
        state.records.push(Recorded {
            seq,
            method: parts.method,
            uri: parts.uri,
            path,
            headers: parts.headers,
            body: Bytes::from(body),
            body_complete,
            arrived,
            step: step.clone(),
        });
        // Updated under the lock so the count never goes backwards.
        shared.hits.send_replace(state.records.len());
        step
    };
    perform(step, &kill).await
}

async fn perform(mut step: Step, kill: &KillSwitch) -> Result<Response<ResponseBody>, Infallible> {
    loop {
        match step {
            Step::Delay(wait, inner) => {
                tokio::time::sleep(wait).await;
                step = *inner;
            }
            Step::Respond {
                status,
                headers,
                body,
            } => return Ok(response(status, headers, Full::new(body).boxed_unsync())),
            Step::Trickle {
                status,
                headers,
                chunk,
                interval,
                chunks,
            } => {
                let body = TrickleBody {
                    chunk,
                    left: chunks,
                    interval,
                    sleep: Box::pin(tokio::time::sleep(interval)),
                };
                return Ok(response(status, headers, body.boxed_unsync()));
            }
            Step::Reset | Step::Close => {
                kill.reset
                    .store(matches!(step, Step::Reset), Ordering::Release);
                kill.fire.notify_one();
                // The connection task drops this future together with the socket.
                return std::future::pending().await;
            }
            Step::Raw { bytes, pause, end } => {
                *lock_ignoring_poison(&kill.raw) = Some(RawPlan { bytes, pause, end });
                kill.fire.notify_one();
                // The connection task drops this future and takes the socket over.
                return std::future::pending().await;
            }
            Step::Hang => return std::future::pending().await,
        }
    }
}

fn response(status: StatusCode, headers: HeaderMap, body: ResponseBody) -> Response<ResponseBody> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// The body of a [`Step::Trickle`]: one chunk after each pause.
struct TrickleBody {
    chunk: Bytes,
    left: u32,
    interval: Duration,
    sleep: Pin<Box<Sleep>>,
}

impl Body for TrickleBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if this.left == 0 {
            return Poll::Ready(None);
        }
        if this.sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        this.left = this.left.saturating_sub(1);
        // `sleep` saturates a far deadline instead of overflowing.
        this.sleep = Box::pin(tokio::time::sleep(this.interval));
        Poll::Ready(Some(Ok(Frame::data(this.chunk.clone()))))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        let len = u64::try_from(self.chunk.len()).unwrap_or(u64::MAX);
        SizeHint::with_exact(len.saturating_mul(u64::from(self.left)))
    }
}
