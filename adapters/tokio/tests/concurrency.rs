//! Many tasks sharing one deadline table and one budget: no deadlock, exact
//! budget accounting, and no lock held across an `.await`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use relent::backoff::BackoffBuilder;
use relent::retry::{BudgetConfig, GiveUpReason, RetryKind, RetryPolicy, TOKEN, WaitReason};
use relent_tokio::{
    Cause, ErrorClass, Event, Failure, Retrier, SharedBudget, SharedDeadlines, clock,
};

#[derive(Debug)]
enum Fault {
    Transient,
    Throttled,
}

const BUDGET: BudgetConfig = BudgetConfig {
    // Large enough never to clip a deposit, so the books balance exactly.
    max: 1_000_000 * TOKEN,
    initial: 50 * TOKEN,
    deposit_per_request: 100,
    refund_on_success: 10,
    refund_retry_cost: false,
    transient_cost: TOKEN,
    throttled_cost: 2 * TOKEN,
    timeout_cost: 3 * TOKEN,
    failure_cost: 0,
    reserve: 0,
    refill_per_sec: 0,
};

fn cost(kind: RetryKind) -> u64 {
    BUDGET.cost(kind)
}

/// The retry kind the machine charged for a failure of this cause.
fn kind_of<E>(cause: &Cause<E>) -> RetryKind {
    match cause.failure {
        Failure::TimedOut(_) => RetryKind::TimedOut,
        Failure::Error {
            class: ErrorClass::Throttled { .. },
            ..
        } => RetryKind::Throttled,
        Failure::Error { .. } => RetryKind::Transient,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thousand_tasks_share_one_table_and_one_budget() {
    const TASKS: u64 = 1_000;
    let budget = SharedBudget::new(BUDGET);
    let table = SharedDeadlines::<u64>::new(64).unwrap();
    let gate_waits = Arc::new(AtomicU64::new(0));
    let policy = RetryPolicy::default()
        .without_time_limits()
        .with_backoff(
            BackoffBuilder::constant(Duration::from_millis(1))
                .build()
                .unwrap(),
        )
        .with_max_attempts(5);

    let mut tasks = Vec::new();
    for i in 0..TASKS {
        let budget = budget.clone();
        let table = table.clone();
        let gate_waits = Arc::clone(&gate_waits);
        let policy = policy.clone();
        tasks.push(tokio::spawn(async move {
            // Withdrawals as the events report them: one per backoff or hint wait.
            let charged = Arc::new(AtomicU64::new(0));
            let charged_in = Arc::clone(&charged);
            let retrier = Retrier::new(policy)
                .classify(|f: &Fault| match f {
                    Fault::Transient => ErrorClass::Transient,
                    Fault::Throttled => ErrorClass::Throttled {
                        after: Some(Duration::from_millis(20)),
                    },
                })
                .budget(budget)
                .deadlines(table, i % 16)
                .per_try_timeout(Duration::from_millis(5))
                .on_event(move |e: &Event<'_, Fault>| {
                    if let Event::Wait { reason, .. } = e {
                        let c = match reason {
                            WaitReason::Backoff(kind) => cost(*kind),
                            WaitReason::ServerHint(_) => cost(RetryKind::Throttled),
                            WaitReason::Gate => {
                                gate_waits.fetch_add(1, Ordering::Relaxed);
                                0
                            }
                        };
                        charged_in.fetch_add(c, Ordering::Relaxed);
                    }
                });
            // Task i fails `i % 4` times, cycling through the three kinds, then succeeds.
            let failures = u32::try_from(i % 4).unwrap();
            let calls = AtomicU32::new(0);
            let result = retrier
                .run(|| {
                    let n = calls.fetch_add(1, Ordering::Relaxed);
                    let kind = (n + u32::try_from(i % 3).unwrap()) % 3;
                    async move {
                        if n >= failures {
                            return Ok(n + 1);
                        }
                        match kind {
                            0 => Err(Fault::Transient),
                            1 => Err(Fault::Throttled),
                            _ => std::future::pending().await,
                        }
                    }
                })
                .await;
            // The withdrawals again, from what the run handed back.
            let (succeeded, from_outcome) = match result {
                Ok(attempts) => {
                    // Every failure before the success was retried, so charged.
                    assert_eq!(attempts, failures + 1);
                    let kinds =
                        (0..failures).map(|n| match (n + u32::try_from(i % 3).unwrap()) % 3 {
                            0 => RetryKind::Transient,
                            1 => RetryKind::Throttled,
                            _ => RetryKind::TimedOut,
                        });
                    (true, kinds.map(cost).sum::<u64>())
                }
                Err(e) => {
                    // Every failure but the last was retried; the last was refused.
                    assert!(
                        matches!(
                            e.reason(),
                            GiveUpReason::BudgetExhausted | GiveUpReason::MaxAttempts
                        ),
                        "{e}"
                    );
                    let causes = e.causes();
                    assert_eq!(causes.len(), usize::try_from(e.attempts()).unwrap());
                    let retried = causes.len() - 1;
                    (
                        false,
                        causes.iter().take(retried).map(|c| cost(kind_of(c))).sum(),
                    )
                }
            };
            let charged = charged.load(Ordering::Relaxed);
            assert_eq!(charged, from_outcome);
            (succeeded, charged)
        }));
    }

    let joined = tokio::time::timeout(Duration::from_secs(60), async {
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    })
    .await
    .expect("no deadlock: every task finished");

    let successes = joined.iter().filter(|(ok, _)| *ok).count() as u64;
    let withdrawn: u64 = joined.iter().map(|(_, c)| c).sum();
    assert_eq!(
        BUDGET.initial + TASKS * BUDGET.deposit_per_request + successes * BUDGET.refund_on_success
            - withdrawn,
        budget.balance(),
        "initial + deposits - withdrawals = balance"
    );
    // The budget ran dry at some point, and the table made some tasks wait.
    assert!(successes < TASKS, "some runs were refused by the budget");
    assert!(successes > 0);
    assert!(gate_waits.load(Ordering::Relaxed) > 0);
    assert!(table.len() <= 16);
}

/// One task waits out a long Retry-After; meanwhile another records and reads
/// deadlines, without waiting for anything (virtual time does not move).
#[tokio::test(start_paused = true)]
async fn table_is_free_while_a_task_waits_out_a_retry_after() {
    let table = SharedDeadlines::<String>::new(4096).unwrap();
    let origin = tokio::time::Instant::now();
    let t0 = clock::now();
    let retrier = Retrier::new(RetryPolicy::default().without_time_limits())
        .classify(|_: &Fault| ErrorClass::Throttled {
            after: Some(Duration::from_secs(60)),
        })
        .deadlines(table.clone(), "slow".to_string());
    let waiter = tokio::spawn(async move {
        let mut starts = Vec::new();
        let value = retrier
            .run(|| {
                starts.push(origin.elapsed());
                let first = starts.len() == 1;
                async move { if first { Err(Fault::Throttled) } else { Ok(()) } }
            })
            .await;
        (value.is_ok(), starts)
    });
    // Let the waiter fail once and start its 60 s wait.
    while table.not_before("slow").is_none() {
        tokio::task::yield_now().await;
    }
    assert!(!waiter.is_finished());

    let before = tokio::time::Instant::now();
    for i in 0..10_000u64 {
        let key = format!("host-{i}");
        let _ = table.record(key.clone(), t0 + Duration::from_secs(i % 100 + 1));
        assert!(table.not_before(key.as_str()).is_some());
    }
    // The server extends the slow key's deadline to 90 s.
    let _ = table.record("slow".to_string(), t0 + Duration::from_secs(90));
    assert_eq!(tokio::time::Instant::now(), before, "nothing waited");
    assert!(!waiter.is_finished());

    // The waiter, once its own 60 s are over, sees the extension and waits for it.
    let (ok, starts) = waiter.await.unwrap();
    assert!(ok);
    assert_eq!(starts, [Duration::ZERO, Duration::from_secs(90)]);
}

/// The same on a multi-thread runtime in real time: if the waiting task held
/// the table's lock across its `.await`, the other task would block for 10 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_is_free_across_threads() {
    let table = SharedDeadlines::<String>::new(4096).unwrap();
    let retrier = Retrier::new(RetryPolicy::default().without_time_limits())
        .classify(|_: &Fault| ErrorClass::Throttled {
            after: Some(Duration::from_secs(10)),
        })
        .deadlines(table.clone(), "slow".to_string());
    let waiter = tokio::spawn(async move {
        retrier
            .run(|| async { Err::<(), _>(Fault::Throttled) })
            .await
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while table.not_before("slow").is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the waiter never failed"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }

    let writer_table = table.clone();
    let writer = tokio::spawn(async move {
        let started = std::time::Instant::now();
        let now = clock::now();
        for i in 0..10_000u64 {
            let key = format!("host-{i}");
            let _ = writer_table.record(key.clone(), now + Duration::from_secs(30));
            assert!(writer_table.not_before(key.as_str()).is_some());
        }
        started.elapsed()
    });
    let took = tokio::time::timeout(Duration::from_secs(5), writer)
        .await
        .expect("the writer was never blocked")
        .unwrap();
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert!(
        !waiter.is_finished(),
        "the waiter is still in its 10 s wait"
    );
    waiter.abort();
    assert!(waiter.await.unwrap_err().is_cancelled());
}
