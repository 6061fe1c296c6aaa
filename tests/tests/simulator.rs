//! Scenarios for the retry machine in virtual time (issue: the retry state machine).
//!
//! Each scenario runs many machines against a simulated server in
//! `relent_tests::sim`, jumping from deadline to deadline, and checks a law
//! of the machine against the full log of sends, waits and endings.

use std::time::Duration;

use relent::Instant;
use relent::http::StandardClassifier;
use relent::retry::{
    BudgetConfig, Forbidden, GiveUpReason, Outcome, RetryPolicy, Seen, SharedTokenBucket,
    TransportError, WaitReason,
};
use relent_tests::dice::Dice;
use relent_tests::sim::{ClientSpec, Ending, Fault, Log, Server, run};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
fn at_ms(n: u64) -> Instant {
    Instant::from_millis(n)
}
fn unlimited_budget() -> SharedTokenBucket {
    SharedTokenBucket::new(BudgetConfig::ratio(0, 1_000_000, 0), Instant::ZERO)
}
fn client(start: Instant, idempotent: bool, policy: RetryPolicy, seed: u64) -> ClientSpec {
    ClientSpec {
        start,
        idempotent,
        key: 1,
        policy,
        seed,
    }
}

/// Checks the laws every run must satisfy, whatever the scenario.
fn check_universal_laws(clients: &[ClientSpec], log: &Log) {
    for (i, c) in clients.iter().enumerate() {
        let (ended_at, ending) = log.endings[i].unwrap_or_else(|| panic!("client {i} never ended"));
        let sends: Vec<_> = log.sends_of(i).collect();
        let max = c.policy.max_attempts.get();
        assert!(
            sends.len() as u32 <= max,
            "client {i}: {} sends > max {max}",
            sends.len()
        );
        if let Some(limit) = c.policy.deadline {
            let deadline = c.start + limit;
            assert!(
                ended_at <= deadline,
                "client {i} ended at {ended_at:?}, past its deadline {deadline:?}"
            );
            for s in &sends {
                assert!(
                    s.at < deadline,
                    "client {i} sent at {:?}, at/after its deadline",
                    s.at
                );
                assert!(
                    s.ended <= deadline,
                    "client {i}'s attempt ran past the deadline"
                );
                let left = deadline.saturating_duration_since(s.at);
                let timeout = s
                    .timeout
                    .expect("with a deadline every attempt has a timeout");
                assert!(
                    timeout <= left,
                    "attempt timeout {timeout:?} exceeds time left {left:?}"
                );
            }
            for w in log.waits.iter().filter(|w| w.client == i) {
                assert!(w.until < deadline, "client {i} waits past its deadline");
            }
        }
        let attempts = match ending {
            Ending::Done { attempts } => attempts,
            Ending::GaveUp(report) => {
                assert_eq!(report.elapsed, ended_at.saturating_duration_since(c.start));
                report.attempts
            }
        };
        assert_eq!(
            attempts as usize,
            sends.len(),
            "client {i}: report disagrees with the log"
        );
        // Attempts are numbered 1, 2, 3, … and never overlap.
        for (n, pair) in sends.windows(2).enumerate() {
            assert_eq!(pair[1].attempt, n as u32 + 2);
            assert!(pair[1].at >= pair[0].ended, "attempts overlap");
        }
    }
}

#[test]
fn overall_deadline_and_max_attempts_hold_in_random_worlds() {
    let mut rng = Dice::new(2026);
    for world in 0..150 {
        // A server with random outages, resets, slow answers and throttling.
        let mut server = Server::healthy(ms(20 + rng.below_or_equal(80)));
        let mut t = 0;
        for _ in 0..6 {
            let start = t + rng.below_or_equal(3_000);
            let end = start + 100 + rng.below_or_equal(4_000);
            let fault = match rng.below_or_equal(6) {
                0 => Fault::Status(503),
                1 => Fault::Reset,
                2 => Fault::Refuse,
                3 => Fault::Slow(ms(2_000)),
                4 => Fault::Throttle {
                    retry_after_secs: rng.below_or_equal(3),
                },
                5 => Fault::BodyBreaks(ms(rng.below_or_equal(3_000))),
                _ => Fault::Status(500),
            };
            server = server.with_window(at_ms(start), at_ms(end), fault);
            t = end;
        }
        if rng.below_or_equal(1) == 0 {
            server.capacity_per_sec = Some(5 + rng.below_or_equal(20) as u32);
        }
        let clients: Vec<ClientSpec> = (0..60)
            .map(|i| {
                let policy = RetryPolicy::default()
                    .with_max_attempts(1 + rng.below_or_equal(6) as u32)
                    .with_deadline(Some(ms(300 + rng.below_or_equal(5_000))))
                    .with_per_try_timeout(Some(ms(100 + rng.below_or_equal(1_000))));
                client(
                    at_ms(rng.below_or_equal(8_000)),
                    rng.below_or_equal(3) != 0,
                    policy,
                    world * 1000 + i,
                )
            })
            .collect();
        let log = run(&server, &clients, &unlimited_budget(), 64);
        check_universal_laws(&clients, &log);
    }
}

#[test]
fn retry_after_is_honoured_to_the_tick_and_gates_other_clients() {
    // 429 + Retry-After: 2 during the first 100 ms; healthy afterwards.
    let server = Server::healthy(ms(10)).with_window(
        at_ms(0),
        at_ms(100),
        Fault::Throttle {
            retry_after_secs: 2,
        },
    );
    let policy = RetryPolicy::default();
    let clients = vec![
        client(at_ms(0), true, policy.clone(), 1),
        // Starts after the 429 was recorded: must wait for the shared deadline, not send.
        client(at_ms(500), true, policy.clone(), 2),
    ];
    let log = run(&server, &clients, &unlimited_budget(), 16);
    check_universal_laws(&clients, &log);

    let first: Vec<_> = log.sends_of(0).collect();
    assert_eq!(first.len(), 2);
    // The 429 arrives at 10 ms; the retry goes out exactly 2 s later.
    assert_eq!(first[0].ended, at_ms(10));
    assert_eq!(first[1].at, at_ms(2_010));
    assert!(
        log.waits
            .iter()
            .any(|w| w.client == 0 && w.reason == WaitReason::ServerHint(Duration::from_secs(2)))
    );

    let second: Vec<_> = log.sends_of(1).collect();
    assert_eq!(
        second.len(),
        1,
        "the gated client sends once, after the deadline"
    );
    assert_eq!(second[0].at, at_ms(2_010));
    assert!(
        log.waits
            .iter()
            .any(|w| w.client == 1 && w.reason == WaitReason::Gate && w.until == at_ms(2_010))
    );
    assert!(matches!(
        log.endings[1],
        Some((_, Ending::Done { attempts: 1 }))
    ));
}

#[test]
fn a_hint_longer_than_the_time_left_gives_up_at_once() {
    let server = Server::healthy(ms(10)).with_window(
        at_ms(0),
        at_ms(1_000_000),
        Fault::Throttle {
            retry_after_secs: 1_000_000,
        },
    );
    let policy = RetryPolicy::default().with_deadline(Some(Duration::from_secs(30)));
    let clients = vec![client(at_ms(0), true, policy, 1)];
    let log = run(&server, &clients, &unlimited_budget(), 16);
    check_universal_laws(&clients, &log);
    let (at, ending) = log.endings[0].unwrap();
    assert_eq!(
        at,
        at_ms(10),
        "gave up when the answer arrived, without waiting"
    );
    let Ending::GaveUp(report) = ending else {
        panic!("{ending:?}")
    };
    assert!(
        matches!(report.reason, GiveUpReason::HintTooLong { hint, .. } if hint == Duration::from_secs(1_000_000))
    );
}

#[test]
fn a_post_that_reached_the_server_is_not_retried_unless_idempotent() {
    for fault in [Fault::Status(503), Fault::Reset, Fault::Slow(ms(5_000))] {
        let server = Server::healthy(ms(10)).with_window(at_ms(0), at_ms(60_000), fault);
        let policy = RetryPolicy::default()
            .with_max_attempts(4)
            .with_per_try_timeout(Some(ms(1_000)));
        let clients = vec![
            client(at_ms(0), false, policy.clone(), 1), // plain POST
            client(at_ms(0), true, policy.clone(), 2),  // POST with an idempotency key
        ];
        let log = run(&server, &clients, &unlimited_budget(), 16);
        check_universal_laws(&clients, &log);
        assert_eq!(
            log.sends_of(0).count(),
            1,
            "{fault:?}: plain POST sent once"
        );
        let Some((_, Ending::GaveUp(report))) = log.endings[0] else {
            panic!()
        };
        assert_eq!(
            report.reason,
            GiveUpReason::Forbidden(Forbidden::NotIdempotent),
            "{fault:?}"
        );
        assert_eq!(
            log.sends_of(1).count(),
            4,
            "{fault:?}: idempotent POST retried to the max"
        );
    }
}

#[test]
fn a_connect_failure_is_retried_for_post() {
    // Connections refused for the first 150 ms, then healthy.
    let server = Server::healthy(ms(10)).with_window(at_ms(0), at_ms(150), Fault::Refuse);
    let policy = RetryPolicy::default().with_max_attempts(5);
    let clients = vec![client(at_ms(0), false, policy, 3)];
    let log = run(&server, &clients, &unlimited_budget(), 16);
    check_universal_laws(&clients, &log);
    let sends: Vec<_> = log.sends_of(0).collect();
    assert!(sends.len() >= 2, "retried after the refusal");
    assert!(sends[..sends.len() - 1].iter().all(|s| !s.reached_server));
    assert_eq!(
        sends.iter().filter(|s| s.reached_server).count(),
        1,
        "the POST reached the server exactly once"
    );
    assert!(matches!(log.endings[0], Some((_, Ending::Done { .. }))));
}

#[test]
fn the_budget_bounds_a_total_outage() {
    // 1,000 clients, 3 attempts each, against a server that is down all along.
    let server = Server::healthy(ms(5)).with_window(at_ms(0), Instant::MAX, Fault::Status(503));
    let ratio_milli = 100; // 10% retries
    let initial_tokens = 20;
    let budget = SharedTokenBucket::new(
        BudgetConfig::ratio(ratio_milli, initial_tokens, 0),
        Instant::ZERO,
    );
    let mut rng = Dice::new(9);
    let clients: Vec<ClientSpec> = (0..1_000)
        .map(|i| {
            client(
                at_ms(rng.below_or_equal(10_000)),
                true,
                RetryPolicy::default(),
                i,
            )
        })
        .collect();
    let log = run(&server, &clients, &budget, 64);
    check_universal_laws(&clients, &log);

    let first_attempts = clients.len() as u64;
    let total = log.sends.len() as u64;
    let bound = first_attempts + first_attempts * ratio_milli / 1_000 + initial_tokens;
    assert!(total <= bound, "{total} sends > bound {bound}");
    assert!(
        total > first_attempts,
        "the budget still allows some retries"
    );
    let refused = log
        .endings
        .iter()
        .filter(|e| matches!(e, Some((_, Ending::GaveUp(r))) if r.reason == GiveUpReason::BudgetExhausted))
        .count();
    assert!(refused > 0);

    // Without a budget the same outage triples the traffic.
    let log = run(&server, &clients, &unlimited_budget(), 64);
    assert_eq!(log.sends.len(), 3 * clients.len());
}

#[test]
fn kube_client_preset_never_retries_transport_errors() {
    let server = Server::healthy(ms(10)).with_window(at_ms(0), at_ms(60_000), Fault::Reset);
    let policy = RetryPolicy::<StandardClassifier>::kube_client();
    let clients = vec![client(at_ms(0), true, policy, 1)];
    let log = run(&server, &clients, &unlimited_budget(), 16);
    check_universal_laws(&clients, &log);
    assert_eq!(log.sends.len(), 1);
    let Some((_, Ending::GaveUp(report))) = log.endings[0] else {
        panic!()
    };
    assert_eq!(report.reason, GiveUpReason::NotRetryable);
}

#[test]
fn a_retry_after_on_the_last_attempt_still_holds_back_the_next_client() {
    // The first client has one attempt only; its 429 + Retry-After: 5 ends it,
    // but the shared deadline must still gate the client that comes next.
    let server = Server::healthy(ms(10)).with_window(
        at_ms(0),
        at_ms(100),
        Fault::Throttle {
            retry_after_secs: 5,
        },
    );
    let clients = vec![
        client(
            at_ms(0),
            true,
            RetryPolicy::default().with_max_attempts(1),
            1,
        ),
        client(at_ms(1_000), true, RetryPolicy::default(), 2),
    ];
    let log = run(&server, &clients, &unlimited_budget(), 16);
    check_universal_laws(&clients, &log);
    assert!(
        matches!(log.endings[0], Some((_, Ending::GaveUp(r))) if r.reason == GiveUpReason::MaxAttempts)
    );
    let second: Vec<_> = log.sends_of(1).collect();
    assert_eq!(second.len(), 1);
    assert_eq!(
        second[0].at,
        at_ms(5_010),
        "sent exactly when the server's deadline ended"
    );
}

#[test]
fn a_body_that_breaks_after_the_caller_began_reading_is_not_retried() {
    let server =
        Server::healthy(ms(10)).with_window(at_ms(0), at_ms(60_000), Fault::BodyBreaks(ms(2_000)));
    let clients = vec![client(at_ms(0), true, RetryPolicy::default(), 1)];
    let log = run(&server, &clients, &unlimited_budget(), 16);
    check_universal_laws(&clients, &log);
    assert_eq!(log.sends.len(), 1);
    let Some((at, Ending::GaveUp(report))) = log.endings[0] else {
        panic!()
    };
    // Expected `GiveUpReason::Committed` before the driver: a hand-written loop fed the
    // machine `handle_commit` when the headers arrived, then the reset. `relent::drive::run`
    // owns the machine and has no commit input, so the simulator applies the same rule in
    // its judge (after the caller began reading, a failure is final) and the machine names
    // the give-up `NotRetryable`, with the break as the last outcome. What the scenario is
    // about is unchanged: one send, no retry, ended when the body broke.
    assert_eq!(report.reason, GiveUpReason::NotRetryable);
    assert_eq!(
        report.last,
        Some(Outcome::Final {
            refused: None,
            hint: None,
            seen: Seen::Transport(TransportError::ResetAfterSend),
        })
    );
    assert_eq!(at, at_ms(2_010));
}

#[test]
fn the_same_scenario_gives_the_same_log_every_time() {
    // Throttling, resets, a body that breaks and a capacity limit, with a shared table
    // and budget: every run of the virtual-time executor is the same run.
    let server = Server::healthy(ms(15))
        .with_window(
            at_ms(0),
            at_ms(400),
            Fault::Throttle {
                retry_after_secs: 1,
            },
        )
        .with_window(at_ms(1_500), at_ms(2_500), Fault::Reset)
        .with_window(at_ms(2_500), at_ms(2_600), Fault::BodyBreaks(ms(50)))
        .with_window(at_ms(3_000), at_ms(3_500), Fault::Slow(ms(900)));
    let mut server = server;
    server.capacity_per_sec = Some(40);
    let mut rng = Dice::new(77);
    let clients: Vec<ClientSpec> = (0..300)
        .map(|i| {
            let policy = RetryPolicy::default()
                .with_max_attempts(1 + rng.below_or_equal(5) as u32)
                .with_per_try_timeout(Some(ms(200 + rng.below_or_equal(600))));
            let mut c = client(
                at_ms(rng.below_or_equal(5_000)),
                rng.below_or_equal(3) != 0,
                policy,
                i,
            );
            c.key = rng.below_or_equal(2) as u32;
            c
        })
        .collect();
    let budget = || SharedTokenBucket::new(BudgetConfig::ratio(100, 50, 0), Instant::ZERO);
    let first = run(&server, &clients, &budget(), 2);
    check_universal_laws(&clients, &first);
    assert!(first.waits.iter().any(|w| w.reason == WaitReason::Gate));
    for _ in 0..3 {
        assert_eq!(run(&server, &clients, &budget(), 2), first);
    }
}
