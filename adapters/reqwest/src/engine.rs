//! The one loop that drives the core retry machine over "send one attempt".
//!
//! Every entry point (the middleware, [`RetryClient`](crate::RetryClient),
//! [`Retrier::execute`](crate::Retrier::execute)) ends here; they differ only
//! in how one attempt is sent ([`Transport`]).

use std::future::Future;

use std::time::Duration;

use http::Extensions;
use relent::retry::{
    Action, Attempt, Budget, Classify, Forbidden, GiveUpReason, Outcome, Report, Retry,
    TransportError, Verdict, WaitReason, is_idempotent,
};
use relent::timeout::TimeoutOverride;
use relent_tokio::clock;
use reqwest::{Request, Response};
use reqwest_middleware::Next;

use crate::error::{Failure, RetryError};
use crate::history::{AttemptHistory, Event};
use crate::overrides::Overrides;
use crate::retrier::Inner;
use crate::trace;

/// How one attempt is sent.
pub(crate) trait Transport {
    fn send(&mut self, request: Request) -> impl Future<Output = Result<Response, Failure>> + Send;
}

/// A plain `reqwest::Client`.
pub(crate) struct ClientTransport<'c> {
    pub(crate) client: &'c reqwest::Client,
}

impl Transport for ClientTransport<'_> {
    fn send(&mut self, request: Request) -> impl Future<Output = Result<Response, Failure>> + Send {
        let pending = self.client.execute(request);
        async move { pending.await.map_err(Failure::from_reqwest) }
    }
}

/// The rest of a reqwest-middleware stack.
pub(crate) struct MiddlewareTransport<'a> {
    pub(crate) next: Next<'a>,
    pub(crate) extensions: &'a mut Extensions,
}

impl Transport for MiddlewareTransport<'_> {
    fn send(&mut self, request: Request) -> impl Future<Output = Result<Response, Failure>> + Send {
        let pending = self.next.clone().run(request, self.extensions);
        async move { pending.await.map_err(Failure::from_middleware) }
    }
}

/// The retrier's classifier, with one more rule in front: a request whose body
/// cannot be replayed is never retried ([`Forbidden::BodyNotReplayable`]).
/// Verdicts that are not a retry (success, a final status, another veto) pass through.
#[derive(Clone, Debug)]
struct ReplayGuard<C> {
    inner: C,
    replayable: bool,
}

impl<C: Classify> Classify for ReplayGuard<C> {
    fn classify(&self, attempt: &Attempt) -> Verdict {
        match self.inner.classify(attempt) {
            Verdict::Retry(_) if !self.replayable => Verdict::Forbid(Forbidden::BodyNotReplayable),
            verdict => verdict,
        }
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

/// The request for the next attempt: a clone while the body can be replayed,
/// else the original itself (once).
fn next_request(original: &mut Option<Request>, replayable: bool) -> Option<Request> {
    if replayable {
        if let Some(copy) = original.as_ref().and_then(Request::try_clone) {
            return Some(copy);
        }
    }
    original.take()
}

/// Drive one request to its end.
pub(crate) async fn run<C, T>(
    retrier: &Inner<C>,
    request: Request,
    overrides: Overrides<C>,
    transport: &mut T,
) -> Result<Response, RetryError>
where
    C: Classify + Clone + Send + Sync + 'static,
    T: Transport,
{
    let start = clock::now();
    let key = retrier.key_by.key(request.url());
    let idempotent = overrides.idempotent || is_idempotent(request.method());
    // A body is replayable when reqwest holds it as bytes; a stream can be sent once.
    let replayable = request.body().is_none_or(|b| b.as_bytes().is_some());
    // reqwest lets a request's timeout replace the client's, so the tighter of the
    // request's own and the client's (as told to the retrier) bounds every attempt.
    let caller_timeout = min_limit(request.timeout().copied(), retrier.client_timeout);

    let mut policy = overrides.policy.unwrap_or_else(|| retrier.policy.clone());
    policy.per_try_timeout = match overrides.timeout {
        TimeoutOverride::Inherit => policy.per_try_timeout,
        TimeoutOverride::Disable => None,
        TimeoutOverride::Set(t) => t.resolve().total(),
    };
    if overrides.no_retry {
        policy = policy.with_max_attempts(1);
    }
    let guard = ReplayGuard {
        inner: policy.classifier.clone(),
        replayable,
    };
    let policy = policy.with_classifier(guard);
    let mut machine = Retry::new(policy, relent_tokio::seed::fresh_seed(), start)
        .idempotent(idempotent)
        .with_budget(retrier.budget.as_ref().map(|b| b.bucket()));

    let mut history = AttemptHistory::new(key);
    let mut original = Some(request);
    let mut last: Option<Result<Response, Failure>> = None;
    // When the last attempt ended: the machine schedules backoffs and hints from there.
    let mut last_ended = start;

    // Clock reads cost real time per request, so the loop reuses the last one it
    // made when nothing can have waited since: the start, or an attempt's end.
    let mut fresh = Some(start);
    loop {
        let now = fresh.take().unwrap_or_else(clock::now);
        let gate = retrier.table.not_before_at(history.key(), now);
        match machine.poll(now, gate) {
            Action::Send { attempt, timeout } => {
                let Some(mut request) = next_request(&mut original, replayable) else {
                    // Only reachable if a replayable body stopped cloning: nothing left to send.
                    machine.handle_transport_error(now, TransportError::BodyNotReplayable);
                    continue;
                };
                // Never longer than the caller's own timeout (the request's or the client's).
                let limit = min_limit(timeout, caller_timeout);
                // reqwest enforces it too, so it keeps bounding the body once it is returned.
                // (Written only when it changes: reqwest allocates its config slot on write.)
                if limit != request.timeout().copied() {
                    *request.timeout_mut() = limit;
                }
                // A zero-length backoff goes straight to Send: release the previous response now.
                drop(last.take());
                machine.handle_attempt_started(now);
                let sent = transport.send(request);
                // The attempt's deadline is absolute, from the machine's `now`, so the
                // time spent cloning the request counts against it.
                let result = match limit {
                    Some(d) => match clock::within(sent, now.saturating_add(d)).await {
                        Some(result) => result,
                        None => Err(Failure::timed_out(d)),
                    },
                    None => sent.await,
                };
                let ended = clock::now();
                last_ended = ended;
                fresh = Some(ended);
                let outcome = match &result {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        // Only an error status can carry a hint the machine acts on.
                        let hint = (status >= 400)
                            .then(|| {
                                retrier
                                    .hints
                                    .read_header_map(response.headers(), clock::unix_now())
                            })
                            .flatten()
                            .map(|h| h.hint);
                        machine.handle_response(ended, status, hint);
                        record_hint(retrier, &history, &machine, status);
                        Outcome::Response { status, hint }
                    }
                    Err(failure) => {
                        machine.handle_transport_error(ended, failure.kind);
                        Outcome::Transport(failure.kind)
                    }
                };
                let event = Event::Attempt {
                    number: attempt,
                    at: now.saturating_duration_since(start),
                    took: ended.saturating_duration_since(now),
                    timeout: limit,
                    outcome,
                };
                trace::attempt(history.key(), &event);
                history.push(event);
                last = Some(result);
            }
            Action::Wait { until, reason } => {
                // The previous response is kept through the wait: should the machine
                // give up after it (a gate appeared, the deadline passed), that response
                // is still the answer. It is released when the next attempt starts.
                // A backoff or a hint was scheduled when the attempt ended; a gate wait now.
                let from = match reason {
                    WaitReason::Gate => now,
                    WaitReason::Backoff(_) | WaitReason::ServerHint(_) => last_ended,
                };
                let event = Event::Wait {
                    at: from.saturating_duration_since(start),
                    duration: until.saturating_duration_since(from),
                    reason,
                };
                trace::wait(history.key(), &event);
                history.push(event);
                clock::sleep_until(until).await;
            }
            // This driver always feeds an outcome before polling again; should the machine
            // still wait for one, end the attempt rather than loop.
            Action::AwaitOutcome { .. } => {
                machine.handle_transport_error(now, TransportError::Other);
            }
            Action::Done { attempts } => {
                let elapsed = now.saturating_duration_since(start);
                history.finish(elapsed, None);
                return match last {
                    Some(Ok(mut response)) => {
                        response.extensions_mut().insert(history);
                        Ok(response)
                    }
                    // Unreachable by the machine's rules (Done follows a response); say so honestly.
                    other => {
                        let report = Report {
                            reason: GiveUpReason::NotRetryable,
                            attempts,
                            last: machine.last_outcome(),
                            waited: machine.waited(),
                            elapsed,
                        };
                        Err(give_up(report, history, other))
                    }
                };
            }
            Action::GiveUp(report) => {
                history.finish(report.elapsed, Some(report));
                trace::give_up(history.key(), &report);
                return match last {
                    // Retries ran out on a status: the last response is the answer.
                    Some(Ok(mut response)) => {
                        response.extensions_mut().insert(history);
                        Ok(response)
                    }
                    other => Err(give_up(report, history, other)),
                };
            }
        }
    }
}

fn give_up(
    report: Report,
    history: AttemptHistory,
    last: Option<Result<Response, Failure>>,
) -> RetryError {
    let source = match last {
        Some(Err(failure)) => Some(failure.error),
        _ => None,
    };
    RetryError::new(report, history, source)
}

/// Record the server's "not before" for this request's key, so every request
/// to the same key waits for it. The machine computes it for every response
/// that carried a hint, whether or not this operation retries (clamped to the
/// hint cap); only the statuses configured in `record_statuses` are recorded.
fn record_hint<C: Classify, B: Budget>(
    retrier: &Inner<impl Sized>,
    history: &AttemptHistory,
    machine: &Retry<C, B>,
    status: u16,
) {
    if !retrier.record_statuses.contains(status) {
        return;
    }
    if let Some(deadline) = machine.hint_deadline() {
        let _ = retrier.table.record(history.key().to_owned(), deadline);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use relent::retry::RetryKind;
    use relent::retry::StandardClassifier;

    fn attempt(outcome: Outcome) -> Attempt {
        Attempt {
            outcome,
            idempotent: true,
            number: 1,
        }
    }

    #[test]
    fn replay_guard_turns_only_retries_into_body_not_replayable() {
        let once = ReplayGuard {
            inner: StandardClassifier::DEFAULT,
            replayable: false,
        };
        let again = ReplayGuard {
            inner: StandardClassifier::DEFAULT,
            replayable: true,
        };
        let s503 = attempt(Outcome::Response {
            status: 503,
            hint: None,
        });
        let s404 = attempt(Outcome::Response {
            status: 404,
            hint: None,
        });
        let connect = attempt(Outcome::Transport(TransportError::ConnectFailed));
        assert_eq!(
            once.classify(&s503),
            Verdict::Forbid(Forbidden::BodyNotReplayable)
        );
        assert_eq!(
            once.classify(&connect),
            Verdict::Forbid(Forbidden::BodyNotReplayable)
        );
        assert_eq!(once.classify(&s404), Verdict::NoOpinion);
        assert_eq!(again.classify(&s503), Verdict::Retry(RetryKind::Transient));
        // A veto that comes first stays the reason.
        let post = Attempt {
            idempotent: false,
            ..s503
        };
        assert_eq!(
            once.classify(&post),
            Verdict::Forbid(Forbidden::NotIdempotent)
        );
    }

    #[test]
    fn min_limit_treats_none_as_unlimited() {
        let s = Duration::from_secs;
        assert_eq!(min_limit(None, None), None);
        assert_eq!(min_limit(Some(s(2)), None), Some(s(2)));
        assert_eq!(min_limit(None, Some(s(3))), Some(s(3)));
        assert_eq!(min_limit(Some(s(2)), Some(s(3))), Some(s(2)));
    }

    #[test]
    fn next_request_clones_while_replayable_and_moves_once_otherwise() {
        let url = reqwest::Url::parse("http://127.0.0.1:1/").expect("url");
        let mut original = Some(Request::new(reqwest::Method::PUT, url.clone()));
        assert!(next_request(&mut original, true).is_some());
        assert!(next_request(&mut original, true).is_some());
        assert!(original.is_some(), "kept for the next attempt");

        let mut streaming = Request::new(reqwest::Method::PUT, url);
        *streaming.body_mut() = Some(reqwest::Body::wrap(String::from("once")));
        let mut original = Some(streaming);
        assert!(next_request(&mut original, false).is_some());
        assert!(next_request(&mut original, false).is_none());
    }
}
