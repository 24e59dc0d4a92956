//! Host-side verification of an SEV-SNP attestation report for the key
//! broker: AMD certificate chain (ARK pinned per generation), report
//! signature, and [`Policy`].
//!
//! [`verify`] returns a [`VerifiedReport`] or a [`Refusal`] with a stable
//! [`ReasonCode`]. Checks run in this order, and the first failure wins:
//!
//! 1. `malformed`: the report is not 1184 bytes.
//! 2. `certificate`: VEK (or supplied ASK/ARK) is not DER or PEM X.509.
//! 3. `chain`: a supplied ARK is not a pinned root, or a supplied ASK is
//!    not signed by a pinned ARK (or not that generation's ASK/ASVK key).
//! 4. `vcek-signature`: no pinned generation's ASK (or ASVK) signed the
//!    VEK; `vlek-not-allowed`: an ASVK did and the policy forbids VLEKs. The
//!    chain that verifies fixes the processor generation (a VCEK of another
//!    generation than the report's therefore fails here when the report's
//!    ASK/ARK are supplied, and at step 6 otherwise).
//! 5. `certificate-validity`: the VEK, its ASK/ASVK or the ARK is outside
//!    its validity period at `Policy::cert_time` (default: now).
//! 6. `report-signature`: ECDSA P-384 / SHA-384 over bytes 0x000..0x2A0
//!    with the VEK key. Nothing in the report is read before this, so a
//!    change to any signed byte is refused here.
//! 7. `malformed` / `version`: strict parse (reserved bytes zero, known
//!    version; `snp_report`), SIG_ALGO = 1, and the version rule below.
//! 8. `generation`: from version 3 the report's CPUID must name the same
//!    generation as the chain.
//! 9. `vek-binding`: KEY_INFO names the kind of key that verified; the
//!    VEK's TCB extensions equal REPORTED_TCB (FMC on Turin); a VCEK's hwID
//!    equals CHIP_ID (8 bytes on Turin).
//! 10. Policy: `vmpl`, `debug`, `migration-agent`, `guest-policy` (POLICY
//!     exactly, when set), `tcb`, `measurement`, `host-data` (when set),
//!     `report-data`.
//!
//! # Version-2 reports
//! Version 2 has no CPUID fields, so the report cannot say which processor
//! (and TCB byte layout) produced it; Trustee refuses it for that reason.
//! Here the generation comes from the pinned chain that verifies the VEK,
//! which is cryptographic rather than guessed from CHIP_ID. The rule: a
//! version-2 report is accepted only if the policy's `min_report_version`
//! is 2 (the default, 3, refuses it with `version`) **and** its VEK chains to
//! Milan or Genoa, whose TCB layout is the one version 2 uses; one that
//! chains to Turin is refused with `version`.
//!
//! Not checked: CRLs, CURRENT_TCB and COMMITTED_TCB against a minimum.
//! HOST_DATA only when [`Policy::allowed_host_data`] is set. Validity periods
//! are checked, unlike in the `sev` crate and Trustee.
//!
//! Crypto: the `sev` crate (`crypto_nossl`, no OpenSSL) verifies the RSA-PSS
//! certificate signatures; p384 verifies the report on its raw bytes, and
//! x509-cert reads the VEK extensions, which `sev` does not expose.

mod binding;
mod cert;
mod chain;
mod evidence;
mod min_tcb;
mod policy;
mod reason;
mod roots;
mod signature;
mod validity;

pub use chain::VekKind;
pub use evidence::verify_snp_evidence;
pub use min_tcb::{describe_tcb, parse_min_tcb};
pub use policy::{parse_measurement, Policy, PolicyError, ReportDataCheck};
pub use reason::{ReasonCode, Refusal};
pub use snp_report::evidence::{CertTableEntry, CertType, SnpEvidence};
pub use snp_report::{AttestationReport, Generation, TcbVersion};
pub use validity::CertTime;

use snp_report::{ParseError, REPORT_LEN};

/// What the guest sent: the raw report and its endorsement certificates.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    /// The 1184-byte report.
    pub report: &'a [u8],
    /// VCEK or VLEK, DER or PEM.
    pub vek: &'a [u8],
    /// Optional ASK (or ASVK), DER or PEM; the pinned one otherwise.
    pub ask: Option<&'a [u8]>,
    /// Optional ARK, DER or PEM; must equal a pinned ARK.
    pub ark: Option<&'a [u8]>,
}

impl<'a> Evidence<'a> {
    /// A report and its VEK; ASK and ARK come from the pinned set.
    pub fn new(report: &'a [u8], vek: &'a [u8]) -> Self {
        Self {
            report,
            vek,
            ask: None,
            ark: None,
        }
    }
}

/// A report that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedReport {
    /// Parsed from the verified bytes (never from a JSON form).
    pub report: AttestationReport,
    /// The generation whose pinned chain endorsed the VEK.
    pub generation: Generation,
    pub vek_kind: VekKind,
}

fn parse_refusal(e: ParseError) -> Refusal {
    let reason = match e {
        ParseError::UnsupportedVersion(_) => ReasonCode::Version,
        _ => ReasonCode::Malformed,
    };
    Refusal::new(reason, e.to_string())
}

/// Checks a VCEK/VLEK (DER or PEM, optional ASK/ARK) against the pinned
/// roots alone: steps 2-4 of [`verify`] (no validity periods). Returns the
/// generation whose chain endorses it and the kind of key.
pub fn verify_chain(
    vek: &[u8],
    ask: Option<&[u8]>,
    ark: Option<&[u8]>,
    allow_vlek: bool,
) -> Result<(Generation, VekKind), Refusal> {
    let vek = cert::decode(vek, "VCEK/VLEK")?;
    let ask = ask.map(|c| cert::decode(c, "ASK")).transpose()?;
    let ark = ark.map(|c| cert::decode(c, "ARK")).transpose()?;
    let e = chain::resolve(&vek, ask.as_ref(), ark.as_ref(), allow_vlek)?;
    Ok((e.generation, e.kind))
}

/// Verifies `evidence` against the pinned AMD roots and `policy`.
pub fn verify(evidence: &Evidence<'_>, policy: &Policy) -> Result<VerifiedReport, Refusal> {
    let bytes: &[u8; REPORT_LEN] = evidence
        .report
        .try_into()
        .map_err(|_| parse_refusal(ParseError::Length(evidence.report.len())))?;
    let vek = cert::decode(evidence.vek, "VCEK/VLEK")?;
    let ask = evidence.ask.map(|c| cert::decode(c, "ASK")).transpose()?;
    let ark = evidence.ark.map(|c| cert::decode(c, "ARK")).transpose()?;
    let chain::Endorsement {
        generation,
        kind: vek_kind,
        intermediate,
        ark,
    } = chain::resolve(&vek, ask.as_ref(), ark.as_ref(), policy.allow_vlek)?;
    let used = [
        ("VCEK/VLEK", &vek),
        ("ASK/ASVK", &intermediate),
        ("ARK", &ark),
    ];
    validity::check(&used, policy.cert_time)?;
    signature::verify(&vek, bytes)?;

    let report = AttestationReport::from_bytes(bytes).map_err(parse_refusal)?;
    if report.sig_algo != 1 {
        return Err(Refusal::new(
            ReasonCode::ReportSignature,
            format!(
                "SIG_ALGO {} is not ECDSA P-384 with SHA-384",
                report.sig_algo
            ),
        ));
    }
    policy::check_version(&report, generation, policy)?;
    if report.version >= 3 && report.generation() != Some(generation) {
        return Err(Refusal::new(
            ReasonCode::Generation,
            format!(
                "report CPUID {:?}/{:?} is not a {generation} processor",
                report.cpuid_fam_id, report.cpuid_mod_id
            ),
        ));
    }
    binding::check(&report, generation, vek_kind, &vek)?;
    policy::check(&report, generation, policy)?;
    Ok(VerifiedReport {
        report,
        generation,
        vek_kind,
    })
}
