//! Errors of the Binary HTTP codec.

use core::fmt;

/// Why a BHTTP message was refused. Every variant means "malformed or
/// over a limit" (RFC 9292 §4): the HTTP layer answers 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BhttpError {
    /// The input ends inside an integer, a length-prefixed item or a
    /// section, or a length is larger than the remaining input.
    Truncated,
    /// The framing indicator is not a request framing (0 or 2).
    BadFraming(u64),
    /// A length does not fit in memory addressing (`usize`).
    BadVarint,
    /// A field name, value or control-data item is over the size limit.
    FieldTooLarge,
    /// More field lines than the limit allows.
    TooManyFields,
    /// The method is empty or not an HTTP token.
    BadMethod,
    /// Scheme, authority or path has a byte outside visible ASCII.
    BadControlData,
    /// A field name is empty, not a token, or a pseudo-field.
    BadFieldName,
    /// A field name has uppercase ASCII (RFC 9292 §3.6).
    UppercaseFieldName,
    /// A field value has NUL, CR, LF or another control byte.
    BadFieldValue,
    /// Text that should be UTF-8 is not (defensive: validation above
    /// already admits only ASCII).
    InvalidUtf8,
    /// Bytes after the message that are not zero padding.
    NonZeroPadding,
}

impl fmt::Display for BhttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("binary HTTP message truncated"),
            Self::BadFraming(v) => write!(f, "framing indicator {v} is not a request"),
            Self::BadVarint => f.write_str("length out of range"),
            Self::FieldTooLarge => f.write_str("field or control data too large"),
            Self::TooManyFields => f.write_str("too many field lines"),
            Self::BadMethod => f.write_str("invalid method"),
            Self::BadControlData => f.write_str("invalid scheme, authority or path"),
            Self::BadFieldName => f.write_str("invalid field name"),
            Self::UppercaseFieldName => f.write_str("uppercase field name"),
            Self::BadFieldValue => f.write_str("invalid field value"),
            Self::InvalidUtf8 => f.write_str("invalid UTF-8"),
            Self::NonZeroPadding => f.write_str("non-zero bytes after the message"),
        }
    }
}
