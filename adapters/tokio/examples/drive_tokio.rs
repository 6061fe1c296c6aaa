//! The shared sensor scenario (see `scenario/mod.rs`) on tokio: [`relent::drive::run`]
//! with [`relent_tokio::TokioTimer`], the same driver the other runtimes' examples step
//! (not the [`relent_tokio::Retrier`], so the four examples have one shape).
//!
//! ```text
//! cargo run -p relent-tokio --example drive_tokio
//! ```

mod scenario;

use relent::drive::{self, Timer};
use relent::retry::Retry;
use relent_tokio::TokioTimer;
use scenario::{SensorError, Step, Timeline};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let timer = TokioTimer;
    let start = timer.now();
    let machine = Retry::new(&scenario::POLICY, relent_tokio::seed::fresh_seed(), start);
    let mut timeline = Timeline::new("tokio", start);
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
}
