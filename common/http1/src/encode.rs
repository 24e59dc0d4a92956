//! Serialising heads. Every caller-supplied name and value is validated so a
//! value taken from input can never inject a header or split a message.

use alloc::vec::Vec;

use crate::error::EncodeError;
use crate::fields::{is_field_value, is_token, Header};

/// Fields the encoders derive from the framing; callers may not set them.
const RESERVED: [&str; 4] = ["content-length", "transfer-encoding", "connection", "host"];

pub(crate) fn check_headers(headers: &[Header]) -> Result<(), EncodeError> {
    for h in headers {
        if !is_token(&h.name) {
            return Err(EncodeError::HeaderName);
        }
        if let Some(r) = RESERVED.iter().find(|r| h.name.eq_ignore_ascii_case(r)) {
            return Err(EncodeError::ReservedHeader(r));
        }
        if !is_field_value(&h.value) {
            return Err(EncodeError::HeaderValue);
        }
    }
    Ok(())
}

pub(crate) fn push_header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

pub(crate) fn push_decimal(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(i..).unwrap_or(&[]));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal() {
        for n in [0usize, 7, 10, 16384, usize::MAX] {
            let mut out = Vec::new();
            push_decimal(&mut out, n);
            assert_eq!(out, alloc::format!("{n}").into_bytes());
        }
    }

    #[test]
    fn reserved_and_injection() {
        assert_eq!(
            check_headers(&[Header::new("content-LENGTH", b"1")]),
            Err(EncodeError::ReservedHeader("content-length"))
        );
        assert_eq!(
            check_headers(&[Header::new("X", b"a\r\nB: c")]),
            Err(EncodeError::HeaderValue)
        );
        assert_eq!(
            check_headers(&[Header::new("X:Y", b"a")]),
            Err(EncodeError::HeaderName)
        );
        assert_eq!(check_headers(&[Header::new("X-Ok", b"v")]), Ok(()));
    }
}
