//! Why the server refused a request. Each reason maps to one status; the
//! connection is always closed after it, since the framing of whatever
//! follows can no longer be trusted.

use core::fmt;

use crate::error::Syntax;

/// A request the server rejects. The [`Display`](fmt::Display) text is fixed
/// (never echoes input), so it is safe to log and is sent as the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    /// 400: the head is not valid HTTP/1.x.
    Malformed(Syntax),
    /// 400: the target is not origin-form (`/...`) nor `*` with OPTIONS.
    /// Absolute-form is refused: the appliance is an origin, not a proxy.
    Target,
    /// 400: HTTP/1.1 without `Host`, or more than one `Host`.
    Host,
    /// 400: `Content-Length` is not a plain decimal number.
    ContentLength,
    /// 400: more than one `Content-Length` field.
    DuplicateContentLength,
    /// 400: `Transfer-Encoding` together with `Content-Length`, or in an
    /// HTTP/1.0 request (RFC 9112 §6.1: the framing is faulty).
    ConflictingFraming,
    /// 501: `Transfer-Encoding` (chunked or other) on HTTP/1.1. Chunked
    /// request bodies are not implemented; the message itself may be valid,
    /// so this is "not implemented", not "bad request".
    TransferEncoding,
    /// 417: an `Expect` other than `100-continue`.
    Expectation,
    /// 413: the declared body exceeds the configured body limit.
    BodyTooLarge,
    /// 431: the head (request line + fields + blank line) exceeds the head
    /// limit, or has more fields than [`crate::MAX_HEADERS`].
    HeadTooLarge,
    /// 408: the request was not complete within the read timeout.
    Timeout,
    /// 400: the peer closed its sending side in the middle of a request.
    Truncated,
}

impl RequestError {
    pub fn status(&self) -> u16 {
        match self {
            RequestError::Malformed(_)
            | RequestError::Target
            | RequestError::Host
            | RequestError::ContentLength
            | RequestError::DuplicateContentLength
            | RequestError::ConflictingFraming
            | RequestError::Truncated => 400,
            RequestError::TransferEncoding => 501,
            RequestError::Expectation => 417,
            RequestError::BodyTooLarge => 413,
            RequestError::HeadTooLarge => 431,
            RequestError::Timeout => 408,
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Malformed(s) => write!(f, "bad request: {s}"),
            RequestError::Target => f.write_str("bad request: target must start with '/'"),
            RequestError::Host => f.write_str("bad request: exactly one Host header required"),
            RequestError::ContentLength => f.write_str("bad request: invalid Content-Length"),
            RequestError::DuplicateContentLength => {
                f.write_str("bad request: more than one Content-Length")
            }
            RequestError::ConflictingFraming => {
                f.write_str("bad request: Transfer-Encoding not allowed here")
            }
            RequestError::TransferEncoding => {
                f.write_str("Transfer-Encoding not implemented; send Content-Length")
            }
            RequestError::Expectation => f.write_str("only Expect: 100-continue is supported"),
            RequestError::BodyTooLarge => f.write_str("request body too large"),
            RequestError::HeadTooLarge => f.write_str("request header section too large"),
            RequestError::Timeout => f.write_str("request not received in time"),
            RequestError::Truncated => f.write_str("bad request: connection closed mid-request"),
        }
    }
}
