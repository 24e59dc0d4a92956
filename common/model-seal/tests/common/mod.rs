//! Shared test helpers.
#![allow(dead_code)]

use model_seal::{seal_with_chunk_size, SealError, SealKey, Unsealer};
use rand_core::OsRng;
use sha2::{Digest, Sha384};

pub fn model(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(131) % 251) as u8)
        .collect()
}

pub fn sha384(data: &[u8]) -> [u8; 48] {
    Sha384::digest(data).into()
}

pub fn sealed(len: usize, chunk: u32) -> (SealKey, Vec<u8>, Vec<u8>) {
    let key = SealKey::generate(&mut OsRng);
    let plain = model(len);
    let blob = seal_with_chunk_size(&plain, &key, chunk, &mut OsRng).expect("seals");
    (key, plain, blob)
}

/// Streams `blob` in pieces of `piece` bytes; returns the plaintext or the
/// first error (from `update` or `finish`).
pub fn stream(
    blob: &[u8],
    key: &SealKey,
    pin: [u8; 48],
    piece: usize,
) -> Result<Vec<u8>, SealError> {
    let mut u = Unsealer::new(key, pin);
    let mut out = Vec::new();
    for part in blob.chunks(piece.max(1)) {
        u.update(part, |pt| out.extend_from_slice(pt))?;
    }
    u.finish()?;
    Ok(out)
}
