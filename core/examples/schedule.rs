//! Preview a backoff policy: per wait, the min / median / max delay over many seeds.
//!
//! Rows count waits (delays), not tries: `delays=8` allows 8 waits, so 9 tries.
//!
//! ```text
//! cargo run -p relent --example schedule                 # kube_watcher preset
//! cargo run -p relent --example schedule -- grpc
//! cargo run -p relent --example schedule -- 'exp:100ms,x2,cap=10s,jitter=full,delays=8'
//! cargo run -p relent --example schedule -- --help
//! ```
//!
//! Each seed drives its own `Backoff` on a virtual clock that advances by each
//! delay, so `max_elapsed` and the cap behave as they would in production.

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

use relent::Instant;
use relent::backoff::{Backoff, BackoffBuilder, BackoffPolicy, Jitter, Schedule, presets};

const USAGE: &str = "\
usage: schedule [--seeds N] [--rows N] [PRESET | POLICY]

Prints, for each delay (wait) a backoff hands out, the min / median / max over N
seeds (default 1000), the median cumulative wait and a bar chart. Rows stop
when every seed is exhausted, or at --rows (default 16 for policies without
limits, 40 otherwise).

PRESET   kube_watcher (default; also kube: kube-runtime's watcher backoff, not
         kube's client retry), grpc, aws, cenkalti
POLICY   SCHEDULE[,OPTION]...
  SCHEDULE  const:DUR | linear:DUR+DUR | exp:DUR | fib:DUR
  OPTION    xF | factor=F          growth factor (exp only; default 2)
            cap=DUR  floor=DUR     clamp applied after jitter
            jitter=none|full|equal|decorrelated|F   (F = proportional +/-F)
            delays=N               waits handed out (N waits = N+1 tries)
            elapsed=DUR            every wait ends within DUR of the start
            quiet=DUR              start over after DUR without a request
  DUR       a number and a unit: ns us ms s m h   (e.g. 250ms, 1.5s, 2m)

example: schedule 'exp:100ms,x2,cap=10s,jitter=full,delays=8'
";

const BAR: usize = 24;

struct Args {
    seeds: u64,
    rows: Option<usize>,
    name: String,
    policy: BackoffPolicy,
}

enum Cli {
    Run(Box<Args>),
    Help,
}

fn main() -> ExitCode {
    match parse_args(std::env::args().skip(1)) {
        Ok(Cli::Help) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Cli::Run(args)) => match run(&args, &mut std::io::stdout().lock()) {
            Ok(()) => ExitCode::SUCCESS,
            // The reader stopped early (`| head`): nothing more to say.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Err(msg) => {
            eprintln!("error: {msg}\n");
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Cli, String> {
    let mut seeds = 1000u64;
    let mut rows = None;
    let mut spec: Option<String> = None;
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Cli::Help),
            "--seeds" | "--rows" => {
                let v = it.next().ok_or_else(|| format!("{arg} needs a number"))?;
                let n: u64 = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=100_000).contains(n))
                    .ok_or_else(|| format!("{arg} wants a number in 1..=100000, got {v:?}"))?;
                if arg == "--seeds" {
                    seeds = n;
                } else {
                    rows = Some(usize::try_from(n.min(1000)).unwrap_or(1000));
                }
            }
            s if s.starts_with('-') && s.len() > 1 => return Err(format!("unknown flag {s:?}")),
            _ if spec.is_some() => return Err(format!("unexpected extra argument {arg:?}")),
            _ => spec = Some(arg),
        }
    }
    let name = spec.unwrap_or_else(|| "kube".to_owned());
    let policy = match name.as_str() {
        "kube" | "kube_watcher" => presets::kube_watcher(),
        "grpc" | "grpc_connection" => presets::grpc_connection(),
        "aws" | "aws_standard" => presets::aws_standard(),
        "cenkalti" | "cenkalti_default" => presets::cenkalti_default(),
        s if s.contains(':') => parse_policy(s)?,
        s => return Err(format!("{s:?} is neither a preset nor a policy")),
    };
    Ok(Cli::Run(Box::new(Args {
        seeds,
        rows,
        name,
        policy,
    })))
}

fn parse_policy(spec: &str) -> Result<BackoffPolicy, String> {
    let mut parts = spec.split(',').map(str::trim);
    let head = parts.next().unwrap_or_default();
    let (kind, arg) = head
        .split_once(':')
        .ok_or_else(|| format!("schedule {head:?} should look like exp:100ms"))?;
    let mut b = match kind {
        "const" | "constant" => BackoffBuilder::constant(parse_duration(arg)?),
        "linear" | "lin" => {
            let (base, step) = arg
                .split_once('+')
                .ok_or_else(|| format!("linear wants BASE+STEP, got {arg:?}"))?;
            BackoffBuilder::linear(parse_duration(base)?, parse_duration(step)?)
        }
        "exp" | "exponential" => BackoffBuilder::exponential(parse_duration(arg)?),
        "fib" | "fibonacci" => BackoffBuilder::fibonacci(parse_duration(arg)?),
        other => return Err(format!("unknown schedule {other:?}")),
    };
    for opt in parts {
        if let Some(f) = opt.strip_prefix('x') {
            b = b.factor(parse_float(f)?);
            continue;
        }
        let (key, value) = opt
            .split_once('=')
            .ok_or_else(|| format!("option {opt:?} should look like key=value or xF"))?;
        b = match key {
            "factor" => b.factor(parse_float(value)?),
            "cap" | "max" => b.cap(parse_duration(value)?),
            "floor" | "min" => b.floor(parse_duration(value)?),
            "delays" => b.max_delays(
                value
                    .parse()
                    .map_err(|_| format!("delays wants a whole number, got {value:?}"))?,
            ),
            "attempts" => {
                return Err(format!(
                    "attempts={value} is ambiguous: this option counts waits, and N waits \
                     allow N+1 tries; write delays=N (N = tries - 1)"
                ));
            }
            "elapsed" => b.max_elapsed(parse_duration(value)?),
            "quiet" => b.reset_after_quiet(parse_duration(value)?),
            "jitter" => match value {
                "none" => b.jitter(Jitter::None),
                "full" => b.jitter(Jitter::Full),
                "equal" => b.jitter(Jitter::Equal),
                "decorrelated" | "decorr" => b.jitter(Jitter::Decorrelated),
                f => b.proportional_jitter(parse_float(f.trim_start_matches('±'))?),
            },
            other => return Err(format!("unknown option {other:?}")),
        };
    }
    b.build().map_err(|e| format!("invalid policy: {e}"))
}

fn parse_float(s: &str) -> Result<f64, String> {
    s.parse()
        .map_err(|_| format!("{s:?} is not a number (e.g. 1.6)"))
}

/// `1.5s`, `250ms`, `2m`: decimal number and unit, converted with integer math.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("duration {s:?} needs a unit (ns us ms s m h)"))?;
    let (num, unit) = s.split_at(split);
    let unit_ns: u128 = match unit {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" | "min" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return Err(format!("unknown unit {unit:?} in {s:?}")),
    };
    let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
    if whole.is_empty() && frac.is_empty() {
        return Err(format!("duration {s:?} has no number"));
    }
    let bad = || format!("bad number in duration {s:?}");
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let mut nanos = whole.checked_mul(unit_ns).ok_or_else(bad)?;
    let mut scale = unit_ns;
    for c in frac.chars() {
        let digit = u128::from(c.to_digit(10).ok_or_else(bad)?);
        scale /= 10;
        nanos = nanos.checked_add(digit * scale).ok_or_else(bad)?;
    }
    let nanos = u64::try_from(nanos).map_err(|_| format!("duration {s:?} is too long"))?;
    Ok(Duration::from_nanos(nanos))
}

/// Print the table to `out`; a closed pipe (`| head`) ends the run early, not in a panic.
fn run(args: &Args, out: &mut impl Write) -> io::Result<()> {
    let p = &args.policy;
    // rows[i] = (delay, cumulative wait) of every seed that got an i-th delay.
    let limited = p.max_delays().is_some() || p.max_elapsed().is_some();
    let n_rows = args.rows.unwrap_or(if limited { 40 } else { 16 });
    let mut rows: Vec<Vec<(u64, u64)>> = vec![Vec::new(); n_rows];
    for seed in 0..args.seeds {
        // Fixed seeds 0..N on purpose: a preview must print the same table every run.
        // A client seeds from entropy (`relent::fresh_seed()`).
        let mut backoff = Backoff::new(*p, seed);
        let mut now = Instant::ZERO;
        let mut total = 0u64;
        for row in rows.iter_mut() {
            let Some(d) = backoff.next_delay(now) else {
                break;
            };
            let n = nanos(d);
            total = total.saturating_add(n);
            row.push((n, total));
            now += d;
        }
    }
    rows.retain(|r| !r.is_empty());

    writeln!(out, "{} ({} seeds)", args.name, args.seeds)?;
    writeln!(out, "  {}", describe(p))?;
    writeln!(out, "  {}", limits(p))?;
    if rows.is_empty() {
        writeln!(out, "\n  no delay is ever handed out (max_delays = 0?)")?;
        return Ok(());
    }
    let scale = rows
        .iter()
        .flat_map(|r| r.iter().map(|&(d, _)| d))
        .max()
        .unwrap_or(0)
        .max(1);
    writeln!(out)?;
    writeln!(
        out,
        "{:>4} {:>9} {:>9} {:>9} {:>10} {:>5}  0{:>w$}",
        "#",
        "min",
        "median",
        "max",
        "cum.median",
        "seeds",
        fmt(scale),
        w = BAR - 1
    )?;
    for (i, row) in rows.iter_mut().enumerate() {
        let mut delays: Vec<u64> = row.iter().map(|&(d, _)| d).collect();
        let mut totals: Vec<u64> = row.iter().map(|&(_, t)| t).collect();
        delays.sort_unstable();
        totals.sort_unstable();
        let (min, med, max) = (delays[0], median(&delays), delays[delays.len() - 1]);
        writeln!(
            out,
            "{:>4} {:>9} {:>9} {:>9} {:>10} {:>5}  {}",
            i + 1,
            fmt(min),
            fmt(med),
            fmt(max),
            fmt(median(&totals)),
            delays.len(),
            bar(min, med, max, scale)
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "  bar: '-' from min to median, '#' median, '=' median to max; 0 to {}",
        fmt(scale)
    )?;
    Ok(())
}

fn median(sorted: &[u64]) -> u64 {
    sorted[sorted.len() / 2]
}

/// ` ` up to min, `-` from min to median, `#` at the median, `=` up to max.
fn bar(min: u64, med: u64, max: u64, scale: u64) -> String {
    let pos = |v: u64| -> usize {
        let cells = (u128::from(v) * (BAR as u128 - 1)).div_ceil(u128::from(scale));
        usize::try_from(cells).unwrap_or(BAR).min(BAR - 1)
    };
    let (lo, mid, hi) = (pos(min), pos(med), pos(max));
    (0..=hi)
        .map(|i| match i {
            _ if i == mid => '#',
            _ if i < lo => ' ',
            _ if i < mid => '-',
            _ => '=',
        })
        .collect()
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// At most 8 characters: `999ns`, `12.3µs`, `400.2ms`, `12.345s`, `12m34.5s`, `123h45m`.
fn fmt(n: u64) -> String {
    const US: u64 = 1_000;
    const MS: u64 = 1_000_000;
    const S: u64 = 1_000_000_000;
    const M: u64 = 60 * S;
    const H: u64 = 60 * M;
    let trim = |s: String| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s
        }
    };
    match n {
        0 => "0".to_owned(),
        _ if n < US => format!("{n}ns"),
        _ if n < MS => trim(format!("{}.{}", n / US, (n % US) / 100)) + "µs",
        _ if n < S => trim(format!("{}.{}", n / MS, (n % MS) / 100_000)) + "ms",
        _ if n < M => trim(format!("{}.{:03}", n / S, (n % S) / MS)) + "s",
        _ if n < H => {
            format!("{}m", n / M) + &trim(format!("{}.{}", (n % M) / S, (n % S) / (S / 10))) + "s"
        }
        _ if n == u64::MAX => "forever".to_owned(),
        _ => format!("{}h{:02}m", n / H, (n % H) / M),
    }
}

fn describe(p: &BackoffPolicy) -> String {
    let schedule = match p.schedule() {
        Schedule::Constant { delay } => format!("constant {}", fmt(nanos(delay))),
        Schedule::Linear { base, step } => {
            format!("linear {} +{}", fmt(nanos(base)), fmt(nanos(step)))
        }
        Schedule::Exponential { base, factor } => {
            format!("exponential {} x{factor}", fmt(nanos(base)))
        }
        Schedule::Fibonacci { base } => format!("fibonacci {}", fmt(nanos(base))),
    };
    let jitter = match p.jitter() {
        Jitter::None => "none".to_owned(),
        Jitter::Full => "full [0, d]".to_owned(),
        Jitter::Equal => "equal [d/2, d]".to_owned(),
        Jitter::Proportional(f) => format!("proportional d(1 +/- {f})"),
        Jitter::Decorrelated => "decorrelated [base, 3 prev]".to_owned(),
    };
    format!("schedule {schedule}, jitter {jitter}")
}

fn limits(p: &BackoffPolicy) -> String {
    let opt = |d: Option<Duration>| d.map_or_else(|| "none".to_owned(), |d| fmt(nanos(d)));
    format!(
        "floor {}, cap {}, delays {}, elapsed {}, quiet reset {}",
        fmt(nanos(p.floor())),
        if p.cap() == BackoffPolicy::MAX_DELAY {
            "none".to_owned()
        } else {
            fmt(nanos(p.cap()))
        },
        p.max_delays().map_or_else(
            || "unlimited".to_owned(),
            |n| format!("{n} ({} tries)", u64::from(n) + 1)
        ),
        opt(p.max_elapsed()),
        opt(p.reset_after_quiet()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(spec: &str) -> Result<BackoffPolicy, String> {
        parse_policy(spec)
    }

    #[test]
    fn delays_count_waits() {
        let p = policy("exp:100ms,x2,cap=10s,jitter=full,delays=8").unwrap();
        assert_eq!(p.max_delays(), Some(8));
        assert!(limits(&p).contains("delays 8 (9 tries)"), "{}", limits(&p));
    }

    #[test]
    fn attempts_is_an_error_that_says_why() {
        let err = policy("exp:100ms,attempts=8").unwrap_err();
        assert!(err.contains("delays=N"), "{err}");
        assert!(err.contains("N+1 tries"), "{err}");
        assert!(USAGE.contains("delays=N"));
        assert!(!USAGE.contains("attempts="));
    }
}
