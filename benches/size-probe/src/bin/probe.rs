//! A firmware image that uses relent without `alloc`: a backoff schedule with jitter, the
//! Retry-After parser (delay-seconds and HTTP-date), and the retry machine.
//!
//! Every input comes through `core::hint::black_box`, so the compiler cannot fold the
//! work away, and every result goes back into it, so none of it is dead code. What the
//! image holds beyond `baseline` is relent's own cost (plus the little glue here).
#![no_std]
#![no_main]

use core::hint::black_box;
use core::panic::PanicInfo;
#[cfg(feature = "backoff")]
use core::time::Duration;

#[cfg(any(feature = "backoff", feature = "machine"))]
use relent::Instant;
#[cfg(feature = "parser")]
use relent::UnixTime;
#[cfg(feature = "backoff")]
use relent::backoff::{Backoff, BackoffPolicy, Factor, Jitter, Schedule};
use relent::hint::ServerHint;
#[cfg(feature = "parser")]
use relent::hint::parse_retry_after;
#[cfg(feature = "machine")]
use relent::http::{Attempt, Classify, Observed};
#[cfg(feature = "machine")]
use relent::retry::{Action, Retry, RetryPolicy};

/// Never returns: a bare-metal image has nowhere to return to.
#[panic_handler]
fn panic(_: &PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}

/// One operation: a few backoff delays, one Retry-After value, one retry machine run.
fn work(round: u64) {
    let round = black_box(round);
    #[cfg(any(feature = "backoff", feature = "machine"))]
    let now = Instant::from_millis(black_box(round));

    // Backoff: exponential, full jitter, cap.
    #[cfg(feature = "backoff")]
    let policy = BackoffPolicy::builder(Schedule::Exponential {
        base: black_box(Duration::from_millis(100)),
        factor: Factor::TWO,
    })
    .jitter(black_box(Jitter::Full))
    .cap(black_box(Duration::from_secs(10)))
    .max_delays(black_box(8))
    .build();
    #[cfg(feature = "backoff")]
    if let Ok(policy) = policy {
        let mut backoff = Backoff::new(policy, black_box(round));
        while let Some(d) = backoff.next_delay(now) {
            black_box(d);
        }
    }

    // The Retry-After parser: both forms, against a caller-supplied wall clock.
    #[cfg(feature = "parser")]
    let hint = {
        let unix = UnixTime::from_secs(black_box(1_700_000_000));
        let value: &[u8] = if black_box(round) % 2 == 0 {
            b"120"
        } else {
            b"Sun, 06 Nov 1994 08:49:37 GMT"
        };
        let hint = parse_retry_after(black_box(value), unix)
            .ok()
            .map(|r| ServerHint::After(r.delay_from(None, unix)));
        black_box(hint)
    };
    #[cfg(not(feature = "parser"))]
    let hint: Option<ServerHint> = black_box(None);

    // The retry machine: one attempt answered with a status, then what to do next.
    #[cfg(feature = "machine")]
    {
        // A firmware's policy is a `static` (`RetryPolicy::standard` is `const`).
        static POLICY: RetryPolicy = RetryPolicy::standard();
        let policy = &POLICY;
        let mut op = Retry::new(policy, black_box(round), now);
        if let Action::Send { attempt, .. } = op.poll(now) {
            // The policy's classifier reads the status, as the HTTP adapters do.
            let outcome = policy.classifier.outcome(&Attempt {
                observed: Observed::Response {
                    status: black_box(503),
                    hint: black_box(hint),
                },
                idempotent: black_box(true),
                number: attempt,
            });
            op.handle_outcome(now, outcome);
        }
        let _ = black_box(op.poll(now));
    }
    #[cfg(not(feature = "machine"))]
    let _ = black_box(hint);
}

/// The entry point the linker keeps (`_start`, lld's default entry symbol).
///
/// `#[unsafe(no_mangle)]`: exporting an unmangled symbol is unsafe to declare (it could
/// clash with another symbol of the same name), so edition 2024 spells it `unsafe(...)`.
/// relent's workspace forbids `unsafe_code`; this crate is outside that workspace on
/// purpose, because a linkable bare-metal image needs one exported entry, and the
/// attribute is the only unsafe item here.
#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    let mut round = 0u64;
    loop {
        work(round);
        round = round.wrapping_add(1);
    }
}
