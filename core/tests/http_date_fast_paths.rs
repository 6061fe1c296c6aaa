//! The word-at-a-time IMF-fixdate and asctime parsers, checked through the public API
//! against `httpdate` and against the formatter, on valid dates and on corrupted ones.
//!
//! An IMF-fixdate has exactly one spelling per second, so the parser's specification
//! can be stated without a second parser: a 29-byte value parses to `t` exactly when it
//! is the spelling of `t` (or, for the leap second `23:59:60`, of the second before
//! `t`'s midnight with `60` seconds). Two laws check it from both sides over values that
//! differ from a valid date in one or two bytes, anywhere, by any byte:
//!
//! 1. whatever parses is the spelling of what it parsed to (no false accept);
//! 2. whatever `httpdate` parses and spells back identically, relent parses to the same
//!    instant (no false reject).
//!
//! asctime gets the same two laws, with its two spellings of a one-digit day.
//!
//! RFC 850 dates are checked against an independent model of RFC 9110's 50-year rule:
//! the year is found by brute force over lexicographic `(year, month, day, seconds)`
//! tuples, with the reference's fields read off the formatter, and the instant is
//! whatever the IMF-fixdate spelling of the same fields with that year parses to.

use std::time::{Duration, UNIX_EPOCH};

use proptest::prelude::*;
use relent::UnixTime;
use relent::hint::{format_imf_fixdate, parse_http_date};

/// 9999-12-31T23:59:59Z.
const MAX_SECS: u64 = 253_402_300_799;
const NOW: UnixTime = UnixTime::from_secs(1_795_305_600);

fn imf(secs: u64) -> Vec<u8> {
    format_imf_fixdate(UnixTime::from_secs(secs)).to_vec()
}

/// `Sun Nov  6 08:49:37 1994` from `Sun, 06 Nov 1994 08:49:37 GMT`, or with `06`.
fn asctime(secs: u64, zero_padded: bool) -> Vec<u8> {
    let f = imf(secs);
    let mut out = Vec::with_capacity(24);
    out.extend_from_slice(&f[0..3]);
    out.push(b' ');
    out.extend_from_slice(&f[8..11]);
    out.push(b' ');
    if f[5] == b'0' && !zero_padded {
        out.push(b' ');
    } else {
        out.push(f[5]);
    }
    out.push(f[6]);
    out.push(b' ');
    out.extend_from_slice(&f[17..25]);
    out.push(b' ');
    out.extend_from_slice(&f[12..16]);
    out
}

/// The leap-second spelling `23:59:60` is accepted and means the next midnight.
fn leap_second_of(value: &[u8], t: UnixTime, imf_layout: bool) -> bool {
    let Some(before) = t.as_secs().checked_sub(1) else {
        return false;
    };
    let mut spelled = if imf_layout {
        imf(before)
    } else {
        asctime(before, value[8] != b' ')
    };
    let at = if imf_layout { 23 } else { 17 };
    if spelled[at - 6..at] != *b"23:59:" {
        return false;
    }
    spelled[at] = b'6';
    spelled[at + 1] = b'0';
    spelled == value
}

fn corrupt(mut v: Vec<u8>, edits: &[(usize, u8)]) -> Vec<u8> {
    let len = v.len();
    for &(at, byte) in edits {
        v[at % len] = byte;
    }
    v
}

/// Bytes that make near misses likely: digits, the separators, name letters, anything.
fn byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => b'0'..=b'9',
        1 => prop::sample::select(b" ,:-GMTadeinoruy".to_vec()),
        1 => b'A'..=b'z',
        1 => any::<u8>(),
    ]
}

fn edits() -> impl Strategy<Value = Vec<(usize, u8)>> {
    prop::collection::vec((0usize..29, byte()), 0..=2)
}

fn seconds() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 0..=MAX_SECS,
        // Around the turns of days, months and years, leap days included.
        1 => (0u64..=2_932_896, 0u64..3).prop_map(|(d, k)| (d * 86_400 + k * 86_399).min(MAX_SECS)),
    ]
}

fn check(value: &[u8], imf_layout: bool) -> Result<(), TestCaseError> {
    let ours = parse_http_date(value, NOW);
    if let Ok(t) = ours {
        let spelled = if imf_layout {
            imf(t.as_secs()) == value
        } else {
            asctime(t.as_secs(), false) == value || asctime(t.as_secs(), true) == value
        };
        prop_assert!(
            spelled || leap_second_of(value, t, imf_layout),
            "{:?} parsed to {:?}, which is spelled differently",
            String::from_utf8_lossy(value),
            t
        );
    }
    if let Ok(text) = std::str::from_utf8(value) {
        if let Ok(st) = httpdate::parse_http_date(text) {
            let secs = st
                .duration_since(UNIX_EPOCH)
                .unwrap_or(Duration::ZERO)
                .as_secs();
            let canonical = if imf_layout {
                imf(secs) == value
            } else {
                asctime(secs, false) == value || asctime(secs, true) == value
            };
            if canonical {
                prop_assert_eq!(ours, Ok(UnixTime::from_secs(secs)), "{:?}", text);
            }
        }
    }
    Ok(())
}

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Any combination of well-formed fields, valid or not as a date: day 0..=39, hour
/// 0..=29, minute and second 0..=69, any weekday name (right or wrong), years around
/// the epoch, the century turns and the end of the range.
fn fields() -> impl Strategy<Value = (usize, u32, usize, u32, u32, u32, u32)> {
    (
        0usize..7,
        0u32..=39,
        0usize..12,
        prop_oneof![1960u32..=2110, 9990u32..=9999, 1600u32..=9999],
        0u32..=29,
        0u32..=69,
        0u32..=69,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    /// Field combinations, spelled in both layouts: accepted exactly when they spell a date.
    #[test]
    fn field_combinations((w, d, m, y, hh, mm, ss) in fields()) {
        let imf = format!("{}, {d:02} {} {y:04} {hh:02}:{mm:02}:{ss:02} GMT", DAYS[w], MONTHS[m]);
        check(imf.as_bytes(), true)?;
        let asc = format!("{} {} {d:2} {hh:02}:{mm:02}:{ss:02} {y:04}", DAYS[w], MONTHS[m]);
        check(asc.as_bytes(), false)?;
        let asc0 = format!("{} {} {d:02} {hh:02}:{mm:02}:{ss:02} {y:04}", DAYS[w], MONTHS[m]);
        check(asc0.as_bytes(), false)?;
    }

    #[test]
    fn imf_fixdate_parses_exactly_its_spellings(secs in seconds(), e in edits()) {
        let value = corrupt(imf(secs), &e);
        if e.is_empty() {
            prop_assert_eq!(parse_http_date(&value, NOW), Ok(UnixTime::from_secs(secs)));
        }
        check(&value, true)?;
    }

    #[test]
    fn asctime_parses_exactly_its_spellings(secs in seconds(), padded: bool, e in edits()) {
        let value = corrupt(asctime(secs, padded), &e);
        if e.is_empty() {
            prop_assert_eq!(parse_http_date(&value, NOW), Ok(UnixTime::from_secs(secs)));
        }
        check(&value, false)?;
    }
}

const LONG_DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
/// References at most this late put every RFC 850 year within four digits.
const MAX_REF_SECS: u64 = MAX_SECS - 50 * 366 * 86_400;

/// (year, month 1..=12, day, seconds of day) of `secs`, read off the formatter.
fn civil(secs: u64) -> (u64, u64, u64, u64) {
    let f = String::from_utf8(imf(secs)).unwrap();
    let month = MONTHS.iter().position(|m| *m == &f[8..11]).unwrap() as u64 + 1;
    let n = |r: std::ops::Range<usize>| f[r].parse::<u64>().unwrap();
    (
        n(12..16),
        month,
        n(5..7),
        n(17..19) * 3600 + n(20..22) * 60 + n(23..25),
    )
}

/// The year of an RFC 850 date by RFC 9110's rule as `parse_http_date` documents it
/// (the first year ending in `yy` not before the reference's, unless that is more than
/// 50 years after the reference, then 100 years earlier), searched by brute force:
/// the one year `x` ending in `yy` with `(x − 50, …) ≤ reference < (x + 50, …)`.
fn model_year(yy: u64, (month, day, tod): (u64, u64, u64), reference: u64) -> u64 {
    let r = civil(reference);
    let found: Vec<u64> = (r.0 - 150..=r.0 + 150)
        .filter(|x| x % 100 == yy)
        .filter(|&x| (x - 50, month, day, tod) <= r && r < (x + 50, month, day, tod))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{yy} {month} {day} {tod} at {reference}: {found:?}"
    );
    found[0]
}

/// References anywhere up to [`MAX_REF_SECS`], or within two days of 50 years before
/// `secs` (where the rule turns).
fn reference_for(secs: u64) -> impl Strategy<Value = u64> {
    let fifty_years_before = secs.saturating_sub(1_577_847_600); // 50 × 365.2425 days
    prop_oneof![
        0..=MAX_REF_SECS,
        (0u64..=4 * 86_400).prop_map(move |k| (fifty_years_before + k)
            .saturating_sub(2 * 86_400)
            .min(MAX_REF_SECS)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    /// Every RFC 850 spelling of a date (and of a wrong weekday, and of 23:59:60) parses
    /// to what the IMF-fixdate spelling with the model's year parses to, value or error.
    #[test]
    fn rfc850_follows_the_fifty_year_model(
        (secs, reference) in seconds().prop_flat_map(|s| (Just(s), reference_for(s))),
        wrong_day in 0usize..7, leap_second: bool,
    ) {
        let f = String::from_utf8(imf(secs)).unwrap();
        let mut w = DAYS.iter().position(|d| *d == &f[0..3]).unwrap();
        if wrong_day < 2 {
            w = (w + 1 + wrong_day) % 7;
        }
        let time = if leap_second { "23:59:60" } else { &f[17..25] };
        let (day, month, yy) = (&f[5..7], &f[8..11], &f[14..16]);
        let rfc850 = format!("{}, {day}-{month}-{yy} {time} GMT", LONG_DAYS[w]);
        let (_, m, d, tod) = civil(secs);
        let tod = if leap_second { 86_400 } else { tod };
        let year = model_year(yy.parse().unwrap(), (m, d, tod), reference);
        let same = format!("{}, {day} {month} {year:04} {time} GMT", DAYS[w]);
        prop_assert_eq!(
            parse_http_date(rfc850.as_bytes(), UnixTime::from_secs(reference)),
            parse_http_date(same.as_bytes(), NOW),
            "{} at {}", rfc850, reference
        );
    }
}

/// Every day from 1970 to 9999 at one second before midnight, in both layouts: the
/// fast paths cover each calendar day (29 February included, via the field path).
#[test]
fn every_day_of_the_range() {
    let mut secs = 86_399;
    while secs <= MAX_SECS {
        let t = Ok(UnixTime::from_secs(secs));
        assert_eq!(parse_http_date(&imf(secs), NOW), t);
        assert_eq!(parse_http_date(&asctime(secs, false), NOW), t);
        assert_eq!(parse_http_date(&asctime(secs, true), NOW), t);
        secs += 86_400;
    }
}

/// The leap second, on both layouts, lands on the next midnight.
#[test]
fn leap_seconds() {
    let next = Ok(UnixTime::from_secs(1_483_228_800)); // 2017-01-01
    assert_eq!(parse_http_date(b"Sat, 31 Dec 2016 23:59:60 GMT", NOW), next);
    assert_eq!(parse_http_date(b"Sat Dec 31 23:59:60 2016", NOW), next);
}
