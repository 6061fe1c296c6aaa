#![allow(missing_docs)]

//! Retry storms in virtual time: relent's contenders against the peers' default policies.
//!
//! Run: `cargo bench -p relent-benches --bench storm` (a second or two; no timing involved).
//! Prints one Markdown table per scenario and writes them to
//! `target/bench-report/storm.md`.
//!
//! Every contender is a fleet of identical clients driven by relent's `Retry` machine in
//! `relent_tests::sim` (virtual time, one simulated server). A peer is expressed by its
//! default policy: the same schedule, jitter, attempt limit and budget, and the peer's
//! handling of `Retry-After` (none of the six reads it by default, so its clients neither
//! wait for it nor share it). Differences that remain are listed in each contender's
//! `model` note below and in the report; the main one is that relent caps a delay after
//! jitter, where some peers can overshoot their cap.
//!
//! Peers' defaults, read from their sources (crate versions of this workspace's lock file):
//!
//! - **backon 1.6** `ExponentialBuilder::default()` (`src/backoff/exponential.rs`,
//!   `ExponentialBuilder::new`): `min_delay` 1 s, `factor` 2.0, `max_delay` 60 s,
//!   `max_times` 3 (retries), `jitter: false`. `retry()` retries every error unless `when`
//!   says otherwise; no `Retry-After` (an `adjust` hook exists, opt-in).
//! - **reqwest-retry 0.9** as its crate docs build it:
//!   `ExponentialBackoff::builder().build_with_max_retries(3)` (`src/lib.rs`), i.e.
//!   retry-policies' builder defaults: `retry_bounds` [1 s, 30 min], `Jitter::Full`
//!   (`U[0, 1) × d`), base 2. Its default strategy retries 5xx, 408, 429, timeouts and
//!   connect errors; it does not read `Retry-After` (no mention in its sources).
//! - **retry-policies 0.5** builder defaults (as above) with the documented
//!   `build_with_total_retry_duration(24 h)` (`src/policies/exponential_backoff.rs`
//!   docs): no retry-count limit, retries stop once 24 h have passed.
//! - **tower 0.5** has no default policy. Its documented budget example
//!   (`tower::retry::budget` module docs) retries every error at once (a ready future: no
//!   backoff, no attempt limit), withdrawing from a `TpsBudget` before each retry and
//!   depositing on every success; `TpsBudget::default()` is `new(10 s, 10, 0.2)`
//!   (`src/retry/budget/tps_budget.rs`), modelled by `relent_tests::sim::TpsWindow`.
//!   The example treats responses as successes; here the inner service is taken to turn
//!   5xx/429 into errors, as an HTTP stack using it must.
//! - **tokio-retry2 0.9** has no default either; its README example is
//!   `ExponentialBackoff::from_millis(10).factor(1).max_delay_millis(100)
//!   .max_interval(10000).map(jitter).take(3)`: delays 10 ms, 100 ms, 100 ms
//!   (`from_millis(b)` grows as `bⁿ` ms), each × `U[0.5, 1.5)` (`strategy/jitter.rs`),
//!   3 retries.
//! - **exponential-backoff 2.1** `Backoff::default()` (`src/lib.rs`): `max_attempts` 3,
//!   `min` 100 ms, `max` 10 s, `factor` 2, `jitter` 0.3 (`src/into_iter.rs`: the delay is
//!   scaled by a factor drawn from `[0.71, 1.00] ∪ [1.15, 1.29]`, then clamped to
//!   `[min, max]`).
//! - Reference points (relent's own presets of them): **urllib3** `Retry(total=3,
//!   backoff_factor=0.5)` honouring each response's `Retry-After` (no shared table), and the
//!   **AWS SDK standard mode** with its retry quota (`BudgetConfig::AWS_STANDARD`), which
//!   does not read `Retry-After`.

use std::fmt::Write as _;
use std::time::Duration;

use relent::Instant;
use relent::backoff::{BackoffBuilder, Jitter};
use relent::retry::{BudgetConfig, RetryPolicy, SharedTokenBucket};
use relent_tests::dice::Dice;
use relent_tests::sim::{
    ClientSpec, Ending, Fault, Fleet, FleetBudget, Log, Server, TpsWindow, run_fleet,
};

/// Seeds per scenario; every figure in the tables is the median over them.
const SEEDS: u64 = 5;
/// Keys in relent's shared Retry-After table (one origin is used; any capacity works).
const TABLE_CAPACITY: usize = 64;
/// The server's answer time for every request.
const LATENCY: Duration = Duration::from_millis(20);

/// Which shared budget a contender's fleet uses.
#[derive(Clone, Copy)]
enum Shared {
    None,
    Bucket(BudgetConfig),
    TowerTps,
}

/// How a contender treats `Retry-After`.
#[derive(Clone, Copy, PartialEq)]
enum Hints {
    /// relent: read, waited for, and shared through the deadline table.
    ReadAndShare,
    /// Read by the operation that received it only (urllib3).
    ReadOwn,
    /// Ignored: a 429 is one more retryable status.
    Ignore,
}

struct Contender {
    name: &'static str,
    /// `relent`, `peer` or `reference`.
    kind: &'static str,
    policy: RetryPolicy,
    shared: Shared,
    hints: Hints,
    /// Where the model differs from the original.
    model: &'static str,
}

fn exp(base_ms: u64) -> BackoffBuilder {
    BackoffBuilder::exponential(Duration::from_millis(base_ms))
}

fn policy(attempts: u32, backoff: BackoffBuilder) -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(attempts)
        .with_backoff(backoff.build().expect("valid peer backoff"))
}

fn contenders() -> Vec<Contender> {
    vec![
        Contender {
            name: "relent default + AWS quota",
            kind: "relent",
            policy: RetryPolicy::default(),
            shared: Shared::Bucket(BudgetConfig::AWS_STANDARD),
            hints: Hints::ReadAndShare,
            model: "`RetryPolicy::default()` (3 attempts, 100 ms ×2, equal jitter, cap 10 s), \
                    `BudgetConfig::AWS_STANDARD` (the budget of relent-tokio's README example), \
                    shared Retry-After table",
        },
        Contender {
            name: "relent default + gRPC budget",
            kind: "relent",
            policy: RetryPolicy::default(),
            shared: Shared::Bucket(BudgetConfig::GRPC),
            hints: Hints::ReadAndShare,
            model: "as above with `BudgetConfig::GRPC` (gRFC A6 example: 10 tokens, 0.1 back per success)",
        },
        Contender {
            name: "relent default, no budget",
            kind: "relent",
            policy: RetryPolicy::default(),
            shared: Shared::None,
            hints: Hints::ReadAndShare,
            model: "relent-reqwest's `Retrier::builder()` defaults: no budget, shared table",
        },
        Contender {
            name: "backon",
            kind: "peer",
            policy: policy(4, exp(1_000).cap(Duration::from_secs(60))),
            shared: Shared::None,
            hints: Hints::Ignore,
            model: "exact (no jitter)",
        },
        Contender {
            name: "reqwest-retry",
            kind: "peer",
            policy: policy(
                4,
                exp(1_000)
                    .jitter(Jitter::Full)
                    .cap(Duration::from_secs(30 * 60)),
            ),
            shared: Shared::None,
            hints: Hints::Ignore,
            model: "exact distribution (`U[0, d]`)",
        },
        Contender {
            name: "retry-policies",
            kind: "peer",
            policy: policy(
                u32::MAX,
                exp(1_000)
                    .jitter(Jitter::Full)
                    .cap(Duration::from_secs(30 * 60))
                    .max_elapsed(Duration::from_secs(24 * 3_600)),
            ),
            shared: Shared::None,
            hints: Hints::Ignore,
            model: "24 h limit: relent refuses a wait that would end past it, \
                    retry-policies stops once it has passed (no difference within these runs)",
        },
        Contender {
            name: "tower (TpsBudget)",
            kind: "peer",
            policy: policy(
                u32::MAX,
                BackoffBuilder::constant(Duration::ZERO).max_delays(u32::MAX),
            ),
            shared: Shared::TowerTps,
            hints: Hints::Ignore,
            model: "`TpsBudget` window counted in whole seconds",
        },
        Contender {
            name: "tokio-retry2",
            kind: "peer",
            policy: policy(
                4,
                exp(10)
                    .factor(10.0)
                    .proportional_jitter(0.5)
                    .cap(Duration::from_millis(100)),
            ),
            shared: Shared::None,
            hints: Hints::Ignore,
            model: "jitter ×[0.5, 1.5] capped at 100 ms (the original reaches 150 ms)",
        },
        Contender {
            name: "exponential-backoff",
            kind: "peer",
            policy: policy(
                3,
                exp(100)
                    .proportional_jitter(0.3)
                    .floor(Duration::from_millis(100))
                    .cap(Duration::from_secs(10)),
            ),
            shared: Shared::None,
            hints: Hints::Ignore,
            model: "jitter ×[0.7, 1.3] uniform (the original's factor lies in [0.71, 1] ∪ [1.15, 1.29])",
        },
        Contender {
            name: "urllib3 (reference)",
            kind: "reference",
            policy: RetryPolicy::urllib3(),
            shared: Shared::None,
            hints: Hints::ReadOwn,
            model: "relent's `RetryPolicy::urllib3()` preset (first retry waits 1 s; urllib3 2.x retries at once)",
        },
        Contender {
            name: "AWS SDK standard (reference)",
            kind: "reference",
            policy: RetryPolicy::aws_standard(),
            shared: Shared::Bucket(BudgetConfig::AWS_STANDARD),
            hints: Hints::Ignore,
            model: "relent's `RetryPolicy::aws_standard()` + `BudgetConfig::AWS_STANDARD` presets",
        },
    ]
}

/// One scenario: a server, the arrivals and the fault window the amplification counts.
struct Scenario {
    title: &'static str,
    description: &'static str,
    server: Server,
    operations: u64,
    /// Operations start uniformly at random in `[0, arrivals_over)`.
    arrivals_over: Duration,
    /// `[start, end)` of the fault: amplification = sends in it / operations started in it.
    window: (Instant, Instant),
    /// A caveat printed under the table.
    note: Option<&'static str>,
}

fn scenarios() -> Vec<Scenario> {
    let s = Instant::from_secs;
    vec![
        Scenario {
            title: "(a) total outage",
            description: "Every request gets 503 for 60 s; 1,000 operations start uniformly at \
                          random within those 60 s; the server is healthy afterwards.",
            server: Server::healthy(LATENCY).with_window(s(0), s(60), Fault::Status(503)),
            operations: 1_000,
            arrivals_over: Duration::from_secs(60),
            window: (s(0), s(60)),
            note: Some(
                "Caveat: a fixed retry quota bounds the *number* of retries, not their ratio. The \
                 AWS quota grants 100 retries (500 tokens, 5 per retry) and the gRPC budget about \
                 5 before successes refill them, so their amplification is about \
                 1 + 100 / operations and 1 + 5 / operations: exactly 1.10× with these 1,000 \
                 operations, above 1.1× with fewer than 1,000 in the window, below it with more. \
                 tower's `TpsBudget` instead allows 10 retries per second plus 20 % of successes.",
            ),
        },
        Scenario {
            title: "(b) outage, then recovery at limited capacity",
            description: "503 for 10 s, then healthy but serving at most 100 requests per \
                          second (the excess gets 503); 2,000 operations start uniformly over \
                          40 s (50 per second).",
            server: {
                let mut server =
                    Server::healthy(LATENCY).with_window(s(0), s(10), Fault::Status(503));
                server.capacity_per_sec = Some(100);
                server
            },
            operations: 2_000,
            arrivals_over: Duration::from_secs(40),
            window: (s(0), s(10)),
            note: None,
        },
        Scenario {
            title: "(c) throttling with Retry-After",
            description: "429 with `Retry-After: 5` for 30 s, healthy afterwards; 1,000 \
                          operations start uniformly over 60 s.",
            server: Server::healthy(LATENCY).with_window(
                s(0),
                s(30),
                Fault::Throttle {
                    retry_after_secs: 5,
                },
            ),
            operations: 1_000,
            arrivals_over: Duration::from_secs(60),
            window: (s(0), s(30)),
            note: None,
        },
    ]
}

/// Stands for "no successful operation" in the completion-time fields.
const NONE: u64 = u64::MAX;

/// The figures of one run (or, after [`median_of`], the medians over the seeds).
#[derive(Clone, Copy, Default)]
struct Figures {
    calls: u64,
    window_calls: u64,
    window_ops: u64,
    /// Completion time of the successful operations, milliseconds ([`NONE`]: none succeeded).
    p50_ms: u64,
    p99_ms: u64,
    max_ms: u64,
    failed: u64,
}

impl Figures {
    fn amplification(&self) -> f64 {
        self.window_calls as f64 / self.window_ops.max(1) as f64
    }
}

fn percentile(sorted: &[u64], p: usize) -> u64 {
    if sorted.is_empty() {
        return NONE;
    }
    // Nearest rank: the smallest value with at least p % of the values at or below it.
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank - 1]
}

fn figures(scenario: &Scenario, clients: &[ClientSpec], log: &Log) -> Figures {
    let (from, to) = scenario.window;
    let inside = |t: Instant| from <= t && t < to;
    let mut done_ms: Vec<u64> = Vec::new();
    let mut failed = 0;
    for (c, ending) in clients.iter().zip(&log.endings) {
        match ending.expect("every operation ends") {
            (at, Ending::Done { .. }) => {
                done_ms.push(at.saturating_duration_since(c.start).as_millis() as u64);
            }
            (_, Ending::GaveUp(_)) => failed += 1,
        }
    }
    done_ms.sort_unstable();
    Figures {
        calls: log.sends.len() as u64,
        window_calls: log.sends.iter().filter(|s| inside(s.at)).count() as u64,
        window_ops: clients.iter().filter(|c| inside(c.start)).count() as u64,
        p50_ms: percentile(&done_ms, 50),
        p99_ms: percentile(&done_ms, 99),
        max_ms: done_ms.last().copied().unwrap_or(NONE),
        failed,
    }
}

fn run_one(scenario: &Scenario, contender: &Contender, seed: u64) -> Figures {
    let mut rng = Dice::new(0x5707 ^ seed);
    let span = scenario.arrivals_over.as_nanos() as u64;
    let mut clients: Vec<ClientSpec> = (0..scenario.operations)
        .map(|i| ClientSpec {
            start: Instant::from_nanos(rng.below_or_equal(span.saturating_sub(1))),
            idempotent: true,
            key: 1,
            policy: contender.policy.clone(),
            seed: seed.wrapping_mul(1_000_003).wrapping_add(i),
        })
        .collect();
    clients.sort_by_key(|c| c.start);
    let bucket;
    let tps;
    let budget = match contender.shared {
        Shared::None => FleetBudget::None,
        Shared::Bucket(config) => {
            bucket = SharedTokenBucket::new(config, Instant::ZERO);
            FleetBudget::Bucket(&bucket)
        }
        Shared::TowerTps => {
            tps = TpsWindow::tower_default();
            FleetBudget::Tps(&tps)
        }
    };
    let fleet = Fleet {
        budget,
        table_capacity: (contender.hints == Hints::ReadAndShare).then_some(TABLE_CAPACITY),
        read_hints: contender.hints != Hints::Ignore,
    };
    let log = run_fleet(&scenario.server, &clients, fleet);
    figures(scenario, &clients, &log)
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

fn median_of(runs: &[Figures]) -> Figures {
    let m = |f: fn(&Figures) -> u64| median(runs.iter().map(f).collect());
    Figures {
        calls: m(|f| f.calls),
        window_calls: m(|f| f.window_calls),
        window_ops: m(|f| f.window_ops),
        p50_ms: m(|f| f.p50_ms),
        p99_ms: m(|f| f.p99_ms),
        max_ms: m(|f| f.max_ms),
        failed: m(|f| f.failed),
    }
}

fn secs(ms: u64) -> String {
    if ms == NONE {
        "—".to_string()
    } else if ms < 1_000 {
        format!("{ms} ms")
    } else {
        format!("{:.2} s", ms as f64 / 1_000.0)
    }
}

/// The reported goal for the headline relent contender (the first row) against the peers.
fn goal(scenario: &Scenario, rows: &[(&Contender, Figures)]) -> String {
    let (head, h) = rows[0];
    let outage = scenario.title.starts_with("(a)");
    let mut misses = Vec::new();
    for (c, f) in rows.iter().filter(|(c, _)| c.kind == "peer") {
        if h.calls >= f.calls {
            misses.push(format!("{} calls ≥ {}'s {}", h.calls, c.name, f.calls));
        }
        // No success at all is not a better completion time than some successes.
        if !outage && (h.p99_ms > f.p99_ms || (h.p99_ms == NONE && f.p99_ms != NONE)) {
            misses.push(format!(
                "p99 {} > {}'s {}",
                secs(h.p99_ms),
                c.name,
                secs(f.p99_ms)
            ));
        }
    }
    let mut out = format!(
        "Goal for **{}** (fewer total calls than every peer",
        head.name
    );
    if outage {
        // During a total outage nothing completes; a success here only means the
        // retries outlasted the outage, which the failed-ops figure below shows.
        out.push_str("; amplification ≤ 1.1×");
        if h.amplification() > 1.1 {
            misses.push(format!("amplification {:.2}× > 1.1×", h.amplification()));
        }
    } else {
        out.push_str(" at equal or better completion p99");
    }
    out.push_str("): ");
    if misses.is_empty() {
        out.push_str("**met**.");
    } else {
        let _ = write!(out, "**missed**: {}.", misses.join("; "));
    }
    let peers = rows
        .iter()
        .filter(|(c, _)| c.kind == "peer")
        .map(|(_, f)| f.failed);
    let (lo, hi) = (peers.clone().min().unwrap_or(0), peers.max().unwrap_or(0));
    let _ = write!(
        out,
        " Not part of the goal, but the price of fewer calls: {} failed operations against \
         {lo} to {hi} for the peers (completion times count successes only).",
        h.failed
    );
    out
}

fn table(scenario: &Scenario, list: &[Contender]) -> String {
    let rows: Vec<(&Contender, Figures)> = list
        .iter()
        .map(|c| {
            let runs: Vec<Figures> = (0..SEEDS).map(|s| run_one(scenario, c, s)).collect();
            (c, median_of(&runs))
        })
        .collect();
    let head_calls = rows[0].1.calls.max(1) as f64;
    let mut out = String::new();
    let _ = writeln!(out, "### {}\n\n{}\n", scenario.title, scenario.description);
    out.push_str(
        "| contender | total calls | relent ÷ this (calls) | amplification in the fault window | \
         completion p50 | p99 | max | failed ops |\n|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (c, f) in &rows {
        let _ = writeln!(
            out,
            "| {} | {} | {:.2} | {:.2}× ({} / {}) | {} | {} | {} | {} |",
            c.name,
            f.calls,
            head_calls / f.calls.max(1) as f64,
            f.amplification(),
            f.window_calls,
            f.window_ops,
            secs(f.p50_ms),
            secs(f.p99_ms),
            secs(f.max_ms),
            f.failed,
        );
    }
    let _ = writeln!(out, "\n{}\n", goal(scenario, &rows));
    if let Some(note) = scenario.note {
        let _ = writeln!(out, "{note}\n");
    }
    out
}

fn main() {
    let list = contenders();
    let mut md = String::from("## Retry storm (virtual time)\n\n");
    let _ = writeln!(
        md,
        "`cargo bench -p relent-benches --bench storm`. Every contender is a fleet of clients \
         driven by relent's `Retry` machine in `relent_tests::sim` (virtual time, so these are \
         counts and simulated times, not measurements of this machine), configured like the \
         named crate's default policy; sources and model differences are in \
         `benches/benches/storm.rs` and below. Server latency {} ms; all operations are \
         idempotent GETs to one origin; each figure is the median over {SEEDS} seeds (arrival \
         times and jitter). *Amplification* = calls sent during the fault window ÷ operations \
         started in it. *Completion* = time from an operation's start to its success \
         (failed operations are counted in *failed ops* only). *relent ÷ this* divides the \
         first row's calls by the row's: below 1, the first row sent fewer.\n",
        LATENCY.as_millis()
    );
    for scenario in scenarios() {
        md.push_str(&table(&scenario, &list));
    }
    md.push_str("Contenders and model notes:\n\n");
    for c in &list {
        let _ = writeln!(md, "- **{}** ({}): {}.", c.name, c.kind, c.model);
    }
    md.push('\n');
    print!("{md}");
    let target = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").to_string());
    let dir = std::path::Path::new(&target).join("bench-report");
    std::fs::create_dir_all(&dir).expect("create target/bench-report");
    std::fs::write(dir.join("storm.md"), md).expect("write storm.md");
}
