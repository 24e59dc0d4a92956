//! ECDH-ES+A256KW / A256GCM encryption (broker) and decryption (guest).

use alloc::vec::Vec;

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use aes_kw::KekAes256;
#[cfg(feature = "encrypt")]
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::header::{self, ALG};
use crate::kdf::concat_kdf;
use crate::keys::{EcPrivateKey, EcPublicKey};
use crate::serialization::Jwe;
use crate::JweError;

const CEK_LEN: usize = 32;
const WRAPPED_LEN: usize = CEK_LEN + 8;
const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Encrypts `plaintext` to `recipient` (the attested TEE key). The ephemeral
/// key, CEK and IV are drawn from `rng`, in that order. No `apu`/`apv`, like
/// the Trustee KBS. Broker side (feature `encrypt`).
#[cfg(feature = "encrypt")]
pub fn encrypt(
    recipient: &EcPublicKey,
    plaintext: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<Jwe, JweError> {
    let ephemeral = EcPrivateKey::generate(rng);
    let mut cek = Zeroizing::new([0u8; CEK_LEN]);
    rng.fill_bytes(cek.as_mut());
    let mut iv = [0u8; IV_LEN];
    rng.fill_bytes(&mut iv);

    let kek = derive_kek(&ephemeral, recipient, &[], &[]);
    let mut encrypted_key = Vec::from([0u8; WRAPPED_LEN]);
    KekAes256::new(kek.as_ref().into())
        .wrap(cek.as_ref(), &mut encrypted_key)
        .map_err(|_| JweError::Encrypt)?;

    let protected = header::encode(&ephemeral.public_key());
    let mut ciphertext = Vec::from(plaintext);
    let tag = Aes256Gcm::new(cek.as_ref().into())
        .encrypt_in_place_detached(
            Nonce::from_slice(&iv),
            protected.as_bytes(),
            &mut ciphertext,
        )
        .map_err(|_| JweError::Encrypt)?;
    Ok(Jwe {
        protected,
        encrypted_key,
        iv: Vec::from(iv),
        ciphertext,
        tag: Vec::from(tag.as_slice()),
        aad: None,
    })
}

/// Decrypts a JWE sent to `key`. Nothing is returned unless the key unwrap
/// and the GCM tag (over header, IV and ciphertext) both verify.
pub fn decrypt(jwe: &Jwe, key: &EcPrivateKey) -> Result<Zeroizing<Vec<u8>>, JweError> {
    let header = header::decode(&jwe.protected)?;
    if jwe.encrypted_key.len() != WRAPPED_LEN {
        return Err(JweError::Length("encrypted_key"));
    }
    if jwe.iv.len() != IV_LEN {
        return Err(JweError::Length("iv"));
    }
    if jwe.tag.len() != TAG_LEN {
        return Err(JweError::Length("tag"));
    }
    let kek = derive_kek(key, &header.epk, &header.apu, &header.apv);
    let mut cek = Zeroizing::new([0u8; CEK_LEN]);
    KekAes256::new(kek.as_ref().into())
        .unwrap(&jwe.encrypted_key, cek.as_mut())
        .map_err(|_| JweError::KeyUnwrap)?;

    let mut plaintext = Zeroizing::new(jwe.ciphertext.clone());
    Aes256Gcm::new(cek.as_ref().into())
        .decrypt_in_place_detached(
            Nonce::from_slice(&jwe.iv),
            &jwe.gcm_aad(),
            plaintext.as_mut(),
            Tag::from_slice(&jwe.tag),
        )
        .map_err(|_| JweError::Decrypt)?;
    Ok(plaintext)
}

/// KEK = Concat KDF(Z, "ECDH-ES+A256KW", apu, apv, 256 bits).
fn derive_kek(
    own: &EcPrivateKey,
    peer: &EcPublicKey,
    apu: &[u8],
    apv: &[u8],
) -> Zeroizing<[u8; 32]> {
    let z = own.diffie_hellman(peer);
    let mut kek = Zeroizing::new([0u8; 32]);
    concat_kdf(z.as_ref(), ALG.as_bytes(), apu, apv, kek.as_mut());
    kek
}
