//! KBS protocol 0.4.0 messages and constants.
//!
//! The message structs are Trustee's own (`kbs-types` 0.18.0, the version
//! Trustee and guest-components pin), built with its no_std `alloc` feature.

use alloc::string::String;

pub use kbs_types::{
    Attestation, Challenge, CompositeEvidence, ErrorInformation, InitData, Request, RuntimeData,
    Tee, TeePubKey,
};
use serde::{Deserialize, Serialize};

/// The only version Trustee accepts (`=0.4.0` semver match).
pub const PROTOCOL_VERSION: &str = "0.4.0";
/// URL prefix of every KBS endpoint.
pub const KBS_PREFIX: &str = "/kbs/v0";
/// `POST` a [`Request`], get a [`Challenge`].
pub const AUTH_PATH: &str = "/kbs/v0/auth";
/// `POST` an [`Attestation`], get an [`AttestationToken`].
pub const ATTEST_PATH: &str = "/kbs/v0/attest";
/// Name of the session cookie set by `/auth`.
pub const SESSION_COOKIE: &str = "kbs-session-id";
/// Prefix of [`ErrorInformation::error_type`].
pub const ERROR_TYPE_PREFIX: &str = "https://github.com/confidential-containers/kbs/errors/";
/// JWK `crv` and `alg` of the guest's TEE key.
pub const EC_P256_CRV: &str = "P-256";
/// Key management algorithm the KBS uses to wrap resources to an EC key.
pub const ECDH_ES_A256KW: &str = "ECDH-ES+A256KW";

/// Body of a successful `/attest`: `{"token":"<JWT>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationToken {
    /// The attestation result token (an EAR JWT under Trustee).
    pub token: String,
}

/// The `/auth` request of an SNP guest: version 0.4.0, tee `snp`, no extra
/// parameters.
pub fn snp_request() -> Request {
    Request {
        version: PROTOCOL_VERSION.into(),
        tee: Tee::Snp,
        extra_params: serde_json::Value::Object(serde_json::Map::new()),
    }
}

/// The `tee-pubkey` JWK of a P-256 key for ECDH-ES+A256KW; `x` and `y` are
/// base64url (no padding) of the 32-byte big-endian coordinates.
pub fn ec_p256_tee_pubkey(x: String, y: String) -> TeePubKey {
    TeePubKey::EC {
        crv: EC_P256_CRV.into(),
        alg: ECDH_ES_A256KW.into(),
        x,
        y,
    }
}

/// A KBS error body with `type` = [`ERROR_TYPE_PREFIX`] + `kind` (the
/// broker's; the guest reads only the status).
#[cfg(feature = "broker")]
pub fn error_information(kind: &str, detail: &str) -> ErrorInformation {
    let mut error_type = String::from(ERROR_TYPE_PREFIX);
    error_type.push_str(kind);
    ErrorInformation {
        error_type,
        detail: detail.into(),
    }
}
