//! What the appliance and its client agree on, in one place so both sides
//! build from the same definitions:
//!
//! - [`document`]: the JSON served at `GET /v1/attestation` (evidence, OHTTP
//!   key configuration, measured boot log);
//! - [`binding`]: how REPORT_DATA commits to that key configuration and boot
//!   log, so a verified report vouches for the key the client encrypts to;
//! - [`embeddings`]: the OpenAI-style `POST /v1/embeddings` request, response
//!   and error bodies carried inside the OHTTP encapsulation.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod binding;
pub mod document;
pub mod embeddings;

/// The model this appliance serves, as the API names it.
pub const MODEL_ID: &str = "all-MiniLM-L6-v2";
/// Embedding width of [`MODEL_ID`].
pub const MODEL_DIM: usize = 384;
/// Path of the embeddings route inside the encapsulation.
pub const EMBEDDINGS_PATH: &str = "/v1/embeddings";
