//! The blocking glue between a `TcpStream` and `http1::ServerConn`: read,
//! feed, answer each request with `handle`, honour the state machine's
//! deadlines through the socket's read timeout. One thread per connection.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use http1::{Request, Response, ServerConfig, ServerConn, ServerEvent};

/// Serves `stream` until the connection ends; I/O errors end it quietly.
pub fn serve_connection(
    mut stream: TcpStream,
    config: ServerConfig,
    mut handle: impl FnMut(Request) -> Response,
) {
    let started = Instant::now();
    let now = || u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut conn = ServerConn::new(config, now());
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    let mut peer_closed = false;
    loop {
        // `receive` stops after a head that declares a body: call it again.
        while !pending.is_empty() {
            let taken = conn.receive(&pending, now());
            pending.drain(..taken.min(pending.len()));
            if taken == 0 {
                break;
            }
        }
        let mut answered = false;
        loop {
            match conn.poll(now()) {
                ServerEvent::Pending => break,
                ServerEvent::Request(request) => {
                    let response = handle(request);
                    let Ok(out) = conn.respond(&response, now()) else {
                        return;
                    };
                    if stream.write_all(&out.bytes).is_err() || out.close {
                        return;
                    }
                    answered = true;
                }
                ServerEvent::Send(bytes) => {
                    if stream.write_all(&bytes).is_err() {
                        return;
                    }
                }
                ServerEvent::Reject { response, .. } => {
                    let _ = stream.write_all(&response);
                    return;
                }
                ServerEvent::Close(_) => return,
            }
        }
        // Bytes left over after an answer may be the next request.
        if answered && !pending.is_empty() {
            continue;
        }
        if !pending.is_empty() {
            // The state machine takes all it can; refusing more is a bug.
            return;
        }
        if peer_closed {
            // Nothing more will arrive and nothing is owed.
            return;
        }
        let wait = conn
            .next_deadline()
            .map_or(1_000, |d| d.saturating_sub(now()))
            .max(1);
        let _ = stream.set_read_timeout(Some(Duration::from_millis(wait)));
        match stream.read(&mut buf) {
            Ok(0) => {
                peer_closed = true;
                conn.peer_closed();
            }
            Ok(n) => pending.extend_from_slice(buf.get(..n).unwrap_or(&[])),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(_) => return,
        }
    }
}

/// A response with a body and its media type.
pub fn typed(status: u16, content_type: &str, body: Vec<u8>) -> Response {
    Response::new(status, body).with_header("Content-Type", content_type.as_bytes())
}
