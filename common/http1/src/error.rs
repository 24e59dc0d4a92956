//! Error types shared by both directions.

use core::fmt;

/// Which part of a received head was malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// A CR without LF or an LF without CR (only CRLF ends a line here).
    BareLineEnding,
    /// Method, status code or request target has a byte that is not allowed.
    StartLine,
    /// Not `HTTP/1.0` or `HTTP/1.1`.
    Version,
    /// Field name with a forbidden byte, no colon, or whitespace before it.
    HeaderName,
    /// Field value with a forbidden byte (NUL, CTL, bare CR).
    HeaderValue,
    /// Any other line-structure error (for example obs-fold continuation).
    Line,
}

impl Syntax {
    pub(crate) fn from_httparse(e: httparse::Error) -> Self {
        match e {
            httparse::Error::HeaderName => Syntax::HeaderName,
            httparse::Error::HeaderValue => Syntax::HeaderValue,
            httparse::Error::Version => Syntax::Version,
            httparse::Error::Status | httparse::Error::Token => Syntax::StartLine,
            httparse::Error::NewLine | httparse::Error::TooManyHeaders => Syntax::Line,
        }
    }
}

impl fmt::Display for Syntax {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Syntax::BareLineEnding => "line not ended by CRLF",
            Syntax::StartLine => "malformed start line",
            Syntax::Version => "unsupported HTTP version",
            Syntax::HeaderName => "malformed header name",
            Syntax::HeaderValue => "malformed header value",
            Syntax::Line => "malformed header line",
        })
    }
}

/// A message we were asked to send is not valid HTTP. Nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// Status outside 200..=599 (1xx are not final responses; 101 is not
    /// supported).
    Status(u16),
    /// Method is not an RFC 9110 token.
    Method,
    /// Path does not start with `/` or holds a space, control or non-ASCII byte.
    Path,
    /// Host is empty or holds bytes not allowed in an authority.
    Host,
    /// Header name is not a token.
    HeaderName,
    /// Header value holds CR, LF, NUL or another control byte, or has
    /// leading/trailing whitespace.
    HeaderValue,
    /// The caller set a header this crate writes itself from the message
    /// framing (`Content-Length`, `Transfer-Encoding`, `Connection`, `Host`).
    ReservedHeader(&'static str),
    /// 204 and 304 responses have no body.
    BodyNotAllowed(u16),
    /// [`crate::ServerConn::respond_streamed`] was given a response that
    /// also carries an inline body.
    InlineBodyWithStreamedLength,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::Status(s) => write!(f, "status {s} cannot be sent as a final response"),
            EncodeError::Method => f.write_str("method is not a token"),
            EncodeError::Path => {
                f.write_str("path must be an origin-form target starting with '/'")
            }
            EncodeError::Host => f.write_str("host is not a valid authority"),
            EncodeError::HeaderName => f.write_str("header name is not a token"),
            EncodeError::HeaderValue => f.write_str("header value holds a forbidden byte"),
            EncodeError::ReservedHeader(n) => write!(f, "header {n} is set by the encoder"),
            EncodeError::BodyNotAllowed(s) => write!(f, "status {s} must not carry a body"),
            EncodeError::InlineBodyWithStreamedLength => {
                f.write_str("a streamed response must not carry an inline body")
            }
        }
    }
}
