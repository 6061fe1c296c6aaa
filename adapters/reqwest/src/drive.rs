//! One request through the core's driver: a transport, an HTTP judge and a key.
//!
//! Every entry point (the middleware, [`RetryClient`](crate::RetryClient),
//! [`RetryEngine::execute`](crate::RetryEngine::execute)) ends here; they differ only in how one
//! attempt is sent ([`Transport`]). There is no retry loop in this crate: [`run`] hands
//! the core's machine to [`relent::drive::run`] with tokio's timer, and keeps the story.

use std::future::Future;
use std::time::Duration;

use http::Extensions;
use relent::drive::{self, Finished};
use relent::http::{Attempt, Attempts, Classify, Observed, is_idempotent};
use relent::retry::{Forbidden, Outcome, Retry, RetryPolicy, TransportError};
use relent_tokio::history::{Left, Recorder};
use relent_tokio::{AnyError, Event, OnEvent, TokioTimer, clock};
use reqwest::{Request, Response};
use reqwest_middleware::Next;

use crate::error::{RetryError, SendFailure};
use crate::overrides::Overrides;
use crate::retry_engine::Inner;
use crate::trace;
use relent_tokio::history::RunKey;
use std::borrow::Cow;
use std::ops::Deref;
use std::pin::Pin;
use std::task::{Context, Poll};

/// How one attempt is sent.
///
/// Its future is `Unpin` (reqwest's and reqwest-middleware's both are), so the attempt's
/// future can be a plain type rather than an `async` block: a block keeps what it awaits
/// twice, once as captured and once as awaited.
pub(crate) trait Transport {
    fn send(
        &mut self,
        request: Request,
    ) -> impl Future<Output = Result<Response, SendFailure>> + Send + Unpin;
}

/// A send in flight, its error read as a [`SendFailure`].
pub(crate) struct Sending<F, E> {
    pending: F,
    read: fn(E) -> SendFailure,
}

impl<F, E> Future for Sending<F, E>
where
    F: Future<Output = Result<Response, E>> + Unpin,
{
    type Output = Result<Response, SendFailure>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let read = self.read;
        Pin::new(&mut self.pending)
            .poll(cx)
            .map(|answer| answer.map_err(read))
    }
}

/// A plain `reqwest::Client`.
pub(crate) struct ClientTransport<'c> {
    pub(crate) client: &'c reqwest::Client,
}

impl Transport for ClientTransport<'_> {
    fn send(
        &mut self,
        request: Request,
    ) -> impl Future<Output = Result<Response, SendFailure>> + Send + Unpin {
        Sending {
            pending: self.client.execute(request),
            read: SendFailure::from_reqwest,
        }
    }
}

/// The rest of a reqwest-middleware stack.
pub(crate) struct MiddlewareTransport<'a> {
    pub(crate) next: Next<'a>,
    pub(crate) extensions: &'a mut Extensions,
}

impl Transport for MiddlewareTransport<'_> {
    fn send(
        &mut self,
        request: Request,
    ) -> impl Future<Output = Result<Response, SendFailure>> + Send + Unpin {
        Sending {
            pending: self.next.clone().run(request, self.extensions),
            read: SendFailure::from_middleware,
        }
    }
}

/// One attempt's future: the send, or (only if a replayable body stopped cloning)
/// nothing to send, which fails at once.
enum Attempting<F> {
    Sending(F),
    NothingToSend,
}

impl<F> Future for Attempting<F>
where
    F: Future<Output = Result<Response, SendFailure>> + Unpin,
{
    type Output = Result<Response, SendFailure>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Attempting::Sending(sending) => Pin::new(sending).poll(cx),
            Attempting::NothingToSend => Poll::Ready(Err(SendFailure::body_not_replayable())),
        }
    }
}

/// An attempt's output as the driver takes it from [`drive::Operation::attempt_within`]:
/// always `Some`, reqwest having enforced the limit.
struct Enforced<F>(F);

impl<F: Future + Unpin> Future for Enforced<F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(Some)
    }
}

/// The smaller of two optional limits (`None` = no limit).
fn min_limit(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// A copy of `request` for a later attempt, or `None` when its body cannot be replayed.
///
/// A request without a body is rebuilt from its parts (method, URL, headers, version and
/// timeout): reqwest's `try_clone` first allocates a config map for the timeout on the
/// copy and then replaces it with a clone of the original's extensions, about 800
/// instructions of allocation per request that the rebuilt copy does not spend. The
/// extensions an `http::Request` carried into a `reqwest::Request` are not part of
/// reqwest's API (only a conversion back to `http::Request` reads them) and are not
/// rebuilt; a request with a body is copied by `try_clone`, extensions included (its
/// body can only be shared through it).
fn copy_request(request: &Request) -> Option<Request> {
    if request.body().is_some() {
        return request.try_clone();
    }
    let mut copy = Request::new(request.method().clone(), request.url().clone());
    if !request.headers().is_empty() {
        *copy.headers_mut() = request.headers().clone();
    }
    *copy.version_mut() = request.version();
    if let Some(&timeout) = request.timeout() {
        *copy.timeout_mut() = Some(timeout);
    }
    Some(copy)
}

/// The request for the next attempt. The first attempt sends the request itself, having
/// first kept a copy in its place when a later attempt may resend it (`resend`: its body
/// can be replayed and the policy allows a second attempt); each later attempt sends a
/// copy of that copy. `None`: nothing left to send.
///
/// The request is held boxed (one box per request, the copy taking the original's place
/// in it): a request is 264 bytes, and held in place it made the middleware's boxed future
/// too large for the allocator's small-size cache, an allocation several times dearer.
fn next_request(
    held: &mut Option<Box<Request>>,
    first: &mut bool,
    resend: bool,
) -> Option<Request> {
    if std::mem::take(first) {
        if resend {
            if let Some(held) = held.as_deref_mut() {
                if let Some(copy) = copy_request(held) {
                    return Some(std::mem::replace(held, copy));
                }
            }
        }
        return held.take().map(|request| *request);
    }
    held.as_deref().and_then(copy_request)
}

/// The HTTP judge of one request: the response's status and hint (or the transport
/// failure), read through the policy's classifier; a retry of a body that cannot be
/// replayed is refused.
struct HttpJudge<'a, C> {
    retrier: &'a Inner<C>,
    policy: &'a RetryPolicy<C>,
    idempotent: bool,
    replayable: bool,
}

impl<C: Classify> HttpJudge<'_, C> {
    fn outcome(&self, observed: Observed, attempt: u32) -> Outcome {
        let outcome = self.policy.classifier.outcome(&Attempt {
            observed,
            idempotent: self.idempotent,
            number: attempt,
        });
        match outcome {
            Outcome::Retryable { hint, seen, .. } if !self.replayable => Outcome::Final {
                refused: Some(Forbidden::BodyNotReplayable),
                hint,
                seen,
            },
            outcome => outcome,
        }
    }
}

impl<C: Classify> drive::Judge<Result<Response, SendFailure>> for HttpJudge<'_, C> {
    fn judge(&mut self, output: &Result<Response, SendFailure>, attempt: u32) -> Outcome {
        let observed = match output {
            Ok(response) => {
                let status = response.status().as_u16();
                // Only an error status can carry a hint the machine acts on.
                let hint = (status >= 400)
                    .then(|| {
                        self.retrier
                            .hints
                            .read_header_map(response.headers(), clock::unix_now())
                    })
                    .flatten()
                    .map(|h| h.hint);
                Observed::Response { status, hint }
            }
            Err(failure) => Observed::Transport(failure.kind),
        };
        self.outcome(observed, attempt)
    }

    fn timed_out(&mut self, attempt: u32) -> Outcome {
        self.outcome(Observed::Transport(TransportError::TimedOut), attempt)
    }
}

/// Writes the request's history and causes through the shared [`Recorder`], and reports
/// each event to the hook and the trace.
struct Story<'h> {
    /// The request's table key (moved into the history once the run is over).
    key: &'h str,
    recorder: Recorder<AnyError>,
    hook: Option<&'h OnEvent<AnyError>>,
    caller_timeout: Option<Duration>,
}

impl drive::Observe<Result<Response, SendFailure>> for Story<'_> {
    fn event(&mut self, event: &drive::Event<'_, Result<Response, SendFailure>>) {
        let (key, hook) = (self.key, self.hook);
        let notify = |e: &Event<'_, AnyError>| {
            if let Some(hook) = hook {
                hook.call(key, e);
            }
        };
        match *event {
            drive::Event::Attempt {
                attempt, timeout, ..
            } => {
                let limit = min_limit(timeout, self.caller_timeout);
                self.recorder.attempt(attempt, limit, notify);
            }
            drive::Event::Ended {
                attempt,
                output,
                outcome,
                at,
                took,
            } => {
                // What the judge read: the status with the hint it found, or the failure.
                let (observed, left) = match output {
                    Some(Ok(response)) => (
                        Observed::Response {
                            status: response.status().as_u16(),
                            hint: outcome.hint(),
                        },
                        Left::Answer,
                    ),
                    Some(Err(failure)) => (
                        Observed::Transport(failure.kind),
                        Left::Error(&failure.error, failure.class()),
                    ),
                    None => (
                        Observed::Transport(TransportError::TimedOut),
                        Left::TimedOut,
                    ),
                };
                let step = self
                    .recorder
                    .ended(attempt, at, took, outcome, observed, left, notify);
                if let Some(step) = step {
                    trace::attempt(key, &step);
                }
            }
            drive::Event::Wait {
                until,
                delay,
                reason,
            } => {
                let step = self.recorder.wait(until, delay, reason, notify);
                trace::wait(key, &step);
            }
            _ => {}
        }
    }

    fn superseded(&mut self, attempt: u32, output: Result<Response, SendFailure>) {
        if let Err(failure) = output {
            let class = failure.class();
            self.recorder.keep(attempt, failure.error, class);
        }
    }
}

/// Sends each attempt: the request itself first, then copies of it while its body can be
/// replayed ([`next_request`]). Each attempt's future borrows the transport (a middleware
/// chain's extensions), which the driver gets back before the next attempt.
struct Sender<T> {
    transport: T,
    /// The request before the first attempt; the copy later attempts copy after it.
    held: Option<Box<Request>>,
    /// Whether the first attempt is still to be sent.
    first: bool,
    /// Whether a later attempt may resend the request.
    resend: bool,
    caller_timeout: Option<Duration>,
    /// The client's own timeout, as told to the retrier: what reqwest enforces on a
    /// request that has none.
    client_timeout: Option<Duration>,
}

impl<T: Transport> drive::Operation<Result<Response, SendFailure>> for Sender<T> {
    /// reqwest enforces the limit it is given as the request's timeout (and keeps
    /// bounding the body with it once the response is returned), so the driver runs no
    /// second timer: a timed-out attempt comes back as reqwest's timeout error, which
    /// reads as `TransportError::TimedOut`.
    fn enforces_timeout(&self) -> bool {
        true
    }

    fn attempt(
        &mut self,
        _: u32,
        timeout: Option<Duration>,
    ) -> impl Future<Output = Result<Response, SendFailure>> {
        let request = next_request(&mut self.held, &mut self.first, self.resend);
        match request {
            Some(mut request) => {
                // Never longer than the caller's own timeout (the request's or the
                // client's); reqwest enforces it too, so it keeps bounding the body once
                // it is returned. Written only when it changes what reqwest would apply
                // (the request's own, else the client's): the write allocates reqwest's
                // config map, some 700 instructions with its drop.
                let limit = min_limit(timeout, self.caller_timeout);
                if limit != request.timeout().copied().or(self.client_timeout) {
                    *request.timeout_mut() = limit;
                }
                Attempting::Sending(self.transport.send(request))
            }
            None => Attempting::NothingToSend,
        }
    }

    /// reqwest enforces every attempt's limit: no race, so the driver's future keeps no
    /// room for one.
    fn attempt_within<Tm: drive::Timer>(
        &mut self,
        attempt: u32,
        timeout: Option<Duration>,
        _: relent::Instant,
        _: &Tm,
    ) -> impl Future<Output = Option<Result<Response, SendFailure>>> {
        Enforced(self.attempt(attempt, timeout))
    }
}

/// The driver borrows the sender, which the run's future holds (see [`run`]): every
/// method is the sender's own.
impl<T: Transport> drive::Operation<Result<Response, SendFailure>> for &mut Sender<T> {
    fn enforces_timeout(&self) -> bool {
        (**self).enforces_timeout()
    }

    fn attempt(
        &mut self,
        attempt: u32,
        timeout: Option<Duration>,
    ) -> impl Future<Output = Result<Response, SendFailure>> {
        (**self).attempt(attempt, timeout)
    }

    fn attempt_within<Tm: drive::Timer>(
        &mut self,
        attempt: u32,
        timeout: Option<Duration>,
        at: relent::Instant,
        timer: &Tm,
    ) -> impl Future<Output = Option<Result<Response, SendFailure>>> {
        (**self).attempt_within(attempt, timeout, at, timer)
    }
}

/// The policy of one request: the retrier's, borrowed, or a per-request one, boxed, so
/// that the request's future holds a pointer rather than a policy (about 600 bytes that
/// every request's future would otherwise carry and move).
pub(crate) enum RequestPolicy<'a, C> {
    Shared(&'a RetryPolicy<C>),
    Own(Box<RetryPolicy<C>>),
}

impl<C> Deref for RequestPolicy<'_, C> {
    type Target = RetryPolicy<C>;

    fn deref(&self) -> &RetryPolicy<C> {
        match self {
            RequestPolicy::Shared(policy) => policy,
            RequestPolicy::Own(policy) => policy,
        }
    }
}

/// What a request's [`Overrides`] leave for its run: its policy and whether the caller
/// marked it idempotent. Read before the run's future is built, so that the future holds
/// this rather than the overrides.
pub(crate) struct Plan<'a, C> {
    policy: RequestPolicy<'a, C>,
    idempotent: bool,
}

impl<'a, C: Clone> Plan<'a, C> {
    /// The plan of a request without overrides: the retrier's `policy`.
    pub(crate) fn of(policy: &'a RetryPolicy<C>) -> Self {
        Plan {
            policy: RequestPolicy::Shared(policy),
            idempotent: false,
        }
    }

    /// The plan of a request with `overrides`, under the retrier's `policy`.
    pub(crate) fn new(overrides: Overrides<C>, policy: &'a RetryPolicy<C>) -> Self {
        let idempotent = overrides.idempotent;
        let policy = match overrides.policy_for(policy) {
            Cow::Borrowed(policy) => RequestPolicy::Shared(policy),
            Cow::Owned(policy) => RequestPolicy::Own(Box::new(policy)),
        };
        Plan { policy, idempotent }
    }
}

/// Drive one request to its end.
///
/// The transport is taken by value, so that every entry point can return this future
/// itself rather than wrap it in one more `async` layer that holds the transport: each
/// layer is one more move of the whole future per request.
///
/// A failure is handed to `wrap` here, inside the same future, for the same reason: the
/// middleware needs it as a `reqwest_middleware::Error`, and an outer `async` block to
/// convert it would move the future once more.
///
/// What needs no clock is prepared before the future is built, and the future is an
/// `async` block rather than an `async fn`: an `async fn` keeps each argument twice (as
/// passed and as the local it is moved to), and the request alone is 264 bytes. The
/// block captures the prepared [`Sender`] and lends it to the driver, so the request is
/// held once. The run's clock starts when the future is first polled, as before.
#[inline(always)]
pub(crate) fn run<'a, C, T, E>(
    retrier: &'a Inner<C>,
    request: Request,
    plan: Plan<'a, C>,
    transport: T,
    wrap: fn(RetryError) -> E,
) -> impl Future<Output = Result<Response, E>> + use<'a, C, T, E>
where
    C: Classify + Clone + Send + Sync + 'static,
    T: Transport,
{
    let key = retrier.key(request.url());
    let idempotent = plan.idempotent || is_idempotent(request.method());
    // A body is replayable when reqwest holds it as bytes; a stream can be sent once.
    let replayable = request.body().is_none_or(|b| b.as_bytes().is_some());
    // reqwest lets a request's timeout replace the client's, so the tighter of the
    // request's own and the client's (as told to the retrier) bounds every attempt.
    let caller_timeout = min_limit(request.timeout().copied(), retrier.client_timeout);
    let mut sender = Sender {
        transport,
        held: Some(Box::new(request)),
        first: true,
        // A copy is kept only when a second attempt could send it.
        resend: replayable && plan.policy.max_attempts.get() > 1,
        caller_timeout,
        client_timeout: retrier.client_timeout,
    };
    async move {
        let start = clock::now();
        // The retrier's policy is borrowed; only a per-request override makes a copy.
        let policy: &RetryPolicy<C> = &plan.policy;
        let machine = Retry::new(policy, relent_tokio::seed::fresh_seed(), start)
            .with_budget(retrier.budget.as_ref().map(|b| b.token_bucket()))
            .with_gate(retrier.table.gate_borrowed(key.as_str()));
        let judge = HttpJudge {
            retrier,
            policy,
            idempotent,
            replayable,
        };
        let mut story = Story {
            key: key.as_str(),
            recorder: Recorder::new(start, true),
            hook: retrier.on_event.as_ref(),
            caller_timeout,
        };
        let finished = drive::run(machine, &TokioTimer, judge, &mut story, &mut sender).await;
        conclude(retrier, finished, story.recorder, key, start).map_err(wrap)
    }
}

/// The run's answer: the response with its history, or the error with every cause.
fn conclude<C>(
    retrier: &Inner<C>,
    finished: Finished<Result<Response, SendFailure>>,
    mut recorder: Recorder<AnyError>,
    key: RunKey,
    start: relent::Instant,
) -> Result<Response, RetryError> {
    match finished {
        Finished::Succeeded(Ok(mut response)) => {
            // The run ended when its last attempt did: the driver read the clock then.
            let elapsed = recorder.last_ended().saturating_duration_since(start);
            let (history, _) = recorder.finish(key, elapsed, None);
            response
                .extensions_mut()
                .insert(Attempts(history.attempts()));
            response.extensions_mut().insert(history);
            Ok(response)
        }
        // The judge reads a transport failure as a failure, never a success.
        Finished::Succeeded(Err(_)) => unreachable!("a transport failure was judged a success"),
        Finished::GaveUp { report, last } => {
            trace::give_up(key.as_str(), &report);
            if let Some(hook) = &retrier.on_event {
                hook.call(key.as_str(), &Event::GaveUp(&report));
            }
            match last {
                // Retries ran out on a status: the last response is the answer.
                Some(Ok(mut response)) => {
                    let (history, _) = recorder.finish(key, report.elapsed, Some(report));
                    response
                        .extensions_mut()
                        .insert(Attempts(history.attempts()));
                    // As relent-tower does: the report beside the history.
                    response.extensions_mut().insert(report);
                    response.extensions_mut().insert(history);
                    Ok(response)
                }
                // The last failure; one abandoned at its limit is already a cause.
                last => {
                    if let Some(Err(failure)) = last {
                        let class = failure.class();
                        recorder.keep(report.attempts, failure.error, class);
                    }
                    let (history, causes) = recorder.finish(key, report.elapsed, Some(report));
                    Err(RetryError::new(causes, history, report).with_error_chain())
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_limit_treats_none_as_unlimited() {
        let s = Duration::from_secs;
        assert_eq!(min_limit(None, None), None);
        assert_eq!(min_limit(Some(s(2)), None), Some(s(2)));
        assert_eq!(min_limit(None, Some(s(3))), Some(s(3)));
        assert_eq!(min_limit(Some(s(2)), Some(s(3))), Some(s(2)));
    }

    #[test]
    fn next_request_sends_the_request_first_then_copies_while_replayable() {
        let url = reqwest::Url::parse("http://127.0.0.1:1/").expect("url");
        let mut first = true;
        let mut held = Some(Box::new(Request::new(reqwest::Method::PUT, url.clone())));
        assert!(next_request(&mut held, &mut first, true).is_some());
        assert!(next_request(&mut held, &mut first, true).is_some());
        assert!(next_request(&mut held, &mut first, true).is_some());
        assert!(held.is_some(), "kept for the next attempt");

        // No second attempt possible: nothing is copied.
        let mut first = true;
        let mut held = Some(Box::new(Request::new(reqwest::Method::GET, url.clone())));
        assert!(next_request(&mut held, &mut first, false).is_some());
        assert!(held.is_none());
        assert!(next_request(&mut held, &mut first, false).is_none());

        let mut streaming = Request::new(reqwest::Method::PUT, url);
        *streaming.body_mut() = Some(reqwest::Body::wrap(String::from("once")));
        let mut first = true;
        let mut held = Some(Box::new(streaming));
        assert!(next_request(&mut held, &mut first, false).is_some());
        assert!(next_request(&mut held, &mut first, false).is_none());
    }

    /// Records the timeout of each request it is given.
    struct Recording(Vec<Option<Duration>>);

    impl Transport for Recording {
        fn send(
            &mut self,
            request: Request,
        ) -> impl Future<Output = Result<Response, SendFailure>> + Send + Unpin {
            self.0.push(request.timeout().copied());
            std::future::ready(Err(SendFailure::body_not_replayable()))
        }
    }

    #[test]
    fn each_attempt_carries_its_limit_unless_the_client_enforces_it_already() {
        use relent::drive::Operation;
        let s = Duration::from_secs;
        let url = reqwest::Url::parse("http://127.0.0.1:1/").expect("url");
        // (request's own, client's as told, attempt's limit) -> what the request carries.
        let cases = [
            (None, None, None, None),
            (None, None, Some(s(10)), Some(s(10))),
            (None, Some(s(30)), Some(s(10)), Some(s(10))),
            // The client's own timeout is the limit: reqwest applies it, nothing written.
            (None, Some(s(30)), None, None),
            (None, Some(s(30)), Some(s(40)), None),
            (Some(s(5)), None, Some(s(10)), Some(s(5))),
            (Some(s(5)), Some(s(3)), Some(s(10)), Some(s(3))),
            (Some(s(20)), None, Some(s(10)), Some(s(10))),
        ];
        for (own, client, limit, carried) in cases {
            let mut request = Request::new(reqwest::Method::GET, url.clone());
            if own.is_some() {
                *request.timeout_mut() = own;
            }
            let mut sender = Sender {
                transport: Recording(Vec::new()),
                held: Some(Box::new(request)),
                first: true,
                resend: true,
                caller_timeout: min_limit(own, client),
                client_timeout: client,
            };
            for attempt in 1..=2 {
                drop(sender.attempt(attempt, limit));
            }
            assert_eq!(
                sender.transport.0,
                vec![carried, carried],
                "{own:?} {client:?} {limit:?}"
            );
        }
    }

    #[test]
    fn a_copy_keeps_everything_reqwest_sends() {
        let url = reqwest::Url::parse("http://127.0.0.1:1/p?q=1").expect("url");
        let mut request = Request::new(reqwest::Method::PATCH, url);
        request
            .headers_mut()
            .insert("x-a", reqwest::header::HeaderValue::from_static("1"));
        *request.version_mut() = reqwest::Version::HTTP_2;
        *request.timeout_mut() = Some(Duration::from_millis(250));
        for body in [None, Some(reqwest::Body::from("bytes"))] {
            *request.body_mut() = body;
            let copy = copy_request(&request).expect("replayable");
            assert_eq!(copy.method(), request.method());
            assert_eq!(copy.url(), request.url());
            assert_eq!(copy.headers(), request.headers());
            assert_eq!(copy.version(), request.version());
            assert_eq!(copy.timeout(), request.timeout());
            assert_eq!(
                copy.body().and_then(reqwest::Body::as_bytes),
                request.body().and_then(reqwest::Body::as_bytes)
            );
        }
        let bare = Request::new(reqwest::Method::GET, request.url().clone());
        let copy = copy_request(&bare).expect("no body");
        assert_eq!(copy.timeout(), None);
        assert!(copy.headers().is_empty());
    }
}
