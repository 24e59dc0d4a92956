//! Versioned model blob: header, config, tensor table, aligned tensor data,
//! per-tensor SHA-256 checksums. The writer is host-only (host/model-tools).

pub mod format;
mod reader;

pub use format::{DType, ModelKind};
pub use reader::{Blob, TensorView};
