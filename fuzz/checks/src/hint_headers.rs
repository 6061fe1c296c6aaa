//! Checks for `relent::hint::HintReader` over arbitrary header lists.
//!
//! A reference model computes the answer from the single-header parsers and the rules in
//! `HintReader`'s docs, and the reader must agree with it exactly:
//!
//! 1. **Per line.** `Retry-After` lines mean what `parse_retry_after` says, `Date` lines
//!    what `parse_http_date` says; `x-amz-retry-after` (ms) and `X-RateLimit-Reset` (epoch
//!    seconds) are `1*DIGIT` after OWS trimming, read here by an independent digit reader;
//!    `grpc-retry-pushback-ms` is a signed 32-bit decimal where negative or unparseable means
//!    "do not retry" and `-0` means zero (gRFC A6); a `RateLimit` line is valid with a wait,
//!    valid without one, or malformed (observed through a one-source reader).
//! 2. **Repeats.** Singleton headers (`Retry-After`, `Date`, `X-RateLimit-Reset`,
//!    `x-amz-retry-after`, gRPC pushback) count only when every line parses to the same
//!    value; `RateLimit` lines combine as a list: any malformed line discards the field,
//!    else the longest wait wins. A gRPC pushback that is malformed or conflicting refuses.
//! 3. **Choice.** A gRPC "do not retry" wins over everything (when that source is enabled);
//!    otherwise the first source in the reader's order that has a valid hint wins; sources
//!    not in the order are never read. Dates and resets are measured against the response's
//!    own valid `Date`, else `now`; past means zero.
//! 4. **Shape-independence.** Names match case-insensitively; near-miss names are ignored;
//!    reversing the header list changes nothing.
//! 5. **Round trips.** Values the input generates from numbers (digits with leading zeros
//!    and OWS, IMF-fixdates, `RateLimit` lists of items with known `r` and `t`) read back as
//!    exactly those numbers.

use core::time::Duration;

use relent::UnixTime;
use relent::hint::{
    HintReader, HintSource, RetryAfter, ServerHint, SourcedHint, format_imf_fixdate,
    parse_http_date, parse_retry_after,
};

use crate::input::{Input, digits_value, trim_ows};
use crate::retry_after::{MAX_REF_SECS, MAX_SECS};

/// Names that look like hint headers but are not.
const NEAR_MISSES: [&str; 8] = [
    "retry-afte",
    "retry-after-ms",
    "ratelimit-policy",
    "x-ratelimit-remaining",
    "grpc-retry-pushback",
    "dat",
    "dates",
    "x-amz-retry-after ",
];

/// What a header line is, as far as the reader should care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Source(HintSource),
    Date,
    Other,
}

/// gRPC pushback as the model reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pushback {
    Millis(u64),
    Refuse,
}

/// A singleton header across repeated lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot<T> {
    Absent,
    Valid(T),
    Malformed,
}

impl<T: Copy + PartialEq> Slot<T> {
    fn add(self, line: Option<T>) -> Self {
        match (self, line) {
            (Slot::Absent, Some(v)) => Slot::Valid(v),
            (Slot::Valid(a), Some(b)) if a == b => Slot::Valid(a),
            _ => Slot::Malformed,
        }
    }

    fn valid(self) -> Option<T> {
        match self {
            Slot::Valid(v) => Some(v),
            _ => None,
        }
    }
}

/// One `RateLimit` line: `Err(())` malformed, `Ok(None)` valid without a wait.
type RateLine = Result<Option<u64>, ()>;

fn case_mangle(name: &str, bits: u8) -> Vec<u8> {
    name.bytes()
        .enumerate()
        .map(|(i, b)| {
            if bits >> (i % 8) & 1 == 1 {
                b.to_ascii_uppercase()
            } else {
                b
            }
        })
        .collect()
}

/// Digits of `v`, with up to three leading zeros and optional OWS around them.
fn digits_text(v: u64, style: u8) -> Vec<u8> {
    let mut out = Vec::new();
    if style & 1 == 1 {
        out.push(b' ');
    }
    if style & 2 == 2 {
        out.push(b'\t');
    }
    out.extend(std::iter::repeat_n(b'0', usize::from(style >> 2 & 3)));
    out.extend(v.to_string().bytes());
    if style & 16 == 16 {
        out.push(b' ');
    }
    out
}

/// gRFC A6, read plainly: optional OWS, optional `-`, digits; a signed 32-bit value;
/// negative or unparseable refuses; `-0` is zero.
fn grpc_model(value: &[u8]) -> Pushback {
    let s = trim_ows(value);
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let Some(magnitude) = digits_value(digits) else {
        return Pushback::Refuse;
    };
    let signed = if negative {
        -i128::from(magnitude)
    } else {
        i128::from(magnitude)
    };
    if signed < 0 || signed > i128::from(i32::MAX) {
        Pushback::Refuse
    } else {
        Pushback::Millis(u64::try_from(signed).unwrap_or(u64::MAX))
    }
}

/// A `RateLimit` line as seen through a reader that only reads `RateLimit`: alone it gives
/// the wait if there is one; with a valid zero-wait probe line added, a valid line without a
/// wait gives zero while a malformed one still discards the whole field.
fn rate_line(value: &[u8], now: UnixTime) -> RateLine {
    let only = HintReader::with_order(&[HintSource::RateLimit]);
    let name = &b"RateLimit"[..];
    let seconds = |h: Option<SourcedHint>| -> Option<u64> {
        h.map(|h| match h.hint {
            ServerHint::After(d) => {
                assert_eq!(d.subsec_nanos(), 0, "RateLimit waits are whole seconds");
                assert_eq!(h.source, HintSource::RateLimit);
                d.as_secs()
            }
            ServerHint::DoNotRetry => panic!("RateLimit never refuses"),
        })
    };
    if let Some(t) = seconds(only.read([(name, value)], now)) {
        return Ok(Some(t));
    }
    let probe = &br#""probe";r=0;t=0"#[..];
    match seconds(only.read([(name, value), (name, probe)], now)) {
        Some(0) => Ok(None),
        Some(t) => panic!("a line without a wait turned into {t} s"),
        None => Err(()),
    }
}

/// A generated `RateLimit` line and the wait it must mean.
fn rate_limit_text(input: &mut Input<'_>) -> (Vec<u8>, Option<u64>) {
    let n = 1 + usize::from(input.byte() % 3);
    let mut out = Vec::new();
    let mut wait: Option<u64> = None;
    for i in 0..n {
        let shape = input.byte();
        if i > 0 {
            out.extend_from_slice(if shape & 1 == 1 { b", " } else { b",\t" });
        }
        let name = if shape & 2 == 2 {
            format!("\"policy{i}\"")
        } else {
            format!("p{i}")
        };
        out.extend_from_slice(name.as_bytes());
        let r = if shape & 4 == 4 {
            0
        } else {
            u64::from(input.byte())
        };
        // At most 15 digits: RFC 9651 integers.
        let t = (shape & 8 == 8).then(|| input.u64() % 1_000_000_000_000_000);
        if shape & 16 == 16 {
            out.extend_from_slice(b";w=60");
        }
        out.extend_from_slice(format!(";r={r}").as_bytes());
        if let Some(t) = t {
            out.extend_from_slice(format!(";t={t}").as_bytes());
            if r == 0 {
                wait = Some(wait.map_or(t, |w| w.max(t)));
            }
        }
        if shape & 32 == 32 {
            out.extend_from_slice(b";pk=:AAE=:;q=?1");
        }
    }
    (out, wait)
}

/// Reads the next header line and, for generated values, checks its round trip.
fn next_header(input: &mut Input<'_>, now: UnixTime) -> (Kind, Vec<u8>, Vec<u8>) {
    let op = input.byte();
    let case = input.byte();
    let (kind, name) = match op % 8 {
        i @ 0..5 => {
            let s = HintSource::ALL[usize::from(i)];
            (Kind::Source(s), case_mangle(s.header_name(), case))
        }
        5 => (Kind::Date, case_mangle("date", case)),
        _ => (
            Kind::Other,
            NEAR_MISSES[usize::from(case) % NEAR_MISSES.len()]
                .as_bytes()
                .to_vec(),
        ),
    };
    if op >> 3 & 3 == 0 || kind == Kind::Other {
        let len = usize::from(input.byte() % 48);
        return (kind, name, input.take(len).to_vec());
    }
    let style = input.byte();
    let single = |name: &[u8], value: &[u8], source: HintSource| {
        HintReader::with_order(&[source])
            .read([(name, value)], now)
            .map(|h| {
                assert_eq!(h.source, source);
                h.hint
            })
    };
    let value = match kind {
        Kind::Source(HintSource::RetryAfter) if op & 32 == 32 => {
            let t = UnixTime::from_secs(input.u64() % (MAX_SECS + 1));
            let text = format_imf_fixdate(t).to_vec();
            assert_eq!(parse_retry_after(&text, now), Ok(RetryAfter::Date(t)));
            text
        }
        Kind::Source(HintSource::RetryAfter) => {
            let secs = input.edgy_u64();
            let text = digits_text(secs, style);
            let d = Duration::from_secs(secs);
            assert_eq!(parse_retry_after(&text, now), Ok(RetryAfter::Delay(d)));
            assert_eq!(
                single(&name, &text, HintSource::RetryAfter),
                Some(ServerHint::After(d))
            );
            text
        }
        Kind::Date => {
            let t = UnixTime::from_secs(input.u64() % (MAX_SECS + 1));
            let text = format_imf_fixdate(t).to_vec();
            assert_eq!(parse_http_date(&text, now), Ok(t));
            text
        }
        Kind::Source(HintSource::RateLimit) => {
            let (text, wait) = rate_limit_text(input);
            assert_eq!(
                rate_line(&text, now),
                Ok(wait),
                "{:?}",
                String::from_utf8_lossy(&text)
            );
            text
        }
        Kind::Source(HintSource::GrpcRetryPushbackMs) => {
            let v = i64::from(input.u32() as i32) * if op & 32 == 32 { 3 } else { 1 };
            let mut text = digits_text(v.unsigned_abs(), style);
            if v < 0 || op & 64 == 64 {
                let at = text.iter().position(u8::is_ascii_digit).unwrap_or(0);
                text.insert(at, b'-');
            }
            let negative = text.contains(&b'-');
            let expected = if v == 0 {
                ServerHint::After(Duration::ZERO)
            } else if negative || v > i64::from(i32::MAX) {
                ServerHint::DoNotRetry
            } else {
                ServerHint::After(Duration::from_millis(v.unsigned_abs()))
            };
            assert_eq!(
                single(&name, &text, HintSource::GrpcRetryPushbackMs),
                Some(expected),
                "{:?}",
                String::from_utf8_lossy(&text)
            );
            text
        }
        Kind::Source(HintSource::XAmzRetryAfter) => {
            let ms = input.edgy_u64();
            let text = digits_text(ms, style);
            assert_eq!(
                single(&name, &text, HintSource::XAmzRetryAfter),
                Some(ServerHint::After(Duration::from_millis(ms)))
            );
            text
        }
        Kind::Source(HintSource::XRateLimitReset) => {
            let epoch = if op & 32 == 32 {
                // Near `now`, where the answer is neither zero nor huge.
                now.as_secs().saturating_add(u64::from(input.u16()))
            } else {
                input.edgy_u64()
            };
            let text = digits_text(epoch, style);
            let expected = UnixTime::from_secs(epoch).saturating_duration_since(now);
            assert_eq!(
                single(&name, &text, HintSource::XRateLimitReset),
                Some(ServerHint::After(expected))
            );
            text
        }
        Kind::Other => unreachable!("handled above"),
    };
    (kind, name, value)
}

/// The model's answer for a header list.
fn model(
    headers: &[(Kind, Vec<u8>, Vec<u8>)],
    order: &[HintSource],
    now: UnixTime,
) -> Option<SourcedHint> {
    let mut date = Slot::Absent;
    let mut retry_after = Slot::Absent;
    let mut reset = Slot::Absent;
    let mut amz = Slot::Absent;
    let mut pushback = Slot::Absent;
    let mut rate: Option<RateLine> = None;
    for (kind, _, value) in headers {
        match kind {
            Kind::Other => {}
            Kind::Date => date = date.add(parse_http_date(value, now).ok()),
            Kind::Source(HintSource::RetryAfter) => {
                retry_after = retry_after.add(parse_retry_after(value, now).ok());
            }
            Kind::Source(HintSource::XRateLimitReset) => {
                reset = reset.add(digits_value(trim_ows(value)));
            }
            Kind::Source(HintSource::XAmzRetryAfter) => {
                amz = amz.add(digits_value(trim_ows(value)));
            }
            Kind::Source(HintSource::GrpcRetryPushbackMs) => {
                pushback = pushback.add(Some(grpc_model(value)));
            }
            Kind::Source(HintSource::RateLimit) => {
                let line = rate_line(value, now);
                rate = Some(match (rate, line) {
                    (None, l) => l,
                    (Some(Err(())), _) | (_, Err(())) => Err(()),
                    (Some(Ok(a)), Ok(b)) => Ok(match (a, b) {
                        (Some(x), Some(y)) => Some(x.max(y)),
                        (x, y) => x.or(y),
                    }),
                });
            }
        }
    }
    let origin = date.valid().unwrap_or(now);
    let hint = |s: HintSource| -> Option<ServerHint> {
        match s {
            HintSource::RetryAfter => retry_after.valid().map(|ra| {
                ServerHint::After(match ra {
                    RetryAfter::Delay(d) => d,
                    RetryAfter::Date(t) => t.saturating_duration_since(origin),
                })
            }),
            HintSource::RateLimit => match rate {
                Some(Ok(Some(t))) => Some(ServerHint::After(Duration::from_secs(t))),
                _ => None,
            },
            HintSource::XRateLimitReset => reset.valid().map(|e| {
                ServerHint::After(UnixTime::from_secs(e).saturating_duration_since(origin))
            }),
            HintSource::GrpcRetryPushbackMs => match pushback {
                Slot::Absent => None,
                Slot::Valid(Pushback::Millis(ms)) => {
                    Some(ServerHint::After(Duration::from_millis(ms)))
                }
                Slot::Valid(Pushback::Refuse) | Slot::Malformed => Some(ServerHint::DoNotRetry),
            },
            HintSource::XAmzRetryAfter => amz
                .valid()
                .map(|ms| ServerHint::After(Duration::from_millis(ms))),
        }
    };
    let grpc = HintSource::GrpcRetryPushbackMs;
    if order.contains(&grpc) && hint(grpc) == Some(ServerHint::DoNotRetry) {
        return Some(SourcedHint {
            hint: ServerHint::DoNotRetry,
            source: grpc,
        });
    }
    order
        .iter()
        .find_map(|&source| hint(source).map(|hint| SourcedHint { hint, source }))
}

/// The `hint_headers` target: a reader configuration and a list of header lines.
///
/// Input layout: `now` (u64 LE, reduced so that RFC 850 years stay in range), a byte picking
/// a permutation of the five sources, a byte whose low five bits pick which are enabled (all
/// when the input is that short) and whose high bits repeat a source in the list passed to
/// `with_order`; then header lines, each an op byte (name, raw or generated value), a
/// case-mangling byte, and the value's bytes. Panics only when a law in the module docs breaks.
pub fn hint_headers(data: &[u8]) {
    let mut input = Input::new(data);
    let now = UnixTime::from_secs(input.u64() % (MAX_REF_SECS + 1));
    let perm = usize::from(input.byte()) % 120;
    let mask = input.next().unwrap_or(0xff);

    // The permutation with index `perm` (factorial number system), then the enabled subset.
    let mut pool: Vec<HintSource> = HintSource::ALL.to_vec();
    let mut order = Vec::new();
    let mut k = perm;
    for radix in (1..=5).rev() {
        order.push(pool.remove(k % radix));
        k /= radix;
    }
    let order: Vec<HintSource> = order
        .into_iter()
        .enumerate()
        .filter(|(i, _)| mask >> i & 1 == 1)
        .map(|(_, s)| s)
        .collect();
    let mut listed = order.clone();
    if mask >> 5 != 0 {
        if let Some(&first) = order.first() {
            listed.push(first);
        }
        if let Some(&last) = order.last() {
            listed.insert(0, last);
        }
    }
    // A source listed twice counts at its first position.
    let mut deduped: Vec<HintSource> = Vec::new();
    for &s in &listed {
        if !deduped.contains(&s) {
            deduped.push(s);
        }
    }
    let reader = HintReader::with_order(&listed);
    assert_eq!(reader.order().collect::<Vec<_>>(), deduped);

    let mut headers = Vec::new();
    while !input.is_empty() && headers.len() < 12 {
        headers.push(next_header(&mut input, now));
    }

    let expected = model(&headers, &deduped, now);
    let pairs = || headers.iter().map(|(_, n, v)| (&n[..], &v[..]));
    assert_eq!(reader.read(pairs(), now), expected, "{headers:?}");
    assert_eq!(
        reader.read(pairs().rev(), now),
        expected,
        "the order of the lines matters"
    );
    // The default reader is the full default order.
    let default_expected = model(&headers, &HintSource::ALL, now);
    assert_eq!(HintReader::new().read(pairs(), now), default_expected);
    // A refusal is only ever gRPC's; a source not enabled never answers.
    if let Some(h) = expected {
        assert!(deduped.contains(&h.source));
        if h.hint == ServerHint::DoNotRetry {
            assert_eq!(h.source, HintSource::GrpcRetryPushbackMs);
        }
    }
}
