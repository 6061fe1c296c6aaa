//! The shared sensor scenario (see `scenario/mod.rs`) on smol's building blocks:
//! [`relent::drive::run`] polled by `async_io::block_on`, sleeping on `async_io::Timer`
//! (the executor and timer `smol` re-exports), with no tokio anywhere.
//!
//! ```text
//! cargo run -p relent --example drive_async_io
//! ```

mod scenario;

use relent::Instant;
use relent::drive::{self, Timer};
use relent::retry::Retry;
use scenario::{SensorError, Step, Timeline};

/// async-io's timers on the standard clock, with relent's instants counted from `epoch`.
struct AsyncIoTimer {
    epoch: std::time::Instant,
}

impl Timer for AsyncIoTimer {
    fn now(&self) -> Instant {
        let since = self.epoch.elapsed().as_nanos();
        Instant::from_nanos(u64::try_from(since).unwrap_or(u64::MAX))
    }

    async fn sleep_until(&self, until: Instant) {
        // Both clocks count nanoseconds, so the conversion is exact (nothing to round), and
        // an async-io timer fires only once the standard clock has reached its instant.
        match self.epoch.checked_add(until.since_epoch()) {
            Some(at) => {
                async_io::Timer::at(at).await;
            }
            // Beyond what the platform's clock can represent: never.
            None => core::future::pending().await,
        }
    }
}

fn main() {
    // A driver reads its runtime's clock: here once, for the epoch.
    #[allow(clippy::disallowed_methods, reason = "the example is the driver")]
    let epoch = std::time::Instant::now();
    let timer = AsyncIoTimer { epoch };
    async_io::block_on(async {
        let start = timer.now();
        let machine = Retry::new(&scenario::POLICY, relent::fresh_seed(), start);
        let mut timeline = Timeline::new("async-io", start);
        let finished = drive::run(
            machine,
            &timer,
            scenario::judge,
            &mut timeline,
            |attempt, _timeout| async move {
                match scenario::step(attempt) {
                    Step::Busy => Err(SensorError::Busy),
                    // The driver abandons it at its limit.
                    Step::Hang => core::future::pending().await,
                    Step::Answer(reading) => Ok(reading),
                }
            },
        )
        .await;
        timeline.check(finished);
    });
}
