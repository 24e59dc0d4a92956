//! The KBS endpoints. Every refusal (including unknown paths and methods,
//! bad bodies, missing resources and missing, expired, forged or foreign
//! bearer tokens) is one log line with a reason code and the same 401
//! answer, so a client learns nothing about why and resource paths cannot
//! be probed.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, RETRY_AFTER, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kbs_protocol::{
    Attestation, Challenge, Request, ResourcePath, Tee, PROTOCOL_VERSION, SESSION_COOKIE,
};
use rand_core::OsRng;

use crate::log;
use crate::reason::{Reason, Refused};
use crate::resources::ReadError;
use crate::server::{Broker, Shared};
use crate::session::Attested;
use jwe::EcPublicKey;
use std::net::SocketAddr;
use std::time::{Instant, SystemTime};

pub(crate) const AUTH: &str = "/kbs/v0/auth";
pub(crate) const ATTEST: &str = "/kbs/v0/attest";
const RESOURCE: &str = "/kbs/v0/resource";

/// Logs the refusal and answers 401 with a body that carries no detail.
fn refuse(endpoint: &str, r: Refused) -> Response {
    log::refusal(endpoint, r.session, r.reason, &r.detail);
    let info = kbs_protocol::error_information("Unauthorized", "unauthorized");
    let body = serde_json::to_string(&info).unwrap_or_default();
    (
        StatusCode::UNAUTHORIZED,
        [(CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

fn json_ok(body: String) -> Response {
    (StatusCode::OK, [(CONTENT_TYPE, "application/json")], body).into_response()
}

/// The `kbs-session-id` value from the request's Cookie headers.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim().to_string())
}

/// The token of an `Authorization: Bearer <token>` header, if there is one
/// such header (the scheme in any case, as RFC 9110 says).
fn bearer_token(headers: &HeaderMap) -> Option<Result<&str, Refused>> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return Some(Err(Refused::new(
            Reason::Token,
            "several Authorization headers",
        )));
    }
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty() && !t.contains([' ', '\t']));
    Some(token.ok_or_else(|| Refused::new(Reason::Token, "Authorization is not Bearer <token>")))
}

/// Who may read a resource, as Trustee decides it: an attested session
/// cookie first, else a bearer token this broker issued at `/attest`.
/// Returns the session's log number (cookie path), the TEE key and the
/// attested measurement.
fn authorize(
    broker: &Broker,
    headers: &HeaderMap,
) -> Result<(Option<u64>, EcPublicKey, [u8; 48]), Refused> {
    let id = session_cookie(headers);
    let by_cookie = broker.sessions.attested_key(id.as_deref());
    match (by_cookie, bearer_token(headers)) {
        (Ok((number, key, measurement)), _) => Ok((Some(number), key, measurement)),
        (Err(refused), None) => Err(refused),
        (Err(_), Some(Err(refused))) => Err(refused),
        (Err(_), Some(Ok(token))) => broker
            .signer
            .verify(token, SystemTime::now())
            .map(|g| (None, g.tee_key, g.measurement)),
    }
}

fn body_or_refuse(body: Result<Bytes, BytesRejection>) -> Result<Bytes, Refused> {
    body.map_err(|e| Refused::new(Reason::BadRequest, format!("body: {e}")))
}

/// The session's TEE, if the request is acceptable.
fn check_request(broker: &Broker, body: Result<Bytes, BytesRejection>) -> Result<Tee, Refused> {
    let body = body_or_refuse(body)?;
    let request: Request = serde_json::from_slice(&body)
        .map_err(|e| Refused::new(Reason::BadRequest, format!("request: {e}")))?;
    if request.version != PROTOCOL_VERSION {
        return Err(Refused::new(
            Reason::Version,
            format!(
                "protocol version {} is not {PROTOCOL_VERSION}",
                log::quoted(&request.version)
            ),
        ));
    }
    match request.tee {
        Tee::Snp => Ok(Tee::Snp),
        Tee::Sample if broker.verifier.allow_sample => Ok(Tee::Sample),
        Tee::Sample => Err(Refused::new(
            Reason::SampleRefused,
            "sample evidence needs --insecure-allow-sample",
        )),
        other => Err(Refused::new(
            Reason::Tee,
            format!("tee {other} is not supported"),
        )),
    }
}

pub(crate) async fn auth(
    State(broker): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    // Checked first: a flooding address costs one map lookup per request.
    let now = Instant::now();
    if !broker.auth_rate.allow(peer.ip(), now) {
        return too_many(&broker, peer, now);
    }
    let result = check_request(&broker, body)
        .and_then(|tee| broker.sessions.create(tee, peer.ip()).map(|s| (tee, s)));
    let (tee, session) = match result {
        Ok(ok) => ok,
        Err(r) => return refuse(AUTH, r),
    };
    log::info(format_args!("auth session={} tee={tee}", session.number));
    let challenge = Challenge {
        nonce: session.nonce,
        extra_params: serde_json::Value::String(String::new()),
    };
    let body = serde_json::to_string(&challenge).unwrap_or_default();
    let cookie = format!(
        "{SESSION_COOKIE}={}; Max-Age={}; Path=/kbs/v0; HttpOnly; SameSite=Strict",
        session.id,
        broker.sessions.ttls().session.as_secs()
    );
    let mut response = json_ok(body);
    match HeaderValue::from_str(&cookie) {
        Ok(v) => {
            response.headers_mut().insert(SET_COOKIE, v);
            response
        }
        Err(_) => refuse(AUTH, Refused::new(Reason::Internal, "cookie header")),
    }
}

/// 429 for an address over its `/auth` rate: not a verdict on anything, so
/// a guest retries it as it retries an unreachable broker.
fn too_many(broker: &Broker, peer: SocketAddr, now: Instant) -> Response {
    if let Some(n) = broker.auth_rate.note_refusal(now) {
        let detail = format!(
            "{} over {}/s ({n} such refusals since the last line)",
            peer.ip(),
            broker.auth_rate.per_sec()
        );
        log::refusal(AUTH, None, Reason::AuthRate, &detail);
    }
    let info = kbs_protocol::error_information("TooManyRequests", "too many requests");
    let body = serde_json::to_string(&info).unwrap_or_default();
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(CONTENT_TYPE, "application/json"), (RETRY_AFTER, "1")],
        body,
    )
        .into_response()
}

pub(crate) async fn attest(
    State(broker): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let id = session_cookie(&headers);
    // The nonce is used up before anything else is looked at: a failed or
    // malformed attempt cannot be retried with the same nonce.
    let challenge = match broker.sessions.take_nonce(id.as_deref()) {
        Ok(c) => c,
        Err(r) => return refuse(ATTEST, r),
    };
    let number = challenge.number;
    let attestation: Attestation = match body_or_refuse(body).and_then(|b| {
        serde_json::from_slice(&b)
            .map_err(|e| Refused::new(Reason::BadRequest, format!("attestation: {e}")))
    }) {
        Ok(a) => a,
        Err(r) => return refuse(ATTEST, r.in_session(number)),
    };
    // Certificate and signature checks are CPU work: keep them off the
    // I/O thread.
    let worker = Arc::clone(&broker);
    let for_worker = challenge.clone();
    let verdict =
        tokio::task::spawn_blocking(move || worker.verifier.attest(&for_worker, &attestation))
            .await;
    let verdict = match verdict {
        Ok(Ok(v)) => v,
        Ok(Err(r)) => return refuse(ATTEST, r.in_session(number)),
        Err(e) => {
            return refuse(
                ATTEST,
                Refused::new(Reason::Internal, format!("verifier task: {e}")).in_session(number),
            )
        }
    };
    let token = broker.signer.issue(&verdict, challenge.expires);
    let attested = Attested {
        tee_key: verdict.tee_key,
        measurement: verdict.measurement,
        token: token.clone(),
    };
    // take_nonce succeeded, so there is a cookie.
    let Some(id) = id.as_deref() else {
        return refuse(ATTEST, Refused::new(Reason::NoSession, "no session cookie"));
    };
    if let Err(r) = broker.sessions.set_attested(id, number, attested) {
        return refuse(ATTEST, r);
    }
    let measurement = hex::encode(verdict.measurement);
    if verdict.tee == Tee::Sample {
        log::warn(format_args!(
            "attested session={number} tee=sample measurement={measurement}: ACCEPTED UNSIGNED SAMPLE EVIDENCE (--insecure-allow-sample)"
        ));
    } else {
        log::info(format_args!(
            "attested session={number} tee={} measurement={measurement}",
            verdict.tee
        ));
    }
    let body = serde_json::to_string(&kbs_protocol::AttestationToken { token }).unwrap_or_default();
    json_ok(body)
}

pub(crate) async fn resource(
    State(broker): State<Shared>,
    headers: HeaderMap,
    path: Result<Path<(String, String, String)>, PathRejection>,
) -> Response {
    // The session or token is checked before the path, so nobody
    // unattested can learn which paths exist.
    let (number, key, measurement) = match authorize(&broker, &headers) {
        Ok(ok) => ok,
        Err(r) => return refuse(RESOURCE, r),
    };
    let refused = |reason, detail: String| {
        let r = Refused::new(reason, detail);
        refuse(RESOURCE, number.map_or(r.clone(), |n| r.in_session(n)))
    };
    let parsed = path
        .map_err(|e| e.body_text())
        .and_then(|Path((repo, kind, tag))| {
            let text = format!("{repo}/{kind}/{tag}");
            ResourcePath::parse(&text).map_err(|e| format!("{}: {e}", log::quoted(&text)))
        });
    let parsed = match parsed {
        Ok(p) => p,
        Err(detail) => return refused(Reason::NoResource, detail),
    };
    // The binding before the bytes: a resource bound to other measurements
    // is refused with the same 401 as a missing one.
    match broker.store.allowed(&parsed) {
        Ok(None) => {}
        Ok(Some(list)) if list.contains(&measurement) => {}
        Ok(Some(_)) => {
            return refused(
                Reason::ResourceMeasurement,
                format!(
                    "{parsed}: not bound to measurement {}",
                    hex::encode(measurement)
                ),
            )
        }
        Err(e) => return refused(Reason::Internal, format!("{parsed}: {e}")),
    }
    let bytes = match broker.store.read(&parsed) {
        Ok(b) => b,
        Err(ReadError::Missing) => {
            return refused(Reason::NoResource, format!("{parsed}: no such resource"))
        }
        Err(e) => return refused(Reason::Internal, format!("{parsed}: {e}")),
    };
    let jwe = match jwe::encrypt(&key, &bytes, &mut OsRng) {
        Ok(j) => j,
        Err(e) => return refused(Reason::Internal, format!("{parsed}: encrypt: {e}")),
    };
    match number {
        Some(n) => log::info(format_args!("released resource={parsed} session={n}")),
        None => log::info(format_args!(
            "released resource={parsed} session=- via=bearer-token"
        )),
    }
    json_ok(jwe.to_json())
}

pub(crate) async fn no_route() -> Response {
    refuse(
        "-",
        Refused::new(Reason::NoRoute, "no such endpoint or method"),
    )
}
