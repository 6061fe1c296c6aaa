//! [`Policy`]: relent's machine behind tower's own `tower::retry::Retry`.
//!
//! For a stack that already uses `tower::retry::RetryLayer`, this policy steps the same
//! [`Retry`] machine the [`RetryLayer`](crate::RetryLayer) drives: the classifier, hints,
//! backoff, deadline, budget and the shared Retry-After table all apply. What tower's
//! trait cannot express, and the layer can:
//!
//! - the first attempt is sent before the policy is asked anything, so the shared table
//!   holds back retries only, not first attempts;
//! - a per-attempt timeout is not enforced (put a [`TimeoutLayer`](crate::TimeoutLayer)
//!   below the retry);
//! - after a wait, the retry is sent even if the table meanwhile asked to give up (the
//!   machine ends then, and the retry's answer is returned as it is).
//!
//! Requests must carry a [`ReplayBody`] (tower clones the request before each attempt,
//! and only a replayable body can be cloned); a body past its cap is sent once:
//! `clone_request` answers `None`, and tower then never calls `retry` for that request
//! (tower#690 documents this), so its response carries no [`Attempts`].

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};

use http::{HeaderValue, Request, Response};
use http_body::Body;
use relent::Instant;
use relent::hint::HintReader;
use relent::http::{Attempt, Classify, Observed, Overrides, StandardClassifier};
use relent::retry::{
    Action, Forbidden, Gate, Hold, Outcome, Retry, RetryPolicy, SharedTokenBucket,
};
use relent::table::CapacityError;
use relent::timeout::TimeoutOverride;
use relent_tokio::{SharedBudget, SharedDeadlines, clock};

use crate::body::ReplayBody;
use crate::classify::{
    AsStdError, classify_error, is_grpc, observe_response, origin_key, request_is_idempotent,
};
use crate::layer::Attempts;

pub(crate) struct Shared<C> {
    pub(crate) policy: Arc<RetryPolicy<C>>,
    pub(crate) table: SharedDeadlines<String>,
    pub(crate) budget: Option<SharedBudget>,
    pub(crate) hints: HintReader,
}

/// A shared table bound to one owned key: a gate that lives as long as the request.
struct OwnedGate {
    table: SharedDeadlines<String>,
    key: String,
}

impl Gate for OwnedGate {
    fn hold(&mut self, now: Instant) -> Option<Hold> {
        self.table.gate(&self.key).hold(now)
    }
    fn record(&mut self, hold: Hold, now: Instant) {
        self.table.gate(&self.key).record(hold, now);
    }
}

type Machine<C> = Retry<Arc<RetryPolicy<C>>, Option<Arc<SharedTokenBucket>>, OwnedGate>;

struct Run<C> {
    machine: Machine<C>,
    idempotent: bool,
    grpc: bool,
}

/// When the first attempt of a request was sent, carried on tower's copy of it.
#[derive(Clone, Copy, Debug)]
struct Started(Instant);

/// relent's retry machine as a `tower::retry::Policy` (tower 0.5).
///
/// Each request gets a fresh machine: tower clones the policy into every response
/// future, and a clone starts with no run. Get one from
/// [`RetryLayer::tower_policy`](crate::RetryLayer::tower_policy) to share the layer's
/// table and budget, or [`Policy::new`].
pub struct Policy<C = StandardClassifier> {
    shared: Arc<Shared<C>>,
    run: Option<Arc<Mutex<Run<C>>>>,
}

impl<C> Clone for Policy<C> {
    fn clone(&self) -> Self {
        Policy {
            shared: Arc::clone(&self.shared),
            run: None,
        }
    }
}

impl<C> std::fmt::Debug for Policy<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("running", &self.run.is_some())
            .finish_non_exhaustive()
    }
}

impl<C> Policy<C> {
    /// `policy` with a new Retry-After table of 4,096 origins and no budget.
    pub fn new(policy: RetryPolicy<C>) -> Result<Self, CapacityError> {
        Ok(Self::from_shared(Arc::new(Shared {
            policy: Arc::new(policy),
            table: SharedDeadlines::new(4096)?,
            budget: None,
            hints: HintReader::new(),
        })))
    }

    pub(crate) fn from_shared(shared: Arc<Shared<C>>) -> Self {
        Policy { shared, run: None }
    }
}

fn lock<C>(run: &Mutex<Run<C>>) -> MutexGuard<'_, Run<C>> {
    // A run's state is a few fields updated without panicking; a poisoned lock is taken over.
    run.lock().unwrap_or_else(|p| p.into_inner())
}

impl<C: Clone + Send + Sync + 'static> Policy<C> {
    /// The machine for a request whose first attempt started at `started` and just ended.
    fn start<B>(&self, request: &Request<B>) -> Run<C> {
        let started = request
            .extensions()
            .get::<Started>()
            .map_or_else(clock::now, |s| s.0);
        let overrides = Overrides::<C>::from_extensions(request.extensions());
        let policy = if overrides.policy.is_none()
            && overrides.timeout == TimeoutOverride::Inherit
            && !overrides.no_retry
        {
            Arc::clone(&self.shared.policy)
        } else {
            let mut policy = overrides
                .policy
                .unwrap_or_else(|| (*self.shared.policy).clone());
            if overrides.no_retry {
                policy = policy.with_max_attempts(1);
            }
            Arc::new(policy)
        };
        let mut machine = Retry::new(policy, relent_tokio::seed::fresh_seed(), started)
            .with_budget(self.shared.budget.as_ref().map(SharedBudget::bucket));
        // The first attempt was sent without asking anyone; the machine is told so
        // before it gets the gate, which would otherwise be asked about it.
        let _ = machine.poll(started);
        let machine = machine.with_gate(OwnedGate {
            table: self.shared.table.clone(),
            key: origin_key(request.uri()),
        });
        Run {
            machine,
            idempotent: request_is_idempotent(
                request.method(),
                request.headers(),
                overrides.idempotent,
            ),
            grpc: is_grpc(request.headers()),
        }
    }
}

/// Sleep until `until`, then ask the machine again until it stops asking to wait.
async fn wait_turn<C>(run: Arc<Mutex<Run<C>>>, mut until: Instant) {
    loop {
        clock::sleep_until(until).await;
        let next = lock(&run).machine.poll(clock::now());
        match next {
            Action::Wait { until: later, .. } => until = later,
            _ => return,
        }
    }
}

impl<B, RB, E, C> tower::retry::Policy<Request<ReplayBody<B>>, Response<RB>, E> for Policy<C>
where
    B: Body,
    E: AsStdError,
    C: Classify + Clone + Send + Sync + 'static,
{
    type Future = Pin<Box<dyn Future<Output = ()> + Send>>;

    fn retry(
        &mut self,
        request: &mut Request<ReplayBody<B>>,
        result: &mut Result<Response<RB>, E>,
    ) -> Option<Self::Future> {
        let now = clock::now();
        let run = match &self.run {
            Some(run) => Arc::clone(run),
            None => {
                let run = Arc::new(Mutex::new(self.start(request)));
                self.run = Some(Arc::clone(&run));
                run
            }
        };
        let mut guard = lock(&run);
        let observed = match result {
            Ok(r) => observe_response(
                r.status().as_u16(),
                r.headers(),
                guard.grpc,
                &self.shared.hints,
            ),
            Err(e) => Observed::Transport(classify_error(e.as_std_error())),
        };
        let outcome = guard.machine.policy().classifier.outcome(&Attempt {
            observed,
            idempotent: guard.idempotent,
            number: guard.machine.attempts(),
        });
        let outcome = match outcome {
            Outcome::Retryable { hint, seen, .. } if !request.body().is_replayable() => {
                Outcome::Final {
                    refused: Some(Forbidden::BodyNotReplayable),
                    hint,
                    seen,
                }
            }
            outcome => outcome,
        };
        guard.machine.handle_outcome(now, outcome);
        match guard.machine.poll(now) {
            Action::Wait { until, .. } => {
                if guard.grpc {
                    request.headers_mut().insert(
                        "grpc-previous-rpc-attempts",
                        HeaderValue::from(guard.machine.attempts()),
                    );
                }
                drop(guard);
                Some(Box::pin(wait_turn(run, until)))
            }
            Action::Send { .. } => {
                drop(guard);
                Some(Box::pin(std::future::ready(())))
            }
            Action::Done { attempts } => {
                if let Ok(response) = result {
                    response.extensions_mut().insert(Attempts(attempts));
                }
                None
            }
            Action::GiveUp(report) => {
                if let Ok(response) = result {
                    response.extensions_mut().insert(Attempts(report.attempts));
                    response.extensions_mut().insert(report);
                }
                None
            }
        }
    }

    fn clone_request(
        &mut self,
        request: &Request<ReplayBody<B>>,
    ) -> Option<Request<ReplayBody<B>>> {
        let body = request.body().replay()?;
        let mut copy = Request::new(body);
        *copy.method_mut() = request.method().clone();
        *copy.uri_mut() = request.uri().clone();
        *copy.version_mut() = request.version();
        *copy.headers_mut() = request.headers().clone();
        *copy.extensions_mut() = request.extensions().clone();
        if copy.extensions().get::<Started>().is_none() {
            copy.extensions_mut().insert(Started(clock::now()));
        }
        Some(copy)
    }
}
