//! Errors of the OHTTP layer (decapsulation and response encapsulation).

/// Why an Encapsulated Request was refused or a response not sealed.
///
/// Decryption failures are deliberately one variant: the caller learns
/// nothing about which HPKE step failed, and neither does the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The request is shorter than header + `enc` + AEAD tag.
    #[error("encapsulated request truncated")]
    Truncated,
    /// The key identifier is not this gateway's.
    #[error("unknown key id {0}")]
    UnknownKeyId(u8),
    /// The KEM, KDF or AEAD is not the one suite this gateway offers.
    #[error("unsupported HPKE suite kem={kem:#06x} kdf={kdf:#06x} aead={aead:#06x}")]
    UnsupportedSuite {
        /// KEM identifier from the request header.
        kem: u16,
        /// KDF identifier from the request header.
        kdf: u16,
        /// AEAD identifier from the request header.
        aead: u16,
    },
    /// HPKE decapsulation or AEAD open failed (bad `enc`, wrong key,
    /// modified ciphertext or header).
    #[error("request decryption failed")]
    Decrypt,
    /// Sealing the response failed (only for absurd sizes).
    #[error("response encryption failed")]
    Encrypt,
    /// The private key bytes are not a usable X25519 key.
    #[cfg(feature = "test-support")]
    #[error("invalid private key")]
    InvalidKey,
}

impl GatewayError {
    /// True when the client used a key configuration this gateway does not
    /// accept (unknown key id or suite), so the HTTP layer should answer
    /// 400 with the RFC 9458 §8.2 problem type
    /// `https://iana.org/assignments/http-problem-types#ohttp-key` and the
    /// client can refetch keys.
    pub fn is_key_config_problem(&self) -> bool {
        matches!(self, Self::UnknownKeyId(_) | Self::UnsupportedSuite { .. })
    }
}
