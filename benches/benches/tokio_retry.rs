#![allow(missing_docs)] // criterion_group! generates an undocumented public function.

//! `relent_tokio::Retrier::run` around an immediately successful future, against
//! the bare call and against backon's `.retry()` with the same policy, on a
//! current-thread tokio runtime.
//!
//! Run: `cargo bench -p relent-benches --bench tokio_retry -- --warm-up-time 1 --measurement-time 3`
//!
//! Two framings, each with the three contenders in the same run:
//!
//! - `in_task/*`: many calls inside one `block_on`, so the numbers are the
//!   per-call cost of the wrapper itself (the bare call is about a nanosecond).
//! - `block_on_each/*`: one `block_on` per call, as a caller that awaits a
//!   single call on a current-thread runtime pays.
//!
//! `in_task/relent_tokio_budget` adds a shared retry budget, which takes the
//! general path (clock read, machine, budget deposit and refund) instead of the
//! fast path; it is there to show that cost, not to compare.

use std::hint::black_box;
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use criterion::{Criterion, criterion_group, criterion_main};
use relent::backoff::{BackoffBuilder, Jitter};
use relent::retry::{BudgetConfig, RetryPolicy};
use relent_tokio::{Retrier, SharedBudget};

/// The operation: an async call that succeeds at once.
async fn op() -> Result<u64, std::io::Error> {
    Ok(black_box(42))
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");

    // The same policy on both sides: 3 attempts (2 retries), 100 ms doubling to
    // 10 s, jittered; every error retried.
    let policy = RetryPolicy::default().with_backoff(
        BackoffBuilder::exponential(Duration::from_millis(100))
            .jitter(Jitter::Full)
            .cap(Duration::from_secs(10))
            .build()
            .expect("policy"),
    );
    let retrier = Retrier::new(policy.clone());
    let with_budget = Retrier::new(policy).budget(SharedBudget::new(BudgetConfig::AWS_STANDARD));
    let backon = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(10))
        .with_max_times(2)
        .with_jitter();

    let mut g = c.benchmark_group("in_task");
    g.bench_function("bare", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(op().await.ok());
                }
                start.elapsed()
            })
        })
    });
    g.bench_function("relent_tokio", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(retrier.run(op).await.ok());
                }
                start.elapsed()
            })
        })
    });
    g.bench_function("backon", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(op.retry(backon).await.ok());
                }
                start.elapsed()
            })
        })
    });
    g.bench_function("relent_tokio_budget", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(with_budget.run(op).await.ok());
                }
                start.elapsed()
            })
        })
    });
    g.finish();

    let mut g = c.benchmark_group("block_on_each");
    g.bench_function("bare", |b| b.iter(|| black_box(rt.block_on(op()).ok())));
    g.bench_function("relent_tokio", |b| {
        b.iter(|| black_box(rt.block_on(retrier.run(op)).ok()))
    });
    g.bench_function("backon", |b| {
        b.iter(|| black_box(rt.block_on(op.retry(backon)).ok()))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = bench
}
criterion_main!(benches);
