//! The error type of this crate.

use core::fmt;

/// Why sealing or unsealing failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealError {
    /// The blob does not start with the sealed-model magic.
    BadMagic,
    /// A format version this code does not read.
    UnsupportedVersion(u16),
    /// A header field is out of range or inconsistent.
    BadHeader(&'static str),
    /// The plaintext is too large for the format (more than 2^32 chunks).
    TooLarge,
    /// A key is not 32 bytes.
    KeyLength,
    /// The header names a different model than the pinned digest.
    PinnedDigestMismatch,
    /// A chunk failed authentication: tampered, reordered, from another
    /// file or sealed under another key.
    ChunkAuth {
        /// Index of the failing chunk.
        index: u64,
    },
    /// Bytes follow the last chunk.
    TrailingData,
    /// The input ended before the last chunk was complete.
    Truncated,
    /// All chunks verified but the plaintext is not the pinned model.
    DigestMismatch,
    /// The unsealer was used again after an error.
    Poisoned,
    /// AES-GCM refused to encrypt (chunk too long; cannot happen in range).
    Encrypt,
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMagic => f.write_str("not a sealed model (bad magic)"),
            Self::UnsupportedVersion(v) => write!(f, "unsupported sealed-model version {v}"),
            Self::BadHeader(what) => write!(f, "bad sealed-model header: {what}"),
            Self::TooLarge => f.write_str("model too large to seal"),
            Self::KeyLength => f.write_str("sealing key must be 32 bytes"),
            Self::PinnedDigestMismatch => {
                f.write_str("sealed model is not the pinned model (header digest)")
            }
            Self::ChunkAuth { index } => write!(f, "chunk {index} failed authentication"),
            Self::TrailingData => f.write_str("data after the last chunk"),
            Self::Truncated => f.write_str("sealed model is truncated"),
            Self::DigestMismatch => f.write_str("model digest does not match the pinned digest"),
            Self::Poisoned => f.write_str("unsealer used after an error"),
            Self::Encrypt => f.write_str("chunk encryption failed"),
        }
    }
}

impl core::error::Error for SealError {}
