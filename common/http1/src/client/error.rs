//! Why a response could not be received.

use core::fmt;

use crate::error::Syntax;

/// The response is unusable; the connection must be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientError {
    /// The head is not valid HTTP/1.x.
    Malformed(Syntax),
    /// Head over the head limit or more than [`crate::MAX_HEADERS`] fields.
    HeadTooLarge,
    /// Body (declared or received until close) over the body limit.
    BodyTooLarge,
    /// `Content-Length` not a plain decimal, or repeated.
    ContentLength,
    /// `Transfer-Encoding` other than exactly `chunked`, or in an HTTP/1.0
    /// response.
    TransferEncoding,
    /// Both `Transfer-Encoding` and `Content-Length`.
    FramingConflict,
    /// Malformed chunked framing: a bad chunk-size line or extension, an
    /// over-long size line, or no CRLF after a chunk's data.
    Chunk,
    /// A chunk over the chunk limit (or a size that overflows).
    ChunkTooLarge,
    /// `101 Switching Protocols`: never requested, so never accepted.
    SwitchingProtocols,
    /// The whole response did not arrive within the timeout.
    Timeout,
    /// The peer closed before the response was complete.
    Truncated,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Malformed(s) => write!(f, "malformed response: {s}"),
            ClientError::HeadTooLarge => f.write_str("response header section too large"),
            ClientError::BodyTooLarge => f.write_str("response body too large"),
            ClientError::ContentLength => f.write_str("invalid response Content-Length"),
            ClientError::TransferEncoding => {
                f.write_str("response Transfer-Encoding not supported")
            }
            ClientError::FramingConflict => {
                f.write_str("response has both Transfer-Encoding and Content-Length")
            }
            ClientError::Chunk => f.write_str("malformed chunked response body"),
            ClientError::ChunkTooLarge => f.write_str("response chunk too large"),
            ClientError::SwitchingProtocols => f.write_str("unexpected 101 Switching Protocols"),
            ClientError::Timeout => f.write_str("response not received in time"),
            ClientError::Truncated => f.write_str("connection closed before the response ended"),
        }
    }
}
