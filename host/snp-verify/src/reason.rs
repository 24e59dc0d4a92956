use core::fmt;

/// Why a report was refused. The string forms ([`ReasonCode::as_str`]) are
/// stable: logs, metrics and the key broker's error bodies use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReasonCode {
    /// The report bytes are not a well-formed report (length, reserved
    /// bytes, unknown CPU family).
    Malformed,
    /// A certificate could not be decoded (DER or PEM).
    Certificate,
    /// The supplied ARK is not a pinned one, or the ASK/ASVK is not signed
    /// by the pinned ARK.
    Chain,
    /// A certificate of the chain is outside its validity period.
    CertificateValidity,
    /// The VCEK (or VLEK) is not signed by any pinned generation's ASK (ASVK).
    VcekSignature,
    /// The endorsement key is a VLEK and the policy does not allow VLEKs.
    VlekNotAllowed,
    /// The report's signature does not verify with the endorsement key.
    ReportSignature,
    /// The report version is refused (see the version-2 rule in the crate docs).
    Version,
    /// The report's CPUID names another or an unknown generation.
    Generation,
    /// The endorsement certificate does not describe this report: TCB
    /// extensions, hwID vs CHIP_ID, or KEY_INFO signing key differ.
    VekBinding,
    Vmpl,
    Debug,
    MigrationAgent,
    /// POLICY is not exactly the expected guest policy.
    GuestPolicy,
    /// REPORTED_TCB below the policy minimum (or no minimum configured).
    Tcb,
    Measurement,
    /// HOST_DATA is not an allowed value (runtime configuration digest).
    HostData,
    ReportData,
}

impl ReasonCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::Certificate => "certificate",
            Self::Chain => "chain",
            Self::CertificateValidity => "certificate-validity",
            Self::VcekSignature => "vcek-signature",
            Self::VlekNotAllowed => "vlek-not-allowed",
            Self::ReportSignature => "report-signature",
            Self::Version => "version",
            Self::Generation => "generation",
            Self::VekBinding => "vek-binding",
            Self::Vmpl => "vmpl",
            Self::Debug => "debug",
            Self::MigrationAgent => "migration-agent",
            Self::GuestPolicy => "guest-policy",
            Self::Tcb => "tcb",
            Self::Measurement => "measurement",
            Self::HostData => "host-data",
            Self::ReportData => "report-data",
        }
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused report: a stable reason code and a human-readable detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: ReasonCode,
    pub detail: String,
}

impl Refusal {
    pub(crate) fn new(reason: ReasonCode, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason, self.detail)
    }
}

impl std::error::Error for Refusal {}
