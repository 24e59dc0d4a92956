//! RFC 9458 §4.4: encapsulating the response.
//!
//! ```text
//! secret = Export("message/bhttp response", max(Nn, Nk))
//! salt = enc || response_nonce
//! prk = Extract(salt, secret)
//! aead_key = Expand(prk, "key", Nk); aead_nonce = Expand(prk, "nonce", Nn)
//! enc_response = response_nonce || Seal(aead_key, aead_nonce, "", response)
//! ```

use alloc::vec::Vec;

use aes_gcm::aead::Nonce;
use aes_gcm::{AeadInOut, Aes128Gcm, KeyInit};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use crate::key::NPK;
use crate::GatewayError;

/// Nk of AES-128-GCM.
const NK: usize = 16;
/// Nn of AES-128-GCM.
const NN: usize = 12;
/// max(Nn, Nk): the exported secret and the response nonce length.
pub(crate) const SECRET_LEN: usize = 16;
const TAG_LEN: usize = 16;

/// What one request leaves for its response: the HPKE exporter secret
/// (zeroized on drop) and the request's `enc`. Single use: `encapsulate`
/// consumes it, so a nonce/key pair is never reused for two responses.
/// No `Debug`, so no `{:?}` can print the secret.
pub struct ResponseContext {
    pub(crate) secret: Zeroizing<[u8; SECRET_LEN]>,
    pub(crate) enc: [u8; NPK],
}

impl ResponseContext {
    /// Seals `response` (the BHTTP response bytes) as a `message/ohttp-res`
    /// body. `response_nonce` is max(Nn, Nk) = 16 fresh random bytes from
    /// the caller's RNG.
    pub fn encapsulate(
        self,
        response: &[u8],
        response_nonce: &[u8; SECRET_LEN],
    ) -> Result<Vec<u8>, GatewayError> {
        let mut salt = [0u8; NPK + SECRET_LEN];
        let (salt_enc, salt_nonce) = salt.split_at_mut(NPK);
        salt_enc.copy_from_slice(&self.enc);
        salt_nonce.copy_from_slice(response_nonce);
        let hk = Hkdf::<Sha256>::new(Some(&salt), &self.secret[..]);
        let mut key = Zeroizing::new([0u8; NK]);
        let mut nonce = Zeroizing::new([0u8; NN]);
        hk.expand(b"key", &mut key[..])
            .map_err(|_| GatewayError::Encrypt)?;
        hk.expand(b"nonce", &mut nonce[..])
            .map_err(|_| GatewayError::Encrypt)?;
        let cipher = Aes128Gcm::new_from_slice(&key[..]).map_err(|_| GatewayError::Encrypt)?;

        // Encrypt in place in the output buffer, sized once so the
        // plaintext is never left behind in a reallocated block.
        let mut out = Vec::with_capacity(SECRET_LEN + response.len() + TAG_LEN);
        out.extend_from_slice(response_nonce);
        out.extend_from_slice(response);
        let aead_nonce: Nonce<Aes128Gcm> = (*nonce).into();
        let sealed = match out.get_mut(SECRET_LEN..) {
            Some(body) => cipher.encrypt_inout_detached(&aead_nonce, b"", body.into()),
            None => return Err(GatewayError::Encrypt),
        };
        match sealed {
            Ok(tag) => {
                out.extend_from_slice(&tag);
                Ok(out)
            }
            Err(_) => {
                out.zeroize();
                Err(GatewayError::Encrypt)
            }
        }
    }
}
