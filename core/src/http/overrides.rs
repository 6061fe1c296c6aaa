//! Per-request overrides, carried in a request's [`Extensions`] (feature `http`).
//!
//! Every HTTP adapter reads the same marker types, so a request marked once is
//! understood by whichever stack sends it (relent-reqwest re-exports these; relent-tower
//! reads them from `http::Request::extensions`). They live here, beside the classifier
//! they feed, because they need nothing but `http::Extensions` and the core's types.
//!
//! | extension | effect |
//! |---|---|
//! | [`Idempotent`] | treat the request as idempotent (a POST with an idempotency key): retried after it may have reached the server |
//! | [`NoRetry`] | one attempt only (a Retry-After gate for its key is still respected, and a hint it receives is still recorded) |
//! | [`TimeoutOverride`] | the per-attempt timeout: `Inherit` the policy's, `Disable` it, or `Set` its `total` |
//! | [`RetryPolicy`] (of the retrier's classifier type) | this policy instead of the retrier's |

use crate::http::StandardClassifier;
use crate::retry::RetryPolicy;
use crate::timeout::TimeoutOverride;
use ::http::Extensions;
use alloc::borrow::Cow;

/// Marks a request as safe to repeat although its method is not idempotent
/// by RFC 9110 §9.2.2, typically a POST carrying an idempotency key.
///
/// Without it, a POST or PATCH is retried only when the connection could not
/// be made (the request never left).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Idempotent;

/// One attempt only for this request: no retry, whatever the policy says.
///
/// The request still waits out an active Retry-After deadline for its key
/// before it is sent, and a hint in its response is still recorded for the
/// requests that follow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NoRetry;

/// Everything one request may override, gathered from its extensions.
#[derive(Clone, Debug, PartialEq)]
pub struct Overrides<C = StandardClassifier> {
    /// A policy used instead of the retrier's.
    pub policy: Option<RetryPolicy<C>>,
    /// The per-attempt timeout: inherit the policy's `per_try_timeout`, disable it, or set it
    /// (the `total` of the given [`Timeouts`](crate::Timeouts); an adapter applies the other phases where its transport has them).
    pub timeout: TimeoutOverride,
    /// Treat the request as idempotent ([`Idempotent`]).
    pub idempotent: bool,
    /// One attempt only ([`NoRetry`]).
    pub no_retry: bool,
}

impl<C> Default for Overrides<C> {
    fn default() -> Self {
        Overrides {
            policy: None,
            timeout: TimeoutOverride::Inherit,
            idempotent: false,
            no_retry: false,
        }
    }
}

impl<C> Overrides<C> {
    /// No override: the retrier's settings apply.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Use this policy for the request.
    #[must_use]
    pub fn policy(mut self, policy: RetryPolicy<C>) -> Self {
        self.policy = Some(policy);
        self
    }

    /// Set the per-attempt timeout choice.
    #[must_use]
    pub fn timeout(mut self, timeout: impl Into<TimeoutOverride>) -> Self {
        self.timeout = timeout.into();
        self
    }

    /// Mark the request idempotent.
    #[must_use]
    pub fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }

    /// Allow one attempt only.
    #[must_use]
    pub fn no_retry(mut self) -> Self {
        self.no_retry = true;
        self
    }
}

impl<C: Clone> Overrides<C> {
    /// The policy a request runs under: `default`, borrowed, unless this request
    /// overrides it (its own policy, a per-attempt timeout set or disabled, or one
    /// attempt only), in which case a copy with the overrides applied. Every HTTP adapter
    /// reads its overrides through this, so they mean the same everywhere.
    ///
    /// ```
    /// use relent::http::Overrides;
    /// use relent::retry::RetryPolicy;
    /// use relent::timeout::TimeoutOverride;
    ///
    /// let default = RetryPolicy::default();
    /// let plain: Overrides = Overrides::default();
    /// assert!(matches!(plain.policy_for(&default), std::borrow::Cow::Borrowed(_)));
    /// let once = Overrides { no_retry: true, timeout: TimeoutOverride::Disable, ..Overrides::default() };
    /// let policy = once.policy_for(&default);
    /// assert_eq!(policy.max_attempts.get(), 1);
    /// assert_eq!(policy.per_try_timeout, None);
    /// ```
    #[must_use]
    pub fn policy_for(self, default: &RetryPolicy<C>) -> Cow<'_, RetryPolicy<C>> {
        if self.policy.is_none() && self.timeout == TimeoutOverride::Inherit && !self.no_retry {
            return Cow::Borrowed(default);
        }
        let mut policy = self.policy.unwrap_or_else(|| default.clone());
        policy.per_try_timeout = match self.timeout {
            TimeoutOverride::Inherit => policy.per_try_timeout,
            TimeoutOverride::Disable => None,
            TimeoutOverride::Set(t) => t.resolve().total(),
        };
        if self.no_retry {
            policy = policy.with_max_attempts(1);
        }
        Cow::Owned(policy)
    }
}

impl<C: Clone + Send + Sync + 'static> Overrides<C> {
    /// Read [`Idempotent`], [`NoRetry`], [`TimeoutOverride`] and `RetryPolicy<C>` from extensions.
    ///
    /// ```
    /// use http::Extensions;
    /// use relent::RetryPolicy;
    /// use relent::timeout::TimeoutOverride;
    /// use relent::http::{Idempotent, Overrides};
    ///
    /// let mut ext = Extensions::new();
    /// ext.insert(Idempotent);
    /// ext.insert(TimeoutOverride::Disable);
    /// ext.insert(RetryPolicy::urllib3());
    /// let o: Overrides = Overrides::from_extensions(&ext);
    /// assert!(o.idempotent && !o.no_retry);
    /// assert_eq!(o.timeout, TimeoutOverride::Disable);
    /// assert_eq!(o.policy, Some(RetryPolicy::urllib3()));
    /// ```
    #[must_use]
    pub fn from_extensions(extensions: &Extensions) -> Self {
        Overrides {
            policy: extensions.get::<RetryPolicy<C>>().cloned(),
            timeout: extensions
                .get::<TimeoutOverride>()
                .copied()
                .unwrap_or_default(),
            idempotent: extensions.get::<Idempotent>().is_some(),
            no_retry: extensions.get::<NoRetry>().is_some(),
        }
    }
}
