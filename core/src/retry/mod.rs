//! The retry state machine: attempts, classification, deadlines, budgets and presets.
//!
//! One [`Retry`] per operation turns events (attempt started, response,
//! transport error, timer, success) into [`Action`]s (send with this timeout,
//! wait until, give up because, done). A [`Classify`] chain decides what is
//! worth a retry; a [`Budget`] shared across operations keeps an outage from
//! multiplying traffic; a [`RetryPolicy`] bundles it all, with presets whose
//! sources are cited.

mod budget;
mod classify;
mod machine;
mod policy;
mod presets;
mod report;
mod status;

#[cfg(feature = "std")]
pub use budget::SharedTokenBucket;
pub use budget::{Budget, BudgetConfig, TOKEN, TokenBucket, Unlimited};
#[cfg(feature = "http")]
pub use classify::is_idempotent;
pub use classify::{
    Attempt, Chain, Classify, Forbidden, Outcome, RetryKind, StandardClassifier, TransportError,
    Verdict, is_idempotent_method,
};
pub use machine::Retry;
pub use policy::RetryPolicy;
pub use report::{Action, GiveUpReason, Human, Report, WaitReason};
pub use status::StatusSet;
