//! Binary HTTP (RFC 9292): decoding requests, encoding responses.
//!
//! Requests in both framings are accepted: known-length (framing
//! indicator 0) and indeterminate-length (2). Decisions where the RFC
//! leaves room, or where this decoder is stricter:
//!
//! - Truncation (§3.8): a message may end at any section boundary after
//!   the control data; missing sections are empty. (RFC 9458 Appendix A
//!   itself omits the header section.) Ending inside a section is
//!   [`BhttpError::Truncated`].
//! - Padding (§3.8): trailing zero bytes are accepted, any non-zero byte
//!   after the message is [`BhttpError::NonZeroPadding`].
//! - Field names (§3.6): must be HTTP tokens; uppercase ASCII makes the
//!   message invalid, as §3.6 requires of recipients. Pseudo-fields
//!   (names starting with `:`) are refused: the control data carries the
//!   request line, and no extension pseudo-field is supported.
//! - Field values: NUL, CR, LF and other controls except HTAB are refused
//!   (RFC 9110 §5.5).
//! - Control data: the method must be a token; scheme, authority and path
//!   must be visible ASCII (0x21..=0x7e), so they are also valid UTF-8.
//! - Trailers are validated and counted against the field limit, then
//!   dropped.
//! - Limits ([`Limits::DEFAULT`]): 64 field lines in total, 8 KiB per
//!   name, value or control-data item. The content is bounded only by the
//!   input. Every length is checked against the limit and the remaining
//!   input before anything is allocated, and each loop step consumes input,
//!   so work and memory are linear in the input length.

mod decode;
mod encode;
mod error;
mod fields;
mod reader;

use alloc::string::String;
use alloc::vec::Vec;

use zeroize::Zeroizing;

pub use encode::encode_response;
pub use error::BhttpError;

/// Bounds for decoding a request from an untrusted peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Field lines in the header and trailer sections together.
    pub max_fields: usize,
    /// Bytes of one field name, one field value, or one control-data item.
    pub max_field_bytes: usize,
}

impl Limits {
    /// 64 field lines, 8 KiB per item.
    pub const DEFAULT: Limits = Limits {
        max_fields: 64,
        max_field_bytes: 8 * 1024,
    };
}

/// A decoded request. The content is zeroized on drop; no `Debug`, so no
/// `{:?}` can print it.
pub struct Request {
    /// Request method, an HTTP token (e.g. `GET`).
    pub method: String,
    /// URI scheme (e.g. `https`); may be empty.
    pub scheme: String,
    /// Authority (host\[:port\]); may be empty.
    pub authority: String,
    /// Path and query; may be empty.
    pub path: String,
    /// Header fields in order; names are lowercase.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Request content.
    pub body: Zeroizing<Vec<u8>>,
}

impl Request {
    /// The first header with this name, compared ASCII case-insensitively.
    /// Tests only: the guest reads no inner header.
    #[cfg(feature = "test-support")]
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }
}

/// Decodes a BHTTP request with [`Limits::DEFAULT`].
pub fn decode_request(bytes: &[u8]) -> Result<Request, BhttpError> {
    decode::decode_request(bytes, &Limits::DEFAULT)
}

/// Decodes a BHTTP request with caller-chosen limits.
#[cfg(feature = "test-support")]
pub fn decode_request_with_limits(bytes: &[u8], limits: &Limits) -> Result<Request, BhttpError> {
    decode::decode_request(bytes, limits)
}
