//! The `drive_*` examples' sensor scenario as firmware would hold it: `no_std`, no
//! allocation, a `&'static` policy, and embassy-time for the clock and the sleeps.
//!
//! [`EmbassyTimer`] is the whole runtime glue: relent's [`Timer`] over
//! `embassy_time::Instant` and `embassy_time::Timer::at`. [`read_sensor`] runs the
//! scenario's operation (the bus is busy, then the sensor does not answer, then it reads
//! 21.50 °C) through [`relent::drive::run`], as the host examples do. The crate needs no
//! time driver to build; the firmware that links it provides one (embassy's HAL crates do).
//!
//! ```text
//! cargo build --target thumbv7em-none-eabihf
//! ```

#![no_std]

use core::time::Duration;

use embassy_time::TICK_HZ;
use relent::Instant;
use relent::drive::{self, Finished, Observe, Timer};
use relent::retry::{Outcome, Retry, RetryPolicy};

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// embassy-time's clock and timers; relent's instants count from embassy's tick zero.
#[derive(Clone, Copy, Debug, Default)]
pub struct EmbassyTimer;

impl Timer for EmbassyTimer {
    fn now(&self) -> Instant {
        // Rounded down: a tick that has begun is not yet over.
        let ticks = u128::from(embassy_time::Instant::now().as_ticks());
        let nanos = ticks * NANOS_PER_SEC / u128::from(TICK_HZ);
        Instant::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    async fn sleep_until(&self, until: Instant) {
        // Rounded up to a whole tick, so the timer never fires before `until`.
        let ticks = (u128::from(until.as_nanos()) * u128::from(TICK_HZ)).div_ceil(NANOS_PER_SEC);
        let at = embassy_time::Instant::from_ticks(u64::try_from(ticks).unwrap_or(u64::MAX));
        embassy_time::Timer::at(at).await;
    }
}

/// The scenario's policy: kube-client's schedule (500 ms, doubling; 4 attempts), 200 ms
/// per attempt and 3 s overall. A `static`: presets are `const`, and the machine borrows it.
pub static POLICY: RetryPolicy = RetryPolicy {
    per_try_timeout: Some(Duration::from_millis(200)),
    deadline: Some(Duration::from_secs(3)),
    ..RetryPolicy::kube_client()
};

/// A reading in hundredths of a degree Celsius, or why there is none.
pub type Reading = Result<u16, SensorError>;

/// Why a read failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SensorError {
    /// The bus was busy: worth another try.
    Busy,
}

/// How the scenario reads an attempt's output (a hung attempt is abandoned by the
/// driver at its limit and judged a timeout).
pub fn judge(output: &Reading, _attempt: u32) -> Outcome {
    match output {
        Ok(_) => Outcome::Success,
        Err(SensorError::Busy) => Outcome::transient(),
    }
}

/// Read the (simulated) sensor under [`POLICY`]: attempt 1 finds the bus busy, attempt 2
/// never answers, attempt 3 reads 2150. `seed` drives the jitter (take it from the
/// hardware RNG); `observe` receives the driver's events.
pub async fn read_sensor<O: Observe<Reading>>(seed: u64, observe: &mut O) -> Finished<Reading> {
    let timer = EmbassyTimer;
    let machine = Retry::new(&POLICY, seed, timer.now());
    drive::run(
        machine,
        &timer,
        judge,
        observe,
        |attempt, _timeout| async move {
            match attempt {
                1 => Err(SensorError::Busy),
                2 => core::future::pending().await,
                _ => Ok(2150),
            }
        },
    )
    .await
}
