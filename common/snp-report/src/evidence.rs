//! The `snp` evidence JSON that Trustee's verifier reads as `primary_evidence`
//! (trustee `deps/verifier/src/snp/mod.rs` `SnpEvidence`, identical in
//! guest-components `attester/src/snp/mod.rs`):
//!
//! ```text
//! {"attestation_report": <sev AttestationReport>, "cert_chain": null | [{"cert_type":"VCEK","data":[..DER..]}]}
//! ```
//!
//! Shapes are those of `sev` (virtee/sev at the rev Trustee pins, d487809,
//! feature `serde`): byte arrays as arrays of integers (serde-big-array,
//! serde_bytes through serde_json), bit fields as integers, `Option`s as
//! `null`, `CertType` as its variant name.

use alloc::string::String;
use alloc::vec::Vec;

use crate::report::AttestationReport;

/// `SnpEvidence` as Trustee (de)serialises it (the guest only writes it;
/// reading it needs feature `serde`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
pub struct SnpEvidence {
    pub attestation_report: AttestationReport,
    pub cert_chain: Option<Vec<CertTableEntry>>,
}

/// One certificate of the extended-report certificate table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
pub struct CertTableEntry {
    pub cert_type: CertType,
    /// DER (what the firmware's certificate table and AMD's KDS hold).
    pub data: Vec<u8>,
}

/// `sev::firmware::host::CertType`; variant names are the JSON strings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[allow(clippy::upper_case_acronyms)]
pub enum CertType {
    Empty,
    ARK,
    ASK,
    VCEK,
    VLEK,
    CRL,
    /// Another GUID, as its hyphenated string (`{"OTHER":"…"}`).
    OTHER(String),
}
