//! Streaming unsealing (guest side): bytes in any pieces, plaintext out one
//! verified chunk at a time, memory bounded by one chunk.

use alloc::vec::Vec;

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use sha2::{Digest, Sha384};
use zeroize::{Zeroize, Zeroizing};

use crate::format::{Header, HEADER_LEN, TAG_LEN};
use crate::{SealError, SealKey};

/// Decrypts a sealed model as it arrives.
///
/// Each chunk handed to the sink has passed its GCM tag, but the model as a
/// whole is only the pinned one once [`Unsealer::finish`] returns `Ok`: do
/// not use the plaintext before that.
pub struct Unsealer {
    cipher: Aes256Gcm,
    pinned: [u8; 48],
    header_buf: Vec<u8>,
    header: Option<(Header, [u8; 48])>,
    chunk: Zeroizing<Vec<u8>>,
    next_index: u64,
    hasher: Sha384,
    failed: bool,
}

impl Unsealer {
    /// An unsealer for `key` that accepts only the model whose plaintext
    /// SHA-384 is `pinned_sha384` (the digest measured into the image).
    pub fn new(key: &SealKey, pinned_sha384: [u8; 48]) -> Self {
        Self {
            cipher: Aes256Gcm::new(key.as_bytes().into()),
            pinned: pinned_sha384,
            header_buf: Vec::with_capacity(HEADER_LEN),
            header: None,
            chunk: Zeroizing::new(Vec::new()),
            next_index: 0,
            hasher: Sha384::new(),
            failed: false,
        }
    }

    /// The header, once its bytes have arrived (tests; feature `seal`).
    #[cfg(feature = "seal")]
    pub fn header(&self) -> Option<&Header> {
        self.header.as_ref().map(|(h, _)| h)
    }

    /// Feeds the next bytes; each chunk that completes is verified,
    /// decrypted and passed to `sink` in order. Any error is final.
    pub fn update<F: FnMut(&[u8])>(&mut self, input: &[u8], mut sink: F) -> Result<(), SealError> {
        if self.failed {
            return Err(SealError::Poisoned);
        }
        let result = self.consume(input, &mut sink);
        if result.is_err() {
            self.failed = true;
            self.chunk.zeroize();
        }
        result
    }

    /// Checks that the last chunk arrived and the plaintext digest is the
    /// pinned one.
    pub fn finish(self) -> Result<(), SealError> {
        if self.failed {
            return Err(SealError::Poisoned);
        }
        let Some((header, _)) = &self.header else {
            return Err(SealError::Truncated);
        };
        if self.next_index != header.chunk_count || !self.chunk.is_empty() {
            return Err(SealError::Truncated);
        }
        let digest: [u8; 48] = self.hasher.finalize().into();
        if digest != self.pinned {
            return Err(SealError::DigestMismatch);
        }
        Ok(())
    }

    fn consume(&mut self, mut input: &[u8], sink: &mut dyn FnMut(&[u8])) -> Result<(), SealError> {
        while !input.is_empty() {
            let Some((header, header_digest)) = &self.header else {
                let take = (HEADER_LEN - self.header_buf.len()).min(input.len());
                self.header_buf.extend_from_slice(&input[..take]);
                input = &input[take..];
                if self.header_buf.len() == HEADER_LEN {
                    self.start(Header::parse(&self.header_buf)?)?;
                }
                continue;
            };
            if self.next_index == header.chunk_count {
                return Err(SealError::TrailingData);
            }
            let want = header.chunk_plain_len(self.next_index) + TAG_LEN;
            let take = (want - self.chunk.len()).min(input.len());
            self.chunk.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.chunk.len() < want {
                continue;
            }
            let index = self.next_index;
            let (body, tag) = self.chunk.split_at_mut(want - TAG_LEN);
            self.cipher
                .decrypt_in_place_detached(
                    Nonce::from_slice(&header.nonce(index)),
                    &header.aad(header_digest, index),
                    body,
                    Tag::from_slice(tag),
                )
                .map_err(|_| SealError::ChunkAuth { index })?;
            self.hasher.update(&*body);
            sink(body);
            self.chunk.zeroize();
            self.chunk.clear();
            self.next_index += 1;
        }
        Ok(())
    }

    fn start(&mut self, header: Header) -> Result<(), SealError> {
        // Fail fast on a blob for another model; the final digest check is
        // still what counts.
        if header.plaintext_sha384 != self.pinned {
            return Err(SealError::PinnedDigestMismatch);
        }
        let capacity = header.chunk_plain_len(0) + TAG_LEN;
        self.chunk = Zeroizing::new(Vec::with_capacity(capacity));
        let digest = header.digest();
        self.header = Some((header, digest));
        Ok(())
    }
}

/// Unseals a whole blob in memory (host tools and tests; feature `seal`).
#[cfg(feature = "seal")]
pub fn unseal(
    sealed: &[u8],
    key: &SealKey,
    pinned_sha384: [u8; 48],
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let mut unsealer = Unsealer::new(key, pinned_sha384);
    let mut out = Zeroizing::new(Vec::new());
    if let Ok(header) = Header::parse(sealed) {
        // The length is authenticated only later, so cap the reservation.
        let len = usize::try_from(header.plaintext_len).unwrap_or(0);
        out.reserve(len.min(sealed.len()));
    }
    unsealer.update(sealed, |pt| out.extend_from_slice(pt))?;
    unsealer.finish()?;
    Ok(out)
}
