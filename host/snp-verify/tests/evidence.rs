//! The Trustee `snp` evidence path: JSON in, the same decisions out.

mod common;

use common::*;
use snp_verify::{
    verify_snp_evidence, AttestationReport, CertTableEntry, CertType, ReasonCode, SnpEvidence,
};

fn evidence(report: &str, chain: Option<Vec<CertTableEntry>>) -> SnpEvidence {
    let r = AttestationReport::from_bytes(&vector(report)).expect("parses");
    SnpEvidence {
        attestation_report: r,
        cert_chain: chain,
    }
}

fn vcek_entry(path: &str) -> CertTableEntry {
    CertTableEntry {
        cert_type: CertType::VCEK,
        data: vector(path),
    }
}

#[test]
fn json_evidence_with_vcek_verifies() {
    let ev = evidence(MILAN_REPORT, Some(vec![vcek_entry(MILAN_VCEK)]));
    let json = serde_json::to_string(&ev).expect("serialises");
    let back: SnpEvidence = serde_json::from_str(&json).expect("deserialises");
    let policy = policy_for(&vector(MILAN_REPORT));
    let v = verify_snp_evidence(&back, None, &policy).expect("verifies");
    assert_eq!(v.report, ev.attestation_report);
}

#[test]
fn vcek_from_elsewhere_when_chain_is_null() {
    let ev = evidence(TRUSTEE_REPORT, None);
    let policy = policy_for(&vector(TRUSTEE_REPORT));
    let r = verify_snp_evidence(&ev, None, &policy).expect_err("no VEK");
    assert_eq!(r.reason, ReasonCode::Certificate);
    verify_snp_evidence(&ev, Some(&vector(TRUSTEE_VCEK)), &policy).expect("verifies");
}

#[test]
fn edited_json_field_fails_the_signature() {
    let mut ev = evidence(TRUSTEE_REPORT, Some(vec![vcek_entry(TRUSTEE_VCEK)]));
    let policy = policy_for(&vector(TRUSTEE_REPORT));
    ev.attestation_report.measurement[0] ^= 1;
    let r = verify_snp_evidence(&ev, None, &policy).expect_err("refused");
    assert_eq!(r.reason, ReasonCode::ReportSignature);
}

#[test]
fn vlek_entry_and_supplied_ark() {
    let ark = pem_block(&vector("trustee/vendor-certs/milan_ask_ark_asvk.pem"), 1);
    let chain = vec![
        CertTableEntry {
            cert_type: CertType::ARK,
            data: ark,
        },
        CertTableEntry {
            cert_type: CertType::VLEK,
            data: vector(VLEK),
        },
    ];
    let ev = evidence(VLEK_REPORT, Some(chain));
    let mut policy = policy_for(&vector(VLEK_REPORT));
    let r = verify_snp_evidence(&ev, None, &policy).expect_err("refused");
    assert_eq!(r.reason, ReasonCode::VlekNotAllowed);
    policy.allow_vlek = true;
    policy.cert_time = while_vlek_valid();
    let r = verify_snp_evidence(&ev, None, &policy).expect_err("refused");
    assert_eq!(r.reason, ReasonCode::Vmpl);
}
