//! Byte-level lexing shared by the hint parsers: whitespace, digits, names.
//!
//! Everything here works on `&[u8]` so that a header value that is not UTF-8
//! is just another input, and nothing here can panic or overflow.

/// Strips optional whitespace (`OWS = *( SP / HTAB )`, RFC 9110 §5.6.3) from both ends.
///
/// Only SP and HTAB are whitespace in HTTP field values; CR, LF, VT and FF are
/// not trimmed (they cannot legally appear in a field value at all), so they
/// make the value malformed instead of silently vanishing.
#[inline]
pub(crate) fn trim_ows(mut s: &[u8]) -> &[u8] {
    // The usual value has no whitespace at either end: one look at each end, no loop
    // (hosted targets; on bare metal the loops alone, which give the same slice).
    #[cfg(not(target_os = "none"))]
    if let [first, .., last] = s {
        if !matches!(first, b' ' | b'\t') && !matches!(last, b' ' | b'\t') {
            return s;
        }
    }
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// The value of `1*DIGIT`, saturating at `u64::MAX`; `None` if `s` is empty or
/// holds anything but ASCII digits.
///
/// Formula: `v = min(u64::MAX, Σ dᵢ·10^(n-1-i))`, computed as `v ← v·10 + d`.
/// The first 19 digits cannot overflow (10¹⁹ − 1 < 2⁶⁴ − 1 ≈ 1.8·10¹⁹), so
/// they use plain steps; every later step saturates. Once saturated the value
/// stays `u64::MAX`, so a value of any length (99 digits, 64 KiB of digits)
/// costs one pass and never wraps around to a small number.
#[inline]
pub(crate) fn digits_saturating(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let (head, tail) = s.split_at(s.len().min(19));
    let mut v: u64 = 0;
    for &b in head {
        // v < 10^18 before this step, so v·10 + 9 < 10^19: no wrap.
        v = v.wrapping_mul(10).wrapping_add(u64::from(digit(b)?));
    }
    for &b in tail {
        let d = digit(b)?;
        v = crate::time::mul_add_saturating(v, 10, u64::from(d));
    }
    Some(v)
}

/// The value of one ASCII digit.
#[inline]
pub(crate) const fn digit(b: u8) -> Option<u8> {
    if b.is_ascii_digit() {
        Some(b.wrapping_sub(b'0'))
    } else {
        None
    }
}

/// The value of exactly two ASCII digits (the date formats are read by layout now; this
/// serves the hand-written readers the tests keep as the model).
#[cfg(test)]
#[inline]
pub(crate) const fn two_digits(hi: u8, lo: u8) -> Option<u8> {
    match (digit(hi), digit(lo)) {
        // At most 9 * 10 + 9 = 99: no overflow possible in u8.
        (Some(h), Some(l)) => Some(h.wrapping_mul(10).wrapping_add(l)),
        _ => None,
    }
}

/// The value of exactly four ASCII digits (see [`two_digits`]).
#[cfg(test)]
#[inline]
pub(crate) const fn four_digits(a: u8, b: u8, c: u8, d: u8) -> Option<u16> {
    match (two_digits(a, b), two_digits(c, d)) {
        // At most 99 * 100 + 99 = 9999: no overflow possible in u16.
        (Some(hi), Some(lo)) => Some((hi as u16).wrapping_mul(100).wrapping_add(lo as u16)),
        _ => None,
    }
}

/// ASCII case-insensitive equality, for header names (RFC 9110 §5.1: field
/// names are case-insensitive).
pub(crate) fn eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_only_sp_and_htab() {
        assert_eq!(trim_ows(b" \t 12 \t"), b"12");
        assert_eq!(trim_ows(b"   "), b"");
        assert_eq!(trim_ows(b""), b"");
        assert_eq!(trim_ows(b"\r\n12\n"), b"\r\n12\n");
    }

    #[test]
    fn digits_saturate_never_wrap() {
        assert_eq!(digits_saturating(b"0"), Some(0));
        assert_eq!(digits_saturating(b"007"), Some(7));
        assert_eq!(digits_saturating(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(digits_saturating(b"18446744073709551616"), Some(u64::MAX));
        assert_eq!(digits_saturating(&[b'9'; 99]), Some(u64::MAX));
        // 2^64 * 10 + 1 would wrap to a small number without saturation.
        assert_eq!(digits_saturating(b"184467440737095516161"), Some(u64::MAX));
        assert_eq!(digits_saturating(b""), None);
        assert_eq!(digits_saturating(b"1a"), None);
        assert_eq!(digits_saturating(b"-1"), None);
    }

    #[test]
    fn fixed_width_numbers() {
        assert_eq!(two_digits(b'0', b'7'), Some(7));
        assert_eq!(two_digits(b' ', b'7'), None);
        assert_eq!(four_digits(b'9', b'9', b'9', b'9'), Some(9999));
        assert_eq!(four_digits(b'1', b'9', b'9', b'x'), None);
    }
}
