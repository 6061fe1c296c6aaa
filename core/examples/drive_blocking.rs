//! The shared sensor scenario (see `scenario/mod.rs`) on a plain thread:
//! [`relent::drive::blocking::run`] with the standard library's clock and `thread::sleep`.
//!
//! ```text
//! cargo run -p relent --example drive_blocking
//! ```
//!
//! Blocking code cannot abandon an attempt from outside, so the attempt that hangs keeps
//! to its own limit (as a socket read timeout would) and reports that it got no answer.

mod scenario;

use relent::drive::blocking::{self, Clock, StdTimer};
use relent::retry::Retry;
use scenario::{SensorError, Step, Timeline};

fn main() {
    // A driver reads its runtime's clock: here once, for the epoch.
    #[allow(clippy::disallowed_methods, reason = "the example is the driver")]
    let timer = StdTimer::since(std::time::Instant::now());
    let start = timer.now();
    let machine = Retry::new(&scenario::POLICY, relent::fresh_seed(), start);
    let mut timeline = Timeline::new("blocking", start);
    let finished = blocking::run(
        machine,
        &timer,
        scenario::judge,
        &mut timeline,
        |attempt, timeout| match scenario::step(attempt) {
            Step::Busy => Err(SensorError::Busy),
            Step::Hang => {
                // Wait for an answer that never comes, for as long as the attempt may take.
                std::thread::sleep(timeout.unwrap_or(scenario::PER_TRY));
                Err(SensorError::NoAnswer)
            }
            Step::Answer(reading) => Ok(reading),
        },
    );
    timeline.check(finished);
}
