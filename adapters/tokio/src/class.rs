//! What the caller's errors mean to the retry machine.
//!
//! relent's [`Retry`] machine classifies HTTP-shaped outcomes (a status, a
//! transport failure). A generic operation (a database call, a gRPC call, a
//! Kubernetes request) fails with its own error type, and only the caller knows
//! what that error means. So the caller classifies its error as an
//! [`ErrorClass`], and this module feeds it to the machine as a failure the
//! driver classified itself ([`Retry::handle_failure`]):
//!
//! | [`ErrorClass`] | fed to the machine | the machine then |
//! |---|---|---|
//! | `Transient` | `handle_failure(Some(RetryKind::Transient), None)` | backs off (budget: transient cost) |
//! | `Throttled { after }` | `handle_failure(Some(RetryKind::Throttled), after.map(ServerHint::After))` | waits the hint if it is judged acceptable, else backs off or gives up per [`HintPolicy`](relent::HintPolicy) |
//! | `Permanent` | `handle_failure(None, None)` | gives up: [`GiveUpReason::NotRetryable`](relent::retry::GiveUpReason::NotRetryable) |
//! | (attempt timed out) | `handle_transport_error(TransportError::TimedOut)` | retries as [`RetryKind::TimedOut`] unless disabled (budget: timeout cost) |
//!
//! [`Report::last`](relent::retry::Report::last) then says exactly that (for
//! example "a throttled failure"), and the real errors are kept, every one,
//! in [`RetryError`](crate::RetryError).
//!
//! [`Retry`]: relent::retry::Retry

use core::time::Duration;

use relent::ServerHint;
use relent::retry::{Budget, Classify, Retry, RetryKind, StandardClassifier};

/// The caller's verdict on one failed attempt's error.
///
/// Seed 002 (kube-rs) splits errors the same way: transient ones (network
/// errors, timeouts, 429) are worth another try, permanent ones (an invalid
/// spec, a bad configuration, a 404) will fail the same way again.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Something broke that may work next time (a reset connection, a 503, a
    /// deadlock victim): back off and try again.
    Transient,
    /// It will fail the same way again (bad input, not found, forbidden): stop now.
    Permanent,
    /// The other side asked us to slow down (429, gRPC `RESOURCE_EXHAUSTED`).
    /// `after` is its hint (`Retry-After`, `grpc-retry-pushback-ms`), if it gave one:
    /// obeyed only within the policy's hint cap and deadline, and shared through
    /// the deadline table when one is configured.
    Throttled {
        /// How long the server asked us to wait.
        after: Option<Duration>,
    },
}

impl core::fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ErrorClass::Transient => f.write_str("transient"),
            ErrorClass::Permanent => f.write_str("permanent"),
            ErrorClass::Throttled { after: None } => f.write_str("throttled"),
            ErrorClass::Throttled { after: Some(d) } => write!(f, "throttled, retry after {d:?}"),
        }
    }
}

/// Classifies an operation's error. Implemented for every `Fn(&E) -> ErrorClass`.
///
/// ```
/// use std::time::Duration;
/// use relent_tokio::{ClassifyError, ErrorClass};
///
/// #[derive(Debug)]
/// enum DbError { Deadlock, Busy { retry_ms: u64 }, Syntax }
///
/// let classify = |e: &DbError| match e {
///     DbError::Deadlock => ErrorClass::Transient,
///     DbError::Busy { retry_ms } => ErrorClass::Throttled {
///         after: Some(Duration::from_millis(*retry_ms)),
///     },
///     DbError::Syntax => ErrorClass::Permanent,
/// };
/// assert_eq!(classify.classify(&DbError::Syntax), ErrorClass::Permanent);
/// ```
pub trait ClassifyError<E> {
    /// The class of `error`.
    fn classify(&self, error: &E) -> ErrorClass;
}

impl<E, F: Fn(&E) -> ErrorClass> ClassifyError<E> for F {
    fn classify(&self, error: &E) -> ErrorClass {
        self(error)
    }
}

/// Treats every error as [`ErrorClass::Transient`]: the default of a
/// [`Retrier`](crate::Retrier), as backon's default `when` retries every error.
/// Limits (attempts, deadline, budget) still bound the retries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AlwaysTransient;

impl<E> ClassifyError<E> for AlwaysTransient {
    #[inline]
    fn classify(&self, _: &E) -> ErrorClass {
        ErrorClass::Transient
    }
}

/// Feed one classified failure to the machine (see the table in the module docs).
pub(crate) fn feed<C: Classify, B: Budget>(
    machine: &mut Retry<C, B>,
    now: relent::Instant,
    class: ErrorClass,
) {
    match class {
        ErrorClass::Transient => machine.handle_failure(now, Some(RetryKind::Transient), None),
        ErrorClass::Permanent => machine.handle_failure(now, None, None),
        ErrorClass::Throttled { after } => machine.handle_failure(
            now,
            Some(RetryKind::Throttled),
            after.map(ServerHint::After),
        ),
    }
}

/// The machine-side classifier: the policy's standard rules, which pass a
/// driver-classified failure through and decide only about timeouts.
pub(crate) const fn machine_classifier(retry_timeouts: bool) -> StandardClassifier {
    StandardClassifier {
        retry_timeouts,
        ..StandardClassifier::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use relent::retry::{Action, GiveUpReason, RetryPolicy, TransportError};
    use relent::{Instant, backoff::BackoffBuilder};

    fn machine(retry_timeouts: bool) -> Retry {
        let backoff = BackoffBuilder::constant(Duration::from_millis(10))
            .build()
            .unwrap();
        let policy = RetryPolicy::default()
            .with_backoff(backoff)
            .with_max_attempts(5)
            .with_classifier(machine_classifier(retry_timeouts));
        Retry::new(policy, 1, Instant::ZERO).idempotent(true)
    }

    fn after(m: &mut Retry, class: Option<ErrorClass>) -> Action {
        let now = Instant::ZERO;
        assert!(matches!(m.poll(now, None), Action::Send { .. }));
        m.handle_attempt_started(now);
        match class {
            Some(c) => feed(m, now, c),
            None => m.handle_transport_error(now, TransportError::TimedOut),
        }
        m.poll(now, None)
    }

    #[test]
    fn each_class_maps_to_its_row() {
        let ms = Duration::from_millis;
        let mut m = machine(true);
        assert_eq!(
            after(&mut m, Some(ErrorClass::Transient)),
            Action::Wait {
                until: Instant::ZERO + ms(10),
                reason: relent::retry::WaitReason::Backoff(RetryKind::Transient)
            }
        );
        let mut m = machine(true);
        assert_eq!(
            after(
                &mut m,
                Some(ErrorClass::Throttled {
                    after: Some(ms(70))
                })
            ),
            Action::Wait {
                until: Instant::ZERO + ms(70),
                reason: relent::retry::WaitReason::ServerHint(ms(70))
            }
        );
        let mut m = machine(true);
        assert_eq!(
            after(&mut m, Some(ErrorClass::Throttled { after: None })),
            Action::Wait {
                until: Instant::ZERO + ms(10),
                reason: relent::retry::WaitReason::Backoff(RetryKind::Throttled)
            }
        );
        let mut m = machine(true);
        assert!(matches!(
            after(&mut m, Some(ErrorClass::Permanent)),
            Action::GiveUp(r) if r.reason == GiveUpReason::NotRetryable
        ));
        let mut m = machine(true);
        assert!(matches!(
            after(&mut m, None),
            Action::Wait {
                reason: relent::retry::WaitReason::Backoff(RetryKind::TimedOut),
                ..
            }
        ));
        let mut m = machine(false);
        assert!(matches!(
            after(&mut m, None),
            Action::GiveUp(r) if r.reason == GiveUpReason::NotRetryable
        ));
    }

    #[test]
    fn display() {
        assert_eq!(ErrorClass::Transient.to_string(), "transient");
        assert_eq!(
            ErrorClass::Throttled {
                after: Some(Duration::from_secs(2))
            }
            .to_string(),
            "throttled, retry after 2s"
        );
    }
}
