//! One encrypted request: a BHTTP (RFC 9292, known-length) `POST
//! /v1/embeddings`, encapsulated with OHTTP (RFC 9458) to the verified key,
//! sent as `message/ohttp-req` to `POST /`; the `message/ohttp-res` answer is
//! decapsulated and its BHTTP response returned.

use std::io::Cursor;

use serde::Deserialize;
use serving_api::embeddings::{
    decode_base64_embedding, EmbeddingValue, EmbeddingsResponse, Encoding,
};
use serving_api::{EMBEDDINGS_PATH, MODEL_ID};

use crate::error::{ApiFailure, ClientError};
use crate::http::{excerpt, has_media_type, Limits};
use crate::verify::VerifiedAppliance;

/// The inner (decapsulated) response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InnerResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

const GATEWAY_PATH: &str = "/";
const KEY_PROBLEM: &str = "https://iana.org/assignments/http-problem-types#ohttp-key";
/// 128 inputs of 384 floats as JSON text, with room to spare.
const MAX_RESPONSE_BYTES: usize = 32 << 20;

fn protocol(what: &str) -> impl Fn(String) -> ClientError + '_ {
    move |e| ClientError::Protocol(format!("{what}: {e}"))
}

fn bhttp_request(json: &[u8]) -> Result<Vec<u8>, ClientError> {
    let mut m = bhttp::Message::request(
        b"POST".to_vec(),
        b"https".to_vec(),
        b"appliance".to_vec(),
        EMBEDDINGS_PATH.as_bytes().to_vec(),
    );
    m.put_header("content-type", "application/json");
    m.write_content(json);
    let mut out = Vec::new();
    m.write_bhttp(bhttp::Mode::KnownLength, &mut out)
        .map_err(|e| protocol("bhttp encode")(e.to_string()))?;
    Ok(out)
}

fn bhttp_response(plain: &[u8]) -> Result<InnerResponse, ClientError> {
    let m = bhttp::Message::read_bhttp(&mut Cursor::new(plain))
        .map_err(|e| protocol("bhttp response")(e.to_string()))?;
    let status = m
        .control()
        .status()
        .ok_or_else(|| protocol("bhttp response")("a request, not a response".into()))?;
    let content_type = m
        .header()
        .get(b"content-type")
        .map(|v| String::from_utf8_lossy(v).into_owned());
    Ok(InnerResponse {
        status: status.code(),
        content_type,
        body: m.content().to_vec(),
    })
}

/// Whether a 400 from the gateway is RFC 9458's "unknown key" problem.
fn is_key_problem(response: &http1::ReceivedResponse) -> bool {
    #[derive(Deserialize)]
    struct Problem {
        #[serde(rename = "type")]
        kind: String,
    }
    response.status == 400
        && has_media_type(response, "application/problem+json")
        && serde_json::from_slice::<Problem>(&response.body).is_ok_and(|p| p.kind == KEY_PROBLEM)
}

/// The OpenAI error in an inner non-200 response (or a stand-in).
fn api_failure(inner: &InnerResponse) -> ApiFailure {
    #[derive(Deserialize)]
    struct Body {
        error: Inner,
    }
    #[derive(Deserialize)]
    struct Inner {
        message: String,
        #[serde(rename = "type", default)]
        kind: Option<String>,
        #[serde(default)]
        code: Option<String>,
    }
    match serde_json::from_slice::<Body>(&inner.body) {
        Ok(b) => ApiFailure {
            status: inner.status,
            message: b.error.message,
            kind: b.error.kind,
            code: b.error.code,
        },
        Err(_) => ApiFailure {
            status: inner.status,
            message: format!("status {} without an OpenAI error body", inner.status),
            kind: None,
            code: None,
        },
    }
}

impl VerifiedAppliance {
    /// Sends `json` (an OpenAI embeddings request body) encrypted to the
    /// verified key; returns the appliance's inner response as is.
    pub fn forward(&self, json: &[u8]) -> Result<InnerResponse, ClientError> {
        let request = bhttp_request(json)?;
        let client = ohttp::ClientRequest::from_encoded_config(&self.key.encode_required_suite())
            .map_err(|e| protocol("key configuration")(e.to_string()))?;
        let (encapsulated, pending) = client
            .encapsulate(&request)
            .map_err(|e| protocol("encapsulate")(e.to_string()))?;
        let limits = Limits {
            timeout: self.request_timeout,
            max_body_bytes: MAX_RESPONSE_BYTES,
        };
        let response = self
            .endpoint
            .post(GATEWAY_PATH, "message/ohttp-req", &encapsulated, limits)
            .map_err(ClientError::Connection)?;
        if is_key_problem(&response) {
            return Err(ClientError::KeyRejected);
        }
        if response.status == 503 && response.header("retry-after").is_some() {
            return Err(ClientError::Busy(excerpt(&response.body)));
        }
        if response.status != 200 || !has_media_type(&response, "message/ohttp-res") {
            return Err(ClientError::Gateway {
                status: response.status,
                detail: excerpt(&response.body),
            });
        }
        let plain = pending
            .decapsulate(&response.body)
            .map_err(|e| protocol("decapsulate")(e.to_string()))?;
        bhttp_response(&plain)
    }

    /// Embeds `texts` in one request; an OpenAI error becomes
    /// [`ClientError::Api`].
    pub fn embed<S: AsRef<str>>(
        &self,
        texts: &[S],
        encoding: Encoding,
    ) -> Result<EmbeddingsResponse, ClientError> {
        let input: Vec<&str> = texts.iter().map(AsRef::as_ref).collect();
        let body = serde_json::json!({
            "input": input,
            "model": MODEL_ID,
            "encoding_format": match encoding {
                Encoding::Float => "float",
                Encoding::Base64 => "base64",
            },
        });
        let inner = self.forward(body.to_string().as_bytes())?;
        if inner.status != 200 {
            return Err(ClientError::Api(api_failure(&inner)));
        }
        let response: EmbeddingsResponse = serde_json::from_slice(&inner.body)
            .map_err(|e| protocol("embeddings response")(e.to_string()))?;
        if response.data.len() != texts.len() {
            return Err(ClientError::Protocol(format!(
                "{} embeddings for {} inputs",
                response.data.len(),
                texts.len()
            )));
        }
        Ok(response)
    }
}

/// The vectors of `response` in input order, decoding base64 ones.
pub fn vectors(response: &EmbeddingsResponse) -> Result<Vec<Vec<f32>>, ClientError> {
    let mut out: Vec<Option<Vec<f32>>> = vec![None; response.data.len()];
    for item in &response.data {
        let values = match &item.embedding {
            EmbeddingValue::Float(v) => v.clone(),
            EmbeddingValue::Base64(text) => decode_base64_embedding(text)
                .ok_or_else(|| ClientError::Protocol("an embedding is not base64 f32s".into()))?,
        };
        let slot = out
            .get_mut(item.index)
            .filter(|s| s.is_none())
            .ok_or_else(|| ClientError::Protocol(format!("bad embedding index {}", item.index)))?;
        *slot = Some(values);
    }
    // Every slot is filled: indices were in range and distinct.
    Ok(out.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bhttp_round_trip_shape() {
        let wire = bhttp_request(br#"{"input":"x"}"#).expect("encodes");
        let m = bhttp::Message::read_bhttp(&mut Cursor::new(wire.as_slice())).expect("parses");
        assert_eq!(m.control().method(), Some(&b"POST"[..]));
        assert_eq!(m.control().scheme(), Some(&b"https"[..]));
        assert_eq!(m.control().authority(), Some(&b"appliance"[..]));
        assert_eq!(m.control().path(), Some(EMBEDDINGS_PATH.as_bytes()));
        assert_eq!(
            m.header().get(b"content-type"),
            Some(&b"application/json"[..])
        );
        assert_eq!(m.content(), br#"{"input":"x"}"#);
        assert!(
            bhttp_response(&wire).is_err(),
            "a request is not a response"
        );
    }

    #[test]
    fn api_errors_and_vectors() {
        let inner = InnerResponse {
            status: 404,
            content_type: None,
            body: br#"{"error":{"message":"no such model","type":"invalid_request_error","param":"model","code":"model_not_found"}}"#.to_vec(),
        };
        let f = api_failure(&inner);
        assert_eq!((f.status, f.message.as_str()), (404, "no such model"));
        assert_eq!(f.code.as_deref(), Some("model_not_found"));
        let json = serving_api::embeddings::encode_response(
            &[vec![1.0, 2.0], vec![3.0, 4.0]],
            Encoding::Base64,
            3,
        );
        let mut r: EmbeddingsResponse = serde_json::from_slice(&json).expect("json");
        r.data.reverse();
        assert_eq!(
            vectors(&r).expect("decodes"),
            vec![vec![1.0, 2.0], vec![3.0, 4.0]]
        );
        r.data[0].index = 0;
        assert!(vectors(&r).is_err(), "duplicate index");
    }
}
