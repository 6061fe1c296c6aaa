//! Every way a server says "come back later", read in a configurable order.

use core::time::Duration;

use super::lex::{digits_saturating, eq_ignore_case, trim_ows};
use super::ratelimit;
use super::retry_after::{RetryAfter, parse_retry_after};
use crate::UnixTime;

/// A response header that can carry a retry hint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HintSource {
    /// `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. A date
    /// is measured against the response's own `Date` header when that is
    /// present and valid, else against the caller's `now`.
    RetryAfter,
    /// The IETF `RateLimit` field (draft-ietf-httpapi-ratelimit-headers-11,
    /// §4): the longest effective window `t` among policies whose available
    /// quota `r` is 0, in seconds. Policies with quota left imply no wait.
    RateLimit,
    /// `X-RateLimit-Reset`: the Unix time (whole seconds) at which the quota
    /// resets, as GitHub and Envoy's `UNIX_TIMESTAMP` reset-header format use
    /// it. Measured against the response's own `Date` when present and valid
    /// (cancelling clock skew, as for Retry-After dates), else the caller's
    /// `now`; a past time means zero. (A
    /// server that sends seconds-until-reset here gets a time in 1970, hence
    /// zero: use [`RateLimit`](Self::RateLimit) or `Retry-After` for that.)
    XRateLimitReset,
    /// `grpc-retry-pushback-ms` (gRFC A6, client retries): milliseconds as a
    /// signed 32-bit decimal. "If the value for pushback is negative or
    /// unparseble, then it will be seen as the server asking the client not to
    /// retry at all", so a malformed value here is
    /// [`ServerHint::DoNotRetry`], not skipped; so are conflicting duplicates.
    GrpcRetryPushbackMs,
    /// `x-amz-retry-after`: milliseconds, as AWS SDKs read it.
    XAmzRetryAfter,
}

impl HintSource {
    /// How many sources there are.
    pub const COUNT: usize = 5;

    /// Every source, in the default reading order.
    pub const ALL: [HintSource; HintSource::COUNT] = [
        HintSource::RetryAfter,
        HintSource::RateLimit,
        HintSource::GrpcRetryPushbackMs,
        HintSource::XAmzRetryAfter,
        HintSource::XRateLimitReset,
    ];

    /// The header name, lower-case (names are matched case-insensitively).
    #[must_use]
    pub const fn header_name(self) -> &'static str {
        match self {
            HintSource::RetryAfter => "retry-after",
            HintSource::RateLimit => "ratelimit",
            HintSource::XRateLimitReset => "x-ratelimit-reset",
            HintSource::GrpcRetryPushbackMs => "grpc-retry-pushback-ms",
            HintSource::XAmzRetryAfter => "x-amz-retry-after",
        }
    }

    const fn index(self) -> usize {
        match self {
            HintSource::RetryAfter => 0,
            HintSource::RateLimit => 1,
            HintSource::XRateLimitReset => 2,
            HintSource::GrpcRetryPushbackMs => 3,
            HintSource::XAmzRetryAfter => 4,
        }
    }

    fn from_name(name: &[u8]) -> Option<HintSource> {
        Self::ALL
            .into_iter()
            .find(|s| eq_ignore_case(name, s.header_name().as_bytes()))
    }
}

/// What a server asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[must_use]
pub enum ServerHint {
    /// Retry no sooner than this long after the response arrived. Judge it
    /// with [`HintPolicy::judge`](super::HintPolicy::judge) before obeying.
    After(Duration),
    /// Do not retry at all (gRPC pushback that is negative or unparseable).
    DoNotRetry,
}

/// A [`ServerHint`] and the header it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[must_use]
pub struct SourcedHint {
    /// What the server asked for.
    pub hint: ServerHint,
    /// Which header said so.
    pub source: HintSource,
}

/// Reads retry hints from response headers, trying sources in a fixed order.
///
/// The first source in the order that yields a valid hint wins; a source
/// that is absent or malformed is skipped (except gRPC pushback, where
/// malformed means "do not retry", per gRFC A6). One exception to the order:
/// a "do not retry" from gRPC pushback wins over every delay, since it is a
/// refusal rather than a delay. Sources left out of the order are not read at
/// all. No allocation: the order is a fixed array.
///
/// The default order is `Retry-After`, `RateLimit`, `grpc-retry-pushback-ms`,
/// `x-amz-retry-after`, `X-RateLimit-Reset`: the standard field first (the
/// RateLimit draft §7 itself says Retry-After "MUST take precedence"), then
/// relative delays, which are immune to clock skew, and the absolute epoch
/// time last.
///
/// Repeated headers: `Retry-After`, `X-RateLimit-Reset`, `x-amz-retry-after`
/// and `Date` are singletons, so duplicates that parse to the same value are
/// accepted (proxies do duplicate headers) and duplicates that differ make the
/// source malformed; no guess is made as to which one the server meant.
/// `RateLimit` is a list, so its lines are combined as RFC 9651 §3.1 says.
///
/// ```
/// use core::time::Duration;
/// use relent::UnixTime;
/// use relent::hint::{HintReader, HintSource, ServerHint, SourcedHint};
///
/// let now = UnixTime::from_secs(1_700_000_000);
/// let headers: [(&[u8], &[u8]); 2] = [
///     (b"RateLimit", br#""default";r=0;t=30"#),
///     (b"Retry-After", b"not a number"), // malformed: skipped
/// ];
/// assert_eq!(
///     HintReader::new().read(headers, now),
///     Some(SourcedHint { hint: ServerHint::After(Duration::from_secs(30)), source: HintSource::RateLimit })
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HintReader {
    order: [Option<HintSource>; HintSource::COUNT],
}

impl Default for HintReader {
    fn default() -> Self {
        Self::new()
    }
}

impl HintReader {
    /// A reader with the default order ([`HintSource::ALL`]).
    #[must_use]
    pub const fn new() -> Self {
        Self::with_order(&HintSource::ALL)
    }

    /// A reader that tries `order` front to back. Sources not listed are not
    /// read; a source listed twice counts at its first position.
    #[must_use]
    pub const fn with_order(order: &[HintSource]) -> Self {
        let mut out: [Option<HintSource>; HintSource::COUNT] = [None; HintSource::COUNT];
        // Bit `i` set: the source with index `i` is already placed.
        let mut placed: u8 = 0;
        let mut len: usize = 0;
        let mut rest = order;
        while let Some((&s, tail)) = rest.split_first() {
            let bit = 1u8 << s.index();
            if placed & bit == 0 {
                placed |= bit;
                // Five distinct sources at most, so `len` < COUNT here.
                match len {
                    0 => out[0] = Some(s),
                    1 => out[1] = Some(s),
                    2 => out[2] = Some(s),
                    3 => out[3] = Some(s),
                    _ => out[4] = Some(s),
                }
                len = len.wrapping_add(1);
            }
            rest = tail;
        }
        HintReader { order: out }
    }

    /// The sources this reader tries, in order.
    pub fn order(&self) -> impl Iterator<Item = HintSource> + '_ {
        self.order.iter().flatten().copied()
    }

    fn enabled(&self, s: HintSource) -> bool {
        self.order().any(|t| t == s)
    }

    /// Reads the first valid hint from `(name, value)` header pairs.
    ///
    /// Names are matched ASCII-case-insensitively. `now` is the caller's
    /// wall clock when the response arrived: it measures `Retry-After` dates and
    /// `X-RateLimit-Reset` when the response has no valid `Date`, and
    /// resolves RFC 850 two-digit years. One pass over the headers; no
    /// allocation; values of any length and content are safe.
    pub fn read<'a, I>(&self, headers: I, now: UnixTime) -> Option<SourcedHint>
    where
        I: IntoIterator<Item = (&'a [u8], &'a [u8])>,
    {
        let mut seen = Seen::default();
        for (name, value) in headers {
            if eq_ignore_case(name, b"date") {
                // The server's own clock: it measures both date-based sources.
                if self.enabled(HintSource::RetryAfter) || self.enabled(HintSource::XRateLimitReset)
                {
                    seen.date
                        .merge(super::date::parse_http_date(value, now).ok());
                }
                continue;
            }
            let Some(source) = HintSource::from_name(name) else {
                continue;
            };
            if !self.enabled(source) {
                continue;
            }
            match source {
                HintSource::RetryAfter => {
                    seen.retry_after.merge(parse_retry_after(value, now).ok());
                }
                HintSource::RateLimit => {
                    let line = ratelimit::wait_secs(value);
                    seen.rate_limit = Some(match seen.rate_limit {
                        None => line,
                        Some(prev) => ratelimit::combine(prev, line),
                    });
                }
                HintSource::XRateLimitReset => {
                    seen.reset.merge(digits_saturating(trim_ows(value)));
                }
                HintSource::GrpcRetryPushbackMs => {
                    seen.pushback.merge(Some(grpc_pushback(value)));
                }
                HintSource::XAmzRetryAfter => {
                    seen.amz.merge(digits_saturating(trim_ows(value)));
                }
            }
        }
        // An explicit "do not retry" is a refusal, not a delay: it wins whatever
        // the order, so a valid Retry-After cannot talk the client into a retry
        // the server forbade.
        if self.enabled(HintSource::GrpcRetryPushbackMs)
            && seen.hint(HintSource::GrpcRetryPushbackMs, now) == Some(ServerHint::DoNotRetry)
        {
            return Some(SourcedHint {
                hint: ServerHint::DoNotRetry,
                source: HintSource::GrpcRetryPushbackMs,
            });
        }
        self.order().find_map(|source| {
            seen.hint(source, now)
                .map(|hint| SourcedHint { hint, source })
        })
    }

    /// [`read`](Self::read) over an `http::HeaderMap`.
    #[cfg(feature = "http")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http")))]
    pub fn read_header_map(&self, headers: &http::HeaderMap, now: UnixTime) -> Option<SourcedHint> {
        self.read(
            headers
                .iter()
                .map(|(n, v)| (n.as_str().as_bytes(), v.as_bytes())),
            now,
        )
    }
}

/// gRPC pushback as read from the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pushback {
    Millis(u64),
    Refuse,
}

/// gRFC A6: a signed 32-bit decimal; negative or unparseable means refuse.
/// Leading zeros are tolerated (A6 asks senders not to send them, and common
/// integer parsers accept them); a `+` sign is not.
fn grpc_pushback(value: &[u8]) -> Pushback {
    let s = trim_ows(value);
    let (negative, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    match digits_saturating(digits) {
        Some(0) => Pushback::Millis(0),
        Some(_) if negative => Pushback::Refuse,
        // Above i32::MAX is not a signed 32-bit integer: unparseable.
        Some(ms) if ms > i32::MAX as u64 => Pushback::Refuse,
        Some(ms) => Pushback::Millis(ms),
        None => Pushback::Refuse,
    }
}

/// One singleton header's state across repeated lines.
#[derive(Clone, Copy, Debug, Default)]
enum Slot<T> {
    #[default]
    Absent,
    Valid(T),
    Malformed,
}

impl<T: PartialEq + Copy> Slot<T> {
    /// Adds one line: a malformed line, or one that differs from an earlier
    /// line, makes the whole slot malformed for good.
    fn merge(&mut self, v: Option<T>) {
        *self = match (*self, v) {
            (Slot::Absent, Some(v)) => Slot::Valid(v),
            (Slot::Valid(a), Some(b)) if a == b => Slot::Valid(a),
            _ => Slot::Malformed,
        };
    }

    fn valid(self) -> Option<T> {
        match self {
            Slot::Valid(v) => Some(v),
            Slot::Absent | Slot::Malformed => None,
        }
    }
}

/// Everything read from one response.
#[derive(Default)]
struct Seen {
    date: Slot<UnixTime>,
    retry_after: Slot<RetryAfter>,
    rate_limit: Option<Result<Option<u64>, ratelimit::Malformed>>,
    reset: Slot<u64>,
    pushback: Slot<Pushback>,
    amz: Slot<u64>,
}

impl Seen {
    fn hint(&self, source: HintSource, now: UnixTime) -> Option<ServerHint> {
        match source {
            HintSource::RetryAfter => self
                .retry_after
                .valid()
                .map(|ra| ServerHint::After(ra.delay_from(self.date.valid(), now))),
            HintSource::RateLimit => match self.rate_limit {
                Some(Ok(Some(t))) => Some(ServerHint::After(Duration::from_secs(t))),
                _ => None,
            },
            // An absolute server time: measured against the server's own `Date`
            // when valid (no clock skew), as Retry-After dates are.
            HintSource::XRateLimitReset => self.reset.valid().map(|epoch| {
                let origin = self.date.valid().unwrap_or(now);
                ServerHint::After(UnixTime::from_secs(epoch).saturating_duration_since(origin))
            }),
            HintSource::GrpcRetryPushbackMs => match self.pushback {
                Slot::Absent => None,
                Slot::Valid(Pushback::Millis(ms)) => {
                    Some(ServerHint::After(Duration::from_millis(ms)))
                }
                Slot::Valid(Pushback::Refuse) | Slot::Malformed => Some(ServerHint::DoNotRetry),
            },
            HintSource::XAmzRetryAfter => self
                .amz
                .valid()
                .map(|ms| ServerHint::After(Duration::from_millis(ms))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

    fn read(reader: &HintReader, headers: &[(&str, &str)]) -> Option<SourcedHint> {
        reader.read(
            headers.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
            NOW,
        )
    }

    fn after(secs: u64, source: HintSource) -> Option<SourcedHint> {
        Some(SourcedHint {
            hint: ServerHint::After(Duration::from_secs(secs)),
            source,
        })
    }

    #[test]
    fn default_order_prefers_retry_after() {
        let r = HintReader::new();
        let h = [
            ("x-ratelimit-reset", "1700000100"),
            ("RateLimit", "\"p\";r=0;t=20"),
            ("RETRY-AFTER", "7"),
        ];
        assert_eq!(read(&r, &h), after(7, HintSource::RetryAfter));
        let only_reset = HintReader::with_order(&[HintSource::XRateLimitReset]);
        assert_eq!(
            read(&only_reset, &h),
            after(100, HintSource::XRateLimitReset)
        );
    }

    #[test]
    fn with_order_dedupes_and_drops() {
        let r = HintReader::with_order(&[
            HintSource::XAmzRetryAfter,
            HintSource::XAmzRetryAfter,
            HintSource::RetryAfter,
        ]);
        let mut it = r.order();
        assert_eq!(it.next(), Some(HintSource::XAmzRetryAfter));
        assert_eq!(it.next(), Some(HintSource::RetryAfter));
        assert_eq!(it.next(), None);
        assert_eq!(HintReader::with_order(&[]).order().count(), 0);
        assert_eq!(
            read(&HintReader::with_order(&[]), &[("retry-after", "1")]),
            None
        );
    }

    #[test]
    fn date_header_cancels_skew() {
        let r = HintReader::new();
        // Server clock is 100 s behind ours; the hint is 60 s after its clock.
        let h = [
            ("Date", "Tue, 14 Nov 2023 22:11:40 GMT"), // 1_699_999_900
            ("Retry-After", "Tue, 14 Nov 2023 22:12:40 GMT"), // 1_699_999_960
        ];
        assert_eq!(read(&r, &h), after(60, HintSource::RetryAfter));
        // Without Date, our clock says the hint is already past: zero.
        assert_eq!(read(&r, &h[1..]), after(0, HintSource::RetryAfter));
        // A malformed Date is ignored, not fatal.
        let h = [("Date", "yesterday"), h[1]];
        assert_eq!(read(&r, &h), after(0, HintSource::RetryAfter));
    }

    #[test]
    fn duplicates() {
        let r = HintReader::new();
        assert_eq!(
            read(&r, &[("Retry-After", "120"), ("retry-after", " 120")]),
            after(120, HintSource::RetryAfter)
        );
        assert_eq!(
            read(&r, &[("Retry-After", "120"), ("Retry-After", "30")]),
            None
        );
        assert_eq!(
            read(
                &r,
                &[
                    ("Retry-After", "120"),
                    ("Retry-After", "30"),
                    ("x-amz-retry-after", "1500")
                ]
            ),
            Some(SourcedHint {
                hint: ServerHint::After(Duration::from_millis(1500)),
                source: HintSource::XAmzRetryAfter
            })
        );
        // RateLimit lines combine as one list.
        assert_eq!(
            read(
                &r,
                &[
                    ("ratelimit", "\"a\";r=0;t=5"),
                    ("ratelimit", "\"b\";r=0;t=9")
                ]
            ),
            after(9, HintSource::RateLimit)
        );
        assert_eq!(
            read(
                &r,
                &[
                    ("ratelimit", "\"a\";r=0;t=5"),
                    ("ratelimit", "\"b\";r=0;t=")
                ]
            ),
            None
        );
    }

    #[test]
    fn grpc_pushback_rules() {
        assert_eq!(grpc_pushback(b"250"), Pushback::Millis(250));
        assert_eq!(grpc_pushback(b" 0 "), Pushback::Millis(0));
        assert_eq!(grpc_pushback(b"-0"), Pushback::Millis(0));
        assert_eq!(
            grpc_pushback(b"2147483647"),
            Pushback::Millis(2_147_483_647)
        );
        assert_eq!(grpc_pushback(b"2147483648"), Pushback::Refuse);
        assert_eq!(grpc_pushback(b"-1"), Pushback::Refuse);
        assert_eq!(grpc_pushback(b"+5"), Pushback::Refuse);
        assert_eq!(grpc_pushback(b""), Pushback::Refuse);
        assert_eq!(grpc_pushback(b"soon"), Pushback::Refuse);
        let r = HintReader::new();
        let refuse = Some(SourcedHint {
            hint: ServerHint::DoNotRetry,
            source: HintSource::GrpcRetryPushbackMs,
        });
        assert_eq!(read(&r, &[("grpc-retry-pushback-ms", "-1")]), refuse);
        assert_eq!(read(&r, &[("grpc-retry-pushback-ms", "x")]), refuse);
        assert_eq!(
            read(
                &r,
                &[
                    ("grpc-retry-pushback-ms", "5"),
                    ("grpc-retry-pushback-ms", "6")
                ]
            ),
            refuse
        );
    }

    #[test]
    fn reset_is_measured_against_the_servers_date() {
        // Our clock is NOW; the server's Date is 40 s behind it, and its reset
        // is 100 s after its own Date: wait 100 s, not 60 s.
        let r = HintReader::with_order(&[HintSource::XRateLimitReset]);
        let date = super::super::format_imf_fixdate(UnixTime::from_secs(NOW.as_secs() - 40));
        let date = core::str::from_utf8(&date).unwrap();
        let reset = "1700000060"; // the server's Date + 100 s
        assert_eq!(
            read(&r, &[("Date", date), ("X-RateLimit-Reset", reset)]),
            after(100, HintSource::XRateLimitReset)
        );
        // Without a Date, our clock: 60 s.
        assert_eq!(
            read(&r, &[("X-RateLimit-Reset", reset)]),
            after(60, HintSource::XRateLimitReset)
        );
    }

    #[test]
    fn an_explicit_grpc_stop_wins_over_any_delay() {
        let r = HintReader::new(); // Retry-After comes first in the order
        assert_eq!(
            read(
                &r,
                &[("Retry-After", "5"), ("grpc-retry-pushback-ms", "-1")]
            ),
            Some(SourcedHint {
                hint: ServerHint::DoNotRetry,
                source: HintSource::GrpcRetryPushbackMs
            })
        );
        // Unless the caller left gRPC pushback out of the order.
        let r = HintReader::with_order(&[HintSource::RetryAfter]);
        assert_eq!(
            read(
                &r,
                &[("Retry-After", "5"), ("grpc-retry-pushback-ms", "-1")]
            ),
            after(5, HintSource::RetryAfter)
        );
    }

    #[test]
    fn reset_in_past_is_zero_and_junk_is_skipped() {
        let r = HintReader::new();
        assert_eq!(
            read(&r, &[("X-RateLimit-Reset", "60")]),
            after(0, HintSource::XRateLimitReset)
        );
        assert_eq!(read(&r, &[("X-RateLimit-Reset", "1.7e9")]), None);
        assert_eq!(read(&r, &[("x-amz-retry-after", "-5")]), None);
    }

    #[cfg(feature = "http")]
    #[test]
    fn header_map_convenience() {
        let mut map = http::HeaderMap::new();
        map.append("Retry-After", http::HeaderValue::from_static("12"));
        map.append("retry-after", http::HeaderValue::from_static("12"));
        map.append("x-amz-retry-after", http::HeaderValue::from_static("500"));
        assert_eq!(
            HintReader::new().read_header_map(&map, NOW),
            after(12, HintSource::RetryAfter)
        );
        // Non-UTF-8 bytes are legal in a HeaderValue and simply not a hint.
        let mut map = http::HeaderMap::new();
        map.insert(
            "retry-after",
            http::HeaderValue::from_bytes(b"\xff12").unwrap(),
        );
        assert_eq!(HintReader::new().read_header_map(&map, NOW), None);
    }

    #[test]
    fn unrelated_headers_are_ignored() {
        let r = HintReader::new();
        assert_eq!(
            read(&r, &[("content-type", "text/plain"), ("retry", "5")]),
            None
        );
        assert_eq!(read(&r, &[]), None);
    }
}
