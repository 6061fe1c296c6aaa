//! Helpers shared by the reqwest adapter's end-to-end tests (`tests/tests/reqwest_*.rs`).
#![allow(dead_code)]

use std::time::Duration;

use relent::backoff::{BackoffBuilder, Jitter};
use relent_reqwest::{AttemptHistory, RetryEngine, RetryError, RetryPolicy};
use reqwest_middleware::ClientWithMiddleware;

/// A reqwest client that never consults proxy settings, so 127.0.0.1 is reached directly.
pub fn plain() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("reqwest client")
}

/// A client whose only middleware is `retrier`'s.
pub fn through(retrier: &RetryEngine) -> ClientWithMiddleware {
    reqwest_middleware::ClientBuilder::new(plain())
        .with(retrier.middleware())
        .build()
}

/// The default policy with a quick, unjittered backoff (10 ms doubling, cap 100 ms), so
/// tests that retry do not spend their time sleeping.
pub fn quick() -> RetryPolicy {
    RetryPolicy::default().with_backoff(
        BackoffBuilder::exponential(Duration::from_millis(10))
            .jitter(Jitter::None)
            .cap(Duration::from_millis(100))
            .build()
            .expect("valid backoff"),
    )
}

/// A retrier with `policy` and the defaults otherwise.
pub fn retrier(policy: RetryPolicy) -> RetryEngine {
    RetryEngine::builder()
        .policy(policy)
        .build()
        .expect("retrier")
}

/// The history attached to a response by the retry layer.
pub fn history(response: &reqwest::Response) -> AttemptHistory {
    response
        .extensions()
        .get::<AttemptHistory>()
        .cloned()
        .expect("every response from the retry layer carries its history")
}

/// The typed error inside a middleware error.
pub fn retry_error(error: &reqwest_middleware::Error) -> &RetryError {
    match error {
        reqwest_middleware::Error::Middleware(e) => e
            .downcast_ref::<RetryError>()
            .unwrap_or_else(|| panic!("not a RetryError: {e:?}")),
        reqwest_middleware::Error::Reqwest(e) => panic!("a bare reqwest error escaped: {e:?}"),
    }
}

/// The statuses of each attempt, with 0 for anything that is not a response.
pub fn statuses(history: &AttemptHistory) -> Vec<u16> {
    history
        .outcomes()
        .map(|o| match o {
            relent_reqwest::Observed::Response { status, .. } => status,
            _ => 0,
        })
        .collect()
}
