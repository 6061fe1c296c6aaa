//! What to do with a server hint: obey it, give up, or fall back to backoff.

use core::time::Duration;

/// What to do when a hint is longer than the cap or than the time left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum OnExcess {
    /// Stop retrying now and report the hint (the default). A server that
    /// asks for an unreasonable wait is saying "not soon"; waiting the capped
    /// amount instead would just earn another refusal.
    #[default]
    GiveUp,
    /// Ignore the hint and use the caller's backoff schedule instead, for
    /// callers that would rather probe than stop.
    UseBackoff,
}

/// Which limit a hint ran into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExcessKind {
    /// Longer than [`HintPolicy::cap`].
    Cap,
    /// Would end at or after the operation's deadline.
    Deadline,
}

/// The verdict on one server hint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[must_use]
pub enum HintVerdict {
    /// Wait exactly this long, then retry. Never more than the cap, and
    /// always strictly less than the time left.
    Wait(Duration),
    /// Do not retry: the hint exceeded a limit and the policy says give up.
    GiveUp {
        /// What the server asked for.
        hint: Duration,
        /// The limit it exceeded (the cap, or the time left).
        limit: Duration,
        /// Which limit that was.
        kind: ExcessKind,
    },
    /// Disregard the hint and wait what the backoff schedule says.
    UseBackoff {
        /// What the server asked for.
        hint: Duration,
        /// The limit it exceeded (the cap, or the time left).
        limit: Duration,
        /// Which limit that was.
        kind: ExcessKind,
    },
}

/// Bounds on how long a server may make a client wait.
///
/// A server hint is obeyed only if it is at most [`cap`](Self::cap) and ends
/// strictly before the operation's deadline; otherwise it is never silently
/// shortened or obeyed, and [`on_excess`](Self::on_excess) decides between
/// giving up (default) and using the backoff schedule.
///
/// The default cap of 300 s follows Envoy's
/// `config.route.v3.RetryPolicy.RateLimitedRetryBackOff.max_interval`, which
/// "Defaults to 300 seconds" and likewise discards reset headers asking for
/// more.
///
/// ```
/// use core::time::Duration;
/// use relent::hint::{ExcessKind, HintPolicy, HintVerdict};
///
/// let policy = HintPolicy::default();
/// let s = Duration::from_secs;
/// assert_eq!(policy.judge(s(30), None), HintVerdict::Wait(s(30)));
/// // A 429 with `Retry-After: 1000000` is refused, with the reason.
/// assert_eq!(
///     policy.judge(s(1_000_000), None),
///     HintVerdict::GiveUp { hint: s(1_000_000), limit: s(300), kind: ExcessKind::Cap }
/// );
/// // 30 s fits the cap but not the 20 s left before the deadline.
/// assert_eq!(
///     policy.judge(s(30), Some(s(20))),
///     HintVerdict::GiveUp { hint: s(30), limit: s(20), kind: ExcessKind::Deadline }
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HintPolicy {
    /// The longest hint obeyed.
    pub cap: Duration,
    /// What to do with a hint past the cap or the deadline.
    pub on_excess: OnExcess,
}

impl HintPolicy {
    /// The default cap: 300 s, Envoy's `RateLimitedRetryBackOff.max_interval` default.
    pub const DEFAULT_CAP: Duration = Duration::from_secs(300);

    /// Cap 300 s, give up on excess.
    pub const DEFAULT: HintPolicy = HintPolicy {
        cap: Self::DEFAULT_CAP,
        on_excess: OnExcess::GiveUp,
    };

    /// A policy with the given cap and excess behaviour. Any cap is valid:
    /// `Duration::ZERO` obeys only zero-length hints, `Duration::MAX` only
    /// bounds hints by the deadline.
    #[must_use]
    pub const fn new(cap: Duration, on_excess: OnExcess) -> Self {
        HintPolicy { cap, on_excess }
    }

    /// This policy with another cap.
    #[must_use]
    pub const fn with_cap(self, cap: Duration) -> Self {
        HintPolicy { cap, ..self }
    }

    /// This policy with another excess behaviour.
    #[must_use]
    pub const fn with_on_excess(self, on_excess: OnExcess) -> Self {
        HintPolicy { on_excess, ..self }
    }

    /// Judges a hint against the cap and the time left before the deadline.
    ///
    /// Rules, in order:
    /// 1. `time_left = Some(l)` and `hint ≥ l` → excess of kind `Deadline`
    ///    with `limit = l`. A wait that ends at or after the deadline leaves
    ///    no time for the attempt it waits for, so it is pointless.
    /// 2. `hint > cap` → excess of kind `Cap` with `limit = cap`.
    /// 3. Otherwise → `Wait(hint)`.
    ///
    /// An excess becomes `GiveUp` or `UseBackoff` per [`OnExcess`]. The
    /// deadline is checked first because it is the limit that cannot be
    /// argued with; when both are exceeded the verdict names the deadline.
    pub fn judge(&self, hint: Duration, time_left: Option<Duration>) -> HintVerdict {
        let excess = match time_left {
            Some(left) if hint >= left => Some((left, ExcessKind::Deadline)),
            _ if hint > self.cap => Some((self.cap, ExcessKind::Cap)),
            _ => None,
        };
        match (excess, self.on_excess) {
            (None, _) => HintVerdict::Wait(hint),
            (Some((limit, kind)), OnExcess::GiveUp) => HintVerdict::GiveUp { hint, limit, kind },
            (Some((limit, kind)), OnExcess::UseBackoff) => {
                HintVerdict::UseBackoff { hint, limit, kind }
            }
        }
    }
}

impl Default for HintPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn within_limits_is_obeyed_exactly() {
        let p = HintPolicy::DEFAULT;
        assert_eq!(p.judge(s(0), None), HintVerdict::Wait(s(0)));
        assert_eq!(p.judge(s(300), None), HintVerdict::Wait(s(300)));
        assert_eq!(p.judge(s(299), Some(s(300))), HintVerdict::Wait(s(299)));
    }

    #[test]
    fn cap_boundary() {
        let p = HintPolicy::DEFAULT;
        assert_eq!(
            p.judge(s(300) + Duration::from_nanos(1), None),
            HintVerdict::GiveUp {
                hint: s(300) + Duration::from_nanos(1),
                limit: s(300),
                kind: ExcessKind::Cap
            }
        );
    }

    #[test]
    fn deadline_boundary_and_precedence() {
        let p = HintPolicy::DEFAULT;
        assert_eq!(
            p.judge(s(10), Some(s(10))),
            HintVerdict::GiveUp {
                hint: s(10),
                limit: s(10),
                kind: ExcessKind::Deadline
            }
        );
        assert_eq!(
            p.judge(s(0), Some(s(0))),
            HintVerdict::GiveUp {
                hint: s(0),
                limit: s(0),
                kind: ExcessKind::Deadline
            }
        );
        // Both exceeded: the deadline is named.
        assert_eq!(
            p.judge(s(1000), Some(s(5))),
            HintVerdict::GiveUp {
                hint: s(1000),
                limit: s(5),
                kind: ExcessKind::Deadline
            }
        );
    }

    #[test]
    fn use_backoff_switch() {
        let p = HintPolicy::DEFAULT.with_on_excess(OnExcess::UseBackoff);
        assert_eq!(
            p.judge(Duration::MAX, None),
            HintVerdict::UseBackoff {
                hint: Duration::MAX,
                limit: s(300),
                kind: ExcessKind::Cap
            }
        );
        assert_eq!(p.judge(s(3), None), HintVerdict::Wait(s(3)));
    }

    #[test]
    fn extreme_caps() {
        let zero = HintPolicy::new(Duration::ZERO, OnExcess::GiveUp);
        assert_eq!(
            zero.judge(Duration::ZERO, None),
            HintVerdict::Wait(Duration::ZERO)
        );
        assert!(matches!(
            zero.judge(Duration::from_nanos(1), None),
            HintVerdict::GiveUp { .. }
        ));
        let max = HintPolicy::DEFAULT.with_cap(Duration::MAX);
        assert_eq!(
            max.judge(Duration::MAX, None),
            HintVerdict::Wait(Duration::MAX)
        );
    }
}
