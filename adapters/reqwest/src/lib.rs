#![doc = include_str!("../README.md")]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod client;
mod drive;
mod error;
mod middleware;
mod overrides;
mod retry_engine;
pub mod timeouts;
mod trace;

#[doc = include_str!("../MIGRATING.md")]
pub mod migrating {}

pub use client::{RequestBuilderExt, RetryClient};
pub use error::{AnyError, AttemptTimedOut, BoxError, RetryError, classify_error};
pub use middleware::RetryMiddleware;
pub use overrides::{Idempotent, NoRetry, Overrides};
pub use relent_tokio::{
    AttemptHistory, Cause, ErrorClass, Event, Failure, LastFailure, OnEvent, Step,
};
pub use retry_engine::{
    BuildError, DEFAULT_TABLE_CAPACITY, KeyBy, RetryEngine, RetryEngineBuilder,
};
pub use timeouts::ClientBuilderExt;

// The types a caller needs to configure and read the engine, without a direct relent dependency.
pub use relent::http::{Attempts, Observed};
pub use relent::retry::{GiveUpReason, Outcome, Report, RetryPolicy, TransportError, WaitReason};
pub use relent::timeout::{TimeoutOverride, Timeouts};
pub use relent_tokio::{SharedBudget, SharedDeadlines};
