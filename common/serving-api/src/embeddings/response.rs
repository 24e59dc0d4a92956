//! The embeddings response body, OpenAI's shape:
//! `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[...]}],
//!   "model":"all-MiniLM-L6-v2","usage":{"prompt_tokens":N,"total_tokens":N}}`;
//! with `encoding_format: "base64"` each `embedding` is the base64 of its
//! little-endian f32 values. The same types parse it on the client side.

use alloc::string::String;
use alloc::vec::Vec;
use base64::Engine;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::Encoding;
use crate::MODEL_ID;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingsResponse {
    pub object: String,
    pub data: Vec<EmbeddingItem>,
    pub model: String,
    pub usage: Usage,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingItem {
    pub object: String,
    pub index: usize,
    pub embedding: EmbeddingValue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingValue {
    Float(Vec<f32>),
    Base64(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: usize,
    pub total_tokens: usize,
}

fn base64_of(values: &[f32]) -> String {
    let mut bytes = Zeroizing::new(Vec::with_capacity(values.len() * 4));
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(bytes.as_slice())
}

/// The response body for `embeddings` (in input order) and the number of
/// tokens they took. The JSON is returned in a wiping buffer; the
/// intermediate values are wiped too.
pub fn encode_response(
    embeddings: &[Vec<f32>],
    encoding: Encoding,
    prompt_tokens: usize,
) -> Zeroizing<Vec<u8>> {
    let mut response = EmbeddingsResponse {
        object: String::from("list"),
        data: embeddings
            .iter()
            .enumerate()
            .map(|(index, values)| EmbeddingItem {
                object: String::from("embedding"),
                index,
                embedding: match encoding {
                    Encoding::Float => EmbeddingValue::Float(values.clone()),
                    Encoding::Base64 => EmbeddingValue::Base64(base64_of(values)),
                },
            })
            .collect(),
        model: String::from(MODEL_ID),
        usage: Usage {
            prompt_tokens,
            total_tokens: prompt_tokens,
        },
    };
    // Finite f32 values always serialise; NaN would become null, which the
    // engine never produces for unit-norm outputs.
    let json = Zeroizing::new(serde_json::to_vec(&response).unwrap_or_default());
    for item in &mut response.data {
        match &mut item.embedding {
            EmbeddingValue::Float(v) => zeroize::Zeroize::zeroize(v),
            EmbeddingValue::Base64(s) => zeroize::Zeroize::zeroize(s),
        }
    }
    json
}

/// Decodes a base64 embedding (little-endian f32s); feature `client`.
#[cfg(feature = "client")]
pub fn decode_base64_embedding(text: &str) -> Option<Vec<f32>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()?;
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn float_and_base64_forms_round_trip() {
        let e = vec![vec![0.25f32, -0.5, 1.0e-7], vec![0.0f32, 1.0, -1.0]];
        let json = encode_response(&e, Encoding::Float, 7);
        let parsed: EmbeddingsResponse = serde_json::from_slice(&json).expect("json");
        assert_eq!(parsed.object, "list");
        assert_eq!(parsed.model, MODEL_ID);
        assert_eq!(parsed.usage.prompt_tokens, 7);
        assert_eq!(parsed.data.len(), 2);
        assert_eq!(parsed.data[1].index, 1);
        assert_eq!(
            parsed.data[0].embedding,
            EmbeddingValue::Float(e[0].clone())
        );

        let json = encode_response(&e, Encoding::Base64, 7);
        let parsed: EmbeddingsResponse = serde_json::from_slice(&json).expect("json");
        let EmbeddingValue::Base64(text) = &parsed.data[0].embedding else {
            panic!("base64 form")
        };
        assert_eq!(decode_base64_embedding(text), Some(e[0].clone()));
        assert_eq!(decode_base64_embedding("AAA="), None);
    }
}
