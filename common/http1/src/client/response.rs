//! Incremental response parser for one request.
//!
//! Body framing (RFC 9112 §6.3): none for HEAD, 1xx, 204 and 304;
//! `Transfer-Encoding: chunked` (exactly that coding, HTTP/1.1 only, never
//! together with `Content-Length`); `Content-Length`; else until close.

use alloc::vec::Vec;

use super::chunked::{ChunkLimits, ChunkedDecoder};
use super::error::ClientError;
use crate::error::Syntax;
use crate::fields::{connection_has, content_length, header_values, trim_ows, Header, LengthError};
use crate::message::Version;
use crate::scan::{HeadScanner, Scan};
use crate::{MAX_HEADERS, MAX_HEAD_BYTES};

/// Limits for one response. Times are milliseconds on the caller's
/// monotonic clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConfig {
    /// Limit of the head, and separately of a chunked body's trailer section.
    pub max_head_bytes: usize,
    /// Limit of the (decoded) body, whatever its framing.
    pub max_body_bytes: usize,
    /// Limit of one chunk of a chunked body.
    pub max_chunk_bytes: usize,
    /// The whole response must arrive within this time after the parser was
    /// created (i.e. after the request was sent).
    pub timeout_ms: u64,
    /// If set, the response fails when no byte has arrived for this long
    /// (measured at [`ResponseParser::poll`] granularity), even within
    /// `timeout_ms`.
    pub read_timeout_ms: Option<u64>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            max_head_bytes: MAX_HEAD_BYTES,
            max_body_bytes: 1 << 20,
            max_chunk_bytes: 256 << 10,
            timeout_ms: 10_000,
            read_timeout_ms: None,
        }
    }
}

/// A complete response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedResponse {
    pub status: u16,
    pub version: Version,
    pub headers: Vec<Header>,
    pub body: Vec<u8>,
    /// The connection may carry another request: the body was framed by
    /// `Content-Length` or chunked (or absent), the server did not ask to
    /// close, and no bytes followed the response.
    pub keep_alive: bool,
}

impl ReceivedResponse {
    /// Value of the first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        crate::fields::header_value(&self.headers, name)
    }
}

/// How the body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyEnd {
    Length(usize),
    /// No `Content-Length`: the body is everything until the server closes
    /// (RFC 9112 §6.3 rule 8).
    Close,
    /// `Transfer-Encoding: chunked`: decoded by the parser's decoder.
    Chunked,
}

enum State {
    Head,
    Body {
        status: u16,
        version: Version,
        headers: Vec<Header>,
        body: Vec<u8>,
        end: BodyEnd,
        keep_alive: bool,
    },
    Done(ReceivedResponse),
    Taken,
    Failed(ClientError),
}

/// Parses the response to one request. Feed bytes with
/// [`receive`](Self::receive); [`poll`](Self::poll) yields the response or an
/// error. A server sends nothing unasked, so bytes after the response are
/// dropped and clear [`ReceivedResponse::keep_alive`].
pub struct ResponseParser {
    config: ClientConfig,
    state: State,
    buf: Vec<u8>,
    scanner: HeadScanner,
    /// The request was HEAD: the response has no body whatever it declares.
    head_request: bool,
    started_ms: u64,
    peer_closed: bool,
    /// The chunked body's decoder, while one is read.
    chunked: Option<ChunkedDecoder>,
    /// When `poll` last saw that bytes had arrived (read timeout).
    last_progress_ms: u64,
    /// Bytes arrived since the last `poll`.
    progressed: bool,
}

impl ResponseParser {
    /// `now_ms`: when the request was sent; the timeout counts from here.
    pub fn new(config: ClientConfig, head_request: bool, now_ms: u64) -> Self {
        ResponseParser {
            config,
            state: State::Head,
            buf: Vec::new(),
            scanner: HeadScanner::default(),
            head_request,
            started_ms: now_ms,
            peer_closed: false,
            chunked: None,
            last_progress_ms: now_ms,
            progressed: false,
        }
    }

    /// Takes received bytes; returns how many were taken.
    pub fn receive(&mut self, data: &[u8]) -> usize {
        let mut used = 0;
        while let Some(rest) = data.get(used..).filter(|r| !r.is_empty()) {
            let taken = match &mut self.state {
                State::Head => {
                    let n = self
                        .config
                        .max_head_bytes
                        .saturating_sub(self.buf.len())
                        .min(rest.len());
                    self.buf.extend_from_slice(rest.get(..n).unwrap_or(&[]));
                    n
                }
                State::Body {
                    body,
                    end: BodyEnd::Chunked,
                    ..
                } => match self.chunked.as_mut().map(|d| d.feed(rest, body)) {
                    Some(Ok(n)) => n,
                    Some(Err(e)) => {
                        self.state = State::Failed(e);
                        0
                    }
                    None => 0,
                },
                State::Body { body, end, .. } => {
                    let room = match *end {
                        BodyEnd::Length(len) => len - body.len(),
                        // One byte past the limit, to tell "too large" apart.
                        BodyEnd::Close => {
                            (self.config.max_body_bytes + 1).saturating_sub(body.len())
                        }
                        BodyEnd::Chunked => 0,
                    };
                    let n = room.min(rest.len());
                    body.extend_from_slice(rest.get(..n).unwrap_or(&[]));
                    n
                }
                // Unasked bytes after the response: the connection's framing
                // is off, so it must not be reused.
                State::Done(resp) => {
                    resp.keep_alive = false;
                    rest.len()
                }
                State::Taken | State::Failed(_) => 0,
            };
            used += taken;
            self.progressed |= taken > 0;
            let progressed = self.advance();
            if taken == 0 && !progressed {
                break;
            }
        }
        used
    }

    /// The server closed its sending side.
    pub fn peer_closed(&mut self) {
        self.peer_closed = true;
    }

    /// `Ok(None)`: not complete yet. The response or error is returned once.
    pub fn poll(&mut self, now_ms: u64) -> Result<Option<ReceivedResponse>, ClientError> {
        self.advance();
        if self.peer_closed {
            if let State::Body {
                end: BodyEnd::Close,
                ..
            } = self.state
            {
                self.finish_body();
            } else if matches!(self.state, State::Head | State::Body { .. }) {
                self.state = State::Failed(ClientError::Truncated);
            }
        }
        if core::mem::take(&mut self.progressed) {
            self.last_progress_ms = now_ms;
        }
        if matches!(self.state, State::Head | State::Body { .. })
            && self.next_deadline().is_some_and(|d| now_ms >= d)
        {
            self.state = State::Failed(ClientError::Timeout);
        }
        match core::mem::replace(&mut self.state, State::Taken) {
            State::Done(resp) => Ok(Some(resp)),
            State::Failed(e) => Err(e),
            State::Taken => Ok(None),
            other => {
                self.state = other;
                Ok(None)
            }
        }
    }

    /// When `poll` must be called if nothing arrives first.
    pub fn next_deadline(&self) -> Option<u64> {
        let whole = self.started_ms.saturating_add(self.config.timeout_ms);
        let read = self
            .config
            .read_timeout_ms
            .map_or(u64::MAX, |t| self.last_progress_ms.saturating_add(t));
        matches!(self.state, State::Head | State::Body { .. }).then_some(whole.min(read))
    }

    /// Parses as far as the buffered bytes allow.
    fn advance(&mut self) -> bool {
        let mut progressed = false;
        while self.step() {
            progressed = true;
        }
        progressed
    }

    fn step(&mut self) -> bool {
        match &self.state {
            State::Head => self.advance_head(),
            State::Body {
                body,
                end: BodyEnd::Length(len),
                ..
            } if body.len() == *len => {
                self.finish_body();
                true
            }
            State::Body {
                body,
                end: BodyEnd::Close,
                ..
            } if body.len() > self.config.max_body_bytes => {
                self.state = State::Failed(ClientError::BodyTooLarge);
                true
            }
            State::Body {
                end: BodyEnd::Chunked,
                ..
            } if self.chunked.as_ref().is_some_and(ChunkedDecoder::is_done) => {
                self.chunked = None;
                self.finish_body();
                true
            }
            _ => false,
        }
    }

    fn finish_body(&mut self) {
        if let State::Body {
            status,
            version,
            headers,
            body,
            keep_alive,
            ..
        } = core::mem::replace(&mut self.state, State::Taken)
        {
            self.state = State::Done(ReceivedResponse {
                status,
                version,
                headers,
                body,
                keep_alive: keep_alive && self.buf.is_empty(),
            });
            self.buf = Vec::new();
        }
    }

    fn advance_head(&mut self) -> bool {
        if self.buf.is_empty() {
            return false;
        }
        let end = match self.scanner.scan(&self.buf, self.config.max_head_bytes) {
            Scan::Partial => return false,
            Scan::Complete { end, .. } => end,
            Scan::BareLineEnding => {
                return self.fail(ClientError::Malformed(Syntax::BareLineEnding))
            }
            Scan::TooLarge => return self.fail(ClientError::HeadTooLarge),
        };
        let parsed = match self.buf.get(..end) {
            Some(head) => parse_response_head(head),
            None => Err(ClientError::Malformed(Syntax::Line)),
        };
        let head = match parsed {
            Ok(head) => head,
            Err(e) => return self.fail(e),
        };
        let rest = self.buf.split_off(end.min(self.buf.len()));
        self.buf = rest;
        self.scanner = HeadScanner::default();
        // 1xx are interim (e.g. 100 Continue): skip and read the next head.
        if (100..200).contains(&head.status) {
            return true;
        }
        let no_body = self.head_request || head.status == 204 || head.status == 304;
        let chunked = !no_body
            && header_values(&head.headers, "transfer-encoding")
                .next()
                .is_some();
        let framing = if no_body {
            Ok(Some(0))
        } else if chunked {
            if let Err(e) = check_transfer_encoding(&head) {
                return self.fail(e);
            }
            Ok(None)
        } else {
            content_length(&head.headers)
        };
        let end = match framing {
            Ok(_) if chunked => BodyEnd::Chunked,
            Ok(Some(n)) => match usize::try_from(n) {
                Ok(n) if n <= self.config.max_body_bytes => BodyEnd::Length(n),
                _ => return self.fail(ClientError::BodyTooLarge),
            },
            Ok(None) => BodyEnd::Close,
            Err(LengthError::Overflow) => return self.fail(ClientError::BodyTooLarge),
            Err(LengthError::Invalid | LengthError::Duplicate) => {
                return self.fail(ClientError::ContentLength)
            }
        };
        let keep_alive = matches!(end, BodyEnd::Length(_) | BodyEnd::Chunked)
            && match head.version {
                Version::Http11 => !connection_has(&head.headers, "close"),
                Version::Http10 => connection_has(&head.headers, "keep-alive"),
            };
        // Bytes already buffered belong to the body (up to its end).
        let mut body = core::mem::take(&mut self.buf);
        if let BodyEnd::Length(len) = end {
            if body.len() > len {
                self.buf = body.split_off(len);
            }
        }
        if end == BodyEnd::Chunked {
            let mut decoder = ChunkedDecoder::new(ChunkLimits {
                max_chunk_bytes: self.config.max_chunk_bytes,
                max_body_bytes: self.config.max_body_bytes,
                max_trailer_bytes: self.config.max_head_bytes,
                max_trailer_fields: MAX_HEADERS,
            });
            let raw = core::mem::take(&mut body);
            match decoder.feed(&raw, &mut body) {
                Ok(n) => self.buf = raw.get(n..).unwrap_or(&[]).to_vec(),
                Err(e) => return self.fail(e),
            }
            self.chunked = Some(decoder);
        }
        self.state = State::Body {
            status: head.status,
            version: head.version,
            headers: head.headers,
            body,
            end,
            keep_alive,
        };
        true
    }

    fn fail(&mut self, e: ClientError) -> bool {
        self.state = State::Failed(e);
        true
    }
}

/// `Transfer-Encoding` (all its fields together) must be exactly `chunked`:
/// another coding cannot be decoded here, HTTP/1.0 has no transfer codings,
/// and a `Content-Length` beside it is the request-smuggling pattern (RFC
/// 9112 §6.1, §6.3).
fn check_transfer_encoding(head: &ResponseHead) -> Result<(), ClientError> {
    if head.version == Version::Http10 {
        return Err(ClientError::TransferEncoding);
    }
    if header_values(&head.headers, "content-length")
        .next()
        .is_some()
    {
        return Err(ClientError::FramingConflict);
    }
    let mut codings = header_values(&head.headers, "transfer-encoding")
        .flat_map(|v| v.split(|&b| b == b','))
        .map(trim_ows)
        .filter(|c| !c.is_empty());
    match (codings.next(), codings.next()) {
        (Some(c), None) if c.eq_ignore_ascii_case(b"chunked") => Ok(()),
        _ => Err(ClientError::TransferEncoding),
    }
}

struct ResponseHead {
    status: u16,
    version: Version,
    headers: Vec<Header>,
}

fn parse_response_head(head: &[u8]) -> Result<ResponseHead, ClientError> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut slots);
    match resp.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(ClientError::Malformed(Syntax::Line)),
        Err(httparse::Error::TooManyHeaders) => return Err(ClientError::HeadTooLarge),
        Err(e) => return Err(ClientError::Malformed(Syntax::from_httparse(e))),
    }
    let (Some(minor), Some(status)) = (resp.version, resp.code) else {
        return Err(ClientError::Malformed(Syntax::StartLine));
    };
    let version = Version::from_minor(minor).ok_or(ClientError::Malformed(Syntax::Version))?;
    if status == 101 {
        return Err(ClientError::SwitchingProtocols);
    }
    if !(100..=599).contains(&status) {
        return Err(ClientError::Malformed(Syntax::StartLine));
    }
    let headers = resp
        .headers
        .iter()
        .map(|h| Header::new(h.name, h.value))
        .collect();
    Ok(ResponseHead {
        status,
        version,
        headers,
    })
}
