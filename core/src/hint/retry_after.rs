//! The `Retry-After` field (RFC 9110 §10.2.3): `HTTP-date / delay-seconds`.

use core::time::Duration;

use super::date;
use super::error::ParseError;
use super::lex::{digits_saturating, trim_ows};
use crate::UnixTime;

/// A parsed `Retry-After` value: either a span or a point in time.
///
/// The two are kept apart because a date must be measured against a clock,
/// and which clock is right (the server's `Date` or the client's own) is only
/// known when the whole response is at hand; see [`RetryAfter::delay_from`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[must_use]
pub enum RetryAfter {
    /// `delay-seconds`: wait this long after the response was received.
    Delay(Duration),
    /// `HTTP-date`: do not retry before this instant.
    Date(UnixTime),
}

impl RetryAfter {
    /// How long to wait, measured from when the response was received.
    ///
    /// * `Delay(d)` → `d`, whatever the clocks say.
    /// * `Date(t)` → `t − origin`, saturating at zero, where `origin` is the
    ///   response's own `Date` header if it was present and valid, else `now`.
    ///   Subtracting the server's own `Date` cancels any skew between the
    ///   server's clock and ours: both instants come from the same clock.
    ///   A date at or before the origin means "now" (zero), never an error.
    ///
    /// ```
    /// use core::time::Duration;
    /// use relent::UnixTime;
    /// use relent::hint::RetryAfter;
    ///
    /// let at = RetryAfter::Date(UnixTime::from_secs(1_000_120));
    /// // The server's clock says 1_000_000; ours runs 50 s fast: trust the server.
    /// let server_date = Some(UnixTime::from_secs(1_000_000));
    /// let our_now = UnixTime::from_secs(1_000_050);
    /// assert_eq!(at.delay_from(server_date, our_now), Duration::from_secs(120));
    /// assert_eq!(at.delay_from(None, our_now), Duration::from_secs(70));
    /// // A date in the past means zero.
    /// assert_eq!(at.delay_from(None, UnixTime::from_secs(2_000_000)), Duration::ZERO);
    /// ```
    #[must_use]
    pub fn delay_from(self, response_date: Option<UnixTime>, now: UnixTime) -> Duration {
        match self {
            RetryAfter::Delay(d) => d,
            RetryAfter::Date(t) => t.saturating_duration_since(response_date.unwrap_or(now)),
        }
    }
}

/// Parses a `Retry-After` field value.
///
/// Accepts `delay-seconds` (`1*DIGIT`) or an HTTP-date in any of the three
/// formats of RFC 9110 §5.6.7 (see [`parse_http_date`](super::parse_http_date),
/// whose `reference` rules the two-digit years of RFC 850 dates: pass the
/// time the response was received). Optional whitespace (SP, HTAB) around the
/// value is ignored.
///
/// * Delay-seconds **saturate**: a number too big for `u64` seconds
///   (`18446744073709551616`, 99 digits, a 64 KiB run of digits) becomes
///   `Duration::from_secs(u64::MAX)`, never a wrapped-around small number.
///   Such a value then exceeds any [`HintPolicy`](super::HintPolicy) cap and
///   is refused there, loudly, instead of being obeyed.
/// * Signs and fractions (`-1`, `+5`, `1.5`) are [`ParseError::BadDelaySeconds`].
/// * The input is bytes: non-ASCII (including non-UTF-8) is
///   [`ParseError::NonAscii`]. Nothing here panics or allocates.
///
/// ```
/// use core::time::Duration;
/// use relent::UnixTime;
/// use relent::hint::{parse_retry_after, ParseError, RetryAfter};
///
/// let now = UnixTime::from_secs(1_700_000_000);
/// assert_eq!(parse_retry_after(b" 120 ", now), Ok(RetryAfter::Delay(Duration::from_secs(120))));
/// assert_eq!(
///     parse_retry_after(b"Sun, 06 Nov 1994 08:49:37 GMT", now),
///     Ok(RetryAfter::Date(UnixTime::from_secs(784_111_777)))
/// );
/// assert_eq!(parse_retry_after(b"1.5", now), Err(ParseError::BadDelaySeconds));
/// assert_eq!(
///     parse_retry_after(b"18446744073709551616", now),
///     Ok(RetryAfter::Delay(Duration::from_secs(u64::MAX)))
/// );
/// ```
pub fn parse_retry_after(value: &[u8], reference: UnixTime) -> Result<RetryAfter, ParseError> {
    // The common form first: 1 to 19 bare digits (`120`), which cannot overflow a u64
    // (10^19 − 1 < 2^64): one pass, no trimming, no saturation. Anything else (whitespace,
    // more digits, a date, an error) takes the general path below, which gives the same
    // answer for these inputs too (a property test checks the two agree).
    // Bare-metal targets (`target_os = "none"`) skip the short-digits fast path:
    // `parse_general` gives the same answer (a property test checks it) with less code.
    #[cfg(not(target_os = "none"))]
    if let Some(secs) = short_digits(value) {
        return Ok(RetryAfter::Delay(Duration::from_secs(secs)));
    }
    parse_general(value, reference)
}

/// [`parse_retry_after`] without the short-digits fast path: trims, then parses
/// delay-seconds (saturating) or an HTTP-date.
#[inline]
fn parse_general(value: &[u8], reference: UnixTime) -> Result<RetryAfter, ParseError> {
    let s = trim_ows(value);
    // Every byte of a successful parse is checked against an ASCII literal or
    // digit, so success implies ASCII: the scan for non-ASCII bytes is only
    // needed to name the error, and stays off the fast path.
    let parsed = match s {
        [] => return Err(ParseError::Empty),
        [b'0'..=b'9', ..] => digits_saturating(s)
            .map(|secs| RetryAfter::Delay(Duration::from_secs(secs)))
            .ok_or(ParseError::BadDelaySeconds),
        [b'+' | b'-', b'0'..=b'9', ..] => Err(ParseError::BadDelaySeconds),
        _ => date::parse_trimmed(s, reference).map(RetryAfter::Date),
    };
    parsed.map_err(|e| {
        if s.is_ascii() {
            e
        } else {
            ParseError::NonAscii
        }
    })
}

/// `value` as a number when it is 1 to 19 ASCII digits and nothing else.
#[cfg(not(target_os = "none"))]
#[inline]
fn short_digits(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 19 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in value {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        // At most 19 digits: v < 10^18 before this step, so no wrap.
        v = v.wrapping_mul(10).wrapping_add(u64::from(d));
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

    #[test]
    fn delay_seconds() {
        assert_eq!(
            parse_retry_after(b"0", NOW),
            Ok(RetryAfter::Delay(Duration::ZERO))
        );
        assert_eq!(
            parse_retry_after(b"\t0042", NOW),
            Ok(RetryAfter::Delay(Duration::from_secs(42)))
        );
        assert_eq!(
            parse_retry_after(b"12s", NOW),
            Err(ParseError::BadDelaySeconds)
        );
        assert_eq!(
            parse_retry_after(b"12 34", NOW),
            Err(ParseError::BadDelaySeconds)
        );
        assert_eq!(parse_retry_after(b"-", NOW), Err(ParseError::UnknownFormat));
        assert_eq!(
            parse_retry_after(b"soon", NOW),
            Err(ParseError::UnknownFormat)
        );
        assert_eq!(parse_retry_after(b"12\xff", NOW), Err(ParseError::NonAscii));
    }

    proptest::proptest! {
        /// Without the short-digits fast path (as on bare-metal targets) every value
        /// parses the same: digit strings of every length, with and without whitespace,
        /// and any bytes.
        #[test]
        fn general_path_agrees_with_the_fast_path(
            value in proptest::prop_oneof![
                proptest::string::bytes_regex("[ \t]?[0-9]{1,25}[ \t]?").unwrap(),
                proptest::string::bytes_regex("[0-9+-]{0,21}").unwrap(),
                proptest::collection::vec(proptest::num::u8::ANY, 0..40),
            ],
            reference in proptest::num::u64::ANY,
        ) {
            let reference = UnixTime::from_secs(reference);
            proptest::prop_assert_eq!(
                parse_general(&value, reference),
                parse_retry_after(&value, reference)
            );
        }
    }

    #[test]
    fn delay_from_saturates() {
        let far = RetryAfter::Date(UnixTime::from_duration(Duration::MAX));
        assert_eq!(far.delay_from(None, UnixTime::EPOCH), Duration::MAX);
        let d = RetryAfter::Delay(Duration::from_secs(5));
        assert_eq!(
            d.delay_from(Some(UnixTime::EPOCH), UnixTime::from_secs(u64::MAX)),
            Duration::from_secs(5)
        );
    }
}
