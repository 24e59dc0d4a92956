//! What a verified report must also satisfy to be trusted.

use std::collections::BTreeMap;
use std::fmt;

use hex::FromHex;

use snp_report::{AttestationReport, Generation, TcbVersion};

use crate::reason::{ReasonCode, Refusal};
use crate::validity::CertTime;

/// How REPORT_DATA is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportDataCheck {
    /// REPORT_DATA must equal these 64 bytes.
    Exact([u8; 64]),
    /// Not checked: only for tools that inspect reports. A key broker must
    /// always bind the report to its session (nonce and TEE key).
    Skip,
}

impl ReportDataCheck {
    /// `prefix` (a digest) right-padded with zeros to 64 bytes, as Trustee's
    /// `regularize_data` expects; `None` if longer than 64 bytes.
    pub fn padded(prefix: &[u8]) -> Option<Self> {
        let mut data = [0u8; 64];
        data.get_mut(..prefix.len())?.copy_from_slice(prefix);
        Some(Self::Exact(data))
    }
}

/// Verifier policy. [`Policy::new`] is strict: nothing is allowed until
/// measurements and per-generation TCB minimums are added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// MEASUREMENT must be one of these (e.g. from image-builder's manifest).
    pub allowed_measurements: Vec<[u8; 48]>,
    /// Minimum REPORTED_TCB per generation, compared per component. A
    /// generation without an entry is refused: TCB numbers are not
    /// comparable across generations.
    pub min_tcb: BTreeMap<Generation, TcbVersion>,
    /// Refuse reports requested from a VMPL other than 0.
    pub require_vmpl0: bool,
    /// Accept POLICY.DEBUG = 1 (the host can read guest memory).
    pub allow_debug: bool,
    /// Accept POLICY.MIGRATE_MA = 1 (a migration agent may be associated).
    pub allow_migration_agent: bool,
    /// POLICY must equal this value exactly (the launcher sets the whole
    /// value, so any other bit is another launch). `None`: only the debug and
    /// migration-agent bits are checked.
    pub guest_policy: Option<u64>,
    /// HOST_DATA must be one of these (e.g. the SHA-256 of the runtime
    /// configuration). `None`: not checked.
    pub allowed_host_data: Option<Vec<[u8; 32]>>,
    /// Accept reports signed by a VLEK (cloud-provider key) instead of a VCEK.
    pub allow_vlek: bool,
    /// Lowest report version accepted; 3 by default (as Trustee). 2 is only
    /// ever accepted on Milan and Genoa (see the crate docs).
    pub min_report_version: u32,
    /// When the certificates must be valid; [`CertTime::Now`] by default.
    pub cert_time: CertTime,
    pub report_data: ReportDataCheck,
}

/// A policy input that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyError {
    /// Not 96 hex digits.
    MeasurementHex(String),
    /// A `--min-tcb` value that does not parse (the message says why).
    MinTcb(String),
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MeasurementHex(s) => write!(f, "measurement is not 96 hex digits: {s:?}"),
            Self::MinTcb(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for PolicyError {}

/// 96 hex digits (either case) as a 48-byte measurement.
pub fn parse_measurement(hex: &str) -> Result<[u8; 48], PolicyError> {
    let err = || PolicyError::MeasurementHex(hex.to_string());
    <[u8; 48]>::from_hex(hex.trim()).map_err(|_| err())
}

impl Policy {
    /// Strict defaults: VMPL 0, no debug, no migration agent, no VLEK,
    /// version 3+, certificates valid now, no measurement and no generation
    /// allowed yet.
    pub fn new(report_data: ReportDataCheck) -> Self {
        Self {
            allowed_measurements: Vec::new(),
            min_tcb: BTreeMap::new(),
            require_vmpl0: true,
            allow_debug: false,
            allow_migration_agent: false,
            guest_policy: None,
            allowed_host_data: None,
            allow_vlek: false,
            min_report_version: 3,
            cert_time: CertTime::Now,
            report_data,
        }
    }

    /// Adds allowed measurements given as hex (the manifest's form).
    pub fn with_measurements_hex<S: AsRef<str>>(mut self, list: &[S]) -> Result<Self, PolicyError> {
        for hex in list {
            self.allowed_measurements
                .push(parse_measurement(hex.as_ref())?);
        }
        Ok(self)
    }

    /// Sets the minimum REPORTED_TCB for one generation.
    pub fn with_min_tcb(mut self, generation: Generation, min: TcbVersion) -> Self {
        self.min_tcb.insert(generation, min);
        self
    }
}

/// The version rule (see the crate docs).
pub(crate) fn check_version(
    report: &AttestationReport,
    generation: Generation,
    policy: &Policy,
) -> Result<(), Refusal> {
    if report.version < policy.min_report_version {
        return Err(Refusal::new(
            ReasonCode::Version,
            format!(
                "report version {} is below the minimum {}",
                report.version, policy.min_report_version
            ),
        ));
    }
    if report.version == 2 && !matches!(generation, Generation::Milan | Generation::Genoa) {
        return Err(Refusal::new(
            ReasonCode::Version,
            format!("a version-2 report from {generation}: its TCB layout is not known"),
        ));
    }
    Ok(())
}

/// Guest-side checks, in a fixed order. Only called on a report whose
/// signature, chain and binding have been verified.
pub(crate) fn check(
    report: &AttestationReport,
    generation: Generation,
    policy: &Policy,
) -> Result<(), Refusal> {
    let refuse = |reason, detail: String| Err(Refusal::new(reason, detail));
    if policy.require_vmpl0 && report.vmpl != 0 {
        return refuse(
            ReasonCode::Vmpl,
            format!("report requested at VMPL {}", report.vmpl),
        );
    }
    if report.policy.debug_allowed() && !policy.allow_debug {
        return refuse(ReasonCode::Debug, "guest policy allows debugging".into());
    }
    if report.policy.migrate_ma_allowed() && !policy.allow_migration_agent {
        return refuse(
            ReasonCode::MigrationAgent,
            "guest policy allows a migration agent".into(),
        );
    }
    if let Some(want) = policy.guest_policy {
        if report.policy.0 != want {
            return refuse(
                ReasonCode::GuestPolicy,
                format!(
                    "report POLICY {:#x} is not the expected {want:#x}",
                    report.policy.0
                ),
            );
        }
    }
    let Some(min) = policy.min_tcb.get(&generation) else {
        return refuse(
            ReasonCode::Tcb,
            format!("no minimum TCB configured for {generation}"),
        );
    };
    if !report.reported_tcb.meets(min) {
        return refuse(
            ReasonCode::Tcb,
            format!("reported TCB {:?} is below {min:?}", report.reported_tcb),
        );
    }
    if !policy.allowed_measurements.contains(&report.measurement) {
        return refuse(
            ReasonCode::Measurement,
            format!(
                "measurement {} is not allowed",
                hex::encode(report.measurement)
            ),
        );
    }
    if let Some(allowed) = &policy.allowed_host_data {
        if !allowed.contains(&report.host_data) {
            return refuse(
                ReasonCode::HostData,
                format!(
                    "HOST_DATA {} is not an allowed runtime configuration digest",
                    hex::encode(report.host_data)
                ),
            );
        }
    }
    if let ReportDataCheck::Exact(want) = &policy.report_data {
        if report.report_data != *want {
            return refuse(
                ReasonCode::ReportData,
                format!(
                    "REPORT_DATA {} is not the expected value",
                    hex::encode(report.report_data)
                ),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
