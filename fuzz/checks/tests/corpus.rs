//! Runs the fuzz inputs that matter through the fuzz targets' checks, on stable.
//!
//! For every target in `relent_fuzz_checks::TARGETS`, every file in
//! `fuzz/seeds/<target>/` (the committed seed corpus) and `fuzz/regressions/<target>/`
//! (committed past findings, each of which once broke a law) is run, and so are up to
//! `LOCAL_CAP` files of `fuzz/corpus/<target>/` if a local fuzzing run left one (it is not
//! committed). A check panics when a law is broken, which fails this test with the file's name.

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// At most this many files of a local (uncommitted) corpus per target.
const LOCAL_CAP: usize = 500;
/// And at most this long per target on a local corpus, so the test stays quick.
const LOCAL_TIME: Duration = Duration::from_secs(2);

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

fn run_file(name: &str, check: fn(&[u8]), path: &Path) -> Result<(), String> {
    let data = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    run_data(name, check, path, &data)
}

fn run_data(name: &str, check: fn(&[u8]), path: &Path, data: &[u8]) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| check(data)))
        .map_err(|_| format!("{name}: {} breaks a law", path.display()))
}

#[test]
fn committed_seeds_and_regressions_pass() {
    let mut failures = Vec::new();
    for (name, check) in relent_fuzz_checks::TARGETS {
        let seeds = files(&fuzz_dir().join("seeds").join(name));
        assert!(
            seeds.len() >= 3,
            "{name}: the seed corpus fuzz/seeds/{name}/ has {} files",
            seeds.len()
        );
        let regressions = files(&fuzz_dir().join("regressions").join(name));
        for path in seeds.iter().chain(&regressions) {
            if let Err(e) = run_file(name, check, path) {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn local_corpus_passes() {
    let mut failures = Vec::new();
    for (name, check) in relent_fuzz_checks::TARGETS {
        let started = Instant::now();
        let corpus = files(&fuzz_dir().join("corpus").join(name));
        for path in corpus.iter().take(LOCAL_CAP) {
            if started.elapsed() > LOCAL_TIME {
                break;
            }
            // A fuzzer running beside this test may have just replaced the file.
            let Ok(data) = fs::read(path) else {
                continue;
            };
            if let Err(e) = run_data(name, check, path, &data) {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn every_target_accepts_empty_and_tiny_inputs() {
    for (_, check) in relent_fuzz_checks::TARGETS {
        check(&[]);
        check(&[0]);
        check(&[0xff; 64]);
    }
}
