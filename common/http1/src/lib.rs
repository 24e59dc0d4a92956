//! Sans-I/O HTTP/1.1 for the appliance: a server connection state machine
//! and a client request encoder / response parser. No sockets and no clock:
//! the caller passes received bytes and the current monotonic time in
//! milliseconds, and sends the bytes it is given.
//!
//! Scope and decisions (RFC 9110 / 9112):
//! - Bodies are framed by `Content-Length` only. A request with
//!   `Transfer-Encoding` gets 501 (chunked is valid HTTP/1.1 that this server
//!   does not implement), or 400 if it also has `Content-Length` or is
//!   HTTP/1.0 (conflicting framing, the request-smuggling pattern).
//! - Any repeated `Content-Length`, even with equal values, and any value that
//!   is not plain digits: 400. A declared length over the body limit: 413
//!   before the body is read.
//! - The head (request line, fields, blank line) is limited to 16 KiB by
//!   default and [`MAX_HEADERS`] fields; over it: 431 Request Header Fields
//!   Too Large (RFC 6585). The issue lists 400/413/408; 431 is the status
//!   defined for exactly this case and clients report it precisely.
//! - Lines must end in CRLF; a bare LF or CR is 400 (`httparse` alone would
//!   accept a bare LF).
//! - Bytes after a request's `Content-Length` body are the next request
//!   (pipelining): parsed after the current response, so a "lying" length
//!   that is too short makes the rest parse as a request (usually 400), and
//!   one that is too long stalls until the read timeout (408).
//! - Timeouts: idle (no byte between requests) closes silently; read (a
//!   started request not complete within the timeout, counted from its first
//!   byte) answers 408. Every rejection closes the connection.
//! - Keep-alive: HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with
//!   `Connection: keep-alive`.
//!
//! The loop the guest's socket glue runs per connection:
//!
//! ```
//! use http1::{Response, ServerConfig, ServerConn, ServerEvent};
//!
//! let mut conn = ServerConn::new(ServerConfig::default(), 0);
//! let mut wire = Vec::new();
//! let now = 5;
//! // On readable: offer the socket's bytes (unconsumed ones stay queued).
//! let taken = conn.receive(b"GET /v1/attestation HTTP/1.1\r\nHost: a\r\n\r\n", now);
//! assert_eq!(taken, 41);
//! // Then drain events; also poll at `conn.next_deadline()`.
//! loop {
//!     match conn.poll(now) {
//!         ServerEvent::Pending => break,
//!         ServerEvent::Request(req) => {
//!             let resp = Response::new(200, b"{}".to_vec())
//!                 .with_header("Content-Type", b"application/json");
//!             let out = conn.respond(&resp, now).expect("valid response");
//!             wire.extend_from_slice(&out.bytes); // send; close after if out.close
//!         }
//!         ServerEvent::Send(bytes) => wire.extend_from_slice(&bytes),
//!         ServerEvent::Reject { response, .. } => {
//!             wire.extend_from_slice(&response); // send, then close
//!         }
//!         ServerEvent::Close(_) => break, // close the socket
//!     }
//! }
//! assert!(wire.starts_with(b"HTTP/1.1 200 OK\r\n"));
//! ```
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

extern crate alloc;

mod client;
mod encode;
mod error;
mod fields;
mod message;
mod scan;
mod server;
// Test-only raw CPUID for the guest binary check (tests/e2e_binary_check.py).
#[cfg(all(feature = "plant-raw-cpuid", target_arch = "x86_64"))]
pub mod plant_raw_cpuid;
mod status;

pub use client::{
    encode_request, ClientConfig, ClientError, ClientRequest, ReceivedResponse, ResponseParser,
};
pub use error::{EncodeError, Syntax};
pub use fields::{header_value, header_values, Header};
pub use message::{Request, Response, Version};
#[cfg(feature = "streamed-response")]
pub use server::OutgoingHead;
pub use server::{
    CloseReason, Outgoing, RequestError, RespondError, ServerConfig, ServerConn, ServerEvent,
};
pub use status::reason_phrase;

/// Default limit of a message head: request/status line, fields, blank line.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Most header fields accepted in one message; more is treated like an
/// oversized head (431 on the server).
pub const MAX_HEADERS: usize = 64;
