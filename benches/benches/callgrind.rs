#![allow(missing_docs)]

//! Instruction counts (noise-free) for the contenders of `core.rs`, one workload per run,
//! to be run under `valgrind --tool=callgrind`; `benches/callgrind.sh` runs them all and
//! prints instructions per operation.
//!
//! `callgrind <workload>` runs the workload `reps` times inside `measured`, the only
//! function callgrind collects (`--toggle-collect='*measured*'`), so setup (keys, tables,
//! policies) is not counted and one-time initialisations (thread-local RNGs) are amortised.
//! `callgrind --list` prints `workload reps` lines; without arguments (as `cargo bench`
//! runs it) it prints the list and exits.

use std::hint::black_box;
use std::io::Write as _;
use std::time::SystemTime;

use relent::UnixTime;
use relent::backoff::Jitter;
use relent::hint::{format_imf_fixdate, parse_http_date, parse_retry_after};

mod common;
use common::*;

/// Repetitions of the small workloads (a stream of the table group is one repetition).
const REPS: u32 = 1_000;

/// The one function callgrind counts.
#[inline(never)]
fn measured<T>(f: impl FnOnce() -> T) -> T {
    f()
}

fn repeat<T>(f: impl Fn() -> T) {
    measured(|| {
        for _ in 0..REPS {
            black_box(f());
        }
    });
}

/// Runs one table stream: table and keys built outside `measured`, dropped after it.
fn stream<K, T: Table<K>>(table: T, keys: &[K], ttl: core::time::Duration)
where
    K: Clone,
{
    let table = warmed(table, keys);
    let owned = keys.to_vec();
    let out = measured(|| run_stream(table, owned, keys, ttl));
    black_box(&out);
}

const SMALL: &[&str] = &[
    "backoff/relent/no_jitter",
    "backoff/backon/no_jitter",
    "backoff/backoff_crate/no_jitter",
    "backoff/relent/full_jitter",
    "backoff/backon/jitter",
    "backoff/backon/jitter_seeded",
    "backoff/relent/proportional_0.5",
    "backoff/backoff_crate/proportional_0.5",
    "http_date/relent/imf_fixdate",
    "http_date/httpdate/imf_fixdate",
    "http_date/relent/rfc850",
    "http_date/httpdate/rfc850",
    "http_date/relent/asctime",
    "http_date/httpdate/asctime",
    "http_date/relent/retry_after_120",
    "http_date/std_parse_u64/retry_after_120",
    "http_date/relent/format_imf_fixdate",
    "http_date/httpdate/format_imf_fixdate",
    "http_date/httpdate_into_buf/format_imf_fixdate",
    "machine/relent/503_503_200",
    "machine/backon/503_503_200",
    "machine/backon_seeded/503_503_200",
];

fn table_workloads() -> Vec<String> {
    let mut v = Vec::new();
    for case in ["u64_live", "string_live", "u64_expiring", "string_expiring"] {
        for who in ["relent", "seed003_hashmap", "lru"] {
            v.push(format!("deadline_table/{who}/{case}"));
        }
    }
    v
}

fn run_small(name: &str) -> bool {
    let t = UnixTime::from_secs(DATE_SECS);
    let st = SystemTime::from(t);
    let seeds = Seeds::new();
    match name {
        "backoff/relent/no_jitter" => {
            let p = relent_policy(Jitter::None);
            repeat(|| relent_delays(black_box(p), black_box(seeds.next())));
        }
        "backoff/backon/no_jitter" => repeat(|| backon_delays(black_box(backon_builder(false)))),
        "backoff/backoff_crate/no_jitter" => repeat(|| backoff_crate_delays(black_box(0.0))),
        "backoff/relent/full_jitter" => {
            let p = relent_policy(Jitter::Full);
            repeat(|| relent_delays(black_box(p), black_box(seeds.next())));
        }
        "backoff/backon/jitter" => repeat(|| backon_delays(black_box(backon_builder(true)))),
        "backoff/backon/jitter_seeded" => {
            repeat(|| {
                backon_delays(black_box(
                    backon_builder(true).with_jitter_seed(seeds.next()),
                ))
            });
        }
        "backoff/relent/proportional_0.5" => {
            let p = relent_policy(PROPORTIONAL_HALF);
            repeat(|| relent_delays(black_box(p), black_box(seeds.next())));
        }
        "backoff/backoff_crate/proportional_0.5" => {
            repeat(|| backoff_crate_delays(black_box(0.5)));
        }
        "http_date/relent/imf_fixdate" => {
            repeat(|| parse_http_date(black_box(IMF.as_bytes()), black_box(NOW)));
        }
        "http_date/httpdate/imf_fixdate" => repeat(|| httpdate::parse_http_date(black_box(IMF))),
        "http_date/relent/rfc850" => {
            repeat(|| parse_http_date(black_box(RFC850.as_bytes()), black_box(NOW)));
        }
        "http_date/httpdate/rfc850" => repeat(|| httpdate::parse_http_date(black_box(RFC850))),
        "http_date/relent/asctime" => {
            repeat(|| parse_http_date(black_box(ASCTIME.as_bytes()), black_box(NOW)));
        }
        "http_date/httpdate/asctime" => repeat(|| httpdate::parse_http_date(black_box(ASCTIME))),
        "http_date/relent/retry_after_120" => {
            repeat(|| parse_retry_after(black_box(b"120"), black_box(NOW)));
        }
        "http_date/std_parse_u64/retry_after_120" => repeat(|| black_box("120").parse::<u64>()),
        "http_date/relent/format_imf_fixdate" => repeat(|| format_imf_fixdate(black_box(t))),
        "http_date/httpdate/format_imf_fixdate" => {
            repeat(|| httpdate::fmt_http_date(black_box(st)));
        }
        "http_date/httpdate_into_buf/format_imf_fixdate" => repeat(|| {
            let mut buf = [0u8; 29];
            let mut w: &mut [u8] = &mut buf;
            write!(w, "{}", httpdate::HttpDate::from(black_box(st))).expect("29 bytes");
            buf
        }),
        "machine/relent/503_503_200" => {
            let policy = machine_policy();
            repeat(|| {
                relent_operation(
                    black_box(&policy),
                    black_box(STATUSES),
                    black_box(seeds.next()),
                )
            });
        }
        "machine/backon/503_503_200" => {
            repeat(|| backon_operation(black_box(machine_backon()), black_box(STATUSES)));
        }
        "machine/backon_seeded/503_503_200" => repeat(|| {
            backon_operation(
                black_box(machine_backon().with_jitter_seed(seeds.next())),
                black_box(STATUSES),
            )
        }),
        _ => return false,
    }
    true
}

fn run_table(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("deadline_table/") else {
        return false;
    };
    let Some((who, case)) = rest.split_once('/') else {
        return false;
    };
    let ttl = if case.ends_with("_live") {
        TTL_LIVE
    } else {
        TTL_EXPIRING
    };
    if case.starts_with("u64") {
        let keys = u64_keys();
        match who {
            "relent" => stream(relent_table::<u64>(), &keys, ttl),
            "seed003_hashmap" => stream(seed003_map::<u64>(), &keys, ttl),
            "lru" => stream(lru_cache::<u64>(), &keys, ttl),
            _ => return false,
        }
    } else {
        let keys = string_keys();
        match who {
            "relent" => stream(relent_table::<String>(), &keys, ttl),
            "seed003_hashmap" => stream(seed003_map::<String>(), &keys, ttl),
            "lru" => stream(lru_cache::<String>(), &keys, ttl),
            _ => return false,
        }
    }
    true
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let list = || {
        for name in SMALL {
            println!("{name} {REPS}");
        }
        for name in table_workloads() {
            println!("{name} {STREAM}");
        }
    };
    match args.first().map(String::as_str) {
        None | Some("--list") => list(),
        Some(name) => {
            if !(run_small(name) || run_table(name)) {
                eprintln!("unknown workload {name}; --list shows them");
                std::process::exit(2);
            }
        }
    }
}
