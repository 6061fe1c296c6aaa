//! Retry budgets: a token bucket shared across operations, so an outage cannot multiply traffic.
//!
//! Per-operation limits (max attempts) bound one caller; they do not bound a
//! fleet. With 3 attempts each, 1,000 callers hitting a dead backend send
//! 3,000 requests. A budget caps retries across *all* operations at a fraction
//! of first attempts plus a fixed reserve, which is what gRPC's
//! `retryThrottling`, the AWS SDKs' retry quota and Finagle/tower's retry
//! budgets do.
//!
//! Tokens are counted in thousandths ("millitokens") so ratios such as 0.1
//! are exact integer arithmetic. The bucket is fed with `now` only for its
//! optional steady refill; everything else is event driven.

use crate::retry::RetryKind;
use crate::time::Instant;

/// One token, in millitokens.
pub const TOKEN: u64 = 1_000;

/// The shape of a token bucket. All amounts are millitokens ([`TOKEN`] = one token).
///
/// Two charging models share this one shape: the AWS quota and ratio budgets
/// charge the retries they grant (`failure_cost == 0`), gRPC's `retryThrottling`
/// charges every failure that counts and grants retries for free (`failure_cost
/// > 0`, retry costs 0, a reserve of half the bucket).
///
/// Laws (for a single bucket, with `refill_per_sec == 0`):
/// - every failure that counts (an attempt the classifier judged worth a retry,
///   whether or not it is retried, or one the server told not to retry) withdraws
///   `failure_cost`, or what is left if less, *before* the retry is decided
///   ([`Budget::on_failure`]);
/// - a retry is allowed only if `balance >= cost + reserve`, and then `cost` is withdrawn;
/// - the balance never exceeds `max` nor drops below zero;
/// - so, over any run, `retries * min_cost <= initial + deposits`, where deposits are
///   `deposit_per_request` per first attempt plus `refund_on_success` per success
///   (or the refunded retry cost), and `min_cost` is the cheapest kind's `cost`, plus
///   `failure_cost` when each retry follows its own charged failure (as in
///   [`Retry`](crate::retry::Retry)) and `cost + reserve > 0`: a retry is then granted
///   only on a positive balance, so that failure was charged in full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BudgetConfig {
    /// The most the bucket holds.
    pub max: u64,
    /// The balance at construction.
    pub initial: u64,
    /// Added when an operation makes its first attempt (a retry ratio: 0.1 token per request allows 10% retries).
    pub deposit_per_request: u64,
    /// Added when an operation succeeds without having retried (AWS: `NO_RETRY_INCREMENT`).
    pub refund_on_success: u64,
    /// When an operation succeeds after a retry, give back that retry's cost
    /// instead of `refund_on_success` (AWS: `release_retry_quota` returns the
    /// capacity acquired for the last retry).
    pub refund_retry_cost: bool,
    /// Withdrawn for a [`RetryKind::Transient`] retry.
    pub transient_cost: u64,
    /// Withdrawn for a [`RetryKind::Throttled`] retry.
    pub throttled_cost: u64,
    /// Withdrawn for a [`RetryKind::TimedOut`] retry.
    pub timeout_cost: u64,
    /// Withdrawn for every failure that counts, retried or not (gRPC
    /// `retryThrottling`: each failed RPC takes one token). Zero for budgets that
    /// charge only the retries they grant.
    pub failure_cost: u64,
    /// A withdrawal must leave at least this much behind.
    pub reserve: u64,
    /// Added per second of elapsed time (tower's `min_per_sec`), so a quiet client can still retry.
    pub refill_per_sec: u64,
}

impl BudgetConfig {
    /// The AWS SDKs' standard-mode retry quota: 500 tokens, a retry costs 5, a
    /// timeout 10; a success returns the cost of the retry it followed, or 1 if
    /// it needed none; no deposit per request.
    ///
    /// Source: the AWS SDK reference guide ("Retry behavior", standard mode),
    /// aws-sdk-js-v3 `middleware-retry/src/constants.ts` (`INITIAL_RETRY_TOKENS = 500`,
    /// `RETRY_COST = 5`, `TIMEOUT_RETRY_COST = 10`, `NO_RETRY_INCREMENT = 1`) and
    /// botocore `retries/standard.py` (`release_retry_quota`).
    pub const AWS_STANDARD: BudgetConfig = BudgetConfig {
        max: 500 * TOKEN,
        initial: 500 * TOKEN,
        deposit_per_request: 0,
        refund_on_success: TOKEN,
        refund_retry_cost: true,
        transient_cost: 5 * TOKEN,
        throttled_cost: 5 * TOKEN,
        timeout_cost: 10 * TOKEN,
        failure_cost: 0,
        reserve: 0,
        refill_per_sec: 0,
    };

    /// gRPC `retryThrottling` with the values of gRFC A6's example
    /// (`maxTokens: 10`, `tokenRatio: 0.1`): every failure that counts takes one
    /// token, every success gives back 0.1, and a retry is allowed only while the
    /// balance, after its failure was charged, is strictly above half of
    /// `maxTokens` (`reserve` = 5 tokens + 1 millitoken; a retry itself costs nothing).
    ///
    /// What counts as a failure (gRFC A6, "Throttling Retry Attempts and Hedged
    /// RPCs"): a status in `retryableStatusCodes`, or a pushback telling the client
    /// not to retry. So a refused retry, the last attempt's failure and a "do not
    /// retry" pushback all take their token, and a client whose calls fail half the
    /// time stays below the threshold: retries turn off. Sources: grpc/proposal
    /// `A6-client-retries.md`; grpc-java `RetriableStream.Throttle`
    /// (`onQualifiedFailureThenCheckIsAboveThreshold`, also in thousandths); grpc-go
    /// `TestRetryThrottling` in `test/retry_test.go`.
    ///
    /// For another `retryThrottling` config, keep this shape: `max = initial =
    /// maxTokens`, `refund_on_success = tokenRatio` (in millitokens), `reserve =
    /// max / 2 + 1`.
    pub const GRPC: BudgetConfig = BudgetConfig {
        max: 10 * TOKEN,
        initial: 10 * TOKEN,
        deposit_per_request: 0,
        refund_on_success: TOKEN / 10,
        refund_retry_cost: false,
        transient_cost: 0,
        throttled_cost: 0,
        timeout_cost: 0,
        failure_cost: TOKEN,
        reserve: 5 * TOKEN + 1,
        refill_per_sec: 0,
    };

    /// A ratio budget in the manner of Finagle's `RetryBudget` and tower's
    /// `TpsBudget`: each request deposits `ratio_milli` millitokens (200 = 20%
    /// retries, tower's default `retry_percent` of 0.2), each retry costs one
    /// token, and `min_per_sec` tokens a second trickle in (tower's default is 10).
    #[must_use]
    pub const fn ratio(ratio_milli: u64, initial_tokens: u64, min_per_sec: u64) -> BudgetConfig {
        let initial = initial_tokens.saturating_mul(TOKEN);
        let max = if initial > 100 * TOKEN {
            initial
        } else {
            100 * TOKEN
        };
        BudgetConfig {
            max,
            initial,
            deposit_per_request: ratio_milli,
            refund_on_success: 0,
            refund_retry_cost: false,
            transient_cost: TOKEN,
            throttled_cost: TOKEN,
            timeout_cost: TOKEN,
            failure_cost: 0,
            reserve: 0,
            refill_per_sec: min_per_sec.saturating_mul(TOKEN),
        }
    }

    /// The cost of one retry of this kind.
    #[must_use]
    pub const fn cost(&self, kind: RetryKind) -> u64 {
        match kind {
            RetryKind::Transient => self.transient_cost,
            RetryKind::Throttled => self.throttled_cost,
            RetryKind::TimedOut => self.timeout_cost,
        }
    }

    /// What a success returns: the cost of the retry it followed (when
    /// `refund_retry_cost`), else `refund_on_success`.
    #[must_use]
    pub const fn refund(&self, after_retry: Option<RetryKind>) -> u64 {
        match after_retry {
            Some(kind) if self.refund_retry_cost => self.cost(kind),
            _ => self.refund_on_success,
        }
    }

    /// The balance after withdrawing a retry of `kind` from `balance`, or
    /// `None` if that would break the reserve. The one withdrawal rule.
    #[must_use]
    pub const fn withdraw(&self, balance: u64, kind: RetryKind) -> Option<u64> {
        let cost = self.cost(kind);
        if balance >= cost.saturating_add(self.reserve) {
            Some(balance.saturating_sub(cost))
        } else {
            None
        }
    }

    /// The balance after charging one failure of `kind` to `balance`: `failure_cost`
    /// less, never below zero. The one failure rule.
    #[must_use]
    pub const fn charge_failure(&self, balance: u64, kind: RetryKind) -> u64 {
        let _ = kind;
        balance.saturating_sub(self.failure_cost)
    }
}

/// Something that grants or refuses retries across operations.
///
/// Implemented by [`TokenBucket`] (owned, `&mut`), by [`Unlimited`], and with the
/// `std` feature by `&SharedTokenBucket` and `Arc<SharedTokenBucket>`.
pub trait Budget {
    /// An operation is making its first attempt.
    fn on_request(&mut self, now: Instant);
    /// An attempt failed in a way that counts against the budget: the classifier
    /// judged it worth a retry of `kind` (whether or not a retry follows), or the
    /// server said not to retry. Called before the retry is decided.
    ///
    /// Budgets that charge only granted retries ignore it (the default).
    fn on_failure(&mut self, kind: RetryKind, now: Instant) {
        let _ = (kind, now);
    }
    /// May an operation retry? If yes, the cost is already withdrawn.
    #[must_use]
    fn try_withdraw(&mut self, kind: RetryKind, now: Instant) -> bool;
    /// An operation succeeded; `after_retry` is the kind of its last retry, if it retried.
    fn on_success(&mut self, after_retry: Option<RetryKind>, now: Instant);
}

/// No budget: every retry is allowed (per-operation limits still apply).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Unlimited;

impl Budget for Unlimited {
    fn on_request(&mut self, _: Instant) {}
    fn on_failure(&mut self, _: RetryKind, _: Instant) {}
    fn try_withdraw(&mut self, _: RetryKind, _: Instant) -> bool {
        true
    }
    fn on_success(&mut self, _: Option<RetryKind>, _: Instant) {}
}

impl<B: Budget + ?Sized> Budget for &mut B {
    fn on_request(&mut self, now: Instant) {
        (**self).on_request(now);
    }
    fn on_failure(&mut self, kind: RetryKind, now: Instant) {
        (**self).on_failure(kind, now);
    }
    fn try_withdraw(&mut self, kind: RetryKind, now: Instant) -> bool {
        (**self).try_withdraw(kind, now)
    }
    fn on_success(&mut self, after_retry: Option<RetryKind>, now: Instant) {
        (**self).on_success(after_retry, now);
    }
}

/// An optional budget: `None` grants every retry, like [`Unlimited`].
impl<B: Budget> Budget for Option<B> {
    fn on_request(&mut self, now: Instant) {
        if let Some(b) = self {
            b.on_request(now);
        }
    }
    fn on_failure(&mut self, kind: RetryKind, now: Instant) {
        if let Some(b) = self {
            b.on_failure(kind, now);
        }
    }
    fn try_withdraw(&mut self, kind: RetryKind, now: Instant) -> bool {
        self.as_mut().is_none_or(|b| b.try_withdraw(kind, now))
    }
    fn on_success(&mut self, after_retry: Option<RetryKind>, now: Instant) {
        if let Some(b) = self {
            b.on_success(after_retry, now);
        }
    }
}

/// The refill step, shared by the owned and the atomic bucket.
///
/// Returns `(tokens_to_add, new_last_refill)`. Only the time that was turned
/// into whole millitokens is consumed, so frequent calls never starve the
/// refill of its fractions. A clock that went backwards adds nothing.
pub(crate) fn refill_step(config: &BudgetConfig, last: Instant, now: Instant) -> (u64, Instant) {
    if config.refill_per_sec == 0 {
        return (0, now);
    }
    let elapsed = crate::time::duration_to_nanos(now.saturating_duration_since(last));
    let add = u128::from(elapsed).saturating_mul(u128::from(config.refill_per_sec)) / 1_000_000_000;
    let add = u64::try_from(add).unwrap_or(u64::MAX);
    // The time that `add` millitokens are worth, rounded up so none is credited twice.
    let used = u128::from(add)
        .saturating_mul(1_000_000_000)
        .div_ceil(u128::from(config.refill_per_sec));
    let used = u64::try_from(used).unwrap_or(u64::MAX);
    (
        add,
        Instant::from_nanos(
            last.as_nanos()
                .saturating_add(used)
                .min(now.as_nanos().max(last.as_nanos())),
        ),
    )
}

/// An owned, sans-IO token bucket. Share one behind your own lock, or use
/// `SharedTokenBucket` (feature `std`) for a lock-free handle.
///
/// ```
/// use relent::retry::{Budget, BudgetConfig, RetryKind, TokenBucket, TOKEN};
/// use relent::Instant;
///
/// // 10% retries, 2 tokens to start, no refill.
/// let mut b = TokenBucket::new(BudgetConfig::ratio(100, 2, 0), Instant::ZERO);
/// let now = Instant::ZERO;
/// assert!(b.try_withdraw(RetryKind::Transient, now));
/// assert!(b.try_withdraw(RetryKind::Transient, now));
/// assert!(!b.try_withdraw(RetryKind::Transient, now)); // empty
/// for _ in 0..10 { b.on_request(now); }                 // 10 requests earn 1 token
/// assert!(b.try_withdraw(RetryKind::Transient, now));
/// assert_eq!(b.balance(), 0);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenBucket {
    config: BudgetConfig,
    balance: u64,
    last_refill: Instant,
}

impl TokenBucket {
    /// A bucket holding `config.initial` (at most `config.max`), refilling from `now`.
    #[must_use]
    pub fn new(config: BudgetConfig, now: Instant) -> Self {
        TokenBucket {
            balance: config.initial.min(config.max),
            config,
            last_refill: now,
        }
    }

    /// The balance in millitokens.
    #[must_use]
    pub fn balance(&self) -> u64 {
        self.balance
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &BudgetConfig {
        &self.config
    }

    fn refill(&mut self, now: Instant) {
        let (add, last) = refill_step(&self.config, self.last_refill, now);
        self.last_refill = last;
        self.deposit(add);
    }

    fn deposit(&mut self, amount: u64) {
        self.balance = self.balance.saturating_add(amount).min(self.config.max);
    }
}

impl Budget for TokenBucket {
    fn on_request(&mut self, now: Instant) {
        self.refill(now);
        self.deposit(self.config.deposit_per_request);
    }

    fn on_failure(&mut self, kind: RetryKind, now: Instant) {
        self.refill(now);
        self.balance = self.config.charge_failure(self.balance, kind);
    }

    fn try_withdraw(&mut self, kind: RetryKind, now: Instant) -> bool {
        self.refill(now);
        match self.config.withdraw(self.balance, kind) {
            Some(left) => {
                self.balance = left;
                true
            }
            None => false,
        }
    }

    fn on_success(&mut self, after_retry: Option<RetryKind>, now: Instant) {
        self.refill(now);
        self.deposit(self.config.refund(after_retry));
    }
}

#[cfg(feature = "std")]
mod shared {
    use super::{Budget, BudgetConfig, refill_step};
    use crate::retry::RetryKind;
    use crate::time::Instant;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A token bucket many threads share without a lock: the balance and the
    /// refill clock are atomics updated by compare-and-swap, so no thread ever
    /// waits for another while deciding.
    ///
    /// Accounting is exact: each withdrawal and deposit is one successful CAS,
    /// and each slice of refill time is credited by exactly one thread.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use relent::retry::{Budget, BudgetConfig, RetryKind, SharedTokenBucket};
    /// use relent::Instant;
    ///
    /// let bucket = Arc::new(SharedTokenBucket::new(BudgetConfig::AWS_STANDARD, Instant::ZERO));
    /// let mut handle = Arc::clone(&bucket);
    /// assert!(handle.try_withdraw(RetryKind::Transient, Instant::ZERO));
    /// assert_eq!(bucket.balance(), 495_000);
    /// ```
    #[derive(Debug)]
    pub struct SharedTokenBucket {
        config: BudgetConfig,
        balance: AtomicU64,
        last_refill: AtomicU64,
    }

    impl SharedTokenBucket {
        /// A bucket holding `config.initial` (at most `config.max`), refilling from `now`.
        #[must_use]
        pub fn new(config: BudgetConfig, now: Instant) -> Self {
            SharedTokenBucket {
                balance: AtomicU64::new(config.initial.min(config.max)),
                config,
                last_refill: AtomicU64::new(now.as_nanos()),
            }
        }

        /// The balance in millitokens.
        #[must_use]
        pub fn balance(&self) -> u64 {
            self.balance.load(Ordering::Acquire)
        }

        /// The configuration.
        #[must_use]
        pub fn config(&self) -> &BudgetConfig {
            &self.config
        }

        fn refill(&self, now: Instant) {
            if self.config.refill_per_sec == 0 {
                return;
            }
            let mut last = self.last_refill.load(Ordering::Acquire);
            loop {
                let (add, new_last) = refill_step(&self.config, Instant::from_nanos(last), now);
                if add == 0 {
                    return;
                }
                match self.last_refill.compare_exchange_weak(
                    last,
                    new_last.as_nanos(),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => return self.deposit(add),
                    Err(seen) => last = seen,
                }
            }
        }

        fn deposit(&self, amount: u64) {
            let max = self.config.max;
            // `fetch_update` with a closure that always returns `Some` cannot fail.
            let _ = self
                .balance
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| {
                    Some(b.saturating_add(amount).min(max))
                });
        }

        /// See [`Budget::on_request`].
        pub fn on_request(&self, now: Instant) {
            self.refill(now);
            self.deposit(self.config.deposit_per_request);
        }

        /// See [`Budget::on_failure`].
        pub fn on_failure(&self, kind: RetryKind, now: Instant) {
            self.refill(now);
            if self.config.failure_cost == 0 {
                return;
            }
            // `fetch_update` with a closure that always returns `Some` cannot fail.
            let _ = self
                .balance
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| {
                    Some(self.config.charge_failure(b, kind))
                });
        }

        /// See [`Budget::try_withdraw`].
        #[must_use]
        pub fn try_withdraw(&self, kind: RetryKind, now: Instant) -> bool {
            self.refill(now);
            self.balance
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| {
                    self.config.withdraw(b, kind)
                })
                .is_ok()
        }

        /// See [`Budget::on_success`].
        pub fn on_success(&self, after_retry: Option<RetryKind>, now: Instant) {
            self.refill(now);
            self.deposit(self.config.refund(after_retry));
        }
    }

    impl Budget for &SharedTokenBucket {
        fn on_request(&mut self, now: Instant) {
            SharedTokenBucket::on_request(self, now);
        }
        fn on_failure(&mut self, kind: RetryKind, now: Instant) {
            SharedTokenBucket::on_failure(self, kind, now);
        }
        fn try_withdraw(&mut self, kind: RetryKind, now: Instant) -> bool {
            SharedTokenBucket::try_withdraw(self, kind, now)
        }
        fn on_success(&mut self, after_retry: Option<RetryKind>, now: Instant) {
            SharedTokenBucket::on_success(self, after_retry, now);
        }
    }

    impl Budget for Arc<SharedTokenBucket> {
        fn on_request(&mut self, now: Instant) {
            SharedTokenBucket::on_request(self, now);
        }
        fn on_failure(&mut self, kind: RetryKind, now: Instant) {
            SharedTokenBucket::on_failure(self, kind, now);
        }
        fn try_withdraw(&mut self, kind: RetryKind, now: Instant) -> bool {
            SharedTokenBucket::try_withdraw(self, kind, now)
        }
        fn on_success(&mut self, after_retry: Option<RetryKind>, now: Instant) {
            SharedTokenBucket::on_success(self, after_retry, now);
        }
    }
}

#[cfg(feature = "std")]
pub use shared::SharedTokenBucket;

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    #[test]
    fn no_budget_allows_every_retry() {
        let mut none: Option<TokenBucket> = None;
        none.on_request(Instant::ZERO);
        assert!(none.try_withdraw(RetryKind::Throttled, Instant::ZERO));
        none.on_success(None, Instant::ZERO);
        let mut some = Some(TokenBucket::new(
            BudgetConfig::ratio(0, 0, 0),
            Instant::ZERO,
        ));
        assert!(!some.try_withdraw(RetryKind::Transient, Instant::ZERO));
    }

    #[test]
    fn aws_quota_numbers() {
        let t = Instant::ZERO;
        let mut b = TokenBucket::new(BudgetConfig::AWS_STANDARD, t);
        let mut n = 0;
        while b.try_withdraw(RetryKind::Transient, t) {
            n += 1;
        }
        assert_eq!(n, 100); // 500 / 5
        b.on_success(None, t);
        assert_eq!(b.balance(), TOKEN);
        assert!(!b.try_withdraw(RetryKind::Transient, t));
        // A success after a timeout retry returns that retry's cost (10), not 1.
        b.on_success(Some(RetryKind::TimedOut), t);
        assert_eq!(b.balance(), 11 * TOKEN);
    }

    #[test]
    fn grpc_charges_failures_and_refuses_at_half() {
        let t = Instant::ZERO;
        let mut b = TokenBucket::new(BudgetConfig::GRPC, t);
        // A retry is free; the failure before it is not.
        assert!(b.try_withdraw(RetryKind::Transient, t));
        assert_eq!(b.balance(), 10 * TOKEN);
        let mut n = 0;
        loop {
            b.on_failure(RetryKind::Transient, t);
            if !b.try_withdraw(RetryKind::Transient, t) {
                break;
            }
            n += 1;
        }
        // gRFC A6: 10 -> 9, 8, 7, 6 retry; the fifth failure leaves 5, not above half,
        // and it was charged all the same.
        assert_eq!(n, 4);
        assert_eq!(b.balance(), 5 * TOKEN);
        b.on_success(None, t);
        assert_eq!(b.balance(), 5 * TOKEN + TOKEN / 10);
        assert!(b.try_withdraw(RetryKind::Throttled, t));
        for _ in 0..20 {
            b.on_failure(RetryKind::TimedOut, t);
        }
        assert_eq!(b.balance(), 0);
        // Budgets that charge retries ignore failures.
        let mut aws = TokenBucket::new(BudgetConfig::AWS_STANDARD, t);
        aws.on_failure(RetryKind::TimedOut, t);
        assert_eq!(aws.balance(), 500 * TOKEN);
    }

    #[test]
    fn refill_does_not_lose_fractions() {
        // 1 token per second, polled every millisecond for 3 s.
        let mut cfg = BudgetConfig::ratio(0, 0, 1);
        cfg.max = 1_000 * TOKEN;
        let mut b = TokenBucket::new(cfg, Instant::ZERO);
        for ms in 1..=3_000u64 {
            b.on_request(Instant::from_millis(ms));
        }
        assert_eq!(b.balance(), 3 * TOKEN);
        // A clock going backwards adds nothing and does not panic.
        b.on_request(Instant::ZERO);
        assert_eq!(b.balance(), 3 * TOKEN);
        b.on_request(Instant::from_millis(3_000) + Duration::from_millis(500));
        assert_eq!(b.balance(), 3 * TOKEN + TOKEN / 2);
    }

    #[cfg(feature = "std")]
    #[test]
    fn shared_matches_owned() {
        let mut cfg = BudgetConfig::ratio(100, 3, 2);
        cfg.failure_cost = 300;
        let mut owned = TokenBucket::new(cfg, Instant::ZERO);
        let shared = SharedTokenBucket::new(cfg, Instant::ZERO);
        let mut handle = &shared;
        for step in 0..500u64 {
            let now = Instant::from_millis(step * 37);
            match step % 11 {
                0 | 4 | 8 => {
                    owned.on_request(now);
                    Budget::on_request(&mut handle, now);
                }
                3 => {
                    owned.on_success(None, now);
                    Budget::on_success(&mut handle, None, now);
                }
                5 | 9 => {
                    owned.on_failure(RetryKind::Throttled, now);
                    Budget::on_failure(&mut handle, RetryKind::Throttled, now);
                }
                _ => {
                    let kind = RetryKind::Transient;
                    assert_eq!(
                        owned.try_withdraw(kind, now),
                        Budget::try_withdraw(&mut handle, kind, now)
                    );
                }
            }
            assert_eq!(owned.balance(), shared.balance(), "step {step}");
        }
    }
}
