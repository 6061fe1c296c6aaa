//! Seed 003's shared HTTP client, rebuilt on relent.
//!
//! The seed built one `reqwest_middleware::ClientWithMiddleware` for every forwarding
//! handler, with reqwest-retry's `RetryTransientMiddleware` plus an inlined
//! `RetryAfterMiddleware` whose `HashMap<Url, SystemTime>` had to be bounded by hand.
//! Here one `RetryMiddleware` does both, with a table bounded by construction, and:
//!
//! - **config** ([`HttpClientConfig`]): pool max idle per host, request timeout, retry
//!   policy, optional CA bundle (read only when a path is given);
//! - **reload by rebuild-and-swap** ([`SharedHttpClient::reload`]): a new client is built
//!   from the new config and swapped in; callers holding the old `Arc` finish with it.
//!   The swap holds a `std::sync::RwLock` only for the pointer store (no await, no I/O
//!   under it), which is what the seed's `ArcSwap` was for. The Retry-After table is
//!   *kept* across reloads: a config change does not make the servers' requests void;
//! - **credentials per request** ([`SharedHttpClient::request`] takes a [`Credential`]
//!   per call; nothing secret is stored in the client);
//! - **no environment reads**: no proxy from the environment (`no_proxy()`), no
//!   `std::env` anywhere; everything comes from the config.
//!
//! This file is the reusable part: `examples/shared_client.rs` runs it, and
//! `tests/tests/reqwest_shared_client.rs` tests it (both include it with `#[path]`).

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use relent_reqwest::{BoxError, BuildError, RetryEngine, RetryPolicy, SharedDeadlines};
use reqwest_middleware::{ClientWithMiddleware, RequestBuilder};

/// The shared client's configuration (seed 003's `HttpClientConfig`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HttpClientConfig {
    /// Pool max idle connections per host (reqwest's default if `None`).
    pub pool_max_idle_per_host: Option<usize>,
    /// Limit on each attempt (relent's per-try timeout; the policy's own if `None`).
    pub request_timeout: Option<Duration>,
    /// Retries, backoff, hint cap, deadline.
    pub retry_policy: RetryPolicy,
    /// A PEM bundle of extra root certificates for self-hosted gateways; read only if set.
    pub ca_bundle: Option<PathBuf>,
}

/// Installs a CA bundle's PEM bytes into a client builder.
///
/// relent-reqwest leaves the TLS backend to the application (reqwest with
/// `default-features = false`), so the code that turns PEM into trust roots lives
/// where a backend is enabled. With reqwest's `rustls` feature it is
/// `|b, pem| Ok(b.tls_certs_merge(reqwest::Certificate::from_pem_bundle(pem)?))`.
pub type TrustHook = Arc<
    dyn Fn(reqwest::ClientBuilder, &[u8]) -> Result<reqwest::ClientBuilder, BoxError> + Send + Sync,
>;

/// A credential for one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential<'a> {
    /// No `Authorization` header.
    None,
    /// `Authorization: Bearer <token>` (marked sensitive).
    Bearer(&'a str),
}

/// Why a client could not be (re)built. On a failed reload the previous client stays.
#[derive(Debug)]
pub enum ClientError {
    /// The CA bundle could not be read.
    CaBundle {
        /// The configured path.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// A CA bundle was configured but no [`TrustHook`] was given to install it.
    NoTrustHook {
        /// The configured path.
        path: PathBuf,
    },
    /// The trust hook refused the bundle.
    Trust(BoxError),
    /// reqwest refused the configuration.
    Client(reqwest::Error),
    /// The retry engine could not be built.
    RetryEngine(BuildError),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::CaBundle { path, source } => {
                write!(f, "cannot read CA bundle {}: {source}", path.display())
            }
            ClientError::NoTrustHook { path } => write!(
                f,
                "CA bundle {} configured but no TLS trust hook given",
                path.display()
            ),
            ClientError::Trust(e) => write!(f, "CA bundle refused: {e}"),
            ClientError::Client(e) => write!(f, "cannot build the reqwest client: {e}"),
            ClientError::RetryEngine(e) => write!(f, "cannot build the retry engine: {e}"),
        }
    }
}

impl std::error::Error for ClientError {}

/// One client for every handler; rebuilt and swapped on reload.
pub struct SharedHttpClient {
    current: RwLock<Arc<ClientWithMiddleware>>,
    config: RwLock<Arc<HttpClientConfig>>,
    table: SharedDeadlines<String>,
    trust: Option<TrustHook>,
}

impl fmt::Debug for SharedHttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedHttpClient")
            .field("config", &self.config())
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl SharedHttpClient {
    /// Build the client; a CA bundle in the config is an error here (no trust hook).
    pub fn new(config: HttpClientConfig) -> Result<Self, ClientError> {
        Self::build(config, None)
    }

    /// Build the client, installing a configured CA bundle with `trust`.
    pub fn with_trust_hook(
        config: HttpClientConfig,
        trust: TrustHook,
    ) -> Result<Self, ClientError> {
        Self::build(config, Some(trust))
    }

    fn build(config: HttpClientConfig, trust: Option<TrustHook>) -> Result<Self, ClientError> {
        let table = SharedDeadlines::new(relent_reqwest::DEFAULT_TABLE_CAPACITY)
            .map_err(|e| ClientError::RetryEngine(BuildError::Table(e)))?;
        let client = build_client(&config, &table, trust.as_ref())?;
        Ok(SharedHttpClient {
            current: RwLock::new(Arc::new(client)),
            config: RwLock::new(Arc::new(config)),
            table,
            trust,
        })
    }

    /// The current client. Cheap (an `Arc` clone); hold it for one call or a few.
    pub fn client(&self) -> Arc<ClientWithMiddleware> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The configuration the current client was built from.
    pub fn config(&self) -> Arc<HttpClientConfig> {
        Arc::clone(&self.config.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Rebuild from `config` and swap the new client in; returns it. The connection
    /// pool starts afresh (that is what a config change wants); the Retry-After table
    /// is kept. If the build fails, nothing changes.
    pub fn reload(
        &self,
        config: HttpClientConfig,
    ) -> Result<Arc<ClientWithMiddleware>, ClientError> {
        let client = Arc::new(build_client(&config, &self.table, self.trust.as_ref())?);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::clone(&client);
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(config);
        Ok(client)
    }

    /// A request on the current client with this call's credential.
    pub fn request(
        &self,
        method: reqwest::Method,
        url: &str,
        credential: Credential<'_>,
    ) -> RequestBuilder {
        let builder = self.client().request(method, url);
        match credential {
            Credential::None => builder,
            Credential::Bearer(token) => builder.bearer_auth(token),
        }
    }

    /// The Retry-After table shared by every client this value builds.
    pub fn table(&self) -> &SharedDeadlines<String> {
        &self.table
    }
}

fn build_client(
    config: &HttpClientConfig,
    table: &SharedDeadlines<String>,
    trust: Option<&TrustHook>,
) -> Result<ClientWithMiddleware, ClientError> {
    // No proxy settings from the environment: the config is the only input.
    let mut builder = reqwest::Client::builder().no_proxy();
    if let Some(n) = config.pool_max_idle_per_host {
        builder = builder.pool_max_idle_per_host(n);
    }
    if let Some(path) = &config.ca_bundle {
        let Some(trust) = trust else {
            return Err(ClientError::NoTrustHook { path: path.clone() });
        };
        let pem = std::fs::read(path).map_err(|source| ClientError::CaBundle {
            path: path.clone(),
            source,
        })?;
        builder = trust(builder, &pem).map_err(ClientError::Trust)?;
    }
    let client = builder.build().map_err(ClientError::Client)?;
    let mut policy = config.retry_policy.clone();
    if config.request_timeout.is_some() {
        policy.per_try_timeout = config.request_timeout;
    }
    let retrier = RetryEngine::builder()
        .policy(policy)
        .shared_table(table.clone())
        .build()
        .map_err(ClientError::RetryEngine)?;
    Ok(reqwest_middleware::ClientBuilder::new(client)
        .with(retrier.middleware())
        .build())
}
