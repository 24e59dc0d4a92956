//! The error type of this crate.

/// Why sealing or unsealing failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The blob does not start with the sealed-model magic.
    #[error("not a sealed model (bad magic)")]
    BadMagic,
    /// A format version this code does not read.
    #[error("unsupported sealed-model version {0}")]
    UnsupportedVersion(u16),
    /// A header field is out of range or inconsistent.
    #[error("bad sealed-model header: {0}")]
    BadHeader(&'static str),
    /// The plaintext is too large for the format (more than 2^32 chunks).
    #[error("model too large to seal")]
    TooLarge,
    /// A key is not 32 bytes.
    #[error("sealing key must be 32 bytes")]
    KeyLength,
    /// The header names a different model than the pinned digest.
    #[error("sealed model is not the pinned model (header digest)")]
    PinnedDigestMismatch,
    /// A chunk failed authentication: tampered, reordered, from another
    /// file or sealed under another key.
    #[error("chunk {index} failed authentication")]
    ChunkAuth {
        /// Index of the failing chunk.
        index: u64,
    },
    /// Bytes follow the last chunk.
    #[error("data after the last chunk")]
    TrailingData,
    /// The input ended before the last chunk was complete.
    #[error("sealed model is truncated")]
    Truncated,
    /// All chunks verified but the plaintext is not the pinned model.
    #[error("model digest does not match the pinned digest")]
    DigestMismatch,
    /// The unsealer was used again after an error.
    #[error("unsealer used after an error")]
    Poisoned,
    /// AES-GCM refused to encrypt (chunk too long; cannot happen in range;
    /// feature `seal`).
    #[cfg(feature = "seal")]
    #[error("chunk encryption failed")]
    Encrypt,
}
