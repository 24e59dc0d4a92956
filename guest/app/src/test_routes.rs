//! The HTTP test routes (self-test word `http`), for the end-to-end tests
//! of the server and the network path:
//!
//!   `GET /healthz`      -> 200 `ok`
//!   `POST /sha256`      -> 200 with the lower-case hex SHA-256 of the body
//!                          (body limit [`BODY_LIMIT`]; over it 413)
//!   `GET /bytes/<n>`    -> n bytes, byte i = (i + i/256) mod 256, streamed
//!                          (n at most [`BYTES_LIMIT`], else 400)
//!   `POST /quit`        -> 200 `bye`, then the VM powers off (success)
//!   unknown path 404, known path with another method 405 (with `Allow`).

use crate::http_server::{method_not_allowed, path_of, text, Reply, Routes};
use http1::Request;
use sha2::{Digest, Sha256};

/// Largest request body (`Content-Length`) accepted, for every route.
pub const BODY_LIMIT: usize = 8 << 20;
/// Largest `/bytes/<n>`.
pub const BYTES_LIMIT: u64 = 64 << 20;
/// Largest response queued whole (heads, small bodies, rejections).
pub const MAX_QUEUED: usize = 4096;

pub struct TestRoutes;

impl Routes for TestRoutes {
    fn log_events(&self) -> bool {
        true
    }

    fn route(&mut self, request: &Request) -> Reply {
        let path = path_of(&request.path);
        let method = request.method.as_str();
        match path {
            "/healthz" => match method {
                "GET" | "HEAD" => Reply::Whole(text(200, b"ok")),
                _ => method_not_allowed(b"GET, HEAD"),
            },
            "/sha256" => match method {
                "POST" => Reply::Whole(text(
                    200,
                    hex::encode(Sha256::digest(&request.body)).as_bytes(),
                )),
                _ => method_not_allowed(b"POST"),
            },
            "/quit" => match method {
                "POST" => Reply::Quit,
                _ => method_not_allowed(b"POST"),
            },
            _ => match path.strip_prefix("/bytes/") {
                Some(n) => match method {
                    "GET" => match parse_count(n) {
                        Some(n) if n <= BYTES_LIMIT => Reply::Pattern(n),
                        _ => Reply::Whole(text(400, b"count must be 0..=67108864\n")),
                    },
                    _ => method_not_allowed(b"GET"),
                },
                None => Reply::Whole(text(404, b"not found\n")),
            },
        }
    }
}

/// A plain decimal count (digits only, at most 20 of them).
fn parse_count(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}
