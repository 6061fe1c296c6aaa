//! Long streams (a Kubernetes watch): no read timeout, an idle timeout instead.
//!
//! A watch is quiet for long stretches by design, so a read timeout (an idle
//! timer on the socket) would cut healthy streams; kube-rs removed its 295 s
//! default read timeout for this reason (issue #1798, PR #1945; kube-rs docs,
//! "Client Internals"). The API server ends each watch itself after
//! `timeoutSeconds`, so the client arms an idle timer a little longer than
//! that: if even the server's close does not arrive, the connection is dead
//! (kube-rs PR #1945: "the server-side `timeoutSeconds` + 5s margin, so
//! watches still recover from dead connections where the server's close
//! never arrives").

use core::num::NonZeroU32;
use core::time::Duration;

use super::ResolvedTimeouts;

/// kube-rs's idle-timeout margin on top of the server timeout: 5 s.
///
/// Source: kube-rs PR #1945 ("Remove global read_timeout default, add
/// watcher-level idle timeout", merged), which sets the watcher's idle
/// timeout to "the server-side `timeoutSeconds` + 5s margin"; the constant
/// is `WATCH_IDLE_TIMEOUT_MARGIN` in kube-runtime's `src/watcher.rs` (4.2.0),
/// added to the watch timeout or 290 s when none was set. The
/// margin only has to cover network latency and the server's own timer
/// slack; any few seconds will do.
pub const KUBE_WATCH_IDLE_MARGIN: Duration = Duration::from_secs(5);

/// A server-side timeout (Kubernetes `timeoutSeconds`): the *server* ends the call after it.
///
/// This is a different thing from the client's [`Timeouts`](super::Timeouts),
/// as kubex stresses (kubex docs, "Timeouts": `timeout_seconds` vs
/// `request_timeout`, "They are independent"). It is its own type with no
/// conversion to or from `Duration`, [`Timeouts`](super::Timeouts) or
/// [`TimeoutOverride`](super::TimeoutOverride), so one cannot be passed where
/// the other is meant:
///
/// ```compile_fail
/// use core::time::Duration;
/// use relent::timeout::{ServerTimeout, Timeouts};
/// let s = ServerTimeout::KUBE_WATCH_DEFAULT;
/// let t: Timeouts = s.into(); // no such conversion
/// ```
///
/// Whole seconds, because that is the wire format (`?timeoutSeconds=290`),
/// and never zero: the apiserver reads `0` as "unset" and then picks a
/// random timeout between `minRequestTimeout` and twice that (1800–3600 s
/// by default; `k8s.io/apiserver` `handlers/get.go`), so a zero here would
/// make the client's idle timer fire long before the server's close.
///
/// ```
/// use relent::timeout::ServerTimeout;
///
/// assert_eq!(ServerTimeout::KUBE_WATCH_DEFAULT.as_secs(), 290);
/// assert_eq!(ServerTimeout::from_secs(0), None);
/// assert_eq!(ServerTimeout::from_secs(60).map(ServerTimeout::as_secs), Some(60));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServerTimeout(NonZeroU32);

impl ServerTimeout {
    /// kube-rs's watch default: 290 s.
    ///
    /// Source: kube-core `params.rs`, on the list/watch `timeout` field: "If
    /// unset for a watch call, we will use 290s" (kept when kube-rs PR #2066
    /// proposed lifting its old `< 295 s` cap).
    pub const KUBE_WATCH_DEFAULT: ServerTimeout =
        ServerTimeout(NonZeroU32::MIN.saturating_add(289));

    /// `secs` seconds, or `None` for zero (which the server reads as "unset").
    #[must_use]
    pub const fn from_secs(secs: u32) -> Option<ServerTimeout> {
        match NonZeroU32::new(secs) {
            Some(n) => Some(ServerTimeout(n)),
            None => None,
        }
    }

    /// From a value already known to be non-zero.
    #[must_use]
    pub const fn new(secs: NonZeroU32) -> ServerTimeout {
        ServerTimeout(secs)
    }

    /// The value to send as `timeoutSeconds`.
    #[must_use]
    pub const fn as_secs(self) -> u32 {
        self.0.get()
    }

    /// The same span as a `Duration`, for arithmetic such as the idle timeout.
    ///
    /// A one-way conversion for computing, deliberately a method and not a
    /// `From` impl, so it is always visible at the call site.
    #[must_use]
    pub const fn as_duration(self) -> Duration {
        Duration::from_secs(self.0.get() as u64)
    }
}

/// The limits for a long-lived stream (a watch), derived from the client's limits.
///
/// Built by [`stream_timeouts`]. `read` and `total` are always `None`: a
/// read timeout is an idle timer on the socket that would cut a quiet but
/// healthy stream, and a total would cut it after a fixed time regardless of
/// the server. In their place, `idle` bounds the wait for the next event.
/// Connection setup is an ordinary request, so `connect`, `write` and `pool`
/// keep the client's resolved values.
///
/// ```
/// use core::time::Duration;
/// use relent::timeout::{stream_timeouts, ServerTimeout, Timeouts, KUBE_WATCH_IDLE_MARGIN};
///
/// let client = Timeouts::from(Duration::from_secs(30)).resolve();
/// let s = stream_timeouts(&client, Some(ServerTimeout::KUBE_WATCH_DEFAULT), KUBE_WATCH_IDLE_MARGIN);
/// assert_eq!(s.read(), None);                              // never a read timeout
/// assert_eq!(s.total(), None);                             // nor a total
/// assert_eq!(s.idle(), Some(Duration::from_secs(295)));    // 290 s + 5 s
/// assert_eq!(s.connect(), Some(Duration::from_secs(30)));  // setup as usual
/// ```
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StreamTimeouts {
    connect: Option<Duration>,
    write: Option<Duration>,
    pool: Option<Duration>,
    idle: Option<Duration>,
}

impl StreamTimeouts {
    /// Limit on establishing the connection (the client's resolved `connect`).
    #[must_use]
    pub const fn connect(&self) -> Option<Duration> {
        self.connect
    }

    /// Limit on sending the request (the client's resolved `write`).
    #[must_use]
    pub const fn write(&self) -> Option<Duration> {
        self.write
    }

    /// Limit on acquiring a pooled connection (the client's resolved `pool`).
    #[must_use]
    pub const fn pool(&self) -> Option<Duration> {
        self.pool
    }

    /// Always `None`: a stream gets no read timeout (see the type docs).
    ///
    /// Present so an adapter that maps every phase uniformly cannot
    /// accidentally apply the client's read timeout to a stream.
    #[must_use]
    pub const fn read(&self) -> Option<Duration> {
        None
    }

    /// Always `None`: a stream's length is bounded by the server, not by a total.
    #[must_use]
    pub const fn total(&self) -> Option<Duration> {
        None
    }

    /// Longest wait for the next item before treating the connection as dead.
    ///
    /// `server + margin` (saturating), or `None` when no server timeout was
    /// sent.
    #[must_use]
    pub const fn idle(&self) -> Option<Duration> {
        self.idle
    }
}

/// The limits for a long stream: the client's setup limits, no read timeout,
/// and an idle timeout of `server + margin`.
///
/// ```text
/// connect, write, pool = client's resolved values
/// read, total          = None
/// idle                 = server.map(|s| s.as_duration().saturating_add(margin))
/// ```
///
/// With `server == None` (no `timeoutSeconds` sent) the server picks its
/// own, cluster-configured timeout (by default 30–60 minutes), which the
/// client cannot know, so `idle` is `None`. To get a dead-connection guard,
/// send a timeout: kube-rs always does, [`ServerTimeout::KUBE_WATCH_DEFAULT`]
/// (290 s) with [`KUBE_WATCH_IDLE_MARGIN`] (5 s).
///
/// A per-call [`TimeoutOverride::Disable`](super::TimeoutOverride::Disable)
/// resolves the client limits to none; it does not remove the idle timeout,
/// which is derived from the server timeout alone.
pub const fn stream_timeouts(
    client: &ResolvedTimeouts,
    server: Option<ServerTimeout>,
    margin: Duration,
) -> StreamTimeouts {
    StreamTimeouts {
        connect: client.connect(),
        write: client.write(),
        pool: client.pool(),
        idle: match server {
            Some(s) => Some(s.as_duration().saturating_add(margin)),
            None => None,
        },
    }
}
