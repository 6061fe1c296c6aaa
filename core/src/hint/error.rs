//! Why a `Retry-After` value or an HTTP-date was rejected.

use core::fmt;

/// What was wrong with a `Retry-After` value or an HTTP-date.
///
/// A server hint is advice, so callers are free to ignore the error and fall
/// back to their backoff schedule; the variants exist so that a log line or a
/// test can say *why* a header was not obeyed. Each variant names the first
/// problem found, reading left to right.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseError {
    /// Nothing but optional whitespace (`""`, `" "`).
    Empty,
    /// A byte outside ASCII: HTTP dates and delay-seconds are pure ASCII, so
    /// such a value (including any non-UTF-8 value) cannot be either.
    NonAscii,
    /// Looks numeric but is not `1*DIGIT`: a sign (`-1`, `+5`), a fraction
    /// (`1.5`), or trailing junk (`12s`). RFC 9110 §10.2.3 allows only unsigned
    /// whole seconds.
    BadDelaySeconds,
    /// Neither delay-seconds nor shaped like any of the three HTTP-date formats
    /// (wrong length, wrong separators, a single-digit day in IMF-fixdate, …).
    UnknownFormat,
    /// The day name is not one the format allows. Names are case-sensitive
    /// (RFC 9110 §5.6.7), so `sun` is rejected like `Xyz`.
    BadDayName,
    /// The month is not one of `Jan` … `Dec` (case-sensitive).
    BadMonth,
    /// A position that must hold a digit holds something else.
    BadNumber,
    /// The zone is not exactly `GMT`. RFC 9110 §5.6.7 makes HTTP-date
    /// case-sensitive, so lower-case `gmt` lands here.
    BadZone,
    /// Hour above 23, minute above 59, or second above 59 (the one leap second
    /// `23:59:60` that RFC 9110 allows is accepted).
    TimeOutOfRange,
    /// Day 0, or past the end of its month (`31 Feb`, `29 Feb` of a common year).
    DayOutOfRange,
    /// The day name disagrees with the date (e.g. `Mon, 06 Nov 1994` was a
    /// Sunday). Rejected, as `httpdate` does: a date that contradicts itself
    /// is more likely corrupted than meant.
    WeekdayMismatch,
    /// The date lies before 1970-01-01, which [`UnixTime`](crate::UnixTime)
    /// cannot hold. Such a date would be in the past anyway.
    BeforeEpoch,
}

impl ParseError {
    /// A short, stable, human-readable reason.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            ParseError::Empty => "empty value",
            ParseError::NonAscii => "non-ASCII byte",
            ParseError::BadDelaySeconds => "delay-seconds must be unsigned whole seconds",
            ParseError::UnknownFormat => "neither delay-seconds nor an HTTP-date",
            ParseError::BadDayName => "invalid day name",
            ParseError::BadMonth => "invalid month name",
            ParseError::BadNumber => "non-digit where a digit is required",
            ParseError::BadZone => "zone must be exactly GMT",
            ParseError::TimeOutOfRange => "time of day out of range",
            ParseError::DayOutOfRange => "day out of range for its month",
            ParseError::WeekdayMismatch => "day name disagrees with the date",
            ParseError::BeforeEpoch => "date before 1970-01-01",
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for ParseError {}
