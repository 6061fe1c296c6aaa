//! HTTP-date (RFC 9110 §5.6.7): parse all three formats, format IMF-fixdate.
//!
//! The civil-calendar conversion is the proleptic Gregorian calendar counted
//! in 400-year eras of 146 097 days, shifted so that each computational year
//! starts on 1 March (so the leap day is the last day of the year). This is
//! the well-known construction described by Howard Hinnant in "chrono-Compatible
//! Low-Level Date Algorithms"; it needs no tables and no loops.
//!
//! Grammar recap (RFC 9110 §5.6.7), all case-sensitive:
//!
//! ```text
//! IMF-fixdate  = day-name "," SP date1 SP time-of-day SP GMT   ; Sun, 06 Nov 1994 08:49:37 GMT
//! rfc850-date  = day-name-l "," SP date2 SP time-of-day SP GMT ; Sunday, 06-Nov-94 08:49:37 GMT
//! asctime-date = day-name SP date3 SP time-of-day SP year       ; Sun Nov  6 08:49:37 1994
//! date3        = month SP ( 2DIGIT / ( SP DIGIT ) )
//! time-of-day  = hour ":" minute ":" second                     ; 00:00:00 - 23:59:60 (leap second)
//! ```

use super::error::ParseError;
use super::lex::trim_ows;
use crate::UnixTime;
use crate::time::{div_rem, div_rem_u32, mul_add_saturating};

const SECS_PER_DAY: u64 = 86_400;
/// Days from 0000-03-01 to 1970-01-01 in the proleptic Gregorian calendar.
const DAYS_0000_03_01_TO_EPOCH: u64 = 719_468;
/// Days in one 400-year era of the Gregorian calendar: 400·365 + 97 leap days.
const DAYS_PER_ERA: u64 = 146_097;
/// 9999-12-31T23:59:59Z, the last instant a four-digit year can spell.
pub(crate) const LAST_FOUR_DIGIT_SECOND: u64 = 253_402_300_799;

const SHORT_DAYS: [&[u8; 3]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];
const LONG_DAYS: [&[u8]; 7] = [
    b"Sunday",
    b"Monday",
    b"Tuesday",
    b"Wednesday",
    b"Thursday",
    b"Friday",
    b"Saturday",
];
const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// A broken-down UTC date and time as read from the wire, before validation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fields {
    year: u64,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    /// 0 = Sunday … 6 = Saturday.
    weekday: u8,
}

/// Parses an HTTP-date in any of the three formats RFC 9110 §5.6.7 requires
/// recipients to accept, after trimming SP/HTAB from both ends.
///
/// `reference` is only used for the two-digit year of the obsolete RFC 850
/// format. RFC 9110 says a recipient "MUST interpret a timestamp that appears
/// to be more than 50 years in the future as representing the most recent year
/// in the past that had the same last two digits". We read "appears" as "the
/// first year ending in `yy` not before the reference year": `Y` is that year
/// (`ref_year ≤ Y < ref_year + 100`), and the year is `Y` unless the timestamp
/// `(Y, month, day, time)` is later than `(ref_year + 50, ref_month, ref_day,
/// ref_time)`, in which case it is `Y − 100`. The window therefore slides with
/// the reference: in 2080, `10` means 2110 (30 years ahead), not 2010. Pass the
/// time the response was received (the caller's now).
///
/// Decisions beyond the grammar, each documented on [`ParseError`]:
/// * `GMT`, day names and month names are case-sensitive (`gmt` is rejected);
/// * a day name that disagrees with the date is rejected;
/// * the leap second `23:59:60` is accepted and, as POSIX time does, lands on
///   the first second of the next day; no other `:60` is accepted;
/// * dates before 1970 are rejected, years up to 9999 are fine.
///
/// ```
/// use relent::UnixTime;
/// use relent::hint::parse_http_date;
///
/// let now = UnixTime::from_secs(1_700_000_000); // November 2023
/// let t = UnixTime::from_secs(784_111_777);
/// assert_eq!(parse_http_date(b"Sun, 06 Nov 1994 08:49:37 GMT", now), Ok(t));
/// assert_eq!(parse_http_date(b"Sunday, 06-Nov-94 08:49:37 GMT", now), Ok(t));
/// assert_eq!(parse_http_date(b"Sun Nov  6 08:49:37 1994", now), Ok(t));
/// ```
pub fn parse_http_date(value: &[u8], reference: UnixTime) -> Result<UnixTime, ParseError> {
    let s = trim_ows(value);
    if s.is_empty() {
        return Err(ParseError::Empty);
    }
    // A successful parse implies ASCII; scan only to name an error.
    parse_trimmed(s, reference).map_err(|e| {
        if s.is_ascii() {
            e
        } else {
            ParseError::NonAscii
        }
    })
}

/// Parses an already-trimmed, non-empty value. Every byte is checked, so a
/// value with a non-ASCII byte never parses (the error then names some
/// other problem; callers map it to [`ParseError::NonAscii`]).
///
/// On bare-metal targets (`target_os = "none"`) there are no fast paths: every date
/// takes the field-by-field path, which gives the same answers (the property tests
/// check that the paths agree). The three fast paths' code (IMF-fixdate's about 0.8 KiB
/// on thumbv7em and 0.9 KiB on thumbv6m, the obsolete formats' together 1 KiB and
/// 1.4 KiB) costs more flash there than the instructions it saves are worth: one
/// Retry-After date per failed request.
#[inline]
pub(crate) fn parse_trimmed(s: &[u8], reference: UnixTime) -> Result<UnixTime, ParseError> {
    // The fast paths accept every well-formed date they can decide cheaply and leave the
    // rest (every error, the leap second, 29 February, …) to the field-by-field path,
    // which names the error.
    #[cfg(not(target_os = "none"))]
    {
        let fields = match (imf_layout(s), asctime_layout(s)) {
            (Some(b), _) => fast::imf_fixdate(b),
            (_, Some(b)) => fast::asctime(b),
            _ => fast::rfc850(s, reference),
        };
        if let Some(t) = fields.and_then(fast::to_unix) {
            return Ok(t);
        }
    }
    by_fields(s, reference)
}

/// `s` as an IMF-fixdate's 29 bytes, if it has that length and its comma.
fn imf_layout(s: &[u8]) -> Option<&[u8; 29]> {
    <&[u8; 29]>::try_from(s).ok().filter(|b| b[3] == b',')
}

/// `s` as an asctime date's 24 bytes, if it has that length and the space after the day.
fn asctime_layout(s: &[u8]) -> Option<&[u8; 24]> {
    <&[u8; 24]>::try_from(s).ok().filter(|b| b[3] == b' ')
}

/// The field-by-field path of the three formats: one reader ([`read_layout`]) and one
/// copy of the calendar arithmetic; out of line, so that the fast paths stay lean.
#[inline(never)]
fn by_fields(s: &[u8], reference: UnixTime) -> Result<UnixTime, ParseError> {
    let fields = match (imf_layout(s), asctime_layout(s)) {
        (Some(b), _) => imf_fixdate(b),
        (_, Some(b)) => asctime(b),
        _ => rfc850(s, reference),
    };
    to_unix(fields?)
}

/// The field-by-field IMF-fixdate path.
#[cfg(test)]
fn imf_fixdate_fields(b: &[u8; 29]) -> Result<UnixTime, ParseError> {
    to_unix(imf_fixdate(b)?)
}

/// The field-by-field asctime path.
#[cfg(test)]
fn asctime_fields(b: &[u8; 24]) -> Result<UnixTime, ParseError> {
    to_unix(asctime(b)?)
}

/// The field-by-field RFC 850 path.
#[cfg(test)]
fn rfc850_fields(s: &[u8], reference: UnixTime) -> Result<UnixTime, ParseError> {
    to_unix(rfc850(s, reference)?)
}

/// Word-at-a-time parsing of the fixed-layout formats.
///
/// Each layout's function reads the fields of a well-formed value (`None` otherwise),
/// and [`to_unix`](fast::to_unix) turns them into `Some(t)` only where the
/// field-by-field path accepts the value with the same `t` (`None` otherwise: then
/// that path decides). Literals and digits are checked together, one XOR, add and OR
/// per 8-byte little-endian word (`pattern_faults`), and names with a perfect hash (a
/// multiply and a shift) into a table whose entry is then compared whole. Property tests
/// (`core/tests/http_date_fast_paths.rs`, and the `fast_path_laws` unit tests here) check
/// the agreement with `httpdate`, with the field-by-field path and with independent
/// models over the whole four-digit range and any reference. On bare-metal targets
/// (`target_os = "none"`) only the name tables are compiled (the field-by-field path
/// looks names up in them); see [`parse_trimmed`].
mod fast {
    #[cfg(not(target_os = "none"))]
    use crate::UnixTime;

    /// 8 bytes of `b` from `at`, little-endian; `None` past the end (never for the
    /// fixed-length arrays below).
    #[cfg(not(target_os = "none"))]
    #[inline(always)]
    fn word(b: &[u8], at: usize) -> Option<u64> {
        let bytes: [u8; 8] = b.get(at..at.checked_add(8)?)?.try_into().ok()?;
        Some(u64::from_le_bytes(bytes))
    }

    /// Zero when every byte of `w` is either the byte of `pattern` (where `add` has
    /// `0x7f`) or an ASCII digit (where `pattern` has `0x30` and `add` has `0x76`).
    #[cfg(not(target_os = "none"))]
    #[inline(always)]
    const fn pattern_faults(w: u64, pattern: u64, add: u64) -> u64 {
        // XOR maps the expected literal to 0 and the digits to 0..=9. A literal byte t
        // keeps t + 0x7f ≤ 0x7f only for t = 0, a digit byte t + 0x76 ≤ 0x7f only for
        // t ≤ 9; any other t has its top bit set in t or in the sum (and a carry out of
        // a byte only comes from a byte that already failed).
        let t = w ^ pattern;
        (t | t.wrapping_add(add)) & 0x8080_8080_8080_8080
    }

    /// Every byte `i` of the result is `10 × digit_i + digit_{i+1}` (the value of the
    /// two digits starting there), for bytes whose two digits were checked.
    #[cfg(not(target_os = "none"))]
    #[inline(always)]
    const fn pairs(w: u64) -> u64 {
        // Digit values are at most 9, so 10·a + b ≤ 99 stays inside its byte.
        let t = w & 0x0f0f_0f0f_0f0f_0f0f;
        t.wrapping_mul(10).wrapping_add(t >> 8)
    }

    /// Byte `i` of `w`.
    #[cfg(not(target_os = "none"))]
    #[inline(always)]
    const fn byte(w: u64, i: u32) -> u32 {
        ((w >> (i.wrapping_mul(8))) & 0xff) as u32
    }

    /// A three-letter name as the low 24 bits of a `u32`.
    const fn pack(b: &[u8; 3]) -> u32 {
        u32::from_le_bytes([b[0], b[1], b[2], 0])
    }

    /// Day names by perfect hash: `(name × DAY_KEY) >> 29`, collision-free over the 7.
    const DAY_KEY: u32 = 4895;
    /// Month names by perfect hash: `(name × MONTH_KEY) >> 28`, collision-free over the 12.
    const MONTH_KEY: u32 = 26_597;
    /// An empty slot: no packed name has its top byte set.
    const EMPTY: u32 = u32::MAX;

    /// Slot → (packed day name, weekday 0 = Sunday).
    #[allow(
        clippy::indexing_slicing,
        reason = "evaluated at compile time: an index out of range fails the build"
    )]
    const DAYS: [(u32, u8); 8] = {
        let names = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];
        let mut t = [(EMPTY, 0u8); 8];
        let mut i = 0;
        while i < names.len() {
            let p = pack(names[i]);
            t[(p.wrapping_mul(DAY_KEY) >> 29) as usize] = (p, i as u8);
            i += 1;
        }
        t
    };

    /// Slot → (packed month name, month 1..=12).
    #[allow(
        clippy::indexing_slicing,
        reason = "evaluated at compile time: an index out of range fails the build"
    )]
    const MONTHS: [(u32, u8); 16] = {
        let names = [
            b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
            b"Dec",
        ];
        let mut t = [(EMPTY, 0u8); 16];
        let mut i = 0;
        while i < names.len() {
            let p = pack(names[i]);
            t[(p.wrapping_mul(MONTH_KEY) >> 28) as usize] = (p, (i + 1) as u8);
            i += 1;
        }
        t
    };

    /// The weekday of a packed day name.
    #[inline(always)]
    pub(super) fn weekday(name: u32) -> Option<u32> {
        let (p, w) = *DAYS.get((name.wrapping_mul(DAY_KEY) >> 29) as usize)?;
        (p == name).then_some(u32::from(w))
    }

    /// The month (1..=12) of a packed month name.
    #[inline(always)]
    pub(super) fn month(name: u32) -> Option<u32> {
        let (p, m) = *MONTHS.get((name.wrapping_mul(MONTH_KEY) >> 28) as usize)?;
        (p == name).then_some(u32::from(m))
    }

    /// Days before the first of each month in a year counted from 1 March
    /// (`⌊(153·((m + 9) mod 12) + 2)/5⌋`), indexed by `month − 1`.
    #[cfg(not(target_os = "none"))]
    const MARCH_OFFSET: [u32; 12] = [306, 337, 0, 31, 61, 92, 122, 153, 184, 214, 245, 275];
    /// Days in each month outside leap-year February, indexed by `month − 1`.
    #[cfg(not(target_os = "none"))]
    const MONTH_DAYS: [u32; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

    /// `3600·hour + 60·minute + second`, for fields of at most two digits each.
    #[cfg(not(target_os = "none"))]
    #[inline(always)]
    const fn seconds_of_day(hour: u32, minute: u32, second: u32) -> u32 {
        hour.wrapping_mul(3600)
            .wrapping_add(minute.wrapping_mul(60))
            .wrapping_add(second)
    }

    /// `x mod 7` for `x < 2²²` (every day count here: at most 3.7·10⁶ < 4 194 304).
    ///
    /// `613 566 757 = ⌈2³²/7⌉` exceeds `2³²/7` by `3/7`, so `x · 613 566 757 / 2³²`
    /// exceeds `x/7` by at most `3x/(7·2³²) < 1/7`, which never reaches the next integer:
    /// the quotient is exact, one multiply instead of the general five-step sequence
    /// (a unit test checks every `x` below 2²²).
    #[cfg(not(target_os = "none"))]
    #[inline(always)]
    pub(super) const fn mod7(x: u32) -> u32 {
        let q = ((x as u64).wrapping_mul(613_566_757) >> 32) as u32;
        x.wrapping_sub(q.wrapping_mul(7))
    }

    /// The fields of a well-formed value, read but not validated.
    #[cfg(not(target_os = "none"))]
    #[derive(Clone, Copy)]
    pub(super) struct Fields {
        /// The full year.
        year: u32,
        /// 1..=12, from the month's name.
        month: u32,
        /// 0..=99.
        day: u32,
        /// Hour, minute, second, each 0..=99.
        time: (u32, u32, u32),
        /// `3600·hour + 60·minute + second`.
        tod: u32,
        /// 0 = Sunday, from the day's name.
        weekday: u32,
    }

    /// Validated fields → seconds since the epoch, or `None` for anything the
    /// field-by-field path must decide (out-of-range values, the leap second,
    /// 29 February, years before 1970).
    #[cfg(not(target_os = "none"))]
    #[inline(always)]
    pub(super) fn to_unix(
        Fields {
            year,
            month,
            day,
            time: (hour, minute, second),
            tod,
            weekday,
        }: Fields,
    ) -> Option<UnixTime> {
        let i = month.checked_sub(1)? as usize;
        // Only days up to the month's non-leap length; 29 February goes the slow way.
        if hour > 23 || minute > 59 || second > 59 || day == 0 || day > *MONTH_DAYS.get(i)? {
            return None;
        }
        if year < 1970 {
            return None;
        }
        // Years counted from 1 March, so that the leap day ends the year: with
        // y' = year − [month ≤ 2] ∈ 1969..=10049 (four digits, or an RFC 850 year at most
        // 50 years after a reference in 9999) the days since 0000-03-01 are
        // 365·y' + ⌊y'/4⌋ − ⌊y'/100⌋ + ⌊y'/400⌋ + offset + day − 1, below 2³².
        // Every value below is under 2³² (y' ≤ 10 049, days ≤ 3.7·10⁶, tod < 86 400),
        // so the wrapping steps are exact.
        let y = year.wrapping_sub(u32::from(month <= 2));
        let centuries = y / 100;
        let days = y
            .wrapping_mul(365)
            .wrapping_add(y / 4)
            .wrapping_sub(centuries)
            .wrapping_add(centuries / 4) // ⌊y'/400⌋ = ⌊⌊y'/100⌋/4⌋
            .wrapping_add(*MARCH_OFFSET.get(i)?)
            .wrapping_add(day);
        // 719 469 = days from 0000-03-01 to 1970-01-01, plus the `day − 1`.
        let days = days.checked_sub(719_469)?;
        // 1970-01-01 was a Thursday (4).
        if mod7(days.wrapping_add(4)) != weekday {
            return None;
        }
        Some(UnixTime::from_secs(
            u64::from(days)
                .wrapping_mul(86_400)
                .wrapping_add(u64::from(tod)),
        ))
    }

    /// `Sun, 06 Nov 1994 08:49:37 GMT`
    #[cfg(not(target_os = "none"))]
    #[inline]
    pub(super) fn imf_fixdate(b: &[u8; 29]) -> Option<Fields> {
        // Bytes 0..8 "Sun, 06 ", 8..12 "Nov ", 11..19 " 1994 08", 19..27 ":49:37 G",
        // 21..29 "9:37 GMT". The names go through their tables with the byte after
        // them XORed away (any other byte there leaves a top byte no packed name has);
        // every other byte is a literal or a digit, checked by pattern, the first word
        // shifted past the day name.
        let (w0, w1, w2, w3) = (word(b, 0)?, word(b, 11)?, word(b, 19)?, word(b, 21)?);
        let faults = pattern_faults(w0 >> 24, 0x0000_0020_3030_202c, 0x0000_007f_7676_7f7f)
            | pattern_faults(w1, 0x3030_2030_3030_3020, 0x7676_7f76_7676_767f)
            | pattern_faults(w2, 0x4720_3030_3a30_303a, 0x7f7f_7676_7f76_767f)
            | pattern_faults(w3, 0x544d_4720_3030_3a30, 0x7f7f_7f7f_7676_7f76);
        if faults != 0 {
            return None;
        }
        let weekday = weekday(w0 as u32 ^ 0x2c00_0000)?;
        let month = month(u32::from_le_bytes([b[8], b[9], b[10], b[11]]) ^ 0x2000_0000)?;
        let (p1, p2) = (pairs(w1), pairs(w2));
        let year = byte(p1, 1).wrapping_mul(100).wrapping_add(byte(p1, 3));
        let (hour, minute, second) = (byte(p1, 6), byte(p2, 1), byte(p2, 4));
        Some(Fields {
            year,
            month,
            day: byte(pairs(w0), 5),
            time: (hour, minute, second),
            tod: seconds_of_day(hour, minute, second),
            weekday,
        })
    }

    /// `Sun Nov  6 08:49:37 1994` (the day may also be `06`).
    #[cfg(not(target_os = "none"))]
    #[inline]
    pub(super) fn asctime(b: &[u8; 24]) -> Option<Fields> {
        // Bytes 0..4 "Sun ", 4..8 "Nov ", 8..16 " 6 08:49", 16..24 ":37 1994". The names
        // go through their tables with the space after them XORed away, the rest is
        // checked by pattern.
        let (w0, w1, w2) = (word(b, 0)?, word(b, 8)?, word(b, 16)?);
        // The day is two digits, or a space and a digit: a leading space becomes '0'
        // (0x20 | 0x10 = 0x30), and then both are two digits.
        let w1 = w1 | (u64::from(w1 & 0xff == 0x20) << 4);
        let faults = pattern_faults(w1, 0x3030_3a30_3020_3030, 0x7676_7f76_767f_7676)
            | pattern_faults(w2, 0x3030_3030_2030_303a, 0x7676_7676_7f76_767f);
        if faults != 0 {
            return None;
        }
        let weekday = weekday(w0 as u32 ^ 0x2000_0000)?;
        let month = month((w0 >> 32) as u32 ^ 0x2000_0000)?;
        let (p1, p2) = (pairs(w1), pairs(w2));
        let year = byte(p2, 4).wrapping_mul(100).wrapping_add(byte(p2, 6));
        let (hour, minute, second) = (byte(p1, 3), byte(p1, 6), byte(p2, 1));
        Some(Fields {
            year,
            month,
            day: byte(p1, 0),
            time: (hour, minute, second),
            tod: seconds_of_day(hour, minute, second),
            weekday,
        })
    }

    /// Slot (the [`DAYS`] hash of the first three letters) → (the long day name's first six
    /// bytes, its length minus 3, weekday 0 = Sunday).
    ///
    /// Six bytes and the `day` that every long name ends with cover the whole name: the
    /// longest, `Wednesday`, has 9 letters, and `6 + 3 = 9`.
    #[allow(
        clippy::indexing_slicing,
        reason = "evaluated at compile time: an index out of range fails the build"
    )]
    const LONG_DAYS: [(u64, u8, u8); 8] = {
        let names = super::LONG_DAYS;
        let mut t = [(u64::MAX, 0u8, 0u8); 8];
        let mut i = 0;
        while i < names.len() {
            let n = names[i];
            let first6 = u64::from_le_bytes([n[0], n[1], n[2], n[3], n[4], n[5], 0, 0]);
            let p = pack(&[n[0], n[1], n[2]]);
            t[(p.wrapping_mul(DAY_KEY) >> 29) as usize] = (first6, (n.len() - 3) as u8, i as u8);
            i += 1;
        }
        t
    };

    /// The weekday of a long day name whose first 8 bytes are `head` and whose `day`
    /// starts at byte `at` (the rest of the name, `day`, is checked by the caller).
    #[inline(always)]
    pub(super) fn long_weekday(head: u64, at: usize) -> Option<u32> {
        let first6 = head & 0xffff_ffff_ffff;
        let slot = ((first6 as u32 & 0x00ff_ffff).wrapping_mul(DAY_KEY) >> 29) as usize;
        let (p, day_at, w) = *LONG_DAYS.get(slot)?;
        (p == first6 && usize::from(day_at) == at).then_some(u32::from(w))
    }

    /// The RFC 850 year (RFC 9110's 50-year rule, as [`super::parse_http_date`] reads it)
    /// of the two-digit year `yy` on `month`-`day` at `tod` seconds into the day, for a
    /// `reference` up to 9999-12-31; `None` for a later reference.
    ///
    /// The slow path converts the reference to a calendar date and compares
    /// `(Y, month, day, tod)` with `(ref_year + 50, ref_month, ref_day, ref_tod)`. The
    /// same rule, shifted by 50 years, says: the year is the latest year `X ≡ yy (mod
    /// 100)` such that `(X − 50, month, day, tod)` is not later than the reference. With
    /// years counted from 1 March (Hinnant's computational calendar), the position of
    /// `(month, day)` in its year, `doy`, does not depend on the year (29 February
    /// aside, which the caller leaves to the slow path), so the latest year `W` whose
    /// `(W, month, day, tod)` is not later than the reference is the computational year
    /// of `reference − doy days − tod seconds`: one days → year conversion, no date
    /// comparison. Then `X = W + 50 − ((W + 50 − yy) mod 100)` (back in calendar years).
    ///
    /// For values the caller then rejects (day 0, hour 99), the result is meaningless
    /// but computed without overflow or panic.
    #[cfg(not(target_os = "none"))]
    #[inline(always)]
    fn rfc850_year(yy: u32, month: u32, day: u32, tod: u32, reference: UnixTime) -> Option<u32> {
        let r = reference.as_secs();
        if r > super::LAST_FOUR_DIGIT_SECOND {
            return None;
        }
        let doy = MARCH_OFFSET
            .get(month.wrapping_sub(1) as usize)?
            .wrapping_add(day)
            .wrapping_sub(1);
        // Seconds from 0000-03-01 to `reference − doy days − tod`. With r ≤ 9999-12-31,
        // doy ≤ 404 and tod < 2¹⁹ (two digits each), this is positive and below 2³⁹, so
        // its quotient by 2⁷ fits a u32 (86 400 = 2⁷ · 675).
        let shifted = r
            .wrapping_add(super::DAYS_0000_03_01_TO_EPOCH * super::SECS_PER_DAY)
            .wrapping_sub(u64::from(doy).wrapping_mul(86_400))
            .wrapping_sub(u64::from(tod));
        let z = ((shifted >> 7) as u32) / 675;
        let v = computational_year(z)
            .wrapping_add(u32::from(month <= 2))
            .wrapping_add(50);
        Some(v.wrapping_sub(v.wrapping_add(100).wrapping_sub(yy) % 100))
    }

    /// The year, counted from 1 March, of day `z` counted from 0000-03-01, for `z` up to
    /// 2³⁰ − 1 (past the year 2 900 000; the caller's are below 3.7·10⁶).
    ///
    /// Neri and Schneider's two-step form ("Euclidean affine functions and their
    /// application to calendar algorithms", 2022) of the computational calendar: a
    /// century has 36 524 days except every fourth, which has 36 525, so with
    /// `4z + 3 = 146 097·c + r` the day is in century `c`, on day `⌊r/4⌋` of it; there
    /// a year has 365 days except every fourth, which has 366, so the year of the
    /// century is `⌊(4·⌊r/4⌋ + 3)/1461⌋`, and `4·⌊r/4⌋ + 3` is `r | 3`. That quotient is
    /// `(r | 3) · 2 939 745 / 2³²` rounded down for every `r < 146 097` (2 939 745 is
    /// 2³²/1461 rounded down; a unit test checks each `r`). No eras, no loops.
    #[cfg(not(target_os = "none"))]
    #[inline(always)]
    pub(super) const fn computational_year(z: u32) -> u32 {
        let n = z.wrapping_mul(4) | 3;
        let century = n / 146_097;
        let r = n.wrapping_sub(century.wrapping_mul(146_097)) | 3;
        let year_of_century = ((r as u64).wrapping_mul(2_939_745) >> 32) as u32;
        century.wrapping_mul(100).wrapping_add(year_of_century)
    }

    /// `Sunday, 06-Nov-94 08:49:37 GMT`, the year resolved against `reference`.
    #[cfg(not(target_os = "none"))]
    #[inline]
    pub(super) fn rfc850(s: &[u8], reference: UnixTime) -> Option<Fields> {
        // The day name has 6 to 9 letters and ends in "day"; the last 27 bytes are
        // "day, 06-Nov-94 08:49:37 GMT". From `at`: 0..8 "day, 06-", 8..12 "Nov-",
        // 12..20 "94 08:49", 19..27 "9:37 GMT".
        let at = s.len().checked_sub(27)?;
        let (head, w0) = (word(s, 0)?, word(s, at)?);
        let (w1, w2) = (word(s, at.wrapping_add(12))?, word(s, at.wrapping_add(19))?);
        let name: [u8; 4] = s
            .get(at.wrapping_add(8)..at.wrapping_add(12))?
            .try_into()
            .ok()?;
        // Every byte of the three words is a literal or a digit: one pattern check each.
        let faults = pattern_faults(w0, 0x2d30_3020_2c79_6164, 0x7f76_767f_7f7f_7f7f)
            | pattern_faults(w1, 0x3030_3a30_3020_3030, 0x7676_7f76_767f_7676)
            | pattern_faults(w2, 0x544d_4720_3030_3a30, 0x7f7f_7f7f_7676_7f76);
        if faults != 0 {
            return None;
        }
        let weekday = long_weekday(head, at)?;
        // The '-' after the month name: XOR clears it, and any other byte there leaves
        // the top byte set, which no packed name has.
        let month = month(u32::from_le_bytes(name) ^ 0x2d00_0000)?;
        let p1 = pairs(w1);
        let day = byte(pairs(w0), 5);
        let (hour, minute, second) = (byte(p1, 3), byte(p1, 6), byte(pairs(w2), 2));
        let tod = seconds_of_day(hour, minute, second);
        let year = rfc850_year(byte(p1, 0), month, day, tod, reference)?;
        let time = (hour, minute, second);
        Some(Fields {
            year,
            month,
            day,
            time,
            tod,
            weekday,
        })
    }
}

/// The fixed-length layouts, one code per byte, read by [`read_layout`]: `0` to `4` a
/// digit of the day, the year, the hour, the minute or the second; `5` a digit of the
/// day, or a space read as 0 (asctime's one-digit day); `w`, `M` and `Z` the last byte
/// of the day name, the month name and `GMT`, whose other two bytes are `\0`; any other
/// byte a separator that must be there.
const IMF_FIXDATE_LAYOUT: &[u8; 29] = b"\0\0w, 00 \0\0M 1111 22:33:44 \0\0Z";
/// See [`IMF_FIXDATE_LAYOUT`]: `Sun Nov  6 08:49:37 1994` (or `Sun Nov 06 …`).
const ASCTIME_LAYOUT: &[u8; 24] = b"\0\0w \0\0M 50 22:33:44 1111";
/// See [`IMF_FIXDATE_LAYOUT`]: what follows the comma of an RFC 850 date,
/// ` 06-Nov-94 08:49:37 GMT` (the year has two digits).
const RFC850_LAYOUT: &[u8; 23] = b" 00-\0\0M-11 22:33:44 \0\0Z";

/// The fields of `b`, read by `layout` (see [`IMF_FIXDATE_LAYOUT`]), unvalidated: one
/// reader for the three formats.
///
/// The errors are those of reading each format by hand: a length or a separator out of
/// place is [`ParseError::UnknownFormat`]; then each field, left to right (the order in
/// which every format spells them), names its own error. `long_name` is an RFC 850 day
/// name (`Sunday`), read after the separators and before the other fields.
#[inline(never)]
fn read_layout(b: &[u8], layout: &[u8], long_name: Option<&[u8]>) -> Result<Fields, ParseError> {
    if b.len() != layout.len() {
        return Err(ParseError::UnknownFormat);
    }
    if layout
        .iter()
        .zip(b)
        .any(|(&code, &byte)| matches!(code, b' ' | b',' | b'-' | b':') && byte != code)
    {
        return Err(ParseError::UnknownFormat);
    }
    let mut weekday = match long_name {
        Some(name) => long_day(name)?,
        None => 0,
    };
    let mut month = 0;
    // Day, year, hour, minute, second: at most four digits each, so no step overflows.
    let mut numbers = [0u16; 5];
    // The last three bytes, packed as the name tables key them (`pack3`).
    let mut name = 0u32;
    for (&code, &byte) in layout.iter().zip(b) {
        name = (name >> 8) | (u32::from(byte) << 16);
        match code {
            b'w' => weekday = short_day_packed(name)?,
            b'M' => month = month_packed(name)?,
            b'Z' if name != pack3(*b"GMT") => return Err(ParseError::BadZone),
            b'0'..=b'5' => {
                let digit = match byte {
                    b' ' if code == b'5' => 0,
                    _ => super::lex::digit(byte).ok_or(ParseError::BadNumber)?,
                };
                let slot = usize::from(code.wrapping_sub(b'0') % 5); // `5` is the day's
                if let Some(n) = numbers.get_mut(slot) {
                    *n = n.wrapping_mul(10).wrapping_add(u16::from(digit));
                }
            }
            _ => {}
        }
    }
    let [day, year, hour, minute, second] = numbers;
    // Two digits each: the narrowing is lossless.
    Ok(Fields {
        year: u64::from(year),
        month,
        day: day as u8,
        hour: hour as u8,
        minute: minute as u8,
        second: second as u8,
        weekday,
    })
}

/// `Sun, 06 Nov 1994 08:49:37 GMT`
#[inline]
fn imf_fixdate(b: &[u8; 29]) -> Result<Fields, ParseError> {
    read_layout(b, IMF_FIXDATE_LAYOUT, None)
}

/// `Sun Nov  6 08:49:37 1994` (the day may also be written `06`, as `date3` allows).
#[inline]
fn asctime(b: &[u8; 24]) -> Result<Fields, ParseError> {
    read_layout(b, ASCTIME_LAYOUT, None)
}

/// `Sunday, 06-Nov-94 08:49:37 GMT`, the two-digit year resolved against `reference`.
fn rfc850(s: &[u8], reference: UnixTime) -> Result<Fields, ParseError> {
    let comma = s
        .iter()
        .position(|&c| c == b',')
        .ok_or(ParseError::UnknownFormat)?;
    let name = s.get(..comma).ok_or(ParseError::UnknownFormat)?;
    let rest = s
        .get(comma.saturating_add(1)..)
        .ok_or(ParseError::UnknownFormat)?;
    let f = read_layout(rest, RFC850_LAYOUT, Some(name))?;
    // The year field holds two digits.
    let yy = f.year as u8;
    let year = resolve_two_digit_year(yy, f.month, f.day, f.hour, f.minute, f.second, reference)?;
    Ok(Fields { year, ..f })
}

/// The field-by-field readers as first written, one per format: the model that
/// [`read_layout`] must agree with, errors included (the property tests check it).
#[cfg(test)]
mod by_hand {
    use super::super::lex::{four_digits, two_digits};
    use super::{
        Fields, ParseError, UnixTime, gmt, long_day, month, resolve_two_digit_year, short_day,
    };

    /// `Sun, 06 Nov 1994 08:49:37 GMT`
    #[inline]
    pub(super) fn imf_fixdate(b: &[u8; 29]) -> Result<Fields, ParseError> {
        if b[4] != b' ' || b[7] != b' ' || b[11] != b' ' || b[16] != b' ' || b[25] != b' ' {
            return Err(ParseError::UnknownFormat);
        }
        if b[19] != b':' || b[22] != b':' {
            return Err(ParseError::UnknownFormat);
        }
        let weekday = short_day([b[0], b[1], b[2]])?;
        let day = two_digits(b[5], b[6]).ok_or(ParseError::BadNumber)?;
        let month = month([b[8], b[9], b[10]])?;
        let year = four_digits(b[12], b[13], b[14], b[15]).ok_or(ParseError::BadNumber)?;
        let (hour, minute, second) = time_of_day([b[17], b[18], b[20], b[21], b[23], b[24]])?;
        gmt([b[26], b[27], b[28]])?;
        Ok(Fields {
            year: u64::from(year),
            month,
            day,
            hour,
            minute,
            second,
            weekday,
        })
    }

    /// `Sun Nov  6 08:49:37 1994` (the day may also be written `06`, as `date3` allows).
    #[inline]
    pub(super) fn asctime(b: &[u8; 24]) -> Result<Fields, ParseError> {
        if b[7] != b' ' || b[10] != b' ' || b[19] != b' ' || b[13] != b':' || b[16] != b':' {
            return Err(ParseError::UnknownFormat);
        }
        let weekday = short_day([b[0], b[1], b[2]])?;
        let month = month([b[4], b[5], b[6]])?;
        let day = if b[8] == b' ' {
            super::super::lex::digit(b[9]).ok_or(ParseError::BadNumber)?
        } else {
            two_digits(b[8], b[9]).ok_or(ParseError::BadNumber)?
        };
        let (hour, minute, second) = time_of_day([b[11], b[12], b[14], b[15], b[17], b[18]])?;
        let year = four_digits(b[20], b[21], b[22], b[23]).ok_or(ParseError::BadNumber)?;
        Ok(Fields {
            year: u64::from(year),
            month,
            day,
            hour,
            minute,
            second,
            weekday,
        })
    }

    /// `Sunday, 06-Nov-94 08:49:37 GMT`, the two-digit year resolved against `reference`.
    pub(super) fn rfc850(s: &[u8], reference: UnixTime) -> Result<Fields, ParseError> {
        let comma = s
            .iter()
            .position(|&c| c == b',')
            .ok_or(ParseError::UnknownFormat)?;
        let name = s.get(..comma).ok_or(ParseError::UnknownFormat)?;
        let rest = s
            .get(comma.saturating_add(1)..)
            .ok_or(ParseError::UnknownFormat)?;
        // " 06-Nov-94 08:49:37 GMT": a space and 22 bytes.
        let b: &[u8; 23] = rest.try_into().map_err(|_| ParseError::UnknownFormat)?;
        if b[0] != b' ' || b[3] != b'-' || b[7] != b'-' || b[10] != b' ' || b[19] != b' ' {
            return Err(ParseError::UnknownFormat);
        }
        if b[13] != b':' || b[16] != b':' {
            return Err(ParseError::UnknownFormat);
        }
        let weekday = long_day(name)?;
        let day = two_digits(b[1], b[2]).ok_or(ParseError::BadNumber)?;
        let month = month([b[4], b[5], b[6]])?;
        let yy = two_digits(b[8], b[9]).ok_or(ParseError::BadNumber)?;
        let (hour, minute, second) = time_of_day([b[11], b[12], b[14], b[15], b[17], b[18]])?;
        gmt([b[20], b[21], b[22]])?;
        let year = resolve_two_digit_year(yy, month, day, hour, minute, second, reference)?;
        Ok(Fields {
            year,
            month,
            day,
            hour,
            minute,
            second,
            weekday,
        })
    }

    /// `HH:MM:SS` digits (separators already checked) → (hour, minute, second), unvalidated.
    fn time_of_day(d: [u8; 6]) -> Result<(u8, u8, u8), ParseError> {
        let [h1, h2, m1, m2, s1, s2] = d;
        let hour = two_digits(h1, h2).ok_or(ParseError::BadNumber)?;
        let minute = two_digits(m1, m2).ok_or(ParseError::BadNumber)?;
        let second = two_digits(s1, s2).ok_or(ParseError::BadNumber)?;
        Ok((hour, minute, second))
    }
}

/// RFC 9110's 50-year rule, as stated on [`parse_http_date`].
fn resolve_two_digit_year(
    yy: u8,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    reference: UnixTime,
) -> Result<u64, ParseError> {
    let (ref_days, ref_tod) = div_rem(reference.as_secs(), SECS_PER_DAY);
    let (ref_year, ref_month, ref_day) = civil_from_days(ref_days);
    let century = ref_year.saturating_sub(div_rem(ref_year, 100).1);
    let mut candidate = century.saturating_add(u64::from(yy));
    if candidate < ref_year {
        candidate = candidate.saturating_add(100);
    }
    let tod = seconds_of_day(hour, minute, second);
    let later_than_fifty_years =
        (candidate, month, day, tod) > (ref_year.saturating_add(50), ref_month, ref_day, ref_tod);
    if later_than_fifty_years {
        candidate.checked_sub(100).ok_or(ParseError::BeforeEpoch)
    } else {
        Ok(candidate)
    }
}

/// A three-letter name packed into an integer, the key of the name tables.
const fn pack3(b: [u8; 3]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], 0])
}

/// The weekday (0 = Sunday) of a three-letter day name, by the fast path's table, so
/// that both paths share one lookup (and the image one copy of it).
#[cfg(test)]
fn short_day(name: [u8; 3]) -> Result<u8, ParseError> {
    short_day_packed(pack3(name))
}

/// [`short_day`] of a name already packed by [`pack3`].
#[inline]
fn short_day_packed(name: u32) -> Result<u8, ParseError> {
    fast::weekday(name)
        .map(|w| w as u8)
        .ok_or(ParseError::BadDayName)
}

/// The weekday (0 = Sunday) of a long day name (`Sunday` … `Saturday`), by the fast
/// path's table: the first six letters and the final `day` cover every long name.
fn long_day(name: &[u8]) -> Result<u8, ParseError> {
    match *name {
        [a, b, c, d, e, f, ref rest @ ..]
            if rest.len() <= 3 && matches!(name, [.., b'd', b'a', b'y']) =>
        {
            let head = u64::from_le_bytes([a, b, c, d, e, f, 0, 0]);
            fast::long_weekday(head, name.len().wrapping_sub(3))
                .map(|w| w as u8)
                .ok_or(ParseError::BadDayName)
        }
        _ => Err(ParseError::BadDayName),
    }
}

/// The month (1..=12) of a three-letter month name, by the fast path's table.
#[cfg(test)]
fn month(name: [u8; 3]) -> Result<u8, ParseError> {
    month_packed(pack3(name))
}

/// [`month`] of a name already packed by [`pack3`].
#[inline]
fn month_packed(name: u32) -> Result<u8, ParseError> {
    fast::month(name)
        .map(|m| m as u8)
        .ok_or(ParseError::BadMonth)
}

#[cfg(test)]
fn gmt(zone: [u8; 3]) -> Result<(), ParseError> {
    if &zone == b"GMT" {
        Ok(())
    } else {
        Err(ParseError::BadZone)
    }
}

/// `h·3600 + m·60 + s`; at most 23·3600 + 59·60 + 60 = 86 400 for valid input.
fn seconds_of_day(hour: u8, minute: u8, second: u8) -> u64 {
    // Each factor is at most 99, so no step can overflow a u64.
    u64::from(hour)
        .wrapping_mul(3600)
        .wrapping_add(u64::from(minute).wrapping_mul(60))
        .wrapping_add(u64::from(second))
}

/// Validates the fields and converts them to seconds since the epoch.
#[inline]
fn to_unix(f: Fields) -> Result<UnixTime, ParseError> {
    let leap_second = (f.hour, f.minute, f.second) == (23, 59, 60);
    if f.hour > 23 || f.minute > 59 || (f.second > 59 && !leap_second) {
        return Err(ParseError::TimeOutOfRange);
    }
    if f.day == 0 || f.day > days_in_month(f.year, f.month) {
        return Err(ParseError::DayOutOfRange);
    }
    let days = days_from_civil(f.year, f.month, f.day).ok_or(ParseError::BeforeEpoch)?;
    if weekday(days) != f.weekday {
        return Err(ParseError::WeekdayMismatch);
    }
    let secs = mul_add_saturating(
        days,
        SECS_PER_DAY,
        seconds_of_day(f.hour, f.minute, f.second),
    );
    Ok(UnixTime::from_secs(secs))
}

/// Gregorian leap years: every 4th year, except centuries not divisible by 400.
pub(crate) const fn is_leap_year(year: u64) -> bool {
    // The year's place in its 400-year cycle decides: one division, not three.
    let r = div_rem(year, 400).1 as u32; // below 400: the cast is exact
    // Below 400, the centuries that are not multiples of 400 are 100, 200 and 300.
    r % 4 == 0 && !matches!(r, 100 | 200 | 300)
}

/// Days in `month` (1-based) of `year`; 0 for a month outside 1..=12.
pub(crate) const fn days_in_month(year: u64, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days from 1970-01-01 to the given proleptic-Gregorian date, or `None` if
/// the date is earlier. `month` must be 1..=12 and `day` valid for it.
///
/// Formula (years counted from 1 March, so February is last):
/// `y' = y − [m ≤ 2]`, `era = ⌊y'/400⌋`, `yoe = y' mod 400`,
/// `doy = ⌊(153·((m + 9) mod 12) + 2)/5⌋ + d − 1`,
/// `doe = 365·yoe + ⌊yoe/4⌋ − ⌊yoe/100⌋ + doy`,
/// `days = 146097·era + doe − 719468`.
/// Arithmetic saturates; it is exact for every year below about 5·10¹⁶,
/// far beyond what `UnixTime`'s `u64` seconds can reach (about 5.8·10¹¹ years).
///
/// On bare-metal targets (`target_os = "none"`) every year takes the `u64` path: the
/// same answers (a property test checks it over every four-digit-or-less year) with
/// one copy of the formula instead of two (100 to 150 bytes of code).
#[inline]
pub(crate) fn days_from_civil(year: u64, month: u8, day: u8) -> Option<u64> {
    #[cfg(target_os = "none")]
    return days_from_civil_wide(year, month, day);
    #[cfg(not(target_os = "none"))]
    match u16::try_from(year) {
        // Four-digit years (every IMF-fixdate and asctime date): the same
        // formula in narrow arithmetic that provably cannot overflow.
        Ok(y) => days_from_civil_u16(y, month, day),
        Err(_) => days_from_civil_wide(year, month, day),
    }
}

/// [`days_from_civil`] in `u64` arithmetic, for any year.
fn days_from_civil_wide(year: u64, month: u8, day: u8) -> Option<u64> {
    let m = u32::from(month);
    let y = if m <= 2 { year.checked_sub(1)? } else { year };
    let (era, yoe) = div_rem(y, 400);
    // yoe < 400, m ≤ 255 and day ≤ 255: every step below fits a u32 exactly.
    let yoe = yoe as u32;
    // (m + 9) mod 12 maps March → 0 … February → 11.
    let mp = div_rem_u32(m.wrapping_add(9), 12).1;
    let doy = div32(mp.wrapping_mul(153).wrapping_add(2), 5)
        .wrapping_add(u32::from(day))
        .checked_sub(1)?;
    // yoe < 400 and doy < 366: the era-relative day count is small.
    let doe = yoe
        .wrapping_mul(365)
        .wrapping_add(yoe / 4)
        .wrapping_sub(div32(yoe, 100))
        .wrapping_add(doy);
    mul_add_saturating(era, DAYS_PER_ERA, u64::from(doe)).checked_sub(DAYS_0000_03_01_TO_EPOCH)
}

/// [`days_from_civil`] for years below 65 536, where every intermediate value
/// is below 65 536 · 366 < 2³², so `u32` steps cannot overflow.
#[cfg(any(not(target_os = "none"), test))]
#[inline]
fn days_from_civil_u16(year: u16, month: u8, day: u8) -> Option<u64> {
    let m = u32::from(month);
    let y = u32::from(year);
    let y = if m <= 2 { y.checked_sub(1)? } else { y };
    let era = y / 400;
    let yoe = y % 400;
    let mp = m.wrapping_add(9) % 12;
    let doy = (mp.wrapping_mul(153).wrapping_add(2) / 5)
        .wrapping_add(u32::from(day))
        .checked_sub(1)?;
    let doe = yoe
        .wrapping_mul(365)
        .wrapping_add(yoe / 4)
        .wrapping_sub(yoe / 100)
        .wrapping_add(doy);
    // era ≤ 163 and doe < 146 097: at most about 2.4·10⁷.
    let days = era
        .wrapping_mul(DAYS_PER_ERA as u32)
        .wrapping_add(doe)
        .checked_sub(DAYS_0000_03_01_TO_EPOCH as u32)?;
    Some(u64::from(days))
}

/// The proleptic-Gregorian (year, month, day) of a day count since 1970-01-01.
///
/// Inverse of [`days_from_civil`]: `z = days + 719468`, `era = ⌊z/146097⌋`,
/// `doe = z mod 146097`, `yoe = ⌊(doe − ⌊doe/1460⌋ + ⌊doe/36524⌋ − ⌊doe/146096⌋)/365⌋`,
/// `doy = doe − (365·yoe + ⌊yoe/4⌋ − ⌊yoe/100⌋)`, `mp = ⌊(5·doy + 2)/153⌋`,
/// `day = doy − ⌊(153·mp + 2)/5⌋ + 1`, `month = (mp + 2) mod 12 + 1`,
/// `year = 400·era + yoe + [month ≤ 2]`.
pub(crate) fn civil_from_days(days: u64) -> (u64, u8, u8) {
    // days ≤ u64::MAX / 86400 for any UnixTime, so the shift cannot overflow;
    // saturate anyway so that no input can panic.
    let z = days.saturating_add(DAYS_0000_03_01_TO_EPOCH);
    let (era, doe) = div_rem(z, DAYS_PER_ERA);
    // All intermediate values below are bounded by DAYS_PER_ERA < 2³²: u32 steps.
    let doe = doe as u32;
    let yoe = div32(
        doe.wrapping_sub(div32(doe, 1460))
            .wrapping_add(div32(doe, 36_524))
            .wrapping_sub(div32(doe, 146_096)),
        365,
    );
    let doy = doe.wrapping_sub(
        yoe.wrapping_mul(365)
            .wrapping_add(yoe / 4)
            .wrapping_sub(div32(yoe, 100)),
    );
    let mp = div32(doy.wrapping_mul(5).wrapping_add(2), 153);
    let day = doy
        .wrapping_sub(div32(mp.wrapping_mul(153).wrapping_add(2), 5))
        .wrapping_add(1);
    let month = div_rem_u32(mp.wrapping_add(2), 12).1.wrapping_add(1);
    // yoe + 1 ≤ 400: one saturating step is exact.
    let year = mul_add_saturating(era, 400, u64::from(yoe).wrapping_add(u64::from(month <= 2)));
    // day ∈ 1..=31 and month ∈ 1..=12, so the narrowing is lossless.
    (year, month as u8, day as u8)
}

/// Day of the week of a day count since 1970-01-01 (a Thursday): 0 = Sunday.
pub(crate) const fn weekday(days: u64) -> u8 {
    // (days + 4) mod 7, written without an addition that could overflow.
    div_rem_u32((div_rem(days, 7).1 as u32).wrapping_add(4), 7).1 as u8
}

/// `n / d` by [`div_rem_u32`] (a constant divisor: a multiply and a shift, or the shared
/// divider on cores that have neither a divide instruction nor a widening multiply).
#[inline(always)]
const fn div32(n: u32, d: u32) -> u32 {
    div_rem_u32(n, d).0
}

/// Formats a time as an IMF-fixdate, the one format senders must generate
/// (RFC 9110 §5.6.7), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
///
/// No allocation: the result is a fixed 29-byte ASCII array. Sub-second parts
/// are dropped. Times after `Fri, 31 Dec 9999 23:59:59 GMT` cannot be spelled
/// with a four-digit year and are clamped to that instant.
///
/// ```
/// use relent::UnixTime;
/// use relent::hint::format_imf_fixdate;
///
/// let text = format_imf_fixdate(UnixTime::from_secs(784_111_777));
/// assert_eq!(&text, b"Sun, 06 Nov 1994 08:49:37 GMT");
/// ```
#[must_use]
pub fn format_imf_fixdate(t: UnixTime) -> [u8; 29] {
    let secs = t.as_secs().min(LAST_FOUR_DIGIT_SECOND);
    let days = secs / SECS_PER_DAY;
    let tod = secs % SECS_PER_DAY;
    let (year, month, day) = civil_from_days(days);
    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    let wd = SHORT_DAYS
        .get(usize::from(weekday(days)))
        .copied()
        .unwrap_or(b"Sun");
    let mn = MONTHS
        .get(usize::from(month).wrapping_sub(1))
        .copied()
        .unwrap_or(b"Jan");
    let [w0, w1, w2] = *wd;
    let [m0, m1, m2] = *mn;
    out[0] = w0;
    out[1] = w1;
    out[2] = w2;
    out[5] = ascii_digit(u64::from(day) / 10);
    out[6] = ascii_digit(u64::from(day));
    out[8] = m0;
    out[9] = m1;
    out[10] = m2;
    out[12] = ascii_digit(year / 1000);
    out[13] = ascii_digit(year / 100);
    out[14] = ascii_digit(year / 10);
    out[15] = ascii_digit(year);
    let (hour, minute, second) = (tod / 3600, tod / 60 % 60, tod % 60);
    out[17] = ascii_digit(hour / 10);
    out[18] = ascii_digit(hour);
    out[20] = ascii_digit(minute / 10);
    out[21] = ascii_digit(minute);
    out[23] = ascii_digit(second / 10);
    out[24] = ascii_digit(second);
    out
}

/// The ASCII digit of `n mod 10`.
const fn ascii_digit(n: u64) -> u8 {
    b'0'.wrapping_add((n % 10) as u8)
}

/// The fast paths against the field-by-field paths, which they must agree with on every
/// input (those paths, the original implementation, are the reference), the year and
/// weekday arithmetic they rest on against independent models, and the name tables
/// both share against the plain name lists.
#[cfg(test)]
mod fast_path_laws {
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::format;
    use std::string::ToString;
    use std::vec::Vec;

    /// 50 years and a bit past the last four-digit second: the fast path's reference
    /// limit and the range beyond it, where the field-by-field path decides alone.
    const REF_SPAN: u64 = LAST_FOUR_DIGIT_SECOND + 60 * 366 * SECS_PER_DAY;

    /// `name, DD-Mon-YY HH:MM:SS GMT` from raw numbers (two digits each, unvalidated).
    fn spell(name: &[u8], day: u8, month: usize, yy: u8, hms: (u8, u8, u8)) -> Vec<u8> {
        let two = |v: u8| [b'0' + v / 10 % 10, b'0' + v % 10];
        let mut v = Vec::with_capacity(40);
        v.extend_from_slice(name);
        v.extend_from_slice(b", ");
        v.extend_from_slice(&two(day));
        v.push(b'-');
        v.extend_from_slice(MONTHS[month % 12]);
        v.push(b'-');
        v.extend_from_slice(&two(yy));
        v.push(b' ');
        v.extend_from_slice(&two(hms.0));
        v.push(b':');
        v.extend_from_slice(&two(hms.1));
        v.push(b':');
        v.extend_from_slice(&two(hms.2));
        v.extend_from_slice(b" GMT");
        v
    }

    fn name() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            8 => (0..7usize).prop_map(|i| LONG_DAYS[i].to_vec()),
            1 => (0..7usize).prop_map(|i| SHORT_DAYS[i].to_vec()),
            1 => proptest::collection::vec(
                prop_oneof![Just(b'd'), Just(b'a'), Just(b'y'), Just(b'S'), any::<u8>()],
                0..12
            ),
        ]
    }

    fn small(valid: u8) -> impl Strategy<Value = u8> {
        prop_oneof![4 => 0..=valid, 1 => 0u8..=99]
    }

    fn reference() -> impl Strategy<Value = u64> {
        prop_oneof![
            4 => 0..=REF_SPAN,
            1 => 0u64..=4_000_000_000,
            1 => (LAST_FOUR_DIGIT_SECOND - 2 * SECS_PER_DAY)..=(LAST_FOUR_DIGIT_SECOND + 2 * SECS_PER_DAY),
            1 => any::<u64>(),
        ]
    }

    fn edits() -> impl Strategy<Value = Vec<(usize, u8)>> {
        prop_oneof![
            3 => Just(Vec::new()),
            1 => proptest::collection::vec((any::<usize>(), any::<u8>()), 1..3),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        /// Whatever the fast path accepts, the field-by-field path accepts with the same
        /// instant; the parser as a whole answers exactly as the field-by-field path; and
        /// the fast path declines only what it leaves on purpose (29 February, the leap
        /// second, references after 9999, results before 1970).
        #[test]
        fn fast_path_agrees_with_field_path(
            name in name(), day in small(31), month in 0..12usize, yy in 0u8..=99,
            hms in (small(23), small(59), small(60)), r in reference(), edits in edits(),
        ) {
            let mut v = spell(&name, day, month, yy, hms);
            let len = v.len();
            for &(at, byte) in &edits {
                v[at % len] = byte;
            }
            let reference = UnixTime::from_secs(r);
            let slow = rfc850_fields(&v, reference);
            prop_assert_eq!(rfc850(&v, reference), by_hand::rfc850(&v, reference));
            let fast = fast::rfc850(&v, reference).and_then(fast::to_unix);
            if let Some(t) = fast {
                prop_assert_eq!(slow, Ok(t));
            }
            // Lengths 24 and 29 go to the asctime and IMF-fixdate paths first.
            if len != 24 && len != 29 && trim_ows(&v).len() == len {
                prop_assert_eq!(parse_trimmed(&v, reference), slow);
            }
            let left_to_slow_path = !edits.is_empty()
                || (month, day) == (1, 29)
                || hms.2 == 60
                || r > LAST_FOUR_DIGIT_SECOND;
            if slow.is_ok() && !left_to_slow_path {
                prop_assert!(fast.is_some(), "{:?} at {}", core::str::from_utf8(&v), r);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        /// IMF-fixdate and asctime: whatever the fast path accepts, the field-by-field
        /// path accepts with the same instant, the parser as a whole answers exactly as
        /// the field-by-field path, and every valid date but 29 February and the leap
        /// second takes the fast path. Any names, fields 00..99, any four-digit year,
        /// corrupted bytes.
        #[test]
        fn fixed_layout_fast_paths_agree_with_field_paths(
            w in 0..8usize, day in small(31), month in 0..12usize,
            year in prop_oneof![1960u16..=2110, 0u16..=9999],
            hms in (small(23), small(59), small(60)), padded: bool, edits in edits(),
        ) {
            let two = |v: u8| [b'0' + v / 10 % 10, b'0' + v % 10];
            let name: &[u8] = SHORT_DAYS.get(w).map_or(b"Sux", |n| &n[..]);
            let (d, mon, (h, m, sec)) = (two(day), MONTHS[month], (two(hms.0), two(hms.1), two(hms.2)));
            let y = year.to_string();
            let y = format!("{y:0>4}");
            let imf = [
                name, b", ", &d, b" ", mon, b" ", y.as_bytes(), b" ", &h, b":", &m, b":", &sec, b" GMT",
            ]
            .concat();
            let d_asc = if day < 10 && !padded { [b' ', d[1]] } else { d };
            let asc = [
                name, b" ", mon, b" ", &d_asc, b" ", &h, b":", &m, b":", &sec, b" ", y.as_bytes(),
            ]
            .concat();
            let left_to_slow_path = !edits.is_empty() || (month, day) == (1, 29) || hms.2 == 60;
            for mut v in [imf, asc] {
                let len = v.len();
                for &(at, byte) in &edits {
                    v[at % len] = byte;
                }
                let reference = UnixTime::from_secs(1_795_000_000);
                let (fast, slow) = if let Ok(b) = <&[u8; 29]>::try_from(&v[..]) {
                    if b[3] == b',' {
                        prop_assert_eq!(imf_fixdate(b), by_hand::imf_fixdate(b));
                    }
                    (fast::imf_fixdate(b).and_then(fast::to_unix), imf_fixdate_fields(b))
                } else if let Ok(b) = <&[u8; 24]>::try_from(&v[..]) {
                    if b[3] == b' ' {
                        prop_assert_eq!(asctime(b), by_hand::asctime(b));
                    }
                    (fast::asctime(b).and_then(fast::to_unix), asctime_fields(b))
                } else {
                    unreachable!("the two layouts are 29 and 24 bytes")
                };
                if let Some(t) = fast {
                    prop_assert_eq!(slow, Ok(t));
                }
                if v[3] == if len == 29 { b',' } else { b' ' } && trim_ows(&v).len() == len {
                    prop_assert_eq!(parse_trimmed(&v, reference), slow);
                }
                if slow.is_ok() && !left_to_slow_path {
                    prop_assert!(fast.is_some(), "{:?}", core::str::from_utf8(&v));
                }
            }
        }
    }

    /// A byte for a layout position: mostly one that fits, often one that does not.
    fn noisy(good: u8) -> impl Strategy<Value = u8> {
        prop_oneof![
            4 => Just(good),
            1 => b'0'..=b'9',
            1 => prop_oneof![Just(b' '), Just(b':'), Just(b'-'), Just(b','), Just(b'G')],
            1 => any::<u8>(),
        ]
    }

    fn noisy_value(good: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
        good.iter().map(|&b| noisy(b)).collect::<Vec<_>>()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        /// The one layout reader names the same error, or reads the same fields, as the
        /// hand-written reader of each format, for values with several faults at once.
        #[test]
        fn layout_reader_agrees_with_hand_written_readers(
            imf in noisy_value(b"Sun, 06 Nov 1994 08:49:37 GMT"),
            asc in noisy_value(b"Sun Nov  6 08:49:37 1994"),
            rfc in noisy_value(b"Sunday, 06-Nov-94 08:49:37 GMT"),
            r in reference(),
        ) {
            // The dispatch picks a fixed layout by its fourth byte, which is then in place.
            let (mut imf, mut asc) = (imf, asc);
            (imf[3], asc[3]) = (b',', b' ');
            let imf: &[u8; 29] = imf[..].try_into().unwrap();
            prop_assert_eq!(imf_fixdate(imf), by_hand::imf_fixdate(imf));
            let asc: &[u8; 24] = asc[..].try_into().unwrap();
            prop_assert_eq!(asctime(asc), by_hand::asctime(asc));
            let reference = UnixTime::from_secs(r);
            prop_assert_eq!(rfc850(&rfc, reference), by_hand::rfc850(&rfc, reference));
        }
    }

    /// The name lists, searched one by one: the model of the table lookups.
    fn listed(list: &[&[u8]], name: &[u8]) -> Option<u8> {
        list.iter().position(|d| *d == name).map(|i| i as u8)
    }

    proptest! {
        /// The table lookups accept exactly the listed names, case-sensitively.
        #[test]
        fn long_names_by_table_agree_with_the_list(
            name in prop_oneof![
                (0..7usize, any::<usize>(), any::<u8>()).prop_map(|(i, at, b)| {
                    let mut n = LONG_DAYS[i].to_vec();
                    let len = n.len();
                    n[at % len] = b;
                    n
                }),
                (0..7usize, 0..7usize).prop_map(|(i, j)| {
                    let mut n = LONG_DAYS[i][..3].to_vec();
                    n.extend_from_slice(&LONG_DAYS[j][3..]);
                    n
                }),
                proptest::collection::vec(any::<u8>(), 0..12),
            ],
        ) {
            let model = listed(&LONG_DAYS, &name).ok_or(ParseError::BadDayName);
            prop_assert_eq!(long_day(&name), model);
        }
    }

    #[test]
    fn short_names_by_table_agree_with_the_lists() {
        let days: Vec<&[u8]> = SHORT_DAYS.iter().map(|d| &d[..]).collect();
        let months: Vec<&[u8]> = MONTHS.iter().map(|m| &m[..]).collect();
        for a in 0..=255u8 {
            for b in (b'A'..=b'z').chain([0, b' ', 0x80, 0xff]) {
                for c in (b'A'..=b'z').chain([0, b' ', 0x80, 0xff]) {
                    let name = [a, b, c];
                    let day = listed(&days, &name).ok_or(ParseError::BadDayName);
                    assert_eq!(short_day(name), day, "{name:?}");
                    let month = listed(&months, &name)
                        .map(|m| m + 1)
                        .ok_or(ParseError::BadMonth);
                    assert_eq!(super::month(name), month, "{name:?}");
                }
            }
        }
        for (i, name) in LONG_DAYS.iter().enumerate() {
            assert_eq!(long_day(name), Ok(i as u8));
        }
    }

    #[test]
    fn mod7_by_multiplication() {
        for x in 0..1u32 << 22 {
            assert_eq!(fast::mod7(x), x % 7, "{x}");
        }
    }

    #[test]
    fn year_of_century_by_multiplication() {
        for r in 0..DAYS_PER_ERA as u32 {
            let m = r | 3;
            assert_eq!(((u64::from(m) * 2_939_745) >> 32) as u32, m / 1461, "{r}");
        }
    }

    /// Day by day from 0000-03-01 past 10 000-03-01, with a year counter that adds each
    /// computational year's length (366 when the February it ends with is a leap one).
    #[test]
    fn computational_year_every_day() {
        let (mut year, mut first) = (0u32, 0u32);
        for z in 0..3_700_000u32 {
            let len = if is_leap_year(u64::from(year) + 1) {
                366
            } else {
                365
            };
            if z == first + len {
                year += 1;
                first = z;
            }
            assert_eq!(fast::computational_year(z), year, "day {z}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUN_06_NOV_1994: UnixTime = UnixTime::from_secs(784_111_777);
    const NOW_2026: UnixTime = UnixTime::from_secs(1_795_000_000); // 2026-11-18

    #[test]
    fn three_formats_agree() {
        for s in [
            &b"Sun, 06 Nov 1994 08:49:37 GMT"[..],
            b"Sunday, 06-Nov-94 08:49:37 GMT",
            b"Sun Nov  6 08:49:37 1994",
            b"Sun Nov 06 08:49:37 1994",
            b" \tSun, 06 Nov 1994 08:49:37 GMT\t ",
        ] {
            assert_eq!(parse_http_date(s, NOW_2026), Ok(SUN_06_NOV_1994), "{s:?}");
        }
    }

    #[test]
    fn civil_round_trip_every_day_of_several_eras() {
        // From 1970-01-01 across more than two 400-year eras, day by day.
        let mut expected = (1970u64, 1u8, 1u8);
        for days in 0..(DAYS_PER_ERA * 2 + 1000) {
            assert_eq!(civil_from_days(days), expected, "day {days}");
            assert_eq!(
                days_from_civil(expected.0, expected.1, expected.2),
                Some(days)
            );
            let (y, m, d) = expected;
            expected = if d < days_in_month(y, m) {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
        }
    }

    proptest::proptest! {
        /// The narrow path (hosted targets, years below 65 536) and the wide one (every
        /// year on bare-metal targets) agree for every such year, month and day byte,
        /// valid or not.
        #[test]
        fn narrow_and_wide_civil_agree_everywhere(
            year in 0u16..=u16::MAX,
            month in proptest::num::u8::ANY,
            day in proptest::num::u8::ANY,
        ) {
            proptest::prop_assert_eq!(
                days_from_civil_u16(year, month, day),
                days_from_civil_wide(u64::from(year), month, day)
            );
        }
    }

    #[test]
    fn narrow_and_wide_civil_agree() {
        for year in (0..=u64::from(u16::MAX))
            .step_by(7)
            .chain([1969, 1970, 2000, 2100, 65_535])
        {
            for (month, day) in [(1, 1), (2, 28), (3, 1), (12, 31)] {
                let narrow = days_from_civil_u16(year as u16, month, day);
                assert_eq!(
                    narrow,
                    days_from_civil_wide(year, month, day),
                    "{year}-{month}-{day}"
                );
                if let Some(days) = narrow {
                    assert_eq!(civil_from_days(days), (year, month, day));
                }
            }
        }
        // The wide path alone, far beyond four digits, round-trips too.
        for days in [30_000_000, 1 << 40, u64::MAX / 86_400] {
            let (y, m, d) = civil_from_days(days);
            assert!(y > 65_535);
            assert_eq!(days_from_civil(y, m, d), Some(days));
        }
    }

    #[test]
    fn before_epoch_is_none() {
        assert_eq!(days_from_civil(1969, 12, 31), None);
        assert_eq!(days_from_civil(0, 1, 1), None);
        assert_eq!(days_from_civil(1970, 1, 1), Some(0));
    }

    #[test]
    fn weekdays() {
        assert_eq!(weekday(0), 4); // Thursday
        assert_eq!(weekday(784_111_777 / 86_400), 0); // Sunday
        // u64::MAX = 2^64 - 1 ≡ 2 - 1 = 1 (mod 7), so Thursday + 1 = Friday.
        assert_eq!(weekday(u64::MAX), 5);
    }

    #[test]
    fn formatter_matches_known_values() {
        assert_eq!(
            &format_imf_fixdate(UnixTime::EPOCH),
            b"Thu, 01 Jan 1970 00:00:00 GMT"
        );
        assert_eq!(
            &format_imf_fixdate(UnixTime::from_secs(LAST_FOUR_DIGIT_SECOND)),
            b"Fri, 31 Dec 9999 23:59:59 GMT"
        );
        assert_eq!(
            &format_imf_fixdate(UnixTime::from_secs(u64::MAX)),
            b"Fri, 31 Dec 9999 23:59:59 GMT"
        );
        assert_eq!(
            &format_imf_fixdate(UnixTime::from_secs(951_782_400)),
            b"Tue, 29 Feb 2000 00:00:00 GMT"
        );
    }

    #[test]
    fn rejections_name_the_problem() {
        let cases: [(&[u8], ParseError); 14] = [
            (b"", ParseError::Empty),
            (b"Sun, 06 Nov 1994 08:49:37 gmt", ParseError::BadZone),
            (b"Sun, 06 Nov 1994 08:49:37 UTC", ParseError::BadZone),
            (b"sun, 06 Nov 1994 08:49:37 GMT", ParseError::BadDayName),
            (b"Sun, 06 nov 1994 08:49:37 GMT", ParseError::BadMonth),
            (b"Sun, 0x Nov 1994 08:49:37 GMT", ParseError::BadNumber),
            (b"Sun, 06 Nov 1994 24:00:00 GMT", ParseError::TimeOutOfRange),
            (b"Sun, 06 Nov 1994 08:60:00 GMT", ParseError::TimeOutOfRange),
            (b"Sun, 06 Nov 1994 08:49:60 GMT", ParseError::TimeOutOfRange),
            (b"Sun, 31 Feb 2026 00:00:00 GMT", ParseError::DayOutOfRange),
            (b"Sun, 00 Nov 1994 08:49:37 GMT", ParseError::DayOutOfRange),
            (
                b"Mon, 06 Nov 1994 08:49:37 GMT",
                ParseError::WeekdayMismatch,
            ),
            (b"Wed, 31 Dec 1969 23:59:59 GMT", ParseError::BeforeEpoch),
            (b"Sun, 6 Nov 1994 08:49:37 GMT", ParseError::UnknownFormat),
        ];
        for (s, e) in cases {
            assert_eq!(
                parse_http_date(s, NOW_2026),
                Err(e),
                "{:?}",
                core::str::from_utf8(s)
            );
        }
        assert_eq!(
            parse_http_date(b"Sun, 06 Nov 1994 08:49:37 GMT\xff", NOW_2026),
            Err(ParseError::NonAscii)
        );
        assert_eq!(
            parse_http_date(b"Sun, 06-Nov-94 08:49:37 GMT", NOW_2026),
            Err(ParseError::BadDayName)
        );
        assert_eq!(
            parse_http_date(b"Sunday, 06 Nov 1994 08:49:37 GMT", NOW_2026),
            Err(ParseError::UnknownFormat)
        );
    }

    #[test]
    fn leap_second_is_next_midnight() {
        let t = parse_http_date(b"Sat, 31 Dec 2016 23:59:60 GMT", NOW_2026).unwrap();
        let next = parse_http_date(b"Sun, 01 Jan 2017 00:00:00 GMT", NOW_2026).unwrap();
        assert_eq!(t, next);
    }

    #[test]
    fn fifty_year_rule() {
        // Reference 2026-11-18: "70" is 2070 (44 years ahead), "94" is 1994
        // (2094 would be 68 years ahead).
        let y2070 = parse_http_date(b"Wednesday, 01-Jan-70 00:00:00 GMT", NOW_2026).unwrap();
        assert_eq!(y2070, UnixTime::from_secs(3_155_760_000));
        // 2076-11-18 is exactly 50 years ahead (not more): still this century.
        let edge = parse_http_date(b"Wednesday, 18-Nov-76 00:00:00 GMT", NOW_2026);
        assert!(edge.is_ok(), "{edge:?}");
        // 2076-12-01 is more than 50 years ahead: 1976-12-01 (a Wednesday).
        let past = parse_http_date(b"Wednesday, 01-Dec-76 00:00:00 GMT", NOW_2026).unwrap();
        assert_eq!(past, UnixTime::from_secs(218_246_400));
        // The window slides: in 2080, "10" is 2110 (30 years ahead), not 2010.
        let y2080 = UnixTime::from_secs(3_502_915_200); // 2081-01-01
        let t = parse_http_date(b"Friday, 01-Jan-10 00:00:00 GMT", y2080);
        assert!(
            t.is_err(),
            "2110-01-01 is a Wednesday, so Friday must be rejected: {t:?}"
        );
        let t = parse_http_date(b"Wednesday, 01-Jan-10 00:00:00 GMT", y2080).unwrap();
        assert_eq!(t, UnixTime::from_secs(4_417_977_600)); // 2110-01-01
        // A reference late in 1970 sends "21" back to 1921: before the epoch.
        assert_eq!(
            parse_http_date(b"Friday, 01-Jan-21 00:00:00 GMT", UnixTime::from_secs(0)),
            Err(ParseError::BeforeEpoch)
        );
    }

    #[test]
    fn absurd_reference_does_not_panic() {
        for r in [0, 1, u64::MAX / 2, u64::MAX - 1, u64::MAX] {
            let _ = parse_http_date(b"Sunday, 06-Nov-94 08:49:37 GMT", UnixTime::from_secs(r));
        }
    }
}
