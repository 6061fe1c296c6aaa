//! Laws of `relent::timeout`, stated as property tests, plus the seeds' numbers.

use core::time::Duration;

use proptest::prelude::*;
use relent::Instant;
use relent::timeout::{
    AttemptTimeout, KUBE_WATCH_IDLE_MARGIN, ResolvedTimeouts, ServerTimeout, TimeoutOverride,
    Timeouts, WaitCheck, attempt_timeout, check_wait, stream_timeouts, time_left,
};

// ---------------------------------------------------------------- strategies

/// Durations weighted towards the edges: zero, one nanosecond, `Duration::MAX`,
/// the `u64` nanosecond boundary of `Instant`, plus arbitrary spans.
fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::ZERO),
        Just(Duration::from_nanos(1)),
        Just(Duration::MAX),
        Just(Duration::from_nanos(u64::MAX)),
        Just(Duration::from_secs(u64::MAX)),
        (0u64..10_000).prop_map(Duration::from_millis),
        any::<u64>().prop_map(Duration::from_nanos),
        (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
    ]
}

fn opt_duration() -> impl Strategy<Value = Option<Duration>> {
    prop_oneof![1 => Just(None), 3 => duration().prop_map(Some)]
}

fn instant() -> impl Strategy<Value = Instant> {
    prop_oneof![
        Just(Instant::ZERO),
        Just(Instant::MAX),
        Just(Instant::from_nanos(u64::MAX - 1)),
        (0u64..100_000).prop_map(Instant::from_millis),
        any::<u64>().prop_map(Instant::from_nanos),
    ]
}

fn opt_instant() -> impl Strategy<Value = Option<Instant>> {
    prop_oneof![1 => Just(None), 3 => instant().prop_map(Some)]
}

fn timeouts() -> impl Strategy<Value = Timeouts> {
    (
        opt_duration(),
        opt_duration(),
        opt_duration(),
        opt_duration(),
        opt_duration(),
    )
        .prop_map(|(total, connect, read, write, pool)| Timeouts {
            total,
            connect,
            read,
            write,
            pool,
        })
}

fn server_timeout() -> impl Strategy<Value = Option<ServerTimeout>> {
    prop_oneof![
        Just(None),
        Just(Some(ServerTimeout::KUBE_WATCH_DEFAULT)),
        Just(ServerTimeout::from_secs(u32::MAX)),
        any::<u32>().prop_map(ServerTimeout::from_secs),
    ]
}

/// All five effective values, in field order, for field-wise laws.
fn resolved_fields(r: &ResolvedTimeouts) -> [Option<Duration>; 5] {
    [r.total(), r.connect(), r.read(), r.write(), r.pool()]
}

fn configured_fields(t: &Timeouts) -> [Option<Duration>; 5] {
    [t.total, t.connect, t.read, t.write, t.pool]
}

/// A deadline that is a real bound (`Instant::MAX` means "never").
fn real_deadline(deadline: Option<Instant>) -> Option<Instant> {
    deadline.filter(|d| *d != Instant::MAX)
}

// ---------------------------------------------------------------- resolution

proptest! {
    #[test]
    fn bare_duration_is_total(d in duration()) {
        prop_assert_eq!(Timeouts::from(d), Timeouts { total: Some(d), ..Timeouts::NONE });
        prop_assert_eq!(Timeouts::from(d), Timeouts::from_total(d));
        prop_assert_eq!(
            TimeoutOverride::from(d),
            TimeoutOverride::Set(Timeouts { total: Some(d), ..Timeouts::NONE })
        );
        // ... and so every phase resolves to d.
        let r = Timeouts::from(d).resolve();
        prop_assert_eq!(resolved_fields(&r), [Some(d); 5]);
    }

    #[test]
    fn set_phases_unchanged_unset_phases_take_total(t in timeouts()) {
        let r = t.resolve();
        prop_assert_eq!(r.total(), t.total);
        let phases = configured_fields(&t);
        let resolved = resolved_fields(&r);
        for (configured, effective) in phases.iter().zip(resolved.iter()).skip(1) {
            match configured {
                Some(v) => prop_assert_eq!(*effective, Some(*v)),
                None => prop_assert_eq!(*effective, t.total),
            }
        }
    }

    #[test]
    fn resolution_is_idempotent(t in timeouts()) {
        let r = t.resolve();
        prop_assert_eq!(Timeouts::from(r).resolve(), r);
    }

    #[test]
    fn total_set_implies_every_phase_set(t in timeouts()) {
        let r = t.resolve();
        if r.total().is_some() {
            prop_assert!(resolved_fields(&r).iter().all(Option::is_some));
        }
        prop_assert_eq!(r.is_unlimited(), configured_fields(&t).iter().all(Option::is_none));
    }

    #[test]
    fn with_methods_match_fields(t in timeouts(), d in duration()) {
        prop_assert_eq!(t.with_total(d), Timeouts { total: Some(d), ..t });
        prop_assert_eq!(t.with_connect(d), Timeouts { connect: Some(d), ..t });
        prop_assert_eq!(t.with_read(d), Timeouts { read: Some(d), ..t });
        prop_assert_eq!(t.with_write(d), Timeouts { write: Some(d), ..t });
        prop_assert_eq!(t.with_pool(d), Timeouts { pool: Some(d), ..t });
    }

    #[test]
    fn or_is_fieldwise_option_or(a in timeouts(), b in timeouts()) {
        let layered = configured_fields(&a.or(b));
        let expected: Vec<_> = configured_fields(&a)
            .iter()
            .zip(configured_fields(&b).iter())
            .map(|(x, y)| x.or(*y))
            .collect();
        prop_assert_eq!(layered.to_vec(), expected);
        // NONE is the identity on both sides.
        prop_assert_eq!(a.or(Timeouts::NONE), a);
        prop_assert_eq!(Timeouts::NONE.or(a), a);
    }

    // ------------------------------------------------------------ per-call override

    #[test]
    fn inherit_is_the_client_default(client in timeouts()) {
        prop_assert_eq!(TimeoutOverride::Inherit.resolve(&client), client.resolve());
        prop_assert_eq!(TimeoutOverride::default().resolve(&client), client.resolve());
    }

    #[test]
    fn disable_yields_no_timeouts(client in timeouts()) {
        let r = TimeoutOverride::Disable.resolve(&client);
        prop_assert!(r.is_unlimited());
        prop_assert_eq!(resolved_fields(&r), [None; 5]);
        prop_assert_eq!(r, ResolvedTimeouts::UNLIMITED);
    }

    #[test]
    fn set_replaces_the_client_default(client in timeouts(), call in timeouts()) {
        // The client is not consulted: unset fields fall back to the call's own total.
        prop_assert_eq!(TimeoutOverride::Set(call).resolve(&client), call.resolve());
        prop_assert_eq!(TimeoutOverride::from(call), TimeoutOverride::Set(call));
        // Layering is explicit and fills from the client first.
        let layered = TimeoutOverride::Set(call.or(client)).resolve(&client);
        prop_assert_eq!(layered, call.or(client).resolve());
    }

    // ------------------------------------------------------------ deadlines

    #[test]
    fn attempt_timeout_never_exceeds_per_try_or_time_left(
        per_try in opt_duration(),
        deadline in opt_instant(),
        now in instant(),
    ) {
        let left = time_left(deadline, now);
        match attempt_timeout(per_try, deadline, now) {
            AttemptTimeout::Limit(d) => {
                if let Some(p) = per_try {
                    prop_assert!(d <= p);
                }
                if let Some(l) = left {
                    prop_assert!(d <= l);
                    prop_assert!(!l.is_zero());
                }
                if let Some(dl) = real_deadline(deadline) {
                    // The attempt ends no later than the deadline.
                    prop_assert!(now.saturating_add(d) <= dl);
                }
                // It is the tighter of the two, exactly.
                let expected = match (per_try, left) {
                    (Some(p), Some(l)) => p.min(l),
                    (Some(p), None) => p,
                    (None, Some(l)) => l,
                    (None, None) => unreachable!("no bound cannot give a limit"),
                };
                prop_assert_eq!(d, expected);
            }
            AttemptTimeout::Unlimited => {
                prop_assert!(per_try.is_none());
                prop_assert!(left.is_none());
            }
            AttemptTimeout::DeadlinePassed => {
                let dl = real_deadline(deadline);
                prop_assert!(dl.is_some_and(|dl| now >= dl));
            }
        }
    }

    #[test]
    fn deadline_passed_exactly_when_now_at_or_after_deadline(
        per_try in opt_duration(),
        deadline in opt_instant(),
        now in instant(),
    ) {
        let passed = attempt_timeout(per_try, deadline, now).is_deadline_passed();
        let expected = real_deadline(deadline).is_some_and(|dl| now >= dl);
        prop_assert_eq!(passed, expected);
    }

    #[test]
    fn backwards_clock_never_gains_time(
        per_try in opt_duration(),
        deadline in instant(),
        now in instant(),
        back in duration(),
    ) {
        // An earlier `now` (a clock that went backwards) can only leave more
        // time; nothing panics on the way.
        let earlier = now.saturating_sub(back);
        let later_left = time_left(Some(deadline), now);
        let earlier_left = time_left(Some(deadline), earlier);
        prop_assert!(earlier_left >= later_left);
        let _ = attempt_timeout(per_try, Some(deadline), earlier);
        let _ = check_wait(back, Some(deadline), earlier);
    }

    #[test]
    fn instant_max_deadline_means_never(per_try in opt_duration(), now in instant(), w in duration()) {
        prop_assert_eq!(
            attempt_timeout(per_try, Some(Instant::MAX), now),
            attempt_timeout(per_try, None, now)
        );
        prop_assert_eq!(check_wait(w, Some(Instant::MAX), now), WaitCheck::Fits { time_left: None });
    }

    #[test]
    fn wait_check_reports_time_left_and_never_overruns(
        wait in duration(),
        deadline in opt_instant(),
        now in instant(),
    ) {
        let left = time_left(deadline, now);
        match check_wait(wait, deadline, now) {
            WaitCheck::Fits { time_left } => {
                prop_assert_eq!(time_left, left);
                if let Some(dl) = real_deadline(deadline) {
                    // The wait ends strictly before the deadline.
                    prop_assert!(now.saturating_add(wait) < dl);
                }
            }
            WaitCheck::ExceedsDeadline { time_left } => {
                prop_assert_eq!(Some(time_left), left);
                prop_assert!(wait >= time_left);
            }
        }
    }

    #[test]
    fn wait_fits_exactly_when_an_attempt_after_it_has_time(
        wait in duration(),
        per_try in opt_duration(),
        deadline in opt_instant(),
        now in instant(),
    ) {
        let fits = check_wait(wait, deadline, now).fits();
        let after = attempt_timeout(per_try, deadline, now.saturating_add(wait));
        prop_assert_eq!(fits, !after.is_deadline_passed());
    }

    // ------------------------------------------------------------ streams

    #[test]
    fn stream_has_no_read_timeout_and_idle_is_server_plus_margin(
        client in timeouts(),
        call in prop_oneof![
            Just(TimeoutOverride::Inherit),
            Just(TimeoutOverride::Disable),
            timeouts().prop_map(TimeoutOverride::Set),
        ],
        server in server_timeout(),
        margin in duration(),
    ) {
        let resolved = call.resolve(&client);
        let s = stream_timeouts(&resolved, server, margin);
        prop_assert_eq!(s.read(), None);
        prop_assert_eq!(s.total(), None);
        prop_assert_eq!(s.connect(), resolved.connect());
        prop_assert_eq!(s.write(), resolved.write());
        prop_assert_eq!(s.pool(), resolved.pool());
        let expected_idle = server.map(|st| {
            Duration::from_secs(u64::from(st.as_secs())).checked_add(margin).unwrap_or(Duration::MAX)
        });
        prop_assert_eq!(s.idle(), expected_idle);
        if let Some(idle) = s.idle() {
            prop_assert!(idle >= margin);
        }
    }

    #[test]
    fn server_timeout_round_trips_and_rejects_zero(secs in any::<u32>()) {
        match ServerTimeout::from_secs(secs) {
            None => prop_assert_eq!(secs, 0),
            Some(st) => {
                prop_assert_eq!(st.as_secs(), secs);
                prop_assert_eq!(st.as_duration(), Duration::from_secs(u64::from(secs)));
            }
        }
    }
}

// ---------------------------------------------------------------- the seeds' numbers

#[test]
fn kube_client_default_is_connect_30s_and_nothing_else() {
    // kube-rs (docs, "Client Internals"): connect_timeout 30 s, read_timeout None, write_timeout None.
    let r = Timeouts::KUBE_CLIENT.resolve();
    assert_eq!(r.connect(), Some(Duration::from_secs(30)));
    assert_eq!(r.read(), None);
    assert_eq!(r.write(), None);
    assert_eq!(r.total(), None);
    assert_eq!(r.pool(), None);
    assert!(!r.is_unlimited());
}

#[test]
fn library_default_presets_match_kubex_note() {
    // kubex docs, "Timeouts": httpx 5 s total; aiohttp 300 s total, 30 s sock_connect.
    let httpx = Timeouts::HTTPX_DEFAULT.resolve();
    assert_eq!(resolved_fields(&httpx), [Some(Duration::from_secs(5)); 5]);
    let aiohttp = Timeouts::AIOHTTP_DEFAULT.resolve();
    assert_eq!(aiohttp.total(), Some(Duration::from_secs(300)));
    assert_eq!(aiohttp.connect(), Some(Duration::from_secs(30)));
    assert_eq!(aiohttp.read(), Some(Duration::from_secs(300)));
}

#[test]
fn kubex_examples() {
    let s = Duration::from_secs;
    // Timeout(total=30.0, connect=5.0, read=25.0): write and pool take 30.
    let t = Timeouts::from_total(s(30))
        .with_connect(s(5))
        .with_read(s(25));
    let r = t.resolve();
    assert_eq!(
        resolved_fields(&r),
        [
            Some(s(30)),
            Some(s(5)),
            Some(s(25)),
            Some(s(30)),
            Some(s(30))
        ]
    );
    // Timeout(connect=5.0, read=60.0): no total, so write and pool are unlimited.
    let r = Timeouts::NONE.with_connect(s(5)).with_read(s(60)).resolve();
    assert_eq!(
        resolved_fields(&r),
        [None, Some(s(5)), Some(s(60)), None, None]
    );
    // Client default total 30, per-call Timeout(connect=2.0, read=10.0) replaces it.
    let client = Timeouts::from(s(30));
    let call = TimeoutOverride::Set(Timeouts::NONE.with_connect(s(2)).with_read(s(10)));
    let r = call.resolve(&client);
    assert_eq!(r.total(), None);
    assert_eq!(r.write(), None);
    assert_eq!(r.connect(), Some(s(2)));
}

#[test]
fn kube_watch_idle_is_295s() {
    // 290 s server default (kube-core params.rs) + 5 s margin (kube-rs PR #1945).
    let client = Timeouts::KUBE_CLIENT.resolve();
    let st = stream_timeouts(
        &client,
        Some(ServerTimeout::KUBE_WATCH_DEFAULT),
        KUBE_WATCH_IDLE_MARGIN,
    );
    assert_eq!(ServerTimeout::KUBE_WATCH_DEFAULT.as_secs(), 290);
    assert_eq!(st.idle(), Some(Duration::from_secs(295)));
    assert_eq!(st.connect(), Some(Duration::from_secs(30)));
    assert_eq!(st.read(), None);
    // Without a server timeout the bound is unknown: no idle timer.
    assert_eq!(
        stream_timeouts(&client, None, KUBE_WATCH_IDLE_MARGIN).idle(),
        None
    );
    // A client read timeout never leaks into a stream.
    let short = Timeouts::from(Duration::from_secs(1)).resolve();
    assert_eq!(
        stream_timeouts(&short, ServerTimeout::from_secs(300), Duration::ZERO).read(),
        None
    );
}

#[test]
fn extremes_saturate_without_panicking() {
    let max = Timeouts::from(Duration::MAX).resolve();
    assert_eq!(max.read(), Some(Duration::MAX));
    let st = stream_timeouts(&max, ServerTimeout::from_secs(u32::MAX), Duration::MAX);
    assert_eq!(st.idle(), Some(Duration::MAX));
    assert_eq!(
        attempt_timeout(
            Some(Duration::MAX),
            Some(Instant::from_secs(1)),
            Instant::ZERO
        ),
        AttemptTimeout::Limit(Duration::from_secs(1))
    );
    assert_eq!(
        attempt_timeout(Some(Duration::MAX), Some(Instant::ZERO), Instant::MAX),
        AttemptTimeout::DeadlinePassed
    );
    assert_eq!(
        check_wait(
            Duration::MAX,
            Some(Instant::from_nanos(u64::MAX - 1)),
            Instant::ZERO
        ),
        WaitCheck::ExceedsDeadline {
            time_left: Duration::from_nanos(u64::MAX - 1)
        }
    );
    assert_eq!(
        check_wait(Duration::ZERO, Some(Instant::ZERO), Instant::ZERO),
        WaitCheck::ExceedsDeadline {
            time_left: Duration::ZERO
        }
    );
    // A zero per-try is honoured, not read as "no limit".
    assert_eq!(
        attempt_timeout(Some(Duration::ZERO), None, Instant::ZERO),
        AttemptTimeout::Limit(Duration::ZERO)
    );
}
