//! `/attest` checks after the session's nonce has been taken: the nonce and
//! TEE key in runtime-data, the REPORT_DATA binding, and the evidence.

use std::path::PathBuf;

use appliance_manifest::VerifierPolicy;
use jwe::EcPublicKey;
use kbs_protocol::{Attestation, Tee, TeePubKey};
use snp_verify::{ReportDataCheck, SnpEvidence};

/// The SNP REPORT_DATA rule: the runtime digest right-padded with zeros to
/// the 64-byte field (Trustee's `regularize_data`), compared exactly.
pub fn snp_report_data_check(digest: &[u8; 48]) -> ReportDataCheck {
    let mut want = [0u8; 64];
    want[..48].copy_from_slice(digest);
    ReportDataCheck::Exact(want)
}

use crate::reason::{Reason, Refused};
use crate::session::Challenge;

pub struct Verifier {
    /// One per `--manifest` (appliance-manifest's policy, tightened by the
    /// command line): measurements, POLICY, TCB minimums, version, VLEK,
    /// runtime configurations. REPORT_DATA is set per attestation.
    pub policies: Vec<VerifierPolicy>,
    pub allow_sample: bool,
    /// `<chip_id hex>.der` VCEKs for evidence without a certificate table.
    pub vcek_dir: Option<PathBuf>,
}

/// A successful attestation.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub tee: Tee,
    pub measurement: [u8; 48],
    pub tee_key: EcPublicKey,
}

/// The guest's key: P-256 for ECDH-ES+A256KW (what the JWE is made for),
/// a point on the curve.
fn tee_key(key: &TeePubKey) -> Result<EcPublicKey, Refused> {
    let refuse = |why: &str| Refused::new(Reason::TeePubkey, why);
    let TeePubKey::EC { crv, alg, x, y } = key else {
        return Err(refuse("tee-pubkey is not an EC key"));
    };
    if crv != kbs_protocol::EC_P256_CRV || alg != kbs_protocol::ECDH_ES_A256KW {
        return Err(refuse("tee-pubkey is not P-256 with ECDH-ES+A256KW"));
    }
    EcPublicKey::from_jwk_coordinates(x, y).map_err(|_| refuse("tee-pubkey is not a P-256 point"))
}

impl Verifier {
    /// Checks `attestation` for the session whose nonce is `challenge`.
    pub fn attest(
        &self,
        challenge: &Challenge,
        attestation: &Attestation,
    ) -> Result<Verdict, Refused> {
        if attestation.runtime_data.nonce != challenge.nonce {
            return Err(Refused::new(
                Reason::NonceMismatch,
                "runtime-data nonce is not the session's",
            ));
        }
        // The appliance sends no init-data: its runtime configuration is
        // bound by HOST_DATA, which the manifest's policy checks.
        if attestation.init_data.is_some() {
            return Err(Refused::new(
                Reason::BadRequest,
                "init-data is not supported",
            ));
        }
        let tee_key = tee_key(&attestation.runtime_data.tee_pubkey)?;
        // Sample evidence carries this digest as is; SNP evidence padded.
        let digest = kbs_protocol::expected_runtime_digest(attestation)
            .map_err(|e| Refused::new(Reason::BadRequest, format!("runtime data: {e}")))?;
        let evidence = &attestation.tee_evidence.primary_evidence;
        let measurement = match challenge.tee {
            Tee::Snp => self.snp(evidence, &digest)?,
            // `/auth` already refuses sample without the flag; checked again
            // so no path can reach an acceptance without it.
            Tee::Sample if self.allow_sample => {
                crate::sample::check(evidence, &digest, &self.measurements())?
            }
            Tee::Sample => {
                return Err(Refused::new(
                    Reason::SampleRefused,
                    "sample evidence refused",
                ))
            }
            other => return Err(Refused::new(Reason::Tee, format!("tee {other}"))),
        };
        Ok(Verdict {
            tee: challenge.tee,
            measurement,
            tee_key,
        })
    }

    fn snp(&self, evidence: &serde_json::Value, digest: &[u8; 48]) -> Result<[u8; 48], Refused> {
        let ev: SnpEvidence = serde_json::from_value(evidence.clone())
            .map_err(|e| Refused::new(Reason::BadRequest, format!("snp evidence: {e}")))?;
        let fallback = self.vcek_for(&ev.attestation_report.chip_id);
        // The claimed measurement only picks the manifest; that manifest's
        // policy then requires the verified MEASUREMENT to be one of its own.
        let claimed = ev.attestation_report.measurement;
        let chosen = self
            .policies
            .iter()
            .find(|p| p.measurements.contains(&claimed))
            .or_else(|| self.policies.first())
            .ok_or_else(|| Refused::new(Reason::Internal, "no manifest"))?;
        let policy = chosen.snp_policy(snp_report_data_check(digest));
        let verified = snp_verify::verify_snp_evidence(&ev, fallback.as_deref(), &policy)?;
        Ok(verified.report.measurement)
    }

    /// Every manifest's launch digests.
    pub fn measurements(&self) -> Vec<[u8; 48]> {
        let mut out: Vec<[u8; 48]> = Vec::new();
        for m in self.policies.iter().flat_map(|p| &p.measurements) {
            if !out.contains(m) {
                out.push(*m);
            }
        }
        out
    }

    /// The VCEK stored for `chip_id`, if any. The chip id is unverified
    /// here; the verifier then requires the VCEK's hwID to equal it.
    fn vcek_for(&self, chip_id: &[u8; 64]) -> Option<Vec<u8>> {
        let dir = self.vcek_dir.as_ref()?;
        std::fs::read(dir.join(format!("{}.der", hex::encode(chip_id)))).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snp_report_data_is_the_digest_padded_to_64() {
        let digest: [u8; 48] = core::array::from_fn(|i| i as u8 + 1);
        let ReportDataCheck::Exact(want) = snp_report_data_check(&digest) else {
            panic!("SNP REPORT_DATA is always checked")
        };
        assert_eq!(want[..48], digest);
        assert_eq!(want[48..], [0u8; 16]);
        // The same bytes kbs-protocol gives the guest for its report.
        let key = kbs_protocol::ec_p256_tee_pubkey(
            "axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY".into(),
            "T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU".into(),
        );
        let nonce = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        let digest = kbs_protocol::runtime_data_digest(nonce, &key, "").expect("digest");
        assert_eq!(
            snp_report_data_check(&digest),
            ReportDataCheck::Exact(kbs_protocol::report_data(nonce, &key, "").expect("rd"))
        );
    }
}
