//! Exact virtual timings of `Retrier::run` under `tokio::time::pause()`.
//!
//! Time only moves when every task is idle, and then straight to the next
//! timer, so each instant below is exact: a test fails if a wait is a
//! nanosecond too long or too short.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use relent::backoff::{Backoff, BackoffBuilder, BackoffPolicy, Jitter};
use relent::hint::ExcessKind;
use relent::retry::{BudgetConfig, GiveUpReason, RetryKind, RetryPolicy, TOKEN, WaitReason};
use relent_tokio::{
    ErrorClass, Event, Failure, Retrier, RetryError, SharedBudget, SharedDeadlines, clock,
};
use tokio::time::Instant;

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The operation's error in these tests.
#[derive(Clone, Debug, PartialEq, Eq)]
enum TestError {
    Transient(u32),
    Throttled(Duration),
    Permanent,
}

impl std::fmt::Display for TestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for TestError {}

fn classify(e: &TestError) -> ErrorClass {
    match e {
        TestError::Transient(_) => ErrorClass::Transient,
        TestError::Throttled(d) => ErrorClass::Throttled { after: Some(*d) },
        TestError::Permanent => ErrorClass::Permanent,
    }
}

/// What one attempt does.
#[derive(Clone, Debug)]
enum Step {
    Ok(u32),
    Fail(TestError),
    /// Take this long, then fail transiently.
    SlowFail(Duration),
    /// Never complete.
    Hang,
}

/// One attempt's future.
type AttemptFuture = std::pin::Pin<Box<dyn Future<Output = Result<u32, TestError>>>>;
/// When each attempt started.
type Starts = Rc<RefCell<Vec<Duration>>>;

/// An operation that plays `script` (repeating its last step) and records
/// when each attempt started, relative to `origin`.
fn scripted(script: Vec<Step>, origin: Instant) -> (impl FnMut() -> AttemptFuture, Starts) {
    let starts = Rc::new(RefCell::new(Vec::new()));
    let log = Rc::clone(&starts);
    let mut n = 0usize;
    let op = move || {
        log.borrow_mut().push(origin.elapsed());
        let step = script.get(n).or(script.last()).cloned().expect("a script");
        n += 1;
        let attempt = u32::try_from(n).unwrap();
        Box::pin(async move {
            match step {
                Step::Ok(v) => Ok(v),
                Step::Fail(e) => Err(e),
                Step::SlowFail(d) => {
                    tokio::time::sleep(d).await;
                    Err(TestError::Transient(attempt))
                }
                Step::Hang => std::future::pending().await,
            }
        }) as AttemptFuture
    };
    (op, starts)
}

fn exponential(base: Duration, jitter: Jitter) -> BackoffPolicy {
    BackoffBuilder::exponential(base)
        .jitter(jitter)
        .cap(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn constant(d: Duration) -> BackoffPolicy {
    BackoffBuilder::constant(d).build().unwrap()
}

fn policy(backoff: BackoffPolicy, attempts: u32) -> RetryPolicy {
    RetryPolicy::default()
        .without_time_limits()
        .with_backoff(backoff)
        .with_max_attempts(attempts)
}

/// The instant of each cause, relative to the run's first clock read `t0`.
fn cause_times<E>(err: &RetryError<E>, t0: relent::Instant) -> Vec<Duration> {
    err.causes()
        .iter()
        .map(|c| c.at.saturating_duration_since(t0))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn schedule_without_jitter_is_exact() {
    let origin = Instant::now();
    let t0 = clock::now();
    let (op, starts) = scripted(
        (1..=4)
            .map(|i| Step::Fail(TestError::Transient(i)))
            .collect(),
        origin,
    );
    let err = Retrier::new(policy(exponential(ms(100), Jitter::None), 4))
        .classify(classify)
        .run(op)
        .await
        .unwrap_err();
    // 100 ms doubling: attempts at 0, 100, 300, 700 ms, then the attempts run out.
    assert_eq!(*starts.borrow(), [ms(0), ms(100), ms(300), ms(700)]);
    assert_eq!(origin.elapsed(), ms(700));
    assert_eq!(err.reason(), GiveUpReason::MaxAttempts);
    assert_eq!(err.report().waited, ms(700));
    assert_eq!(err.report().elapsed, ms(700));
    assert_eq!(cause_times(&err, t0), [ms(0), ms(100), ms(300), ms(700)]);
    // Every error is kept, in order, with its class.
    let errors: Vec<_> = err.causes().iter().map(|c| c.error().cloned()).collect();
    assert_eq!(
        errors,
        (1..=4)
            .map(|i| Some(TestError::Transient(i)))
            .collect::<Vec<_>>()
    );
    assert!(err.causes().iter().enumerate().all(|(i, c)| {
        c.attempt == u32::try_from(i + 1).unwrap()
            && matches!(
                c.failure,
                Failure::Error {
                    class: ErrorClass::Transient,
                    ..
                }
            )
    }));
    assert_eq!(err.into_last_error(), Some(TestError::Transient(4)));
}

#[tokio::test(start_paused = true)]
async fn jittered_schedule_follows_the_seed() {
    let backoff = exponential(ms(100), Jitter::Full);
    let seed = 0xfeed_5eed;
    // The delays the core hands out for this seed, each drawn at the failure's
    // instant; tokio's timer ends each wait on the first millisecond tick at or
    // after its instant.
    let ceil_ms = |d: Duration| {
        Duration::from_millis(u64::try_from(d.as_nanos().div_ceil(1_000_000)).unwrap())
    };
    let mut expected = vec![Duration::ZERO];
    let mut reference = Backoff::new(backoff, seed);
    let mut t = Duration::ZERO;
    for _ in 0..4 {
        let d = reference.next_delay(relent::Instant::ZERO + t).unwrap();
        assert_ne!(
            d,
            ceil_ms(d),
            "sub-millisecond jitter, so the rounding is tested"
        );
        t = ceil_ms(t + d);
        expected.push(t);
    }
    let origin = Instant::now();
    let (op, starts) = scripted(vec![Step::Fail(TestError::Transient(0))], origin);
    let err = Retrier::new(policy(backoff, 5))
        .classify(classify)
        .seed(seed)
        .run(op)
        .await
        .unwrap_err();
    assert_eq!(*starts.borrow(), expected);
    assert_eq!(err.attempts(), 5);
    // Another seed gives another schedule (full jitter draws from [0, d]).
    let origin = Instant::now();
    let (op, other) = scripted(vec![Step::Fail(TestError::Transient(0))], origin);
    let _ = Retrier::new(policy(backoff, 5))
        .classify(classify)
        .seed(seed ^ 1)
        .run(op)
        .await;
    assert_ne!(*other.borrow(), expected);
}

#[tokio::test(start_paused = true)]
async fn retry_after_hint_is_waited_exactly_and_shared() {
    let origin = Instant::now();
    let table = SharedDeadlines::<&'static str>::new(64).unwrap();
    let (op, starts) = scripted(
        vec![Step::Fail(TestError::Throttled(ms(7_000))), Step::Ok(5)],
        origin,
    );
    let t0 = clock::now();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let seen_in = Rc::clone(&seen);
    let probe = table.clone();
    let value = Retrier::new(policy(exponential(ms(100), Jitter::None), 3))
        .classify(classify)
        .deadlines(table.clone(), "db")
        .on_event(move |e: &Event<'_, TestError>| {
            if let Event::Wait { until, reason, .. } = e {
                // While we wait, everyone else sending to "db" sees the deadline.
                seen_in
                    .borrow_mut()
                    .push((*until, *reason, probe.not_before("db")));
            }
        })
        .run(op)
        .await
        .unwrap();
    assert_eq!(value, 5);
    assert_eq!(*starts.borrow(), [ms(0), ms(7_000)]);
    assert_eq!(origin.elapsed(), ms(7_000));
    let until = t0 + ms(7_000);
    assert_eq!(
        *seen.borrow(),
        [(until, WaitReason::ServerHint(ms(7_000)), Some(until))]
    );
    // Passed now: nobody is held back any more.
    assert_eq!(table.not_before("db"), None);
}

/// `notify`, the hook's earlier name, still delivers every event, in the same order as
/// `on_event` (it is deprecated, not gone).
#[tokio::test(start_paused = true)]
#[allow(deprecated)]
async fn the_deprecated_notify_delivers_what_on_event_does() {
    let mut lists = Vec::new();
    for old_name in [false, true] {
        let origin = Instant::now();
        let (op, _) = scripted(
            vec![Step::Fail(TestError::Transient(0)), Step::Ok(2)],
            origin,
        );
        let seen = Rc::new(RefCell::new(Vec::new()));
        let seen_in = Rc::clone(&seen);
        // What each event says, without its instants (the second run starts later).
        let hook = move |e: &Event<'_, TestError>| {
            let said = match e {
                Event::Attempt { attempt, timeout } => format!("attempt {attempt} {timeout:?}"),
                Event::Ended {
                    attempt, outcome, ..
                } => format!("ended {attempt} {outcome:?}"),
                Event::Failed(cause) => format!("failed {} {:?}", cause.attempt, cause.failure),
                Event::Wait { delay, reason, .. } => format!("wait {delay:?} {reason:?}"),
                other => format!("{other:?}"),
            };
            seen_in.borrow_mut().push(said);
        };
        let retrier = Retrier::new(policy(constant(ms(50)), 3)).classify(classify);
        let value = if old_name {
            retrier.notify(hook).run(op).await
        } else {
            retrier.on_event(hook).run(op).await
        };
        assert_eq!(value.unwrap(), 2);
        lists.push(seen.take());
    }
    // Attempt, Ended, Failed, Wait, Attempt, Ended.
    assert_eq!(lists[0].len(), 6, "{:?}", lists[0]);
    assert_eq!(lists[0], lists[1]);
}

#[tokio::test(start_paused = true)]
async fn throttled_without_hint_backs_off() {
    let origin = Instant::now();
    let (op, starts) = scripted(vec![Step::Fail(TestError::Permanent), Step::Ok(1)], origin);
    // Every error throttled, no hint: the backoff schedule applies.
    let value = Retrier::new(policy(constant(ms(250)), 3))
        .classify(|_: &TestError| ErrorClass::Throttled { after: None })
        .run(op)
        .await
        .unwrap();
    assert_eq!(value, 1);
    assert_eq!(*starts.borrow(), [ms(0), ms(250)]);
}

#[tokio::test(start_paused = true)]
async fn overall_deadline_gives_up_at_once() {
    let origin = Instant::now();
    let (op, starts) = scripted(vec![Step::Fail(TestError::Transient(0))], origin);
    let err = Retrier::new(policy(constant(ms(400)), 10))
        .classify(classify)
        .deadline(ms(1_000))
        .run(op)
        .await
        .unwrap_err();
    // Attempts at 0, 400, 800; the next wait would end at 1200 > 1000, so the
    // run gives up at 800 without sleeping.
    assert_eq!(*starts.borrow(), [ms(0), ms(400), ms(800)]);
    assert_eq!(origin.elapsed(), ms(800));
    assert_eq!(
        err.reason(),
        GiveUpReason::Deadline {
            wait: Some(ms(400)),
            time_left: ms(200)
        }
    );
    assert_eq!(err.report().elapsed, ms(800));
    assert_eq!(err.report().waited, ms(800));
}

#[tokio::test(start_paused = true)]
async fn deadline_also_limits_an_attempt() {
    let origin = Instant::now();
    let (op, starts) = scripted(vec![Step::Hang], origin);
    let err = Retrier::new(policy(constant(ms(10)), 10))
        .classify(classify)
        .deadline(ms(1_000))
        .run(op)
        .await
        .unwrap_err();
    // No per-try timeout, but the attempt cannot outlive the deadline.
    assert_eq!(*starts.borrow(), [ms(0)]);
    assert_eq!(origin.elapsed(), ms(1_000));
    assert_eq!(
        err.reason(),
        GiveUpReason::Deadline {
            wait: None,
            time_left: Duration::ZERO
        }
    );
    assert!(matches!(err.causes(), [c] if c.is_timeout()));
}

#[tokio::test(start_paused = true)]
async fn per_attempt_timeout_fires_on_a_future_that_never_completes() {
    let origin = Instant::now();
    let t0 = clock::now();
    let (op, starts) = scripted(vec![Step::Hang], origin);
    let err = Retrier::new(policy(constant(ms(100)), 3))
        .classify(classify)
        .per_try_timeout(ms(250))
        .run(op)
        .await
        .unwrap_err();
    // Each attempt is dropped at +250 ms, then 100 ms of backoff.
    assert_eq!(*starts.borrow(), [ms(0), ms(350), ms(700)]);
    assert_eq!(cause_times(&err, t0), [ms(250), ms(600), ms(950)]);
    assert_eq!(origin.elapsed(), ms(950));
    assert_eq!(err.reason(), GiveUpReason::MaxAttempts);
    assert!(
        err.causes()
            .iter()
            .all(|c| c.failure
                == Failure::TimedOut(relent_tokio::AttemptTimedOut { limit: ms(250) }))
    );
    assert!(err.last_error().is_none());
    assert_eq!(
        std::error::Error::source(&err).unwrap().to_string(),
        "attempt timed out after 250ms"
    );
}

#[tokio::test(start_paused = true)]
async fn attempt_limit_is_min_of_per_try_and_time_left() {
    let origin = Instant::now();
    let t0 = clock::now();
    let (op, _) = scripted(vec![Step::Hang], origin);
    let err = Retrier::new(policy(constant(ms(100)), 10))
        .classify(classify)
        .per_try_timeout(ms(250))
        .deadline(ms(500))
        .run(op)
        .await
        .unwrap_err();
    // Attempt 1: 0..250 (per-try). Attempt 2 starts at 350 with 150 ms left.
    let limits: Vec<_> = err
        .causes()
        .iter()
        .map(|c| match c.failure {
            Failure::TimedOut(t) => t.limit,
            Failure::Error { .. } => Duration::MAX,
        })
        .collect();
    assert_eq!(limits, [ms(250), ms(150)]);
    assert_eq!(cause_times(&err, t0), [ms(250), ms(500)]);
    assert_eq!(
        err.reason(),
        GiveUpReason::Deadline {
            wait: None,
            time_left: Duration::ZERO
        }
    );
    assert_eq!(origin.elapsed(), ms(500));
}

#[tokio::test(start_paused = true)]
async fn timeouts_can_be_final() {
    let origin = Instant::now();
    let (op, starts) = scripted(vec![Step::Hang], origin);
    let err = Retrier::new(policy(constant(ms(100)), 3))
        .classify(classify)
        .per_try_timeout(ms(250))
        .retry_timeouts(false)
        .run(op)
        .await
        .unwrap_err();
    assert_eq!(*starts.borrow(), [ms(0)]);
    assert_eq!(err.reason(), GiveUpReason::NotRetryable);
    assert_eq!(origin.elapsed(), ms(250));
}

#[tokio::test(start_paused = true)]
async fn permanent_error_stops_at_once() {
    let origin = Instant::now();
    let (op, starts) = scripted(
        vec![
            Step::Fail(TestError::Transient(1)),
            Step::Fail(TestError::Permanent),
            Step::Ok(1),
        ],
        origin,
    );
    let err = Retrier::new(policy(constant(ms(100)), 5))
        .classify(classify)
        .run(op)
        .await
        .unwrap_err();
    assert_eq!(*starts.borrow(), [ms(0), ms(100)]);
    assert_eq!(err.reason(), GiveUpReason::NotRetryable);
    assert_eq!(err.last_error(), Some(&TestError::Permanent));
    assert!(matches!(
        err.causes()[1].failure,
        Failure::Error {
            class: ErrorClass::Permanent,
            ..
        }
    ));
}

#[tokio::test(start_paused = true)]
async fn excessive_hint_gives_up_and_holds_back_the_key() {
    let table = SharedDeadlines::<String>::new(64).unwrap();
    let origin = Instant::now();
    let t0 = clock::now();
    let (op, _) = scripted(
        vec![Step::Fail(TestError::Throttled(Duration::from_secs(
            1_000_000,
        )))],
        origin,
    );
    let retrier = Retrier::new(policy(constant(ms(100)), 5))
        .classify(classify)
        .deadlines(table.clone(), "api".to_string());
    let err = retrier.run(op).await.unwrap_err();
    // Not silently obeyed, nor silently shortened: a give-up that says why, at once.
    assert_eq!(
        err.reason(),
        GiveUpReason::HintTooLong {
            hint: Duration::from_secs(1_000_000),
            limit: Duration::from_secs(300),
            kind: ExcessKind::Cap,
        }
    );
    assert_eq!(origin.elapsed(), Duration::ZERO);
    // The table holds the key back for the capped 300 s.
    let until = t0 + Duration::from_secs(300);
    assert_eq!(table.not_before("api"), Some(until));
    // The next run for that key refuses at once, naming the server's original hint
    // (it used to sleep the capped 300 s and send: the hint was refused, so its key is).
    let (op, starts) = scripted(vec![Step::Ok(9)], origin);
    let err = retrier.run(op).await.unwrap_err();
    assert_eq!(err.attempts(), 0);
    assert_eq!(
        err.reason(),
        GiveUpReason::HintTooLong {
            hint: Duration::from_secs(1_000_000),
            limit: Duration::from_secs(300),
            kind: ExcessKind::Cap,
        }
    );
    assert!(err.to_string().contains("1000000"), "{err}");
    assert!(starts.borrow().is_empty());
    assert_eq!(origin.elapsed(), Duration::ZERO);
    // Once the capped hold has passed, the key is free again.
    tokio::time::advance(Duration::from_secs(300)).await;
    let (op, starts) = scripted(vec![Step::Ok(9)], origin);
    assert_eq!(retrier.run(op).await.unwrap(), 9);
    assert_eq!(*starts.borrow(), [Duration::from_secs(300)]);
}

#[tokio::test(start_paused = true)]
async fn shared_deadline_delays_the_first_attempt() {
    let table = SharedDeadlines::<&'static str>::new(8).unwrap();
    let origin = Instant::now();
    let _ = table.record("k", clock::now() + ms(5_000));
    let waits = Rc::new(RefCell::new(Vec::new()));
    let w = Rc::clone(&waits);
    let (op, starts) = scripted(vec![Step::Ok(1)], origin);
    Retrier::new(policy(constant(ms(100)), 3))
        .classify(classify)
        .deadlines(table.clone(), "k")
        .on_event(move |e: &Event<'_, TestError>| {
            if let Event::Wait { reason, .. } = e {
                w.borrow_mut().push(*reason);
            }
        })
        .run(op)
        .await
        .unwrap();
    assert_eq!(*starts.borrow(), [ms(5_000)]);
    assert_eq!(*waits.borrow(), [WaitReason::Gate]);
    // Other keys are not held back.
    let (op, starts) = scripted(vec![Step::Ok(1)], origin);
    Retrier::new(policy(constant(ms(100)), 3))
        .deadlines(table, "other")
        .run(op)
        .await
        .unwrap();
    assert_eq!(*starts.borrow(), [ms(5_000)]);
}

fn small_budget(initial_tokens: u64) -> BudgetConfig {
    BudgetConfig {
        max: 100 * TOKEN,
        initial: initial_tokens * TOKEN,
        deposit_per_request: 100,
        refund_on_success: 10,
        refund_retry_cost: false,
        transient_cost: TOKEN,
        throttled_cost: 2 * TOKEN,
        timeout_cost: 3 * TOKEN,
        failure_cost: 0,
        reserve: 0,
        refill_per_sec: 0,
    }
}

#[tokio::test(start_paused = true)]
async fn budget_refusal_is_reported_and_accounted() {
    let budget = SharedBudget::new(small_budget(2));
    let origin = Instant::now();
    let (op, starts) = scripted(vec![Step::Fail(TestError::Transient(0))], origin);
    let err = Retrier::new(policy(constant(ms(100)), 10))
        .classify(classify)
        .budget(budget.clone())
        .run(op)
        .await
        .unwrap_err();
    // 2 tokens + 0.1 deposited = two retries of 1 token; the third is refused.
    assert_eq!(*starts.borrow(), [ms(0), ms(100), ms(200)]);
    assert_eq!(err.reason(), GiveUpReason::BudgetExhausted);
    assert_eq!(budget.balance(), 100);
    // A success deposits and refunds; nothing is withdrawn.
    let (op, _) = scripted(vec![Step::Ok(1)], origin);
    Retrier::new(policy(constant(ms(100)), 10))
        .budget(budget.clone())
        .run(op)
        .await
        .unwrap();
    assert_eq!(budget.balance(), 100 + 100 + 10);
}

#[tokio::test(start_paused = true)]
async fn dropping_a_run_leaves_shared_state_consistent() {
    let budget = SharedBudget::new(small_budget(10));
    let table = SharedDeadlines::<&'static str>::new(8).unwrap();
    let t0 = clock::now();
    let retrier = Retrier::new(policy(constant(ms(100)), 10))
        .classify(classify)
        .budget(budget.clone())
        .deadlines(table.clone(), "k");

    // Dropped while waiting out a Retry-After: the deposit, the throttled
    // withdrawal and the table record all happened, and nothing else.
    let (op, _) = scripted(
        vec![Step::Fail(TestError::Throttled(Duration::from_secs(60)))],
        Instant::now(),
    );
    let run = retrier.run(op);
    assert!(
        tokio::time::timeout(Duration::from_secs(1), run)
            .await
            .is_err()
    );
    assert_eq!(budget.balance(), 10 * TOKEN + 100 - 2 * TOKEN);
    assert_eq!(table.not_before("k"), Some(t0 + Duration::from_secs(60)));

    // Dropped in the middle of an attempt: only the first-attempt deposit.
    table.remove("k");
    let (op, _) = scripted(vec![Step::Hang], Instant::now());
    let run = retrier.run(op);
    assert!(
        tokio::time::timeout(Duration::from_secs(1), run)
            .await
            .is_err()
    );
    assert_eq!(budget.balance(), 10 * TOKEN + 100 - 2 * TOKEN + 100);
    assert_eq!(table.len(), 0);
}

#[tokio::test(start_paused = true)]
async fn fast_path_and_general_path_agree() {
    // The same failing script with no budget (fast path: the first attempt runs
    // before the machine exists) and with a budget that never refuses (general path).
    let script = vec![
        Step::SlowFail(ms(30)),
        Step::Fail(TestError::Transient(2)),
        Step::SlowFail(ms(5)),
        Step::Ok(7),
    ];
    let backoff = exponential(ms(100), Jitter::Equal);
    let mut runs = Vec::new();
    for with_budget in [false, true] {
        let origin = Instant::now();
        let t0 = clock::now();
        let (op, starts) = scripted(script.clone(), origin);
        let events = Rc::new(RefCell::new(Vec::new()));
        let log = Rc::clone(&events);
        let mut retrier = Retrier::new(policy(backoff, 5))
            .classify(classify)
            .seed(42)
            .on_event(move |e: &Event<'_, TestError>| {
                log.borrow_mut().push(match e {
                    Event::Attempt { attempt, timeout } => format!("attempt {attempt} {timeout:?}"),
                    Event::Failed(c) => {
                        format!(
                            "failed {} at {:?}",
                            c.attempt,
                            c.at.saturating_duration_since(t0)
                        )
                    }
                    Event::Wait { until, reason, .. } => {
                        format!("wait {:?} {reason}", until.saturating_duration_since(t0))
                    }
                    // `Ended` and `GaveUp` (added when the event type became every adapter's)
                    // are not part of what this test compares.
                    _ => return,
                });
            });
        if with_budget {
            retrier = retrier.budget(SharedBudget::new(BudgetConfig::AWS_STANDARD));
        }
        let value = retrier.run(op).await.unwrap();
        assert_eq!(value, 7);
        let starts = starts.borrow().clone();
        let events = events.borrow().clone();
        runs.push((starts, events, origin.elapsed()));
    }
    assert_eq!(runs[0], runs[1]);
    let (starts, events, _) = &runs[0];
    assert_eq!(starts.len(), 4);
    assert_eq!(events.len(), 4 + 3 + 3);
    assert_eq!(events[0], "attempt 1 None");
    assert_eq!(events[1], "failed 1 at 30ms");
}

#[tokio::test(start_paused = true)]
async fn retry_kinds_reach_the_budget() {
    // A timeout costs 3 tokens, a throttle 2, a transient failure 1.
    let budget = SharedBudget::new(small_budget(10));
    let (op, _) = scripted(
        vec![
            Step::Hang,
            Step::Fail(TestError::Throttled(ms(10))),
            Step::Fail(TestError::Transient(3)),
            Step::Ok(1),
        ],
        Instant::now(),
    );
    Retrier::new(policy(constant(ms(10)), 5))
        .classify(classify)
        .per_try_timeout(ms(50))
        .budget(budget.clone())
        .run(op)
        .await
        .unwrap();
    assert_eq!(
        budget.balance(),
        10 * TOKEN + 100 - 3 * TOKEN - 2 * TOKEN - TOKEN + 10
    );
    let _ = RetryKind::TimedOut;
}

#[tokio::test(start_paused = true)]
async fn the_earlier_of_two_deadlines_wins() {
    let origin = Instant::now();
    let (op, starts) = scripted(vec![Step::Fail(TestError::Transient(0))], origin);
    let retrier = Retrier::new(policy(constant(ms(300)), 10))
        .classify(classify)
        .deadline(Duration::from_secs(10))
        .deadline_at(clock::now() + ms(1_000));
    assert!(format!("{retrier:?}").starts_with("Retrier { policy: RetryPolicy {"));
    let err = retrier.run(op).await.unwrap_err();
    // The wait after 900 would end at 1200, past the absolute deadline (1000).
    assert_eq!(*starts.borrow(), [ms(0), ms(300), ms(600), ms(900)]);
    assert_eq!(
        err.reason(),
        GiveUpReason::Deadline {
            wait: Some(ms(300)),
            time_left: ms(100)
        }
    );
    assert_eq!(origin.elapsed(), ms(900));
}

#[tokio::test(start_paused = true)]
async fn the_retry_shorthand_classifies() {
    let origin = Instant::now();
    let (op, starts) = scripted(
        vec![
            Step::Fail(TestError::Transient(1)),
            Step::Fail(TestError::Permanent),
        ],
        origin,
    );
    let err = relent_tokio::retry(policy(constant(ms(40)), 5), classify, op)
        .await
        .unwrap_err();
    assert_eq!(*starts.borrow(), [ms(0), ms(40)]);
    assert_eq!(err.reason(), GiveUpReason::NotRetryable);
    assert_eq!(err.causes().len(), 2);
}

/// A preset's classifier survives this driver: kube-rs's client policy retries 429, 503
/// and 504 only (kube-client `client/retry.rs`), so a connection reset, sorted by
/// `classify_io`, is not retried, and neither is a timed-out attempt.
#[tokio::test(start_paused = true)]
async fn kube_client_does_not_retry_a_connection_reset() {
    use relent_tokio::classify_io;
    let calls = Rc::new(RefCell::new(0u32));
    let c = Rc::clone(&calls);
    let err = relent_tokio::retry(RetryPolicy::kube_client(), classify_io, || {
        *c.borrow_mut() += 1;
        async { Err::<(), _>(std::io::Error::from(std::io::ErrorKind::ConnectionReset)) }
    })
    .await
    .unwrap_err();
    assert_eq!(*calls.borrow(), 1);
    assert_eq!(err.reason(), GiveUpReason::NotRetryable);
    // A refused connection never left: kube-rs does not retry it either (its policy
    // retries statuses only), and neither does the preset.
    let err = Retrier::new(RetryPolicy::kube_client())
        .classify(classify_io)
        .run(|| async { Err::<(), _>(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)) })
        .await
        .unwrap_err();
    assert_eq!(err.attempts(), 1);
    // A timeout is not retried under kube_client, while the default policy retries it.
    let slow = || async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok::<(), std::io::Error>(())
    };
    let err = Retrier::new(RetryPolicy::kube_client())
        .classify(classify_io)
        .per_try_timeout(Duration::from_secs(1))
        .run(slow)
        .await
        .unwrap_err();
    assert_eq!(err.attempts(), 1);
    assert!(err.causes()[0].is_timeout());
    let err = Retrier::new(RetryPolicy::default().without_time_limits())
        .classify(classify_io)
        .per_try_timeout(Duration::from_secs(1))
        .run(slow)
        .await
        .unwrap_err();
    assert_eq!(err.attempts(), 3);
    // A 503 named by the caller is retried, as kube-rs does.
    let calls = Rc::new(RefCell::new(0u32));
    let c = Rc::clone(&calls);
    let value = Retrier::new(RetryPolicy::kube_client())
        .classify(|s: &u16| ErrorClass::Status(*s))
        .run(|| {
            *c.borrow_mut() += 1;
            let n = *c.borrow();
            async move { if n < 3 { Err(503u16) } else { Ok(n) } }
        })
        .await
        .unwrap();
    assert_eq!(value, 3);
}

/// A classifier closure needs no annotation: the `Fn(&E) -> ErrorClass` bound of
/// `classify` gives its argument a type (it used to fail with E0631 at `.run(...)`).
#[tokio::test(start_paused = true)]
async fn an_unannotated_classifier_closure_compiles_and_runs() {
    let attempts = Rc::new(RefCell::new(0u32));
    let a = Rc::clone(&attempts);
    let err = Retrier::new(RetryPolicy::default().without_time_limits())
        .classify(|e| match e {
            TestError::Permanent => ErrorClass::Permanent,
            _ => ErrorClass::Transient,
        })
        .run(|| {
            *a.borrow_mut() += 1;
            async { Err::<(), _>(TestError::Permanent) }
        })
        .await
        .unwrap_err();
    assert_eq!(*attempts.borrow(), 1);
    assert_eq!(err.reason(), GiveUpReason::NotRetryable);
}

#[tokio::test(start_paused = true)]
async fn events_come_in_order_and_the_error_carries_the_history() {
    let events = Rc::new(RefCell::new(Vec::new()));
    let log = Rc::clone(&events);
    let policy = RetryPolicy::default()
        .without_time_limits()
        .with_backoff(
            BackoffBuilder::constant(ms(100))
                .jitter(Jitter::None)
                .build()
                .unwrap(),
        )
        .with_max_attempts(2);
    let err = Retrier::new(policy)
        .classify(classify)
        .on_event(move |e: &Event<'_, TestError>| {
            log.borrow_mut().push(match e {
                Event::Attempt { attempt, .. } => format!("attempt {attempt}"),
                Event::Ended { attempt, took, .. } => format!("ended {attempt} {took:?}"),
                Event::Failed(c) => format!("failed {} {:?}", c.attempt, c.error()),
                Event::Wait { delay, .. } => format!("wait {delay:?}"),
                Event::GaveUp(r) => format!("gave up {}", r.reason),
                _ => "other".to_string(),
            });
        })
        .run(|| async {
            tokio::time::sleep(ms(5)).await;
            Err::<(), _>(TestError::Transient(1))
        })
        .await
        .unwrap_err();
    assert_eq!(
        *events.borrow(),
        [
            "attempt 1",
            "ended 1 5ms",
            "failed 1 Some(Transient(1))",
            "wait 100ms",
            "attempt 2",
            "ended 2 5ms",
            "failed 2 Some(Transient(1))",
            "gave up maximum attempts reached",
        ]
    );
    let history = err.history();
    assert_eq!(history.attempts(), 2);
    assert_eq!(history.key(), "");
    assert_eq!(
        history.steps(),
        [
            relent_tokio::Step::Attempt {
                number: 1,
                at: Duration::ZERO,
                took: ms(5),
                timeout: None,
                outcome: relent::http::Observed::Failure {
                    retry: Some(RetryKind::Transient),
                    hint: None
                },
            },
            relent_tokio::Step::Wait {
                at: ms(5),
                duration: ms(100),
                reason: WaitReason::Backoff(RetryKind::Transient),
            },
            relent_tokio::Step::Attempt {
                number: 2,
                at: ms(105),
                took: ms(5),
                timeout: None,
                outcome: relent::http::Observed::Failure {
                    retry: Some(RetryKind::Transient),
                    hint: None
                },
            },
        ]
    );
    assert_eq!(history.gave_up(), Some(GiveUpReason::MaxAttempts));
    assert_eq!(history.elapsed(), ms(110));
    assert_eq!(err.causes().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_hook_reads_each_failure_as_an_error_object() {
    // The hook sees the error inside an AnyError, and a timed-out attempt as
    // AttemptTimedOut; events that are not failures have no error.
    use relent_tokio::{AnyError, AttemptTimedOut};
    use std::io;
    let seen = Rc::new(RefCell::new(Vec::new()));
    let log = Rc::clone(&seen);
    let policy = RetryPolicy::default()
        .without_time_limits()
        .with_backoff(
            BackoffBuilder::constant(ms(10))
                .jitter(Jitter::None)
                .build()
                .unwrap(),
        )
        .with_max_attempts(3);
    let mut calls = 0;
    let answer = Retrier::new(policy)
        .classify(|_: &AnyError| ErrorClass::Transient)
        .per_try_timeout(ms(50))
        .on_event(move |e: &Event<'_, AnyError>| {
            let described = match e.error() {
                Some(error) => match error.downcast_ref::<io::Error>() {
                    Some(io) => format!("io {:?}", io.kind()),
                    None => match error.downcast_ref::<AttemptTimedOut>() {
                        Some(t) => format!("timed out {:?}", t.limit),
                        None => format!("other {error}"),
                    },
                },
                None => return,
            };
            log.borrow_mut().push(described);
        })
        .run(|| {
            calls += 1;
            let n = calls;
            async move {
                match n {
                    1 => Err(AnyError::from(Box::new(io::Error::from(
                        io::ErrorKind::ConnectionReset,
                    ))
                        as relent_tokio::BoxError)),
                    2 => {
                        tokio::time::sleep(ms(60)).await;
                        Ok(0)
                    }
                    _ => Ok(3),
                }
            }
        })
        .await
        .unwrap();
    assert_eq!(answer, 3);
    assert_eq!(
        *seen.borrow(),
        [
            "io ConnectionReset".to_string(),
            "timed out 50ms".to_string()
        ]
    );
}
