//! Incremental response parser for one request.
//!
//! Body framing (RFC 9112 §6.3): none for HEAD, 1xx, 204 and 304;
//! `Transfer-Encoding: chunked` (exactly that coding, HTTP/1.1 only, never
//! together with `Content-Length`); `Content-Length`; else until close.

use alloc::vec::Vec;

use super::chunked::ChunkedDecoder;
use super::error::ClientError;
use crate::error::Syntax;
use crate::fields::{content_length, header_value, keeps_alive, list_items, Header, LengthError};
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
        header_value(&self.headers, name)
    }
}

/// How the body ends.
enum BodyEnd {
    /// `Content-Length` (0 when the response has no body).
    Length(usize),
    /// No `Content-Length`: the body is everything until the server closes
    /// (RFC 9112 §6.3 rule 8).
    Close,
    /// `Transfer-Encoding: chunked`.
    Chunked(ChunkedDecoder),
}

enum State {
    /// Reading a head (`buf`); 1xx heads are read and skipped.
    Head,
    /// The head is parsed into the response; its body is being read.
    Body(ReceivedResponse, BodyEnd),
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
    /// The head read so far (never a byte past its blank line).
    buf: Vec<u8>,
    scanner: HeadScanner,
    /// The request was HEAD: the response has no body whatever it declares.
    head_request: bool,
    started_ms: u64,
    peer_closed: bool,
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
            last_progress_ms: now_ms,
            progressed: false,
        }
    }

    /// Takes received bytes; returns how many were taken.
    pub fn receive(&mut self, data: &[u8]) -> usize {
        let mut used = 0;
        while let Some(rest) = data.get(used..).filter(|r| !r.is_empty()) {
            let taken = self.take(rest).unwrap_or_else(|e| {
                self.state = State::Failed(e);
                0
            });
            if taken == 0 {
                break;
            }
            used += taken;
            self.progressed = true;
        }
        used
    }

    /// The server closed its sending side.
    pub fn peer_closed(&mut self) {
        self.peer_closed = true;
    }

    /// `Ok(None)`: not complete yet. The response or error is returned once.
    pub fn poll(&mut self, now_ms: u64) -> Result<Option<ReceivedResponse>, ClientError> {
        if core::mem::take(&mut self.progressed) {
            self.last_progress_ms = now_ms;
        }
        // A deadline while the response is being read.
        let deadline = self.next_deadline();
        if deadline.is_some() && self.peer_closed {
            self.state = match core::mem::replace(&mut self.state, State::Taken) {
                State::Body(resp, BodyEnd::Close) => State::Done(resp),
                _ => State::Failed(ClientError::Truncated),
            };
        } else if deadline.is_some_and(|d| now_ms >= d) {
            self.state = State::Failed(ClientError::Timeout);
        }
        match core::mem::replace(&mut self.state, State::Taken) {
            State::Done(resp) => Ok(Some(resp)),
            State::Failed(e) => Err(e),
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
        matches!(self.state, State::Head | State::Body(..)).then_some(whole.min(read))
    }

    /// Takes what the current state can of `rest` (0: nothing more now).
    fn take(&mut self, rest: &[u8]) -> Result<usize, ClientError> {
        let taken = match &mut self.state {
            State::Head => self.take_head(rest),
            State::Body(resp, BodyEnd::Chunked(decoder)) => decoder.feed(rest, &mut resp.body)?,
            State::Body(resp, end) => {
                // A `Length` body that is complete has already moved on, so
                // no room left means a body until close over the limit.
                let limit = match end {
                    BodyEnd::Length(len) => *len,
                    _ => self.config.max_body_bytes,
                };
                let n = (limit - resp.body.len()).min(rest.len());
                if n == 0 {
                    return Err(ClientError::BodyTooLarge);
                }
                resp.body.extend_from_slice(rest.get(..n).unwrap_or(&[]));
                n
            }
            // Unasked bytes after the response: the connection's framing
            // is off, so it must not be reused.
            State::Done(resp) => {
                resp.keep_alive = false;
                return Ok(rest.len());
            }
            State::Taken | State::Failed(_) => return Ok(0),
        };
        self.state = match core::mem::replace(&mut self.state, State::Taken) {
            State::Body(resp, BodyEnd::Length(len)) if resp.body.len() == len => State::Done(resp),
            State::Body(resp, BodyEnd::Chunked(d)) if d.is_done() => State::Done(resp),
            other => other,
        };
        Ok(taken)
    }

    /// Adds bytes to the head; once it is complete, parses it and returns
    /// only the bytes up to its end (what follows is the body or, after a
    /// 1xx, the next head). A bad head fails the parser, its bytes taken.
    fn take_head(&mut self, rest: &[u8]) -> usize {
        let (before, max) = (self.buf.len(), self.config.max_head_bytes);
        let n = max.saturating_sub(before).min(rest.len());
        self.buf.extend_from_slice(rest.get(..n).unwrap_or(&[]));
        let outcome = match self.scanner.scan(&self.buf, max) {
            Scan::Partial => return n,
            Scan::Complete { end, .. } => self.start_body(end).map(|()| end - before),
            Scan::BareLineEnding => Err(ClientError::Malformed(Syntax::BareLineEnding)),
            Scan::TooLarge => Err(ClientError::HeadTooLarge),
        };
        outcome.unwrap_or_else(|e| {
            self.state = State::Failed(e);
            n
        })
    }

    /// Parses the head `buf[..end]` and sets up reading its body.
    fn start_body(&mut self, end: usize) -> Result<(), ClientError> {
        let mut resp = parse_response_head(self.buf.get(..end).unwrap_or(&[]))?;
        self.buf.clear();
        self.scanner = HeadScanner::default();
        // 1xx are interim (e.g. 100 Continue): skip and read the next head.
        if (100..200).contains(&resp.status) {
            return Ok(());
        }
        let end_of_body = if self.head_request || resp.status == 204 || resp.status == 304 {
            BodyEnd::Length(0)
        } else if resp.header("transfer-encoding").is_some() {
            check_transfer_encoding(&resp)?;
            BodyEnd::Chunked(ChunkedDecoder::new(&self.config))
        } else {
            match content_length(&resp.headers, self.config.max_body_bytes) {
                Ok(Some(len)) => BodyEnd::Length(len),
                Ok(None) => BodyEnd::Close,
                Err(LengthError::TooLarge) => return Err(ClientError::BodyTooLarge),
                Err(LengthError::Invalid | LengthError::Duplicate) => {
                    return Err(ClientError::ContentLength)
                }
            }
        };
        resp.keep_alive =
            !matches!(end_of_body, BodyEnd::Close) && keeps_alive(resp.version, &resp.headers);
        self.state = State::Body(resp, end_of_body);
        Ok(())
    }
}

/// `Transfer-Encoding` (all its fields together) must be exactly `chunked`:
/// another coding cannot be decoded here, HTTP/1.0 has no transfer codings,
/// and a `Content-Length` beside it is the request-smuggling pattern (RFC
/// 9112 §6.1, §6.3).
fn check_transfer_encoding(resp: &ReceivedResponse) -> Result<(), ClientError> {
    if resp.version == Version::Http10 {
        return Err(ClientError::TransferEncoding);
    }
    if resp.header("content-length").is_some() {
        return Err(ClientError::FramingConflict);
    }
    let mut codings = list_items(&resp.headers, "transfer-encoding");
    match (codings.next(), codings.next()) {
        (Some(c), None) if c.eq_ignore_ascii_case(b"chunked") => Ok(()),
        _ => Err(ClientError::TransferEncoding),
    }
}

/// The status line and fields; the body is still empty.
fn parse_response_head(head: &[u8]) -> Result<ReceivedResponse, ClientError> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut slots);
    Syntax::check(resp.parse(head))
        .map_err(|e| e.map_or(ClientError::HeadTooLarge, ClientError::Malformed))?;
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
    Ok(ReceivedResponse {
        status,
        version,
        headers: Header::from_parsed(resp.headers),
        body: Vec::new(),
        keep_alive: false,
    })
}
