//! The JOSE protected header of our one algorithm pair.

#[cfg(feature = "encrypt")]
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use serde_json::{Map, Value};

use crate::keys::EcPublicKey;
use crate::{b64, JweError};

/// `alg`: ECDH-ES key agreement, CEK wrapped with AES-256 key wrap.
pub const ALG: &str = "ECDH-ES+A256KW";
/// `enc`: AES-256-GCM content encryption.
pub const ENC: &str = "A256GCM";

/// What decryption needs from the protected header.
pub(crate) struct Header {
    pub epk: EcPublicKey,
    pub apu: Vec<u8>,
    pub apv: Vec<u8>,
}

/// The header JSON the Trustee KBS writes (alg, enc, then epk with members
/// in sorted order), base64url-encoded: the `protected` member.
#[cfg(feature = "encrypt")]
pub(crate) fn encode(epk: &EcPublicKey) -> String {
    let json = format!(
        r#"{{"alg":"{ALG}","enc":"{ENC}","epk":{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}}}"#,
        epk.jwk_x(),
        epk.jwk_y()
    );
    b64::encode(json.as_bytes())
}

/// Parses and checks the `protected` member.
pub(crate) fn decode(protected: &str) -> Result<Header, JweError> {
    let json = b64::decode(protected, "protected")?;
    let header: Map<String, Value> =
        serde_json::from_slice(&json).map_err(|_| JweError::Malformed("protected header"))?;
    if str_member(&header, "alg")? != ALG {
        return Err(JweError::UnsupportedAlg);
    }
    if str_member(&header, "enc")? != ENC {
        return Err(JweError::UnsupportedEnc);
    }
    // We understand no extensions (RFC 7516 4.1.13) and no compression.
    if header.contains_key("crit") {
        return Err(JweError::Unsupported("crit"));
    }
    if header.contains_key("zip") {
        return Err(JweError::Unsupported("zip"));
    }
    let epk = match header.get("epk") {
        Some(Value::Object(epk)) => epk,
        Some(_) => return Err(JweError::Malformed("epk")),
        None => return Err(JweError::Missing("epk")),
    };
    if str_member(epk, "kty")? != "EC" || str_member(epk, "crv")? != "P-256" {
        return Err(JweError::InvalidKey);
    }
    let epk = EcPublicKey::from_jwk_coordinates(str_member(epk, "x")?, str_member(epk, "y")?)?;
    Ok(Header {
        epk,
        apu: optional_b64(&header, "apu")?,
        apv: optional_b64(&header, "apv")?,
    })
}

fn str_member<'a>(map: &'a Map<String, Value>, name: &'static str) -> Result<&'a str, JweError> {
    match map.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(JweError::Malformed(name)),
        None => Err(JweError::Missing(name)),
    }
}

fn optional_b64(map: &Map<String, Value>, name: &'static str) -> Result<Vec<u8>, JweError> {
    match map.get(name) {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => b64::decode(s, name),
        Some(_) => Err(JweError::Malformed(name)),
    }
}
