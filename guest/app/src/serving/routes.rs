//! The appliance's HTTP surface. Nothing here sees plaintext except through
//! the OHTTP gateway; there is no plaintext inference route.
//!
//!   `GET /v1/attestation`            -> the attestation document (JSON)
//!   `GET /.well-known/ohttp-gateway` -> `application/ohttp-keys`
//!   `POST /` or `/gateway`           -> `message/ohttp-req` in,
//!                                       `message/ohttp-res` out
//!   `GET /healthz`                   -> `ok`
//!
//! A request that does not decapsulate gets 400: with the RFC 9458
//! `ohttp-key` problem type when the key id or suite is not ours (the
//! client should refetch the keys), plain text otherwise. Nothing about any
//! one request reaches the serial log: requests served and refused are
//! counted, and the counter line (`exit_report`) prints the totals.

use alloc::vec::Vec;
use embed_engine::Embedder;
use http1::{Request, Response};
use ohttp_gateway::{Gateway, KEYS_MEDIA_TYPE, REQUEST_MEDIA_TYPE, RESPONSE_MEDIA_TYPE};

use super::inference;
use crate::exit_report::CounterLine;
use crate::http_server::{method_not_allowed, path_of, text, Reply, Routes};
use crate::rng::RdRand;

pub struct ServingRoutes<'m> {
    pub gateway: Gateway,
    pub document: Vec<u8>,
    pub embedder: Embedder<'m>,
    pub rng: RdRand,
    /// Encapsulated requests answered (whatever the inner status).
    pub served: u64,
    /// Encapsulated requests refused (wrong media type, do not decapsulate,
    /// could not be sealed).
    pub refused: u64,
    /// The periodic counter line (requests served and refused, host exits
    /// since boot; see `exit_report`). No line per request.
    pub counters: CounterLine,
}

const KEY_PROBLEM: &[u8] = br#"{"type":"https://iana.org/assignments/http-problem-types#ohttp-key","title":"key configuration not recognised: fetch /.well-known/ohttp-gateway and verify /v1/attestation again"}"#;

fn typed(status: u16, media: &str, body: Vec<u8>) -> Reply {
    Reply::Whole(
        Response::new(status, body)
            .with_header("Content-Type", media.as_bytes())
            .with_header("Cache-Control", b"no-store"),
    )
}

/// The media type without parameters, lower-cased.
fn media_type(request: &Request) -> Option<Vec<u8>> {
    let value = request.header("content-type")?;
    let bare = value.split(|&b| b == b';').next().unwrap_or(&[]);
    Some(bare.trim_ascii().to_ascii_lowercase())
}

impl Routes for ServingRoutes<'_> {
    fn route(&mut self, request: &Request) -> Reply {
        let path = path_of(&request.path);
        let method = request.method.as_str();
        match path {
            "/healthz" => match method {
                "GET" | "HEAD" => Reply::Whole(text(200, b"ok")),
                _ => method_not_allowed(b"GET, HEAD"),
            },
            "/v1/attestation" => match method {
                "GET" => typed(200, "application/json", self.document.clone()),
                _ => method_not_allowed(b"GET"),
            },
            "/.well-known/ohttp-gateway" => match method {
                "GET" => typed(200, KEYS_MEDIA_TYPE, self.gateway.ohttp_keys().to_vec()),
                _ => method_not_allowed(b"GET"),
            },
            "/" | "/gateway" => match method {
                "POST" => self.gateway_request(request),
                _ => method_not_allowed(b"POST"),
            },
            _ => Reply::Whole(text(404, b"not found\n")),
        }
    }

    fn tick(&mut self, rejected: u64) {
        // Refused: by the gateway, and by http1 before any route saw them.
        self.counters.tick(self.served, self.refused + rejected);
    }
}

impl ServingRoutes<'_> {
    fn gateway_request(&mut self, request: &Request) -> Reply {
        if media_type(request).as_deref() != Some(REQUEST_MEDIA_TYPE.as_bytes()) {
            self.refused += 1;
            return Reply::Whole(text(415, b"expected Content-Type: message/ohttp-req\n"));
        }
        let (plain, context) = match self.gateway.decapsulate(&request.body) {
            Ok(pair) => pair,
            Err(e) => {
                self.refused += 1;
                return if e.is_key_config_problem() {
                    typed(400, "application/problem+json", KEY_PROBLEM.to_vec())
                } else {
                    Reply::Whole(text(400, b"request does not decapsulate\n"))
                };
            }
        };
        let inner = inference::answer(&mut self.embedder, &plain);
        drop(plain);
        let nonce = zeroize::Zeroizing::new(self.rng.bytes::<16>());
        let sealed = match context.encapsulate(&inner, &nonce) {
            Ok(s) => s,
            Err(_) => {
                self.refused += 1;
                return Reply::Whole(text(500, b"internal error\n"));
            }
        };
        drop(inner);
        self.served += 1;
        typed(200, RESPONSE_MEDIA_TYPE, sealed)
    }
}
