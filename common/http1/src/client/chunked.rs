//! Decoder of a `Transfer-Encoding: chunked` response body (RFC 9112 §7.1),
//! fed any split of the bytes and bounded everywhere:
//!
//! - a chunk-size line (size and extensions) of at most
//!   [`MAX_CHUNK_LINE_BYTES`]; the size is hex digits only, computed with
//!   checked arithmetic (an overflowing size is an error, not a wrap);
//! - every chunk at most `max_chunk_bytes`, the decoded body at most
//!   `max_body_bytes`, both refused from the size line, before any data;
//! - chunk extensions (`;name=value`) are skipped, but may hold no control
//!   byte; whitespace is allowed only before a `;` (RFC 9112 `BWS`);
//! - the CRLF after each chunk's data is required;
//! - trailer fields are checked for syntax, counted against the head limits
//!   and dropped (RFC 9110 §6.5.1 lets a recipient discard them);
//! - every line ends in CRLF: a bare CR or LF is an error, as in heads.

use alloc::vec::Vec;

use super::error::ClientError;
use super::response::ClientConfig;
use crate::error::Syntax;
use crate::fields::{is_tchar, is_value_byte};
use crate::MAX_HEADERS;

/// Longest chunk-size line accepted, extensions included, CRLF excluded.
pub(crate) const MAX_CHUNK_LINE_BYTES: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Reading a chunk-size line.
    Size,
    /// This many bytes of chunk data to go.
    Data(usize),
    /// Expecting this byte of the CRLF after a chunk's data.
    DataEnd(u8),
    /// Reading trailer lines after the last chunk.
    Trailer,
    Done,
}

/// Incremental chunked-body decoder, within the limits of a [`ClientConfig`]:
/// `max_chunk_bytes`, `max_body_bytes`, and `max_head_bytes` and
/// [`MAX_HEADERS`] for the trailer section.
#[derive(Debug)]
pub(crate) struct ChunkedDecoder {
    config: ClientConfig,
    step: Step,
    /// The current line (size or trailer field), without its CRLF.
    line: Vec<u8>,
    /// A CR ended the bytes seen so far: the next must be LF.
    saw_cr: bool,
    /// Trailer field lines so far, and their bytes with CRLFs.
    trailer_fields: usize,
    trailer_bytes: usize,
}

impl ChunkedDecoder {
    pub(crate) fn new(config: &ClientConfig) -> Self {
        ChunkedDecoder {
            config: *config,
            step: Step::Size,
            line: Vec::new(),
            saw_cr: false,
            trailer_fields: 0,
            trailer_bytes: 0,
        }
    }

    /// The last chunk and the trailer section have been read.
    pub(crate) fn is_done(&self) -> bool {
        self.step == Step::Done
    }

    /// Decodes the start of `rest` (not empty) as far as the current step
    /// goes, appending chunk data to `body`. Returns how many bytes were
    /// consumed: 0 once the body has ended (the rest does not belong to it).
    pub(crate) fn feed(&mut self, rest: &[u8], body: &mut Vec<u8>) -> Result<usize, ClientError> {
        match self.step {
            Step::Done => Ok(0),
            Step::Data(left) => {
                let n = left.min(rest.len());
                body.extend_from_slice(rest.get(..n).unwrap_or(&[]));
                self.step = match left - n {
                    0 => Step::DataEnd(b'\r'),
                    left => Step::Data(left),
                };
                Ok(n)
            }
            Step::DataEnd(want) => {
                if rest.first() != Some(&want) {
                    return Err(ClientError::Chunk);
                }
                self.step = match want {
                    b'\r' => Step::DataEnd(b'\n'),
                    _ => Step::Size,
                };
                Ok(1)
            }
            Step::Size | Step::Trailer => self.take_line(rest, body.len()),
        }
    }

    /// Adds bytes of `rest` to the current line up to its CRLF, and handles
    /// the line once complete. Returns the bytes consumed.
    fn take_line(&mut self, rest: &[u8], body_len: usize) -> Result<usize, ClientError> {
        let (limit, too_long) = match self.step {
            Step::Size => (MAX_CHUNK_LINE_BYTES, ClientError::Chunk),
            _ => (
                self.config
                    .max_head_bytes
                    .saturating_sub(self.trailer_bytes),
                ClientError::HeadTooLarge,
            ),
        };
        for (i, &b) in rest.iter().enumerate() {
            match (self.saw_cr, b) {
                (true, b'\n') => {
                    self.saw_cr = false;
                    self.end_of_line(body_len)?;
                    return Ok(i + 1);
                }
                (true, _) | (false, b'\n') => {
                    return Err(ClientError::Malformed(Syntax::BareLineEnding))
                }
                (false, b'\r') => self.saw_cr = true,
                _ if self.line.len() >= limit => return Err(too_long),
                _ => self.line.push(b),
            }
        }
        Ok(rest.len())
    }

    fn end_of_line(&mut self, body_len: usize) -> Result<(), ClientError> {
        let line = core::mem::take(&mut self.line);
        if self.step == Step::Size {
            let size = parse_size_line(&line)?;
            if size > self.config.max_chunk_bytes {
                return Err(ClientError::ChunkTooLarge);
            }
            if size > self.config.max_body_bytes.saturating_sub(body_len) {
                return Err(ClientError::BodyTooLarge);
            }
            self.step = if size == 0 {
                Step::Trailer
            } else {
                Step::Data(size)
            };
        } else if line.is_empty() {
            // An empty line ends the trailer section.
            self.step = Step::Done;
        } else {
            self.trailer_fields += 1;
            self.trailer_bytes += line.len() + 2;
            if self.trailer_fields > MAX_HEADERS || self.trailer_bytes > self.config.max_head_bytes
            {
                return Err(ClientError::HeadTooLarge);
            }
            check_field_line(&line)?;
        }
        Ok(())
    }
}

/// `chunk-size [ chunk-ext ]`: hex digits, then nothing or `BWS ;` and the
/// extensions (skipped, but free of control bytes).
fn parse_size_line(line: &[u8]) -> Result<usize, ClientError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(ClientError::Chunk);
    }
    let (hex, ext) = line.split_at(digits);
    // Hex digits only (no sign), so the one way parsing fails is overflow.
    let size = core::str::from_utf8(hex)
        .ok()
        .and_then(|hex| usize::from_str_radix(hex, 16).ok())
        .ok_or(ClientError::ChunkTooLarge)?;
    // Whitespace after the size only before an extension.
    let ext_ok = ext.is_empty()
        || (ext.trim_ascii_start().starts_with(b";") && ext.iter().all(|&b| is_value_byte(b)));
    ext_ok.then_some(size).ok_or(ClientError::Chunk)
}

/// A trailer `field-name ":" OWS field-value OWS`.
fn check_field_line(line: &[u8]) -> Result<(), ClientError> {
    // No colon: an empty name.
    let colon = line.iter().position(|&b| b == b':').unwrap_or(0);
    let (name, value) = line.split_at(colon);
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(ClientError::Malformed(Syntax::HeaderName));
    }
    // `value` starts with the colon, a value byte itself.
    if !value.iter().all(|&b| is_value_byte(b)) {
        return Err(ClientError::Malformed(Syntax::HeaderValue));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_lines() {
        assert_eq!(parse_size_line(b"0"), Ok(0));
        assert_eq!(parse_size_line(b"1aF"), Ok(0x1af));
        assert_eq!(parse_size_line(b"000010"), Ok(16));
        assert_eq!(parse_size_line(b"5;a=b"), Ok(5));
        assert_eq!(parse_size_line(b"5 \t; a = \"q;\" ;b"), Ok(5));
        assert_eq!(parse_size_line(b""), Err(ClientError::Chunk));
        assert_eq!(parse_size_line(b";x"), Err(ClientError::Chunk));
        assert_eq!(parse_size_line(b"5 "), Err(ClientError::Chunk));
        assert_eq!(parse_size_line(b" 5"), Err(ClientError::Chunk));
        assert_eq!(parse_size_line(b"0x5"), Err(ClientError::Chunk));
        assert_eq!(parse_size_line(b"-5"), Err(ClientError::Chunk));
        assert_eq!(parse_size_line(b"5g"), Err(ClientError::Chunk));
        assert_eq!(parse_size_line(b"5;a\0"), Err(ClientError::Chunk));
        assert_eq!(parse_size_line(b"5;a\x7f"), Err(ClientError::Chunk));
        // 17 hex digits do not fit 64 bits: refused, never wrapped.
        assert_eq!(
            parse_size_line(b"10000000000000000"),
            Err(ClientError::ChunkTooLarge)
        );
        assert_eq!(parse_size_line(b"ffffffffffffffff"), Ok(usize::MAX));
    }

    #[test]
    fn trailer_lines() {
        assert_eq!(check_field_line(b"X-Sum: abc"), Ok(()));
        assert_eq!(check_field_line(b"X-Empty:"), Ok(()));
        assert_eq!(
            check_field_line(b"No colon"),
            Err(ClientError::Malformed(Syntax::HeaderName))
        );
        assert_eq!(
            check_field_line(b"Bad Name: x"),
            Err(ClientError::Malformed(Syntax::HeaderName))
        );
        assert_eq!(
            check_field_line(b": x"),
            Err(ClientError::Malformed(Syntax::HeaderName))
        );
        assert_eq!(
            check_field_line(b"X: a\0b"),
            Err(ClientError::Malformed(Syntax::HeaderValue))
        );
    }
}
