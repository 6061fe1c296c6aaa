#![doc = include_str!("../README.md")]
// Never panic on input: no unwrap/expect/indexing in library code.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod body;
mod classify;
mod layer;
mod policy;
pub mod timeout;
mod trace;

pub use body::{DEFAULT_BODY_CAP, ReplayBody, ReplayError};
pub use classify::{
    AsStdError, classify_error, grpc_status, is_grpc, origin_key, request_is_idempotent,
};
#[allow(deprecated)]
pub use layer::Notice;
pub use layer::{
    Attempts, ResponseFuture, RetryError, RetryLayer, RetryLayerBuilder, RetryService,
};
pub use policy::Policy;
pub use timeout::{Elapsed, Timeout, TimeoutLayer};

// The types a caller configures and reads, without a direct relent dependency.
pub use relent::http::Observed;
pub use relent::http::{Idempotent, NoRetry, Overrides};
pub use relent::retry::{GiveUpReason, Outcome, Report, RetryPolicy, TransportError, WaitReason};
pub use relent::timeout::{TimeoutOverride, Timeouts};
pub use relent_tokio::{
    AnyError, AttemptHistory, AttemptTimedOut, Cause, ErrorClass, Event, Failure, LastFailure,
    OnEvent, SharedBudget, SharedDeadlines, Step,
};

/// The error type of tower's middleware: any error, boxed.
pub use relent_tokio::BoxError;
