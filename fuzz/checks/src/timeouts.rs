//! Checks for `relent::timeout`: the resolution laws and the deadline arithmetic, each
//! against the formula in its doc comment, on values at the edges (zero, one nanosecond,
//! `Duration::MAX`, `Instant::MAX`).
//!
//! - `Timeouts::resolve`: a set phase is unchanged, an unset phase is `total`, `total` stays;
//!   resolution is idempotent; `is_unlimited` exactly when nothing is set.
//! - `Timeouts::or`: field-wise `Option::or`; `NONE` is its identity on both sides; it is
//!   associative. The `with_*` setters touch only their field; `From<Duration>` is a total.
//! - `TimeoutOverride`: `Inherit` is the client default resolved, `Disable` is unlimited
//!   whatever the default, `Set(t)` is `t` resolved (replacing, not layering), a bare
//!   `Duration` means `Set(from_total(d))`.
//! - `time_left`: `None` without a deadline or with `Instant::MAX` (no deadline), else the
//!   saturating difference.
//! - `attempt_timeout = min(per-try, time left)`: `DeadlinePassed` exactly when a deadline
//!   exists and `now >= deadline`; `Unlimited` exactly when neither limit exists; a
//!   `Limit(d)` never outlives the deadline nor the per-try timeout.
//! - `check_wait`: fits exactly when the wait ends strictly before the deadline, never allows
//!   a wait ending at or after it, reports the time left, and agrees with `attempt_timeout`
//!   taken at the end of the wait.
//! - `stream_timeouts`: no read timeout and no total, setup phases are the client's,
//!   `idle = server + margin` (saturating), none without a server timeout; `ServerTimeout`
//!   round-trips its seconds and refuses zero.

use core::time::Duration;

use relent::Instant;
use relent::timeout::{
    AttemptTimeout, ResolvedTimeouts, ServerTimeout, TimeoutOverride, Timeouts, WaitCheck,
    attempt_timeout, check_wait, stream_timeouts, time_left,
};

use crate::input::Input;

fn duration(input: &mut Input<'_>) -> Duration {
    match input.byte() % 8 {
        0 => Duration::ZERO,
        1 => Duration::from_nanos(1),
        2 => Duration::MAX,
        3 => Duration::from_secs(u64::from(input.u16())),
        4 => Duration::from_millis(u64::from(input.u32())),
        5 => Duration::new(input.u64(), input.u32() % 1_000_000_000),
        6 => Duration::from_nanos(input.u64()),
        _ => Duration::from_nanos(u64::MAX)
            .saturating_add(Duration::from_nanos(u64::from(input.u16()))),
    }
}

fn opt_duration(input: &mut Input<'_>) -> Option<Duration> {
    if input.byte() & 1 == 0 {
        None
    } else {
        Some(duration(input))
    }
}

fn timeouts_value(input: &mut Input<'_>) -> Timeouts {
    Timeouts {
        total: opt_duration(input),
        connect: opt_duration(input),
        read: opt_duration(input),
        write: opt_duration(input),
        pool: opt_duration(input),
    }
}

fn instant(input: &mut Input<'_>) -> Instant {
    match input.byte() % 6 {
        0 => Instant::ZERO,
        1 => Instant::MAX,
        2 => Instant::from_nanos(u64::MAX - u64::from(input.u16())),
        3 => {
            Instant::from_secs(1_000).saturating_add(Duration::from_millis(u64::from(input.u16())))
        }
        4 => Instant::from_nanos(u64::from(input.u32())),
        _ => Instant::from_nanos(input.u64()),
    }
}

fn fields(r: &ResolvedTimeouts) -> [Option<Duration>; 5] {
    [r.total(), r.connect(), r.read(), r.write(), r.pool()]
}

fn raw(t: &Timeouts) -> [Option<Duration>; 5] {
    [t.total, t.connect, t.read, t.write, t.pool]
}

fn check_resolution(a: Timeouts, b: Timeouts, c: Timeouts, d: Duration) {
    // resolve: each phase falls back to total.
    let r = a.resolve();
    let [total, phases @ ..] = raw(&a);
    let [rt, rphases @ ..] = fields(&r);
    assert_eq!(rt, total);
    for (p, rp) in phases.iter().zip(rphases) {
        assert_eq!(rp, p.or(total));
    }
    assert_eq!(Timeouts::from(r).resolve(), r, "resolution is idempotent");
    assert_eq!(r.is_unlimited(), fields(&r).iter().all(Option::is_none));
    assert_eq!(r.is_unlimited(), raw(&a).iter().all(Option::is_none));

    // or: field-wise Option::or, NONE is the identity, associative.
    let ab = a.or(b);
    for ((x, y), z) in raw(&a).iter().zip(raw(&b)).zip(raw(&ab)) {
        assert_eq!(z, x.or(y));
    }
    assert_eq!(a.or(Timeouts::NONE), a);
    assert_eq!(Timeouts::NONE.or(a), a);
    assert_eq!(a.or(b).or(c), a.or(b.or(c)));

    // Setters touch only their field.
    assert_eq!(
        a.with_total(d),
        Timeouts {
            total: Some(d),
            ..a
        }
    );
    assert_eq!(
        a.with_connect(d),
        Timeouts {
            connect: Some(d),
            ..a
        }
    );
    assert_eq!(a.with_read(d), Timeouts { read: Some(d), ..a });
    assert_eq!(
        a.with_write(d),
        Timeouts {
            write: Some(d),
            ..a
        }
    );
    assert_eq!(a.with_pool(d), Timeouts { pool: Some(d), ..a });

    // A bare number is the total, and resolves every phase to it.
    let bare = Timeouts::from(d);
    assert_eq!(bare, Timeouts::from_total(d));
    assert_eq!(bare, Timeouts::NONE.with_total(d));
    assert_eq!(fields(&bare.resolve()), [Some(d); 5]);

    // Per-call overrides (kubex): inherit, disable, set.
    assert_eq!(TimeoutOverride::Inherit.resolve(&a), a.resolve());
    assert_eq!(TimeoutOverride::default().resolve(&a), a.resolve());
    let disabled = TimeoutOverride::Disable.resolve(&a);
    assert_eq!(disabled, ResolvedTimeouts::UNLIMITED);
    assert!(disabled.is_unlimited());
    assert_eq!(
        TimeoutOverride::Set(b).resolve(&a),
        b.resolve(),
        "Set replaces"
    );
    assert_eq!(TimeoutOverride::from(b), TimeoutOverride::Set(b));
    assert_eq!(TimeoutOverride::from(d).resolve(&a), bare.resolve());
    assert_eq!(
        TimeoutOverride::Set(b.or(a)).resolve(&a),
        b.or(a).resolve(),
        "layering is explicit"
    );
}

fn check_deadline(
    per_try: Option<Duration>,
    deadline: Option<Instant>,
    now: Instant,
    wait: Duration,
) {
    let left = time_left(deadline, now);
    let expected_left = match deadline {
        Some(d) if d != Instant::MAX => Some(d.saturating_duration_since(now)),
        _ => None,
    };
    assert_eq!(left, expected_left);
    // The deadline that counts (Instant::MAX means none).
    let real = deadline.filter(|d| *d != Instant::MAX);

    let at = attempt_timeout(per_try, deadline, now);
    match at {
        AttemptTimeout::DeadlinePassed => {
            assert!(
                real.is_some_and(|d| now >= d),
                "{at:?} without a passed deadline"
            );
        }
        AttemptTimeout::Unlimited => {
            assert!(per_try.is_none() && real.is_none());
        }
        AttemptTimeout::Limit(l) => {
            assert!(real.is_none_or(|d| now < d));
            let want = match (per_try, left) {
                (Some(p), Some(x)) => p.min(x),
                (Some(p), None) => p,
                (None, Some(x)) => x,
                (None, None) => panic!("a limit from nothing"),
            };
            assert_eq!(l, want, "attempt timeout = min(per-try, time left)");
            if let Some(d) = real {
                assert!(
                    now.checked_add(l).is_some_and(|end| end <= d),
                    "outlives the deadline"
                );
            }
        }
    }
    assert_eq!(at.is_deadline_passed(), real.is_some_and(|d| now >= d));

    let cw = check_wait(wait, deadline, now);
    match cw {
        WaitCheck::Fits { time_left: tl } => {
            assert_eq!(tl, left);
            if let Some(d) = real {
                assert!(
                    now.checked_add(wait).is_some_and(|end| end < d),
                    "a wait of {wait:?} from {now:?} may not reach {d:?}"
                );
            }
        }
        WaitCheck::ExceedsDeadline { time_left: tl } => {
            let d = real.expect("only a deadline can be exceeded");
            assert_eq!(Some(tl), left);
            assert!(wait >= tl);
            assert!(now.checked_add(wait).is_none_or(|end| end >= d));
        }
    }
    assert_eq!(cw.fits(), matches!(cw, WaitCheck::Fits { .. }));
    // Consistency: a wait fits exactly when an attempt could still start when it ends.
    let after = attempt_timeout(per_try, deadline, now.saturating_add(wait));
    assert_eq!(
        cw.fits(),
        !after.is_deadline_passed(),
        "{cw:?} vs {after:?}"
    );
}

fn check_stream(client: Timeouts, server_secs: u32, margin: Duration) {
    let resolved = client.resolve();
    let server = ServerTimeout::from_secs(server_secs);
    assert_eq!(server.is_none(), server_secs == 0);
    if let Some(s) = server {
        assert_eq!(s.as_secs(), server_secs);
        assert_eq!(s.as_duration(), Duration::from_secs(u64::from(server_secs)));
    }
    let s = stream_timeouts(&resolved, server, margin);
    assert_eq!(s.read(), None, "a stream never gets a read timeout");
    assert_eq!(s.total(), None, "nor a total");
    assert_eq!(s.connect(), resolved.connect());
    assert_eq!(s.write(), resolved.write());
    assert_eq!(s.pool(), resolved.pool());
    assert_eq!(
        s.idle(),
        server.map(|_| Duration::from_secs(u64::from(server_secs)).saturating_add(margin))
    );
    // Disabling the client limits leaves the idle guard, which is the server's.
    let off = stream_timeouts(&TimeoutOverride::Disable.resolve(&client), server, margin);
    assert_eq!(off.idle(), s.idle());
    assert_eq!((off.connect(), off.write(), off.pool()), (None, None, None));
}

/// The `timeouts` target: three `Timeouts` values, durations and instants at the edges.
///
/// Input layout: three `Timeouts` (per field a presence byte, then a tagged duration), a
/// duration, then a per-try timeout, a deadline, `now` and a wait for the deadline laws, then
/// a server timeout (u32 LE seconds) and a margin for the stream laws. Panics only when a law
/// in the module docs breaks.
pub fn timeouts(data: &[u8]) {
    let mut input = Input::new(data);
    let a = timeouts_value(&mut input);
    let b = timeouts_value(&mut input);
    let c = timeouts_value(&mut input);
    let d = duration(&mut input);
    check_resolution(a, b, c, d);
    for preset in [
        Timeouts::KUBE_CLIENT,
        Timeouts::HTTPX_DEFAULT,
        Timeouts::AIOHTTP_DEFAULT,
    ] {
        check_resolution(preset, a, b, d);
    }

    let per_try = opt_duration(&mut input);
    let deadline = match input.byte() % 3 {
        0 => None,
        _ => Some(instant(&mut input)),
    };
    let now = instant(&mut input);
    let wait = duration(&mut input);
    check_deadline(per_try, deadline, now, wait);
    // The resolved total is the per-try limit an adapter feeds to attempt_timeout.
    check_deadline(a.resolve().total(), deadline, now, wait);

    let server_secs = match input.byte() % 4 {
        0 => 0,
        1 => 290,
        2 => u32::MAX,
        _ => input.u32(),
    };
    let margin = duration(&mut input);
    check_stream(a, server_secs, margin);
}
