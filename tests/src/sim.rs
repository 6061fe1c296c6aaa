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
//!
//! [`run_fleet`](crate::sim::run_fleet) runs the same loop with a [`Fleet`](crate::sim::Fleet) setting that can also make
//! the clients behave like a peer crate's default policy: Retry-After not read
//! and no shared table (none of backon, reqwest-retry, tokio-retry2,
//! exponential-backoff, retry-policies or tower reads it by default), no budget,
//! or tower's `TpsBudget` modelled in virtual time ([`TpsWindow`](crate::sim::TpsWindow)). The storm
//! benchmark (`benches/benches/storm.rs`) builds its contenders from these.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Duration;

use relent::hint::{HintReader, ServerHint};
use relent::retry::{
    Action, Budget, Report, Retry, RetryKind, RetryPolicy, SharedTokenBucket, TransportError,
};
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

/// tower's `TpsBudget`, modelled in virtual time.
///
/// tower 0.5 (`tower::retry::budget::TpsBudget`) keeps deposits and
/// withdrawals for `ttl` in ten slots and allows a withdrawal while
/// `reserve + (deposits − withdrawals over the last ttl) >= withdraw`, where,
/// for `TpsBudget::new(ttl, min_per_sec, retry_percent)` with `retry_percent <= 1`,
/// a deposit is 1 unit, a withdrawal is `⌊1 / retry_percent⌋` units and
/// `reserve = min_per_sec × ttl_secs × withdraw`. Its `Default` is
/// `TpsBudget::new(10 s, 10, 0.2)`: deposit 1, withdraw 5, reserve 500 units,
/// i.e. 100 retries per 10 s window plus one retry per five deposits.
///
/// Here the window is counted in whole virtual seconds (slot `⌊now⌋`, the last
/// `ttl_secs` slots count), which is tower's ten 1 s slots up to where within a
/// slot the window starts. Who deposits is a choice of the `Policy`, not of
/// the budget: tower's documented example (`tower::retry::budget` module docs)
/// deposits on every `Ok` response and withdraws before every retry, which is
/// what [`deposit_on_request`](Self::deposit_on_request)` = false` models;
/// Finagle deposits per request instead.
#[derive(Debug)]
pub struct TpsWindow {
    ttl_secs: u64,
    deposit: i64,
    withdraw: i64,
    reserve: i64,
    /// Deposit when an operation starts (Finagle) instead of when it succeeds (tower's example).
    pub deposit_on_request: bool,
    /// `(whole second, net units)` for the seconds still inside the window.
    slots: RefCell<VecDeque<(u64, i64)>>,
}

impl TpsWindow {
    /// `TpsBudget::new(ttl, min_per_sec, retry_percent)` with the percent in thousandths
    /// (200 = 0.2) and `ttl_secs` clamped to tower's accepted 1..=60 s.
    #[must_use]
    pub fn new(ttl_secs: u64, min_per_sec: u32, retry_percent_milli: u32) -> Self {
        let ttl_secs = ttl_secs.clamp(1, 60);
        // retry_percent <= 1: deposit 1, withdraw ⌊1 / p⌋; p == 0: deposits earn nothing.
        let (deposit, withdraw) = match retry_percent_milli {
            0 => (0, 1),
            p if p <= 1_000 => (1, i64::from(1_000 / p)),
            p => (1_000, i64::from(1_000_000 / p).max(1)),
        };
        let reserve = i64::from(min_per_sec) * ttl_secs as i64 * withdraw;
        TpsWindow {
            ttl_secs,
            deposit,
            withdraw,
            reserve,
            deposit_on_request: false,
            slots: RefCell::new(VecDeque::new()),
        }
    }

    /// `TpsBudget::default()`: `new(10 s, 10, 0.2)` (tower 0.5 `tps_budget.rs`).
    #[must_use]
    pub fn tower_default() -> Self {
        TpsWindow::new(10, 10, 200)
    }

    fn second(now: Instant) -> u64 {
        now.as_nanos() / 1_000_000_000
    }

    /// The units available at `now`: the reserve plus the net of the window.
    #[must_use]
    pub fn balance(&self, now: Instant) -> i64 {
        self.expire(now);
        self.reserve + self.slots.borrow().iter().map(|(_, n)| n).sum::<i64>()
    }

    fn expire(&self, now: Instant) {
        let oldest = (Self::second(now) + 1).saturating_sub(self.ttl_secs);
        let mut slots = self.slots.borrow_mut();
        while slots.front().is_some_and(|(s, _)| *s < oldest) {
            slots.pop_front();
        }
    }

    fn put(&self, now: Instant, amount: i64) {
        self.expire(now);
        let sec = Self::second(now);
        let mut slots = self.slots.borrow_mut();
        match slots.back_mut() {
            Some((s, n)) if *s == sec => *n += amount,
            _ => slots.push_back((sec, amount)),
        }
    }
}

impl Budget for &TpsWindow {
    fn on_request(&mut self, now: Instant) {
        if self.deposit_on_request {
            self.put(now, self.deposit);
        }
    }
    fn try_withdraw(&mut self, _: RetryKind, now: Instant) -> bool {
        if self.balance(now) >= self.withdraw {
            self.put(now, -self.withdraw);
            true
        } else {
            false
        }
    }
    fn on_success(&mut self, _: Option<RetryKind>, now: Instant) {
        if !self.deposit_on_request {
            self.put(now, self.deposit);
        }
    }
}

/// The retry budget a fleet of clients shares.
#[derive(Clone, Copy, Debug)]
pub enum FleetBudget<'a> {
    /// No budget: only each operation's own limits apply.
    None,
    /// relent's token bucket.
    Bucket(&'a SharedTokenBucket),
    /// tower's `TpsBudget` model.
    Tps(&'a TpsWindow),
}

impl Budget for FleetBudget<'_> {
    fn on_request(&mut self, now: Instant) {
        match self {
            FleetBudget::None => {}
            FleetBudget::Bucket(b) => b.on_request(now),
            FleetBudget::Tps(t) => t.on_request(now),
        }
    }
    fn on_failure(&mut self, kind: RetryKind, now: Instant) {
        match self {
            FleetBudget::None | FleetBudget::Tps(_) => {}
            FleetBudget::Bucket(b) => b.on_failure(kind, now),
        }
    }
    fn try_withdraw(&mut self, kind: RetryKind, now: Instant) -> bool {
        match self {
            FleetBudget::None => true,
            FleetBudget::Bucket(b) => b.try_withdraw(kind, now),
            FleetBudget::Tps(t) => t.try_withdraw(kind, now),
        }
    }
    fn on_success(&mut self, after_retry: Option<RetryKind>, now: Instant) {
        match self {
            FleetBudget::None => {}
            FleetBudget::Bucket(b) => b.on_success(after_retry, now),
            FleetBudget::Tps(t) => t.on_success(after_retry, now),
        }
    }
}

/// What a fleet of clients shares, and whether it listens to the server.
#[derive(Clone, Copy, Debug)]
pub struct Fleet<'a> {
    /// The shared retry budget.
    pub budget: FleetBudget<'a>,
    /// The shared Retry-After table's capacity; `None`: no table, so one
    /// client's Retry-After never holds back another (every peer's default).
    pub table_capacity: Option<usize>,
    /// Whether clients read `Retry-After`. When `false` a 429 is just a
    /// retryable status and the backoff schedule decides the wait.
    pub read_hints: bool,
}

impl<'a> Fleet<'a> {
    /// relent as the adapters run it: hints read, one table of `table_capacity` keys, this budget.
    #[must_use]
    pub fn relent(budget: FleetBudget<'a>, table_capacity: usize) -> Self {
        Fleet {
            budget,
            table_capacity: Some(table_capacity),
            read_hints: true,
        }
    }

    /// A client that ignores server hints and shares no table, with this budget.
    #[must_use]
    pub fn deaf(budget: FleetBudget<'a>) -> Self {
        Fleet {
            budget,
            table_capacity: None,
            read_hints: false,
        }
    }
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
    run_fleet(
        server,
        clients,
        Fleet::relent(FleetBudget::Bucket(budget), table_capacity),
    )
}

/// Run `clients` against `server` as members of `fleet` (see [`Fleet`]).
///
/// Same loop and the same termination bound as [`run`].
#[must_use]
pub fn run_fleet(server: &Server, clients: &[ClientSpec], fleet: Fleet<'_>) -> Log {
    let mut table = fleet
        .table_capacity
        .map(|capacity| DeadlineTable::<u32>::new(capacity, 1).expect("capacity > 0"));
    let mut machines: Vec<Retry<_, FleetBudget<'_>>> = clients
        .iter()
        .map(|c| {
            Retry::new(c.policy.clone(), c.seed, c.start)
                .idempotent(c.idempotent)
                .with_budget(fleet.budget)
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
                let hint = retry_after.filter(|_| fleet.read_hints).and_then(|secs| {
                    let value = secs.to_string();
                    let headers: [(&[u8], &[u8]); 1] = [(b"retry-after", value.as_bytes())];
                    reader
                        .read(headers, UnixTime::from_secs(1_700_000_000))
                        .map(|h| h.hint)
                });
                m.handle_response(now, status, hint);
                if matches!(hint, Some(ServerHint::After(_))) {
                    if let (Some(deadline), Some(table)) = (m.hint_deadline(), table.as_mut()) {
                        let _ = table.record(key, deadline, now);
                    }
                }
            }
        }
        // Let the machine decide what follows.
        if in_flight[client].is_some() {
            continue;
        }
        let gate = match table.as_mut().map(|t| t.next_allowed(&key, now)) {
            None | Some(relent::NextAllowed::Now) => None,
            Some(relent::NextAllowed::Wait { until }) => Some(until),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tower_default_tps_window_allows_100_retries_then_refills_with_time() {
        let tps = TpsWindow::tower_default();
        let mut b = &tps;
        let t0 = Instant::from_millis(500);
        let granted = (0..150)
            .filter(|_| b.try_withdraw(RetryKind::Transient, t0))
            .count();
        assert_eq!(granted, 100, "reserve = 10/s × 10 s");
        // Five successes deposit one retry's worth.
        for _ in 0..5 {
            b.on_success(None, t0);
        }
        assert!(b.try_withdraw(RetryKind::Transient, t0));
        assert!(!b.try_withdraw(RetryKind::Transient, t0));
        // Ten seconds later the withdrawals have left the window.
        let later = Instant::from_millis(10_500);
        assert_eq!(tps.balance(later), 500);
    }

    #[test]
    fn a_deaf_fleet_ignores_retry_after_and_shares_nothing() {
        let server = Server::healthy(Duration::from_millis(10)).with_window(
            Instant::ZERO,
            Instant::from_millis(100),
            Fault::Throttle {
                retry_after_secs: 5,
            },
        );
        let spec = |start| ClientSpec {
            start,
            idempotent: true,
            key: 1,
            policy: RetryPolicy::default(),
            seed: 1,
        };
        let clients = [spec(Instant::ZERO), spec(Instant::from_millis(1_000))];
        let log = run_fleet(&server, &clients, Fleet::deaf(FleetBudget::None));
        // The first client backs off (100 ms × 2, equal jitter) instead of waiting 5 s …
        let first: Vec<_> = log.sends_of(0).collect();
        assert!(first.len() >= 2);
        assert!(first[1].at < Instant::from_millis(200));
        assert!(matches!(log.endings[0], Some((_, Ending::Done { .. }))));
        // … and the second is not held back by a table.
        assert_eq!(
            log.sends_of(1).next().map(|s| s.at),
            Some(Instant::from_millis(1_000))
        );
        assert!(log.waits.iter().all(|w| !matches!(
            w.reason,
            relent::retry::WaitReason::Gate | relent::retry::WaitReason::ServerHint(_)
        )));
    }
}
