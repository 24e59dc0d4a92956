//! Finds the end of a message head (start line + fields) in a growing buffer.
//!
//! `httparse` accepts a bare LF as a line ending; RFC 9112 §2.2 allows that but
//! a lenient parser behind or in front of a stricter one is how request
//! smuggling starts, so every line must end in CRLF here and a bare CR or LF
//! rejects the message. Scanning resumes where it stopped, so a peer that
//! sends one byte at a time costs linear, not quadratic, work.

/// Outcome of scanning the buffered bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scan {
    /// Need more bytes.
    Partial,
    /// `buf[start..end]` is a complete head: leading empty lines skipped, `end`
    /// just past the blank line.
    Complete { start: usize, end: usize },
    /// A CR not followed by LF, or an LF not preceded by CR.
    BareLineEnding,
    /// `limit` bytes buffered and no blank line among them.
    TooLarge,
}

/// Resumable head scanner. Reset it whenever the buffer is drained.
#[derive(Debug, Default, Clone)]
pub(crate) struct HeadScanner {
    /// Next byte to look at.
    pos: usize,
    /// Start of the current line.
    line_start: usize,
    /// Start of the head after empty lines that preceded it (RFC 9112 §2.2
    /// asks servers to ignore at least one).
    head_start: usize,
    /// Whether a non-empty line has been seen (the start line).
    seen_line: bool,
}

impl HeadScanner {
    pub(crate) fn scan(&mut self, buf: &[u8], limit: usize) -> Scan {
        let window = buf.get(..buf.len().min(limit)).unwrap_or(buf);
        while let Some(&b) = window.get(self.pos) {
            match b {
                b'\r' => match window.get(self.pos + 1) {
                    // Wait for the byte after the CR.
                    None => break,
                    Some(b'\n') => {
                        self.pos += 1;
                        if let Some(scan) = self.end_of_line() {
                            return scan;
                        }
                    }
                    Some(_) => return Scan::BareLineEnding,
                },
                b'\n' => return Scan::BareLineEnding,
                _ => self.pos += 1,
            }
        }
        if buf.len() >= limit {
            Scan::TooLarge
        } else {
            Scan::Partial
        }
    }

    /// `self.pos` is at the LF of a CRLF.
    fn end_of_line(&mut self) -> Option<Scan> {
        let empty = self.pos == self.line_start + 1;
        self.pos += 1;
        self.line_start = self.pos;
        if !empty {
            self.seen_line = true;
            return None;
        }
        if self.seen_line {
            return Some(Scan::Complete {
                start: self.head_start,
                end: self.pos,
            });
        }
        self.head_start = self.pos;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(buf: &[u8], limit: usize) -> Scan {
        HeadScanner::default().scan(buf, limit)
    }

    #[test]
    fn complete_head() {
        let buf = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY";
        assert_eq!(scan_all(buf, 100), Scan::Complete { start: 0, end: 27 });
    }

    #[test]
    fn leading_empty_lines_are_skipped() {
        let buf = b"\r\n\r\nGET / HTTP/1.1\r\n\r\n";
        assert_eq!(scan_all(buf, 100), Scan::Complete { start: 4, end: 22 });
    }

    #[test]
    fn bare_lf_and_cr_rejected() {
        assert_eq!(scan_all(b"GET / HTTP/1.1\n", 100), Scan::BareLineEnding);
        assert_eq!(scan_all(b"GET / HTTP/1.1\rX", 100), Scan::BareLineEnding);
        assert_eq!(scan_all(b"\n", 100), Scan::BareLineEnding);
    }

    #[test]
    fn trailing_cr_waits() {
        assert_eq!(scan_all(b"GET / HTTP/1.1\r", 100), Scan::Partial);
    }

    #[test]
    fn limit_counts_whole_head() {
        let buf = b"GET / HTTP/1.1\r\n\r\n";
        assert_eq!(
            scan_all(buf, buf.len()),
            Scan::Complete { start: 0, end: 18 }
        );
        assert_eq!(scan_all(buf, buf.len() - 1), Scan::TooLarge);
    }

    #[test]
    fn resumes_byte_by_byte() {
        let buf = b"\r\nPOST /x HTTP/1.1\r\nA: b\r\n\r\n";
        let mut s = HeadScanner::default();
        for n in 1..buf.len() {
            assert_eq!(s.scan(&buf[..n], 100), Scan::Partial, "prefix {n}");
        }
        assert_eq!(
            s.scan(buf, 100),
            Scan::Complete {
                start: 2,
                end: buf.len()
            }
        );
    }
}
