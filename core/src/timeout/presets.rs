//! Named client defaults taken from the systems relent replaces, each with its source.

use core::time::Duration;

use super::Timeouts;

impl Timeouts {
    /// kube-rs's client default: connect 30 s; read, write and total unset.
    ///
    /// Source: kube-rs "Client Internals", *Default Timeouts* (kube.rs
    /// documentation): `connect_timeout` 30 s, `read_timeout`
    /// `None`, `write_timeout` `None`. The read timeout used to be 295 s but
    /// was removed because it killed idle exec/attach/port-forward sessions
    /// (kube-rs issue #1798, fixed by PR #1945); long streams now carry their
    /// own idle timeout instead (see [`stream_timeouts`]).
    ///
    /// ```
    /// use core::time::Duration;
    /// use relent::timeout::Timeouts;
    ///
    /// let r = Timeouts::KUBE_CLIENT.resolve();
    /// assert_eq!(r.connect(), Some(Duration::from_secs(30)));
    /// assert_eq!(r.read(), None);
    /// assert_eq!(r.write(), None);
    /// ```
    ///
    /// [`stream_timeouts`]: super::stream_timeouts
    pub const KUBE_CLIENT: Timeouts = Timeouts {
        connect: Some(Duration::from_secs(30)),
        ..Timeouts::NONE
    };

    /// httpx's library default: 5 s on every phase.
    ///
    /// Source: kubex *Timeouts* (kubex documentation): when no
    /// client timeout is configured "the underlying HTTP library's own
    /// default applies (httpx: 5 s total …)". Expressed as `total` so every
    /// phase resolves to 5 s. Use it to make that implicit default explicit.
    pub const HTTPX_DEFAULT: Timeouts = Timeouts::from_total(Duration::from_secs(5));

    /// aiohttp's library default: 300 s total, 30 s to connect the socket.
    ///
    /// Source: kubex *Timeouts* (kubex documentation): "aiohttp:
    /// 300 s total, 30 s sock_connect". aiohttp's `sock_connect` maps to
    /// `connect` here; its other phases are unset, so they resolve to the
    /// 300 s total, which bounds them anyway.
    pub const AIOHTTP_DEFAULT: Timeouts = Timeouts {
        total: Some(Duration::from_secs(300)),
        connect: Some(Duration::from_secs(30)),
        ..Timeouts::NONE
    };
}
