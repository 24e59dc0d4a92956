//! Why the server refused a request. Each reason maps to one status; the
//! connection is always closed after it, since the framing of whatever
//! follows can no longer be trusted.

use crate::error::Syntax;

/// A request the server rejects. The [`Display`](core::fmt::Display) text is fixed
/// (never echoes input), so it is safe to log and is sent as the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// 400: the head is not valid HTTP/1.x.
    #[error("bad request: {0}")]
    Malformed(Syntax),
    /// 400: the target is not origin-form (`/...`) nor `*` with OPTIONS.
    /// Absolute-form is refused: the appliance is an origin, not a proxy.
    #[error("bad request: target must start with '/'")]
    Target,
    /// 400: HTTP/1.1 without `Host`, or more than one `Host`.
    #[error("bad request: exactly one Host header required")]
    Host,
    /// 400: `Content-Length` is not a plain decimal number.
    #[error("bad request: invalid Content-Length")]
    ContentLength,
    /// 400: more than one `Content-Length` field.
    #[error("bad request: more than one Content-Length")]
    DuplicateContentLength,
    /// 400: `Transfer-Encoding` together with `Content-Length`, or in an
    /// HTTP/1.0 request (RFC 9112 §6.1: the framing is faulty).
    #[error("bad request: Transfer-Encoding not allowed here")]
    ConflictingFraming,
    /// 501: `Transfer-Encoding` (chunked or other) on HTTP/1.1. Chunked
    /// request bodies are not implemented; the message itself may be valid,
    /// so this is "not implemented", not "bad request".
    #[error("Transfer-Encoding not implemented; send Content-Length")]
    TransferEncoding,
    /// 417: an `Expect` other than `100-continue`.
    #[error("only Expect: 100-continue is supported")]
    Expectation,
    /// 413: the declared body exceeds the configured body limit.
    #[error("request body too large")]
    BodyTooLarge,
    /// 431: the head (request line + fields + blank line) exceeds the head
    /// limit, or has more fields than [`crate::MAX_HEADERS`].
    #[error("request header section too large")]
    HeadTooLarge,
    /// 408: the request was not complete within the read timeout.
    #[error("request not received in time")]
    Timeout,
    /// 400: the peer closed its sending side in the middle of a request.
    #[error("bad request: connection closed mid-request")]
    Truncated,
    /// 503: the glue cannot hold this request's body now
    /// ([`ServerConn::refuse_busy`](super::ServerConn::refuse_busy)).
    #[error("server busy; retry later")]
    Busy,
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
            RequestError::Busy => 503,
        }
    }
}
