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

#[cfg(test)]
mod tests {
    use super::*;

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
