//! Mapping relent's per-phase timeouts onto reqwest, honestly.
//!
//! reqwest can set some limits per request and others only per client:
//!
//! | relent phase | reqwest, per request | reqwest, per client (`ClientBuilder`) |
//! |---|---|---|
//! | `total` (per attempt) | yes: `Request::timeout_mut` / `RequestBuilder::timeout`; the retry layer sets it to `min(per-try, time left)` on every attempt | `timeout` (the default for requests that set none) |
//! | `connect` | no | `connect_timeout` |
//! | `read` | no | `read_timeout` (each read; reset after every successful read) |
//! | `write` | no | no: reqwest has no write timeout; only `total` bounds sending the body |
//! | `pool` (waiting for a pooled connection) | no | no: `pool_idle_timeout` is how long idle connections are *kept*, a different thing; only `total` bounds the wait |
//!
//! [`ClientBuilderExt::apply_timeouts`] applies what reqwest can take per
//! client and leaves `write` and `pool` alone (they stay bounded by `total`,
//! if set).

use relent::timeout::ResolvedTimeouts;

/// Apply [`ResolvedTimeouts`] to a `reqwest::ClientBuilder`.
pub trait ClientBuilderExt: Sized {
    /// `total` → `timeout`, `connect` → `connect_timeout`, `read` → `read_timeout`;
    /// `write` and `pool` have no reqwest setting and are not applied (see the
    /// [module table](crate::timeouts)). A phase without a limit leaves the
    /// builder's setting as it was.
    ///
    /// ```
    /// use std::time::Duration;
    /// use relent::Timeouts;
    /// use relent_reqwest::ClientBuilderExt;
    ///
    /// // kube-rs's client default: connect 30 s, nothing else.
    /// let limits = Timeouts::KUBE_CLIENT.resolve();
    /// let client = reqwest::Client::builder()
    ///     .apply_timeouts(&limits)
    ///     .no_proxy()
    ///     .build()
    ///     .unwrap();
    /// # drop(client);
    /// ```
    #[must_use]
    fn apply_timeouts(self, timeouts: &ResolvedTimeouts) -> Self;
}

impl ClientBuilderExt for reqwest::ClientBuilder {
    fn apply_timeouts(mut self, timeouts: &ResolvedTimeouts) -> Self {
        if let Some(d) = timeouts.total() {
            self = self.timeout(d);
        }
        if let Some(d) = timeouts.connect() {
            self = self.connect_timeout(d);
        }
        if let Some(d) = timeouts.read() {
            self = self.read_timeout(d);
        }
        self
    }
}
