//! The retry state machine: judged outcomes in, actions out; budgets, the gate and policies.
//!
//! One [`Retry`] per operation turns [`Outcome`]s into [`Action`]s (send with this
//! timeout, wait until, give up because, done). It knows no HTTP: the
//! [HTTP layer](crate::http) judges responses into outcomes. A [`Budget`] shared across
//! operations keeps an outage from multiplying traffic; a [`Gate`] bound to the
//! operation's key holds it to the server's Retry-After for that key (one rule, in
//! [`gate`]); a [`RetryPolicy`], shared by every operation, bundles the limits, with
//! presets whose sources are cited.

mod budget;
pub mod gate;
mod limits;
mod machine;
mod outcome;
mod policy;
mod presets;
mod report;

#[cfg(feature = "std")]
pub use budget::SharedTokenBucket;
#[cfg(feature = "alloc")]
pub(crate) use budget::refill_step;
pub use budget::{Budget, BudgetConfig, TOKEN, TokenBucket, Unlimited};
pub use gate::{Gate, Hold, NoGate};
pub use machine::Retry;
pub use outcome::{Forbidden, Outcome, RetryKind, Seen, TransportError};
pub use policy::RetryPolicy;
pub use report::{Action, GiveUpReason, Report, WaitReason};
