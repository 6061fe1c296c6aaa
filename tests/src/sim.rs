//! A virtual-time simulator: many retry machines against one simulated server.
//!
//! The simulator steps the same code in virtual time: every client runs
//! [`relent::drive::run`], the driver the adapters use, as a future, and a tiny
//! single-threaded executor ([`run_until_idle`](crate::sim::run_until_idle)) polls them
//! all over a [`VirtualTimer`](crate::sim::VirtualTimer). Time is a number, not a clock:
//! when no client is ready the clock jumps straight to the next sleep's end, so a
//! scenario spanning hours of retries runs in milliseconds and gives the same result
//! every time (quinn-proto tests its connection state machine the same way).
//!
//! The server is described by fault windows (an outage, throttling with
//! Retry-After, resets, refused connections, answers slower than a timeout,
//! bodies that break) and an optional capacity per second; its answer to an
//! attempt is a future that sleeps the latency in virtual time, and the driver
//! abandons it at the attempt's timeout. Answers are judged by the policy's
//! classifier ([`Classify::outcome`](relent::http::Classify::outcome)) with
//! `Retry-After` read by the [`HintReader`](relent::hint::HintReader). The clients
//! share one [`DeadlineTable`](relent::DeadlineTable) (each machine's
//! [`Gate`](relent::retry::Gate), bound to its key) and one
//! [`SharedTokenBucket`](relent::retry::SharedTokenBucket) (the retry budget), exactly
//! as the adapters do, and every send, wait and ending is logged for the scenario to check.
//!
//! [`run_fleet`](crate::sim::run_fleet) runs the same loop with a [`Fleet`](crate::sim::Fleet) setting that can also make
//! the clients behave like a peer crate's default policy: Retry-After not read
//! and no shared table (none of backon, reqwest-retry, tokio-retry2,
//! exponential-backoff, retry-policies or tower reads it by default), no budget,
//! or tower's `TpsBudget` modelled in virtual time ([`TpsWindow`](crate::sim::TpsWindow)). The storm
//! benchmark (`benches/benches/storm.rs`) builds its contenders from these.

use std::cell::{Cell, RefCell};
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use relent::drive::{self, Event, Finished, Judge, Observe, Timer};
use relent::hint::{HintReader, ServerHint};
use relent::http::{Attempt, Classify, Observed, StandardClassifier};
use relent::retry::{
    Budget, Gate, Hold, Outcome, Report, Retry, RetryKind, RetryPolicy, SharedTokenBucket,
    TransportError,
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
    /// Success (a final failure, such as a 404, is a give-up: `NotRetryable`).
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
#[derive(Debug, Default, PartialEq, Eq)]
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

// ---------------------------------------------------------------------------
// Virtual time: a clock, sleeps that register with it, and a tiny executor.

/// A sleep waiting for the clock: wake `waker` once the clock reaches `until`.
struct Alarm {
    until: Instant,
    /// Registration order, so alarms at one instant fire first come, first served.
    seq: u64,
    waker: Waker,
}

impl PartialEq for Alarm {
    fn eq(&self, other: &Self) -> bool {
        (self.until, self.seq) == (other.until, other.seq)
    }
}
impl Eq for Alarm {}
impl PartialOrd for Alarm {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Alarm {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.until, self.seq).cmp(&(other.until, other.seq))
    }
}

/// The simulator's clock: a [`Timer`] whose time only moves when nothing is ready.
///
/// `sleep_until` futures register `(until, waker)` in a min-heap; [`run_until_idle`]
/// polls the tasks that are ready and, when none is, jumps the clock to the earliest
/// alarm and wakes its task. Nothing ever sleeps for real.
#[derive(Default)]
pub struct VirtualTimer {
    now: Cell<Instant>,
    alarms: RefCell<BinaryHeap<Reverse<Alarm>>>,
    seq: Cell<u64>,
}

impl std::fmt::Debug for VirtualTimer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VirtualTimer")
            .field("now", &self.now.get())
            .field("alarms", &self.alarms.borrow().len())
            .finish()
    }
}

impl VirtualTimer {
    /// A clock reading `now`, with no alarm set.
    #[must_use]
    pub fn new(now: Instant) -> Self {
        VirtualTimer {
            now: Cell::new(now),
            ..VirtualTimer::default()
        }
    }

    fn alarm(&self, until: Instant, waker: Waker) {
        let seq = self.seq.get();
        self.seq.set(seq.wrapping_add(1));
        self.alarms
            .borrow_mut()
            .push(Reverse(Alarm { until, seq, waker }));
    }

    /// Moves the clock to the earliest alarm (never back) and wakes its task; `false`
    /// when no alarm is set.
    fn fire_next(&self) -> bool {
        let Some(Reverse(alarm)) = self.alarms.borrow_mut().pop() else {
            return false;
        };
        self.now.set(self.now.get().max(alarm.until));
        alarm.waker.wake();
        true
    }
}

impl Timer for VirtualTimer {
    fn now(&self) -> Instant {
        self.now.get()
    }

    fn sleep_until(&self, until: Instant) -> impl Future<Output = ()> {
        Sleep {
            timer: self,
            until,
            armed: false,
        }
    }
}

/// The future of [`VirtualTimer::sleep_until`]: ready once the clock reads `until`.
struct Sleep<'t> {
    timer: &'t VirtualTimer,
    until: Instant,
    armed: bool,
}

impl Future for Sleep<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.timer.now() >= self.until {
            return Poll::Ready(());
        }
        // One alarm per sleep: a task's waker never changes in this executor. An alarm
        // left behind by a sleep that was dropped (an attempt abandoned at its timeout)
        // only wakes its task once for nothing.
        if !self.armed {
            self.timer.alarm(self.until, cx.waker().clone());
            self.armed = true;
        }
        Poll::Pending
    }
}

/// Wakes task `task` by queueing it for a poll.
struct TaskWaker {
    task: usize,
    ready: Arc<Mutex<VecDeque<usize>>>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.ready
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(self.task);
    }
}

/// A task of the executor: a client's whole story as one future.
pub type Task<'f> = Pin<Box<dyn Future<Output = ()> + 'f>>;

/// Run `tasks` to their ends in `timer`'s virtual time, on this thread.
///
/// Polls every task once, then whichever a waker queued, in wake order; when none is
/// queued, jumps the clock to the earliest alarm. Returns when no task is queued and no
/// alarm is set (every task finished, or the rest wait on something that never comes).
///
/// # Panics
///
/// After `max_polls` polls: a scenario that would not end is a bug in the code under test.
pub fn run_until_idle(timer: &VirtualTimer, tasks: Vec<Task<'_>>, max_polls: u64) {
    let ready = Arc::new(Mutex::new((0..tasks.len()).collect::<VecDeque<_>>()));
    let wakers: Vec<Waker> = (0..tasks.len())
        .map(|task| {
            Waker::from(Arc::new(TaskWaker {
                task,
                ready: Arc::clone(&ready),
            }))
        })
        .collect();
    let mut tasks: Vec<Option<Task<'_>>> = tasks.into_iter().map(Some).collect();
    let mut polls = 0u64;
    loop {
        let next = ready
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front();
        let Some(id) = next else {
            if timer.fire_next() {
                continue;
            }
            return;
        };
        // A stale alarm can wake a task that has already finished.
        let (Some(slot), Some(waker)) = (tasks.get_mut(id), wakers.get(id)) else {
            continue;
        };
        let Some(task) = slot.as_mut() else {
            continue;
        };
        polls += 1;
        assert!(polls < max_polls, "simulation does not terminate");
        if task
            .as_mut()
            .poll(&mut Context::from_waker(waker))
            .is_ready()
        {
            *slot = None;
        }
    }
}

// ---------------------------------------------------------------------------
// The clients: relent's driver against the simulated server.

/// What the simulated server did with one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    /// A response: a status, and `Retry-After: <secs>` if any.
    Response {
        status: u16,
        retry_after: Option<u64>,
    },
    /// The connection was refused: the request never arrived.
    Refused,
    /// The request was read, then the connection reset.
    Reset,
    /// Headers arrived (the caller began reading the body), then the body broke.
    BodyBroke,
}

/// The shared Retry-After table, as the [`Gate`] of one key.
///
/// The table is shared by every client of the fleet, so it sits in a `RefCell`; the
/// core's [`TableGate`](relent::table::TableGate) borrows a table mutably for one
/// operation's life, which concurrent operations on one thread cannot do.
struct KeyGate<'t> {
    table: &'t RefCell<DeadlineTable<u32>>,
    key: u32,
}

impl Gate for KeyGate<'_> {
    fn hold(&mut self, now: Instant) -> Option<Hold> {
        self.table.borrow_mut().hold(&self.key, now)
    }
    fn record(&mut self, hold: Hold, now: Instant) {
        // An eviction is the table's business: the evicted key simply finds no hold.
        let _ = self.table.borrow_mut().record_hold(self.key, hold, now);
    }
}

/// What every client of one run shares.
struct World<'s> {
    server: &'s Server,
    timer: VirtualTimer,
    log: RefCell<Log>,
    /// Requests per whole second, for the server's capacity.
    served_per_sec: RefCell<HashMap<u64, u32>>,
    reader: HintReader,
    read_hints: bool,
}

/// Judges an answer as the HTTP adapters do: the policy's classifier reads what was
/// seen ([`Classify::outcome`]), with `Retry-After` read by the [`HintReader`].
///
/// Once the caller has begun reading a body (`committed`), a failure that would be
/// retried is final instead: the machine's `handle_commit` rule, applied where a driver
/// that owns the machine can apply it. The machine then names the give-up
/// [`NotRetryable`](relent::retry::GiveUpReason::NotRetryable), with the failure in
/// the report's `last`.
struct HttpJudge<'w> {
    world: &'w World<'w>,
    classifier: &'w StandardClassifier,
    idempotent: bool,
    committed: &'w Cell<bool>,
}

impl HttpJudge<'_> {
    fn read(&self, observed: Observed, number: u32) -> Outcome {
        let attempt = Attempt {
            observed,
            idempotent: self.idempotent,
            number,
        };
        match self.classifier.outcome(&attempt) {
            Outcome::Retryable { hint, seen, .. } if self.committed.get() => Outcome::Final {
                refused: None,
                hint,
                seen,
            },
            outcome => outcome,
        }
    }
}

impl Judge<Answer> for HttpJudge<'_> {
    fn judge(&mut self, answer: &Answer, number: u32) -> Outcome {
        let observed = match *answer {
            Answer::Response {
                status,
                retry_after,
            } => Observed::Response {
                status,
                hint: self.world.hint(retry_after),
            },
            Answer::Refused => Observed::Transport(TransportError::ConnectFailed),
            Answer::Reset | Answer::BodyBroke => {
                Observed::Transport(TransportError::ResetAfterSend)
            }
        };
        self.read(observed, number)
    }

    fn timed_out(&mut self, number: u32) -> Outcome {
        self.read(Observed::Transport(TransportError::TimedOut), number)
    }
}

/// Logs one client's attempts and waits as the driver reports them.
struct Recorder<'w> {
    world: &'w World<'w>,
    client: usize,
    /// Index in the log of the attempt in flight (the server fills in `reached_server`).
    current: &'w Cell<Option<usize>>,
    /// The attempt number that succeeded, as the driver numbered it.
    succeeded: Option<u32>,
}

impl Observe<Answer> for Recorder<'_> {
    fn event(&mut self, event: &Event<'_, Answer>) {
        let mut log = self.world.log.borrow_mut();
        match *event {
            Event::Attempt {
                attempt,
                timeout,
                at,
            } => {
                log.sends.push(Send {
                    client: self.client,
                    attempt,
                    at,
                    timeout,
                    reached_server: false,
                    ended: at,
                });
                self.current.set(Some(log.sends.len() - 1));
            }
            Event::Ended {
                attempt,
                outcome,
                at,
                ..
            } => {
                if let Some(send) = self.current.take().and_then(|i| log.sends.get_mut(i)) {
                    send.ended = at;
                }
                if outcome == Outcome::Success {
                    self.succeeded = Some(attempt);
                }
            }
            Event::Wait { until, reason, .. } => log.waits.push(WaitLog {
                client: self.client,
                at: self.world.timer.now(),
                until,
                reason,
            }),
            _ => {}
        }
    }
}

impl World<'_> {
    /// The hint a client reads from `Retry-After: <secs>`, if it reads hints at all.
    fn hint(&self, retry_after: Option<u64>) -> Option<ServerHint> {
        let secs = retry_after.filter(|_| self.read_hints)?;
        let value = secs.to_string();
        let headers: [(&[u8], &[u8]); 1] = [(b"retry-after", value.as_bytes())];
        self.reader
            .read(headers, UnixTime::from_secs(1_700_000_000))
            .map(|h| h.hint)
    }

    /// The server receives attempt `send` now: what it will do, and after how long
    /// (the headers' latency, then how long a streamed body lasts before it breaks).
    fn receive(&self, send: Option<usize>) -> (Duration, Option<Duration>, Answer) {
        let now = self.timer.now();
        let server = self.server;
        let fault = server
            .windows
            .iter()
            .find(|(s, e, _)| *s <= now && now < *e)
            .map(|w| w.2);
        let over_capacity = server.capacity_per_sec.is_some_and(|cap| {
            let mut served = self.served_per_sec.borrow_mut();
            let n = served.entry(now.as_nanos() / 1_000_000_000).or_default();
            *n += 1;
            *n > cap
        });
        if let Some(i) = send {
            if let Some(s) = self.log.borrow_mut().sends.get_mut(i) {
                s.reached_server = fault != Some(Fault::Refuse);
            }
        }
        let response = |status, retry_after| Answer::Response {
            status,
            retry_after,
        };
        let latency = server.latency;
        match fault {
            Some(Fault::Refuse) => (Duration::from_millis(1), None, Answer::Refused),
            Some(Fault::Reset) => (latency, None, Answer::Reset),
            Some(Fault::Status(s)) => (latency, None, response(s, None)),
            Some(Fault::Throttle { retry_after_secs }) => {
                (latency, None, response(429, Some(retry_after_secs)))
            }
            Some(Fault::Slow(d)) => (d, None, response(200, None)),
            Some(Fault::BodyBreaks(after)) => (latency, Some(after), Answer::BodyBroke),
            None if over_capacity => (latency, None, response(503, None)),
            None => (latency, None, response(200, None)),
        }
    }

    /// One client's whole story: wait for its start, then `relent::drive::run`.
    async fn client(
        &self,
        client: usize,
        spec: &ClientSpec,
        budget: FleetBudget<'_>,
        table: Option<&RefCell<DeadlineTable<u32>>>,
    ) {
        self.timer.sleep_until(spec.start).await;
        let gate = table.map(|table| KeyGate {
            table,
            key: spec.key,
        });
        let machine = Retry::new(&spec.policy, spec.seed, spec.start)
            .with_budget(budget)
            .with_gate(gate);
        let committed = Cell::new(false);
        let current = Cell::new(None);
        let judge = HttpJudge {
            world: self,
            classifier: &spec.policy.classifier,
            idempotent: spec.idempotent,
            committed: &committed,
        };
        let mut recorder = Recorder {
            world: self,
            client,
            current: &current,
            succeeded: None,
        };
        let finished = drive::run(
            machine,
            &self.timer,
            judge,
            &mut recorder,
            |_attempt, _timeout| {
                let sent = self.timer.now();
                let (latency, body, answer) = self.receive(current.get());
                let committed = &committed;
                // The driver drops this future at the attempt's timeout, which thus covers
                // the whole attempt, a streamed body included.
                async move {
                    self.timer.sleep_until(sent + latency).await;
                    if let Some(breaks_after) = body {
                        // The headers are in: the caller begins reading the body.
                        committed.set(true);
                        self.timer.sleep_until(sent + latency + breaks_after).await;
                    }
                    answer
                }
            },
        )
        .await;
        let ending = match finished {
            Finished::Succeeded(_) => Ending::Done {
                attempts: recorder.succeeded.unwrap_or(0),
            },
            Finished::GaveUp { report, .. } => Ending::GaveUp(report),
        };
        if let Some(slot) = self.log.borrow_mut().endings.get_mut(client) {
            *slot = Some((self.timer.now(), ending));
        }
    }
}

/// Polls allowed per run before it is declared not to terminate.
const MAX_POLLS: u64 = 10_000_000;

/// Run `clients` against `server`, sharing one table of `table_capacity` keys and one budget.
///
/// Returns the log. Runs until every client has ended; a scenario that
/// would not end is a bug in the machine, so the run is bounded and panics
/// (this is test support) after `10_000_000` polls.
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
/// Every client is one [`relent::drive::run`] future; [`run_until_idle`] polls them all
/// in one virtual time. Same termination bound as [`run`].
#[must_use]
pub fn run_fleet(server: &Server, clients: &[ClientSpec], fleet: Fleet<'_>) -> Log {
    let table = fleet.table_capacity.map(|capacity| {
        RefCell::new(DeadlineTable::<u32>::new(capacity, 1).expect("capacity > 0"))
    });
    let world = World {
        server,
        timer: VirtualTimer::new(Instant::ZERO),
        log: RefCell::new(Log {
            endings: vec![None; clients.len()],
            ..Log::default()
        }),
        served_per_sec: RefCell::new(HashMap::new()),
        reader: HintReader::new(),
        read_hints: fleet.read_hints,
    };
    let tasks: Vec<Task<'_>> = clients
        .iter()
        .enumerate()
        .map(|(i, spec)| Box::pin(world.client(i, spec, fleet.budget, table.as_ref())) as Task<'_>)
        .collect();
    run_until_idle(&world.timer, tasks, MAX_POLLS);
    world.log.into_inner()
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
    fn sleeps_end_in_virtual_time_order_at_their_instants() {
        let timer = VirtualTimer::new(Instant::ZERO);
        let woke = RefCell::new(Vec::new());
        let sleeper = |id: u32, ms: &'static [u64]| {
            let (timer, woke) = (&timer, &woke);
            Box::pin(async move {
                for &t in ms {
                    timer.sleep_until(Instant::from_millis(t)).await;
                    woke.borrow_mut().push((id, timer.now()));
                }
            }) as Task<'_>
        };
        run_until_idle(
            &timer,
            vec![sleeper(0, &[30, 10, 50]), sleeper(1, &[20, 40])],
            1_000,
        );
        let at = Instant::from_millis;
        // A sleep into the past (10 ms after 30 ms) ends at once, at the current time.
        assert_eq!(
            woke.into_inner(),
            [
                (1, at(20)),
                (0, at(30)),
                (0, at(30)),
                (1, at(40)),
                (0, at(50))
            ]
        );
        assert_eq!(timer.now(), at(50));
    }

    #[test]
    #[should_panic(expected = "simulation does not terminate")]
    fn a_run_that_never_ends_is_caught() {
        let timer = VirtualTimer::new(Instant::ZERO);
        let forever = Box::pin(async {
            for t in 1.. {
                timer.sleep_until(Instant::from_millis(t)).await;
            }
        }) as Task<'_>;
        run_until_idle(&timer, vec![forever], 100);
    }

    #[test]
    fn a_slow_answer_is_abandoned_at_the_attempt_timeout() {
        let server = Server::healthy(Duration::from_millis(10)).with_window(
            Instant::ZERO,
            Instant::from_millis(60_000),
            Fault::Slow(Duration::from_millis(5_000)),
        );
        let clients = [ClientSpec {
            start: Instant::from_millis(7),
            idempotent: true,
            key: 1,
            policy: RetryPolicy::default()
                .with_max_attempts(3)
                .with_per_try_timeout(Some(Duration::from_millis(300))),
            seed: 5,
        }];
        let log = run_fleet(&server, &clients, Fleet::deaf(FleetBudget::None));
        assert_eq!(log.sends.len(), 3);
        for s in &log.sends {
            assert_eq!(s.timeout, Some(Duration::from_millis(300)));
            assert_eq!(s.ended, s.at + Duration::from_millis(300));
            assert!(s.reached_server);
        }
        let Some((at, Ending::GaveUp(report))) = log.endings[0] else {
            panic!("{:?}", log.endings[0])
        };
        assert_eq!(report.reason, relent::retry::GiveUpReason::MaxAttempts);
        assert_eq!(at, log.sends[2].ended);
        assert_eq!(
            report.last.and_then(|o| o.retry_kind()),
            Some(RetryKind::TimedOut)
        );
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
