//! The JWE container: flattened JSON (what the KBS sends) and compact form.
//! The guest only parses the flattened form; writing either form and
//! parsing the compact one are host-side (feature `encrypt`).

use alloc::string::String;
use alloc::vec::Vec;

use serde::Deserialize;
use serde_json::Value;

use crate::{b64, JweError};

/// A single-recipient JWE. `protected` is kept as received: it is the AAD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwe {
    /// base64url of the protected header JSON, verbatim.
    pub protected: String,
    /// The AES-KW wrapped content key (40 bytes for A256KW).
    pub encrypted_key: Vec<u8>,
    /// The 96-bit GCM IV.
    pub iv: Vec<u8>,
    /// The ciphertext.
    pub ciphertext: Vec<u8>,
    /// The 128-bit GCM tag.
    pub tag: Vec<u8>,
    /// Optional JWE AAD (flattened JSON only; the KBS never sends it).
    pub aad: Option<Vec<u8>>,
}

/// Wire form of the flattened JSON serialisation (RFC 7516 7.2.2).
#[derive(Deserialize)]
#[cfg_attr(feature = "encrypt", derive(serde::Serialize))]
struct Flattened {
    protected: String,
    encrypted_key: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    aad: Option<String>,
    iv: String,
    ciphertext: String,
    tag: String,
    // Present only to reject them: we take no unprotected parameters.
    #[serde(skip_serializing, default)]
    unprotected: Option<Value>,
    #[serde(skip_serializing, default)]
    header: Option<Value>,
    #[serde(skip_serializing, default)]
    recipients: Option<Value>,
}

impl Jwe {
    /// Parses the flattened JSON serialisation.
    pub fn from_json(json: &[u8]) -> Result<Self, JweError> {
        let wire: Flattened =
            serde_json::from_slice(json).map_err(|_| JweError::Malformed("flattened JSON"))?;
        if wire.recipients.is_some() {
            return Err(JweError::Unsupported("general JSON serialisation"));
        }
        if wire.unprotected.is_some() || wire.header.is_some() {
            return Err(JweError::Unsupported("unprotected header"));
        }
        Ok(Self {
            encrypted_key: b64::decode(&wire.encrypted_key, "encrypted_key")?,
            iv: b64::decode(&wire.iv, "iv")?,
            ciphertext: b64::decode(&wire.ciphertext, "ciphertext")?,
            tag: b64::decode(&wire.tag, "tag")?,
            aad: wire.aad.map(|a| b64::decode(&a, "aad")).transpose()?,
            protected: wire.protected,
        })
    }

    /// The flattened JSON serialisation, members in the KBS's order.
    #[cfg(feature = "encrypt")]
    pub fn to_json(&self) -> String {
        let wire = Flattened {
            protected: self.protected.clone(),
            encrypted_key: b64::encode(&self.encrypted_key),
            aad: self.aad.as_deref().map(b64::encode),
            iv: b64::encode(&self.iv),
            ciphertext: b64::encode(&self.ciphertext),
            tag: b64::encode(&self.tag),
            unprotected: None,
            header: None,
            recipients: None,
        };
        // Only strings: serialisation cannot fail; fall back to empty.
        serde_json::to_string(&wire).unwrap_or_default()
    }

    /// Parses the compact serialisation (five base64url parts).
    #[cfg(feature = "encrypt")]
    pub fn from_compact(text: &str) -> Result<Self, JweError> {
        let mut parts = text.trim().split('.');
        let (Some(p), Some(k), Some(iv), Some(c), Some(t), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(JweError::Malformed("compact form needs five parts"));
        };
        Ok(Self {
            protected: p.into(),
            encrypted_key: b64::decode(k, "encrypted_key")?,
            iv: b64::decode(iv, "iv")?,
            ciphertext: b64::decode(c, "ciphertext")?,
            tag: b64::decode(t, "tag")?,
            aad: None,
        })
    }

    /// The compact serialisation; `None` if there is a JWE AAD (compact form
    /// cannot carry it).
    #[cfg(feature = "encrypt")]
    pub fn to_compact(&self) -> Option<String> {
        if self.aad.is_some() {
            return None;
        }
        let parts = [
            self.protected.clone(),
            b64::encode(&self.encrypted_key),
            b64::encode(&self.iv),
            b64::encode(&self.ciphertext),
            b64::encode(&self.tag),
        ];
        Some(parts.join("."))
    }

    /// The GCM additional data: ASCII(protected), plus `.` ASCII(b64(aad)).
    pub(crate) fn gcm_aad(&self) -> Vec<u8> {
        let mut aad = Vec::from(self.protected.as_bytes());
        if let Some(extra) = &self.aad {
            aad.push(b'.');
            aad.extend_from_slice(b64::encode(extra).as_bytes());
        }
        aad
    }
}
