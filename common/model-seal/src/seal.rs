//! Sealing (host side, `image-builder seal`).

use alloc::vec::Vec;

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha384};

use crate::format::{Header, DEFAULT_CHUNK_SIZE, HEADER_LEN};
use crate::{SealError, SealKey};

/// Seals `plaintext` under `key` in [`DEFAULT_CHUNK_SIZE`] chunks.
pub fn seal(
    plaintext: &[u8],
    key: &SealKey,
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>, SealError> {
    seal_with_chunk_size(plaintext, key, DEFAULT_CHUNK_SIZE, rng)
}

/// Seals with an explicit chunk size (1 ..= [`crate::MAX_CHUNK_SIZE`]).
pub fn seal_with_chunk_size(
    plaintext: &[u8],
    key: &SealKey,
    chunk_size: u32,
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>, SealError> {
    let mut nonce_prefix = [0u8; 8];
    rng.fill_bytes(&mut nonce_prefix);
    let digest: [u8; 48] = Sha384::digest(plaintext).into();
    let len = u64::try_from(plaintext.len()).map_err(|_| SealError::TooLarge)?;
    let header = Header::new(len, chunk_size, nonce_prefix, digest)?;
    let header_digest = header.digest();
    let cipher = Aes256Gcm::new(key.as_bytes().into());

    let sealed_len = usize::try_from(header.sealed_len()).map_err(|_| SealError::TooLarge)?;
    let mut out = Vec::with_capacity(sealed_len);
    out.extend_from_slice(&header.to_bytes());
    let mut offset = 0usize;
    for index in 0..header.chunk_count {
        let n = header.chunk_plain_len(index);
        let start = out.len();
        out.extend_from_slice(&plaintext[offset..offset + n]);
        offset += n;
        let tag = cipher
            .encrypt_in_place_detached(
                Nonce::from_slice(&header.nonce(index)),
                &header.aad(&header_digest, index),
                &mut out[start..],
            )
            .map_err(|_| SealError::Encrypt)?;
        out.extend_from_slice(&tag);
    }
    debug_assert_eq!(out.len(), sealed_len);
    debug_assert!(out.len() >= HEADER_LEN);
    Ok(out)
}
