#![allow(missing_docs)]

//! Allocations per next-delay decision for relent and every peer of the `decision` group,
//! and per whole operation for the `operation` group: no timing, one table.
//!
//! Run: `cargo bench -p relent-benches --bench allocs`
//!
//! Counted with `allocation-counter`, which installs a counting global allocator in this
//! binary (a separate bench, so the timed ones run on the plain allocator). Each contender
//! first runs one full sequence unmeasured, so one-time initialisations (thread-local RNGs)
//! are not charged; then `N` fresh states are built inside one measurement
//! ("construction") and `N × 10` decisions are taken on prebuilt states inside another
//! ("decisions"). The table is printed and written to `target/bench-report/allocs.md`.

use std::fmt::Write as _;
use std::hint::black_box;

use allocation_counter::measure;

mod common;
use common::*;

const N: u32 = 1_000;

/// One row: contender, case, allocations (and bytes) per construction and per decision.
struct Row {
    case: &'static str,
    id: String,
    first: u64,
    build: f64,
    decide: f64,
    decide_bytes: f64,
}

struct Count<'a> {
    case: Case,
    rows: &'a mut Vec<Row>,
}

impl Visit for Count<'_> {
    fn visit<C: Contender>(&mut self, id: &str, c: &C) {
        // Warm-up: thread-local generators, clock handles. Its count is reported as "first
        // use": a one-time cost per thread, charged to the first contender that touches a
        // thread-local it shares with others (the three `rand` versions are distinct crates).
        let first = measure(|| sequence(c, SEED)).count_total;
        let build = measure(|| {
            for i in 0..N {
                black_box(c.fresh(u64::from(i)));
            }
        });
        let mut states: Vec<C::State> = (0..N).map(|i| c.fresh(u64::from(i))).collect();
        let decide = measure(|| {
            for s in &mut states {
                for _ in 0..DELAYS {
                    black_box(C::decide(s));
                }
            }
        });
        drop(states);
        let decisions = f64::from(N * DELAYS);
        self.rows.push(Row {
            case: self.case.name(),
            id: id.to_owned(),
            first,
            build: build.count_total as f64 / f64::from(N),
            decide: decide.count_total as f64 / decisions,
            decide_bytes: decide.bytes_total as f64 / decisions,
        });
    }
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument is ignored too.
    let rt = tokio_runtime();
    let _guard = rt.enter();

    // The counter counts: one `Box` is one allocation.
    let boxed = measure(|| {
        black_box(Box::new(black_box(7u64)));
    });
    assert_eq!(boxed.count_total, 1, "the counting allocator is installed");

    let mut rows = Vec::new();
    for case in Case::ALL {
        for_each_contender(
            case,
            &mut Count {
                case,
                rows: &mut rows,
            },
        );
    }

    let mut md = String::new();
    md.push_str("### Allocations per decision\n\n");
    md.push_str(
        "Heap allocations counted by `allocation-counter` (a counting global allocator), \
         in the first 10-decision sequence on the thread (one-time initialisation), per \
         construction of a fresh backoff state and per next-delay decision (mean over 1,000 \
         states × 10 decisions); command: \
         `cargo bench -p relent-benches --bench allocs`.\n\n",
    );
    md.push_str(
        "| case | contender | first use (one-time) | allocations per construction \
         | allocations per decision | bytes per decision | relent ÷ peer (per decision) |\n",
    );
    md.push_str("|---|---|---:|---:|---:|---:|---:|\n");
    for row in &rows {
        let relent = rows
            .iter()
            .find(|r| r.case == row.case && r.id.starts_with("relent"))
            .expect("a relent row per case");
        let ratio_cell = if row.id.starts_with("relent") {
            "–".to_owned()
        } else {
            ratio(relent.decide, row.decide)
        };
        writeln!(
            md,
            "| {} | {} | {} | {:.2} | {:.2} | {:.1} | {} |",
            row.case, row.id, row.first, row.build, row.decide, row.decide_bytes, ratio_cell
        )
        .expect("write to a String");
    }

    // Whole operations: 10 attempts.
    let policy = operation_policy();
    let rp = operation_retry_policies();
    let backon = operation_backon();
    md.push_str("\nPer whole 10-attempt operation (the `operation` group's contenders):\n\n");
    md.push_str("| operation | contender | allocations per operation | bytes per operation | relent ÷ peer |\n");
    md.push_str("|---|---|---:|---:|---:|\n");
    for (case, statuses) in OPERATIONS {
        let mut per = Vec::new();
        // Warm-up, then N operations.
        black_box(relent_operation(&policy, &statuses, SEED));
        black_box(retry_policies_operation(&rp, &statuses));
        black_box(backon_operation(backon, &statuses));
        let r = measure(|| {
            for i in 0..N {
                black_box(relent_operation(&policy, &statuses, u64::from(i)));
            }
        });
        per.push(("relent", r));
        per.push((
            "retry-policies",
            measure(|| {
                for _ in 0..N {
                    black_box(retry_policies_operation(&rp, &statuses));
                }
            }),
        ));
        per.push((
            "backon",
            measure(|| {
                for _ in 0..N {
                    black_box(backon_operation(backon, &statuses));
                }
            }),
        ));
        let relent = per[0].1.count_total as f64 / f64::from(N);
        for (who, info) in &per {
            let count = info.count_total as f64 / f64::from(N);
            let cell = if *who == "relent" {
                "–".to_owned()
            } else {
                ratio(relent, count)
            };
            writeln!(
                md,
                "| {case} | {who} | {count:.2} | {:.1} | {cell} |",
                info.bytes_total as f64 / f64::from(N)
            )
            .expect("write to a String");
        }
    }
    print!("{md}");
    write_report("allocs", &md);
}
