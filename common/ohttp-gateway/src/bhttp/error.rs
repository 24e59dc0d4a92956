//! Errors of the Binary HTTP codec.

/// Why a BHTTP message was refused. Every variant means "malformed or
/// over a limit" (RFC 9292 §4): the HTTP layer answers 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BhttpError {
    /// The input ends inside an integer, a length-prefixed item or a
    /// section, or a length is larger than the remaining input.
    #[error("binary HTTP message truncated")]
    Truncated,
    /// The framing indicator is not a request framing (0 or 2).
    #[error("framing indicator {0} is not a request")]
    BadFraming(u64),
    /// A length does not fit in memory addressing (`usize`).
    #[error("length out of range")]
    BadVarint,
    /// A field name, value or control-data item is over the size limit.
    #[error("field or control data too large")]
    FieldTooLarge,
    /// More field lines than the limit allows.
    #[error("too many field lines")]
    TooManyFields,
    /// The method is empty or not an HTTP token.
    #[error("invalid method")]
    BadMethod,
    /// Scheme, authority or path has a byte outside visible ASCII.
    #[error("invalid scheme, authority or path")]
    BadControlData,
    /// A field name is empty, not a token, or a pseudo-field.
    #[error("invalid field name")]
    BadFieldName,
    /// A field name has uppercase ASCII (RFC 9292 §3.6).
    #[error("uppercase field name")]
    UppercaseFieldName,
    /// A field value has NUL, CR, LF or another control byte.
    #[error("invalid field value")]
    BadFieldValue,
    /// Text that should be UTF-8 is not (defensive: validation above
    /// already admits only ASCII).
    #[error("invalid UTF-8")]
    InvalidUtf8,
    /// Bytes after the message that are not zero padding.
    #[error("non-zero bytes after the message")]
    NonZeroPadding,
}
