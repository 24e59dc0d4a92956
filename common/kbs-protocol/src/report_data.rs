//! The SNP REPORT_DATA that binds the KBS nonce and the guest's TEE key.
//!
//! Trustee (kbs/src/attestation/backend.rs, attestation-service parse_runtime_data)
//! hashes `JCS({"additional-evidence":..,"nonce":..,"tee-pubkey":..})` with
//! SHA-384 (every TEE except `se`). What the evidence must carry depends on
//! the TEE's verifier:
//! - `snp` (also `tdx`, `csv`): the digest right-padded with zeros to the
//!   64-byte REPORT_DATA field (verifier `regularize_data`): [`report_data`];
//! - `sample`: exactly the 48-byte digest, compared without padding
//!   (deps/verifier/src/sample): [`runtime_data_digest`].

use alloc::string::String;

use serde_json::{Map, Value};
use sha2::{Digest, Sha384};

use crate::canonical::to_canonical_string;
use crate::error::CanonicalError;
#[cfg(feature = "broker")]
use crate::types::Attestation;
use crate::types::TeePubKey;

/// Size of the SNP REPORT_DATA field.
pub const REPORT_DATA_LEN: usize = 64;
/// Size of the SHA-384 runtime-data digest (what sample evidence carries).
pub const RUNTIME_DIGEST_LEN: usize = 48;

/// The canonical runtime-data JSON that is hashed.
pub fn runtime_data_json(
    nonce: &str,
    tee_pubkey: &TeePubKey,
    additional_evidence: &str,
) -> Result<String, CanonicalError> {
    let mut map = Map::new();
    map.insert("additional-evidence".into(), additional_evidence.into());
    map.insert("nonce".into(), nonce.into());
    map.insert("tee-pubkey".into(), tee_pubkey_value(tee_pubkey));
    to_canonical_string(&Value::Object(map))
}

/// SHA-384 of the runtime data: the `report_data` of `sample` evidence. A
/// guest without additional devices passes `""` as `additional_evidence`
/// (as guest-components does).
pub fn runtime_data_digest(
    nonce: &str,
    tee_pubkey: &TeePubKey,
    additional_evidence: &str,
) -> Result<[u8; RUNTIME_DIGEST_LEN], CanonicalError> {
    let json = runtime_data_json(nonce, tee_pubkey, additional_evidence)?;
    Ok(Sha384::digest(json.as_bytes()).into())
}

/// SNP REPORT_DATA: the [`runtime_data_digest`] padded with 16 zero bytes.
pub fn report_data(
    nonce: &str,
    tee_pubkey: &TeePubKey,
    additional_evidence: &str,
) -> Result<[u8; REPORT_DATA_LEN], CanonicalError> {
    let digest = runtime_data_digest(nonce, tee_pubkey, additional_evidence)?;
    let mut out = [0u8; REPORT_DATA_LEN];
    out[..RUNTIME_DIGEST_LEN].copy_from_slice(&digest);
    Ok(out)
}

/// Broker side: the runtime-data digest an [`Attestation`] binds (sample
/// evidence carries it as is). The caller must separately check that its
/// nonce is the session's challenge.
#[cfg(feature = "broker")]
pub fn expected_runtime_digest(
    attestation: &Attestation,
) -> Result<[u8; RUNTIME_DIGEST_LEN], CanonicalError> {
    runtime_data_digest(
        &attestation.runtime_data.nonce,
        &attestation.runtime_data.tee_pubkey,
        &attestation.tee_evidence.additional_evidence,
    )
}

/// Broker side: the SNP REPORT_DATA an [`Attestation`] must carry.
#[cfg(feature = "broker")]
pub fn expected_report_data(
    attestation: &Attestation,
) -> Result<[u8; REPORT_DATA_LEN], CanonicalError> {
    report_data(
        &attestation.runtime_data.nonce,
        &attestation.runtime_data.tee_pubkey,
        &attestation.tee_evidence.additional_evidence,
    )
}

/// The JWK as Trustee re-serialises it: only the members `TeePubKey` keeps.
fn tee_pubkey_value(key: &TeePubKey) -> Value {
    let members: &[(&str, &str)] = match key {
        TeePubKey::EC { crv, alg, x, y } => &[
            ("kty", "EC"),
            ("crv", crv),
            ("alg", alg),
            ("x", x),
            ("y", y),
        ],
        TeePubKey::RSA { alg, k_mod, k_exp } => {
            &[("kty", "RSA"), ("alg", alg), ("n", k_mod), ("e", k_exp)]
        }
        TeePubKey::AKP { alg, public_key } => &[("kty", "AKP"), ("alg", alg), ("pub", public_key)],
    };
    let map: Map<String, Value> = members
        .iter()
        .map(|(k, v)| (String::from(*k), Value::from(*v)))
        .collect();
    Value::Object(map)
}
