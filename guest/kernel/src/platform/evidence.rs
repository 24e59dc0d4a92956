//! Evidence of what this guest is, for `report_data` the appliance chose.
//!
//! The platform decides what it can offer: under SEV-SNP a report signed by
//! the secure processor; natively nothing signed, and the appliance sends
//! the unsigned sample form that only a verifier told to be insecure
//! accepts. The appliance never asks which platform it runs on.

use super::Kind;
use snp_attest::AttestError;

/// Bytes of an SNP attestation report (AMD SEV-SNP ABI, `ATTESTATION_REPORT`).
pub const REPORT_LEN: usize = 1184;

/// What the platform can say about this guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvidenceKind {
    /// A report signed by the AMD secure processor.
    SnpReport,
    /// Nothing signed: the appliance describes itself (sample evidence).
    Unsigned,
}

impl EvidenceKind {
    /// The name verifiers and logs use ("snp", "sample").
    pub fn name(self) -> &'static str {
        match self {
            EvidenceKind::SnpReport => "snp",
            EvidenceKind::Unsigned => "sample",
        }
    }
}

/// Evidence for one `report_data`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Evidence {
    /// The signed report, `report_data` in it.
    SnpReport(alloc::boxed::Box<[u8; REPORT_LEN]>),
    /// No hardware root of trust here: the caller sends sample evidence.
    Unsigned,
}

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// No shared pages for the request and response.
    #[error("no shared pages for the guest request")]
    NoSharedMemory,
    /// The secure processor's answer failed (or was refused by) its checks.
    #[error("attestation report: {0}")]
    Attest(AttestError),
}

/// The kind of evidence `evidence` returns on this platform.
pub fn evidence_kind() -> EvidenceKind {
    match super::kind() {
        Kind::Snp => EvidenceKind::SnpReport,
        Kind::Native => EvidenceKind::Unsigned,
    }
}

/// Evidence binding `report_data`. Under SNP the first call takes VMPCK0
/// from the secrets page (and wipes all four VMPCKs there).
pub fn evidence(report_data: &[u8; 64]) -> Result<Evidence, EvidenceError> {
    match super::kind() {
        Kind::Snp => crate::attest::snp_report(*report_data)
            .map(|r| Evidence::SnpReport(alloc::boxed::Box::new(r))),
        Kind::Native => Ok(Evidence::Unsigned),
    }
}
