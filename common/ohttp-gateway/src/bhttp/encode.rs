//! Response encoding (RFC 9292 §3): known-length framing, one final
//! response, no informational responses, an empty trailer section.

use alloc::vec::Vec;

use super::fields::{is_field_value_byte, is_token};
use crate::varint::{encode_len, encoded_len};

const KNOWN_LENGTH_RESPONSE: u8 = 1;

/// Encodes a known-length response (framing indicator 1).
///
/// A `status` outside 200..=599 (which would make the message invalid or
/// informational) is sent as 500. Field names are lowercased, as §3.6
/// requires of encoders; a field line whose name is not a token or whose
/// value has control bytes is left out, so the output is always a valid
/// message. The result is plaintext: callers keep it in
/// `Zeroizing::new(..)` until it is encapsulated.
pub fn encode_response(status: u16, headers: &[(&str, &[u8])], body: &[u8]) -> Vec<u8> {
    let status = if (200..=599).contains(&status) {
        status
    } else {
        500
    };
    let valid = |(name, value): &&(&str, &[u8])| {
        is_token(name.as_bytes()) && value.iter().all(|b| is_field_value_byte(*b))
    };
    let fields_len = headers.iter().filter(valid).fold(0usize, |acc, (n, v)| {
        acc.saturating_add(len_prefixed(n.len()))
            .saturating_add(len_prefixed(v.len()))
    });
    // Exact size, so the plaintext is written once and never reallocated.
    let capacity = 1usize
        .saturating_add(encoded_len(u64::from(status)))
        .saturating_add(len_prefixed(fields_len))
        .saturating_add(len_prefixed(body.len()))
        .saturating_add(1);
    let mut out = Vec::with_capacity(capacity);
    out.push(KNOWN_LENGTH_RESPONSE);
    encode_len(usize::from(status), &mut out);
    encode_len(fields_len, &mut out);
    for (name, value) in headers.iter().filter(valid) {
        encode_len(name.len(), &mut out);
        out.extend(name.bytes().map(|b| b.to_ascii_lowercase()));
        encode_len(value.len(), &mut out);
        out.extend_from_slice(value);
    }
    encode_len(body.len(), &mut out);
    out.extend_from_slice(body);
    // Empty trailer section, written rather than truncated for decoders
    // that do not implement §3.8 truncation.
    out.push(0);
    out
}

fn len_prefixed(len: usize) -> usize {
    len.saturating_add(encoded_len(u64::try_from(len).unwrap_or(u64::MAX)))
}
