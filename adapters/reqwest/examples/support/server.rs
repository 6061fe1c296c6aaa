// A minimal scripted HTTP/1.1 server on 127.0.0.1 for relent-reqwest's examples: each
// connection carries one request and gets the next scripted step (a status with headers
// and a body, or a TCP reset), then `connection: close`. It is an example's helper, not
// the project's test server (tests/src/server.rs), and reads only what the examples
// send: a request head and a body by content-length or chunked.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the server does with one request.
#[derive(Clone, Debug)]
pub enum Step {
    /// Answer with this status, headers and body.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Reset the connection (TCP RST) after reading the request.
    Reset,
}

impl Step {
    /// The same response with one more header.
    pub fn header(self, name: &str, value: &str) -> Step {
        match self {
            Step::Respond {
                status,
                mut headers,
                body,
            } => {
                headers.push((name.to_owned(), value.to_owned()));
                Step::Respond {
                    status,
                    headers,
                    body,
                }
            }
            other => other,
        }
    }
}

/// An empty response with this status.
pub fn status(code: u16) -> Step {
    Step::Respond {
        status: code,
        headers: Vec::new(),
        body: String::new(),
    }
}

/// A 200 with this body.
pub fn ok(body: &str) -> Step {
    Step::Respond {
        status: 200,
        headers: Vec::new(),
        body: body.to_owned(),
    }
}

/// A TCP reset once the request is in.
pub fn reset() -> Step {
    Step::Reset
}

/// Steps in order (`then`) or per path (`on`); a request with none left gets a 404.
#[derive(Default)]
pub struct Script {
    queue: VecDeque<Step>,
    paths: HashMap<String, VecDeque<Step>>,
}

impl Script {
    pub fn new() -> Script {
        Script::default()
    }
    /// The next request (on a path without its own steps) gets `step`.
    pub fn then(mut self, step: Step) -> Script {
        self.queue.push_back(step);
        self
    }
    /// The next request to `path` gets `step`.
    pub fn on(mut self, path: &str, step: Step) -> Script {
        self.paths
            .entry(path.to_owned())
            .or_default()
            .push_back(step);
        self
    }
}

/// One request as received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
}

struct Shared {
    script: Script,
    requests: Vec<Recorded>,
}

/// The running server; `shutdown` (or drop) stops it.
pub struct ScriptedServer {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    hits: watch::Receiver<usize>,
    task: JoinHandle<()>,
}

impl ScriptedServer {
    /// Listen on 127.0.0.1 (a free port) and serve `script`.
    pub fn start(script: Script) -> ScriptedServer {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        std_listener.set_nonblocking(true).expect("non-blocking");
        let addr = std_listener.local_addr().expect("local address");
        let listener = TcpListener::from_std(std_listener).expect("a tokio listener");
        let shared = Arc::new(Mutex::new(Shared {
            script,
            requests: Vec::new(),
        }));
        let (hits_tx, hits) = watch::channel(0usize);
        let task = tokio::spawn({
            let shared = Arc::clone(&shared);
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let shared = Arc::clone(&shared);
                    let hits_tx = hits_tx.clone();
                    tokio::spawn(async move {
                        let _ = serve(stream, &shared, &hits_tx).await;
                    });
                }
            }
        });
        ScriptedServer {
            addr,
            shared,
            hits,
            task,
        }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Requests received so far.
    pub fn hits(&self) -> usize {
        *self.hits.borrow()
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared).requests.clone()
    }

    /// Wait until `count` requests arrived (false after `within`).
    pub async fn wait_for_hits(&self, count: usize, within: Duration) -> bool {
        let mut hits = self.hits.clone();
        matches!(
            tokio::time::timeout(within, hits.wait_for(|&h| h >= count)).await,
            Ok(Ok(_))
        )
    }

    /// Stop accepting connections.
    pub async fn shutdown(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// An address on 127.0.0.1 where nothing listens (bound, then released).
pub fn unused_local_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    listener.local_addr().expect("local address")
}

fn lock(shared: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn serve(
    mut stream: TcpStream,
    shared: &Mutex<Shared>,
    hits: &watch::Sender<usize>,
) -> std::io::Result<()> {
    // The head, byte by byte up to the blank line (requests here are small).
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        if stream.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method =
        Method::from_bytes(request_line.next().unwrap_or("GET").as_bytes()).unwrap_or(Method::GET);
    let uri: Uri = request_line
        .next()
        .unwrap_or("/")
        .parse()
        .unwrap_or_default();
    let mut headers = HeaderMap::new();
    for line in lines.filter(|l| !l.is_empty()) {
        if let Some((name, value)) = line.split_once(':') {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.trim().as_bytes()),
                HeaderValue::from_str(value.trim()),
            ) {
                headers.append(n, v);
            }
        }
    }
    // The body: by content-length, or chunked up to its last chunk.
    let length = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if let Some(length) = length {
        let mut body = vec![0u8; length];
        stream.read_exact(&mut body).await?;
    } else if headers
        .get("transfer-encoding")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"))
    {
        let mut tail = Vec::new();
        while !tail.ends_with(b"0\r\n\r\n") {
            let mut byte = [0u8; 1];
            if stream.read(&mut byte).await? == 0 {
                break;
            }
            tail.push(byte[0]);
        }
    }
    let step = {
        let mut shared = lock(shared);
        let path = uri.path().to_owned();
        shared.requests.push(Recorded {
            method,
            uri,
            headers,
        });
        let from_path = shared
            .script
            .paths
            .get_mut(&path)
            .and_then(VecDeque::pop_front);
        from_path.or_else(|| shared.script.queue.pop_front())
    };
    hits.send_modify(|h| *h += 1);
    match step.unwrap_or_else(|| status(404)) {
        Step::Reset => {
            // A zero linger makes close send RST instead of FIN.
            #[allow(deprecated)]
            let _ = stream.set_linger(Some(Duration::ZERO));
            drop(stream);
        }
        Step::Respond {
            status,
            headers,
            body,
        } => {
            let mut out = format!(
                "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                out.push_str(&format!("{name}: {value}\r\n"));
            }
            out.push_str("\r\n");
            out.push_str(&body);
            stream.write_all(out.as_bytes()).await?;
            stream.shutdown().await?;
        }
    }
    Ok(())
}
