//! Reading structured values out of fuzzer bytes.

/// A cursor over the fuzzer's bytes; reads past the end yield zeros, so every input decodes.
pub(crate) struct Input<'a> {
    rest: &'a [u8],
}

impl<'a> Input<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Input { rest: data }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next byte, or `None` at the end (for loops over events).
    pub(crate) fn next(&mut self) -> Option<u8> {
        let (&b, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(b)
    }

    pub(crate) fn byte(&mut self) -> u8 {
        self.next().unwrap_or(0)
    }

    pub(crate) fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    pub(crate) fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    pub(crate) fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | (u64::from(self.u32()) << 32)
    }

    /// Up to `n` bytes (fewer at the end).
    pub(crate) fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.rest.split_at(n.min(self.rest.len()));
        self.rest = rest;
        head
    }

    /// A value that is often at an edge: one tag byte picks zero, one, a small number, a
    /// number of any size, or `u64::MAX` (then the number itself is read when needed).
    pub(crate) fn edgy_u64(&mut self) -> u64 {
        match self.byte() % 8 {
            0 => 0,
            1 => 1,
            2 => u64::MAX,
            3 => u64::MAX - u64::from(self.byte()),
            4 | 5 => u64::from(self.u16()),
            6 => u64::from(self.u32()),
            _ => self.u64(),
        }
    }
}

/// Strips SP and HTAB from both ends (HTTP's OWS).
pub(crate) fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// `1*DIGIT` saturated at `u64::MAX`, computed independently of the library (via `u128`
/// parsing of the significant digits).
pub(crate) fn digits_value(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let significant = match s.iter().position(|&b| b != b'0') {
        None => return Some(0),
        Some(i) => &s[i..],
    };
    if significant.len() > 20 {
        return Some(u64::MAX);
    }
    let v: u128 = std::str::from_utf8(significant).ok()?.parse().ok()?;
    Some(u64::try_from(v).unwrap_or(u64::MAX))
}
