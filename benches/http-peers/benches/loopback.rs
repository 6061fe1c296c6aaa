//! GET throughput on loopback: relent-reqwest against bare reqwest, reqwest-retry and
//! reqwest-retry + reqwest-retry-after, every client with the same reqwest settings,
//! every request answered `200 ok` by the crate's hyper server on 127.0.0.1.
//!
//! Two groups: `http_sequential` (one request after another on one keep-alive
//! connection) and `http_concurrent16` (16 tasks on one client, so 16 connections).
//! After criterion has run, the medians are read back from criterion's
//! `estimates.json` files and written as `target/bench-report/http-throughput.md`.
//!
//! ```text
//! cargo bench --manifest-path benches/http-peers/Cargo.toml --bench loopback
//! RELENT_HTTP_QUICK=1 cargo bench ... --bench loopback     # shorter samples
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use relent_http_peers::{Contender, KeyBy, Mode, Server, client_runtime, quick, write_fragment};

/// (contender, the bare client of the same reqwest version it is compared with).
const CONTENDERS: &[(&str, &str)] = &[
    ("bare-reqwest-0.13", "bare-reqwest-0.13"),
    ("reqwest-middleware-0.5", "bare-reqwest-0.13"),
    ("relent-middleware", "bare-reqwest-0.13"),
    ("relent-client", "bare-reqwest-0.13"),
    ("reqwest-retry-0.9", "bare-reqwest-0.13"),
    ("bare-reqwest-0.12", "bare-reqwest-0.12"),
    ("reqwest-retry-0.7+reqwest-retry-after", "bare-reqwest-0.12"),
];

const SEQUENTIAL: &str = "http_sequential";
const CONCURRENT: &str = "http_concurrent16";
const TASKS: u64 = 16;

fn configure(quick: bool) -> Criterion {
    let c = Criterion::default().configure_from_args();
    if quick {
        c.sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2))
    } else {
        c.sample_size(30)
            .warm_up_time(Duration::from_secs(2))
            .measurement_time(Duration::from_secs(6))
    }
}

fn sequential(c: &mut Criterion, url: &str) {
    let rt = client_runtime();
    let mut group = c.benchmark_group(SEQUENTIAL);
    for &(name, _) in CONTENDERS {
        let contender = Contender::build(name, KeyBy::Origin);
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        assert_eq!(contender.get(url).await, 200);
                    }
                    start.elapsed()
                })
            });
        });
    }
    group.finish();
}

fn concurrent(c: &mut Criterion, url: &str) {
    let rt = client_runtime();
    let mut group = c.benchmark_group(CONCURRENT);
    for &(name, _) in CONTENDERS {
        let contender = Arc::new(Contender::build(name, KeyBy::Origin));
        let url: Arc<str> = Arc::from(url);
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    let mut tasks = tokio::task::JoinSet::new();
                    for t in 0..TASKS {
                        // Exactly `iters` requests in all, spread over the 16 tasks.
                        let n = iters / TASKS + u64::from(t < iters % TASKS);
                        let contender = Arc::clone(&contender);
                        let url = Arc::clone(&url);
                        tasks.spawn(async move {
                            for _ in 0..n {
                                assert_eq!(contender.get(&url).await, 200);
                            }
                        });
                    }
                    while let Some(done) = tasks.join_next().await {
                        done.expect("task");
                    }
                    start.elapsed()
                })
            });
        });
    }
    group.finish();
}

/// Where criterion writes its results (its own rule: `CRITERION_HOME`, else
/// `$CARGO_TARGET_DIR/criterion`, else `target/criterion` under the working directory,
/// which `cargo bench` sets to this crate's directory).
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    );
    target.join("criterion")
}

/// The median of the last run of `group/function` in nanoseconds, with its 95 % interval.
fn median(dir: &Path, group: &str, function: &str) -> Option<(f64, f64, f64)> {
    // Criterion turns some characters of an id into `_` in directory names: find the
    // directory by the `function_id` recorded in its benchmark.json.
    for entry in std::fs::read_dir(dir.join(group)).ok()?.flatten() {
        let new = entry.path().join("new");
        let Ok(meta) = std::fs::read_to_string(new.join("benchmark.json")) else {
            continue;
        };
        let meta: serde_json::Value = serde_json::from_str(&meta).ok()?;
        if meta["function_id"].as_str() != Some(function) {
            continue;
        }
        let est: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(new.join("estimates.json")).ok()?)
                .ok()?;
        let m = &est["median"];
        return Some((
            m["point_estimate"].as_f64()?,
            m["confidence_interval"]["lower_bound"].as_f64()?,
            m["confidence_interval"]["upper_bound"].as_f64()?,
        ));
    }
    None
}

fn table(dir: &Path, group: &str, title: &str, out: &mut String) {
    out.push_str(&format!(
        "\n**{title}** (criterion group `{group}`)\n\n\
         | contender | median per request | 95 % CI of the median | requests/s | throughput vs bare (same reqwest) |\n\
         |---|---:|---:|---:|---:|\n"
    ));
    for &(name, bare) in CONTENDERS {
        let Some((ns, lo, hi)) = median(dir, group, name) else {
            out.push_str(&format!("| `{name}` | not run | | | |\n"));
            continue;
        };
        let ratio = median(dir, group, bare).map_or_else(
            || "n/a".to_owned(),
            |(bare_ns, _, _)| format!("{:.3}x", bare_ns / ns),
        );
        out.push_str(&format!(
            "| `{name}` | {:.1} µs | {:.1}–{:.1} µs | {:.0} | {ratio} |\n",
            ns / 1000.0,
            lo / 1000.0,
            hi / 1000.0,
            1e9 / ns,
        ));
    }
}

/// One contender's interleaved result: median round (ns per request), median and
/// quartiles of the per-round ratio bare/contender.
#[derive(Clone, Copy)]
struct Row {
    median_ns: f64,
    ratio: f64,
    ratio_q1: f64,
    ratio_q3: f64,
}

/// Wall time per sequential request measured in interleaved rounds: every round
/// runs `requests` requests of each contender, in an order that rotates from round
/// to round, and compares each contender with its bare client *in the same round*.
/// On a shared machine whose load drifts over seconds this cancels the drift that
/// criterion's one-contender-after-another blocks cannot.
fn interleaved(url: &str, rounds: usize, requests: u32) -> Vec<Row> {
    let rt = client_runtime();
    let contenders: Vec<Contender> = CONTENDERS
        .iter()
        .map(|&(name, _)| Contender::build(name, KeyBy::Origin))
        .collect();
    let bare_of: Vec<usize> = CONTENDERS
        .iter()
        .map(|&(_, bare)| {
            CONTENDERS
                .iter()
                .position(|&(n, _)| n == bare)
                .expect("bare is a contender")
        })
        .collect();
    let n = contenders.len();
    let mut times = vec![Vec::with_capacity(rounds); n];
    let mut ratios = vec![Vec::with_capacity(rounds); n];
    rt.block_on(async {
        for c in &contenders {
            for _ in 0..100 {
                assert_eq!(c.get(url).await, 200);
            }
        }
        for round in 0..rounds {
            let mut this = vec![0.0f64; n];
            for k in 0..n {
                let i = (round + k) % n;
                let start = Instant::now();
                for _ in 0..requests {
                    assert_eq!(contenders[i].get(url).await, 200);
                }
                this[i] = start.elapsed().as_nanos() as f64 / f64::from(requests);
            }
            for i in 0..n {
                times[i].push(this[i]);
                ratios[i].push(this[bare_of[i]] / this[i]);
            }
        }
    });
    let pct = |v: &mut Vec<f64>, q: usize| {
        v.sort_by(f64::total_cmp);
        v[(v.len() - 1) * q / 100]
    };
    times
        .iter_mut()
        .zip(ratios.iter_mut())
        .map(|(t, r)| Row {
            median_ns: pct(t, 50),
            ratio: pct(r, 50),
            ratio_q1: pct(r, 25),
            ratio_q3: pct(r, 75),
        })
        .collect()
}

fn interleaved_table(rows: &[Row], rounds: usize, requests: u32, out: &mut String) {
    out.push_str(&format!(
        "\n**Sequential, interleaved rounds** ({rounds} rounds of {requests} requests per \
         contender, order rotating; each contender compared with its bare client in the same \
         round, which cancels the machine's load drift)\n\n\
         | contender | median per request | throughput vs bare: median of the rounds' ratios | 25th–75th percentile of the ratios |\n\
         |---|---:|---:|---:|\n"
    ));
    for (&(name, _), row) in CONTENDERS.iter().zip(rows) {
        out.push_str(&format!(
            "| `{name}` | {:.1} µs | {:.3}x | {:.3}–{:.3} |\n",
            row.median_ns / 1000.0,
            row.ratio,
            row.ratio_q1,
            row.ratio_q3,
        ));
    }
}

fn report(quick: bool, rows: &[Row], rounds: usize, requests: u32) {
    let dir = criterion_dir();
    let mut md = String::from("### HTTP throughput on loopback\n\n");
    md.push_str(&format!(
        "GET requests answered `200 ok` by a hyper HTTP/1.1 keep-alive server on 127.0.0.1, \
         every client built with the same reqwest settings (`no_proxy()`), body read in full; \
         medians of criterion samples, ratios are the bare client's median over the contender's \
         (above 1 is faster); `reqwest-middleware-0.5` is an empty middleware stack. \
         Command: `benches/http-peers/run.sh{}`.\n",
        if quick { " --quick" } else { "" }
    ));
    table(
        &dir,
        SEQUENTIAL,
        "Sequential, one keep-alive connection",
        &mut md,
    );
    table(
        &dir,
        CONCURRENT,
        "16 concurrent tasks on one client (per request)",
        &mut md,
    );
    interleaved_table(rows, rounds, requests, &mut md);
    write_fragment("http-throughput.md", &md);
}

/// The requests callgrind counts (`--toggle-collect='*callgrind_measured*'`): only
/// the client thread's instructions inside this call are collected.
#[inline(never)]
fn callgrind_measured(rt: &tokio::runtime::Runtime, contender: &Contender, url: &str, n: u64) {
    rt.block_on(async {
        for _ in 0..n {
            assert_eq!(contender.get(url).await, 200);
        }
    });
}

fn main() {
    let quick = quick();
    let server = Server::start(Mode::Ok);
    let url = format!("{}/ok", server.base());
    // RELENT_HTTP_CALLGRIND=<contender>: 200 warm-up requests, then
    // RELENT_HTTP_CALLGRIND_N (default 2,000) measured ones; driven by callgrind.sh.
    if let Some(name) = std::env::var_os("RELENT_HTTP_CALLGRIND") {
        let name = name.to_string_lossy().into_owned();
        let n = std::env::var("RELENT_HTTP_CALLGRIND_N")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2_000);
        let rt = client_runtime();
        let contender = Contender::build(&name, KeyBy::Origin);
        rt.block_on(async {
            for _ in 0..200 {
                assert_eq!(contender.get(&url).await, 200);
            }
        });
        callgrind_measured(&rt, &contender, &url, n);
        println!("{name} {n}");
        return;
    }
    let (rounds, requests) = if quick { (20, 200) } else { (100, 400) };
    // RELENT_HTTP_INTERLEAVED_ONLY=1: only the interleaved rounds, printed, no fragment.
    if std::env::var_os("RELENT_HTTP_INTERLEAVED_ONLY").is_some() {
        let mut md = String::new();
        interleaved_table(
            &interleaved(&url, rounds, requests),
            rounds,
            requests,
            &mut md,
        );
        println!("{md}");
        return;
    }
    let mut c = configure(quick);
    sequential(&mut c, &url);
    concurrent(&mut c, &url);
    c.final_summary();
    // `cargo bench -- <filter>` or `--list` runs a part: report only after a full run.
    let partial = std::env::args()
        .skip(1)
        .any(|a| !a.starts_with('-') || a == "--list");
    if !partial {
        let rows = interleaved(&url, rounds, requests);
        report(quick, &rows, rounds, requests);
    }
    drop(server);
}
