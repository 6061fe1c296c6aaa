//! The stream helpers under paused time: exact poll instants, resets, and
//! every error handed to the caller.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{Stream, StreamExt, stream};
use relent::backoff::{Backoff, BackoffBuilder, BackoffPolicy, Jitter, presets};
use relent_tokio::stream::{IdleTimedOut, IdleTimeout, Reconnect, StreamBackoff};
use tokio::time::Instant;

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

type Log = Arc<Mutex<Vec<Duration>>>;

/// A stream that, each time it is polled for its next item, logs the instant
/// (relative to `origin`), sleeps the step's delay and yields the step's item.
fn scripted<T: Send + 'static>(
    steps: Vec<(Duration, T)>,
    origin: Instant,
) -> (impl Stream<Item = T>, Log) {
    let log: Log = Arc::default();
    let polls = Arc::clone(&log);
    let s = stream::unfold(steps.into_iter(), move |mut steps| {
        let polls = Arc::clone(&polls);
        async move {
            polls.lock().unwrap().push(origin.elapsed());
            let (delay, item) = steps.next()?;
            tokio::time::sleep(delay).await;
            Some((item, steps))
        }
    });
    (s, log)
}

fn exp100(quiet: Option<Duration>) -> BackoffPolicy {
    let b = BackoffBuilder::exponential(ms(100)).cap(Duration::from_secs(10));
    match quiet {
        Some(q) => b.reset_after_quiet(q),
        None => b,
    }
    .build()
    .unwrap()
}

#[tokio::test(start_paused = true)]
async fn reset_on_success_timings() {
    let origin = Instant::now();
    let now = Duration::ZERO;
    let (inner, polls) = scripted(
        vec![
            (now, Err("e1")),
            (now, Err("e2")),
            (now, Err("e3")),
            (now, Ok(1)),
            (now, Err("e4")),
            (now, Ok(2)),
        ],
        origin,
    );
    let mut s = StreamBackoff::new(inner, exp100(None));
    let mut seen = Vec::new();
    while let Some(item) = s.next().await {
        seen.push((origin.elapsed(), item));
    }
    // 100, 200, 400 ms after the errors; the success resets, so 100 ms again.
    assert_eq!(
        seen,
        [
            (ms(0), Err("e1")),
            (ms(100), Err("e2")),
            (ms(300), Err("e3")),
            (ms(700), Ok(1)),
            (ms(700), Err("e4")),
            (ms(800), Ok(2)),
        ]
    );
    assert_eq!(
        *polls.lock().unwrap(),
        [ms(0), ms(100), ms(300), ms(700), ms(700), ms(800), ms(800)]
    );
}

#[tokio::test(start_paused = true)]
async fn reset_after_quiet_timings() {
    let origin = Instant::now();
    // Errors at once, then a quiet stretch of 2 s before the next error.
    let (inner, _) = scripted(
        vec![
            (ms(0), Err::<(), _>("e1")),
            (ms(0), Err("e2")),
            (ms(0), Err("e3")),
            (ms(2_000), Err("e4")),
            (ms(0), Err("e5")),
        ],
        origin,
    );
    let s = StreamBackoff::new(inner, exp100(Some(Duration::from_secs(1))));
    let times: Vec<_> = s.map(|item| (origin.elapsed(), item)).collect().await;
    // e1 at 0 (wait 100), e2 at 100 (wait 200), e3 at 300 (wait 400: ends at 700).
    // e4 comes 2 s after that wait ended, more than the 1 s quiet period: the
    // backoff starts over at 100 ms instead of 800 ms.
    assert_eq!(
        times,
        [
            (ms(0), Err("e1")),
            (ms(100), Err("e2")),
            (ms(300), Err("e3")),
            (ms(2_700), Err("e4")),
            (ms(2_800), Err("e5")),
        ]
    );
    // Without the quiet period the same script waits 800 ms after e4.
    let origin = Instant::now();
    let (inner, _) = scripted(
        vec![
            (ms(0), Err::<(), _>("e1")),
            (ms(0), Err("e2")),
            (ms(0), Err("e3")),
            (ms(2_000), Err("e4")),
            (ms(0), Err("e5")),
        ],
        origin,
    );
    let last = StreamBackoff::new(inner, exp100(None))
        .map(|_| origin.elapsed())
        .collect::<Vec<_>>()
        .await;
    assert_eq!(last.last(), Some(&ms(3_500)));
}

#[tokio::test(start_paused = true)]
async fn every_error_reaches_the_caller_and_exhaustion_ends_the_stream() {
    let origin = Instant::now();
    let errors: Vec<_> = (0..10).map(|i| (ms(0), Err::<(), u32>(i))).collect();
    let (inner, polls) = scripted(errors, origin);
    let policy = BackoffBuilder::constant(ms(50))
        .max_delays(3)
        .build()
        .unwrap();
    let seen: Vec<_> = StreamBackoff::new(inner, policy).collect().await;
    // Three delays, so four errors: the fourth exhausted the backoff, was
    // yielded all the same, and the stream ended there.
    assert_eq!(seen, [Err(0), Err(1), Err(2), Err(3)]);
    assert_eq!(*polls.lock().unwrap(), [ms(0), ms(50), ms(100), ms(150)]);
    assert_eq!(origin.elapsed(), ms(150));
}

#[tokio::test(start_paused = true)]
async fn kube_watcher_preset_with_a_fixed_seed() {
    // kube's watcher backoff: 800 ms doubling to 30 s, equal jitter. With a
    // fixed seed the waits are the core's, to the millisecond tick.
    let seed = 7;
    let origin = Instant::now();
    let errors: Vec<_> = (0..8).map(|i| (ms(0), Err::<(), u32>(i))).collect();
    let (inner, _) = scripted(errors, origin);
    let s = StreamBackoff::with_backoff(inner, Backoff::new(presets::kube_watcher(), seed));
    let times: Vec<_> = s.map(|_| origin.elapsed()).collect().await;
    let mut reference = Backoff::new(presets::kube_watcher(), seed);
    let ceil_ms = |d: Duration| ms(u64::try_from(d.as_nanos().div_ceil(1_000_000)).unwrap());
    let mut t = Duration::ZERO;
    let mut expected = vec![t];
    for _ in 0..7 {
        let d = reference.next_delay(relent::Instant::ZERO + t).unwrap();
        assert!(d <= Duration::from_secs(30), "cap after jitter");
        t = ceil_ms(t + d);
        expected.push(t);
    }
    assert_eq!(times, expected);
    assert_eq!(presets::kube_watcher().jitter(), Jitter::Equal);
}

#[tokio::test(start_paused = true)]
async fn reconnect_timings() {
    let origin = Instant::now();
    let connects: Log = Arc::default();
    let log = Arc::clone(&connects);
    let mut n = 0;
    let factory = move || {
        log.lock().unwrap().push(origin.elapsed());
        n += 1;
        let items: Vec<Result<u32, &str>> = match n {
            // Two events, then the connection breaks.
            1 => vec![Ok(1), Ok(2), Err("reset by peer")],
            // Refused at once.
            2 => vec![Err("refused")],
            // One event, then the server ends the watch cleanly.
            3 => vec![Ok(3)],
            // Ends at once with nothing: backed off although there is no error.
            4 => vec![],
            _ => vec![Ok(5)],
        };
        stream::iter(items)
    };
    let s = Reconnect::new(factory, exp100(None));
    let seen: Vec<_> = s.take(6).map(|i| (origin.elapsed(), i)).collect().await;
    assert_eq!(
        seen,
        [
            (ms(0), Ok(1)),
            (ms(0), Ok(2)),
            (ms(0), Err("reset by peer")),
            (ms(100), Err("refused")),
            (ms(300), Ok(3)),
            // Clean end after an event: reconnect at once (300). That one is
            // empty: back off 100 ms (the success reset the backoff).
            (ms(400), Ok(5)),
        ]
    );
    assert_eq!(
        *connects.lock().unwrap(),
        [ms(0), ms(100), ms(300), ms(300), ms(400)]
    );
}

#[tokio::test(start_paused = true)]
async fn reconnect_ends_after_exhaustion() {
    let origin = Instant::now();
    let policy = BackoffBuilder::constant(ms(10))
        .max_delays(2)
        .build()
        .unwrap();
    let s = Reconnect::new(|| stream::iter([Err::<(), _>("down")]), policy);
    let seen: Vec<_> = s.collect().await;
    assert_eq!(seen, [Err("down"), Err("down"), Err("down")]);
    assert_eq!(origin.elapsed(), ms(20));
    // With only empty connections, it just ends.
    let policy = BackoffBuilder::constant(ms(10))
        .max_delays(2)
        .build()
        .unwrap();
    let s = Reconnect::new(stream::empty::<Result<(), ()>>, policy);
    assert_eq!(s.count().await, 0);
}

#[tokio::test(start_paused = true)]
async fn waiting_until_is_visible() {
    let (inner, _) = scripted(vec![(ms(0), Err::<(), _>("e"))], Instant::now());
    let mut s = StreamBackoff::new(inner, exp100(None));
    assert_eq!(s.waiting_until(), None);
    let start = relent_tokio::clock::now();
    assert_eq!(s.next().await, Some(Err("e")));
    assert_eq!(s.waiting_until(), Some(start + ms(100)));
    assert_eq!(s.backoff().delays_taken(), 1);
    assert_eq!(s.next().await, None);
    assert_eq!(s.waiting_until(), None);
}

#[derive(Debug, PartialEq)]
enum WatchError {
    Idle(IdleTimedOut),
}

impl From<IdleTimedOut> for WatchError {
    fn from(e: IdleTimedOut) -> Self {
        WatchError::Idle(e)
    }
}

#[tokio::test(start_paused = true)]
async fn a_silent_connection_times_out_and_is_replaced() {
    let origin = Instant::now();
    let connects: Log = Arc::default();
    let log = Arc::clone(&connects);
    let idle = ms(1_000);
    let factory = move || {
        log.lock().unwrap().push(origin.elapsed());
        // Two events 300 ms apart, then silence (a dead connection).
        let events = stream::iter([1, 2]).then(|n| async move {
            tokio::time::sleep(ms(300)).await;
            Ok::<u32, WatchError>(n)
        });
        IdleTimeout::new(events.chain(stream::pending()), idle)
    };
    let s = Reconnect::new(factory, exp100(None));
    let seen: Vec<_> = s.take(5).map(|i| (origin.elapsed(), i)).collect().await;
    let dead = WatchError::Idle(IdleTimedOut { idle });
    assert_eq!(
        seen,
        [
            (ms(300), Ok(1)),
            (ms(600), Ok(2)),
            // 1 s after the last event, the connection is presumed dead...
            (ms(1_600), Err(dead)),
            // ...and after the (reset) 100 ms backoff a new one delivers again.
            (ms(2_000), Ok(1)),
            (ms(2_300), Ok(2)),
        ]
    );
    assert_eq!(*connects.lock().unwrap(), [ms(0), ms(1_700)]);
}

#[tokio::test(start_paused = true)]
async fn a_busy_stream_never_times_out() {
    // An item every 900 ms never trips a 1 s idle limit, however long it runs.
    let ticks = stream::iter(0..20u32).then(|n| async move {
        tokio::time::sleep(ms(900)).await;
        Ok::<u32, WatchError>(n)
    });
    let items: Vec<_> = IdleTimeout::new(ticks, ms(1_000)).collect().await;
    assert_eq!(items, (0..20).map(Ok).collect::<Vec<_>>());
}
