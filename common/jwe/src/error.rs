//! The error type of this crate.

/// Why a JWE could not be parsed, encrypted or decrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JweError {
    /// The serialisation is not valid JSON / compact form.
    #[error("malformed JWE: {0}")]
    Malformed(&'static str),
    /// A member is not valid base64url (no padding).
    #[error("JWE member {0} is not base64url")]
    Base64(&'static str),
    /// A required member is missing.
    #[error("JWE member {0} is missing")]
    Missing(&'static str),
    /// A member has the wrong length.
    #[error("JWE member {0} has the wrong length")]
    Length(&'static str),
    /// `alg` is not `ECDH-ES+A256KW`.
    #[error("JWE alg is not ECDH-ES+A256KW")]
    UnsupportedAlg,
    /// `enc` is not `A256GCM`.
    #[error("JWE enc is not A256GCM")]
    UnsupportedEnc,
    /// A feature we do not implement (`crit`, `zip`, unprotected headers,
    /// general serialisation with several recipients).
    #[error("unsupported JWE feature: {0}")]
    Unsupported(&'static str),
    /// A key is not a valid P-256 key (e.g. `epk` not on the curve).
    #[error("invalid P-256 key")]
    InvalidKey,
    /// The wrapped content key failed its AES-KW integrity check.
    #[error("content key unwrap failed")]
    KeyUnwrap,
    /// The AES-GCM tag did not verify: ciphertext, IV, tag or header changed.
    #[error("JWE authentication failed")]
    Decrypt,
    /// Encryption failed (input too long for AES-GCM; feature `encrypt`).
    #[cfg(feature = "encrypt")]
    #[error("JWE encryption failed")]
    Encrypt,
}
