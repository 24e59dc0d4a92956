//! Error types shared by both directions.

/// Which part of a received head was malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Syntax {
    /// A CR without LF or an LF without CR (only CRLF ends a line here).
    #[error("line not ended by CRLF")]
    BareLineEnding,
    /// Method, status code or request target has a byte that is not allowed.
    #[error("malformed start line")]
    StartLine,
    /// Not `HTTP/1.0` or `HTTP/1.1`.
    #[error("unsupported HTTP version")]
    Version,
    /// Field name with a forbidden byte, no colon, or whitespace before it.
    #[error("malformed header name")]
    HeaderName,
    /// Field value with a forbidden byte (NUL, CTL, bare CR).
    #[error("malformed header value")]
    HeaderValue,
    /// Any other line-structure error (for example obs-fold continuation).
    #[error("malformed header line")]
    Line,
}

impl Syntax {
    /// httparse's verdict on a head the scanner found complete (so it holds
    /// the blank line): `Err(None)` for more than [`crate::MAX_HEADERS`]
    /// fields, an oversized head.
    pub(crate) fn check(parsed: httparse::Result<usize>) -> Result<(), Option<Self>> {
        Err(Some(match parsed {
            Ok(httparse::Status::Complete(_)) => return Ok(()),
            Err(httparse::Error::TooManyHeaders) => return Err(None),
            Err(httparse::Error::HeaderName) => Syntax::HeaderName,
            Err(httparse::Error::HeaderValue) => Syntax::HeaderValue,
            Err(httparse::Error::Version) => Syntax::Version,
            Err(httparse::Error::Status | httparse::Error::Token) => Syntax::StartLine,
            Ok(httparse::Status::Partial) | Err(httparse::Error::NewLine) => Syntax::Line,
        }))
    }
}

/// A message we were asked to send is not valid HTTP. Nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// Status outside 200..=599 (1xx are not final responses; 101 is not
    /// supported).
    #[error("status {0} cannot be sent as a final response")]
    Status(u16),
    /// Method is not an RFC 9110 token.
    #[error("method is not a token")]
    Method,
    /// Path does not start with `/` or holds a space, control or non-ASCII byte.
    #[error("path must be an origin-form target starting with '/'")]
    Path,
    /// Host is empty or holds bytes not allowed in an authority.
    #[error("host is not a valid authority")]
    Host,
    /// Header name is not a token.
    #[error("header name is not a token")]
    HeaderName,
    /// Header value holds CR, LF, NUL or another control byte, or has
    /// leading/trailing whitespace.
    #[error("header value holds a forbidden byte")]
    HeaderValue,
    /// The caller set a header this crate writes itself from the message
    /// framing (`Content-Length`, `Transfer-Encoding`, `Connection`, `Host`).
    #[error("header {0} is set by the encoder")]
    ReservedHeader(&'static str),
    /// 204 and 304 responses have no body.
    #[error("status {0} must not carry a body")]
    BodyNotAllowed(u16),
    /// [`crate::ServerConn::respond_streamed`] was given a response that
    /// also carries an inline body.
    #[cfg(feature = "streamed-response")]
    #[error("a streamed response must not carry an inline body")]
    InlineBodyWithStreamedLength,
}
