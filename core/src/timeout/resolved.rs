//! [`ResolvedTimeouts`]: the effective per-phase limits after resolution.

use core::time::Duration;

use super::Timeouts;

/// Effective per-phase limits: what an adapter applies to one attempt.
///
/// Produced by [`Timeouts::resolve`] or [`TimeoutOverride::resolve`]; never
/// assembled by hand, which is why the fields are private. That guarantees
/// the invariant resolution establishes:
///
/// ```text
/// total.is_some()  ==>  connect, read, write and pool are all Some
/// ```
///
/// (an unset phase took `total`), so an adapter can map each getter straight
/// onto its transport without re-implementing the fallback. `None` from a
/// getter means relent imposes no limit on that phase.
///
/// ```
/// use core::time::Duration;
/// use relent::timeout::{ResolvedTimeouts, Timeouts};
///
/// let r = Timeouts::from(Duration::from_secs(10)).resolve();
/// assert_eq!(r.total(), Some(Duration::from_secs(10)));
/// assert_eq!(r.pool(), Some(Duration::from_secs(10)));
/// assert!(Timeouts::NONE.resolve().is_unlimited());
/// assert_eq!(Timeouts::NONE.resolve(), ResolvedTimeouts::UNLIMITED);
/// ```
///
/// [`TimeoutOverride::resolve`]: super::TimeoutOverride::resolve
#[must_use]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ResolvedTimeouts {
    total: Option<Duration>,
    connect: Option<Duration>,
    read: Option<Duration>,
    write: Option<Duration>,
    pool: Option<Duration>,
}

impl ResolvedTimeouts {
    /// No limit on anything: what [`TimeoutOverride::Disable`] resolves to.
    ///
    /// [`TimeoutOverride::Disable`]: super::TimeoutOverride::Disable
    pub const UNLIMITED: ResolvedTimeouts = ResolvedTimeouts {
        total: None,
        connect: None,
        read: None,
        write: None,
        pool: None,
    };

    /// Crate-internal constructor used by resolution (keeps the invariant local).
    pub(super) const fn from_parts(
        total: Option<Duration>,
        connect: Option<Duration>,
        read: Option<Duration>,
        write: Option<Duration>,
        pool: Option<Duration>,
    ) -> Self {
        ResolvedTimeouts {
            total,
            connect,
            read,
            write,
            pool,
        }
    }

    /// Limit on the whole attempt; feed it to [`attempt_timeout`] as the per-try limit.
    ///
    /// [`attempt_timeout`]: super::attempt_timeout
    #[must_use]
    pub const fn total(&self) -> Option<Duration> {
        self.total
    }

    /// Effective connect limit (`connect`, else `total`).
    #[must_use]
    pub const fn connect(&self) -> Option<Duration> {
        self.connect
    }

    /// Effective read limit (`read`, else `total`).
    #[must_use]
    pub const fn read(&self) -> Option<Duration> {
        self.read
    }

    /// Effective write limit (`write`, else `total`).
    #[must_use]
    pub const fn write(&self) -> Option<Duration> {
        self.write
    }

    /// Effective pool-acquire limit (`pool`, else `total`).
    #[must_use]
    pub const fn pool(&self) -> Option<Duration> {
        self.pool
    }

    /// True when relent imposes no limit at all.
    ///
    /// `total().is_none()` alone does not imply this: phases may be set
    /// without a total.
    #[must_use]
    pub const fn is_unlimited(&self) -> bool {
        self.total.is_none()
            && self.connect.is_none()
            && self.read.is_none()
            && self.write.is_none()
            && self.pool.is_none()
    }
}

impl From<ResolvedTimeouts> for Timeouts {
    /// Every effective value written out explicitly.
    ///
    /// Resolving the result again gives the same [`ResolvedTimeouts`]
    /// (resolution is idempotent), so a resolved value can be stored as a
    /// client default without changing its meaning.
    fn from(r: ResolvedTimeouts) -> Self {
        Timeouts {
            total: r.total,
            connect: r.connect,
            read: r.read,
            write: r.write,
            pool: r.pool,
        }
    }
}
