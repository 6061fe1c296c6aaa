// The scenario every `drive_*` example runs, whatever the runtime: a flaky sensor read.
//
// Attempt 1 finds the bus busy (a transient failure), attempt 2 never answers (the
// driver abandons it at its 200 ms limit), attempt 3 reads 21.50 °C. The policy is
// kube-client's schedule (500 ms, doubling; 4 attempts) with a 200 ms limit per attempt
// and 3 s overall, so the run takes 500 + 200 + 1000 = 1700 ms of waiting at least.
//
// This file is the same in core/examples/scenario/ and adapters/tokio/examples/scenario/
// (.ci/run compares them); core/examples/embassy-firmware/src/lib.rs repeats the policy,
// the attempts and the judge for a no_std build.

use core::time::Duration;

use relent::Instant;
use relent::drive::{Event, Finished, Observe};
use relent::retry::{Outcome, RetryKind, RetryPolicy};

/// The longest one attempt may take.
pub const PER_TRY: Duration = Duration::from_millis(200);
/// The whole operation's deadline, waits included.
pub const DEADLINE: Duration = Duration::from_secs(3);

/// One policy for every runtime: a `static`, as firmware would hold it (presets are `const`).
pub static POLICY: RetryPolicy = RetryPolicy {
    per_try_timeout: Some(PER_TRY),
    deadline: Some(DEADLINE),
    ..RetryPolicy::kube_client()
};

/// The reading the third attempt returns, in hundredths of a degree Celsius.
pub const EXPECTED_READING: u16 = 2150;
/// Attempts the run makes: busy, no answer, the reading.
pub const EXPECTED_ATTEMPTS: u32 = 3;
/// The least the run can take: wait 500 ms, attempt 2's 200 ms limit, wait 1000 ms.
pub const EARLIEST_END: Duration = Duration::from_millis(1700);

/// What one read returns.
pub type Reading = Result<u16, SensorError>;

/// Why a read failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SensorError {
    /// The bus was busy: worth another try.
    Busy,
    /// The sensor did not answer within the attempt's limit. Only a blocking attempt
    /// reports this itself; an async driver abandons the attempt at its limit.
    #[allow(dead_code)]
    NoAnswer,
}

/// What attempt number `attempt` does.
pub enum Step {
    /// Fails at once: the bus is busy.
    Busy,
    /// Never answers.
    Hang,
    /// Answers with this reading.
    Answer(u16),
}

/// The scenario's script: busy, then silence, then the reading.
pub fn step(attempt: u32) -> Step {
    match attempt {
        1 => Step::Busy,
        2 => Step::Hang,
        _ => Step::Answer(EXPECTED_READING),
    }
}

/// How the scenario reads an attempt's output.
pub fn judge(output: &Reading, _attempt: u32) -> Outcome {
    match output {
        Ok(_) => Outcome::Success,
        Err(SensorError::Busy) => Outcome::transient(),
        Err(SensorError::NoAnswer) => Outcome::timed_out(),
    }
}

/// Prints the driver's events as a timeline and remembers what the checks need.
pub struct Timeline {
    runtime: &'static str,
    start: Instant,
    attempts: u32,
    timed_out: u32,
    /// The end of the last wait, which the next attempt must not start before.
    wait_until: Option<Instant>,
    end: Instant,
}

impl Timeline {
    /// A timeline for a run on `runtime` whose machine started at `start`.
    pub fn new(runtime: &'static str, start: Instant) -> Timeline {
        println!("[{runtime}] reading the sensor under {POLICY_TEXT}");
        Timeline {
            runtime,
            start,
            attempts: 0,
            timed_out: 0,
            wait_until: None,
            end: start,
        }
    }

    fn ms(&self, at: Instant) -> u128 {
        at.saturating_duration_since(self.start).as_millis()
    }

    /// Check the run against the scenario: exits non-zero (a failed assertion) if it differs.
    pub fn check(&self, finished: Finished<Reading>) {
        let rt = self.runtime;
        let elapsed = self.end.saturating_duration_since(self.start);
        match finished {
            Finished::Succeeded(Ok(reading)) => {
                assert_eq!(reading, EXPECTED_READING, "[{rt}] wrong reading");
                println!(
                    "[{rt}] read {}.{:02} °C after {} attempts in {}",
                    reading / 100,
                    reading % 100,
                    self.attempts,
                    Millis(elapsed)
                );
            }
            other => panic!("[{rt}] the read should have succeeded, got {other:?}"),
        }
        assert_eq!(self.attempts, EXPECTED_ATTEMPTS, "[{rt}] attempts");
        assert_eq!(self.timed_out, 1, "[{rt}] exactly one attempt times out");
        assert!(
            elapsed >= EARLIEST_END,
            "[{rt}] a wait or a limit ended early"
        );
        assert!(elapsed < DEADLINE, "[{rt}] the run overran its deadline");
        println!("[{rt}] as expected");
    }
}

const POLICY_TEXT: &str = "kube-client backoff, 200 ms per attempt, 3 s overall";

impl Observe<Reading> for Timeline {
    fn event(&mut self, event: &Event<'_, Reading>) {
        let rt = self.runtime;
        match *event {
            Event::Attempt {
                attempt,
                timeout,
                at,
            } => {
                if let Some(until) = self.wait_until.take() {
                    assert!(
                        at >= until,
                        "[{rt}] attempt {attempt} started before its wait ended"
                    );
                }
                self.attempts = attempt;
                let limit = timeout.map_or_else(|| "none".into(), |t| Millis(t).to_string());
                println!(
                    "[{rt}] +{:>5} ms  attempt {attempt} (limit {limit})",
                    self.ms(at)
                );
            }
            Event::Ended {
                attempt,
                output,
                outcome,
                at,
                took,
            } => {
                self.end = at;
                if outcome.retry_kind() == Some(RetryKind::TimedOut) {
                    assert!(took >= PER_TRY, "[{rt}] attempt {attempt} was cut short");
                    self.timed_out += 1;
                }
                let output = output.map_or_else(|| "abandoned".into(), |o| format!("{o:?}"));
                println!(
                    "[{rt}] +{:>5} ms  attempt {attempt}: {outcome} after {} ({output})",
                    self.ms(at),
                    Millis(took)
                );
            }
            Event::Wait {
                until,
                delay,
                reason,
            } => {
                self.wait_until = Some(until);
                println!("[{rt}]            wait {} ({reason})", Millis(delay));
            }
            _ => {}
        }
    }
}

/// A duration for the timeline: whole seconds as `1.703s`, shorter ones as `200.136ms`,
/// `51µs` (truncated).
struct Millis(Duration);

impl std::fmt::Display for Millis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (secs, nanos) = (self.0.as_secs(), self.0.subsec_nanos());
        if secs > 0 {
            write!(f, "{secs}.{:03}s", nanos / 1_000_000)
        } else if nanos >= 1_000_000 {
            write!(f, "{}.{:03}ms", nanos / 1_000_000, (nanos / 1_000) % 1_000)
        } else {
            write!(f, "{}µs", nanos / 1_000)
        }
    }
}
