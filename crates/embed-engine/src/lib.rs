//! int8 sentence-embedding engine: model blob format and loader, the integer-
//! quantized BERT forward pass (all-MiniLM-L6-v2), a small MLP classifier
//! through the same format, and the host-side quantizer that writes blobs.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(all(feature = "host", not(test)))]
extern crate std;

pub mod bert;
pub mod blob;
#[cfg(any(test, feature = "host"))]
pub mod checkpoint;
pub mod digits;
mod embedder;
pub mod error;
#[cfg(test)]
mod gate_tests;
mod linear;
pub mod math;
pub mod mlp;
mod quant;

pub use embedder::Embedder;
pub use error::{BlobError, EngineError, QuantizeError};
pub use int8_kernels::Kernel;
