//! Heap retained by a Retry-After table after many distinct URLs: relent-reqwest
//! (default capacity, keyed by full URL) against reqwest-retry-after 0.2.1.
//!
//! Every URL (`/u/0`, `/u/1`, ...) is requested once and answered `429` with
//! `Retry-After: 3600`; both layers record the hint and return the 429 without
//! waiting (relent's default hint cap is 300 s, so it gives up at once rather
//! than sleep; reqwest-retry-after only sleeps before a request to a URL it has
//! seen). The live heap is counted by allocation-counter on the client's thread
//! (the server runs on its own thread), with the client still alive, and the
//! same count for a bare client of the same reqwest version doing the same
//! requests is subtracted.
//!
//! ```text
//! cargo bench --manifest-path benches/http-peers/Cargo.toml --bench memory            # up to 1,000,000 URLs
//! RELENT_HTTP_QUICK=1 cargo bench --manifest-path benches/http-peers/Cargo.toml --bench memory   # up to 100,000
//! ```

use std::time::{Duration, Instant};

use allocation_counter::{AllocationInfo, measure};
use relent_http_peers::{
    Contender, KeyBy, Mode, Server, client_runtime, quick, thousands, write_fragment,
};

/// (contender, its bare baseline); a baseline row has itself as baseline.
const CONTENDERS: &[(&str, &str)] = &[
    ("bare-reqwest-0.13", "bare-reqwest-0.13"),
    ("relent-middleware", "bare-reqwest-0.13"),
    ("bare-reqwest-0.12", "bare-reqwest-0.12"),
    ("reqwest-retry-after", "bare-reqwest-0.12"),
];

struct Checkpoint {
    urls: u64,
    /// Live heap bytes allocated on the client thread since before the client was built.
    live_bytes: i64,
    live_allocations: i64,
    /// (length, capacity, evictions) of relent's table.
    table: Option<(usize, usize, u64)>,
    /// Time spent sending this checkpoint's URLs (and the earlier ones).
    elapsed: Duration,
}

fn run(name: &str, base: &str, checkpoints: &[u64]) -> Vec<Checkpoint> {
    let rt = client_runtime();
    let mut client = None;
    let mut live = measure(|| client = Some(Contender::build(name, KeyBy::Url)));
    let client = client.expect("built");
    let mut sent = 0u64;
    let mut elapsed = Duration::ZERO;
    let mut out = Vec::new();
    for &upto in checkpoints {
        let start = Instant::now();
        let info: AllocationInfo = measure(|| {
            rt.block_on(async {
                while sent < upto {
                    let url = format!("{base}/u/{sent}");
                    assert_eq!(client.get(&url).await, 429, "{name} {url}");
                    sent += 1;
                }
            });
        });
        elapsed += start.elapsed();
        live += info;
        out.push(Checkpoint {
            urls: upto,
            live_bytes: live.bytes_current,
            live_allocations: live.count_current,
            table: client.relent_table(),
            elapsed,
        });
        eprintln!(
            "{name}: {} URLs, live {} bytes in {} allocations, {:.1} s",
            thousands(upto),
            live.bytes_current,
            live.count_current,
            elapsed.as_secs_f64()
        );
    }
    // The client (and its table) is dropped only here, after every count.
    drop(client);
    out
}

fn bytes(n: i64) -> String {
    let abs = n.unsigned_abs();
    let sign = if n < 0 { "-" } else { "" };
    if abs >= 1024 * 1024 {
        format!("{sign}{:.1} MiB", abs as f64 / (1024.0 * 1024.0))
    } else if abs >= 10 * 1024 {
        format!("{sign}{:.1} KiB", abs as f64 / 1024.0)
    } else {
        format!("{sign}{abs} B")
    }
}

fn main() {
    let quick = quick();
    let checkpoints: &[u64] = if quick {
        &[10_000, 100_000]
    } else {
        &[10_000, 100_000, 1_000_000]
    };
    let server = Server::start(Mode::Throttle);
    let base = server.base();
    let mut results = Vec::new();
    for &(name, _) in CONTENDERS {
        results.push((name, run(name, &base, checkpoints)));
    }
    drop(server);

    let find = |name: &str| {
        results
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, r)| r)
            .expect("ran")
    };
    let mut md = String::from("### Retry-After table memory after N distinct URLs\n\n");
    md.push_str(&format!(
        "Live heap on the client thread (allocation-counter), client still alive, after N \
         distinct URLs each answered `429` + `Retry-After: 3600` once by a loopback server, \
         minus a bare client of the same reqwest version doing the same requests; relent-reqwest \
         uses its defaults (table capacity {}) keyed by full URL. Command: \
         `benches/http-peers/run.sh{}`.\n\n",
        thousands(relent_reqwest::DEFAULT_TABLE_CAPACITY as u64),
        if quick { " --quick" } else { "" }
    ));
    md.push_str(
        "| contender | URLs | retained (minus bare) | per URL | table entries / evictions | run time |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    for &(name, bare) in CONTENDERS {
        if name == bare {
            continue;
        }
        for (cp, base_cp) in find(name).iter().zip(find(bare)) {
            let retained = cp.live_bytes - base_cp.live_bytes;
            let table = cp.table.map_or_else(
                || "unbounded HashMap".to_owned(),
                |(len, _, ev)| format!("{} / {}", thousands(len as u64), thousands(ev)),
            );
            md.push_str(&format!(
                "| `{name}` | {} | {} | {:.1} B | {table} | {:.1} s |\n",
                thousands(cp.urls),
                bytes(retained),
                retained as f64 / cp.urls as f64,
                cp.elapsed.as_secs_f64(),
            ));
        }
    }
    md.push_str("\nBaselines (live heap of the bare clients themselves): ");
    let baselines: Vec<String> = CONTENDERS
        .iter()
        .filter(|(n, b)| n == b)
        .map(|&(name, _)| {
            let r = find(name);
            let last = r.last().expect("checkpoint");
            format!(
                "`{name}` {} in {} allocations after {} URLs ({:.1} s)",
                bytes(last.live_bytes),
                last.live_allocations,
                thousands(last.urls),
                last.elapsed.as_secs_f64()
            )
        })
        .collect();
    md.push_str(&baselines.join("; "));
    md.push_str(".\n");
    write_fragment("http-memory.md", &md);
}
