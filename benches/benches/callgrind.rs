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
//!
//! Workload names are the criterion ids of `core.rs` (`group/contender/case`). One
//! operation is: for `decision`, one next-delay decision (states prepared outside
//! `measured`, `k` cycling over 0..10 as in criterion); for `sequence`, constructing a state
//! and taking 10 decisions; for `http_date`, one parse or format; for `operation`, one
//! 10-attempt operation; for `deadline_table`, one step of the stream (2 lookups, 1 record).

use std::hint::black_box;
use std::io::Write as _;
use std::time::SystemTime;

use relent::UnixTime;
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
    "http_date/relent/imf_fixdate",
    "http_date/httpdate/imf_fixdate",
    "http_date/relent/rfc850",
    "http_date/httpdate/rfc850",
    "http_date/relent/asctime",
    "http_date/httpdate/asctime",
    "http_date/relent/retry_after_120",
    "http_date/std/retry_after_120",
    "http_date/relent/format_imf_fixdate",
    "http_date/httpdate/format_imf_fixdate",
    "http_date/relent/format_imf_fixdate_into_buf",
    "http_date/httpdate/format_imf_fixdate_into_buf",
    "operation/relent/9x503_then_200",
    "operation/retry-policies/9x503_then_200",
    "operation/backon/9x503_then_200",
    "operation/relent/10x503",
    "operation/retry-policies/10x503",
    "operation/backon/10x503",
];

/// Collects the `decision` and `sequence` workload names.
struct Names(Vec<String>, Case);

impl Visit for Names {
    fn visit<C: Contender>(&mut self, id: &str, _: &C) {
        for group in ["decision", "sequence"] {
            self.0.push(format!("{group}/{id}/{}", self.1.name()));
        }
    }
}

fn backoff_workloads() -> Vec<String> {
    let mut names = Names(Vec::new(), Case::NoJitter);
    for case in Case::ALL {
        names.1 = case;
        for_each_contender(case, &mut names);
    }
    names.0.sort_by_key(|n| n.starts_with("sequence"));
    names.0
}

fn table_workloads() -> Vec<String> {
    let mut v = Vec::new();
    for case in ["u64_live", "string_live", "u64_expiring", "string_expiring"] {
        for who in ["relent", "earliest-evict", "lru", "std-hashmap"] {
            v.push(format!("deadline_table/{who}/{case}"));
        }
    }
    v
}

/// Runs the `decision` or `sequence` workload of one contender, if `id` names it.
struct RunBackoff<'a> {
    group: &'a str,
    id: &'a str,
    ran: bool,
}

impl Visit for RunBackoff<'_> {
    fn visit<C: Contender>(&mut self, id: &str, c: &C) {
        if id != self.id {
            return;
        }
        self.ran = true;
        let seeds = Seeds::new();
        if self.group == "decision" {
            let mut states: Vec<C::State> = (0..REPS)
                .map(|i| at_step(c, seeds.next(), i % DELAYS))
                .collect();
            let outs = measured(|| {
                states
                    .iter_mut()
                    .map(|s| C::decide(s))
                    .collect::<Vec<C::Out>>()
            });
            drop(black_box(outs));
        } else {
            repeat(|| sequence(black_box(c), black_box(seeds.next())));
        }
    }
}

fn run_backoff(name: &str) -> bool {
    let mut parts = name.splitn(3, '/');
    let (Some(group), Some(id), Some(case)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    if group != "decision" && group != "sequence" {
        return false;
    }
    let Some(case) = Case::ALL.into_iter().find(|c| c.name() == case) else {
        return false;
    };
    let mut run = RunBackoff {
        group,
        id,
        ran: false,
    };
    for_each_contender(case, &mut run);
    run.ran
}

fn run_small(name: &str) -> bool {
    let t = UnixTime::from_secs(DATE_SECS);
    let st = SystemTime::from(t);
    let seeds = Seeds::new();
    match name {
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
        "http_date/std/retry_after_120" => repeat(|| black_box("120").parse::<u64>()),
        "http_date/relent/format_imf_fixdate" | "http_date/relent/format_imf_fixdate_into_buf" => {
            repeat(|| format_imf_fixdate(black_box(t)))
        }
        "http_date/httpdate/format_imf_fixdate" => {
            repeat(|| httpdate::fmt_http_date(black_box(st)));
        }
        "http_date/httpdate/format_imf_fixdate_into_buf" => repeat(|| {
            let mut buf = [0u8; 29];
            let mut w: &mut [u8] = &mut buf;
            write!(w, "{}", httpdate::HttpDate::from(black_box(st))).expect("29 bytes");
            buf
        }),
        _ => {
            let Some(rest) = name.strip_prefix("operation/") else {
                return false;
            };
            let Some((who, case)) = rest.split_once('/') else {
                return false;
            };
            let Some((_, statuses)) = OPERATIONS.into_iter().find(|(c, _)| *c == case) else {
                return false;
            };
            match who {
                "relent" => {
                    let policy = operation_policy();
                    repeat(|| {
                        relent_operation(
                            black_box(&policy),
                            black_box(&statuses),
                            black_box(seeds.next()),
                        )
                    });
                }
                "retry-policies" => {
                    let rp = operation_retry_policies();
                    repeat(|| retry_policies_operation(black_box(&rp), black_box(&statuses)));
                }
                "backon" => {
                    let backon = operation_backon();
                    repeat(|| backon_operation(black_box(backon), black_box(&statuses)));
                }
                _ => return false,
            }
        }
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
            "earliest-evict" => stream(earliest_deadline_map::<u64>(), &keys, ttl),
            "lru" => stream(lru_cache::<u64>(), &keys, ttl),
            "std-hashmap" => stream(std_hashmap::<u64>(), &keys, ttl),
            _ => return false,
        }
    } else {
        let keys = string_keys();
        match who {
            "relent" => stream(relent_table::<String>(), &keys, ttl),
            "earliest-evict" => stream(earliest_deadline_map::<String>(), &keys, ttl),
            "lru" => stream(lru_cache::<String>(), &keys, ttl),
            "std-hashmap" => stream(std_hashmap::<String>(), &keys, ttl),
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
        for name in backoff_workloads() {
            println!("{name} {REPS}");
        }
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
            // tower's `next_backoff` creates a tokio `Sleep`, which needs a runtime context.
            let rt = tokio_runtime();
            let _guard = rt.enter();
            if !(run_backoff(name) || run_small(name) || run_table(name)) {
                eprintln!("unknown workload {name}; --list shows them");
                std::process::exit(2);
            }
        }
    }
}
