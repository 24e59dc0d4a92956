//! `POST /v1/embeddings` request bodies, parsed strictly: OpenAI's fields
//! (`input`, `model`, `encoding_format`, `dimensions`, `user`) and nothing
//! else; `input` a string or an array of strings. Texts land in
//! `Zeroizing` strings (serde_json's own scratch buffer for escaped strings
//! is freed without wiping; it lives in the same private memory).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::ApiError;
use crate::{MODEL_DIM, MODEL_ID};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// JSON arrays of numbers.
    Float,
    /// Base64 of the little-endian f32 values (what the `openai` Python
    /// package asks for by default).
    Base64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_inputs: usize,
    pub max_input_bytes: usize,
    pub max_total_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_inputs: 128,
            max_input_bytes: 16 << 10,
            max_total_bytes: 256 << 10,
        }
    }
}

/// A parsed request. No `Debug`, so no `{:?}` can print the texts.
pub struct EmbeddingsRequest {
    pub inputs: Vec<Zeroizing<String>>,
    pub encoding: Encoding,
}

/// `input` as sent.
enum Input {
    Texts(Vec<Zeroizing<String>>, bool),
    /// Numbers (token arrays), null, objects, or arrays holding them.
    NotText,
}

struct InputVisitor;

impl<'de> Visitor<'de> for InputVisitor {
    type Value = Input;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an array of strings")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Input, E> {
        Ok(Input::Texts(
            alloc::vec![Zeroizing::new(String::from(v))],
            false,
        ))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Input, E> {
        Ok(Input::Texts(alloc::vec![Zeroizing::new(v)], false))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Input, A::Error> {
        let mut texts = Vec::new();
        let mut all_text = true;
        while let Some(item) = seq.next_element::<Item>()? {
            match item {
                Item::Text(t) if all_text => texts.push(t),
                _ => all_text = false,
            }
        }
        Ok(if all_text {
            Input::Texts(texts, true)
        } else {
            Input::NotText
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Input, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Input::NotText)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Input, E> {
        Ok(Input::NotText)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Input, E> {
        Ok(Input::NotText)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Input, E> {
        Ok(Input::NotText)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Input, E> {
        Ok(Input::NotText)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Input, E> {
        Ok(Input::NotText)
    }
}

impl<'de> Deserialize<'de> for Input {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(InputVisitor)
    }
}

/// One element of an `input` array.
enum Item {
    Text(Zeroizing<String>),
    Other,
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Input::deserialize(d)? {
            Input::Texts(mut t, false) => t.pop().map_or(Item::Other, Item::Text),
            _ => Item::Other,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    input: Option<Input>,
    model: Option<String>,
    encoding_format: Option<String>,
    dimensions: Option<u64>,
    // Accepted for compatibility; not used, never logged.
    #[allow(dead_code)]
    user: Option<IgnoredAny>,
}

fn syntax_error(e: &serde_json::Error) -> ApiError {
    if e.is_data() {
        ApiError::invalid(
            None,
            "Invalid request body: accepted fields are input (a string or an array of strings), model (string), encoding_format (\"float\" or \"base64\"), dimensions (integer) and user.",
        )
    } else {
        ApiError::invalid(
            None,
            "We could not parse the JSON body of your request. The body must be a JSON object.",
        )
    }
}

/// Parses and validates a request body against `limits`.
pub fn parse_request(body: &[u8], limits: &Limits) -> Result<EmbeddingsRequest, ApiError> {
    let wire: Wire = serde_json::from_slice(body).map_err(|e| syntax_error(&e))?;
    let Some(model) = wire.model else {
        return Err(ApiError::invalid(
            Some("model"),
            "You must provide a model parameter.",
        ));
    };
    if model != MODEL_ID {
        return Err(ApiError {
            status: 404,
            message: alloc::format!(
                "The model `{}` does not exist. This appliance serves `{MODEL_ID}`.",
                model.chars().take(64).collect::<String>()
            )
            .into(),
            kind: "invalid_request_error",
            param: Some("model"),
            code: Some("model_not_found"),
        });
    }
    let inputs =
        match wire.input {
            None => {
                return Err(ApiError::invalid(
                    Some("input"),
                    "'input' is a required property.",
                ))
            }
            Some(Input::NotText) => return Err(ApiError::invalid(
                Some("input"),
                "'input' must be a string or an array of strings (token arrays are not supported).",
            )),
            Some(Input::Texts(texts, _)) => texts,
        };
    if inputs.is_empty() {
        return Err(ApiError::invalid(
            Some("input"),
            "'input' must not be an empty array.",
        ));
    }
    if inputs.len() > limits.max_inputs {
        return Err(ApiError::invalid(
            Some("input"),
            "Too many inputs in one request.",
        ));
    }
    if inputs.iter().any(|t| t.is_empty()) {
        return Err(ApiError::invalid(
            Some("input"),
            "'input' must not contain empty strings.",
        ));
    }
    if inputs.iter().any(|t| t.len() > limits.max_input_bytes) {
        return Err(ApiError::invalid(Some("input"), "An input is too long."));
    }
    if inputs.iter().map(|t| t.len()).sum::<usize>() > limits.max_total_bytes {
        return Err(ApiError::invalid(
            Some("input"),
            "The inputs are too long together.",
        ));
    }
    let encoding = match wire.encoding_format.as_deref() {
        None | Some("float") => Encoding::Float,
        Some("base64") => Encoding::Base64,
        Some(_) => {
            return Err(ApiError::invalid(
                Some("encoding_format"),
                "'encoding_format' must be \"float\" or \"base64\".",
            ))
        }
    };
    if wire.dimensions.is_some_and(|d| d != MODEL_DIM as u64) {
        return Err(ApiError::invalid(
            Some("dimensions"),
            "This model only produces 384 dimensions.",
        ));
    }
    Ok(EmbeddingsRequest { inputs, encoding })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<EmbeddingsRequest, ApiError> {
        parse_request(body.as_bytes(), &Limits::default())
    }

    // The prompts have no Debug that could print them.
    static_assertions::assert_not_impl_any!(EmbeddingsRequest: core::fmt::Debug);

    fn texts(r: &EmbeddingsRequest) -> Vec<&str> {
        r.inputs.iter().map(|t| t.as_str()).collect()
    }

    #[test]
    fn accepts_openai_forms() {
        let r = parse(r#"{"input":"Hello \u00e9","model":"all-MiniLM-L6-v2"}"#).expect("ok");
        assert_eq!(texts(&r), ["Hello é"]);
        assert_eq!(r.encoding, Encoding::Float);
        let r = parse(r#"{"input":["a","b c"],"model":"all-MiniLM-L6-v2","encoding_format":"base64","dimensions":384,"user":"u1"}"#).expect("ok");
        assert_eq!(texts(&r), ["a", "b c"]);
        assert_eq!(r.encoding, Encoding::Base64);
    }

    #[test]
    fn refuses_bad_requests_with_openai_errors() {
        let cases: &[(&str, u16, Option<&str>)] = &[
            ("not json", 400, None),
            ("[1,2]", 400, None),
            (r#"{"input":"x"}"#, 400, Some("model")),
            (r#"{"input":"x","model":"gpt-4"}"#, 404, Some("model")),
            (r#"{"model":"all-MiniLM-L6-v2"}"#, 400, Some("input")),
            (
                r#"{"input":[1,2,3],"model":"all-MiniLM-L6-v2"}"#,
                400,
                Some("input"),
            ),
            (
                r#"{"input":[[1,2]],"model":"all-MiniLM-L6-v2"}"#,
                400,
                Some("input"),
            ),
            (
                r#"{"input":["a",null],"model":"all-MiniLM-L6-v2"}"#,
                400,
                Some("input"),
            ),
            (
                r#"{"input":{"a":1},"model":"all-MiniLM-L6-v2"}"#,
                400,
                Some("input"),
            ),
            (
                r#"{"input":[],"model":"all-MiniLM-L6-v2"}"#,
                400,
                Some("input"),
            ),
            (
                r#"{"input":"","model":"all-MiniLM-L6-v2"}"#,
                400,
                Some("input"),
            ),
            (
                r#"{"input":"x","model":"all-MiniLM-L6-v2","encoding_format":"int8"}"#,
                400,
                Some("encoding_format"),
            ),
            (
                r#"{"input":"x","model":"all-MiniLM-L6-v2","dimensions":256}"#,
                400,
                Some("dimensions"),
            ),
            (
                r#"{"input":"x","model":"all-MiniLM-L6-v2","temperature":1}"#,
                400,
                None,
            ),
            (
                r#"{"input":"x","model":"all-MiniLM-L6-v2"} trailing"#,
                400,
                None,
            ),
        ];
        for (body, status, param) in cases {
            let e = parse(body).err().expect(body);
            assert_eq!((e.status, e.param), (*status, *param), "{body}: {e}");
            let json: serde_json::Value = serde_json::from_slice(&e.to_json()).expect("json");
            assert_eq!(json["error"]["type"], e.kind, "{body}");
            assert!(json["error"]["message"].is_string());
        }
    }

    #[test]
    fn errors_never_quote_the_input() {
        let secret = "my secret prompt";
        for body in [
            alloc::format!(r#"{{"input":"{secret}","model":"x"}}"#),
            alloc::format!(r#"{{"input":["{secret}",1],"model":"all-MiniLM-L6-v2"}}"#),
            alloc::format!(r#"{{"input":"{secret}","model":"all-MiniLM-L6-v2","bogus":true}}"#),
            alloc::format!(r#"{{"input":"{secret}""#),
        ] {
            let e = parse(&body).err().expect("refused");
            let json = String::from_utf8(e.to_json()).expect("utf8");
            assert!(!json.contains("secret"), "{json}");
        }
    }

    #[test]
    fn limits() {
        let limits = Limits {
            max_inputs: 2,
            max_input_bytes: 4,
            max_total_bytes: 6,
        };
        let p = |b: &str| parse_request(b.as_bytes(), &limits).map(|r| r.inputs.len());
        assert_eq!(
            p(r#"{"input":["abcd","ef"],"model":"all-MiniLM-L6-v2"}"#),
            Ok(2)
        );
        for body in [
            r#"{"input":["a","b","c"],"model":"all-MiniLM-L6-v2"}"#,
            r#"{"input":"abcde","model":"all-MiniLM-L6-v2"}"#,
            r#"{"input":["abcd","efg"],"model":"all-MiniLM-L6-v2"}"#,
        ] {
            assert_eq!(p(body).map_err(|e| e.status), Err(400), "{body}");
        }
    }
}
