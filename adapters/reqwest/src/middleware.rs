//! The reqwest-middleware layer.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use http::Extensions;
use relent::http::{Classify, StandardClassifier};
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

use crate::drive::{self, MiddlewareTransport};
use crate::overrides::Overrides;
use crate::retry_engine::RetryEngine;

/// Retries, Retry-After and per-attempt timeouts as one
/// [`reqwest_middleware::Middleware`].
///
/// Per request, it:
/// 1. reads the overrides in the request's extensions ([`Overrides::from_extensions`]);
/// 2. waits while the Retry-After table holds a deadline for the request's key
///    (or gives up at once if that wait is beyond the hint cap or the deadline);
/// 3. sends attempts down the rest of the stack, each bounded by
///    `min(per-try timeout, time left)`, backing off as the policy says and
///    obeying server hints within their cap;
/// 4. records the hint of a 429/503 in the table for the requests that follow;
/// 5. returns the final response with its [`AttemptHistory`](crate::AttemptHistory)
///    in its extensions, the last response if retries ran out on a status, or
///    `Error::Middleware` wrapping a [`RetryError`](crate::RetryError) when the
///    last attempt failed below HTTP.
///
/// Put it first in the stack (outermost), so that every attempt runs through
/// the layers after it.
pub struct RetryMiddleware<C = StandardClassifier> {
    retrier: RetryEngine<C>,
}

impl<C> Clone for RetryMiddleware<C> {
    /// Another handle on the same retrier (one `Arc`): same table, budget and policy.
    fn clone(&self) -> Self {
        RetryMiddleware {
            retrier: self.retrier.clone(),
        }
    }
}

impl<C> RetryMiddleware<C> {
    /// A layer driven by `retrier` (clones of one retrier share its table and budget).
    #[must_use]
    pub fn new(retrier: RetryEngine<C>) -> Self {
        RetryMiddleware { retrier }
    }

    /// The engine behind this layer.
    #[must_use]
    pub fn retrier(&self) -> &RetryEngine<C> {
        &self.retrier
    }
}

impl Default for RetryMiddleware<StandardClassifier> {
    /// A layer with every default ([`RetryEngine::default`]): no `build()?` needed.
    ///
    /// ```
    /// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
    ///     .with(relent_reqwest::RetryMiddleware::default())
    ///     .build();
    /// # drop(client);
    /// ```
    fn default() -> Self {
        RetryMiddleware::new(RetryEngine::default())
    }
}

impl<C> From<RetryEngine<C>> for RetryMiddleware<C> {
    fn from(retrier: RetryEngine<C>) -> Self {
        RetryMiddleware::new(retrier)
    }
}

impl<C: fmt::Debug> fmt::Debug for RetryMiddleware<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryMiddleware")
            .field("retrier", &self.retrier)
            .finish()
    }
}

impl<C> Middleware for RetryMiddleware<C>
where
    C: Classify + Clone + Send + Sync + 'static,
{
    /// Written out rather than with `#[async_trait]`: the macro boxes an `async` block
    /// that then holds the driver's future, one more layer that the whole (large)
    /// future is moved through on every request; here the box holds the driver's
    /// future itself. The signature is the one `#[async_trait]` gives the trait.
    fn handle<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        req: Request,
        extensions: &'life1 mut Extensions,
        next: Next<'life2>,
    ) -> Pin<Box<dyn Future<Output = reqwest_middleware::Result<Response>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        // Most requests carry no extension at all: skip the lookups then.
        let policy = &self.retrier.inner.policy;
        let plan = if extensions.is_empty() {
            drive::Plan::of(policy)
        } else {
            drive::Plan::new(Overrides::<C>::from_extensions(extensions), policy)
        };
        let transport = MiddlewareTransport { next, extensions };
        Box::pin(drive::run(
            &self.retrier.inner,
            req,
            plan,
            transport,
            reqwest_middleware::Error::middleware,
        ))
    }
}
