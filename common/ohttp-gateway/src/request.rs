//! RFC 9458 §4.3 / §6.3: decapsulating an Encapsulated Request.
//!
//! ```text
//! hdr = key_id(1) kem_id(2) kdf_id(2) aead_id(2)
//! enc_request = hdr || enc(Nenc) || ct
//! info = "message/bhttp request" || 0x00 || hdr
//! ```

use alloc::vec::Vec;

use hpke::aead::{AeadTag, AesGcm128};
use hpke::kdf::HkdfSha256;
use hpke::{Deserializable, Kem, OpModeR};
use zeroize::Zeroizing;

use crate::key::{GatewayKem, NPK};
use crate::response::{ResponseContext, SECRET_LEN};
use crate::{Gateway, GatewayError, AEAD_AES_128_GCM, KDF_HKDF_SHA256, KEM_X25519_HKDF_SHA256};

const HEADER_LEN: usize = 7;
/// AES-128-GCM tag length.
const TAG_LEN: usize = 16;
const REQUEST_LABEL: &[u8] = b"message/bhttp request";
const RESPONSE_LABEL: &[u8] = b"message/bhttp response";

impl Gateway {
    /// Decapsulates a `message/ohttp-req` body (RFC 9458 §4.3, §6.3):
    /// the BHTTP request bytes, and the context that seals the response.
    ///
    /// Work is one X25519 operation plus one AES-GCM pass over the input;
    /// memory is one copy of the ciphertext, which becomes the plaintext.
    pub fn decapsulate(
        &self,
        enc_request: &[u8],
    ) -> Result<(Zeroizing<Vec<u8>>, ResponseContext), GatewayError> {
        let (hdr, rest) = enc_request
            .split_first_chunk::<HEADER_LEN>()
            .ok_or(GatewayError::Truncated)?;
        let [key_id, k0, k1, d0, d1, a0, a1] = *hdr;
        if key_id != self.key_id() {
            return Err(GatewayError::UnknownKeyId(key_id));
        }
        let (kem, kdf, aead) = (
            u16::from_be_bytes([k0, k1]),
            u16::from_be_bytes([d0, d1]),
            u16::from_be_bytes([a0, a1]),
        );
        if (kem, kdf, aead) != (KEM_X25519_HKDF_SHA256, KDF_HKDF_SHA256, AEAD_AES_128_GCM) {
            return Err(GatewayError::UnsupportedSuite { kem, kdf, aead });
        }
        let (enc, ct) = rest
            .split_first_chunk::<NPK>()
            .ok_or(GatewayError::Truncated)?;
        let body_len = ct
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(GatewayError::Truncated)?;
        let (body, tag) = ct.split_at(body_len);

        let encapped =
            <GatewayKem as Kem>::EncappedKey::from_bytes(enc).map_err(|_| GatewayError::Decrypt)?;
        let tag = AeadTag::<AesGcm128>::from_bytes(tag).map_err(|_| GatewayError::Decrypt)?;
        let info = [REQUEST_LABEL, &[0], hdr].concat();

        // All-zero DH results (small-order `enc`) fail here, as RFC 9180 asks.
        let mut ctx = hpke::setup_receiver::<AesGcm128, HkdfSha256, GatewayKem>(
            &OpModeR::Base,
            self.private_key(),
            &encapped,
            &info,
        )
        .map_err(|_| GatewayError::Decrypt)?;

        // Decrypt in place inside a zeroizing buffer: no plaintext copy is
        // left behind. AES-GCM checks the tag before decrypting.
        let mut plaintext = Zeroizing::new(body.to_vec());
        ctx.open_inout_detached(plaintext.as_mut_slice().into(), &[], &tag)
            .map_err(|_| GatewayError::Decrypt)?;

        let mut secret = Zeroizing::new([0u8; SECRET_LEN]);
        ctx.export(RESPONSE_LABEL, &mut secret[..])
            .map_err(|_| GatewayError::Decrypt)?;
        Ok((plaintext, ResponseContext { secret, enc: *enc }))
    }
}
