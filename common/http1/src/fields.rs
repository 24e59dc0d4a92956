//! Header fields: the owned type, case-insensitive lookups, and the framing
//! fields (`Content-Length`, `Connection`) both directions need.

use alloc::string::String;
use alloc::vec::Vec;

use crate::message::Version;

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

    /// Owned copies of the fields httparse found.
    pub(crate) fn from_parsed(parsed: &[httparse::Header<'_>]) -> Vec<Self> {
        parsed
            .iter()
            .map(|h| Header::new(h.name, h.value))
            .collect()
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
    /// Syntactically fine but over the caller's limit (or past `u64`).
    TooLarge,
}

/// The declared body length, `None` without a `Content-Length` field; a
/// length over `max` is [`LengthError::TooLarge`].
///
/// Stricter than RFC 9110 §8.6, which lets a recipient accept a list of
/// identical values: any repetition is refused, as there is no honest reason
/// for it and it is a smuggling pattern.
pub(crate) fn content_length(headers: &[Header], max: usize) -> Result<Option<usize>, LengthError> {
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
        .filter(|&n| n <= max)
        .map(Some)
        .ok_or(LengthError::TooLarge)
}

/// The non-empty, whitespace-trimmed elements of every field called `name`
/// (an RFC 9110 §5.6.1 list), in order received.
pub(crate) fn list_items<'a>(
    headers: &'a [Header],
    name: &'a str,
) -> impl Iterator<Item = &'a [u8]> + 'a {
    header_values(headers, name)
        .flat_map(|v| v.split(|&b| b == b','))
        .map(trim_ows)
        .filter(|t| !t.is_empty())
}

/// Whether any `Connection` field lists `token` (any case).
pub(crate) fn connection_has(headers: &[Header], token: &str) -> bool {
    list_items(headers, "connection").any(|t| t.eq_ignore_ascii_case(token.as_bytes()))
}

/// Whether the connection stays open after a message with these fields
/// (RFC 9112 §9.3): HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with
/// `Connection: keep-alive` (and no `close`).
pub(crate) fn keeps_alive(version: Version, headers: &[Header]) -> bool {
    !connection_has(headers, "close")
        && (version == Version::Http11 || connection_has(headers, "keep-alive"))
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
    v.iter().all(|&b| is_value_byte(b)) && trim_ows(v).len() == v.len()
}

/// A byte allowed inside a field value (or a chunk extension): visible
/// ASCII, SP, HTAB, obs-text.
pub(crate) fn is_value_byte(b: u8) -> bool {
    b == b' ' || b == b'\t' || (0x21..=0x7e).contains(&b) || b >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn cl(values: &[&str]) -> Result<Option<usize>, LengthError> {
        let headers: Vec<Header> = values
            .iter()
            .map(|v| Header::new("Content-Length", v.as_bytes()))
            .collect();
        content_length(&headers, usize::MAX)
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
        assert_eq!(cl(&["99999999999999999999999"]), Err(LengthError::TooLarge));
        assert_eq!(cl(&["18446744073709551615"]), Ok(Some(usize::MAX)));
        let h = [Header::new("Content-Length", b"11")];
        assert_eq!(content_length(&h, 11), Ok(Some(11)));
        assert_eq!(content_length(&h, 10), Err(LengthError::TooLarge));
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
        let close = [Header::new("Connection", b"keep-alive, close")];
        let keep = [Header::new("Connection", b"keep-alive")];
        assert!(keeps_alive(Version::Http11, &[]));
        assert!(!keeps_alive(Version::Http11, &close));
        assert!(!keeps_alive(Version::Http10, &[]));
        assert!(keeps_alive(Version::Http10, &keep));
        assert!(!keeps_alive(Version::Http10, &close));
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
