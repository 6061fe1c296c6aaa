//! [`TimeoutOverride`]: a per-call choice beside the client default.

use core::time::Duration;

use super::{ResolvedTimeouts, Timeouts};

/// What one call says about timeouts: inherit the client default, disable, or set.
///
/// These are kubex's three meanings of `request_timeout=` (kubex docs,
/// "Timeouts"): `...` (Ellipsis, the default) inherits,
/// `None` disables, a number or a `Timeout` object sets.
///
/// Resolution against the client default `c`:
///
/// ```text
/// Inherit.resolve(c) = c.resolve()
/// Disable.resolve(c) = ResolvedTimeouts::UNLIMITED
/// Set(t).resolve(c)  = t.resolve()          // c is not consulted
/// ```
///
/// # A `Set` replaces, it does not layer
///
/// A per-call `Set(t)` replaces the client default as a whole, as kubex does
/// (its per-call `Timeout` object takes the client's place, httpx style).
/// Unset fields of `t` fall back to **`t`'s own `total`**, not to the
/// client's fields. So, with the kube-rs client default (connect 30 s),
/// `Set(Timeouts::NONE.with_read(10 s))` leaves connect **unlimited**. The
/// reason: a call site then reads completely, without knowing how the client
/// was built, and changing a client default can never silently change a call
/// that chose its own timeouts. To refine the client default instead, layer
/// explicitly with [`Timeouts::or`]: `Set(call.or(client))`.
///
/// `Disable` affects only these client-side limits; an overall operation
/// deadline (see [`attempt_timeout`]) and a stream's idle timeout (see
/// [`stream_timeouts`]) are separate inputs and stay in force.
///
/// There is deliberately no `From<Option<_>>`: in kubex `None` means
/// "disable", while in Rust `None` usually means "not given" (inherit).
/// Spelling the variant avoids guessing.
///
/// ```
/// use core::time::Duration;
/// use relent::timeout::{ResolvedTimeouts, TimeoutOverride, Timeouts};
///
/// let client = Timeouts::KUBE_CLIENT;
///
/// // Omitted / inherit: the client default.
/// assert_eq!(TimeoutOverride::default().resolve(&client), client.resolve());
/// // A bare number: 5 s total for this call only.
/// let five = TimeoutOverride::from(Duration::from_secs(5)).resolve(&client);
/// assert_eq!(five.connect(), Some(Duration::from_secs(5)));
/// // Disabled: no limits (a long list, say).
/// assert_eq!(TimeoutOverride::Disable.resolve(&client), ResolvedTimeouts::UNLIMITED);
/// // A partial Set replaces the client default: connect is now unlimited.
/// let read_only = Timeouts::NONE.with_read(Duration::from_secs(10));
/// assert_eq!(TimeoutOverride::Set(read_only).resolve(&client).connect(), None);
/// // Layered instead: connect keeps the client's 30 s.
/// let layered = TimeoutOverride::Set(read_only.or(client)).resolve(&client);
/// assert_eq!(layered.connect(), Some(Duration::from_secs(30)));
/// ```
///
/// [`attempt_timeout`]: super::attempt_timeout
/// [`stream_timeouts`]: super::stream_timeouts
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TimeoutOverride {
    /// Use the client default (kubex `...`; also what omitting the argument means).
    #[default]
    Inherit,
    /// No client-side timeouts for this call (kubex `None`).
    Disable,
    /// These timeouts for this call, replacing the client default as a whole.
    Set(Timeouts),
}

impl TimeoutOverride {
    /// The effective limits for this call, given the client default.
    pub const fn resolve(&self, client_default: &Timeouts) -> ResolvedTimeouts {
        match self {
            TimeoutOverride::Inherit => client_default.resolve(),
            TimeoutOverride::Disable => ResolvedTimeouts::UNLIMITED,
            TimeoutOverride::Set(t) => t.resolve(),
        }
    }
}

impl From<Duration> for TimeoutOverride {
    /// A bare number means total, for this call: `Set(Timeouts::from(d))`.
    fn from(total: Duration) -> Self {
        TimeoutOverride::Set(Timeouts::from_total(total))
    }
}

impl From<Timeouts> for TimeoutOverride {
    /// A structured value for this call: `Set(t)`.
    fn from(t: Timeouts) -> Self {
        TimeoutOverride::Set(t)
    }
}
