//! The shared sensor scenario (see `scenario/mod.rs`) on embassy: [`relent::drive::run`]
//! in a task of embassy-executor's std executor, sleeping on `embassy_time::Timer` with
//! embassy-time's std time driver. The same `Timer` impl builds for a Cortex-M in
//! `core/examples/embassy-firmware`.
//!
//! ```text
//! cargo run -p relent --example drive_embassy
//! ```

mod scenario;

use embassy_time::TICK_HZ;
use relent::Instant;
use relent::drive::{self, Timer};
use relent::retry::Retry;
use scenario::{SensorError, Step, Timeline};

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// embassy-time's clock and timers; relent's instants count from embassy's tick zero.
struct EmbassyTimer;

impl Timer for EmbassyTimer {
    fn now(&self) -> Instant {
        // Rounded down: a tick that has begun is not yet over.
        let ticks = u128::from(embassy_time::Instant::now().as_ticks());
        Instant::from_nanos(
            u64::try_from(ticks * NANOS_PER_SEC / u128::from(TICK_HZ)).unwrap_or(u64::MAX),
        )
    }

    async fn sleep_until(&self, until: Instant) {
        // Rounded up to a whole tick, so the timer never fires before `until`.
        let ticks = (u128::from(until.as_nanos()) * u128::from(TICK_HZ)).div_ceil(NANOS_PER_SEC);
        let at = embassy_time::Instant::from_ticks(u64::try_from(ticks).unwrap_or(u64::MAX));
        embassy_time::Timer::at(at).await;
    }
}

#[embassy_executor::main]
async fn main(_spawner: embassy_executor::Spawner) {
    let timer = EmbassyTimer;
    let start = timer.now();
    let machine = Retry::new(&scenario::POLICY, relent::fresh_seed(), start);
    let mut timeline = Timeline::new("embassy", start);
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
    // embassy's executor runs forever; the scenario is over.
    std::process::exit(0);
}
