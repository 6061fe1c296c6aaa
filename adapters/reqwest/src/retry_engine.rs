//! The retry engine's shared state and configuration: policy, Retry-After table, budget.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use relent::hint::HintReader;
use relent::http::{Classify, StandardClassifier};
use relent::retry::RetryPolicy;
use relent::table::CapacityError;
use relent_tokio::history::RunKey;
use relent_tokio::{AnyError, Event, OnEvent, SharedBudget, SharedDeadlines};
use reqwest::{Request, Response, Url};

use crate::drive::{self, ClientTransport};
use crate::error::RetryError;
use crate::middleware::RetryMiddleware;
use crate::overrides::Overrides;

/// What a Retry-After deadline applies to.
///
/// A server's `Retry-After` is about the next request "to the same place". The
/// seed this crate rebuilds (an inlined `RetryAfterMiddleware`) keyed its table
/// by full URL; relent keys by origin by default, since rate limits and
/// overload are almost always per server, not per path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KeyBy {
    /// `scheme://host:port` (the port made explicit: `https://a.example` is `https://a.example:443`).
    #[default]
    Origin,
    /// The full URL without its fragment (path and query included), as melotic/reqwest-retry-after's middleware does.
    Url,
}

impl KeyBy {
    /// The table key of `url`.
    ///
    /// ```
    /// use relent_reqwest::KeyBy;
    /// let url = reqwest::Url::parse("https://api.example/v1/items?page=2#top").unwrap();
    /// assert_eq!(KeyBy::Origin.key(&url), "https://api.example:443");
    /// assert_eq!(KeyBy::Url.key(&url), "https://api.example/v1/items?page=2");
    /// ```
    #[must_use]
    pub fn key(self, url: &Url) -> String {
        match self {
            KeyBy::Origin => match url.host_str() {
                // Built by hand rather than with `format!`: this runs once per request,
                // and the formatting machinery was the largest part of the adapter's
                // per-request cost (benches/http-peers, callgrind).
                Some(host) => {
                    let scheme = url.scheme();
                    let mut key = String::with_capacity(scheme.len() + host.len() + 9);
                    key.push_str(scheme);
                    key.push_str("://");
                    key.push_str(host);
                    if let Some(port) = url.port_or_known_default() {
                        key.push(':');
                        push_decimal(&mut key, port);
                    }
                    key
                }
                // No host (not an HTTP URL): the URL is all there is to key by.
                None => without_fragment(url).to_owned(),
            },
            KeyBy::Url => without_fragment(url).to_owned(),
        }
    }
}

/// The serialized URL up to its path: `scheme://[userinfo@]host[:port]` for a URL with a
/// host. Two URLs with the same such prefix have the same origin key (the `url` crate
/// writes a default port as no port at all, so one origin has one spelling); the
/// converse may fail (a user name), which only costs a key built instead of shared.
fn before_path(url: &Url) -> &str {
    let s = url.as_str();
    let tail = url.path().len()
        + url.query().map_or(0, |q| q.len() + 1)
        + url.fragment().map_or(0, |f| f.len() + 1);
    s.get(..s.len().saturating_sub(tail)).unwrap_or(s)
}

/// The key of an engine's first request, with what a later request's URL is compared with.
pub(crate) struct FirstKey {
    key: Arc<str>,
    /// [`before_path`] of the first URL (origin keys of URLs with a host only).
    prefix: Option<Box<str>>,
}

impl FirstKey {
    /// Whether `url`'s key is this one, by one comparison of its start rather than by
    /// building its key.
    fn is_key_of(&self, key_by: KeyBy, url: &Url) -> bool {
        match (key_by, &self.prefix) {
            (KeyBy::Origin, Some(prefix)) => **prefix == *before_path(url),
            (KeyBy::Origin, None) => false,
            (KeyBy::Url, _) => *self.key == *without_fragment(url),
        }
    }
}

/// Append `n` in decimal (no leading zeros).
fn push_decimal(out: &mut String, n: u16) {
    let mut digits = [0u8; 5];
    let mut len = 0;
    let mut rest = n;
    loop {
        if let Some(slot) = digits.get_mut(len) {
            *slot = b'0' + (rest % 10) as u8;
        }
        len += 1;
        rest /= 10;
        if rest == 0 || len == digits.len() {
            break;
        }
    }
    for d in digits.iter().take(len).rev() {
        out.push(char::from(*d));
    }
}

/// A serialized URL has `#` only as the fragment delimiter (it is percent-encoded elsewhere).
fn without_fragment(url: &Url) -> &str {
    let s = url.as_str();
    s.split_once('#').map_or(s, |(before, _)| before)
}

/// The default capacity of the Retry-After table: 4,096 keys.
///
/// relent's choice, not a peer's: at well under a hundred bytes per entry it
/// stays below half a MiB, which is far more origins than a service usually
/// talks to; a crawl over more keys evicts the least recently used ones
/// (counted in [`SharedDeadlines::evictions`]) instead of growing, which is
/// the bound that melotic/reqwest-retry-after's unbounded `HashMap<Url, SystemTime>` lacks.
pub const DEFAULT_TABLE_CAPACITY: usize = 4096;

/// Why a [`RetryEngine`] could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// The Retry-After table's capacity was refused (zero, too large, or out of memory).
    Table(CapacityError),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Table(e) => write!(f, "retry-after table: {e}"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Table(e) => Some(e),
        }
    }
}

impl From<CapacityError> for BuildError {
    fn from(e: CapacityError) -> Self {
        BuildError::Table(e)
    }
}

pub(crate) struct Inner<C> {
    pub(crate) policy: RetryPolicy<C>,
    pub(crate) key_by: KeyBy,
    pub(crate) table: SharedDeadlines<String>,
    pub(crate) budget: Option<SharedBudget>,
    pub(crate) hints: HintReader,
    pub(crate) client_timeout: Option<Duration>,
    pub(crate) on_event: Option<OnEvent<AnyError>>,
    /// The key of the engine's first request, kept to be shared by every later request
    /// with the same key: building a key is an allocation and a copy per request (a few
    /// hundred instructions, the largest part of the key's cost), and sharing it is a
    /// reference count. Set once and never replaced, so reading it takes no lock.
    pub(crate) first_key: OnceLock<FirstKey>,
}

impl<C> Inner<C> {
    /// The table key of `url`: shared when it is the first request's key.
    pub(crate) fn key(&self, url: &Url) -> RunKey {
        if let Some(first) = self.first_key.get() {
            if first.is_key_of(self.key_by, url) {
                return RunKey::Shared(Arc::clone(&first.key));
            }
            return RunKey::Owned(self.key_by.key(url));
        }
        let key: Arc<str> = Arc::from(self.key_by.key(url));
        let prefix = url.has_host().then(|| Box::from(before_path(url)));
        // Another request may have set it first: then this one keeps its own.
        let _ = self.first_key.set(FirstKey {
            key: Arc::clone(&key),
            prefix,
        });
        RunKey::Shared(key)
    }
}

/// The retry engine, shared by every request of a client: the policy, the
/// bounded Retry-After table, the optional retry budget and the hint reader.
///
/// Cheap to clone (one `Arc`). Use it as a reqwest-middleware layer
/// ([`RetryEngine::middleware`]), with a plain `reqwest::Client`
/// ([`RetryClient`](crate::RetryClient), [`RequestBuilderExt::send_with`](crate::RequestBuilderExt::send_with)),
/// or directly with [`RetryEngine::execute`]. All entry points drive the same
/// engine, and clones share the table and the budget.
pub struct RetryEngine<C = StandardClassifier> {
    pub(crate) inner: Arc<Inner<C>>,
}

impl<C> Clone for RetryEngine<C> {
    fn clone(&self) -> Self {
        RetryEngine {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<C: fmt::Debug> fmt::Debug for RetryEngine<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryEngine")
            .field("policy", &self.inner.policy)
            .field("key_by", &self.inner.key_by)
            .field("table", &self.inner.table)
            .field("budget", &self.inner.budget)
            .finish_non_exhaustive()
    }
}

impl Default for RetryEngine<StandardClassifier> {
    /// The engine with every default ([`RetryEngine::builder`] unchanged): it cannot fail.
    ///
    /// Only the table's allocation could, and then (out of memory) the engine falls back
    /// to a one-key table rather than refuse to exist.
    fn default() -> Self {
        RetryEngine::builder()
            .build()
            .or_else(|_| RetryEngine::builder().table_capacity(1).build())
            .unwrap_or_else(|_| std::alloc::handle_alloc_error(std::alloc::Layout::new::<u64>()))
    }
}

impl RetryEngine<StandardClassifier> {
    /// A builder with the defaults: [`RetryPolicy::default`], keys by origin,
    /// a table of [`DEFAULT_TABLE_CAPACITY`] keys, no budget, every hint source.
    pub fn builder() -> RetryEngineBuilder<StandardClassifier> {
        RetryEngineBuilder::new()
    }
}

impl<C> RetryEngine<C> {
    /// The policy every request uses unless it carries its own.
    #[must_use]
    pub fn policy(&self) -> &RetryPolicy<C> {
        &self.inner.policy
    }

    /// How requests are keyed in the Retry-After table.
    #[must_use]
    pub fn key_by(&self) -> KeyBy {
        self.inner.key_by
    }

    /// The Retry-After table (a handle to the shared table).
    #[must_use]
    pub fn table(&self) -> &SharedDeadlines<String> {
        &self.inner.table
    }

    /// The retry budget, if one is shared.
    #[must_use]
    pub fn budget(&self) -> Option<&SharedBudget> {
        self.inner.budget.as_ref()
    }

    /// This engine as a reqwest-middleware layer.
    #[must_use]
    pub fn middleware(&self) -> RetryMiddleware<C> {
        RetryMiddleware::new(self.clone())
    }
}

impl<C: Classify + Clone + Send + Sync + 'static> RetryEngine<C> {
    /// Send `request` through `client` with retries, honouring `overrides`.
    ///
    /// Returns the final response (a success, or the last response when
    /// retries ran out on a status, with the [`AttemptHistory`](crate::AttemptHistory)
    /// in its extensions), or a [`RetryError`] when no response can be returned.
    ///
    /// (Not an `async fn`: it returns the driver's future itself, with no wrapper layer
    /// to move it through.)
    pub fn execute<'a>(
        &'a self,
        client: &'a reqwest::Client,
        request: Request,
        overrides: Overrides<C>,
    ) -> impl Future<Output = Result<Response, RetryError>> + Send + 'a {
        self.execute_plan(
            client,
            request,
            drive::Plan::new(overrides, &self.inner.policy),
        )
    }

    /// [`execute`](Self::execute) with the overrides already read.
    pub(crate) fn execute_plan<'a>(
        &'a self,
        client: &'a reqwest::Client,
        request: Request,
        plan: drive::Plan<'a, C>,
    ) -> impl Future<Output = Result<Response, RetryError>> + Send + 'a {
        drive::run(
            &self.inner,
            request,
            plan,
            ClientTransport { client },
            |e| e,
        )
    }
}

/// Builds a [`RetryEngine`].
#[derive(Clone, Debug)]
#[must_use]
pub struct RetryEngineBuilder<C = StandardClassifier> {
    policy: RetryPolicy<C>,
    key_by: KeyBy,
    capacity: usize,
    table: Option<SharedDeadlines<String>>,
    budget: Option<SharedBudget>,
    hints: HintReader,
    client_timeout: Option<Duration>,
    on_event: Option<OnEvent<AnyError>>,
}

impl Default for RetryEngineBuilder<StandardClassifier> {
    fn default() -> Self {
        Self::new()
    }
}

impl RetryEngineBuilder<StandardClassifier> {
    /// The defaults; see [`RetryEngine::builder`].
    pub fn new() -> Self {
        RetryEngineBuilder {
            policy: RetryPolicy::default(),
            key_by: KeyBy::Origin,
            capacity: DEFAULT_TABLE_CAPACITY,
            table: None,
            budget: None,
            hints: HintReader::new(),
            client_timeout: None,
            on_event: None,
        }
    }
}

impl<C> RetryEngineBuilder<C> {
    /// The policy for every request (a request may carry its own as an extension).
    pub fn policy<C2>(self, policy: RetryPolicy<C2>) -> RetryEngineBuilder<C2> {
        RetryEngineBuilder {
            policy,
            key_by: self.key_by,
            capacity: self.capacity,
            table: self.table,
            budget: self.budget,
            hints: self.hints,
            client_timeout: self.client_timeout,
            on_event: self.on_event,
        }
    }

    /// Key the Retry-After table by origin (default) or by full URL.
    pub fn key_by(mut self, key_by: KeyBy) -> Self {
        self.key_by = key_by;
        self
    }

    /// The capacity of a new Retry-After table (default [`DEFAULT_TABLE_CAPACITY`]).
    /// Ignored when [`shared_table`](Self::shared_table) is given.
    pub fn table_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// Use an existing table, shared with other retriers (or kept across a client rebuild).
    pub fn shared_table(mut self, table: SharedDeadlines<String>) -> Self {
        self.table = Some(table);
        self
    }

    /// Share a retry budget: retries stop while it is exhausted, so an outage
    /// cannot multiply traffic.
    pub fn budget(mut self, budget: SharedBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Which response headers count as retry hints, in what order (default: all, `Retry-After` first).
    pub fn hint_reader(mut self, hints: HintReader) -> Self {
        self.hints = hints;
        self
    }

    /// The total timeout set on the `reqwest::Client` (`ClientBuilder::timeout`, or the
    /// `total` that [`apply_timeouts`](crate::ClientBuilderExt::apply_timeouts) set).
    ///
    /// reqwest lets a request's own timeout *replace* the client's, and the retrier
    /// writes each attempt's limit onto the request, so it must know the client's
    /// value to keep it as an upper bound: every attempt then gets
    /// `min(client timeout, per-try timeout, time left)`. reqwest offers no way to
    /// read it back from a built `Client`. An attempt whose limit is this timeout, on a
    /// request without one of its own, is left to the client's (nothing is written on
    /// the request, which spares reqwest allocating its per-request config).
    pub fn client_timeout(mut self, timeout: Duration) -> Self {
        self.client_timeout = Some(timeout);
        self
    }

    /// Call `hook` with the request's table key (its origin; its URL under
    /// [`KeyBy::Url`]) and each [`Event`] of every request: the event type every relent
    /// adapter reports (relent-tokio's `notify`, relent-tower's `on_event`), for metrics
    /// and logs. It runs on the task sending the request; keep it short. One hook: a
    /// second call replaces the first.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::sync::{Arc, OnceLock};
    /// use relent_reqwest::{Event, RetryEngine};
    ///
    /// let retried = Arc::new(AtomicU32::new(0));
    /// let counter = Arc::clone(&retried);
    /// let engine = RetryEngine::builder()
    ///     .on_event(move |origin, event| {
    ///         if let Event::Wait { delay, reason, .. } = event {
    ///             counter.fetch_add(1, Ordering::Relaxed);
    ///             eprintln!("{origin}: retrying in {delay:?} ({reason})");
    ///         }
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # drop(engine);
    /// ```
    pub fn on_event(
        mut self,
        hook: impl Fn(&str, &Event<'_, AnyError>) + Send + Sync + 'static,
    ) -> Self {
        self.on_event = Some(OnEvent::new(hook));
        self
    }

    /// The retrier; fails only if a new table cannot be allocated with the requested capacity.
    pub fn build(self) -> Result<RetryEngine<C>, BuildError> {
        let table = match self.table {
            Some(t) => t,
            None => SharedDeadlines::new(self.capacity)?,
        };
        Ok(RetryEngine {
            inner: Arc::new(Inner {
                policy: self.policy,
                key_by: self.key_by,
                table,
                budget: self.budget,
                hints: self.hints,
                client_timeout: self.client_timeout,
                on_event: self.on_event,
                first_key: OnceLock::new(),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(by: KeyBy, url: &str) -> String {
        by.key(&Url::parse(url).expect("url"))
    }

    #[test]
    fn origin_keys_make_the_port_explicit() {
        assert_eq!(
            key(KeyBy::Origin, "http://a.example/x"),
            "http://a.example:80"
        );
        assert_eq!(
            key(KeyBy::Origin, "https://a.example:8443/x?y"),
            "https://a.example:8443"
        );
        assert_eq!(
            key(KeyBy::Origin, "http://[::1]:8080/x"),
            "http://[::1]:8080"
        );
        // Same origin, different spelling: one key.
        assert_eq!(
            key(KeyBy::Origin, "HTTPS://A.example:443/"),
            key(KeyBy::Origin, "https://a.example/other")
        );
    }

    #[test]
    fn ports_are_written_like_format_does() {
        for port in (0..=u16::MAX)
            .step_by(7)
            .chain([0, 1, 9, 10, 99, 100, 9999, 10000, u16::MAX])
        {
            let mut out = String::from("x");
            push_decimal(&mut out, port);
            assert_eq!(out, format!("x{port}"));
        }
    }

    #[test]
    fn a_shared_key_is_only_ever_the_key_it_would_build() {
        let urls = [
            "http://a.example/x",
            "http://a.example:80/y?z",
            "https://a.example/x",
            "https://a.example:8443/x",
            "http://a.example:8/x",
            "http://user@a.example/x",
            "http://b.example/x",
            "http://[::1]:8080/x",
            "http://127.0.0.1:3000/ok",
            "http://127.0.0.1:300/ok",
            "http://a.example/p#frag",
            "http://a.example/p",
            "file:///tmp/a",
            "file:///tmp/b",
            "data:text/plain,hello",
            "data:text/plain,other",
        ];
        for by in [KeyBy::Origin, KeyBy::Url] {
            for first in urls {
                let engine = RetryEngine::builder().key_by(by).build().expect("defaults");
                let first = Url::parse(first).expect("url");
                let _ = engine.inner.key(&first);
                for other in urls {
                    let other = Url::parse(other).expect("url");
                    let key = engine.inner.key(&other);
                    assert_eq!(key.as_str(), by.key(&other), "{by:?} {first} {other}");
                }
            }
        }
    }

    #[test]
    fn the_first_key_is_shared_and_others_are_built() {
        let engine = RetryEngine::builder().build().expect("defaults");
        let a = Url::parse("http://a.example/x").expect("url");
        let b = Url::parse("http://b.example/x").expect("url");
        let a2 = Url::parse("http://a.example:80/y?z").expect("url");
        assert!(matches!(engine.inner.key(&a), RunKey::Shared(k) if &*k == "http://a.example:80"));
        assert!(matches!(engine.inner.key(&b), RunKey::Owned(k) if k == "http://b.example:80"));
        assert!(matches!(engine.inner.key(&a2), RunKey::Shared(k) if &*k == "http://a.example:80"));
    }

    #[test]
    fn url_keys_drop_only_the_fragment() {
        assert_eq!(
            key(KeyBy::Url, "http://a.example/p?q=%23x#frag"),
            "http://a.example/p?q=%23x"
        );
        assert_eq!(key(KeyBy::Url, "http://a.example/p"), "http://a.example/p");
    }

    #[test]
    fn a_zero_capacity_table_is_a_build_error() {
        let err = RetryEngine::builder()
            .table_capacity(0)
            .build()
            .expect_err("zero");
        assert_eq!(err, BuildError::Table(CapacityError::Zero));
        assert!(std::error::Error::source(&err).is_some());
        let ok = RetryEngine::builder().build().expect("defaults");
        assert_eq!(ok.table().capacity(), DEFAULT_TABLE_CAPACITY);
        assert_eq!(ok.key_by(), KeyBy::Origin);
        assert_eq!(ok.policy(), &RetryPolicy::default());
        assert!(ok.budget().is_none());
    }
}
