//! Retry policies that reproduce well-known clients, each with its source.
//!
//! Each differs from its original where the original lets a delay overshoot
//! its cap (relent caps after jitter) and otherwise keeps its numbers.

use core::time::Duration;

use crate::backoff::{BackoffPolicy, Factor, Jitter, Plan, Schedule, presets as backoff_presets};
use crate::hint::HintPolicy;
use crate::http::{StandardClassifier, StatusSet};
use crate::retry::RetryPolicy;
use crate::retry::policy::attempts;

const fn backoff(
    base: Duration,
    factor: Factor,
    jitter: Jitter,
    cap: Duration,
    delays: Option<u32>,
) -> BackoffPolicy {
    BackoffPolicy {
        schedule: Schedule::Exponential { base, factor },
        jitter,
        floor: Duration::ZERO,
        cap,
        max_delays: delays,
        max_elapsed: None,
        reset_after_quiet: None,
        plan: Plan::UNPLANNED,
    }
    .planned()
}

/// The standard rules with this retryable set; 429 is throttling, and which
/// transport failures are retried is given per preset.
const fn rules(
    retryable: StatusSet,
    connect_errors: bool,
    timeouts: bool,
    transport_errors: bool,
) -> StandardClassifier {
    StandardClassifier {
        retryable,
        throttling: StatusSet::DEFAULT_THROTTLING,
        non_idempotent_statuses: StatusSet::EMPTY,
        retry_connect_errors: connect_errors,
        retry_timeouts: timeouts,
        retry_transport_errors: transport_errors,
    }
}

impl RetryPolicy<StandardClassifier> {
    /// kube-rs's client `RetryPolicy` (kube-client `client/retry.rs`, `Default`):
    /// retry 429, 503 and 504 only, never transport errors (they "might not be
    /// idempotent"), 500 ms doubling to 5 s, 3 retries (4 attempts).
    ///
    /// No jitter here, on purpose: kube builds its backoff with tower's
    /// `ExponentialBackoffMaker::new(500 ms, 5 s, 2.0, rng)`, whose third argument is
    /// tower's *jitter ratio* (not a growth factor: tower always doubles), so kube
    /// waits `base + min(U[0, 1) × 2 × base, 5 s − base)` with `base = min(500 ms ×
    /// 2ⁿ, 5 s)`, i.e. somewhere in `[base, min(3 × base, 5 s)]`. This preset waits
    /// `base` exactly, the lower end of kube's range (checked against kube 4.2.0).
    #[must_use]
    pub const fn kube_client() -> Self {
        RetryPolicy {
            max_attempts: attempts(4),
            deadline: None,
            per_try_timeout: None,
            backoff: backoff(
                Duration::from_millis(500),
                Factor::TWO,
                Jitter::None,
                Duration::from_secs(5),
                Some(3),
            ),
            throttled_backoff: None,
            classifier: rules(StatusSet::from_codes(&[429, 503, 504]), false, false, false),
            hints: HintPolicy::DEFAULT,
        }
    }

    /// kube-rs's watcher streams (`watcher(..).default_backoff()`):
    /// retry every failure, forever, with [`backoff_presets::kube_watcher`]
    /// (800 ms ×2 to 30 s, jittered, reset after 120 s quiet); the driver resets
    /// the backoff on every successful event.
    #[must_use]
    pub const fn kube_watcher() -> Self {
        RetryPolicy {
            max_attempts: attempts(u32::MAX),
            deadline: None,
            per_try_timeout: None,
            backoff: backoff_presets::kube_watcher(),
            throttled_backoff: None,
            classifier: rules(StatusSet::EMPTY.with_range(400, 599), true, true, true),
            hints: HintPolicy::DEFAULT,
        }
    }

    /// AWS SDKs' standard retry mode: 3 attempts, full jitter with base 1 s and
    /// cap 20 s, retrying 500/502/503/504 and transport errors, 429 as throttling
    /// (AWS SDK reference guide, "Retry behavior"; botocore `retries/standard.py`).
    /// Pair it with [`BudgetConfig::AWS_STANDARD`](crate::retry::BudgetConfig::AWS_STANDARD).
    #[must_use]
    pub const fn aws_standard() -> Self {
        RetryPolicy {
            max_attempts: attempts(3),
            deadline: None,
            per_try_timeout: None,
            backoff: backoff_presets::aws_standard(),
            throttled_backoff: None,
            classifier: rules(
                StatusSet::from_codes(&[429, 500, 502, 503, 504]),
                true,
                true,
                true,
            ),
            hints: HintPolicy::DEFAULT,
        }
    }

    /// gRFC A6 client retries with the example service config of the proposal:
    /// `maxAttempts: 4`, `initialBackoff: 0.1s`, `maxBackoff: 1s`,
    /// `backoffMultiplier: 2`. Since grpc/proposal PR #452 (August 2024) A6 waits
    /// `min(initialBackoff × multiplier^(n−1), maxBackoff) × random(0.8, 1.2)` before
    /// retry `n`, as grpc-go and grpc-java do: here [`Jitter::Proportional`] of 0.2
    /// around the same nominal delays (the proposal's earlier text said
    /// `random(0, current)`, full jitter).
    ///
    /// The cap stays at `maxBackoff` (1 s), applied after jitter as everywhere in
    /// relent, so the nominal sequence is A6's exactly (0.1, 0.2, 0.4, 0.8, 1, 1 … s)
    /// and no wait exceeds `maxBackoff`; A6 lets a wait reach `1.2 × maxBackoff`. With
    /// this preset's 4 attempts the waits never come near the cap (0.1, 0.2, 0.4 s
    /// nominal); on a plateau at the cap, draws above it are clipped to it. A cap of
    /// `1.2 × maxBackoff` would instead change the nominal delay just below the cap
    /// (0.8 s would not be limited to 1 s before jitter in a 100 s → 700 s config).
    ///
    /// gRPC retries on status codes, not HTTP statuses; here UNAVAILABLE maps to
    /// 503 (its usual HTTP rendering) and RESOURCE_EXHAUSTED to 429. Server
    /// pushback (`grpc-retry-pushback-ms`) is honoured, and a negative pushback
    /// stops retries. Pair it with
    /// [`BudgetConfig::GRPC`](crate::retry::BudgetConfig::GRPC) for `retryThrottling`.
    #[must_use]
    pub const fn grpc_a6() -> Self {
        RetryPolicy {
            max_attempts: attempts(4),
            deadline: None,
            per_try_timeout: None,
            backoff: backoff(
                Duration::from_millis(100),
                Factor::TWO,
                Jitter::Proportional(Factor::from_millionths(200_000)),
                Duration::from_secs(1),
                None,
            ),
            throttled_backoff: None,
            classifier: rules(StatusSet::from_codes(&[429, 503]), true, false, false),
            hints: HintPolicy::DEFAULT,
        }
    }

    /// urllib3's `Retry` as commonly configured: `total=3` (urllib3's
    /// `Retry.DEFAULT`), `backoff_factor=0.5` so delays of 1 s, 2 s, 4 s…
    /// capped at `DEFAULT_BACKOFF_MAX` = 120 s, only idempotent methods
    /// (`DEFAULT_ALLOWED_METHODS`), and `Retry-After` honoured on
    /// `RETRY_AFTER_STATUS_CODES` = 413, 429 and 503.
    ///
    /// Differences kept on purpose (checked against urllib3 2.7.0,
    /// `util/retry.py` and `test/test_retry.py`):
    /// - urllib3 makes its first retry without delay (`get_backoff_time` is 0 after
    ///   one error, then `backoff_factor × 2^(n−1)`: 0, 1, 2, 4 … s here). relent
    ///   never retries at once: its `n`-th wait is urllib3's `(n+1)`-th (1, 2, 4 … s),
    ///   so every wait is one step later in urllib3's sequence.
    /// - `Retry-After` is capped by [`HintPolicy::DEFAULT`] (300 s, beyond which the
    ///   operation gives up) instead of urllib3's `DEFAULT_RETRY_AFTER_MAX` of 6 hours
    ///   (to which it clamps the hint); set [`hints`](RetryPolicy::hints) to change it.
    #[must_use]
    pub const fn urllib3() -> Self {
        RetryPolicy {
            max_attempts: attempts(4),
            deadline: None,
            per_try_timeout: None,
            backoff: backoff(
                Duration::from_secs(1),
                Factor::TWO,
                Jitter::None,
                Duration::from_secs(120),
                None,
            ),
            throttled_backoff: None,
            classifier: rules(StatusSet::from_codes(&[413, 429, 503]), true, true, true),
            hints: HintPolicy::DEFAULT,
        }
    }
}

impl Default for RetryPolicy<StandardClassifier> {
    /// Three attempts of [`StandardClassifier::DEFAULT`] with exponential backoff
    /// from 100 ms, doubling, equal jitter, capped at 10 s; hints capped at
    /// [`HintPolicy::DEFAULT`]. A conservative general-purpose policy.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: attempts(3),
            deadline: None,
            per_try_timeout: None,
            backoff: backoff(
                Duration::from_millis(100),
                Factor::TWO,
                Jitter::Equal,
                Duration::from_secs(10),
                None,
            ),
            throttled_backoff: None,
            classifier: StandardClassifier::DEFAULT,
            hints: HintPolicy::DEFAULT,
        }
    }
}
