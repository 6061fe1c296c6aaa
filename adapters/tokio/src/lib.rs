#![doc = include_str!("../README.md")]
// Never panic on input: no unwrap/expect/indexing/unchecked arithmetic in library code.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

mod class;
pub mod clock;
mod error;
pub mod history;
mod retry;
pub mod seed;
mod shared;
pub mod stream;

#[doc = include_str!("../MIGRATING.md")]
pub mod migrating {}

pub use class::{AlwaysTransient, ClassifyError, ErrorClass, classify_io};
pub use clock::TokioTimer;
pub use error::{AnyError, AttemptTimedOut, BoxError, Cause, Failure, LastFailure, RetryError};
pub use history::{AttemptHistory, Step};

// The policy types a run needs, so `relent-tokio` alone is enough for a simple retry.
pub use relent::backoff::{BackoffBuilder, BackoffPolicy, Jitter};
pub use relent::hint::HintPolicy;
pub use relent::retry::{BudgetConfig, GiveUpReason, Report, RetryKind, RetryPolicy, WaitReason};
pub use retry::{Event, Notify, OnEvent, Quiet, Retrier, retry};
pub use shared::{SharedBudget, SharedDeadlines, SharedGate};
