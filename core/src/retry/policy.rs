//! A retry policy: every limit of one operation in one value, plus cited presets.

use core::num::NonZeroU32;
use core::time::Duration;

use crate::backoff::BackoffPolicy;
use crate::hint::HintPolicy;
use crate::http::StandardClassifier;

/// Everything that bounds one operation's retries.
///
/// Fields are public: a policy is plain data, checked where it is built (the
/// backoff builder validates the schedule; `max_attempts` cannot be zero by type).
///
/// **Which limit wins.** Inside a policy, `max_attempts` and `deadline` are the
/// limits that count: a [`Retry`](crate::retry::Retry) runs `backoff` and
/// `throttled_backoff` for their delays only, ignoring their own
/// [`max_delays`](BackoffPolicy::max_delays) and
/// [`max_elapsed`](BackoffPolicy::max_elapsed). So
/// `RetryPolicy::aws_standard().with_max_attempts(5)` sends 5 requests although
/// [`presets::aws_standard`](crate::backoff::presets::aws_standard) alone stops after
/// 2 delays (botocore `test_standard_mode_can_configure_max_attempts`). Use
/// `deadline` for a time limit.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy<C = StandardClassifier> {
    /// Attempts in total, the first included.
    pub max_attempts: NonZeroU32,
    /// The overall deadline, measured from the operation's start: covers every attempt and wait.
    pub deadline: Option<Duration>,
    /// The longest one attempt may take; each attempt gets `min(per_try_timeout, time left)`.
    pub per_try_timeout: Option<Duration>,
    /// Delays between attempts.
    pub backoff: BackoffPolicy,
    /// Delays after throttling, when they should differ (AWS uses a larger base for throttling).
    pub throttled_backoff: Option<BackoffPolicy>,
    /// What is worth a retry.
    pub classifier: C,
    /// How server hints are capped and judged.
    pub hints: HintPolicy,
}

/// `n` as a `NonZeroU32`, with zero read as one (the first attempt always happens).
pub(crate) const fn attempts(n: u32) -> NonZeroU32 {
    match NonZeroU32::new(n) {
        Some(n) => n,
        None => NonZeroU32::MIN,
    }
}

impl<C> RetryPolicy<C> {
    /// The same policy with another classifier (for example a veto chained before the standard rules).
    #[must_use]
    pub fn with_classifier<C2>(self, classifier: C2) -> RetryPolicy<C2> {
        RetryPolicy {
            max_attempts: self.max_attempts,
            deadline: self.deadline,
            per_try_timeout: self.per_try_timeout,
            backoff: self.backoff,
            throttled_backoff: self.throttled_backoff,
            classifier,
            hints: self.hints,
        }
    }

    /// The same policy with `n` attempts in total (zero is read as one).
    #[must_use]
    pub fn with_max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = attempts(n);
        self
    }

    /// The same policy with an overall deadline.
    #[must_use]
    pub fn with_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.deadline = deadline;
        self
    }

    /// The same policy with neither an overall deadline nor a per-attempt timeout: for an
    /// operation that may take as long as its attempts and waits take (a batch job, a
    /// stream's reconnects), bounded by its attempts alone.
    #[must_use]
    pub fn without_time_limits(self) -> Self {
        self.with_deadline(None).with_per_try_timeout(None)
    }

    /// The same policy with a per-attempt timeout.
    #[must_use]
    pub fn with_per_try_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.per_try_timeout = timeout;
        self
    }

    /// The same policy with another backoff.
    #[must_use]
    pub fn with_backoff(mut self, backoff: BackoffPolicy) -> Self {
        self.backoff = backoff;
        self
    }

    /// The same policy with another hint policy.
    #[must_use]
    pub fn with_hints(mut self, hints: HintPolicy) -> Self {
        self.hints = hints;
        self
    }
}
