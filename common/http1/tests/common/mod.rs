//! Test harness: drives a `ServerConn` the way the guest glue will, answering
//! every request with 200 and recording everything that goes on the wire.
#![allow(dead_code)]

use http1::{CloseReason, Request, RequestError, Response, ServerConfig, ServerConn, ServerEvent};

pub struct Harness {
    pub conn: ServerConn,
    pub now: u64,
    pub requests: Vec<Request>,
    /// Status of every response written, in order (2xx and rejections).
    pub statuses: Vec<u16>,
    /// Every byte the server asked to send.
    pub wire: Vec<u8>,
    pub continues: usize,
    pub rejected: Option<RequestError>,
    pub closed: Option<CloseReason>,
    /// Close flag of the last normal response.
    pub last_close: Option<bool>,
}

pub fn config() -> ServerConfig {
    ServerConfig {
        max_head_bytes: 16 * 1024,
        max_body_bytes: 1000,
        idle_timeout_ms: 5_000,
        read_timeout_ms: 2_000,
        // As long as the idle timeout: the head timeout has its own tests.
        head_timeout_ms: 5_000,
    }
}

impl Harness {
    pub fn new() -> Self {
        Self::with_config(config())
    }

    pub fn with_config(config: ServerConfig) -> Self {
        Harness {
            conn: ServerConn::new(config, 0),
            now: 0,
            requests: Vec::new(),
            statuses: Vec::new(),
            wire: Vec::new(),
            continues: 0,
            rejected: None,
            closed: None,
            last_close: None,
        }
    }

    /// Offers all of `data`, polling after each `receive` like the glue.
    pub fn feed(&mut self, data: &[u8]) {
        let mut off = 0;
        while off < data.len() {
            let n = self.conn.receive(&data[off..], self.now);
            off += n;
            self.pump();
            assert!(n > 0 || off == data.len(), "server stopped taking bytes");
        }
        self.pump();
    }

    pub fn feed_chunks(&mut self, data: &[u8], chunk: usize) {
        for c in data.chunks(chunk) {
            self.feed(c);
        }
    }

    pub fn advance(&mut self, ms: u64) {
        self.now += ms;
        self.pump();
    }

    pub fn peer_closed(&mut self) {
        self.conn.peer_closed();
        self.pump();
    }

    pub fn pump(&mut self) {
        loop {
            match self.conn.poll(self.now) {
                ServerEvent::Pending => return,
                ServerEvent::Request(req) => {
                    let body = format!("{} {} {}", req.method, req.path, req.body.len());
                    let out = self
                        .conn
                        .respond(&Response::new(200, body.into_bytes()), self.now)
                        .expect("valid response");
                    self.statuses.push(200);
                    self.wire.extend_from_slice(&out.bytes);
                    self.last_close = Some(out.close);
                    self.requests.push(req);
                }
                ServerEvent::Send(bytes) => {
                    assert_eq!(bytes, b"HTTP/1.1 100 Continue\r\n\r\n");
                    self.continues += 1;
                    self.wire.extend_from_slice(&bytes);
                }
                ServerEvent::Reject { error, response } => {
                    assert!(self.rejected.is_none(), "rejected twice");
                    assert_eq!(status_of(&response), error.status());
                    assert!(contains(&response, b"\r\nConnection: close\r\n"));
                    self.statuses.push(error.status());
                    self.wire.extend_from_slice(&response);
                    self.rejected = Some(error);
                }
                ServerEvent::Close(reason) => {
                    if self.closed.is_none() {
                        self.closed = Some(reason);
                    }
                    assert!(self.conn.is_closed());
                    return;
                }
            }
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed.is_some()
    }
}

pub fn status_of(response: &[u8]) -> u16 {
    let line = std::str::from_utf8(&response[..12]).expect("ascii status line");
    assert!(line.starts_with("HTTP/1.1 "), "{line}");
    line[9..12].parse().expect("status digits")
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Outcome of one input sent in one piece: statuses written and whether
/// the connection was closed.
pub fn outcome(input: &[u8]) -> (Vec<u16>, bool) {
    let mut h = Harness::new();
    h.feed(input);
    let closed = h.is_closed();
    (h.statuses, closed)
}

/// Small deterministic PRNG (xorshift64*) for property-style tests.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
