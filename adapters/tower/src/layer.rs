//! [`RetryLayer`]: each request through [`relent::drive::run`], the core's one driver.
//!
//! There is no retry loop here. A request becomes: a [`Retry`] machine (the policy, the
//! shared budget, the origin's entry in the shared Retry-After table as its gate), an
//! [`Operation`](drive::Operation) that sends a copy of the request head with a
//! [`ReplayBody`] handle to the inner service, a [`Judge`](drive::Judge) that reads the
//! response or the error through the policy's classifier, and an observer that reports.

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::uri::{Authority, Scheme};
use http::{HeaderValue, Request, Response};
use http_body::Body;
use relent::drive::{self, Finished};
use relent::hint::HintReader;
use relent::http::{Attempt, Classify, Observed, Overrides, StandardClassifier};
use relent::retry::{Forbidden, Outcome, Retry, RetryPolicy, Seen, TransportError};
use relent::table::CapacityError;
use relent_tokio::history::{Left, Recorder};
use relent_tokio::{
    AnyError, ErrorClass, Event, OnEvent, SharedBudget, SharedDeadlines, TokioTimer, clock,
};
use tower::{Layer, Service};

use crate::BoxError;
use crate::body::{DEFAULT_BODY_CAP, ReplayBody};
use crate::classify::{
    classify_error, is_grpc, observe_response, origin_key, request_is_idempotent,
};

/// The attempt count in a response's extensions: the core's type, shared by every HTTP
/// adapter (relent-reqwest inserts the same one).
///
/// ```
/// # async fn demo(response: http::Response<()>) {
/// use relent_tower::Attempts;
/// let attempts = response.extensions().get::<Attempts>().map_or(1, |a| a.0);
/// # }
/// ```
pub use relent::http::Attempts;

/// Why the layer returns no response: the error type every relent adapter shares,
/// [`relent_tokio::RetryError`] over [`AnyError`]: the machine's [`Report`](crate::Report), the
/// request's [`AttemptHistory`](crate::AttemptHistory), every failed attempt's error (`causes()`), and the last
/// one as its `source()` (`last_error()`, `find::<hyper::Error>()`, `root_cause()`).
///
/// A response is always returned when there is one, even after retries ran out on a
/// status (with the [`Report`](crate::Report) and the [`AttemptHistory`](crate::AttemptHistory) in its extensions): for an
/// HTTP client the last response is still the answer. This error means there was none:
/// every attempt failed below HTTP, the last one timed out, or the shared table refused
/// the request before it was sent. It reaches the caller boxed, as tower's `BoxError`:
/// `err.downcast_ref::<relent_tower::RetryError>()`.
pub type RetryError = relent_tokio::RetryError<AnyError>;

/// Something the layer did, for the hook of [`RetryLayerBuilder::on_notice`].
///
/// Superseded by [`Event`], the event type every relent adapter shares
/// ([`RetryLayerBuilder::on_event`]); kept so that code written against the first
/// release still builds.
#[derive(Debug)]
#[non_exhaustive]
#[deprecated(
    note = "use `RetryLayerBuilder::on_event` and `Event`, shared by every relent adapter"
)]
pub enum Notice<'a> {
    /// Attempt `attempt` to `key` is being sent, within `timeout`.
    Attempt {
        /// The Retry-After table key (the origin).
        key: &'a str,
        /// 1-based attempt number.
        attempt: u32,
        /// `min(per-try timeout, time left)`; `None`: no limit.
        timeout: Option<Duration>,
    },
    /// Attempt `attempt` ended after `took`, read as `outcome`.
    Ended {
        /// The Retry-After table key.
        key: &'a str,
        /// 1-based attempt number.
        attempt: u32,
        /// How the classifier read it.
        outcome: Outcome,
        /// How long it took.
        took: Duration,
    },
    /// The layer waits `delay` before the next attempt.
    Wait {
        /// The Retry-After table key.
        key: &'a str,
        /// How long.
        delay: Duration,
        /// Why.
        reason: relent::retry::WaitReason,
    },
    /// The layer gave up.
    GaveUp {
        /// The Retry-After table key.
        key: &'a str,
        /// The machine's story.
        report: &'a relent::retry::Report,
    },
}

struct Config<C> {
    policy: RetryPolicy<C>,
    table: SharedDeadlines<String>,
    budget: Option<SharedBudget>,
    hints: HintReader,
    body_cap: usize,
    hook: Option<OnEvent<AnyError>>,
}

/// Retries for any tower HTTP client (a hyper-util `Client`, a tonic channel, kube's
/// client stack): see the [crate docs](crate).
///
/// Cheap to clone (one `Arc`); every service it makes shares the policy, the
/// Retry-After table and the budget.
pub struct RetryLayer<C = StandardClassifier> {
    config: Arc<Config<C>>,
}

impl<C> Clone for RetryLayer<C> {
    fn clone(&self) -> Self {
        RetryLayer {
            config: Arc::clone(&self.config),
        }
    }
}

impl<C: fmt::Debug> fmt::Debug for RetryLayer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryLayer")
            .field("policy", &self.config.policy)
            .field("table", &self.config.table)
            .field("budget", &self.config.budget)
            .field("body_cap", &self.config.body_cap)
            .finish_non_exhaustive()
    }
}

impl RetryLayer<StandardClassifier> {
    /// A builder: [`RetryPolicy::default`], a Retry-After table of 4,096 origins
    /// ([`table_capacity`](RetryLayerBuilder::table_capacity)), no budget, every hint
    /// header, a [`DEFAULT_BODY_CAP`] replay buffer.
    pub fn builder() -> RetryLayerBuilder<StandardClassifier> {
        RetryLayerBuilder {
            policy: RetryPolicy::default(),
            capacity: 4096,
            table: None,
            budget: None,
            hints: HintReader::new(),
            body_cap: DEFAULT_BODY_CAP,
            hook: None,
        }
    }
}

impl<C> RetryLayer<C> {
    /// The policy every request uses unless it carries its own.
    #[must_use]
    pub fn policy(&self) -> &RetryPolicy<C> {
        &self.config.policy
    }

    /// The shared Retry-After table.
    #[must_use]
    pub fn table(&self) -> &SharedDeadlines<String> {
        &self.config.table
    }

    /// The retry [`Policy`](crate::Policy) for `tower::retry::Retry`, with this layer's
    /// policy, table, budget and hints.
    #[must_use]
    pub fn tower_policy(&self) -> crate::Policy<C>
    where
        C: Clone,
    {
        crate::Policy::from_shared(self.config.policy_handle())
    }
}

impl<C> Config<C> {
    fn policy_handle(&self) -> Arc<crate::policy::Shared<C>>
    where
        C: Clone,
    {
        Arc::new(crate::policy::Shared {
            policy: Arc::new(self.policy.clone()),
            table: self.table.clone(),
            budget: self.budget.clone(),
            hints: self.hints,
        })
    }
}

/// Builds a [`RetryLayer`].
#[must_use]
pub struct RetryLayerBuilder<C = StandardClassifier> {
    policy: RetryPolicy<C>,
    capacity: usize,
    table: Option<SharedDeadlines<String>>,
    budget: Option<SharedBudget>,
    hints: HintReader,
    body_cap: usize,
    hook: Option<OnEvent<AnyError>>,
}

impl<C> RetryLayerBuilder<C> {
    /// The policy for every request (a request may carry its own as an extension).
    pub fn policy<C2>(self, policy: RetryPolicy<C2>) -> RetryLayerBuilder<C2> {
        RetryLayerBuilder {
            policy,
            capacity: self.capacity,
            table: self.table,
            budget: self.budget,
            hints: self.hints,
            body_cap: self.body_cap,
            hook: self.hook,
        }
    }

    /// The capacity of a new Retry-After table: 4,096 origins by default, as
    /// relent-reqwest's (least recently used origins are evicted beyond it).
    pub fn table_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// Share an existing Retry-After table (with a reqwest client, another stack, …).
    pub fn shared_table(mut self, table: SharedDeadlines<String>) -> Self {
        self.table = Some(table);
        self
    }

    /// Share a retry budget, so an outage cannot multiply traffic.
    pub fn budget(mut self, budget: SharedBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Which response headers count as hints, in what order (default: all).
    pub fn hint_reader(mut self, hints: HintReader) -> Self {
        self.hints = hints;
        self
    }

    /// The most request-body bytes kept for replay ([`DEFAULT_BODY_CAP`] by default).
    /// A longer body is sent once, and a failure is not retried
    /// ([`Forbidden::BodyNotReplayable`]).
    pub fn body_cap(mut self, bytes: usize) -> Self {
        self.body_cap = bytes;
        self
    }

    /// Call `hook` with the request's key (its origin) and each [`Event`] of every
    /// request: attempt, end, failure, wait, give-up; the event type every relent adapter
    /// reports (relent-tokio's `notify`, relent-reqwest's `on_event`), for metrics and
    /// logs. It runs on the request's task: keep it short. One hook: a second call (or
    /// [`on_notice`](Self::on_notice), which is built on it) replaces the first.
    ///
    /// ```
    /// use relent_tower::{Event, RetryLayer};
    ///
    /// let layer = RetryLayer::builder()
    ///     .on_event(|origin, event| {
    ///         if let Event::GaveUp(report) = event {
    ///             eprintln!("{origin}: {report}");
    ///         }
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # drop(layer);
    /// ```
    pub fn on_event(
        mut self,
        hook: impl Fn(&str, &Event<'_, AnyError>) + Send + Sync + 'static,
    ) -> Self {
        self.hook = Some(OnEvent::new(hook));
        self
    }

    /// Call `hook` at every attempt, wait and give-up, as a [`Notice`].
    #[deprecated(note = "use `on_event`: the `Event` type every relent adapter shares")]
    #[allow(deprecated)]
    pub fn on_notice(self, hook: impl Fn(&Notice<'_>) + Send + Sync + 'static) -> Self {
        self.on_event(move |key, event| {
            let notice = match *event {
                Event::Attempt { attempt, timeout } => Notice::Attempt {
                    key,
                    attempt,
                    timeout,
                },
                Event::Ended {
                    attempt,
                    outcome,
                    took,
                } => Notice::Ended {
                    key,
                    attempt,
                    outcome,
                    took,
                },
                Event::Wait { delay, reason, .. } => Notice::Wait { key, delay, reason },
                Event::GaveUp(report) => Notice::GaveUp { key, report },
                _ => return,
            };
            hook(&notice);
        })
    }

    /// The layer; fails only if a new table cannot have the requested capacity.
    pub fn build(self) -> Result<RetryLayer<C>, CapacityError> {
        let table = match self.table {
            Some(t) => t,
            None => SharedDeadlines::new(self.capacity)?,
        };
        Ok(RetryLayer {
            config: Arc::new(Config {
                policy: self.policy,
                table,
                budget: self.budget,
                hints: self.hints,
                body_cap: self.body_cap,
                hook: self.hook,
            }),
        })
    }
}

impl<S, C> Layer<S> for RetryLayer<C> {
    type Service = RetryService<S, C>;
    fn layer(&self, inner: S) -> RetryService<S, C> {
        RetryService {
            inner,
            config: Arc::clone(&self.config),
            last_key: None,
        }
    }
}

/// The service [`RetryLayer`] makes: takes `Request<B>`, sends
/// `Request<ReplayBody<B>>` to the inner service.
pub struct RetryService<S, C = StandardClassifier> {
    inner: S,
    config: Arc<Config<C>>,
    /// The last request's scheme and authority, and its table key: a client mostly talks
    /// to one origin, and sharing the key saves writing it for every request.
    last_key: Option<(Option<Scheme>, Authority, Arc<str>)>,
}

impl<S, C> RetryService<S, C> {
    /// The table key of `uri` ([`origin_key`]), shared with the last request's when the
    /// scheme and authority are the same (`Authority` compares case-insensitively, as
    /// the key is written).
    fn key_for(&mut self, uri: &http::Uri) -> Arc<str> {
        if let (Some(authority), Some((scheme, last, key))) = (uri.authority(), &self.last_key) {
            if uri.scheme() == scheme.as_ref() && authority == last {
                return Arc::clone(key);
            }
        }
        let key: Arc<str> = Arc::from(origin_key(uri));
        if let Some(authority) = uri.authority() {
            self.last_key = Some((uri.scheme().cloned(), authority.clone(), Arc::clone(&key)));
        }
        key
    }
}

impl<S: Clone, C> Clone for RetryService<S, C> {
    fn clone(&self) -> Self {
        RetryService {
            inner: self.inner.clone(),
            config: Arc::clone(&self.config),
            last_key: self.last_key.clone(),
        }
    }
}

impl<S: fmt::Debug, C> fmt::Debug for RetryService<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// The response future of [`RetryService`].
pub type ResponseFuture<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>>;

impl<S, B, RB, C> Service<Request<B>> for RetryService<S, C>
where
    S: Service<Request<ReplayBody<B>>, Response = Response<RB>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    RB: Send + 'static,
    C: Classify + Clone + Send + Sync + 'static,
{
    type Response = Response<RB>;
    type Error = BoxError;
    type Future = ResponseFuture<Response<RB>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The service that was made ready sends the first attempt; the clone stays here.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let key = self.key_for(request.uri());
        Box::pin(run(Arc::clone(&self.config), inner, request, key))
    }
}

/// The judge of one request: the response's status and hints (or gRPC status), or the
/// error's transport class, read through the policy's classifier; a retry of a body
/// that can no longer be replayed is refused.
struct HttpJudge<'a, B, C> {
    policy: &'a RetryPolicy<C>,
    hints: &'a HintReader,
    body: &'a ReplayBody<B>,
    idempotent: bool,
    grpc: bool,
}

impl<B, C: Classify> HttpJudge<'_, B, C> {
    fn outcome(&self, observed: Observed, number: u32) -> Outcome {
        let outcome = self.policy.classifier.outcome(&Attempt {
            observed,
            idempotent: self.idempotent,
            number,
        });
        match outcome {
            Outcome::Retryable { hint, seen, .. } if !self.body.is_replayable() => Outcome::Final {
                refused: Some(Forbidden::BodyNotReplayable),
                hint,
                seen,
            },
            outcome => outcome,
        }
    }
}

impl<B, RB, C: Classify> drive::Judge<Result<Response<RB>, AnyError>> for HttpJudge<'_, B, C> {
    fn judge(&mut self, output: &Result<Response<RB>, AnyError>, attempt: u32) -> Outcome {
        let observed = match output {
            Ok(r) => observe_response(r.status().as_u16(), r.headers(), self.grpc, self.hints),
            Err(e) => Observed::Transport(classify_error(&*e.0)),
        };
        self.outcome(observed, attempt)
    }

    fn timed_out(&mut self, attempt: u32) -> Outcome {
        self.outcome(Observed::Transport(TransportError::TimedOut), attempt)
    }
}

/// Reports the run: its history and causes through the shared [`Recorder`], the event
/// hook and `tracing` events.
struct Story<'a> {
    key: &'a str,
    hook: Option<&'a OnEvent<AnyError>>,
    attempts: u32,
    recorder: Recorder<AnyError>,
}

impl Story<'_> {
    fn notify(&self, event: &Event<'_, AnyError>) {
        if let Some(hook) = self.hook {
            hook.call(self.key, event);
        }
    }
}

/// The transport failure an attempt's error was read as by the judge.
fn transport_of(outcome: &Outcome) -> TransportError {
    match outcome.seen() {
        Some(Seen::Transport(e)) => e,
        _ => TransportError::Other,
    }
}

impl<RB> drive::Observe<Result<Response<RB>, AnyError>> for Story<'_> {
    fn event(&mut self, event: &drive::Event<'_, Result<Response<RB>, AnyError>>) {
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
                self.attempts = attempt;
                self.recorder.attempt(attempt, timeout, notify);
            }
            drive::Event::Ended {
                attempt,
                output,
                outcome,
                at,
                took,
            } => {
                crate::trace::ended(key, attempt, &outcome, took);
                let (observed, left) = match output {
                    Some(Ok(response)) => (
                        Observed::Response {
                            status: response.status().as_u16(),
                            hint: outcome.hint(),
                        },
                        Left::Answer,
                    ),
                    Some(Err(error)) => {
                        let kind = transport_of(&outcome);
                        (
                            Observed::Transport(kind),
                            Left::Error(error, ErrorClass::Transport(kind)),
                        )
                    }
                    None => (
                        Observed::Transport(TransportError::TimedOut),
                        Left::TimedOut,
                    ),
                };
                self.recorder
                    .ended(attempt, at, took, outcome, observed, left, notify);
            }
            drive::Event::Wait {
                until,
                delay,
                reason,
            } => {
                crate::trace::wait(key, self.attempts, delay, &reason);
                self.recorder.wait(until, delay, reason, notify);
            }
            _ => {}
        }
    }

    fn superseded(&mut self, attempt: u32, output: Result<Response<RB>, AnyError>) {
        if let Err(error) = output {
            let class = match self.recorder.history().outcomes().last() {
                Some(Observed::Transport(e)) => ErrorClass::Transport(e),
                _ => ErrorClass::Transport(TransportError::Other),
            };
            self.recorder.keep(attempt, error, class);
        }
    }
}

// An attempt's error is an `AnyError`, a named type rather than `BoxError` itself: the
// driver's output type must not carry a trait object's lifetime, or the request future
// cannot be proven `Send` for every lifetime.

/// Sends each attempt: a copy of the request head with a new body handle, to a clone
/// of the inner service made ready first. gRPC calls carry `grpc-previous-rpc-attempts`
/// on every retry (gRFC A6).
struct Sender<'a, S, B> {
    service: S,
    head: &'a http::request::Parts,
    body: &'a ReplayBody<B>,
    grpc: bool,
    /// The first attempt may use the service as given (already made ready by the caller).
    ready: bool,
}

impl<S, B, RB> drive::Operation<Result<Response<RB>, AnyError>> for Sender<'_, S, B>
where
    S: Service<Request<ReplayBody<B>>, Response = Response<RB>>,
    S::Error: Into<BoxError>,
{
    fn attempt(
        &mut self,
        attempt: u32,
        _: Option<Duration>,
    ) -> impl Future<Output = Result<Response<RB>, AnyError>> {
        let body = if attempt <= 1 {
            self.body.first()
        } else {
            self.body.replay()
        };
        let request = body.map(|body| {
            let mut request = Request::new(body);
            *request.method_mut() = self.head.method.clone();
            *request.uri_mut() = self.head.uri.clone();
            *request.version_mut() = self.head.version;
            *request.headers_mut() = self.head.headers.clone();
            *request.extensions_mut() = self.head.extensions.clone();
            if self.grpc && attempt > 1 {
                request.headers_mut().insert(
                    "grpc-previous-rpc-attempts",
                    HeaderValue::from(attempt.saturating_sub(1)),
                );
            }
            request
        });
        let ready = std::mem::replace(&mut self.ready, false);
        let service = &mut self.service;
        async move {
            let Some(request) = request else {
                // Unreachable while the judge refuses retries of such bodies.
                return Err(AnyError(Box::new(crate::body::ReplayError::OriginalFailed)));
            };
            if !ready {
                poll_fn(|cx| service.poll_ready(cx))
                    .await
                    .map_err(|e| AnyError(e.into()))?;
            }
            service.call(request).await.map_err(|e| AnyError(e.into()))
        }
    }
}

/// One request, driven to its end by the core's driver.
async fn run<S, B, RB, C>(
    config: Arc<Config<C>>,
    service: S,
    request: Request<B>,
    key: Arc<str>,
) -> Result<Response<RB>, BoxError>
where
    S: Service<Request<ReplayBody<B>>, Response = Response<RB>>,
    S::Error: Into<BoxError>,
    B: Body,
    C: Classify + Clone + Send + Sync + 'static,
{
    let start = clock::now();
    let (head, body) = request.into_parts();
    // Most requests carry no extension at all: skip the four lookups then.
    let overrides = if head.extensions.is_empty() {
        Overrides::default()
    } else {
        Overrides::<C>::from_extensions(&head.extensions)
    };
    let idempotent = request_is_idempotent(&head.method, &head.headers, overrides.idempotent);
    let grpc = is_grpc(&head.headers);
    let body = ReplayBody::new(body, config.body_cap);

    // The layer's policy is borrowed; only a per-request override makes a copy.
    let policy = overrides.policy_for(&config.policy);
    let policy: &RetryPolicy<C> = &policy;
    let machine = Retry::new(policy, relent_tokio::seed::fresh_seed(), start)
        .with_budget(config.budget.as_ref().map(SharedBudget::token_bucket))
        .with_gate(config.table.gate_borrowed(&*key));
    let judge = HttpJudge {
        policy,
        hints: &config.hints,
        body: &body,
        idempotent,
        grpc,
    };
    let mut story = Story {
        key: &key,
        hook: config.hook.as_ref(),
        attempts: 0,
        recorder: Recorder::new(start, true),
    };
    let sender = Sender {
        service,
        head: &head,
        body: &body,
        grpc,
        // The caller made `service` ready before handing the request over.
        ready: true,
    };
    let finished = drive::run(machine, &TokioTimer, judge, &mut story, sender).await;
    let attempts = story.attempts;
    match finished {
        Finished::Succeeded(Ok(mut response)) => {
            // The run ended when its last attempt did (the driver read the clock then).
            let elapsed = story.recorder.last_ended().saturating_duration_since(start);
            let (history, _) = story.recorder.finish(Arc::clone(&key), elapsed, None);
            response.extensions_mut().insert(Attempts(attempts));
            response.extensions_mut().insert(history);
            Ok(response)
        }
        // The judge never reads an error as a success; if a custom classifier does, the
        // error is still the answer.
        Finished::Succeeded(Err(e)) => Err(e.0),
        Finished::GaveUp { report, last } => {
            crate::trace::give_up(&key, &report);
            story.notify(&Event::GaveUp(&report));
            let mut recorder = story.recorder;
            match last {
                Some(Ok(mut response)) => {
                    let (history, _) =
                        recorder.finish(Arc::clone(&key), report.elapsed, Some(report));
                    response.extensions_mut().insert(Attempts(report.attempts));
                    response.extensions_mut().insert(report);
                    response.extensions_mut().insert(history);
                    Ok(response)
                }
                last => {
                    if let Some(Err(error)) = last {
                        recorder.keep(report.attempts, error, class_of_last(&report));
                    }
                    let (history, causes) =
                        recorder.finish(Arc::clone(&key), report.elapsed, Some(report));
                    Err(Box::new(
                        RetryError::new(causes, history, report).with_error_chain(),
                    ))
                }
            }
        }
    }
}

/// The class of the last attempt's error, as the report shows it.
fn class_of_last(report: &relent::retry::Report) -> ErrorClass {
    ErrorClass::Transport(
        report
            .last
            .map_or(TransportError::Other, |o| transport_of(&o)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_cache_follows_the_origin() {
        let layer = RetryLayer::builder().build().expect("layer");
        let mut svc = layer.layer(());
        let mut key = |uri: &str| svc.key_for(&uri.parse().expect("uri"));
        let a = key("http://a.example/x");
        assert_eq!(&*a, "http://a.example:80");
        let same = key("http://A.EXAMPLE/y?z");
        assert!(Arc::ptr_eq(&a, &same), "same origin, same key");
        assert_eq!(&*key("https://a.example/x"), "https://a.example:443");
        assert_eq!(&*key("http://a.example:8080/"), "http://a.example:8080");
        assert_eq!(&*key("http://b.example/"), "http://b.example:80");
        assert_eq!(&*key("/relative"), "");
        assert_eq!(&*key("http://b.example/"), "http://b.example:80");
    }
}
