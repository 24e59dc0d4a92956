//! Typed errors of the engine: one enum for the blob format, one for running a model.

/// Why a model blob was rejected. Every check of the loader maps to one variant,
/// so a truncated or hostile blob is reported, never a panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid model blob: {self:?}")]
pub enum BlobError {
    /// Fewer bytes than the fixed header, or than the length the header declares.
    Truncated {
        needed: u64,
        have: u64,
    },
    /// More bytes than the header declares (the blob length is pinned).
    TrailingBytes {
        declared: u64,
        have: u64,
    },
    BadMagic,
    UnsupportedVersion(u32),
    UnknownModelKind(u32),
    /// Header or tensor-table digest mismatch.
    HeaderChecksum,
    TooManyTensors(u32),
    UnknownDType {
        tensor: u32,
        dtype: u32,
    },
    BadRank {
        tensor: u32,
        rank: u32,
    },
    /// Nonzero reserved field or padding.
    Reserved,
    /// Tensor ids must be strictly increasing (unique and canonical order).
    TensorOrder {
        tensor: u32,
    },
    Misaligned {
        tensor: u32,
        offset: u64,
    },
    /// Offset/length outside the data area, overlapping, or not matching the shape.
    BadExtent {
        tensor: u32,
    },
    Overflow,
    TensorChecksum {
        tensor: u32,
    },
    MissingTensor {
        tensor: u32,
    },
    /// Tensor present but with another dtype or shape than the config implies.
    ShapeMismatch {
        tensor: u32,
    },
    /// A config field is out of the supported range or inconsistent.
    BadConfig(&'static str),
    /// A tensor that the engine does not expect for this model kind.
    UnexpectedTensor {
        tensor: u32,
    },
    /// A float value that must be finite (scales, norms, biases) is not.
    NonFinite {
        tensor: u32,
    },
    /// The vocabulary text is not UTF-8 or not accepted by the tokenizer.
    BadVocab,
    /// The int8 kernel library refused a weight matrix.
    Kernel(int8_kernels::KernelError),
}

/// Errors while running a loaded model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("inference error: {self:?}")]
pub enum EngineError {
    /// No tokens (an encoder input needs at least `[CLS]` and `[SEP]`).
    EmptyInput,
    /// More tokens than the model's maximum sequence length.
    TooLong { tokens: usize, max: usize },
    /// Token id outside the vocabulary.
    BadToken(u32),
    /// Input vector of the wrong length (the MLP's `logits`).
    #[cfg(feature = "mlp")]
    BadInputLen { expected: usize, got: usize },
    /// The int8 kernel library refused a call (e.g. a non-finite activation).
    Kernel(int8_kernels::KernelError),
    /// A task of a multi-threaded pass stopped without finishing (it panicked and the
    /// [`Parallel`](crate::parallel::Parallel) implementation caught the panic).
    TaskFailed,
}

impl From<int8_kernels::KernelError> for EngineError {
    fn from(e: int8_kernels::KernelError) -> Self {
        EngineError::Kernel(e)
    }
}
