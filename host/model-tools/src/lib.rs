//! Host-only model tools, never linked into the guest: the float BERT
//! checkpoint reader and reference pass, the SmoothQuant int8 quantizer, the
//! blob writer, and the digits MLP export used by tests. The guest only reads
//! and runs blobs (common/embed-engine).
//!
//! Pipeline: [`checkpoint`] reads the float model -> [`quantize::quantize_bert`]
//! calibrates SmoothQuant (alpha 0.5) on a fixed text set, folds it into
//! LayerNorm copies / V / weights, quantizes weights per output channel ->
//! [`BlobWriter`] bytes -> `embed_engine::Embedder` validates and runs them.
#![forbid(unsafe_code)]

mod blob_writer;
pub mod checkpoint;
pub mod digits;
mod error;
pub mod float_math;
pub mod float_model;
pub mod mlp;
pub mod quant;
pub mod quantize;

pub use blob_writer::BlobWriter;
pub use error::QuantizeError;
pub use float_model::{FloatBert, FloatLayer, FloatLinear, FloatPass, Site};
pub use quantize::{quantize_bert, DEFAULT_ALPHA};
