//! Versioned model blob: header, config, tensor table, aligned tensor data,
//! per-tensor SHA-256 checksums.

pub mod format;
mod reader;
mod writer;

pub use format::{DType, ModelKind};
pub use reader::{Blob, TensorView};
pub use writer::BlobWriter;
