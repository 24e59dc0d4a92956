//! Server side of one connection, as a sans-I/O state machine.
//!
//! The glue feeds received bytes with [`ServerConn::receive`], then calls
//! [`ServerConn::poll`] until it returns [`ServerEvent::Pending`], and calls
//! it again when more bytes arrive or at [`ServerConn::next_deadline`].
//! Requests come out one at a time: the next (pipelined) request is parsed
//! only after the current one was answered with [`ServerConn::respond`], so
//! responses go out in order (RFC 9112 §9.3.2).
//!
//! Memory is bounded by the head limit plus the body limit: `receive` takes
//! no more than that and returns how much it took; the rest stays in the
//! socket's receive buffer (TCP flow control does the waiting). Glue that
//! shares a budget among connections reserves each declared body whole
//! ([`ServerConn::body_in_progress`]) or refuses it with 503
//! ([`ServerConn::refuse_busy`]).

mod error;
mod head;
mod response;

use alloc::vec::Vec;

pub use error::RequestError;
use head::{parse_request_head, RequestHead};
use response::{continue_response, encode_response, error_response, Persistence};

use crate::error::EncodeError;
use crate::message::{Request, Response, Version};
use crate::scan::{HeadScanner, Scan};
use crate::MAX_HEAD_BYTES;

/// Limits and timeouts of one server connection. Times are milliseconds on
/// the caller's monotonic clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConfig {
    /// Request line + fields + blank line, in bytes. Over it: 431.
    pub max_head_bytes: usize,
    /// Declared `Content-Length` above it: 413, before any body byte is read.
    pub max_body_bytes: usize,
    /// No byte between requests for this long: close without a response.
    pub idle_timeout_ms: u64,
    /// A started request not complete this long after its first byte: 408.
    /// Counted from the first byte, not the last, so a peer that sends one
    /// byte a second cannot hold the connection forever.
    pub read_timeout_ms: u64,
    /// A new connection that has not completed a request head this long
    /// after it opened: closed silently (no byte sent) or 408 (part of a
    /// head). Much shorter than the idle timeout, so connections that never
    /// send a request cannot hold the server's sockets the way kept-alive
    /// clients may; the other timeouts still apply when they are shorter.
    pub head_timeout_ms: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_head_bytes: MAX_HEAD_BYTES,
            max_body_bytes: 1 << 20,
            idle_timeout_ms: 30_000,
            read_timeout_ms: 10_000,
            head_timeout_ms: 3_000,
        }
    }
}

/// What the glue should do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// Nothing to do until bytes arrive or [`ServerConn::next_deadline`].
    Pending,
    /// A complete request: answer it with [`ServerConn::respond`].
    Request(Request),
    /// Send these bytes (`100 Continue`) and keep reading the body.
    Send(Vec<u8>),
    /// Send `response` (status `error.status()`), then close. The
    /// connection is finished.
    Reject {
        error: RequestError,
        response: Vec<u8>,
    },
    /// Close without sending anything. The connection is finished.
    Close(CloseReason),
}

/// Why a connection ends without a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// No request started within the idle timeout.
    Idle,
    /// The peer closed its side between requests.
    PeerClosed,
    /// The last response was sent with `Connection: close`.
    AfterResponse,
    /// A request was rejected.
    AfterReject,
}

/// Bytes to send for a response, and whether to close after them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub bytes: Vec<u8>,
    pub close: bool,
}

/// The head of a response whose body the caller sends itself (see
/// [`ServerConn::respond_streamed`]).
#[cfg(feature = "streamed-response")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingHead {
    /// Status line, fields and blank line.
    pub bytes: Vec<u8>,
    /// Body bytes the caller must send after `bytes`, exactly: the declared
    /// length, or 0 when the request was HEAD.
    pub body_len: usize,
    pub close: bool,
}

/// [`ServerConn::respond`] was called wrongly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RespondError {
    /// No request is waiting for a response.
    #[error("no request is waiting for a response")]
    NoRequest,
    /// The response is not valid; nothing was sent, the request still waits
    /// for a (valid) response.
    #[error("invalid response: {0}")]
    Invalid(EncodeError),
}

enum State {
    /// Reading a head; `buf` empty means idle between requests.
    Head,
    /// Head accepted; collecting `head.body_len` body bytes.
    Body {
        head: RequestHead,
        body: Vec<u8>,
    },
    /// Complete request not yet handed out by `poll`.
    Ready {
        request: Request,
        keep_alive: bool,
    },
    /// Request handed out; waiting for `respond`.
    Responding {
        keep_alive: bool,
        head_only: bool,
        version: Version,
    },
    Failed(RequestError),
    Closed(CloseReason),
}

/// One server connection. See the module documentation for the protocol.
pub struct ServerConn {
    config: ServerConfig,
    state: State,
    /// Unparsed head bytes (at most `max_head_bytes`).
    buf: Vec<u8>,
    scanner: HeadScanner,
    /// Start of the idle period (connection start or last response).
    idle_since_ms: u64,
    /// First byte of the request being read.
    request_start_ms: Option<u64>,
    /// `100 Continue` owed to the client.
    send_continue: bool,
    peer_closed: bool,
    /// When the connection opened, while no request head has completed on
    /// it (the head timeout applies); `None` afterwards.
    opened_ms: Option<u64>,
}

impl ServerConn {
    pub fn new(config: ServerConfig, now_ms: u64) -> Self {
        ServerConn {
            config,
            state: State::Head,
            buf: Vec::new(),
            scanner: HeadScanner::default(),
            idle_since_ms: now_ms,
            request_start_ms: None,
            send_continue: false,
            peer_closed: false,
            opened_ms: Some(now_ms),
        }
    }

    /// The end of the head timeout, while it applies.
    fn head_deadline(&self) -> Option<u64> {
        self.opened_ms
            .map(|t| t.saturating_add(self.config.head_timeout_ms))
    }

    /// Takes received bytes; returns how many were taken (the rest must be
    /// offered again later). After a rejection or close, all bytes are taken
    /// and dropped, so the glue can drain the socket before closing it. It
    /// stops at a head that declares a body, giving back what followed the
    /// head, so that glue with a budget sees every body in progress before
    /// taking it ([`body_in_progress`](Self::body_in_progress)).
    pub fn receive(&mut self, data: &[u8], now_ms: u64) -> usize {
        let mut used = 0;
        while let Some(rest) = data.get(used..).filter(|r| !r.is_empty()) {
            let in_head = matches!(self.state, State::Head);
            let taken = match &mut self.state {
                State::Body { head, body } => {
                    let n = (head.body_len - body.len()).min(rest.len());
                    // One allocation of the declared size (admitted by then).
                    body.reserve_exact(head.body_len - body.len());
                    body.extend_from_slice(rest.get(..n).unwrap_or(&[]));
                    n
                }
                State::Head | State::Ready { .. } | State::Responding { .. } => {
                    let n =
                        (self.config.max_head_bytes.saturating_sub(self.buf.len())).min(rest.len());
                    if n > 0 && self.buf.is_empty() && matches!(self.state, State::Head) {
                        self.request_start_ms = Some(now_ms);
                    }
                    self.buf.extend_from_slice(rest.get(..n).unwrap_or(&[]));
                    n
                }
                State::Failed(_) | State::Closed(_) => rest.len(),
            };
            used += taken;
            let progressed = self.advance();
            if let (true, State::Body { body, .. }) = (in_head, &mut self.state) {
                // Bytes of this call past the head: the body, then the
                // next request's (pipelined) bytes.
                let back = taken.min(body.len() + self.buf.len());
                let from_buf = back.min(self.buf.len());
                self.buf.truncate(self.buf.len() - from_buf);
                body.truncate(body.len() - (back - from_buf));
                return used - back;
            }
            if taken == 0 && !progressed {
                break;
            }
        }
        used
    }

    /// The peer closed its sending side (TCP FIN). Requests already complete
    /// are still served; a partial one is rejected with 400.
    pub fn peer_closed(&mut self) {
        self.peer_closed = true;
    }

    /// The next event; call until [`ServerEvent::Pending`].
    pub fn poll(&mut self, now_ms: u64) -> ServerEvent {
        self.advance();
        match core::mem::replace(&mut self.state, State::Head) {
            State::Ready {
                request,
                keep_alive,
            } => {
                self.state = State::Responding {
                    keep_alive,
                    head_only: request.method == "HEAD",
                    version: request.version,
                };
                ServerEvent::Request(request)
            }
            State::Failed(error) => {
                self.finish(CloseReason::AfterReject);
                ServerEvent::Reject {
                    error,
                    response: error_response(&error),
                }
            }
            State::Closed(reason) => {
                self.state = State::Closed(reason);
                ServerEvent::Close(reason)
            }
            State::Head if self.buf.is_empty() => {
                let head_late = self.head_deadline().is_some_and(|d| now_ms >= d);
                if self.peer_closed {
                    self.finish(CloseReason::PeerClosed);
                    ServerEvent::Close(CloseReason::PeerClosed)
                } else if head_late
                    || now_ms.saturating_sub(self.idle_since_ms) >= self.config.idle_timeout_ms
                {
                    self.finish(CloseReason::Idle);
                    ServerEvent::Close(CloseReason::Idle)
                } else {
                    ServerEvent::Pending
                }
            }
            state @ (State::Head | State::Body { .. }) => {
                self.state = state;
                if core::mem::take(&mut self.send_continue) {
                    return ServerEvent::Send(continue_response());
                }
                let started = self.request_start_ms.unwrap_or(self.idle_since_ms);
                let head_late = matches!(self.state, State::Head)
                    && self.head_deadline().is_some_and(|d| now_ms >= d);
                let error = if self.peer_closed {
                    RequestError::Truncated
                } else if head_late || now_ms.saturating_sub(started) >= self.config.read_timeout_ms
                {
                    RequestError::Timeout
                } else {
                    return ServerEvent::Pending;
                };
                self.state = State::Failed(error);
                self.poll(now_ms)
            }
            state @ State::Responding { .. } => {
                self.state = state;
                ServerEvent::Pending
            }
        }
    }

    /// Encodes the response to the request last returned by `poll`.
    pub fn respond(&mut self, response: &Response, now_ms: u64) -> Result<Outgoing, RespondError> {
        let (persistence, head_only) = self.persistence(response)?;
        let bytes =
            encode_response(response, head_only, persistence).map_err(RespondError::Invalid)?;
        let close = persistence == Persistence::Close;
        self.responded(close, now_ms);
        Ok(Outgoing { bytes, close })
    }

    /// Like [`respond`](Self::respond) for a body the caller streams
    /// itself: `response.body` must be empty and the head declares
    /// `Content-Length: body_len`. The caller sends `bytes`, then exactly
    /// `body_len` bytes of the returned [`OutgoingHead`] (0 for HEAD), then
    /// closes if `close`. Timers restart as after `respond`; call
    /// [`response_sent`](Self::response_sent) once the body is out so a long
    /// download does not count as idle time.
    #[cfg(feature = "streamed-response")]
    pub fn respond_streamed(
        &mut self,
        response: &Response,
        body_len: usize,
        now_ms: u64,
    ) -> Result<OutgoingHead, RespondError> {
        let (persistence, head_only) = self.persistence(response)?;
        let bytes = response::encode_streamed_head(response, body_len, persistence)
            .map_err(RespondError::Invalid)?;
        let close = persistence == Persistence::Close;
        self.responded(close, now_ms);
        Ok(OutgoingHead {
            bytes,
            body_len: if head_only { 0 } else { body_len },
            close,
        })
    }

    /// The last response has left (its last byte was handed to the
    /// transport) at `now_ms`: the idle timer, and the read timer of a
    /// request already buffered, restart here. Glue that sends large or
    /// slowly drained responses calls this when the send completes; it has
    /// no effect while a request is being read or awaits its response.
    pub fn response_sent(&mut self, now_ms: u64) {
        if matches!(self.state, State::Head) {
            self.idle_since_ms = self.idle_since_ms.max(now_ms);
            if let Some(start) = self.request_start_ms.as_mut() {
                *start = (*start).max(now_ms);
            }
        }
    }

    /// How the response to the waiting request is framed, and whether it
    /// is for a HEAD request.
    fn persistence(&self, response: &Response) -> Result<(Persistence, bool), RespondError> {
        let State::Responding {
            keep_alive,
            head_only,
            version,
        } = self.state
        else {
            return Err(RespondError::NoRequest);
        };
        let persistence = if !keep_alive || response.close {
            Persistence::Close
        } else {
            Persistence::KeepAlive(version)
        };
        Ok((persistence, head_only))
    }

    fn responded(&mut self, close: bool, now_ms: u64) {
        if close {
            self.finish(CloseReason::AfterResponse);
        } else {
            self.state = State::Head;
            self.idle_since_ms = now_ms;
            // A pipelined request's clock starts now, not while we worked.
            self.request_start_ms = (!self.buf.is_empty()).then_some(now_ms);
            self.advance();
        }
    }

    /// When `poll` must be called again if no bytes arrive first.
    pub fn next_deadline(&self) -> Option<u64> {
        let earliest = |d: u64| match (self.head_deadline(), &self.state) {
            (Some(h), State::Head) => d.min(h),
            _ => d,
        };
        match self.state {
            State::Head if self.buf.is_empty() => Some(earliest(
                self.idle_since_ms
                    .saturating_add(self.config.idle_timeout_ms),
            )),
            State::Head | State::Body { .. } => Some(earliest(
                self.request_start_ms
                    .unwrap_or(self.idle_since_ms)
                    .saturating_add(self.config.read_timeout_ms),
            )),
            _ => None,
        }
    }

    /// The declared body length of the request being read, from the
    /// acceptance of its head until its last body byte; `None` otherwise.
    /// Glue with a memory budget reserves it whole at once, or calls
    /// [`refuse_busy`](Self::refuse_busy). Ask before each `receive` (a
    /// pipelined head is parsed when the previous response goes) and after
    /// it (`receive` stops after a head that declares a body).
    pub fn body_in_progress(&self) -> Option<usize> {
        match &self.state {
            State::Body { head, .. } => Some(head.body_len),
            _ => None,
        }
    }

    /// Refuses the request being read (see
    /// [`body_in_progress`](Self::body_in_progress)) with 503 before its
    /// body is read: `poll` returns the rejection, never `100 Continue`,
    /// and the body bytes taken so far are dropped.
    pub fn refuse_busy(&mut self) {
        if matches!(self.state, State::Body { .. }) {
            self.state = State::Failed(RequestError::Busy);
        }
    }

    /// When the connection opened, while it has not completed a request
    /// head; `None` once one has.
    pub fn awaiting_first_head(&self) -> Option<u64> {
        self.opened_ms
    }

    /// Whether the connection is finished (rejected or closed).
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed(_))
    }

    fn finish(&mut self, reason: CloseReason) {
        self.state = State::Closed(reason);
        self.buf = Vec::new();
    }

    /// Parses as far as the buffered bytes allow. Returns whether the state
    /// changed.
    fn advance(&mut self) -> bool {
        match &self.state {
            State::Head => self.advance_head(),
            State::Body { head, body } if body.len() == head.body_len => {
                if let State::Body { head, body } = core::mem::replace(&mut self.state, State::Head)
                {
                    self.complete(head, body);
                }
                true
            }
            _ => false,
        }
    }

    fn advance_head(&mut self) -> bool {
        if self.buf.is_empty() {
            return false;
        }
        let (start, end) = match self.scanner.scan(&self.buf, self.config.max_head_bytes) {
            Scan::Partial => return false,
            Scan::Complete { start, end } => (start, end),
            Scan::BareLineEnding => {
                return self.fail(RequestError::Malformed(crate::Syntax::BareLineEnding))
            }
            Scan::TooLarge => return self.fail(RequestError::HeadTooLarge),
        };
        let parsed = match self.buf.get(start..end) {
            Some(head) => parse_request_head(head, self.config.max_body_bytes),
            None => Err(RequestError::Malformed(crate::Syntax::Line)),
        };
        let head = match parsed {
            Ok(head) => head,
            Err(e) => return self.fail(e),
        };
        self.scanner = HeadScanner::default();
        // A head completed: from now on the connection is an ordinary
        // (possibly kept-alive) one.
        self.opened_ms = None;
        let rest = self.buf.split_off(end.min(self.buf.len()));
        // Body bytes that came with the head; anything after the body stays
        // buffered as the start of the next (pipelined) request.
        let take = head.body_len.min(rest.len());
        let mut body = rest;
        self.buf = body.split_off(take);
        self.send_continue = head.expect_continue && body.is_empty();
        // A body, even one already here, is completed by the next
        // `advance`, after the glue could see it in progress.
        if head.body_len == 0 {
            self.complete(head, body);
        } else {
            self.state = State::Body { head, body };
        }
        true
    }

    fn complete(&mut self, head: RequestHead, body: Vec<u8>) {
        self.send_continue = false;
        self.state = State::Ready {
            keep_alive: head.keep_alive,
            request: Request {
                method: head.method,
                path: head.path,
                version: head.version,
                headers: head.headers,
                body,
            },
        };
    }

    fn fail(&mut self, error: RequestError) -> bool {
        self.state = State::Failed(error);
        true
    }
}
