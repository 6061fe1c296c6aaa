//! [`TimeoutLayer`]: relent's kubex-style timeout resolution on a tower stack.
//!
//! A client has a default ([`Timeouts`]); each request may say [`TimeoutOverride`] in its
//! extensions: `Inherit` the default, `Disable` every client-side limit, or `Set` its own
//! (which replaces the default as a whole, see [`TimeoutOverride`]). The resolved
//! `total` bounds the request through the inner service's response; `connect` belongs
//! to the connector ([`connect_timeout`]). Put the layer *below* the retry layer and it
//! bounds each attempt; above it, the whole operation.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Request;
use relent::timeout::{ResolvedTimeouts, TimeoutOverride, Timeouts};
use tower::{Layer, Service};

use crate::BoxError;

/// A request's time limit ran out before its response arrived.
///
/// The retry layer reads it as [`TransportError::TimedOut`](relent::retry::TransportError).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed(pub Duration);

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no response within {:?}", self.0)
    }
}

impl std::error::Error for Elapsed {}

/// Applies a client's default [`Timeouts`] to every request, as each request's
/// [`TimeoutOverride`] extension resolves it.
///
/// ```
/// use std::time::Duration;
/// use relent::timeout::Timeouts;
/// use relent_tower::TimeoutLayer;
///
/// // kube-rs's client default (connect 30 s) with a 10 s total.
/// let layer = TimeoutLayer::new(Timeouts::KUBE_CLIENT.with_total(Duration::from_secs(10)));
/// assert_eq!(layer.default_timeouts().total, Some(Duration::from_secs(10)));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeoutLayer {
    default: Timeouts,
}

impl TimeoutLayer {
    /// Every request gets `default` unless it carries a [`TimeoutOverride`].
    #[must_use]
    pub const fn new(default: Timeouts) -> Self {
        TimeoutLayer { default }
    }

    /// The client default.
    #[must_use]
    pub const fn default_timeouts(&self) -> &Timeouts {
        &self.default
    }
}

impl<S> Layer<S> for TimeoutLayer {
    type Service = Timeout<S>;
    fn layer(&self, inner: S) -> Timeout<S> {
        Timeout {
            inner,
            default: self.default,
        }
    }
}

/// The service [`TimeoutLayer`] makes.
#[derive(Clone, Debug)]
pub struct Timeout<S> {
    inner: S,
    default: Timeouts,
}

/// The limits one request gets: its [`TimeoutOverride`] resolved against `default`.
pub fn resolve<B>(request: &Request<B>, default: &Timeouts) -> ResolvedTimeouts {
    request
        .extensions()
        .get::<TimeoutOverride>()
        .copied()
        .unwrap_or_default()
        .resolve(default)
}

/// Set a hyper-util connector's connect timeout from resolved limits (`None`: none),
/// the phase a per-request layer cannot reach.
pub fn connect_timeout(
    connector: &mut hyper_util::client::legacy::connect::HttpConnector,
    limits: &ResolvedTimeouts,
) {
    connector.set_connect_timeout(limits.connect());
}

impl<S, B> Service<Request<B>> for Timeout<S>
where
    S: Service<Request<B>>,
    S::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = TimeoutFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let limit = resolve(&request, &self.default).total();
        TimeoutFuture {
            inner: self.inner.call(request),
            sleep: limit.map(tokio::time::sleep),
            limit: limit.unwrap_or_default(),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`Timeout`].
    pub struct TimeoutFuture<F> {
        #[pin]
        inner: F,
        #[pin]
        sleep: Option<tokio::time::Sleep>,
        limit: Duration,
    }
}

impl<F, T, E> Future for TimeoutFuture<F>
where
    F: Future<Output = Result<T, E>>,
    E: Into<BoxError>,
{
    type Output = Result<T, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // The response first: one that is ready when the time is up still counts.
        if let Poll::Ready(out) = this.inner.poll(cx) {
            return Poll::Ready(out.map_err(Into::into));
        }
        if let Some(sleep) = this.sleep.as_pin_mut() {
            if sleep.poll(cx).is_ready() {
                return Poll::Ready(Err(Box::new(Elapsed(*this.limit))));
            }
        }
        Poll::Pending
    }
}
