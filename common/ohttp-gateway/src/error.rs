//! Errors of the OHTTP layer (decapsulation and response encapsulation).

use core::fmt;

/// Why an Encapsulated Request was refused or a response not sealed.
///
/// Decryption failures are deliberately one variant: the caller learns
/// nothing about which HPKE step failed, and neither does the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayError {
    /// The request is shorter than header + `enc` + AEAD tag.
    Truncated,
    /// The key identifier is not this gateway's.
    UnknownKeyId(u8),
    /// The KEM, KDF or AEAD is not the one suite this gateway offers.
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
    Decrypt,
    /// Sealing the response failed (only for absurd sizes).
    Encrypt,
    /// The private key bytes are not a usable X25519 key.
    InvalidKey,
}

impl GatewayError {
    /// True when the client used a key configuration this gateway does not
    /// accept (unknown key id or suite), so the HTTP layer should answer
    /// 400 with the RFC 9458 §8.2 problem type
    /// [`crate::KEY_CONFIG_PROBLEM_TYPE`] and the client can refetch keys.
    pub fn is_key_config_problem(&self) -> bool {
        matches!(self, Self::UnknownKeyId(_) | Self::UnsupportedSuite { .. })
    }
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("encapsulated request truncated"),
            Self::UnknownKeyId(id) => write!(f, "unknown key id {id}"),
            Self::UnsupportedSuite { kem, kdf, aead } => write!(
                f,
                "unsupported HPKE suite kem={kem:#06x} kdf={kdf:#06x} aead={aead:#06x}"
            ),
            Self::Decrypt => f.write_str("request decryption failed"),
            Self::Encrypt => f.write_str("response encryption failed"),
            Self::InvalidKey => f.write_str("invalid private key"),
        }
    }
}
