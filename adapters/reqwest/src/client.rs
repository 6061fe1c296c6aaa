//! The same engine for plain `reqwest::Client` users, without reqwest-middleware.

use std::future::Future;

use relent::http::{Classify, StandardClassifier};
use relent::retry::{Action, Retry, RetryPolicy};
use reqwest::{Request, Response};

use crate::drive::Plan;
use crate::error::{RetryError, SendFailure};
use crate::overrides::Overrides;
use crate::retry_engine::RetryEngine;
use relent_tokio::AttemptHistory;

/// A `reqwest::Client` with a [`RetryEngine`]: retries without reqwest-middleware.
///
/// Cheap to clone (a reqwest client and a retrier are both shared handles).
#[derive(Clone, Debug)]
pub struct RetryClient<C = StandardClassifier> {
    client: reqwest::Client,
    retrier: RetryEngine<C>,
}

impl<C> RetryClient<C> {
    /// Pair a client with a retrier.
    #[must_use]
    pub fn new(client: reqwest::Client, retrier: RetryEngine<C>) -> Self {
        RetryClient { client, retrier }
    }

    /// The reqwest client, to build requests with (`retry_client.client().get(url).build()?`).
    #[must_use]
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The retry engine.
    #[must_use]
    pub fn retrier(&self) -> &RetryEngine<C> {
        &self.retrier
    }
}

impl<C: Classify + Clone + Send + Sync + 'static> RetryClient<C> {
    /// Send a request with retries and the retrier's settings.
    ///
    /// (Not an `async fn`: it returns the engine's future itself, so the request's
    /// future is not moved through one more layer per call.)
    pub fn execute(
        &self,
        request: Request,
    ) -> impl Future<Output = Result<Response, RetryError>> + Send + '_ {
        // No overrides to read: the retrier's policy, borrowed.
        let plan = Plan::of(self.retrier.policy());
        self.retrier.execute_plan(&self.client, request, plan)
    }

    /// Send a request with retries and per-request overrides.
    pub fn execute_with(
        &self,
        request: Request,
        overrides: Overrides<C>,
    ) -> impl Future<Output = Result<Response, RetryError>> + Send + '_ {
        self.retrier.execute(&self.client, request, overrides)
    }
}

/// `send_with` on a plain `reqwest::RequestBuilder`: the builder's own client
/// sends every attempt, the retrier decides.
pub trait RequestBuilderExt {
    /// Build the request and send it with retries.
    fn send_with<C>(
        self,
        retrier: &RetryEngine<C>,
    ) -> impl Future<Output = Result<Response, RetryError>> + Send
    where
        C: Classify + Clone + Send + Sync + 'static;

    /// Build the request and send it with retries and per-request overrides.
    fn send_with_overrides<C>(
        self,
        retrier: &RetryEngine<C>,
        overrides: Overrides<C>,
    ) -> impl Future<Output = Result<Response, RetryError>> + Send
    where
        C: Classify + Clone + Send + Sync + 'static;
}

impl RequestBuilderExt for reqwest::RequestBuilder {
    fn send_with<C>(
        self,
        retrier: &RetryEngine<C>,
    ) -> impl Future<Output = Result<Response, RetryError>> + Send
    where
        C: Classify + Clone + Send + Sync + 'static,
    {
        self.send_with_overrides(retrier, Overrides::default())
    }

    fn send_with_overrides<C>(
        self,
        retrier: &RetryEngine<C>,
        overrides: Overrides<C>,
    ) -> impl Future<Output = Result<Response, RetryError>> + Send
    where
        C: Classify + Clone + Send + Sync + 'static,
    {
        let retrier = retrier.clone();
        let (client, request) = self.build_split();
        async move {
            match request {
                Ok(request) => retrier.execute(&client, request, overrides).await,
                Err(e) => Err(unbuildable(e)),
            }
        }
    }
}

/// A request that could not be built: no attempt, not retryable, the builder error as source.
fn unbuildable(error: reqwest::Error) -> RetryError {
    let key = error
        .url()
        .map(|u| u.as_str().to_owned())
        .unwrap_or_default();
    // The core tells the story: an operation that could not start.
    let policy = RetryPolicy::default();
    let now = relent_tokio::clock::now();
    let mut machine = Retry::new(&policy, 0, now);
    machine.handle_unsendable(now);
    let Action::GiveUp(report) = machine.poll(now) else {
        unreachable!("an unsendable operation gives up");
    };
    let cause = SendFailure::from_reqwest(error).into_cause(report.attempts, now);
    let mut history = AttemptHistory::new(key);
    history.finish(std::time::Duration::ZERO, Some(report));
    // No attempt was sent; the one cause (numbered 0) is the builder's error, which the
    // error's `Display` names.
    RetryError::new(vec![cause], history, report).with_error_chain()
}
