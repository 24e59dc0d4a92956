//! Encoding a client request.

use alloc::string::ToString;
use alloc::vec::Vec;

use crate::encode::{check_headers, push_header};
use crate::error::EncodeError;
use crate::fields::{is_token, Header};

/// A request to send. `Host`, `Content-Length` and `Connection` are derived
/// from the fields; setting them in `headers` is an error.
#[derive(Debug, Clone, Copy)]
pub struct ClientRequest<'a> {
    pub method: &'a str,
    /// `Host` value: `host` or `host:port` (IPv6 in brackets).
    pub host: &'a str,
    /// Origin-form target, `/path?query`.
    pub path: &'a str,
    pub headers: &'a [Header],
    pub body: &'a [u8],
    /// Ask the server to close after the response (`Connection: close`).
    pub close: bool,
}

/// Serialises `req` as HTTP/1.1.
pub fn encode_request(req: &ClientRequest<'_>) -> Result<Vec<u8>, EncodeError> {
    if !is_token(req.method) {
        return Err(EncodeError::Method);
    }
    let path_ok = req.path.starts_with('/') && req.path.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if !path_ok {
        return Err(EncodeError::Path);
    }
    let host_ok = !req.host.is_empty()
        && req
            .host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~:[]%".contains(&b));
    if !host_ok {
        return Err(EncodeError::Host);
    }
    check_headers(req.headers)?;

    let mut out = Vec::with_capacity(128 + req.body.len());
    out.extend_from_slice(req.method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(req.path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    push_header(&mut out, "Host", req.host.as_bytes());
    for h in req.headers {
        push_header(&mut out, &h.name, &h.value);
    }
    // RFC 9110 §8.6: send a length whenever a body is expected, even if 0.
    let body_method = matches!(req.method, "POST" | "PUT" | "PATCH");
    if body_method || !req.body.is_empty() {
        let len = req.body.len().to_string();
        push_header(&mut out, "Content-Length", len.as_bytes());
    }
    if req.close {
        push_header(&mut out, "Connection", b"close");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(req.body);
    Ok(out)
}
