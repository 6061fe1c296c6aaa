//! A watch-style loop on a flaky, fake event stream (runs in about a second).
//!
//! `cargo run -p relent-tokio --example watch`
//!
//! Each "connection" is a stream of events that the factory makes; this fake
//! server resets connections, refuses some, and ends a watch cleanly now and
//! then, as a Kubernetes API server does after `timeoutSeconds`. `Reconnect`
//! hands every event and every error to the loop, backs off after errors
//! (kube's watcher shape, scaled down: 50 ms doubling to 1 s, equal jitter,
//! reset after 2 s of quiet), resets on each event, and reconnects at once
//! after a clean end.

use std::time::Duration;

use futures_util::{StreamExt, stream};
use relent::backoff::{BackoffBuilder, Jitter};
use relent_tokio::clock;
use relent_tokio::stream::Reconnect;

/// What one fake connection delivers, by connection number.
fn connection(n: u32) -> Vec<Result<String, String>> {
    let event = |name: &str| Ok(format!("ADDED pod/{name}"));
    match n {
        1 => vec![
            event("a"),
            event("b"),
            Err("connection reset by peer".into()),
        ],
        2 | 3 => vec![Err("connect: connection refused".into())],
        4 => vec![event("c"), event("d")], // then the server ends the watch
        5 => vec![event("e"), Err("410 Gone: too old resource version".into())],
        _ => vec![event("f"), event("g"), event("h")],
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let policy = BackoffBuilder::exponential(Duration::from_millis(50))
        .jitter(Jitter::Equal)
        .cap(Duration::from_secs(1))
        .reset_after_quiet(Duration::from_secs(2))
        .build()
        .expect("a valid backoff");

    let mut connections = 0;
    let mut watch = Reconnect::new(
        move || {
            connections += 1;
            println!("             connect #{connections}");
            // Events trickle in 20 ms apart.
            stream::iter(connection(connections)).then(|item| async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                item
            })
        },
        policy,
    );

    let start = clock::now();
    let since = |t: relent::Instant| t.saturating_duration_since(start).as_secs_f64();
    let (mut events, mut errors) = (0, 0);
    while events < 8 {
        let Some(item) = watch.next().await else {
            break;
        };
        let at = since(clock::now());
        match item {
            Ok(event) => {
                events += 1;
                println!("[{at:7.3}s] event  {event}");
            }
            Err(error) => {
                errors += 1;
                // Never swallowed: the loop sees it, and knows when the next try is.
                let next = watch.waiting_until().map(since).unwrap_or(at);
                println!("[{at:7.3}s] error  {error} (next connection at {next:.3}s)");
            }
        }
    }
    println!("{events} events, {errors} errors, all surfaced");
}
