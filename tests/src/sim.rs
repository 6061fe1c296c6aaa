//! A virtual-time simulator: many retry machines against one simulated server.
//!
//! Time is a number, not a clock: the simulator keeps an event queue and jumps
//! straight to the next deadline, so a scenario spanning hours of retries runs
//! in milliseconds and gives the same result every time (quinn-proto tests its
//! connection state machine the same way).
//!
//! The server is described by fault windows (an outage, throttling with
//! Retry-After, resets, refused connections, answers slower than a timeout)
//! and an optional capacity per second. Each client drives one
//! [`relent::retry::Retry`] machine, sharing one [`DeadlineTable`](relent::DeadlineTable) (the
//! Retry-After gate) and one [`SharedTokenBucket`](relent::retry::SharedTokenBucket) (the retry budget), exactly as
//! the adapters do, and every send, outcome and decision is logged for the
//! scenario to check.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use relent::hint::{HintReader, ServerHint};
use relent::retry::{Action, Report, Retry, RetryPolicy, SharedTokenBucket, TransportError};
use relent::{DeadlineTable, Instant, UnixTime};

/// What the server does to requests that arrive inside a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status (the request was processed or at least seen).
    Status(u16),
    /// Answer 429 with `Retry-After: <secs>`.
    Throttle {
        /// The Retry-After value in seconds.
        retry_after_secs: u64,
    },
    /// Read the request, then reset the connection.
    Reset,
    /// Refuse the connection: the request never arrives.
    Refuse,
    /// Answer only after this long (to trip per-attempt timeouts).
    Slow(Duration),
    /// Answer 200 and start a body that trickles, then breaks after this long.
    /// The driver commits when the headers arrive (the caller starts reading),
    /// so the break must not be retried.
    BodyBreaks(Duration),
}

/// A simulated server: fault windows, latency and capacity.
#[derive(Clone, Debug)]
pub struct Server {
    /// `[start, end)` windows and what happens inside them; the first match wins.
    pub windows: Vec<(Instant, Instant, Fault)>,
    /// Time from arrival to answer for a healthy request.
    pub latency: Duration,
    /// Requests accepted per whole second; the excess gets a 503.
    pub capacity_per_sec: Option<u32>,
}

impl Server {
    /// A healthy server answering 200 after `latency`.
    #[must_use]
    pub fn healthy(latency: Duration) -> Self {
        Server {
            windows: Vec::new(),
            latency,
            capacity_per_sec: None,
        }
    }

    /// Add a fault window.
    #[must_use]
    pub fn with_window(mut self, start: Instant, end: Instant, fault: Fault) -> Self {
        self.windows.push((start, end, fault));
        self
    }
}

/// One operation to run.
#[derive(Clone, Debug)]
pub struct ClientSpec {
    /// When the operation starts.
    pub start: Instant,
    /// Whether the request is idempotent (GET, or a POST with an idempotency key).
    pub idempotent: bool,
    /// The shared-table key (an origin).
    pub key: u32,
    /// The retry policy.
    pub policy: RetryPolicy,
    /// Jitter seed.
    pub seed: u64,
}

/// How a client's story ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Success (or a final response).
    Done {
        /// Attempts made.
        attempts: u32,
    },
    /// Gave up, with the machine's report.
    GaveUp(Report),
}

/// One request as the server saw it (or would have, for a refused connection).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Send {
    /// Which client sent it.
    pub client: usize,
    /// The 1-based attempt number.
    pub attempt: u32,
    /// When it was sent.
    pub at: Instant,
    /// The timeout the machine gave this attempt.
    pub timeout: Option<Duration>,
    /// Whether it reached the server (not refused).
    pub reached_server: bool,
    /// When the attempt ended (response, error or timeout).
    pub ended: Instant,
}

/// A wait the machine asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitLog {
    /// Which client.
    pub client: usize,
    /// When the wait was decided.
    pub at: Instant,
    /// Until when.
    pub until: Instant,
    /// Why.
    pub reason: relent::retry::WaitReason,
}

/// Everything that happened in a run.
#[derive(Debug, Default)]
pub struct Log {
    /// Every attempt, in send order.
    pub sends: Vec<Send>,
    /// Every wait decided.
    pub waits: Vec<WaitLog>,
    /// Per client: when and how it ended.
    pub endings: Vec<Option<(Instant, Ending)>>,
}

impl Log {
    /// Attempts by one client.
    pub fn sends_of(&self, client: usize) -> impl Iterator<Item = &Send> {
        self.sends.iter().filter(move |s| s.client == client)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Poll,
    /// The in-flight attempt's outcome arrives: a status (with Retry-After seconds) or an error.
    Outcome {
        status: u16,
        retry_after: Option<u64>,
    },
    /// Headers of a streamed response: the caller starts consuming the body.
    Headers {
        body_breaks_after: Duration,
    },
    Error(ErrorKind),
    Timer,
}

/// An event, tagged with the index of the send it belongs to (if any), so a
/// late answer to an attempt that already timed out is never mistaken for
/// the answer to the next attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Tagged {
    send: Option<usize>,
    event: Event,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum ErrorKind {
    Refused,
    Reset,
}

/// Run `clients` against `server`, sharing one table of `table_capacity` keys and one budget.
///
/// Returns the log. Runs until every client has ended; a scenario that
/// would not end is a bug in the machine, so the loop is bounded and panics
/// (this is test support) after `10_000_000` events.
#[must_use]
pub fn run(
    server: &Server,
    clients: &[ClientSpec],
    budget: &SharedTokenBucket,
    table_capacity: usize,
) -> Log {
    let mut table = DeadlineTable::<u32>::new(table_capacity, 1).expect("capacity > 0");
    let mut machines: Vec<Retry<_, &SharedTokenBucket>> = clients
        .iter()
        .map(|c| {
            Retry::new(c.policy.clone(), c.seed, c.start)
                .idempotent(c.idempotent)
                .with_budget(budget)
        })
        .collect();
    let mut log = Log {
        endings: vec![None; clients.len()],
        ..Log::default()
    };
    // Per client: index into log.sends of its in-flight attempt.
    let mut in_flight: Vec<Option<usize>> = vec![None; clients.len()];
    let mut queue: BinaryHeap<Reverse<(Instant, u64, usize, Tagged)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut push =
        |q: &mut BinaryHeap<_>, at: Instant, client: usize, send: Option<usize>, event: Event| {
            seq += 1;
            q.push(Reverse((at, seq, client, Tagged { send, event })));
        };
    for (i, c) in clients.iter().enumerate() {
        push(&mut queue, c.start, i, None, Event::Poll);
    }
    let mut served_per_sec: std::collections::HashMap<u64, u32> = Default::default();
    let reader = HintReader::new();
    let mut events = 0u64;
    while let Some(Reverse((now, _, client, Tagged { send, event }))) = queue.pop() {
        events += 1;
        assert!(events < 10_000_000, "simulation does not terminate");
        let key = clients[client].key;
        let m = &mut machines[client];
        match event {
            Event::Poll => {}
            Event::Timer => {
                if send.is_none() || in_flight[client] != send {
                    continue;
                }
                m.handle_timer(now);
                if let Some(i) = in_flight[client].take() {
                    log.sends[i].ended = now;
                }
            }
            Event::Error(kind) => {
                if send.is_none() || in_flight[client] != send {
                    continue;
                }
                let Some(i) = in_flight[client].take() else {
                    continue;
                };
                log.sends[i].ended = now;
                m.handle_transport_error(
                    now,
                    match kind {
                        ErrorKind::Refused => TransportError::ConnectFailed,
                        ErrorKind::Reset => TransportError::ResetAfterSend,
                    },
                );
            }
            Event::Headers { body_breaks_after } => {
                if send.is_none() || in_flight[client] != send {
                    continue;
                }
                m.handle_commit();
                push(
                    &mut queue,
                    now + body_breaks_after,
                    client,
                    send,
                    Event::Error(ErrorKind::Reset),
                );
                continue;
            }
            Event::Outcome {
                status,
                retry_after,
            } => {
                if send.is_none() || in_flight[client] != send {
                    continue;
                }
                let Some(i) = in_flight[client].take() else {
                    continue;
                };
                log.sends[i].ended = now;
                let hint = retry_after.and_then(|secs| {
                    let value = secs.to_string();
                    let headers: [(&[u8], &[u8]); 1] = [(b"retry-after", value.as_bytes())];
                    reader
                        .read(headers, UnixTime::from_secs(1_700_000_000))
                        .map(|h| h.hint)
                });
                m.handle_response(now, status, hint);
                if matches!(hint, Some(ServerHint::After(_))) {
                    if let Some(deadline) = m.hint_deadline() {
                        let _ = table.record(key, deadline, now);
                    }
                }
            }
        }
        // Let the machine decide what follows.
        if in_flight[client].is_some() {
            continue;
        }
        let gate = match table.next_allowed(&key, now) {
            relent::NextAllowed::Now => None,
            relent::NextAllowed::Wait { until } => Some(until),
        };
        match m.poll(now, gate) {
            Action::Send { attempt, timeout } => {
                m.handle_attempt_started(now);
                let fault = server
                    .windows
                    .iter()
                    .find(|(s, e, _)| *s <= now && now < *e)
                    .map(|w| w.2);
                let over_capacity = server.capacity_per_sec.is_some_and(|cap| {
                    let n = served_per_sec
                        .entry(now.as_nanos() / 1_000_000_000)
                        .or_default();
                    *n += 1;
                    *n > cap
                });
                let (after, ev) = match fault {
                    Some(Fault::Refuse) => {
                        (Duration::from_millis(1), Event::Error(ErrorKind::Refused))
                    }
                    Some(Fault::Reset) => (server.latency, Event::Error(ErrorKind::Reset)),
                    Some(Fault::Status(s)) => (
                        server.latency,
                        Event::Outcome {
                            status: s,
                            retry_after: None,
                        },
                    ),
                    Some(Fault::Throttle { retry_after_secs }) => (
                        server.latency,
                        Event::Outcome {
                            status: 429,
                            retry_after: Some(retry_after_secs),
                        },
                    ),
                    Some(Fault::Slow(d)) => (
                        d,
                        Event::Outcome {
                            status: 200,
                            retry_after: None,
                        },
                    ),
                    Some(Fault::BodyBreaks(after)) => (
                        server.latency,
                        Event::Headers {
                            body_breaks_after: after,
                        },
                    ),
                    None if over_capacity => (
                        server.latency,
                        Event::Outcome {
                            status: 503,
                            retry_after: None,
                        },
                    ),
                    None => (
                        server.latency,
                        Event::Outcome {
                            status: 200,
                            retry_after: None,
                        },
                    ),
                };
                log.sends.push(Send {
                    client,
                    attempt,
                    at: now,
                    timeout,
                    reached_server: fault != Some(Fault::Refuse),
                    ended: now,
                });
                let index = log.sends.len() - 1;
                in_flight[client] = Some(index);
                push(&mut queue, now + after, client, Some(index), ev);
                // The attempt timeout covers the whole attempt, a streamed body included.
                let lasts = match ev {
                    Event::Headers { body_breaks_after } => after + body_breaks_after,
                    _ => after,
                };
                if let Some(t) = timeout {
                    if t < lasts {
                        push(&mut queue, now + t, client, Some(index), Event::Timer);
                    }
                }
            }
            Action::Wait { until, reason } => {
                log.waits.push(WaitLog {
                    client,
                    at: now,
                    until,
                    reason,
                });
                push(&mut queue, until, client, None, Event::Poll);
            }
            Action::AwaitOutcome { .. } => {}
            Action::Done { attempts } => {
                log.endings[client] = Some((now, Ending::Done { attempts }));
            }
            Action::GiveUp(report) => {
                log.endings[client] = Some((now, Ending::GaveUp(report)));
            }
        }
    }
    log
}
