//! Why a response could not be received.

use crate::error::Syntax;

/// The response is unusable; the connection must be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The head is not valid HTTP/1.x.
    #[error("malformed response: {0}")]
    Malformed(Syntax),
    /// Head over the head limit or more than [`crate::MAX_HEADERS`] fields.
    #[error("response header section too large")]
    HeadTooLarge,
    /// Body (declared or received until close) over the body limit.
    #[error("response body too large")]
    BodyTooLarge,
    /// `Content-Length` not a plain decimal, or repeated.
    #[error("invalid response Content-Length")]
    ContentLength,
    /// `Transfer-Encoding` other than exactly `chunked`, or in an HTTP/1.0
    /// response.
    #[error("response Transfer-Encoding not supported")]
    TransferEncoding,
    /// Both `Transfer-Encoding` and `Content-Length`.
    #[error("response has both Transfer-Encoding and Content-Length")]
    FramingConflict,
    /// Malformed chunked framing: a bad chunk-size line or extension, an
    /// over-long size line, or no CRLF after a chunk's data.
    #[error("malformed chunked response body")]
    Chunk,
    /// A chunk over the chunk limit (or a size that overflows).
    #[error("response chunk too large")]
    ChunkTooLarge,
    /// `101 Switching Protocols`: never requested, so never accepted.
    #[error("unexpected 101 Switching Protocols")]
    SwitchingProtocols,
    /// The whole response did not arrive within the timeout.
    #[error("response not received in time")]
    Timeout,
    /// The peer closed before the response was complete.
    #[error("connection closed before the response ended")]
    Truncated,
}
