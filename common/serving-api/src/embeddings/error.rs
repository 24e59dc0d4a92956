//! OpenAI-shaped error bodies:
//! `{"error": {"message": ..., "type": ..., "param": ..., "code": ...}}`.
//! Messages are fixed text (plus, for an unknown model, the model name the
//! client sent); they never quote the input.

use alloc::borrow::Cow;
use alloc::vec::Vec;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {kind}: {message}")]
pub struct ApiError {
    pub status: u16,
    pub message: Cow<'static, str>,
    pub kind: &'static str,
    pub param: Option<&'static str>,
    pub code: Option<&'static str>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<&'a str>,
    code: Option<&'a str>,
}

impl ApiError {
    /// 400 `invalid_request_error` about `param`.
    pub fn invalid(param: Option<&'static str>, message: &'static str) -> Self {
        Self {
            status: 400,
            message: Cow::Borrowed(message),
            kind: "invalid_request_error",
            param,
            code: None,
        }
    }

    pub fn not_found() -> Self {
        Self {
            status: 404,
            message: Cow::Borrowed(
                "Unknown request URL. This appliance serves POST /v1/embeddings.",
            ),
            kind: "invalid_request_error",
            param: None,
            code: Some("unknown_url"),
        }
    }

    pub fn method_not_allowed() -> Self {
        Self {
            status: 405,
            message: Cow::Borrowed("Method not allowed: use POST."),
            kind: "invalid_request_error",
            param: None,
            code: Some("method_not_allowed"),
        }
    }

    /// The engine failed on valid input: a bug, reported without detail.
    pub fn internal() -> Self {
        Self {
            status: 500,
            message: Cow::Borrowed("The appliance could not compute the embeddings."),
            kind: "server_error",
            param: None,
            code: None,
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        let body = Body {
            error: Inner {
                message: &self.message,
                kind: self.kind,
                param: self.param,
                code: self.code,
            },
        };
        // Serialising plain strings cannot fail.
        serde_json::to_vec(&body).unwrap_or_default()
    }
}
