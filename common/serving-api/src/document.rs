//! The attestation document, `GET /v1/attestation` (JSON):
//!
//! ```json
//! {
//!   "version": 1,
//!   "evidence": {"tee": "snp", "report": "<base64, 1184 bytes>",
//!                "certificates": [{"kind": "vcek", "der": "<base64>"}]},
//!   "ohttp_keys": "<base64 of the application/ohttp-keys body>",
//!   "boot_log": [{"event": "model", "algorithm": "sha384", "digest": "<hex>"}]
//! }
//! ```
//!
//! Without SNP the evidence is the unsigned `sample` form the key broker
//! also knows: `{"tee": "sample", "svn": "1", "report_data": "<base64, 64
//! bytes>", "measurement": "<96 hex>"}` (the launch digest the guest
//! computed for its own image). It proves nothing and clients accept it only
//! when told to be insecure.
//!
//! In both forms REPORT_DATA must equal [`crate::binding::report_data`] of
//! `ohttp_keys` and `boot_log`. Feature `client` adds what only a verifier
//! (host/client) needs: decoding the document's fields and the expected
//! REPORT_DATA.

use alloc::string::String;
use alloc::vec::Vec;
use base64::Engine;
use serde::{Deserialize, Serialize};

pub const DOCUMENT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestationDocument {
    pub version: u32,
    pub evidence: Evidence,
    pub ohttp_keys: String,
    pub boot_log: Vec<BootEvent>,
}

/// One input the appliance accepted after launch, with its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootEvent {
    pub event: String,
    pub algorithm: String,
    /// Hex.
    pub digest: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "tee", rename_all = "lowercase", deny_unknown_fields)]
pub enum Evidence {
    Snp {
        /// Base64 of the 1184-byte report.
        report: String,
        /// Endorsement certificates the host supplied (may be empty: the
        /// client then needs the VCEK from AMD's KDS or a local cache).
        certificates: Vec<Certificate>,
    },
    Sample {
        svn: String,
        /// Base64 of 64 bytes.
        report_data: String,
        /// 96 hex digits.
        measurement: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    /// `vcek`, `vlek`, `ask`, `asvk` or `ark`.
    pub kind: String,
    /// Base64 of the DER certificate.
    pub der: String,
}

/// A document field that does not decode.
#[cfg(feature = "client")]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("{0} is not base64")]
    Base64(&'static str),
    #[error("{0} has the wrong length")]
    Length(&'static str),
}

pub fn b64_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(feature = "client")]
pub fn b64_decode(field: &'static str, text: &str) -> Result<Vec<u8>, DocumentError> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| DocumentError::Base64(field))
}

impl AttestationDocument {
    /// The `application/ohttp-keys` body the document commits to.
    #[cfg(feature = "client")]
    pub fn ohttp_keys_bytes(&self) -> Result<Vec<u8>, DocumentError> {
        b64_decode("ohttp_keys", &self.ohttp_keys)
    }

    /// The REPORT_DATA a genuine appliance bound into its evidence.
    #[cfg(feature = "client")]
    pub fn expected_report_data(&self) -> Result<[u8; 64], DocumentError> {
        let keys = self.ohttp_keys_bytes()?;
        crate::binding::report_data(&keys, &self.boot_log)
            .map_err(|_| DocumentError::Base64("boot_log digest (hex)"))
    }

    pub fn to_json(&self) -> Vec<u8> {
        // Serialising these plain structs cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The sample evidence's REPORT_DATA, decoded.
#[cfg(feature = "client")]
pub fn sample_report_data(text: &str) -> Result<[u8; 64], DocumentError> {
    b64_decode("report_data", text)?
        .try_into()
        .map_err(|_| DocumentError::Length("report_data"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn sample_doc() -> AttestationDocument {
        let boot_log = vec![BootEvent {
            event: "model".to_string(),
            algorithm: "sha384".to_string(),
            digest: "ab".repeat(48),
        }];
        let keys = b"\x00\x02ok".to_vec();
        let rd = crate::binding::report_data(&keys, &boot_log).expect("hex");
        AttestationDocument {
            version: DOCUMENT_VERSION,
            evidence: Evidence::Sample {
                svn: "1".to_string(),
                report_data: b64_encode(&rd),
                measurement: "00".repeat(48),
            },
            ohttp_keys: b64_encode(&keys),
            boot_log,
        }
    }

    #[test]
    fn round_trips_and_binds() {
        let doc = sample_doc();
        let json = doc.to_json();
        let text = core::str::from_utf8(&json).expect("utf8");
        assert!(
            text.contains(r#""evidence":{"tee":"sample","svn":"1""#),
            "{text}"
        );
        let back: AttestationDocument = serde_json::from_slice(&json).expect("parse");
        assert_eq!(back, doc);
        let Evidence::Sample { report_data, .. } = &back.evidence else {
            panic!("sample")
        };
        assert_eq!(
            sample_report_data(report_data).expect("64 bytes"),
            back.expected_report_data().expect("binding")
        );
    }

    #[test]
    fn snp_form_parses_and_unknown_fields_are_refused() {
        let json = r#"{"version":1,"evidence":{"tee":"snp","report":"AA==","certificates":[{"kind":"vcek","der":"AQ=="}]},"ohttp_keys":"","boot_log":[]}"#;
        let doc: AttestationDocument = serde_json::from_str(json).expect("parse");
        assert!(
            matches!(doc.evidence, Evidence::Snp { ref certificates, .. } if certificates.len() == 1)
        );
        let extra = json.replace(r#""boot_log":[]"#, r#""boot_log":[],"x":1"#);
        assert!(serde_json::from_str::<AttestationDocument>(&extra).is_err());
        let tee = json.replace(r#""tee":"snp""#, r#""tee":"tdx""#);
        assert!(serde_json::from_str::<AttestationDocument>(&tee).is_err());
    }

    #[test]
    fn bad_fields_are_errors() {
        assert_eq!(
            sample_report_data("AAAA"),
            Err(DocumentError::Length("report_data"))
        );
        assert_eq!(
            sample_report_data("not base64!"),
            Err(DocumentError::Base64("report_data"))
        );
        let mut doc = sample_doc();
        doc.ohttp_keys = "%%".to_string();
        assert!(doc.expected_report_data().is_err());
    }
}
