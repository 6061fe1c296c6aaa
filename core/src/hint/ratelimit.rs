//! The IETF `RateLimit` field's effective window `t`, read as a wait.
//!
//! Source: draft-ietf-httpapi-ratelimit-headers-11 (23 May 2026), §4. The
//! field is a Structured Field List (RFC 9651) of Service Limit Items, each
//! naming a quota policy and carrying parameters, e.g.
//! `RateLimit: "default";r=0;t=30`:
//!
//! * `r` (REQUIRED, non-negative Integer): the quota still available;
//! * `t` (optional, non-negative Integer, "compatible with the delay-seconds
//!   rule"): the number of seconds within which the client can use no more
//!   than `r` units.
//!
//! So an item with `r=0;t=N` says "nothing more for N seconds": that is the
//! wait. With several exhausted policies, the longest window rules. An item
//! with quota left says nothing about waiting. "Malformed RateLimit header
//! fields MUST be ignored" (§7), and RFC 9651 fails the whole field on any
//! syntax error, so one bad byte discards the field. Lists may be split over
//! several field lines (RFC 9651 §3.1); the caller combines them with
//! [`combine`].
//!
//! This is a strict RFC 9651 List parser for the bare-item types of RFC 9651
//! (Integer, Decimal, String, Token, Byte Sequence, Boolean, Date, Display
//! String), without allocation; only `r` and `t` are kept. Inner lists are
//! not Service Limit Items and make the field malformed.

use super::lex::trim_ows;

/// The field (or one of its lines) broke RFC 9651 or the draft's rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Malformed;

/// The wait one `RateLimit` field line implies.
///
/// `Ok(Some(t))`: the largest `t` among items with `r = 0`.
/// `Ok(None)`: a valid field with no exhausted policy that names a window.
pub(crate) fn wait_secs(line: &[u8]) -> Result<Option<u64>, Malformed> {
    let mut c = Cursor { s: trim_ows(line) };
    let mut wait: Option<u64> = None;
    if c.s.is_empty() {
        return Ok(None);
    }
    loop {
        let (r, t) = c.item()?;
        let r = r.ok_or(Malformed)?;
        if r == 0 {
            if let Some(t) = t {
                wait = Some(wait.map_or(t, |w| w.max(t)));
            }
        }
        c.skip_ows();
        if c.s.is_empty() {
            return Ok(wait);
        }
        if c.next() != Some(b',') {
            return Err(Malformed);
        }
        c.skip_ows();
        if c.s.is_empty() {
            // A trailing comma.
            return Err(Malformed);
        }
    }
}

/// Merges the results of two lines of the same field: malformed wins, else the longer wait.
pub(crate) fn combine(
    a: Result<Option<u64>, Malformed>,
    b: Result<Option<u64>, Malformed>,
) -> Result<Option<u64>, Malformed> {
    match (a?, b?) {
        (Some(x), Some(y)) => Ok(Some(x.max(y))),
        (x, y) => Ok(x.or(y)),
    }
}

/// A bare item: only integers are of interest.
enum Bare {
    Integer(i64),
    Other,
}

struct Cursor<'a> {
    s: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.first().copied()
    }

    fn next(&mut self) -> Option<u8> {
        let (&b, rest) = self.s.split_first()?;
        self.s = rest;
        Some(b)
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.next();
        }
    }

    fn skip_sp(&mut self) {
        while self.peek() == Some(b' ') {
            self.next();
        }
    }

    /// `sf-item = bare-item parameters`; returns the last `r` and `t` parameters.
    fn item(&mut self) -> Result<(Option<u64>, Option<u64>), Malformed> {
        if self.peek() == Some(b'(') {
            return Err(Malformed);
        }
        self.bare_item()?;
        let (mut r, mut t) = (None, None);
        while self.peek() == Some(b';') {
            self.next();
            self.skip_sp();
            let key = self.key()?;
            let value = if self.peek() == Some(b'=') {
                self.next();
                self.bare_item()?
            } else {
                // A parameter without a value is Boolean true.
                Bare::Other
            };
            // RFC 9651: a repeated key overwrites the earlier value.
            match key {
                b"r" => r = Some(non_negative(value)?),
                b"t" => t = Some(non_negative(value)?),
                _ => {}
            }
        }
        Ok((r, t))
    }

    /// `key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )`
    fn key(&mut self) -> Result<&'a [u8], Malformed> {
        let start = self.s;
        match self.peek() {
            Some(b'a'..=b'z' | b'*') => {}
            _ => return Err(Malformed),
        }
        let len = start
            .iter()
            .take_while(|&&b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'*'))
            .count();
        let (key, rest) = start.split_at_checked(len).ok_or(Malformed)?;
        self.s = rest;
        Ok(key)
    }

    fn bare_item(&mut self) -> Result<Bare, Malformed> {
        match self.peek().ok_or(Malformed)? {
            b'-' | b'0'..=b'9' => self.number(),
            b'"' => self.string().map(|()| Bare::Other),
            b'A'..=b'Z' | b'a'..=b'z' | b'*' => {
                self.token();
                Ok(Bare::Other)
            }
            b':' => self.byte_sequence().map(|()| Bare::Other),
            b'?' => {
                self.next();
                match self.next() {
                    Some(b'0' | b'1') => Ok(Bare::Other),
                    _ => Err(Malformed),
                }
            }
            b'@' => {
                self.next();
                match self.number()? {
                    Bare::Integer(_) => Ok(Bare::Other),
                    Bare::Other => Err(Malformed),
                }
            }
            b'%' => self.display_string().map(|()| Bare::Other),
            _ => Err(Malformed),
        }
    }

    /// RFC 9651 §4.2.4: `-`? then at most 15 integer digits, or at most 12
    /// integer digits, `.`, and 1 to 3 fraction digits.
    fn number(&mut self) -> Result<Bare, Malformed> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.next();
        }
        let mut value: i64 = 0;
        let mut int_digits = 0u8;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            self.next();
            int_digits = int_digits.saturating_add(1);
            if int_digits > 15 {
                return Err(Malformed);
            }
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(i64::from(d.wrapping_sub(b'0'))))
                .ok_or(Malformed)?;
        }
        if int_digits == 0 {
            return Err(Malformed);
        }
        if self.peek() != Some(b'.') {
            let value = if negative {
                value.checked_neg().ok_or(Malformed)?
            } else {
                value
            };
            return Ok(Bare::Integer(value));
        }
        self.next();
        if int_digits > 12 {
            return Err(Malformed);
        }
        let mut frac_digits = 0u8;
        while let Some(b'0'..=b'9') = self.peek() {
            self.next();
            frac_digits = frac_digits.saturating_add(1);
        }
        if frac_digits == 0 || frac_digits > 3 {
            return Err(Malformed);
        }
        Ok(Bare::Other)
    }

    /// `sf-string = DQUOTE *( unescaped / "%" / bs-escaped ) DQUOTE`, printable ASCII only.
    fn string(&mut self) -> Result<(), Malformed> {
        self.next();
        loop {
            match self.next().ok_or(Malformed)? {
                b'"' => return Ok(()),
                b'\\' => match self.next() {
                    Some(b'"' | b'\\') => {}
                    _ => return Err(Malformed),
                },
                0x20..=0x7e => {}
                _ => return Err(Malformed),
            }
        }
    }

    /// `sf-token = ( ALPHA / "*" ) *( tchar / ":" / "/" )`
    fn token(&mut self) {
        self.next();
        while let Some(b) = self.peek() {
            let tchar = b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                        | b':'
                        | b'/'
                );
            if !tchar {
                return;
            }
            self.next();
        }
    }

    /// `sf-binary = ":" base64 ":"`
    fn byte_sequence(&mut self) -> Result<(), Malformed> {
        self.next();
        loop {
            match self.next().ok_or(Malformed)? {
                b':' => return Ok(()),
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' | b'=' => {}
                _ => return Err(Malformed),
            }
        }
    }

    /// `sf-displaystring = "%" DQUOTE *( unescaped / "\" / pct-encoded ) DQUOTE`,
    /// with `pct-encoded = "%" lc-hexdig lc-hexdig`.
    fn display_string(&mut self) -> Result<(), Malformed> {
        self.next();
        if self.next() != Some(b'"') {
            return Err(Malformed);
        }
        loop {
            match self.next().ok_or(Malformed)? {
                b'"' => return Ok(()),
                b'%' => {
                    for _ in 0..2 {
                        match self.next() {
                            Some(b'0'..=b'9' | b'a'..=b'f') => {}
                            _ => return Err(Malformed),
                        }
                    }
                }
                0x20..=0x7e => {}
                _ => return Err(Malformed),
            }
        }
    }
}

/// `r` and `t` must be non-negative Integers (draft §4.1.1, §4.1.2).
fn non_negative(b: Bare) -> Result<u64, Malformed> {
    match b {
        Bare::Integer(v) => u64::try_from(v).map_err(|_| Malformed),
        Bare::Other => Err(Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draft_examples() {
        assert_eq!(wait_secs(br#""default";r=50;t=30"#), Ok(None));
        assert_eq!(wait_secs(br#""problemPolicy";r=0;t=10"#), Ok(Some(10)));
        assert_eq!(
            wait_secs(br#""default";r=999;pk=:dHJpYWwxMjEzMjM=:"#),
            Ok(None)
        );
        assert_eq!(
            wait_secs(br#""default";r=300000000;t=60;pk=:QXBwLTk5OQ==:"#),
            Ok(None)
        );
    }

    #[test]
    fn longest_exhausted_window_wins() {
        assert_eq!(
            wait_secs(br#""a";r=0;t=5, "b";r=3;t=900 ,"c";r=0;t=60"#),
            Ok(Some(60))
        );
        // No window on the exhausted policy: nothing to wait for.
        assert_eq!(wait_secs(br#""a";r=0"#), Ok(None));
        // Later duplicate parameter overrides the earlier one.
        assert_eq!(wait_secs(br#""a";r=5;r=0;t=1;t=7"#), Ok(Some(7)));
        // Unknown parameters and other bare-item types are tolerated.
        assert_eq!(
            wait_secs(br#"tok;r=0;t=3;x="a\"b";y=?1;z=1.25;w=@1659578233;d=%"caf%c3%a9";flag"#),
            Ok(Some(3))
        );
    }

    #[test]
    fn malformed_fields() {
        for bad in [
            &br#""a";t=5"#[..],               // r missing
            br#""a";r=-1;t=5"#,               // negative r
            br#""a";r=0;t=-5"#,               // negative t
            br#""a";r=0;t=1.5"#,              // decimal t
            br#""a";r=0;t="5""#,              // string t
            br#""a";r=0;t=5,"#,               // trailing comma
            br#""a";r=0;t=5 "b";r=0"#,        // missing comma
            br#"("a" "b");r=0;t=5"#,          // inner list
            br#""a;r=0;t=5"#,                 // unterminated string
            br#""a";R=0;t=5"#,                // upper-case key
            br#""a";r=0;t=1234567890123456"#, // 16 digits
            b"\"a\xff\";r=0;t=5",             // non-ASCII in string
            br#""a";r=0;t="#,                 // missing value
        ] {
            assert_eq!(
                wait_secs(bad),
                Err(Malformed),
                "{:?}",
                core::str::from_utf8(bad)
            );
        }
    }

    #[test]
    fn empty_and_combined() {
        assert_eq!(wait_secs(b"  "), Ok(None));
        assert_eq!(combine(Ok(Some(3)), Ok(Some(9))), Ok(Some(9)));
        assert_eq!(combine(Ok(None), Ok(Some(9))), Ok(Some(9)));
        assert_eq!(combine(Ok(Some(3)), Err(Malformed)), Err(Malformed));
    }
}
