//! The gateway's key pair and its RFC 9458 §3 key configuration.

use alloc::vec::Vec;

use hpke::kem::X25519HkdfSha256;
use hpke::{Kem, Serializable};

use crate::{AEAD_AES_128_GCM, KDF_HKDF_SHA256, KEM_X25519_HKDF_SHA256};

/// The one KEM this gateway implements.
pub(crate) type GatewayKem = X25519HkdfSha256;
/// Npk = Nenc for X25519 (RFC 9180 §7.1).
pub(crate) const NPK: usize = 32;
/// key_id(1) kem_id(2) pk(32) suites_len(2) kdf_id(2) aead_id(2).
const KEY_CONFIG_LEN: usize = 1 + 2 + NPK + 2 + 4;

/// An Oblivious Gateway with one X25519 key and one symmetric suite.
///
/// The private key is hpke's X25519 key (an `x25519_dalek::StaticSecret`
/// built with its `zeroize` feature), wiped on drop. No `Debug`, so no
/// `{:?}` can print it.
pub struct Gateway {
    key_id: u8,
    sk: <GatewayKem as Kem>::PrivateKey,
    /// The `application/ohttp-keys` body (RFC 9458 §3.2): the one key
    /// configuration, prefixed by its 2-byte length.
    ohttp_keys: Vec<u8>,
}

impl Gateway {
    /// HPKE `DeriveKeyPair(ikm)` (RFC 9180 §7.1.3). `ikm` comes from the
    /// caller's hardware RNG: the same ikm gives the same key, which is
    /// what lets tests pin it.
    pub fn from_ikm(key_id: u8, ikm: &[u8; 32]) -> Gateway {
        let (sk, pk) = GatewayKem::derive_keypair(ikm);
        Self::from_parts(key_id, sk, &pk)
    }

    /// A gateway for a given X25519 private key (32 bytes, clamped as
    /// RFC 7748 says). For known-answer tests such as RFC 9458 Appendix A,
    /// which publishes skR rather than an ikm; production uses
    /// [`Gateway::from_ikm`].
    #[cfg(feature = "test-support")]
    pub fn from_private_key(key_id: u8, sk: &[u8; 32]) -> Result<Gateway, crate::GatewayError> {
        use hpke::Deserializable;
        let sk = <GatewayKem as Kem>::PrivateKey::from_bytes(sk)
            .map_err(|_| crate::GatewayError::InvalidKey)?;
        let pk = GatewayKem::sk_to_pk(&sk);
        Ok(Self::from_parts(key_id, sk, &pk))
    }

    fn from_parts(
        key_id: u8,
        sk: <GatewayKem as Kem>::PrivateKey,
        pk: &<GatewayKem as Kem>::PublicKey,
    ) -> Gateway {
        let mut ohttp_keys = Vec::with_capacity(2 + KEY_CONFIG_LEN);
        // KEY_CONFIG_LEN is 41, so the cast is exact.
        ohttp_keys.extend_from_slice(&(KEY_CONFIG_LEN as u16).to_be_bytes());
        ohttp_keys.push(key_id);
        ohttp_keys.extend_from_slice(&KEM_X25519_HKDF_SHA256.to_be_bytes());
        ohttp_keys.extend_from_slice(&pk.to_bytes());
        ohttp_keys.extend_from_slice(&4u16.to_be_bytes());
        ohttp_keys.extend_from_slice(&KDF_HKDF_SHA256.to_be_bytes());
        ohttp_keys.extend_from_slice(&AEAD_AES_128_GCM.to_be_bytes());
        Gateway {
            key_id,
            sk,
            ohttp_keys,
        }
    }

    /// The key identifier clients put in the request header.
    pub fn key_id(&self) -> u8 {
        self.key_id
    }

    /// `application/ohttp-keys` body (RFC 9458 §3.2): each configuration
    /// prefixed by its 2-byte length; here the one configuration.
    pub fn ohttp_keys(&self) -> &[u8] {
        &self.ohttp_keys
    }

    /// One RFC 9458 §3 key configuration: key_id(1) kem_id(2)
    /// public key(32) cipher-suites length(2), then the single suite
    /// kdf_id(2) aead_id(2) = HKDF-SHA256 / AES-128-GCM. Tests only: the
    /// guest serves [`Gateway::ohttp_keys`].
    #[cfg(feature = "test-support")]
    pub fn key_config(&self) -> &[u8] {
        self.ohttp_keys.get(2..).unwrap_or(&[])
    }

    /// The X25519 public key (bytes 3..35 of the key configuration).
    #[cfg(feature = "test-support")]
    pub fn public_key(&self) -> &[u8] {
        self.ohttp_keys.get(2 + 3..2 + 3 + NPK).unwrap_or(&[])
    }

    pub(crate) fn private_key(&self) -> &<GatewayKem as Kem>::PrivateKey {
        &self.sk
    }
}
