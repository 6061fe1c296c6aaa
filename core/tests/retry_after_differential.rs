//! Differential tests: our no_std HTTP-date parser against `httpdate` 1.0.3.
//!
//! Timestamps span httpdate's whole range, 1970-01-01 to 9999-12-31T23:59:59
//! (`httpdate` rejects years outside 1970..=9999 and panics formatting later
//! ones). Each timestamp is rendered by `httpdate::fmt_http_date` as an
//! IMF-fixdate and rearranged, field by field, into RFC 850 and asctime, so
//! the renderings owe nothing to the code under test.
//!
//! Two small documented differences: the leap second `23:59:60`, which RFC
//! 9110 allows and httpdate rejects, and the SP between an RFC 850 year and
//! hour, which httpdate does not check. The main one is the RFC 850 two-digit
//! year. httpdate uses a fixed pivot (`src/date.rs`, `parse_rfc850_date`:
//! `yy < 70` → 20yy, else 19yy), i.e. always the window 1970..=2069. We apply
//! RFC 9110's 50-year rule against a reference time: the first year ending
//! in `yy` not before the reference year, minus 100 if that is more than 50
//! years after the reference. The two coincide exactly when the reference is
//! 2019-12-31T23:59:59Z (then "more than 50 years ahead" means "after
//! 2069-12-31T23:59:59"), which the first RFC 850 property checks; the
//! others pin down where and how they differ.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use relent::UnixTime;
use relent::hint::{
    ParseError, RetryAfter, format_imf_fixdate, parse_http_date, parse_retry_after,
};

/// 9999-12-31T23:59:59Z.
const MAX_SECS: u64 = 253_402_300_799;
/// 2069-12-31T23:59:59Z, the last instant httpdate's RFC 850 pivot can reach.
const PIVOT_LAST: u64 = 3_155_759_999;
/// 2019-12-31T23:59:59Z: the reference at which the 50-year rule equals httpdate's pivot.
const PIVOT_REF: UnixTime = UnixTime::from_secs(1_577_836_799);
/// 2026-11-22T00:00:00Z.
const NOW: UnixTime = UnixTime::from_secs(1_795_305_600);
/// 49 years of 365 days: always less than 49 calendar years.
const FORTY_NINE_YEARS: u64 = 49 * 365 * 86_400;

/// The fields of an IMF-fixdate, as text.
#[derive(Debug, Clone)]
struct Parts {
    wday: String,
    day: String,
    mon: String,
    year: String,
    time: String,
}

fn oracle_imf(secs: u64) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs))
}

fn parts(secs: u64) -> Parts {
    let s = oracle_imf(secs);
    // "Sun, 06 Nov 1994 08:49:37 GMT"
    Parts {
        wday: s[0..3].to_owned(),
        day: s[5..7].to_owned(),
        mon: s[8..11].to_owned(),
        year: s[12..16].to_owned(),
        time: s[17..25].to_owned(),
    }
}

fn long_day(short: &str) -> &'static str {
    match short {
        "Mon" => "Monday",
        "Tue" => "Tuesday",
        "Wed" => "Wednesday",
        "Thu" => "Thursday",
        "Fri" => "Friday",
        "Sat" => "Saturday",
        "Sun" => "Sunday",
        other => panic!("unexpected day name {other}"),
    }
}

fn imf(p: &Parts) -> String {
    format!("{}, {} {} {} {} GMT", p.wday, p.day, p.mon, p.year, p.time)
}

fn rfc850(p: &Parts) -> String {
    format!(
        "{}, {}-{}-{} {} GMT",
        long_day(&p.wday),
        p.day,
        p.mon,
        &p.year[2..],
        p.time
    )
}

/// `Sun Nov  6 08:49:37 1994` (space-padded day), or `Sun Nov 06 …` if `zero_pad`.
fn asctime(p: &Parts, zero_pad: bool) -> String {
    let day = if zero_pad || !p.day.starts_with('0') {
        p.day.clone()
    } else {
        format!(" {}", &p.day[1..])
    };
    format!("{} {} {} {} {}", p.wday, p.mon, day, p.time, p.year)
}

fn httpdate_secs(s: &str) -> Option<u64> {
    httpdate::parse_http_date(s)
        .ok()
        .map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_secs())
}

fn ours(s: &str, reference: UnixTime) -> Result<u64, ParseError> {
    parse_http_date(s.as_bytes(), reference).map(UnixTime::as_secs)
}

/// (year, month, day, seconds of day) of a timestamp, read off the oracle's rendering.
fn civil(secs: u64) -> (u64, u8, u8, u64) {
    let p = parts(secs);
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == p.mon)
    .unwrap() as u8
        + 1;
    (
        p.year.parse().unwrap(),
        month,
        p.day.parse().unwrap(),
        secs % 86_400,
    )
}

/// RFC 9110's 50-year rule, written independently of the library.
fn rule_year(reference: u64, yy: u64, month: u8, day: u8, tod: u64) -> i64 {
    let (ry, rm, rd, rt) = civil(reference);
    let mut candidate = ry / 100 * 100 + yy;
    if candidate < ry {
        candidate += 100;
    }
    if (candidate, month, day, tod) > (ry + 50, rm, rd, rt) {
        candidate as i64 - 100
    } else {
        candidate as i64
    }
}

/// httpdate's fixed pivot, from its source.
fn pivot_year(yy: u64) -> u64 {
    if yy < 70 { 2000 + yy } else { 1900 + yy }
}

/// What httpdate says the IMF-fixdate with `year` substituted means (it
/// validates the calendar and the weekday), or `None` if it rejects it.
fn httpdate_with_year(p: &Parts, year: u64) -> Option<u64> {
    let q = Parts {
        year: format!("{year:04}"),
        ..p.clone()
    };
    httpdate_secs(&imf(&q))
}

fn any_secs() -> impl Strategy<Value = u64> {
    prop_oneof![
        0..=MAX_SECS,
        0..=PIVOT_LAST,
        // Around leap days and century boundaries.
        (0u64..8000).prop_map(|y| {
            let y = 1972 + y; // a year, not necessarily leap
            // 28 Feb of year y, 12:00, then ±2 days.
            let feb28 = httpdate_secs(&format!("Mon, 28 Feb {y:04} 12:00:00 GMT"))
                .or_else(|| {
                    // Find the right weekday by trying all seven.
                    ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
                        .iter()
                        .find_map(|d| httpdate_secs(&format!("{d}, 28 Feb {y:04} 12:00:00 GMT")))
                })
                .unwrap_or(0);
            feb28.min(MAX_SECS)
        }),
        Just(0),
        Just(MAX_SECS),
        Just(PIVOT_LAST),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn imf_fixdate_equals_httpdate(secs in any_secs(), reference in 0..=MAX_SECS) {
        let s = oracle_imf(secs);
        prop_assert_eq!(httpdate_secs(&s), Some(secs));
        prop_assert_eq!(ours(&s, UnixTime::from_secs(reference)), Ok(secs));
        // And through the Retry-After entry point.
        prop_assert_eq!(
            parse_retry_after(s.as_bytes(), UnixTime::from_secs(reference)),
            Ok(RetryAfter::Date(UnixTime::from_secs(secs)))
        );
    }

    #[test]
    fn formatter_equals_httpdate(secs in any_secs(), nanos in 0u32..1_000_000_000) {
        let t = UnixTime::from_duration(Duration::new(secs, nanos));
        let s = httpdate::fmt_http_date(UNIX_EPOCH + Duration::new(secs, nanos));
        prop_assert_eq!(&format_imf_fixdate(t)[..], s.as_bytes());
    }

    #[test]
    fn asctime_equals_httpdate(secs in any_secs(), zero_pad: bool, reference in 0..=MAX_SECS) {
        let s = asctime(&parts(secs), zero_pad);
        prop_assert_eq!(httpdate_secs(&s), Some(secs), "{}", s);
        prop_assert_eq!(ours(&s, UnixTime::from_secs(reference)), Ok(secs), "{}", s);
    }

    #[test]
    fn rfc850_equals_httpdate_at_the_pivot_reference(secs in 0..=PIVOT_LAST) {
        let s = rfc850(&parts(secs));
        prop_assert_eq!(httpdate_secs(&s), Some(secs), "{}", s);
        prop_assert_eq!(ours(&s, PIVOT_REF), Ok(secs), "{}", s);
    }

    #[test]
    fn rfc850_is_exact_within_fifty_years_of_the_reference(
        secs in any_secs(),
        later in 0..=FORTY_NINE_YEARS,
    ) {
        // Whenever the reference is at most 49 years after the timestamp, the
        // 50-year rule recovers the exact year, in every century.
        let s = rfc850(&parts(secs));
        let reference = UnixTime::from_secs(secs.saturating_add(later));
        prop_assert_eq!(ours(&s, reference), Ok(secs), "{}", s);
    }

    #[test]
    fn rfc850_follows_the_fifty_year_rule_for_any_reference(
        secs in any_secs(),
        reference in 0..=(MAX_SECS - 50 * 366 * 86_400),
    ) {
        let p = parts(secs);
        let s = rfc850(&p);
        let (_, month, day, tod) = civil(secs);
        let yy: u64 = p.year[2..].parse().unwrap();
        let year = rule_year(reference, yy, month, day, tod);
        let got = ours(&s, UnixTime::from_secs(reference));
        if year < 1970 {
            prop_assert_eq!(got, Err(ParseError::BeforeEpoch), "{}", s);
        } else {
            // httpdate, given the year the rule picks as a four-digit IMF-fixdate,
            // is the oracle (calendar and weekday checks included).
            match httpdate_with_year(&p, year as u64) {
                Some(expected) => prop_assert_eq!(got, Ok(expected), "{}", s),
                None => prop_assert!(
                    matches!(got, Err(ParseError::WeekdayMismatch | ParseError::DayOutOfRange)),
                    "{} -> {:?}", s, got
                ),
            }
        }
        // httpdate, for its part, follows its fixed pivot.
        prop_assert_eq!(httpdate_secs(&s), httpdate_with_year(&p, pivot_year(yy)));
        // Where the two rules pick the same year, the parsers agree.
        if year == pivot_year(yy) as i64 {
            prop_assert_eq!(got.ok(), httpdate_secs(&s));
        }
    }

    #[test]
    fn optional_whitespace_is_ignored_like_httpdate(
        secs in any_secs(),
        lead in "[ \t]{0,4}",
        trail in "[ \t]{0,4}",
    ) {
        let s = format!("{lead}{}{trail}", oracle_imf(secs));
        prop_assert_eq!(httpdate_secs(&s), Some(secs));
        prop_assert_eq!(ours(&s, NOW), Ok(secs));
    }

    #[test]
    fn a_wrong_weekday_is_rejected_by_both(secs in any_secs(), shift in 1usize..7) {
        let mut p = parts(secs);
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
        let i = days.iter().position(|d| *d == p.wday).unwrap();
        p.wday = days[(i + shift) % 7].to_owned();
        for s in [imf(&p), asctime(&p, false)] {
            prop_assert_eq!(httpdate_secs(&s), None);
            prop_assert_eq!(ours(&s, NOW), Err(ParseError::WeekdayMismatch));
        }
    }

    #[test]
    fn delay_seconds_round_trip(n: u64) {
        prop_assert_eq!(
            parse_retry_after(n.to_string().as_bytes(), NOW),
            Ok(RetryAfter::Delay(Duration::from_secs(n)))
        );
    }
}

/// The two-digit-year cases where RFC 9110's rule and httpdate's pivot differ,
/// spelled out, with "now" = 2026-11-22.
#[test]
fn two_digit_years_where_the_rules_differ() {
    // 2070-01-01 was a Wednesday, 1970-01-01 a Thursday. Seen from 2026, "70"
    // is 44 years ahead, so RFC 9110 reads 2070; httpdate always reads 1970.
    let wed = "Wednesday, 01-Jan-70 00:00:00 GMT";
    assert_eq!(ours(wed, NOW), Ok(3_155_760_000)); // 2070-01-01
    assert_eq!(httpdate_secs(wed), None); // 1970-01-01 is no Wednesday
    let thu = "Thursday, 01-Jan-70 00:00:00 GMT";
    assert_eq!(httpdate_secs(thu), Some(0));
    assert_eq!(ours(thu, NOW), Err(ParseError::WeekdayMismatch));
    // At the pivot reference the rules coincide.
    assert_eq!(ours(thu, PIVOT_REF), Ok(0));

    // The edge of the window: 2076-11-22 is exactly 50 years after now (not
    // more), 2076-11-23 is more, so it means 1976-11-23.
    let edge = "Sunday, 22-Nov-76 00:00:00 GMT";
    assert_eq!(ours(edge, NOW), Ok(3_373_228_800)); // 2076-11-22, a Sunday
    assert_eq!(httpdate_secs(edge), None); // 1976-11-22 was a Monday
    let past = "Tuesday, 23-Nov-76 00:00:00 GMT";
    assert_eq!(ours(past, NOW), Ok(217_555_200)); // 1976-11-23
    assert_eq!(httpdate_secs(past), Some(217_555_200));

    // As time passes the rules drift apart: seen from 2150, "10" is 2110
    // (2210 would be 60 years ahead), while httpdate still reads 2010.
    let from_2150 = UnixTime::from_secs(5_680_281_600); // 2150-01-01
    let s = "Wednesday, 01-Jan-10 00:00:00 GMT"; // 2110-01-01 was a Wednesday
    assert_eq!(ours(s, from_2150), Ok(4_417_977_600));
    assert_eq!(httpdate_secs(s), None); // 2010-01-01 was a Friday
    // Every 2-digit year from 00 to 69 is read alike by both from 2026; 77-99 too.
    for yy in (0..70).chain(77..100) {
        let year = pivot_year(yy);
        let secs = httpdate_secs(&format!("Mon, 01 Mar {year:04} 00:00:00 GMT"))
            .or_else(|| {
                ["Sun", "Tue", "Wed", "Thu", "Fri", "Sat"]
                    .iter()
                    .find_map(|d| httpdate_secs(&format!("{d}, 01 Mar {year:04} 00:00:00 GMT")))
            })
            .unwrap();
        let s = rfc850(&parts(secs));
        assert_eq!(ours(&s, NOW).ok(), httpdate_secs(&s), "{s}");
        assert_eq!(ours(&s, NOW), Ok(secs), "{s}");
    }
}

/// The leap second: RFC 9110 allows `23:59:60`, httpdate does not. We accept
/// it and, as POSIX time does, put it on the next day's first second.
#[test]
fn leap_second_is_a_documented_extension() {
    let s = "Sat, 31 Dec 2016 23:59:60 GMT";
    assert_eq!(httpdate_secs(s), None);
    assert_eq!(
        ours(s, NOW),
        Ok(httpdate_secs("Sun, 01 Jan 2017 00:00:00 GMT").unwrap())
    );
}

/// Whitespace other than SP/HTAB: httpdate trims any ASCII whitespace; HTTP
/// field values cannot contain CR/LF/VT/FF at all, so we reject them.
#[test]
fn only_ows_is_trimmed() {
    let s = "\r\nSun, 06 Nov 1994 08:49:37 GMT\n";
    assert_eq!(httpdate_secs(s), Some(784_111_777));
    assert_eq!(ours(s, NOW), Err(ParseError::UnknownFormat));
}

#[test]
fn system_time_conversion_round_trips() {
    // UnixTime <-> SystemTime, as used above to compare with httpdate.
    let t = UnixTime::from_secs(784_111_777);
    let st: SystemTime = t.into();
    assert_eq!(httpdate::fmt_http_date(st), "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_eq!(UnixTime::from(st), t);
}

/// Found by the fuzz target: httpdate 1.0.3 never looks at the byte between
/// an RFC 850 date's two-digit year and its hour. The grammar (`date2 SP
/// time-of-day`) requires SP there, and so do we.
#[test]
fn rfc850_separator_is_checked_unlike_httpdate() {
    let s = "Friday, 01-Jan-21T00:00:00 GMT";
    assert_eq!(httpdate_secs(s), Some(1_609_459_200));
    assert_eq!(ours(s, NOW), Err(ParseError::UnknownFormat));
    assert_eq!(
        ours("Friday, 01-Jan-21 00:00:00 GMT", NOW),
        Ok(1_609_459_200)
    );
}

proptest! {
    /// The delay-seconds fast path (1 to 19 bare digits) agrees with the general path: a
    /// value and the same value padded with whitespace (which always takes the general
    /// path) parse alike, and both equal a u128 model that saturates at `u64::MAX` seconds.
    #[test]
    fn delay_seconds_fast_path_agrees_with_the_general_path(
        digits in "[0-9]{1,40}",
        pad in prop::sample::select(vec![" ", "\t", "  "]),
    ) {
        let now = relent::UnixTime::from_secs(1_700_000_000);
        let bare = parse_retry_after(digits.as_bytes(), now);
        let padded = parse_retry_after(format!("{pad}{digits}{pad}").as_bytes(), now);
        prop_assert_eq!(bare, padded);
        let model = digits
            .bytes()
            .fold(0u128, |v, b| (v * 10 + u128::from(b - b'0')).min(u128::from(u64::MAX)));
        let model = u64::try_from(model).unwrap_or(u64::MAX);
        prop_assert_eq!(bare, Ok(RetryAfter::Delay(Duration::from_secs(model))));
    }

    /// Anything that is not all digits never takes the fast path's answer by mistake.
    #[test]
    fn a_short_value_with_one_non_digit_is_not_a_delay(
        digits in "[0-9]{0,18}",
        bad in prop::sample::select(vec![b'+', b'-', b'.', b' ', b'a', b'/', b':', 0x80u8]),
        at in 0usize..19,
    ) {
        let mut value = digits.into_bytes();
        let at = at.min(value.len());
        value.insert(at, bad);
        let now = relent::UnixTime::from_secs(1_700_000_000);
        let parsed = parse_retry_after(&value, now);
        // Leading/trailing whitespace is the only non-digit a delay may carry.
        let trimmed_is_digits = {
            let t: Vec<u8> = value.clone();
            let t = t.trim_ascii();
            !t.is_empty() && t.iter().all(u8::is_ascii_digit)
        };
        if !trimmed_is_digits {
            prop_assert!(!matches!(parsed, Ok(RetryAfter::Delay(_))), "{:?} -> {:?}", value, parsed);
        }
    }
}
