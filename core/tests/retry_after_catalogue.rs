//! Every bad `Retry-After` in relent's bad-input catalogue (listed below), each with
//! its expected outcome: what the parser says, and what the default policy
//! then does with it.

use core::time::Duration;

use relent::UnixTime;
use relent::hint::{
    ExcessKind, HintPolicy, HintReader, HintSource, HintVerdict, OnExcess, ParseError, RetryAfter,
    ServerHint, SourcedHint, parse_retry_after,
};

/// 2026-11-22T00:00:00Z, the "now" of every case.
const NOW: UnixTime = UnixTime::from_secs(1_795_305_600);
const POLICY: HintPolicy = HintPolicy::DEFAULT;

fn parse(v: &[u8]) -> Result<RetryAfter, ParseError> {
    parse_retry_after(v, NOW)
}

fn read(headers: &[(&[u8], &[u8])]) -> Option<SourcedHint> {
    HintReader::new().read(headers.iter().copied(), NOW)
}

fn retry_after_hint(secs: u64) -> Option<SourcedHint> {
    Some(SourcedHint {
        hint: ServerHint::After(Duration::from_secs(secs)),
        source: HintSource::RetryAfter,
    })
}

fn give_up_cap(hint: Duration) -> HintVerdict {
    HintVerdict::GiveUp {
        hint,
        limit: HintPolicy::DEFAULT_CAP,
        kind: ExcessKind::Cap,
    }
}

#[test]
fn empty_is_an_error_and_no_hint() {
    assert_eq!(parse(b""), Err(ParseError::Empty));
    assert_eq!(read(&[(b"Retry-After", b"")]), None);
}

#[test]
fn blank_is_an_error_and_no_hint() {
    assert_eq!(parse(b" "), Err(ParseError::Empty));
    assert_eq!(parse(b" \t \t"), Err(ParseError::Empty));
    assert_eq!(read(&[(b"Retry-After", b" ")]), None);
}

#[test]
fn negative_is_rejected() {
    assert_eq!(parse(b"-1"), Err(ParseError::BadDelaySeconds));
    assert_eq!(read(&[(b"Retry-After", b"-1")]), None);
}

#[test]
fn fraction_is_rejected() {
    assert_eq!(parse(b"1.5"), Err(ParseError::BadDelaySeconds));
    assert_eq!(read(&[(b"Retry-After", b"1.5")]), None);
}

#[test]
fn plus_sign_is_rejected() {
    assert_eq!(parse(b"+5"), Err(ParseError::BadDelaySeconds));
    assert_eq!(read(&[(b"Retry-After", b"+5")]), None);
}

#[test]
fn two_to_the_64_saturates_then_hits_the_cap() {
    // u64::MAX + 1: saturates instead of wrapping to 0 (which would mean "retry now").
    let parsed = parse(b"18446744073709551616");
    let max = Duration::from_secs(u64::MAX);
    assert_eq!(parsed, Ok(RetryAfter::Delay(max)));
    assert_eq!(POLICY.judge(max, None), give_up_cap(max));
    assert_eq!(
        POLICY.with_on_excess(OnExcess::UseBackoff).judge(max, None),
        HintVerdict::UseBackoff {
            hint: max,
            limit: HintPolicy::DEFAULT_CAP,
            kind: ExcessKind::Cap
        }
    );
}

#[test]
fn ninety_nine_digits_saturate_then_hit_the_cap() {
    let digits = [b'9'; 99];
    let max = Duration::from_secs(u64::MAX);
    assert_eq!(parse(&digits), Ok(RetryAfter::Delay(max)));
    // A 99-digit number that is 1 followed by zeros also saturates (no wrap to 0).
    let mut one_then_zeros = [b'0'; 99];
    one_then_zeros[0] = b'1';
    assert_eq!(parse(&one_then_zeros), Ok(RetryAfter::Delay(max)));
    let hint = read(&[(b"Retry-After", &digits)]);
    assert_eq!(hint, retry_after_hint(u64::MAX));
    assert_eq!(POLICY.judge(max, None), give_up_cap(max));
}

#[test]
fn past_date_means_zero_wait() {
    let v = b"Sun, 06 Nov 1994 08:49:37 GMT";
    let parsed = parse(v).unwrap();
    assert_eq!(parsed, RetryAfter::Date(UnixTime::from_secs(784_111_777)));
    assert_eq!(parsed.delay_from(None, NOW), Duration::ZERO);
    assert_eq!(read(&[(b"Retry-After", v)]), retry_after_hint(0));
    assert_eq!(
        POLICY.judge(Duration::ZERO, Some(Duration::from_secs(10))),
        HintVerdict::Wait(Duration::ZERO)
    );
}

#[test]
fn thirty_first_of_february_is_rejected() {
    assert_eq!(
        parse(b"Sun, 31 Feb 2026 00:00:00 GMT"),
        Err(ParseError::DayOutOfRange)
    );
    assert_eq!(
        read(&[(b"Retry-After", b"Sun, 31 Feb 2026 00:00:00 GMT")]),
        None
    );
}

#[test]
fn year_9999_parses_and_is_capped() {
    let v = b"Fri, 31 Dec 9999 23:59:59 GMT";
    let parsed = parse(v).unwrap();
    assert_eq!(
        parsed,
        RetryAfter::Date(UnixTime::from_secs(253_402_300_799))
    );
    let wait = parsed.delay_from(None, NOW);
    assert_eq!(wait, Duration::from_secs(253_402_300_799 - 1_795_305_600));
    assert_eq!(POLICY.judge(wait, None), give_up_cap(wait));
    // The same via the reader, with the response's own Date.
    let hint = read(&[
        (b"Date", b"Sun, 22 Nov 2026 00:00:00 GMT"),
        (b"Retry-After", v),
    ]);
    assert_eq!(hint, retry_after_hint(253_402_300_799 - 1_795_305_600));
}

#[test]
fn lower_case_gmt_is_rejected() {
    // RFC 9110 §5.6.7: HTTP-date is case-sensitive.
    assert_eq!(
        parse(b"Sun, 06 Nov 1994 08:49:37 gmt"),
        Err(ParseError::BadZone)
    );
    assert_eq!(
        parse(b"Sunday, 06-Nov-94 08:49:37 gmt"),
        Err(ParseError::BadZone)
    );
    assert_eq!(
        read(&[(b"Retry-After", b"Sun, 06 Nov 1994 08:49:37 gmt")]),
        None
    );
}

#[test]
fn non_utf8_is_rejected() {
    assert_eq!(parse(b"\xff\xfe"), Err(ParseError::NonAscii));
    assert_eq!(parse(b"12\xc3\x28"), Err(ParseError::NonAscii));
    assert_eq!(
        parse(b"Sun, 06 Nov 1994 08:49:37 GMT\x80"),
        Err(ParseError::NonAscii)
    );
    assert_eq!(read(&[(b"Retry-After", b"\xff\xfe")]), None);
}

#[test]
fn sixty_four_kib_values() {
    const N: usize = 64 * 1024;
    // Digits: saturate, then refused by the cap.
    let digits = vec![b'7'; N];
    assert_eq!(
        parse(&digits),
        Ok(RetryAfter::Delay(Duration::from_secs(u64::MAX)))
    );
    // Junk: an error, no hint.
    let junk = vec![b'x'; N];
    assert_eq!(parse(&junk), Err(ParseError::UnknownFormat));
    assert_eq!(read(&[(b"Retry-After", &junk)]), None);
    // Whitespace padding around a real value is trimmed, however long.
    let mut padded = vec![b' '; N];
    padded.extend_from_slice(b"42");
    padded.extend(core::iter::repeat_n(b'\t', N));
    assert_eq!(
        parse(&padded),
        Ok(RetryAfter::Delay(Duration::from_secs(42)))
    );
    // A date followed by 64 KiB of junk is not a date.
    let mut tail = b"Sun, 06 Nov 1994 08:49:37 GMT".to_vec();
    tail.extend(core::iter::repeat_n(b'!', N));
    assert_eq!(parse(&tail), Err(ParseError::UnknownFormat));
}

#[test]
fn two_retry_after_headers() {
    // Identical duplicates (a proxy repeating the header): accepted.
    assert_eq!(
        read(&[(b"Retry-After", b"120"), (b"retry-after", b"120")]),
        retry_after_hint(120)
    );
    // Different spellings of the same value are the same value.
    assert_eq!(
        read(&[(b"Retry-After", b"120"), (b"Retry-After", b"  0120 ")]),
        retry_after_hint(120)
    );
    // Conflicting duplicates: malformed, so Retry-After is skipped...
    assert_eq!(
        read(&[(b"Retry-After", b"120"), (b"Retry-After", b"5")]),
        None
    );
    // ...and a valid duplicate never rescues a malformed one.
    assert_eq!(
        read(&[(b"Retry-After", b"junk"), (b"Retry-After", b"5")]),
        None
    );
    // ...and the next source in the order is used instead.
    assert_eq!(
        read(&[
            (b"Retry-After", b"120"),
            (b"Retry-After", b"5"),
            (b"RateLimit", br#""default";r=0;t=30"#),
        ]),
        Some(SourcedHint {
            hint: ServerHint::After(Duration::from_secs(30)),
            source: HintSource::RateLimit
        })
    );
}

#[test]
fn always_429_with_retry_after_one_million() {
    // A server that answers every request with 429 + `Retry-After: 1000000`:
    // every response is judged the same way, and never obeyed.
    let million = Duration::from_secs(1_000_000);
    for attempt in 0..100u64 {
        let now = NOW.saturating_add(Duration::from_secs(attempt));
        let hint = HintReader::new().read([(&b"Retry-After"[..], &b"1000000"[..])], now);
        assert_eq!(hint, retry_after_hint(1_000_000));
        assert_eq!(POLICY.judge(million, None), give_up_cap(million));
        // With an hour left, the deadline is the tighter limit and is named.
        assert_eq!(
            POLICY.judge(million, Some(Duration::from_secs(3600))),
            HintVerdict::GiveUp {
                hint: million,
                limit: Duration::from_secs(3600),
                kind: ExcessKind::Deadline
            }
        );
    }
    // With a cap large enough, it is still not obeyed past the deadline.
    let lax = POLICY.with_cap(Duration::MAX);
    assert!(matches!(
        lax.judge(million, Some(Duration::from_secs(60))),
        HintVerdict::GiveUp {
            kind: ExcessKind::Deadline,
            ..
        }
    ));
}
