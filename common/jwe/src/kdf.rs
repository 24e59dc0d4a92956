//! Concat KDF (NIST SP 800-56A single-step, SHA-256) as RFC 7518 4.6.2 uses
//! it for ECDH-ES.

use sha2::{Digest, Sha256};
use zeroize::Zeroize;

/// Fills `out` with key material derived from the shared secret `z`.
///
/// `alg_id` is the `alg` value for key wrapping (`ECDH-ES+A256KW`) or the
/// `enc` value for direct agreement; `apu`/`apv` are the decoded header
/// values (empty when absent); the key length in bits is `out.len() * 8`.
pub fn concat_kdf(z: &[u8], alg_id: &[u8], apu: &[u8], apv: &[u8], out: &mut [u8]) {
    let key_bits = (out.len() as u32).wrapping_mul(8);
    for (round, chunk) in (1u32..).zip(out.chunks_mut(32)) {
        let mut h = Sha256::new();
        h.update(round.to_be_bytes());
        h.update(z);
        // OtherInfo = AlgorithmID || PartyUInfo || PartyVInfo || SuppPubInfo,
        // each of the first three prefixed with its 32-bit big-endian length.
        for part in [alg_id, apu, apv] {
            h.update((part.len() as u32).to_be_bytes());
            h.update(part);
        }
        h.update(key_bits.to_be_bytes());
        let mut block: [u8; 32] = h.finalize().into();
        chunk.copy_from_slice(&block[..chunk.len()]);
        block.zeroize();
    }
}
