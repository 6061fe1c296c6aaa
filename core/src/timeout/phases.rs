//! [`Timeouts`]: what a caller configures, phase by phase.

use core::time::Duration;

use super::ResolvedTimeouts;

/// Timeouts as configured: an overall `total` plus optional per-phase limits.
///
/// The field names and meanings follow kubex's `Timeout` object (kubex docs,
/// "Timeouts"), itself shaped after httpx:
///
/// | field | limits |
/// |---|---|
/// | `total` | the whole attempt; also the default for every unset phase |
/// | `connect` | establishing the connection (TCP, TLS) |
/// | `read` | waiting for response bytes |
/// | `write` | sending the request body |
/// | `pool` | acquiring a connection from the pool |
///
/// `None` means "not configured here". What an unset field ends up as is
/// decided by [`Timeouts::resolve`]: each unset phase takes `total`, and if
/// `total` is unset too the phase has no limit. A `Some(Duration::ZERO)` is a
/// limit of zero (the phase times out at once); it is never reinterpreted as
/// "no limit", unlike Go's `net/http`, because an explicit value should mean
/// what it says.
///
/// # Why public fields
///
/// This is plain configuration with no invariant to protect: every
/// combination of five `Option<Duration>` is meaningful. Public fields allow
/// `const` presets, struct-update syntax (`..Timeouts::NONE`) and pattern
/// matching. The `with_*` methods are `const` conveniences for chaining; they
/// do nothing the fields cannot. Effective values, which *do* carry an
/// invariant, live in [`ResolvedTimeouts`] whose fields are private.
///
/// A bare duration means `total`, as in kubex (`Timeout(30.0)` and `30` are
/// the same thing):
///
/// ```
/// use core::time::Duration;
/// use relent::timeout::Timeouts;
///
/// let d = Duration::from_secs(30);
/// assert_eq!(Timeouts::from(d), Timeouts { total: Some(d), ..Timeouts::NONE });
///
/// // total = 30 s, but connecting gets only 5 s.
/// let t = Timeouts::from_total(d).with_connect(Duration::from_secs(5));
/// let r = t.resolve();
/// assert_eq!(r.connect(), Some(Duration::from_secs(5)));
/// assert_eq!(r.read(), Some(d)); // unset phase falls back to total
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Timeouts {
    /// Limit on the whole attempt, and the fallback for every unset phase.
    pub total: Option<Duration>,
    /// Limit on establishing a connection.
    pub connect: Option<Duration>,
    /// Limit on waiting for response bytes.
    pub read: Option<Duration>,
    /// Limit on sending the request body.
    pub write: Option<Duration>,
    /// Limit on acquiring a pooled connection.
    pub pool: Option<Duration>,
}

impl Timeouts {
    /// Nothing configured: every phase resolves to "no limit".
    ///
    /// As a *client default* this is kubex's "no timeout configured" case:
    /// relent imposes no limit of its own, so whatever the HTTP library
    /// carries by default (httpx: 5 s, aiohttp: 300 s; see
    /// [`Timeouts::HTTPX_DEFAULT`], [`Timeouts::AIOHTTP_DEFAULT`]) is what
    /// still bounds the call.
    pub const NONE: Timeouts = Timeouts {
        total: None,
        connect: None,
        read: None,
        write: None,
        pool: None,
    };

    /// Only `total` set; the same value as `Timeouts::from(total)`.
    #[must_use]
    pub const fn from_total(total: Duration) -> Self {
        Timeouts {
            total: Some(total),
            ..Timeouts::NONE
        }
    }

    /// `self` with `total` set.
    #[must_use]
    pub const fn with_total(mut self, d: Duration) -> Self {
        self.total = Some(d);
        self
    }

    /// `self` with `connect` set.
    #[must_use]
    pub const fn with_connect(mut self, d: Duration) -> Self {
        self.connect = Some(d);
        self
    }

    /// `self` with `read` set.
    #[must_use]
    pub const fn with_read(mut self, d: Duration) -> Self {
        self.read = Some(d);
        self
    }

    /// `self` with `write` set.
    #[must_use]
    pub const fn with_write(mut self, d: Duration) -> Self {
        self.write = Some(d);
        self
    }

    /// `self` with `pool` set.
    #[must_use]
    pub const fn with_pool(mut self, d: Duration) -> Self {
        self.pool = Some(d);
        self
    }

    /// Field-wise layering: each field of `self` that is unset takes `base`'s.
    ///
    /// `a.or(b).x == a.x.or(b.x)` for every field `x`, like [`Option::or`].
    ///
    /// This is the tool for callers who want a per-call value to *refine* the
    /// client default instead of replacing it (a [`TimeoutOverride::Set`]
    /// replaces; write `Set(call.or(client))` to layer). Note the difference
    /// for `total`: after layering, an unset phase takes `base`'s phase before
    /// it would take `self.total`.
    ///
    /// ```
    /// use core::time::Duration;
    /// use relent::timeout::Timeouts;
    ///
    /// let client = Timeouts::KUBE_CLIENT; // connect 30 s
    /// let call = Timeouts::NONE.with_read(Duration::from_secs(10));
    /// let layered = call.or(client);
    /// assert_eq!(layered.connect, Some(Duration::from_secs(30)));
    /// assert_eq!(layered.read, Some(Duration::from_secs(10)));
    /// ```
    ///
    /// [`TimeoutOverride::Set`]: super::TimeoutOverride::Set
    #[must_use]
    pub const fn or(self, base: Timeouts) -> Timeouts {
        Timeouts {
            total: opt_or(self.total, base.total),
            connect: opt_or(self.connect, base.connect),
            read: opt_or(self.read, base.read),
            write: opt_or(self.write, base.write),
            pool: opt_or(self.pool, base.pool),
        }
    }

    /// The effective per-phase values: each unset phase takes `total`.
    ///
    /// Formula, for each phase `p` in {connect, read, write, pool}:
    ///
    /// ```text
    /// effective.p     = self.p.or(self.total)
    /// effective.total = self.total
    /// ```
    ///
    /// Laws: a set phase is unchanged; an unset phase equals `total`;
    /// resolution is idempotent (`Timeouts::from(r).resolve() == r`). A phase
    /// longer than `total` is kept as configured (the `total` bound simply
    /// fires first); resolution never rewrites what the caller wrote.
    pub const fn resolve(&self) -> ResolvedTimeouts {
        ResolvedTimeouts::from_parts(
            self.total,
            opt_or(self.connect, self.total),
            opt_or(self.read, self.total),
            opt_or(self.write, self.total),
            opt_or(self.pool, self.total),
        )
    }
}

impl From<Duration> for Timeouts {
    /// A bare number is the total, as in kubex (`request_timeout=5`).
    fn from(total: Duration) -> Self {
        Timeouts::from_total(total)
    }
}

/// `Option::or` in a `const fn` (the std one is not `const` on our MSRV).
const fn opt_or(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match a {
        Some(_) => a,
        None => b,
    }
}
