//! Request decoding (RFC 9292 §3): known-length and indeterminate-length.

use alloc::vec::Vec;

use zeroize::Zeroizing;

use super::fields::{ascii_string, check_control, is_token, section, Budget};
use super::reader::Reader;
use super::{BhttpError, Limits, Request};

const KNOWN_LENGTH_REQUEST: u64 = 0;
const INDETERMINATE_LENGTH_REQUEST: u64 = 2;

pub(super) fn decode_request(bytes: &[u8], limits: &Limits) -> Result<Request, BhttpError> {
    let mut r = Reader::new(bytes);
    let indeterminate = match r.varint()? {
        KNOWN_LENGTH_REQUEST => false,
        INDETERMINATE_LENGTH_REQUEST => true,
        other => return Err(BhttpError::BadFraming(other)),
    };

    let max = limits.max_field_bytes;
    let method = r.bounded(max)?;
    if !is_token(method) {
        return Err(BhttpError::BadMethod);
    }
    let scheme = r.bounded(max)?;
    let authority = r.bounded(max)?;
    let path = r.bounded(max)?;
    for item in [scheme, authority, path] {
        check_control(item)?;
    }

    // Each of the three sections may be cut off at its start (§3.8).
    let mut budget = Budget {
        fields_left: limits.max_fields,
        max_field_bytes: max,
    };
    let mut headers = Vec::new();
    if !r.is_empty() {
        section(&mut r, indeterminate, &mut budget, Some(&mut headers))?;
    }
    let body = if r.is_empty() {
        Zeroizing::new(Vec::new())
    } else {
        content(&mut r, indeterminate)?
    };
    if !r.is_empty() {
        // Trailers: validated and counted, then dropped.
        section(&mut r, indeterminate, &mut budget, None)?;
    }
    if r.rest().iter().any(|b| *b != 0) {
        return Err(BhttpError::NonZeroPadding);
    }

    Ok(Request {
        method: ascii_string(method)?,
        scheme: ascii_string(scheme)?,
        authority: ascii_string(authority)?,
        path: ascii_string(path)?,
        headers,
        body,
    })
}

fn content(r: &mut Reader<'_>, indeterminate: bool) -> Result<Zeroizing<Vec<u8>>, BhttpError> {
    if !indeterminate {
        let len = r.len()?;
        return Ok(Zeroizing::new(r.take(len)?.to_vec()));
    }
    // The chunks together are shorter than the rest of the input, so this
    // capacity means the buffer never reallocates (which would leave an
    // unzeroized copy of the plaintext behind).
    let mut body = Zeroizing::new(Vec::with_capacity(r.remaining()));
    loop {
        let len = r.len()?;
        if len == 0 {
            return Ok(body);
        }
        body.extend_from_slice(r.take(len)?);
    }
}
