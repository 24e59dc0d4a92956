//! int8 sentence-embedding engine: model blob format and loader, the integer-
//! quantized BERT forward pass (all-MiniLM-L6-v2) and a small MLP classifier
//! through the same format (feature `mlp`: test images and host tools; the
//! production guest serves embeddings only). Only what the guest runs: the float model, the
//! quantizer and the blob writer are host-only (host/model-tools).
//!
//! Pipeline: host/model-tools reads the float model, calibrates SmoothQuant,
//! quantizes weights per output channel and writes [`blob`] bytes ->
//! [`Embedder::with_kernel`] validates them (every extent checked, SHA-256 per tensor) and
//! runs: int8 Linear layers with activations quantized per group of 32 (int32 dots
//! in `int8-kernels`), f32 LayerNorm/softmax/GELU/attention, mean pooling, L2 norm.
//! The word-embedding table and the vocabulary stay borrowed from the blob; the
//! Linear weights are repacked for the kernels (~10.6 MB).
//!
//! Threads: the engine has none of its own; a host passes a [`Parallel`] (e.g.
//! `StdThreads`, feature `std`) to [`Embedder::set_parallel`], and then one sequence is
//! split by token rows and [`Embedder::embed_batch`] shares whole texts between threads,
//! with results bit-identical to one thread ([`parallel`] explains how).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(all(feature = "std", not(test)))]
extern crate std;

pub mod bert;
pub mod blob;
mod embedder;
pub mod error;
mod linear;
pub mod math;
#[cfg(feature = "mlp")]
pub mod mlp;
pub mod parallel;

pub use embedder::Embedder;
pub use error::{BlobError, EngineError};
pub use int8_kernels::{Kernel, KernelKind};
pub use parallel::Parallel;
#[cfg(feature = "host")]
pub use parallel::Sequential;
#[cfg(any(test, feature = "std"))]
pub use parallel::StdThreads;
