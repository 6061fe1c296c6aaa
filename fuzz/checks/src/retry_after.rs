//! Checks for `relent::hint`: the Retry-After / HTTP-date parser, the
//! header reader and the hint policy. It checks laws, not just "no panic":
//!
//! 1. delay-seconds: a value of only digits parses to exactly that many
//!    seconds, saturated at `u64::MAX`, and nothing else parses to a delay;
//! 2. oracle: whenever `httpdate` accepts the value (and the value has no
//!    edge whitespace other than SP/HTAB, which httpdate trims and HTTP
//!    forbids), we give the same instant, with the reference at which RFC
//!    9110's 50-year rule equals httpdate's fixed RFC 850 pivot; the only
//!    value we accept that httpdate rejects is the leap second `23:59:60`,
//!    and the only one httpdate accepts that we reject is an RFC 850 date
//!    without the SP between year and hour (httpdate does not check it);
//! 3. formatting: a parsed date round-trips through `format_imf_fixdate`,
//!    whose output equals `httpdate::fmt_http_date`;
//! 4. references: only an RFC 850 date depends on the reference, and then
//!    exactly as the 50-year rule says;
//! 5. policy: `delay_from` measures against the response `Date` or `now`;
//!    `judge` never says `Wait` beyond the cap or at/after the deadline, and
//!    always carries the hint when it refuses;
//! 6. reader: a lone or duplicated `Retry-After` yields exactly the parsed
//!    hint; every source copes with any bytes; gRPC pushback never vanishes.
//!
//! Input layout: 24 parameter bytes (zero-padded if short), then the value:
//! `now` (u64 LE), the response `Date` (u64 LE; its top bit picks `OnExcess`),
//! the cap in ms (u32 LE), the time left in ms (u32 LE; `u32::MAX` = none).

use std::time::{Duration, UNIX_EPOCH};

use relent::UnixTime;

use crate::input::{digits_value, trim_ows};
use relent::hint::{
    ExcessKind, HintPolicy, HintReader, HintSource, HintVerdict, OnExcess, ParseError, RetryAfter,
    ServerHint, SourcedHint, format_imf_fixdate, parse_http_date, parse_retry_after,
};

/// 9999-12-31T23:59:59Z: the last instant both sides can format.
pub(crate) const MAX_SECS: u64 = 253_402_300_799;
/// References at most this late leave room for "reference + 50 years" ≤ 9999.
pub(crate) const MAX_REF_SECS: u64 = MAX_SECS - 50 * 366 * 86_400;
/// 2019-12-31T23:59:59Z: here RFC 9110's rule and httpdate's pivot coincide.
const PIVOT_REF: UnixTime = UnixTime::from_secs(1_577_836_799);

fn u64_at(p: &[u8; 24], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&p[at..at + 8]);
    u64::from_le_bytes(b)
}

/// (year, month, day, seconds of day) via httpdate's formatter.
fn civil(secs: u64) -> (u64, u8, u8, u64) {
    let s = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs));
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = months.iter().position(|m| *m == &s[8..11]).unwrap() as u8 + 1;
    (
        s[12..16].parse().unwrap(),
        month,
        s[5..7].parse().unwrap(),
        secs % 86_400,
    )
}

/// The two-digit year if `s` has the RFC 850 layout `Name, DD-Mon-YY HH:MM:SS GMT`.
fn rfc850_yy(s: &[u8]) -> Option<u64> {
    let comma = s.iter().position(|&b| b == b',')?;
    let rest = &s[comma + 1..];
    if rest.len() != 23 || rest[3] != b'-' || rest[7] != b'-' {
        return None;
    }
    digits_value(&rest[8..10])
}

/// RFC 850 layout with something other than SP between `YY` and `HH`, which
/// httpdate 1.0.3 does not check (`parse_rfc850_date` tests `:` at 12 and 15
/// and ` GMT` at 18..22 of the part after the day name, but not byte 9).
fn httpdate_lenient_rfc850(s: &[u8]) -> bool {
    let Some(comma) = s.iter().position(|&b| b == b',') else {
        return false;
    };
    let rest = &s[comma + 1..];
    rest.len() == 23 && rest[10] != b' '
}

fn check_policy(d: Duration, cap: Duration, left: Option<Duration>, on_excess: OnExcess) {
    let policy = HintPolicy::new(cap, on_excess);
    let verdict = policy.judge(d, left);
    let (hint, limit, kind) = match verdict {
        HintVerdict::Wait(w) => {
            assert_eq!(w, d, "Wait must obey the hint exactly");
            assert!(w <= cap, "Wait beyond the cap");
            assert!(left.is_none_or(|l| w < l), "Wait reaching the deadline");
            return;
        }
        HintVerdict::GiveUp { hint, limit, kind } => {
            assert_eq!(on_excess, OnExcess::GiveUp);
            (hint, limit, kind)
        }
        HintVerdict::UseBackoff { hint, limit, kind } => {
            assert_eq!(on_excess, OnExcess::UseBackoff);
            (hint, limit, kind)
        }
    };
    assert_eq!(hint, d, "a refusal carries the hint");
    match kind {
        ExcessKind::Cap => {
            assert_eq!(limit, cap);
            assert!(hint > cap);
            assert!(
                left.is_none_or(|l| hint < l),
                "deadline excess is named first"
            );
        }
        ExcessKind::Deadline => {
            assert_eq!(Some(limit), left);
            assert!(hint >= limit);
        }
    }
}

/// The `retry_after` target: one header value and its parameters.
///
/// Input layout: 24 parameter bytes (zero-padded if short), then the value: `now` (u64 LE),
/// the response `Date` (u64 LE; its top bit picks `OnExcess`), the cap in ms (u32 LE), the
/// time left in ms (u32 LE; `u32::MAX` = none). Panics only when a law in the module docs breaks.
pub fn retry_after(data: &[u8]) {
    let (head, value) = data.split_at(data.len().min(24));
    let mut p = [0u8; 24];
    p[..head.len()].copy_from_slice(head);
    let raw_now = u64_at(&p, 0);
    let raw_date = u64_at(&p, 8);
    let cap = Duration::from_millis(u64::from(u32::from_le_bytes([p[16], p[17], p[18], p[19]])));
    let left_ms = u32::from_le_bytes([p[20], p[21], p[22], p[23]]);

    let now = UnixTime::from_secs(raw_now % (MAX_REF_SECS + 1));
    let date_header = UnixTime::from_secs(raw_date % (MAX_SECS + 1));
    let left = (left_ms != u32::MAX).then(|| Duration::from_millis(u64::from(left_ms)));
    let on_excess = if raw_date >> 63 == 0 {
        OnExcess::GiveUp
    } else {
        OnExcess::UseBackoff
    };
    let trimmed = trim_ows(value);

    // No reference, however absurd, makes the parser panic.
    let _ = parse_retry_after(value, UnixTime::from_secs(raw_now));
    let _ = parse_http_date(value, UnixTime::from_secs(raw_date));

    // 1. delay-seconds.
    let ra = parse_retry_after(value, now);
    match digits_value(trimmed) {
        Some(secs) => assert_eq!(ra, Ok(RetryAfter::Delay(Duration::from_secs(secs)))),
        None => assert!(!matches!(ra, Ok(RetryAfter::Delay(_))), "{ra:?}"),
    }
    if trimmed.is_empty() {
        assert_eq!(ra, Err(ParseError::Empty));
    }
    if !trimmed.is_ascii() {
        assert_eq!(ra, Err(ParseError::NonAscii));
    }

    // 2. The httpdate oracle.
    let at_pivot = parse_http_date(value, PIVOT_REF);
    if let Ok(s) = std::str::from_utf8(value) {
        let oracle = httpdate::parse_http_date(s);
        let edges_are_ows = s.trim_matches([' ', '\t']) == s.trim();
        if let Ok(t) = oracle {
            if !edges_are_ows {
                // httpdate trims CR/LF/VT/FF too; HTTP field values cannot hold them.
            } else if httpdate_lenient_rfc850(trimmed) {
                // httpdate never looks at the byte between the RFC 850 year
                // and the hour; the grammar says SP, and so do we.
                assert_eq!(at_pivot, Err(ParseError::UnknownFormat), "{s:?}");
            } else {
                assert_eq!(at_pivot, Ok(UnixTime::from(t)), "{s:?}");
            }
        }
        if at_pivot.is_ok() && oracle.is_err() {
            assert!(
                s.contains("23:59:60"),
                "we accept what httpdate rejects: {s:?} -> {at_pivot:?}"
            );
        }
    }

    // 3. Formatting round-trips.
    if let Ok(t) = at_pivot {
        if t.as_secs() <= MAX_SECS {
            let text = format_imf_fixdate(t);
            assert_eq!(parse_http_date(&text, now), Ok(t));
            let theirs = httpdate::fmt_http_date(t.into());
            assert_eq!(&text[..], theirs.as_bytes());
        }
    }

    // 4. Only RFC 850 depends on the reference, and as the 50-year rule says.
    let at_now = parse_http_date(value, now);
    match rfc850_yy(trimmed) {
        None => assert_eq!(at_now, at_pivot),
        Some(yy) => {
            if let Ok(t) = at_now {
                if !trimmed.windows(3).any(|w| w == b":60") {
                    let (year, month, day, tod) = civil(t.as_secs());
                    assert_eq!(year % 100, yy);
                    let (ry, rm, rd, rt) = civil(now.as_secs());
                    // The first year ending in yy not before the reference year.
                    let mut candidate = ry / 100 * 100 + yy;
                    if candidate < ry {
                        candidate += 100;
                    }
                    let expected = if (candidate, month, day, tod) > (ry + 50, rm, rd, rt) {
                        candidate - 100
                    } else {
                        candidate
                    };
                    assert_eq!(year, expected, "{trimmed:?} at reference {ry}-{rm}-{rd}");
                }
            } else if at_pivot.is_ok() {
                assert!(
                    matches!(
                        at_now,
                        Err(ParseError::WeekdayMismatch
                            | ParseError::DayOutOfRange
                            | ParseError::BeforeEpoch)
                    ),
                    "{at_now:?}"
                );
            }
        }
    }

    // 5. delay_from and the policy.
    if let Ok(hint) = ra {
        for origin in [None, Some(date_header)] {
            let d = hint.delay_from(origin, now);
            match hint {
                RetryAfter::Delay(x) => assert_eq!(d, x),
                RetryAfter::Date(t) => {
                    assert_eq!(d, t.saturating_duration_since(origin.unwrap_or(now)));
                }
            }
            check_policy(d, cap, left, on_excess);
            check_policy(d, HintPolicy::DEFAULT_CAP, None, OnExcess::GiveUp);
        }
    }

    // 6. The reader.
    let reader = HintReader::new();
    let expected = ra.ok().map(|h| SourcedHint {
        hint: ServerHint::After(h.delay_from(None, now)),
        source: HintSource::RetryAfter,
    });
    assert_eq!(reader.read([(&b"Retry-After"[..], value)], now), expected);
    assert_eq!(
        reader.read(
            [(&b"retry-after"[..], value), (&b"RETRY-AFTER"[..], value)],
            now
        ),
        expected
    );
    let date_text = format_imf_fixdate(date_header);
    let with_date = ra.ok().map(|h| SourcedHint {
        hint: ServerHint::After(h.delay_from(Some(date_header), now)),
        source: HintSource::RetryAfter,
    });
    assert_eq!(
        reader.read(
            [(&b"Date"[..], &date_text[..]), (&b"Retry-After"[..], value)],
            now
        ),
        with_date
    );
    for source in HintSource::ALL {
        let only = HintReader::with_order(&[source]);
        let name = source.header_name().as_bytes();
        let got = only.read([(name, value)], now);
        if let Some(h) = got {
            assert_eq!(h.source, source);
        }
        match source {
            HintSource::GrpcRetryPushbackMs => {
                let h = got.expect("gRPC pushback never vanishes");
                let ms = trim_ows(value);
                let plain = digits_value(ms).filter(|&v| v <= i32::MAX as u64);
                match (plain, h.hint) {
                    (Some(v), ServerHint::After(d)) => assert_eq!(d, Duration::from_millis(v)),
                    (None, ServerHint::DoNotRetry) => {}
                    (None, ServerHint::After(d)) => {
                        assert_eq!(d, Duration::ZERO, "only -0 may read as a wait: {ms:?}")
                    }
                    (Some(_), ServerHint::DoNotRetry) => panic!("valid pushback refused: {ms:?}"),
                }
            }
            HintSource::XAmzRetryAfter => assert_eq!(
                got.map(|h| h.hint),
                digits_value(trimmed).map(|ms| ServerHint::After(Duration::from_millis(ms)))
            ),
            HintSource::XRateLimitReset => assert_eq!(
                got.map(|h| h.hint),
                digits_value(trimmed).map(|epoch| {
                    ServerHint::After(UnixTime::from_secs(epoch).saturating_duration_since(now))
                })
            ),
            HintSource::RateLimit => {
                if let Some(h) = got {
                    let ServerHint::After(d) = h.hint else {
                        panic!("RateLimit never refuses")
                    };
                    assert_eq!(d.subsec_nanos(), 0);
                }
            }
            HintSource::RetryAfter => assert_eq!(got, expected),
        }
    }
    // All sources at once, at an absurd time: no panic.
    let all: Vec<(&[u8], &[u8])> = HintSource::ALL
        .iter()
        .map(|s| (s.header_name().as_bytes(), value))
        .chain([(&b"date"[..], value)])
        .collect();
    let _ = reader.read(all.iter().copied(), UnixTime::from_secs(raw_now));
}
