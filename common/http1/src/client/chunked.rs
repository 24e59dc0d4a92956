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
use crate::error::Syntax;
use crate::fields::is_tchar;

/// Longest chunk-size line accepted, extensions included, CRLF excluded.
pub(crate) const MAX_CHUNK_LINE_BYTES: usize = 1024;

/// Limits the decoder enforces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChunkLimits {
    pub max_chunk_bytes: usize,
    pub max_body_bytes: usize,
    /// Total bytes of the trailer section.
    pub max_trailer_bytes: usize,
    pub max_trailer_fields: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Reading a chunk-size line.
    Size,
    /// `left` bytes of chunk data to go.
    Data {
        left: usize,
    },
    /// The CR, then the LF, after a chunk's data.
    DataCr,
    DataLf,
    /// Reading trailer lines after the last chunk.
    Trailer,
    Done,
}

/// Incremental chunked-body decoder.
#[derive(Debug)]
pub(crate) struct ChunkedDecoder {
    limits: ChunkLimits,
    step: Step,
    /// The current line (size or trailer field), without its CRLF.
    line: Vec<u8>,
    /// A CR ended the bytes seen so far: the next must be LF.
    saw_cr: bool,
    trailer_bytes: usize,
    trailer_fields: usize,
}

fn syntax() -> ClientError {
    ClientError::Chunk
}

impl ChunkedDecoder {
    pub(crate) fn new(limits: ChunkLimits) -> Self {
        ChunkedDecoder {
            limits,
            step: Step::Size,
            line: Vec::new(),
            saw_cr: false,
            trailer_bytes: 0,
            trailer_fields: 0,
        }
    }

    /// The last chunk and the trailer section have been read.
    pub(crate) fn is_done(&self) -> bool {
        self.step == Step::Done
    }

    /// Decodes from `data`, appending chunk data to `body`. Returns how many
    /// bytes were consumed: all of them, or fewer once the body has ended
    /// (the rest does not belong to this response).
    pub(crate) fn feed(&mut self, data: &[u8], body: &mut Vec<u8>) -> Result<usize, ClientError> {
        let mut used = 0;
        while let Some(rest) = data.get(used..).filter(|r| !r.is_empty()) {
            match self.step {
                Step::Done => break,
                Step::Data { left } => {
                    let n = left.min(rest.len());
                    body.extend_from_slice(rest.get(..n).unwrap_or(&[]));
                    used += n;
                    self.step = if n == left {
                        Step::DataCr
                    } else {
                        Step::Data { left: left - n }
                    };
                }
                Step::DataCr | Step::DataLf => {
                    let want = if self.step == Step::DataCr {
                        b'\r'
                    } else {
                        b'\n'
                    };
                    if rest.first() != Some(&want) {
                        return Err(syntax());
                    }
                    used += 1;
                    self.step = if self.step == Step::DataCr {
                        Step::DataLf
                    } else {
                        Step::Size
                    };
                }
                Step::Size | Step::Trailer => {
                    let (n, complete) = self.take_line(rest)?;
                    used += n;
                    if complete {
                        self.end_of_line(body.len())?;
                    }
                }
            }
        }
        Ok(used)
    }

    /// Adds bytes of `rest` to the current line up to its CRLF. Returns the
    /// bytes consumed and whether the line is complete.
    fn take_line(&mut self, rest: &[u8]) -> Result<(usize, bool), ClientError> {
        let limit = match self.step {
            Step::Size => MAX_CHUNK_LINE_BYTES,
            _ => self
                .limits
                .max_trailer_bytes
                .saturating_sub(self.trailer_bytes),
        };
        for (i, &b) in rest.iter().enumerate() {
            if self.saw_cr {
                if b != b'\n' {
                    return Err(ClientError::Malformed(Syntax::BareLineEnding));
                }
                self.saw_cr = false;
                return Ok((i + 1, true));
            }
            match b {
                b'\r' => self.saw_cr = true,
                b'\n' => return Err(ClientError::Malformed(Syntax::BareLineEnding)),
                _ if self.line.len() >= limit => {
                    return Err(match self.step {
                        Step::Size => ClientError::Chunk,
                        _ => ClientError::HeadTooLarge,
                    })
                }
                _ => self.line.push(b),
            }
        }
        Ok((rest.len(), false))
    }

    fn end_of_line(&mut self, body_len: usize) -> Result<(), ClientError> {
        let line = core::mem::take(&mut self.line);
        if self.step == Step::Size {
            let size = parse_size_line(&line)?;
            if size > self.limits.max_chunk_bytes {
                return Err(ClientError::ChunkTooLarge);
            }
            if size > self.limits.max_body_bytes.saturating_sub(body_len) {
                return Err(ClientError::BodyTooLarge);
            }
            self.step = if size == 0 {
                Step::Trailer
            } else {
                Step::Data { left: size }
            };
            return Ok(());
        }
        // Trailer section: an empty line ends it.
        if line.is_empty() {
            self.step = Step::Done;
            return Ok(());
        }
        self.trailer_bytes += line.len() + 2;
        self.trailer_fields += 1;
        if self.trailer_bytes > self.limits.max_trailer_bytes
            || self.trailer_fields > self.limits.max_trailer_fields
        {
            return Err(ClientError::HeadTooLarge);
        }
        check_field_line(&line)
    }
}

/// `chunk-size [ chunk-ext ]`: hex digits, then nothing or `BWS ;` and the
/// extensions (skipped, but free of control bytes).
fn parse_size_line(line: &[u8]) -> Result<usize, ClientError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(syntax());
    }
    // Hex digits only (no sign), so the one way parsing fails is overflow.
    let size = core::str::from_utf8(line.get(..digits).unwrap_or(&[]))
        .ok()
        .and_then(|hex| usize::from_str_radix(hex, 16).ok())
        .ok_or(ClientError::ChunkTooLarge)?;
    let ext = line.get(digits..).unwrap_or(&[]);
    let after_ws = ext
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .map_or(&[][..], |p| ext.get(p..).unwrap_or(&[]));
    match after_ws.first() {
        // Whitespace after the size only before an extension.
        None if ext.is_empty() => Ok(size),
        Some(b';') if after_ws.iter().all(|&b| is_ext_byte(b)) => Ok(size),
        _ => Err(syntax()),
    }
}

/// Bytes allowed in chunk extensions: visible ASCII, SP, HTAB, obs-text.
fn is_ext_byte(b: u8) -> bool {
    b == b' ' || b == b'\t' || (0x21..=0x7e).contains(&b) || b >= 0x80
}

/// A trailer `field-name ":" OWS field-value OWS`.
fn check_field_line(line: &[u8]) -> Result<(), ClientError> {
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(ClientError::Malformed(Syntax::HeaderName))?;
    let name = line.get(..colon).unwrap_or(&[]);
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(ClientError::Malformed(Syntax::HeaderName));
    }
    let value = line.get(colon + 1..).unwrap_or(&[]);
    if !value.iter().all(|&b| is_ext_byte(b)) {
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
