//! The sealed-model format.
//!
//! ```text
//! header (88 bytes, integers little-endian)
//!   0  magic          8  "AMODSEAL"
//!   8  version        2  1
//!  10  reserved       2  0
//!  12  chunk_size     4  plaintext bytes per chunk (1 ..= 16 MiB)
//!  16  chunk_count    8  max(1, ceil(plaintext_len / chunk_size)) (<= 2^32)
//!  24  plaintext_len  8
//!  32  nonce_prefix   8  random per file
//!  40  plaintext_sha384 48  diagnostic copy; the pin lives in the image
//! chunks, in order: AES-256-GCM(plaintext chunk) || 16-byte tag
//!   nonce = nonce_prefix || be32(index)
//!   AAD   = SHA-384(header) || le64(index) || is_last (1 byte, 0 or 1)
//! ```
//! Binding the header digest into every chunk authenticates the header; the
//! index stops reordering; `is_last` and the count stop truncation and
//! extension. An empty model still has one (empty) authenticated chunk.

use sha2::{Digest, Sha384};

use crate::SealError;

/// File magic.
pub const MAGIC: [u8; 8] = *b"AMODSEAL";
/// Current format version.
pub const VERSION: u16 = 1;
/// Header size in bytes.
pub const HEADER_LEN: usize = 88;
/// Chunk size `seal` uses.
pub const DEFAULT_CHUNK_SIZE: u32 = 64 * 1024;
/// Largest accepted chunk size: bounds the unsealer's buffer.
pub const MAX_CHUNK_SIZE: u32 = 16 * 1024 * 1024;
/// GCM tag bytes after each chunk.
pub const TAG_LEN: usize = 16;
/// Chunk indices are 32-bit in the nonce.
const MAX_CHUNKS: u64 = 1 << 32;

/// A parsed, consistency-checked header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Plaintext bytes per chunk (the last may be shorter).
    pub chunk_size: u32,
    /// Number of chunks.
    pub chunk_count: u64,
    /// Total plaintext length.
    pub plaintext_len: u64,
    /// Random per-file nonce prefix.
    pub nonce_prefix: [u8; 8],
    /// SHA-384 of the plaintext as the sealer saw it (diagnostic).
    pub plaintext_sha384: [u8; 48],
}

impl Header {
    /// A header for `plaintext_len` bytes in chunks of `chunk_size`.
    pub fn new(
        plaintext_len: u64,
        chunk_size: u32,
        nonce_prefix: [u8; 8],
        plaintext_sha384: [u8; 48],
    ) -> Result<Self, SealError> {
        if chunk_size == 0 || chunk_size > MAX_CHUNK_SIZE {
            return Err(SealError::BadHeader("chunk size out of range"));
        }
        // max(1, ceil(len / size)) without overflow.
        let chunk_count = plaintext_len.div_ceil(u64::from(chunk_size)).max(1);
        if chunk_count > MAX_CHUNKS {
            return Err(SealError::TooLarge);
        }
        Ok(Self {
            chunk_size,
            chunk_count,
            plaintext_len,
            nonce_prefix,
            plaintext_sha384,
        })
    }

    /// Parses and checks the first [`HEADER_LEN`] bytes of a sealed blob.
    pub fn parse(bytes: &[u8]) -> Result<Self, SealError> {
        let h: &[u8; HEADER_LEN] = bytes
            .get(..HEADER_LEN)
            .and_then(|b| b.try_into().ok())
            .ok_or(SealError::Truncated)?;
        let (magic, rest) = h.split_at(8);
        if magic != MAGIC {
            return Err(SealError::BadMagic);
        }
        let version = u16::from_le_bytes([rest[0], rest[1]]);
        if version != VERSION {
            return Err(SealError::UnsupportedVersion(version));
        }
        if rest[2..4] != [0, 0] {
            return Err(SealError::BadHeader("reserved bytes are not zero"));
        }
        let chunk_size = u32::from_le_bytes(array(&h[12..16]));
        let count = u64::from_le_bytes(array(&h[16..24]));
        let plaintext_len = u64::from_le_bytes(array(&h[24..32]));
        let header = Self::new(
            plaintext_len,
            chunk_size,
            array(&h[32..40]),
            array(&h[40..88]),
        )?;
        if header.chunk_count != count {
            return Err(SealError::BadHeader(
                "chunk count does not match the length",
            ));
        }
        Ok(header)
    }

    /// The 88 header bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[..8].copy_from_slice(&MAGIC);
        h[8..10].copy_from_slice(&VERSION.to_le_bytes());
        h[12..16].copy_from_slice(&self.chunk_size.to_le_bytes());
        h[16..24].copy_from_slice(&self.chunk_count.to_le_bytes());
        h[24..32].copy_from_slice(&self.plaintext_len.to_le_bytes());
        h[32..40].copy_from_slice(&self.nonce_prefix);
        h[40..88].copy_from_slice(&self.plaintext_sha384);
        h
    }

    /// Total sealed size: header plus every chunk and its tag.
    #[cfg(feature = "seal")]
    pub fn sealed_len(&self) -> u64 {
        HEADER_LEN as u64 + self.plaintext_len + self.chunk_count * TAG_LEN as u64
    }

    /// Plaintext bytes in chunk `index`.
    pub(crate) fn chunk_plain_len(&self, index: u64) -> usize {
        let start = index.saturating_mul(u64::from(self.chunk_size));
        let left = self.plaintext_len.saturating_sub(start);
        // Bounded by chunk_size (<= 16 MiB), so it fits in usize.
        left.min(u64::from(self.chunk_size)) as usize
    }

    /// GCM nonce of chunk `index` (< 2^32 by the header check).
    pub(crate) fn nonce(&self, index: u64) -> [u8; 12] {
        let mut n = [0u8; 12];
        n[..8].copy_from_slice(&self.nonce_prefix);
        n[8..].copy_from_slice(&(index as u32).to_be_bytes());
        n
    }

    /// GCM additional data of chunk `index`.
    pub(crate) fn aad(&self, header_digest: &[u8; 48], index: u64) -> [u8; 57] {
        let mut a = [0u8; 57];
        a[..48].copy_from_slice(header_digest);
        a[48..56].copy_from_slice(&index.to_le_bytes());
        a[56] = u8::from(index + 1 == self.chunk_count);
        a
    }

    /// SHA-384 of the header bytes, bound into every chunk.
    pub(crate) fn digest(&self) -> [u8; 48] {
        Sha384::digest(self.to_bytes()).into()
    }
}

fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(bytes);
    a
}
