//! The core never allocates per decision: backoff delays, header parsing and a
//! whole retry operation run with zero heap allocations.
//!
//! Counted with `allocation-counter`, which wraps the global allocator for this
//! test binary (no `unsafe` in our code) and counts every allocation made on
//! this thread inside `measure`.

use core::cell::Cell;
use core::time::Duration;

use relent::backoff::{Backoff, presets};
use relent::drive::Finished;
use relent::drive::blocking::{self, Clock};
use relent::hint::{HintReader, parse_retry_after};
use relent::http::{Attempt, Classify, Observed};
use relent::retry::{Action, BudgetConfig, Retry, RetryPolicy, TokenBucket, TransportError};
use relent::{Instant, UnixTime};

#[test]
fn ten_thousand_backoff_decisions_allocate_nothing() {
    let mut backoffs = [
        Backoff::new(presets::kube_watcher(), 1),
        Backoff::new(presets::grpc_connection(), 2),
        Backoff::new(presets::aws_standard(), 3),
        Backoff::new(presets::cenkalti_default(), 4),
    ];
    let mut handed_out = 0u32;
    let info = allocation_counter::measure(|| {
        let mut now = Instant::from_secs(1);
        for i in 0..10_000u32 {
            let b = &mut backoffs[(i % 4) as usize];
            match b.next_delay(now) {
                Some(d) => {
                    handed_out += 1;
                    now += d;
                }
                None => b.reset(),
            }
        }
    });
    assert!(
        handed_out > 8_000,
        "the loop really asked for delays ({handed_out})"
    );
    assert_eq!(info.count_total, 0, "{info:?}");
}

#[test]
fn parsing_hints_allocates_nothing() {
    let now = UnixTime::from_secs(1_700_000_000);
    let reader = HintReader::new();
    let headers: [(&[u8], &[u8]); 4] = [
        (b"date", b"Tue, 14 Nov 2023 22:13:20 GMT"),
        (b"retry-after", b"Tue, 14 Nov 2023 22:13:50 GMT"),
        (b"ratelimit", br#""default";r=0;t=30"#),
        (b"grpc-retry-pushback-ms", b"250"),
    ];
    let mut found = 0;
    let info = allocation_counter::measure(|| {
        for _ in 0..1_000 {
            found += usize::from(reader.read(headers, now).is_some());
            found += usize::from(parse_retry_after(b"Sunday, 06-Nov-94 08:49:37 GMT", now).is_ok());
            found += usize::from(parse_retry_after(b"Sun Nov  6 08:49:37 1994", now).is_ok());
        }
    });
    assert_eq!(found, 3_000);
    assert_eq!(info.count_total, 0, "{info:?}");
}

#[test]
fn a_ten_attempt_operation_allocates_nothing() {
    let policy = RetryPolicy::default()
        .with_max_attempts(10)
        .with_deadline(Some(Duration::from_secs(3_600)))
        .with_per_try_timeout(Some(Duration::from_secs(5)));
    let mut budget = TokenBucket::new(BudgetConfig::AWS_STANDARD, Instant::ZERO);
    let mut sends = 0;
    let mut outcome = None;
    // The blocking driver over a virtual clock: each attempt takes 30 ms and fails in
    // turn with a reset, a 503 and a timeout, judged by the policy's classifier.
    struct Virtual(Cell<Instant>);
    impl Clock for Virtual {
        fn now(&self) -> Instant {
            self.0.get()
        }
        fn sleep_until(&self, until: Instant) {
            self.0.set(until.max(self.0.get()));
        }
    }
    let info = allocation_counter::measure(|| {
        let clock = Virtual(Cell::new(Instant::ZERO));
        let op = Retry::new(&policy, 7, clock.now()).with_budget(&mut budget);
        let judge = |seen: &Observed, number| {
            policy.classifier.outcome(&Attempt {
                observed: *seen,
                idempotent: true,
                number,
            })
        };
        let finished = blocking::run(op, &clock, judge, &mut (), |_, _| {
            sends += 1;
            clock.sleep_until(clock.now() + Duration::from_millis(30));
            match sends % 3 {
                0 => Observed::Transport(TransportError::ResetAfterSend),
                1 => Observed::Response {
                    status: 503,
                    hint: None,
                },
                _ => Observed::Transport(TransportError::TimedOut),
            }
        });
        if let Finished::GaveUp { report, .. } = finished {
            outcome = Some(Action::GiveUp(report));
        }
    });
    assert_eq!(sends, 10);
    assert!(
        matches!(outcome, Some(Action::GiveUp(r)) if r.attempts == 10),
        "{outcome:?}"
    );
    assert_eq!(info.count_total, 0, "{info:?}");
}
