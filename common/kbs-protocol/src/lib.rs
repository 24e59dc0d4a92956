//! Confidential Containers Trustee KBS protocol 0.4.0 for the guest and the
//! broker: message types, resource paths, the session cookie, RFC 8785
//! canonical JSON and the REPORT_DATA binding of nonce and TEE key.
//!
//! Wire facts are from `docs/kbs.md` (Trustee and
//! guest-components sources).
//!
//! Feature `broker` adds what only the key broker uses: the expected
//! REPORT_DATA of an [`Attestation`], KBS error bodies and the segments of a
//! [`ResourcePath`].
//!
//! Feature `numbers` adds RFC 8785 number formatting to the canonical JSON
//! writer; without it a number is refused. The runtime data the guest hashes
//! holds strings only, so only tests and fuzzing canonicalise numbers.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod canonical;
mod cookie;
mod error;
#[cfg(feature = "numbers")]
mod number;
mod report_data;
mod resource;
mod types;

pub use canonical::to_canonical_string;
pub use cookie::session_cookie_pair;
pub use error::{CanonicalError, ResourcePathError};
#[cfg(feature = "numbers")]
pub use number::write_f64 as write_ecmascript_number;
#[cfg(feature = "broker")]
pub use report_data::{expected_report_data, expected_runtime_digest};
pub use report_data::{
    report_data, runtime_data_digest, runtime_data_json, REPORT_DATA_LEN, RUNTIME_DIGEST_LEN,
};
pub use resource::ResourcePath;
#[cfg(feature = "broker")]
pub use types::error_information;
pub use types::{
    ec_p256_tee_pubkey, snp_request, Attestation, AttestationToken, Challenge, CompositeEvidence,
    ErrorInformation, InitData, Request, RuntimeData, Tee, TeePubKey, ATTEST_PATH, AUTH_PATH,
    ECDH_ES_A256KW, EC_P256_CRV, ERROR_TYPE_PREFIX, KBS_PREFIX, PROTOCOL_VERSION, SESSION_COOKIE,
};
