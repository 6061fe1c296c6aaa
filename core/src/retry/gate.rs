//! The gate: a server's "not before" for a key, shared by every operation on that key.
//!
//! A `Retry-After` is about the next request to the same place, not only the retry of
//! this one. The machine owns the one rule for it (see [`Retry`](crate::retry::Retry)):
//!
//! - **Which hints are recorded:** a [`ServerHint::After`](crate::ServerHint::After)
//!   longer than zero, on a failure the server meant to be retried
//!   ([`Outcome::wants_retry`](crate::retry::Outcome::wants_retry): retryable, or
//!   refused only by the client, such as a 503 to a POST). A success or a final
//!   answer (a 404, a status 999) records nothing.
//! - **What is recorded:** a [`Hold`]: `until = now + min(hint, cap)`, and the hint as
//!   the server gave it, so a hint refused for exceeding the cap is remembered as such.
//! - **Under which key:** the gate is already bound to the operation's key (an origin,
//!   a host, a region): the adapter chooses it when it builds the gate.
//! - **What a later request does:** before each attempt the machine asks the gate. A
//!   hold whose hint exceeded the cap refuses at once, naming that hint
//!   ([`GiveUpReason::HintTooLong`](crate::retry::GiveUpReason::HintTooLong)); any other
//!   hold is waited out when it ends before the deadline, and refused otherwise.
//!
//! [`DeadlineTable`](crate::table::DeadlineTable) implements the table side
//! ([`TableGate`](crate::table::TableGate)); [`NoGate`] means no table.

use core::time::Duration;

use crate::time::Instant;

/// A key's "not before": `until`, and the hint that asked for it.
///
/// `hint` is what the server asked for, uncapped; `until` is capped by the recording
/// operation's hint cap. A hint over the cap is thus still known to be over it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Hold {
    /// No request to the key before this instant.
    pub until: Instant,
    /// The server's hint, as given.
    pub hint: Duration,
}

impl Hold {
    /// Two holds on one key, both obeyed: the later `until` and the longer hint.
    ///
    /// A `Retry-After` is a lower bound; two lower bounds hold together at their maximum.
    #[must_use]
    pub fn merge(self, other: Hold) -> Hold {
        Hold {
            until: self.until.max(other.until),
            hint: self.hint.max(other.hint),
        }
    }
}

/// Where an operation's key is held back: asked before each attempt, told about hints.
///
/// Implemented by [`NoGate`], by a table bound to a key
/// ([`TableGate`](crate::table::TableGate)), by `&mut G` and by `Option<G>` (`None`: no gate).
/// Adapters implement it for their shared tables.
pub trait Gate {
    /// The hold in force on this key at `now`, if any.
    fn hold(&mut self, now: Instant) -> Option<Hold>;
    /// Record a hold on this key (the machine decides when, see the [module docs](self)).
    fn record(&mut self, hold: Hold, now: Instant);
}

/// No shared table: nothing is held back, nothing recorded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoGate;

impl Gate for NoGate {
    #[inline]
    fn hold(&mut self, _: Instant) -> Option<Hold> {
        None
    }
    #[inline]
    fn record(&mut self, _: Hold, _: Instant) {}
}

impl<G: Gate + ?Sized> Gate for &mut G {
    fn hold(&mut self, now: Instant) -> Option<Hold> {
        (**self).hold(now)
    }
    fn record(&mut self, hold: Hold, now: Instant) {
        (**self).record(hold, now);
    }
}

impl<G: Gate> Gate for Option<G> {
    fn hold(&mut self, now: Instant) -> Option<Hold> {
        self.as_mut().and_then(|g| g.hold(now))
    }
    fn record(&mut self, hold: Hold, now: Instant) {
        if let Some(g) = self {
            g.record(hold, now);
        }
    }
}
