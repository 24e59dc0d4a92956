//! The proxy's plain-HTTP API, as OpenAI SDKs expect it:
//! `POST /v1/embeddings` (forwarded encrypted; only the body goes, never the
//! SDK's headers such as its API key) and `GET /v1/models[/{id}]`.

use std::borrow::Cow;

use http1::{Request, Response};
use serving_api::embeddings::ApiError;
use serving_api::{EMBEDDINGS_PATH, MODEL_ID};

use super::upstream::Failure;
use super::Relay;
use crate::error::ClientError;
use crate::serve::typed;

fn json(status: u16, body: Vec<u8>) -> Response {
    typed(status, "application/json", body)
}

fn api_error(e: &ApiError) -> Response {
    json(e.status, e.to_json())
}

/// 502 in OpenAI's error shape.
fn bad_gateway(message: String, code: &'static str) -> Response {
    api_error(&ApiError {
        status: 502,
        message: Cow::Owned(message),
        kind: "server_error",
        param: None,
        code: Some(code),
    })
}

fn model() -> serde_json::Value {
    serde_json::json!({"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "appliance"})
}

fn embeddings(upstream: &impl Relay, body: &[u8]) -> (Response, Option<String>) {
    let forwarded = upstream.relay(body);
    (respond(forwarded.result), forwarded.via)
}

fn respond(result: Result<crate::exchange::InnerResponse, Failure>) -> Response {
    match result {
        Ok(inner) => {
            // Only statuses and media types http1 can send unchanged.
            if !(200..=599).contains(&inner.status) || matches!(inner.status, 204 | 304) {
                return bad_gateway(
                    format!("the appliance answered status {}", inner.status),
                    "bad_upstream_response",
                );
            }
            let content_type = inner
                .content_type
                .filter(|t| !t.is_empty() && t.bytes().all(|b| (0x20..0x7f).contains(&b)))
                .unwrap_or_else(|| "application/json".into());
            typed(inner.status, content_type.trim(), inner.body)
        }
        Err(Failure::Refused(r)) => bad_gateway(
            format!("The appliance failed verification ({r}); this proxy forwards nothing until it is restarted."),
            "appliance_not_verified",
        ),
        Err(Failure::Unreachable(d)) => bad_gateway(
            format!("The appliance could not be re-verified: {d}"),
            "appliance_unreachable",
        ),
        // 503, so SDKs retry: the appliance said it is full, not broken.
        Err(Failure::Client(e @ ClientError::Busy(_))) => api_error(&ApiError {
            status: 503,
            message: Cow::Owned(format!("Encrypted request not taken: {e}.")),
            kind: "server_error",
            param: None,
            code: Some("appliance_busy"),
        }),
        Err(Failure::Client(e)) => bad_gateway(format!("Encrypted request failed: {e}"), "appliance_error"),
        // 503, so SDKs retry later: a node may come back at the next refresh.
        Err(Failure::Unavailable(d)) => api_error(&ApiError {
            status: 503,
            message: Cow::Owned(format!("No appliance to send to: {d}.")),
            kind: "server_error",
            param: None,
            code: Some("no_verified_node"),
        }),
    }
}

/// 403 for a request whose `Host` is not loopback (a browser page that
/// rebound its name to 127.0.0.1); nothing is forwarded.
pub fn host_refused() -> Response {
    api_error(&ApiError {
        status: 403,
        message: Cow::Borrowed(
            "This proxy answers only requests addressed to localhost or a loopback address.",
        ),
        kind: "invalid_request_error",
        param: None,
        code: Some("host_not_allowed"),
    })
}

/// Answers one request; with the fleet node that answered, if any.
pub fn handle(upstream: &impl Relay, request: &Request) -> (Response, Option<String>) {
    let path = request.path.split('?').next().unwrap_or("");
    if (request.method.as_str(), path) == ("POST", EMBEDDINGS_PATH) {
        return embeddings(upstream, &request.body);
    }
    (local(request.method.as_str(), path), None)
}

/// The routes answered without the appliance.
fn local(method: &str, path: &str) -> Response {
    let model_path = format!("/v1/models/{MODEL_ID}");
    match (method, path) {
        ("GET", "/v1/models") => {
            let list = serde_json::json!({"object": "list", "data": [model()]});
            json(200, list.to_string().into_bytes())
        }
        ("GET", p) if p == model_path => json(200, model().to_string().into_bytes()),
        (_, EMBEDDINGS_PATH) => api_error(&ApiError::method_not_allowed()),
        _ => api_error(&ApiError::not_found()),
    }
}
