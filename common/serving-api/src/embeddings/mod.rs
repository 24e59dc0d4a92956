//! The OpenAI-style embeddings API, as carried inside the OHTTP
//! encapsulation: request parsing with limits, the response body, and
//! OpenAI-shaped errors.

mod error;
mod request;
mod response;

pub use error::ApiError;
pub use request::{parse_request, EmbeddingsRequest, Encoding, Limits};
#[cfg(feature = "client")]
pub use response::decode_base64_embedding;
pub use response::{encode_response, EmbeddingItem, EmbeddingValue, EmbeddingsResponse, Usage};
