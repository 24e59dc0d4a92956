//! The error type of this crate.

use core::fmt;

/// Why a JWE could not be parsed, encrypted or decrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JweError {
    /// The serialisation is not valid JSON / compact form.
    Malformed(&'static str),
    /// A member is not valid base64url (no padding).
    Base64(&'static str),
    /// A required member is missing.
    Missing(&'static str),
    /// A member has the wrong length.
    Length(&'static str),
    /// `alg` is not `ECDH-ES+A256KW`.
    UnsupportedAlg,
    /// `enc` is not `A256GCM`.
    UnsupportedEnc,
    /// A feature we do not implement (`crit`, `zip`, unprotected headers,
    /// general serialisation with several recipients).
    Unsupported(&'static str),
    /// A key is not a valid P-256 key (e.g. `epk` not on the curve).
    InvalidKey,
    /// The wrapped content key failed its AES-KW integrity check.
    KeyUnwrap,
    /// The AES-GCM tag did not verify: ciphertext, IV, tag or header changed.
    Decrypt,
    /// Encryption failed (input too long for AES-GCM).
    Encrypt,
}

impl fmt::Display for JweError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(what) => write!(f, "malformed JWE: {what}"),
            Self::Base64(field) => write!(f, "JWE member {field} is not base64url"),
            Self::Missing(field) => write!(f, "JWE member {field} is missing"),
            Self::Length(field) => write!(f, "JWE member {field} has the wrong length"),
            Self::UnsupportedAlg => f.write_str("JWE alg is not ECDH-ES+A256KW"),
            Self::UnsupportedEnc => f.write_str("JWE enc is not A256GCM"),
            Self::Unsupported(what) => write!(f, "unsupported JWE feature: {what}"),
            Self::InvalidKey => f.write_str("invalid P-256 key"),
            Self::KeyUnwrap => f.write_str("content key unwrap failed"),
            Self::Decrypt => f.write_str("JWE authentication failed"),
            Self::Encrypt => f.write_str("JWE encryption failed"),
        }
    }
}

impl core::error::Error for JweError {}
