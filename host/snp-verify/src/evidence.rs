//! Verifying Trustee-shaped `snp` evidence (`SnpEvidence` JSON, deserialised
//! by the caller with serde).

use snp_report::evidence::{CertType, SnpEvidence};

use crate::policy::Policy;
use crate::reason::{ReasonCode, Refusal};
use crate::{verify, Evidence, VerifiedReport};

fn entry(ev: &SnpEvidence, pick: impl Fn(&CertType) -> bool) -> Option<&[u8]> {
    let chain = ev.cert_chain.as_deref()?;
    chain
        .iter()
        .find(|c| pick(&c.cert_type))
        .map(|c| c.data.as_slice())
}

/// Verifies `snp` evidence as Trustee receives it. The report is re-encoded
/// to its 1184 bytes and everything is checked on those bytes; fields the
/// bytes cannot carry are dropped, and [`VerifiedReport::report`] is parsed
/// from the signed bytes. The VEK is the first VCEK or VLEK in `cert_chain`
/// (as Trustee picks it), else `fallback_vek` (e.g. from an offline KDS
/// cache); ASK and ARK entries are used when present.
pub fn verify_snp_evidence(
    ev: &SnpEvidence,
    fallback_vek: Option<&[u8]>,
    policy: &Policy,
) -> Result<VerifiedReport, Refusal> {
    let bytes = ev.attestation_report.to_bytes();
    let vek = entry(ev, |t| matches!(t, CertType::VCEK | CertType::VLEK))
        .or(fallback_vek)
        .ok_or_else(|| {
            Refusal::new(
                ReasonCode::Certificate,
                "no VCEK or VLEK in the evidence and none supplied",
            )
        })?;
    let evidence = Evidence {
        report: &bytes,
        vek,
        ask: entry(ev, |t| *t == CertType::ASK),
        ark: entry(ev, |t| *t == CertType::ARK),
    };
    verify(&evidence, policy)
}
