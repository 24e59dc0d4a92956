//! An in-process fake appliance on 127.0.0.1: the guest's three routes,
//! with the `ohttp` crate's server side as gateway and serving-api's real
//! request parser, so the client meets the same errors the guest gives.

use std::io::Cursor;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use appliance_client::serve::typed;
use http1::{Request, Response};
use ohttp::hpke::{Aead, Kdf, Kem};
use ohttp::{KeyConfig, Server, SymmetricSuite};
use serving_api::document::{b64_encode, AttestationDocument, BootEvent, Evidence};
use serving_api::embeddings::{encode_response, parse_request, Limits};

const KEY_PROBLEM: &[u8] =
    br#"{"type":"https://iana.org/assignments/http-problem-types#ohttp-key","title":"unknown key"}"#;

pub struct State {
    pub server: Server,
    /// The `application/ohttp-keys` body of `server`'s key.
    pub keys: Vec<u8>,
    /// Served at /.well-known/ohttp-gateway instead of `keys` when set.
    pub keys_override: Option<Vec<u8>>,
    /// Served at /v1/attestation.
    pub document: Vec<u8>,
    pub measurement: String,
    pub boot_log: Vec<BootEvent>,
    /// "METHOD PATH" of every request, in order.
    pub seen: Vec<String>,
    /// Scheme, authority, path and content-type of the last inner request.
    pub last_inner: Option<[String; 4]>,
    /// Answer every gateway request with a plain 400 (outside the encapsulation).
    pub gateway_400: bool,
    /// Answer every gateway request as the guest does when full: 503 with
    /// `Retry-After`.
    pub gateway_busy: bool,
    /// Stopped: every connection is closed without an answer.
    pub down: bool,
    /// How long each gateway request takes (outside the lock).
    pub delay: std::time::Duration,
}

pub fn key(key_id: u8) -> (Server, Vec<u8>) {
    let suite = SymmetricSuite::new(Kdf::HkdfSha256, Aead::Aes128Gcm);
    let config = KeyConfig::new(key_id, Kem::X25519Sha256, vec![suite]).expect("key");
    let keys = KeyConfig::encode_list(&[&config]).expect("encode");
    (Server::new(config).expect("server"), keys)
}

/// The runtime configuration digest the fake's boot log names.
pub const RUNTIME_CONFIG: &str = "1111111111111111111111111111111111111111111111111111111111111111";

pub fn boot_log() -> Vec<BootEvent> {
    vec![
        BootEvent {
            event: "runtime-config".into(),
            algorithm: "sha256".into(),
            digest: RUNTIME_CONFIG.into(),
        },
        BootEvent {
            event: "model".into(),
            algorithm: "sha384".into(),
            digest: "22".repeat(48),
        },
    ]
}

/// Sample evidence bound to `keys` and `boot_log`, as the guest makes it.
pub fn sample_document(keys: &[u8], boot_log: &[BootEvent], measurement: &str) -> Vec<u8> {
    let rd = serving_api::binding::report_data(keys, boot_log).expect("hex digests");
    AttestationDocument {
        version: 1,
        evidence: Evidence::Sample {
            svn: "1".into(),
            report_data: b64_encode(&rd),
            measurement: measurement.into(),
        },
        ohttp_keys: b64_encode(keys),
        boot_log: boot_log.to_vec(),
    }
    .to_json()
}

/// What the fake appliance computes for `text` (deterministic).
pub fn embedding(text: &str) -> Vec<f32> {
    let seed = text
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b.into()));
    (0..serving_api::MODEL_DIM)
        .map(|i| {
            ((seed.wrapping_add((i as u32).wrapping_mul(2_654_435_761)) >> 8) % 2001) as f32
                / 1000.0
                - 1.0
        })
        .collect()
}

pub struct Fake {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl Fake {
    /// Key id 1 and sample evidence for `measurement`, correctly bound.
    pub fn start(measurement: &str) -> Self {
        let (server, keys) = key(1);
        let boot_log = boot_log();
        let state = State {
            document: sample_document(&keys, &boot_log, measurement),
            server,
            keys,
            keys_override: None,
            measurement: measurement.into(),
            boot_log,
            seen: Vec::new(),
            last_inner: None,
            gateway_400: false,
            gateway_busy: false,
            down: false,
            delay: std::time::Duration::ZERO,
        };
        let state = Arc::new(Mutex::new(state));
        let addr = super::serve_loopback(Arc::clone(&state), |s| s.down, handle);
        Self { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("state")
    }

    /// A reboot: a new key (id `key_id`) and evidence bound to it.
    pub fn rotate(&self, key_id: u8) {
        let (server, keys) = key(key_id);
        let mut s = self.state();
        s.document = sample_document(&keys, &s.boot_log, &s.measurement.clone());
        s.server = server;
        s.keys = keys;
    }

    pub fn seen(&self) -> Vec<String> {
        self.state().seen.clone()
    }

    /// How many encrypted requests reached it.
    pub fn posts(&self) -> usize {
        self.state()
            .seen
            .iter()
            .filter(|s| s.starts_with("POST"))
            .count()
    }

    /// Stops answering (true) or starts again (false).
    pub fn set_down(&self, down: bool) {
        self.state().down = down;
    }
}

fn text(status: u16, body: &str) -> Response {
    typed(status, "text/plain", body.as_bytes().to_vec())
}

fn handle(state: &Mutex<State>, r: &Request) -> Response {
    if r.method == "POST" {
        let delay = state.lock().expect("state").delay;
        std::thread::sleep(delay);
    }
    let mut s = state.lock().expect("state");
    s.seen.push(format!("{} {}", r.method, r.path));
    match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/v1/attestation") => typed(200, "application/json", s.document.clone()),
        ("GET", "/.well-known/ohttp-gateway") => {
            let keys = s.keys_override.clone().unwrap_or_else(|| s.keys.clone());
            typed(200, "application/ohttp-keys", keys)
        }
        ("POST", "/") if r.header("content-type") == Some(b"message/ohttp-req") => {
            gateway(&mut s, &r.body)
        }
        _ => text(404, "not found\n"),
    }
}

fn gateway(s: &mut State, body: &[u8]) -> Response {
    if s.gateway_400 {
        return text(400, "bad request\n");
    }
    if s.gateway_busy {
        return text(503, "server busy; retry later\n").with_header("Retry-After", b"1");
    }
    let (plain, pending) = match s.server.decapsulate(body) {
        Ok(d) => d,
        Err(ohttp::Error::KeyId | ohttp::Error::InvalidKem | ohttp::Error::Unsupported) => {
            return typed(400, "application/problem+json", KEY_PROBLEM.to_vec())
        }
        Err(_) => return text(400, "could not decapsulate the request\n"),
    };
    let Ok(request) = bhttp::Message::read_bhttp(&mut Cursor::new(plain.as_slice())) else {
        return text(400, "not binary HTTP\n");
    };
    let field = |v: Option<&[u8]>| String::from_utf8_lossy(v.unwrap_or_default()).into_owned();
    let control = request.control();
    s.last_inner = Some([
        field(control.scheme()),
        field(control.authority()),
        field(control.path()),
        field(request.header().get(b"content-type")),
    ]);
    let (status, json) = match parse_request(request.content(), &Limits::default()) {
        Ok(req) => {
            let vectors: Vec<Vec<f32>> = req.inputs.iter().map(|t| embedding(t)).collect();
            (
                200,
                encode_response(&vectors, req.encoding, req.inputs.len() * 3).to_vec(),
            )
        }
        Err(e) => (e.status, e.to_json()),
    };
    let mut response =
        bhttp::Message::response(bhttp::StatusCode::try_from(status).expect("status"));
    response.put_header("content-type", "application/json");
    response.write_content(&json);
    let mut wire = Vec::new();
    response
        .write_bhttp(bhttp::Mode::KnownLength, &mut wire)
        .expect("bhttp");
    let sealed = pending.encapsulate(&wire).expect("encapsulate");
    typed(200, "message/ohttp-res", sealed)
}
