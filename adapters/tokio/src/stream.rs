//! Back off between the errors of a long-lived stream: a Kubernetes watch, a
//! message subscription, a server-sent event feed.
//!
//! kube-rs's `StreamBackoff` (kube-runtime `utils/stream_backoff.rs`, as `watcher(api, wc).default_backoff()` uses it)
//! is the model: an error from the stream is handed to the caller at once, and
//! the stream is not polled again until a backoff delay has passed; a
//! successful item resets the backoff. Watcher errors are "soft": they must
//! never be silently discarded, so every error is yielded, never swallowed.
//!
//! Two shapes:
//!
//! - [`StreamBackoff`] wraps one stream that recovers by itself when polled
//!   again (kube's `watcher` re-lists and re-watches on its next poll).
//! - [`Reconnect`] wraps a factory: after an error it drops the stream and,
//!   once the delay has passed, makes a new one; after a clean end it makes a
//!   new one at once (a watch that the server closed after `timeoutSeconds`).
//!
//! Delays come from a [`relent::backoff::Backoff`] fed with [`crate::clock`]:
//! [`presets::kube_watcher`](relent::backoff::presets::kube_watcher) gives
//! kube's 800 ms × 2 up to 30 s, jittered, reset after 120 s of quiet. The
//! quiet reset is the policy's `reset_after_quiet`: a failure that comes at
//! least that long after the last wait ended starts again from the first delay.
//! If the backoff is exhausted (a policy with `max_attempts` or `max_elapsed`),
//! the error that exhausted it is yielded and then the stream ends.
//!
//! Each wait is one tokio timer, allocated on the first error and re-armed for
//! later ones, and checked against the clock before it is polled.
//!
//! A watch is quiet by design, so it gets no read timeout; a dead connection
//! is caught by an idle timeout instead (kube-rs docs, "Client Internals": the server's
//! `timeoutSeconds` plus a margin, [`relent::timeout::stream_timeouts`]).
//! [`IdleTimeout`] applies one to a connection: wrap each stream the
//! [`Reconnect`] factory makes, and a silent connection ends with an error
//! (which is yielded, backed off, and followed by a new connection).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
//! use std::time::Duration;
//! use futures_util::StreamExt;
//! use relent::backoff::BackoffBuilder;
//! use relent_tokio::stream::StreamBackoff;
//!
//! let events = futures_util::stream::iter([Err("410 Gone"), Ok(1), Err("reset"), Ok(2)]);
//! let policy = BackoffBuilder::exponential(Duration::from_millis(800)).build().unwrap();
//! let start = tokio::time::Instant::now();
//! let seen: Vec<_> = StreamBackoff::new(events, policy).collect().await;
//! assert_eq!(seen, [Err("410 Gone"), Ok(1), Err("reset"), Ok(2)]); // every error, in order
//! // 800 ms after each error; the success in between reset the backoff.
//! assert_eq!(start.elapsed(), Duration::from_millis(1600));
//! # }
//! ```

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, ready};
use core::time::Duration;

use futures_core::Stream;
use relent::Instant;
use relent::backoff::{Backoff, BackoffPolicy};
use tokio::time::Sleep;

use crate::{clock, seed};

/// The waiting half shared by both wrappers: a backoff, the end of the current
/// wait, and one re-armable timer.
struct Pacer {
    backoff: Backoff,
    until: Option<Instant>,
    timer: Option<Pin<Box<Sleep>>>,
}

impl Pacer {
    fn new(backoff: Backoff) -> Self {
        Pacer {
            backoff,
            until: None,
            timer: None,
        }
    }

    /// A success: the next failure starts from the first delay.
    fn succeeded(&mut self) {
        self.backoff.reset();
    }

    /// A failure now: schedule the wait, or say the backoff is exhausted.
    fn failed(&mut self) -> bool {
        let now = clock::now();
        match self.backoff.next_delay(now) {
            Some(delay) => {
                self.until = Some(now.saturating_add(delay));
                true
            }
            None => false,
        }
    }

    /// Ready once the current wait (if any) is over. The clock is checked
    /// before the timer is polled, so a wait that has already ended never
    /// registers a timer.
    fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(until) = self.until else {
            return Poll::Ready(());
        };
        if clock::now() < until {
            let deadline = clock::to_tokio(until);
            let timer = match &mut self.timer {
                Some(timer) => {
                    if timer.deadline() != deadline {
                        timer.as_mut().reset(deadline);
                    }
                    timer
                }
                slot @ None => slot.insert(Box::pin(tokio::time::sleep_until(deadline))),
            };
            ready!(timer.as_mut().poll(cx));
        }
        self.until = None;
        Poll::Ready(())
    }
}

impl fmt::Debug for Pacer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pacer")
            .field("backoff", &self.backoff)
            .field("until", &self.until)
            .finish_non_exhaustive()
    }
}

/// A stream that waits a backoff delay after each error before it polls the
/// inner stream again, and resets the backoff on each successful item.
///
/// Every item of the inner stream is yielded, errors included, in order; the
/// wrapper only decides when the inner stream is polled next. It ends when the
/// inner stream ends, or right after the error that exhausted the backoff.
#[must_use = "streams do nothing unless polled"]
pub struct StreamBackoff<S> {
    stream: Pin<Box<S>>,
    pacer: Pacer,
    done: bool,
}

// The inner stream is pinned in its own box and nothing else is ever pinned,
// so the wrapper can move freely whatever `S` is.
impl<S> Unpin for StreamBackoff<S> {}

impl<S> StreamBackoff<S> {
    /// Wrap `stream`, with delays from `policy` jittered from a fresh OS-entropy seed.
    pub fn new(stream: S, policy: BackoffPolicy) -> Self {
        Self::with_backoff(stream, Backoff::new(policy, seed::fresh_seed()))
    }

    /// Wrap `stream` with a ready-made backoff (for a fixed seed in tests and simulations).
    pub fn with_backoff(stream: S, backoff: Backoff) -> Self {
        StreamBackoff {
            stream: Box::pin(stream),
            pacer: Pacer::new(backoff),
            done: false,
        }
    }

    /// When the inner stream will be polled again, if the wrapper is waiting out a delay.
    #[must_use]
    pub fn waiting_until(&self) -> Option<Instant> {
        self.pacer.until
    }

    /// The backoff, to inspect (delays taken since the last reset, exhaustion).
    #[must_use]
    pub fn backoff(&self) -> &Backoff {
        &self.pacer.backoff
    }
}

impl<S, T, E> Stream for StreamBackoff<S>
where
    S: Stream<Item = Result<T, E>>,
{
    type Item = Result<T, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        ready!(this.pacer.poll_wait(cx));
        match ready!(this.stream.as_mut().poll_next(cx)) {
            Some(Ok(item)) => {
                this.pacer.succeeded();
                Poll::Ready(Some(Ok(item)))
            }
            Some(Err(error)) => {
                if !this.pacer.failed() {
                    this.done = true;
                }
                Poll::Ready(Some(Err(error)))
            }
            None => {
                this.done = true;
                Poll::Ready(None)
            }
        }
    }
}

impl<S> fmt::Debug for StreamBackoff<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamBackoff")
            .field("pacer", &self.pacer)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// A stream over a sequence of connections: each one made by a factory, a new
/// one after each error (once the backoff delay has passed) or clean end.
///
/// - `Ok` item: yielded; the backoff resets.
/// - `Err` item: yielded; that connection is dropped and the next one is made
///   after the backoff delay (connection errors are the new stream's first item).
/// - Clean end after at least one item: the next connection is made at once,
///   as a watch does when the server closes it after `timeoutSeconds`.
/// - Clean end with no item at all: backed off like an error, but with nothing
///   to yield, so a server that closes every connection at once cannot make
///   the client spin.
/// - Backoff exhausted: the error that exhausted it is yielded, then the stream
///   ends (after an empty end: the stream just ends).
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// use std::time::Duration;
/// use futures_util::StreamExt;
/// use relent::backoff::BackoffBuilder;
/// use relent_tokio::stream::Reconnect;
///
/// let mut connections = 0;
/// let policy = BackoffBuilder::constant(Duration::from_secs(1)).build().unwrap();
/// let start = tokio::time::Instant::now();
/// let items: Vec<_> = Reconnect::new(
///     move || {
///         connections += 1;
///         let n = connections;
///         // The first connection is refused; the second delivers two events.
///         futures_util::stream::iter(if n == 1 { vec![Err("refused")] } else { vec![Ok(n), Ok(n)] })
///     },
///     policy,
/// )
/// .take(3)
/// .collect()
/// .await;
/// assert_eq!(items, [Err("refused"), Ok(2), Ok(2)]);
/// assert_eq!(start.elapsed(), Duration::from_secs(1));
/// # }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct Reconnect<F, S> {
    factory: F,
    stream: Option<Pin<Box<S>>>,
    /// Whether the current connection has yielded an item.
    yielded: bool,
    pacer: Pacer,
    done: bool,
}

// Nothing is ever pinned but the streams, each in its own box.
impl<F, S> Unpin for Reconnect<F, S> {}

impl<F, S> Reconnect<F, S> {
    /// Connect with `factory`, with delays from `policy` jittered from a fresh OS-entropy seed.
    pub fn new(factory: F, policy: BackoffPolicy) -> Self {
        Self::with_backoff(factory, Backoff::new(policy, seed::fresh_seed()))
    }

    /// Connect with `factory` and a ready-made backoff (for a fixed seed in tests and simulations).
    pub fn with_backoff(factory: F, backoff: Backoff) -> Self {
        Reconnect {
            factory,
            stream: None,
            yielded: false,
            pacer: Pacer::new(backoff),
            done: false,
        }
    }

    /// When the next connection will be made, if the wrapper is waiting out a delay.
    #[must_use]
    pub fn waiting_until(&self) -> Option<Instant> {
        self.pacer.until
    }

    /// The backoff, to inspect (delays taken since the last reset, exhaustion).
    #[must_use]
    pub fn backoff(&self) -> &Backoff {
        &self.pacer.backoff
    }
}

impl<F, S, T, E> Stream for Reconnect<F, S>
where
    F: FnMut() -> S,
    S: Stream<Item = Result<T, E>>,
{
    type Item = Result<T, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            ready!(this.pacer.poll_wait(cx));
            let stream = match &mut this.stream {
                Some(stream) => stream,
                slot @ None => {
                    this.yielded = false;
                    slot.insert(Box::pin((this.factory)()))
                }
            };
            match ready!(stream.as_mut().poll_next(cx)) {
                Some(Ok(item)) => {
                    this.yielded = true;
                    this.pacer.succeeded();
                    return Poll::Ready(Some(Ok(item)));
                }
                Some(Err(error)) => {
                    this.stream = None;
                    if !this.pacer.failed() {
                        this.done = true;
                    }
                    return Poll::Ready(Some(Err(error)));
                }
                None => {
                    this.stream = None;
                    if !this.yielded && !this.pacer.failed() {
                        this.done = true;
                    }
                }
            }
        }
    }
}

impl<F, S> fmt::Debug for Reconnect<F, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reconnect")
            .field("connected", &self.stream.is_some())
            .field("pacer", &self.pacer)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// A connection yielded nothing for its idle limit and is presumed dead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IdleTimedOut {
    /// The limit that passed without an item.
    pub idle: Duration,
}

impl fmt::Display for IdleTimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no item for {:?}: the connection is presumed dead",
            self.idle
        )
    }
}

impl std::error::Error for IdleTimedOut {}

/// Ends a stream with an [`IdleTimedOut`] error (converted into the stream's
/// error type) when it yields nothing for `idle`, measured from the first poll
/// and from each item.
///
/// For a watch, `idle` is [`StreamTimeouts::idle`](relent::timeout::StreamTimeouts::idle):
/// the server's `timeoutSeconds` plus a margin (kube: 290 s + 5 s), so a healthy
/// watch is always closed by the server first. The limit is checked against the
/// clock whenever the stream is polled, and one timer wakes the task when it passes.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// use std::time::Duration;
/// use futures_util::StreamExt;
/// use relent_tokio::stream::{IdleTimedOut, IdleTimeout};
///
/// #[derive(Debug, PartialEq)]
/// enum WatchError { Idle(IdleTimedOut) }
/// impl From<IdleTimedOut> for WatchError {
///     fn from(e: IdleTimedOut) -> Self { WatchError::Idle(e) }
/// }
///
/// // A connection that sends one event and then goes silent forever.
/// let silent = futures_util::stream::iter([Ok::<_, WatchError>(1)]).chain(futures_util::stream::pending());
/// let start = tokio::time::Instant::now();
/// let items: Vec<_> = IdleTimeout::new(silent, Duration::from_secs(295)).collect().await;
/// let idle = IdleTimedOut { idle: Duration::from_secs(295) };
/// assert_eq!(items, [Ok(1), Err(WatchError::Idle(idle))]);
/// assert_eq!(start.elapsed(), Duration::from_secs(295));
/// # }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct IdleTimeout<S> {
    stream: Pin<Box<S>>,
    idle: Duration,
    /// When the stream is presumed dead unless an item comes first (set at the first poll).
    deadline: Option<Instant>,
    timer: Option<Pin<Box<Sleep>>>,
    done: bool,
}

// Nothing is ever pinned but the inner stream, in its own box.
impl<S> Unpin for IdleTimeout<S> {}

impl<S> IdleTimeout<S> {
    /// End `stream` with an error if it is silent for `idle`.
    pub fn new(stream: S, idle: Duration) -> Self {
        IdleTimeout {
            stream: Box::pin(stream),
            idle,
            deadline: None,
            timer: None,
            done: false,
        }
    }
}

impl<S, T, E> Stream for IdleTimeout<S>
where
    S: Stream<Item = Result<T, E>>,
    E: From<IdleTimedOut>,
{
    type Item = Result<T, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = this.stream.as_mut().poll_next(cx) {
            this.deadline = None;
            this.done = item.is_none();
            return Poll::Ready(item);
        }
        let now = clock::now();
        let deadline = *this
            .deadline
            .get_or_insert_with(|| now.saturating_add(this.idle));
        if now < deadline {
            let at = clock::to_tokio(deadline);
            let timer = match &mut this.timer {
                Some(timer) => {
                    if timer.deadline() != at {
                        timer.as_mut().reset(at);
                    }
                    timer
                }
                slot @ None => slot.insert(Box::pin(tokio::time::sleep_until(at))),
            };
            ready!(timer.as_mut().poll(cx));
        }
        this.done = true;
        Poll::Ready(Some(Err(E::from(IdleTimedOut { idle: this.idle }))))
    }
}

impl<S> fmt::Debug for IdleTimeout<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdleTimeout")
            .field("idle", &self.idle)
            .field("deadline", &self.deadline)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
