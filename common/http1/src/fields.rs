//! Header fields: the owned type, case-insensitive lookups, and the framing
//! fields (`Content-Length`, `Connection`) both directions need.

use alloc::string::String;
use alloc::vec::Vec;

/// One header field as received or to be sent. Names keep their case; every
/// lookup ignores it. Values are bytes: RFC 9110 allows obs-text (0x80-0xFF).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: Vec<u8>,
}

impl Header {
    pub fn new(name: &str, value: &[u8]) -> Self {
        Header {
            name: String::from(name),
            value: Vec::from(value),
        }
    }
}

/// Values of every field called `name`, in order received.
pub fn header_values<'a>(
    headers: &'a [Header],
    name: &'a str,
) -> impl Iterator<Item = &'a [u8]> + 'a {
    headers
        .iter()
        .filter(move |h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_slice())
}

/// Value of the first field called `name`.
pub fn header_value<'a>(headers: &'a [Header], name: &str) -> Option<&'a [u8]> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_slice())
}

/// Why a `Content-Length` could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LengthError {
    /// Not `1*DIGIT` (sign, spaces inside, a list, empty, non-ASCII...).
    Invalid,
    /// More than one `Content-Length` field, equal or not.
    Duplicate,
    /// Syntactically fine but beyond what any limit here can hold.
    Overflow,
}

/// The declared body length, `None` without a `Content-Length` field.
///
/// Stricter than RFC 9110 §8.6, which lets a recipient accept a list of
/// identical values: any repetition is refused, as there is no honest reason
/// for it and it is a smuggling pattern.
pub(crate) fn content_length(headers: &[Header]) -> Result<Option<u64>, LengthError> {
    let mut values = header_values(headers, "content-length");
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(LengthError::Duplicate);
    }
    let digits = trim_ows(first);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(LengthError::Invalid);
    }
    // Digits only (no sign), so the one way parsing fails is overflow.
    core::str::from_utf8(digits)
        .ok()
        .and_then(|d| d.parse().ok())
        .map(Some)
        .ok_or(LengthError::Overflow)
}

/// Whether any `Connection` field lists `token` (comma-separated, any case).
pub(crate) fn connection_has(headers: &[Header], token: &str) -> bool {
    header_values(headers, "connection")
        .flat_map(|v| v.split(|&b| b == b','))
        .any(|t| trim_ows(t).eq_ignore_ascii_case(token.as_bytes()))
}

/// Strips optional whitespace (SP / HTAB) at both ends.
pub(crate) fn trim_ows(v: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = v.iter().position(|b| !is_ows(b)).unwrap_or(v.len());
    let end = v.iter().rposition(|b| !is_ows(b)).map_or(start, |e| e + 1);
    v.get(start..end).unwrap_or(&[])
}

/// RFC 9110 `tchar`.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 9110 `token`: what field names and methods must be.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// RFC 9110 `field-value` for sending: visible ASCII, obs-text, SP and HTAB
/// inside; never CR, LF or NUL (header injection), no edge whitespace.
pub(crate) fn is_field_value(v: &[u8]) -> bool {
    let inner_ok = v
        .iter()
        .all(|&b| b == b' ' || b == b'\t' || (0x21..=0x7e).contains(&b) || b >= 0x80);
    inner_ok && trim_ows(v).len() == v.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn cl(values: &[&str]) -> Result<Option<u64>, LengthError> {
        let headers: Vec<Header> = values
            .iter()
            .map(|v| Header::new("Content-Length", v.as_bytes()))
            .collect();
        content_length(&headers)
    }

    #[test]
    fn content_length_rules() {
        assert_eq!(cl(&[]), Ok(None));
        assert_eq!(cl(&["0"]), Ok(Some(0)));
        assert_eq!(cl(&[" 42\t"]), Ok(Some(42)));
        assert_eq!(cl(&["007"]), Ok(Some(7)));
        assert_eq!(cl(&["-1"]), Err(LengthError::Invalid));
        assert_eq!(cl(&["+1"]), Err(LengthError::Invalid));
        assert_eq!(cl(&["1 2"]), Err(LengthError::Invalid));
        assert_eq!(cl(&["5, 5"]), Err(LengthError::Invalid));
        assert_eq!(cl(&["0x10"]), Err(LengthError::Invalid));
        assert_eq!(cl(&[""]), Err(LengthError::Invalid));
        assert_eq!(cl(&["5", "5"]), Err(LengthError::Duplicate));
        assert_eq!(cl(&["99999999999999999999999"]), Err(LengthError::Overflow));
        assert_eq!(cl(&["18446744073709551615"]), Ok(Some(u64::MAX)));
    }

    #[test]
    fn connection_tokens() {
        let h = vec![
            Header::new("Connection", b"Upgrade, Keep-Alive"),
            Header::new("connection", b" CLOSE "),
        ];
        assert!(connection_has(&h, "keep-alive"));
        assert!(connection_has(&h, "close"));
        assert!(!connection_has(&h, "te"));
    }

    #[test]
    fn field_value_rules() {
        assert!(is_field_value(b"a b\tc\x80"));
        assert!(is_field_value(b""));
        assert!(!is_field_value(b"a\r\nX-Injected: 1"));
        assert!(!is_field_value(b"a\0"));
        assert!(!is_field_value(b" a"));
        assert!(is_token("X-Foo_1"));
        assert!(!is_token("X Foo"));
        assert!(!is_token(""));
    }
}
