//! The real AMD vectors: what verifies, and what is refused with which code.

mod common;

use common::*;
use snp_verify::{verify, verify_chain, Evidence, Generation, ReasonCode, VekKind};

fn reason(report: &[u8], vek: &[u8], policy: &snp_verify::Policy) -> ReasonCode {
    match verify(&Evidence::new(report, vek), policy) {
        Ok(v) => panic!("verified unexpectedly: {v:?}"),
        Err(r) => r.reason,
    }
}

#[test]
fn valid_milan_vcek_reports_verify() {
    for (report, vek) in [
        (MILAN_REPORT, MILAN_VCEK),
        (TRUSTEE_REPORT, TRUSTEE_VCEK),
        (AZ_REPORT, AZ_BUNDLE),
    ] {
        let bytes = vector(report);
        let v = verify(&Evidence::new(&bytes, &vector(vek)), &policy_for(&bytes))
            .unwrap_or_else(|r| panic!("{report}: {r}"));
        assert_eq!(v.generation, Generation::Milan, "{report}");
        assert_eq!(v.vek_kind, VekKind::Vcek, "{report}");
        assert_eq!(v.report.to_bytes().as_slice(), bytes.as_slice());
    }
}

#[test]
fn supplied_ask_and_ark_pem_verify() {
    let bytes = vector(MILAN_REPORT);
    let chain = vector("virtee-sev/certs_data/cert_chain_milan");
    let (ask, ark) = (pem_block(&chain, 0), pem_block(&chain, 1));
    let vek = vector(MILAN_VCEK);
    let ev = Evidence {
        report: &bytes,
        vek: &vek,
        ask: Some(&ask),
        ark: Some(&ark),
    };
    verify(&ev, &policy_for(&bytes)).expect("verifies");
    // The Azure bundle: VCEK, ASK, ARK as PEM.
    let az = vector(AZ_BUNDLE);
    let report = vector(AZ_REPORT);
    let ev = Evidence {
        report: &report,
        vek: &az,
        ask: Some(&pem_block(&az, 1)),
        ark: Some(&pem_block(&az, 2)),
    };
    verify(&ev, &policy_for(&report)).expect("verifies");
}

#[test]
fn turin_vcek_chains_to_the_pinned_turin_root() {
    let vek = vector(TURIN_VCEK);
    assert_eq!(
        verify_chain(&vek, None, None, false),
        Ok((Generation::Turin, VekKind::Vcek))
    );
    let chain = vector("virtee-sev/certs_data/cert_chain_turin");
    assert_eq!(
        verify_chain(
            &vek,
            Some(&pem_block(&chain, 0)),
            Some(&pem_block(&chain, 1)),
            false
        ),
        Ok((Generation::Turin, VekKind::Vcek))
    );
}

#[test]
fn vcek_from_another_generation_fails_on_the_chain() {
    let report = vector(MILAN_REPORT);
    let milan = vector("virtee-sev/certs_data/cert_chain_milan");
    let turin_vcek = vector(TURIN_VCEK);
    // With the report's (Milan) ASK/ARK the Turin VCEK is not endorsed.
    let ev = Evidence {
        report: &report,
        vek: &turin_vcek,
        ask: Some(&pem_block(&milan, 0)),
        ark: Some(&pem_block(&milan, 1)),
    };
    let r = verify(&ev, &policy_for(&report)).expect_err("refused");
    assert_eq!(r.reason, ReasonCode::VcekSignature, "{r}");
    // The Genoa ARK and ASK (a valid chain: the ASK is accepted under the
    // pinned Genoa ARK) do not endorse the Milan VCEK either.
    let genoa_ask = vector("virtee-sev/builtin/genoa/ask.pem");
    let genoa_ark = vector("virtee-sev/builtin/genoa/ark.pem");
    let r = verify_chain(
        &vector(MILAN_VCEK),
        Some(&genoa_ask),
        Some(&genoa_ark),
        false,
    )
    .expect_err("refused");
    assert_eq!(r.reason, ReasonCode::VcekSignature, "{r}");
    assert!(r.detail.contains("Genoa"), "{r}");
    // Only a Genoa root supplied: the Milan VCEK is not endorsed.
    let r = verify_chain(&vector(MILAN_VCEK), None, Some(&genoa_ark), false).expect_err("refused");
    assert_eq!(r.reason, ReasonCode::VcekSignature, "{r}");
    // Without a supplied chain the Turin chain endorses it, and the Milan
    // report's signature then fails.
    assert_eq!(
        reason(&report, &turin_vcek, &policy_for(&report)),
        ReasonCode::ReportSignature
    );
}

#[test]
fn mixed_or_foreign_intermediates_fail_on_the_chain() {
    let vek = vector(MILAN_VCEK);
    let milan_ark = vector("virtee-sev/builtin/milan/ark.pem");
    let turin_ask = vector("virtee-sev/builtin/turin/ask.pem");
    let milan_ask = vector("virtee-sev/builtin/milan/ask.pem");
    // Turin ASK under the Milan ARK.
    let r = verify_chain(&vek, Some(&turin_ask), Some(&milan_ark), false).expect_err("refused");
    assert_eq!(r.reason, ReasonCode::Chain, "{r}");
    // An ASK passed as the root.
    let r = verify_chain(&vek, None, Some(&milan_ask), false).expect_err("refused");
    assert_eq!(r.reason, ReasonCode::Chain, "{r}");
    // The VCEK passed as the ASK.
    let r = verify_chain(&vek, Some(&vek), None, false).expect_err("refused");
    assert_eq!(r.reason, ReasonCode::Chain, "{r}");
}

#[test]
fn certificates_must_be_valid_at_the_policy_time() {
    use std::time::{Duration, SystemTime};
    let report = vector(MILAN_REPORT);
    let vek = vector(MILAN_VCEK);
    let mut policy = policy_for(&report);
    // vcek_milan.der is valid 2023-04-03..2030-04-03.
    let at = |secs| snp_verify::CertTime::At(SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
    policy.cert_time = at(1_672_531_200); // 2023-01-01
    assert_eq!(
        reason(&report, &vek, &policy),
        ReasonCode::CertificateValidity
    );
    policy.cert_time = at(1_924_992_000); // 2031-01-01
    assert_eq!(
        reason(&report, &vek, &policy),
        ReasonCode::CertificateValidity
    );
    policy.cert_time = at(1_767_225_600); // 2026-01-01
    verify(&Evidence::new(&report, &vek), &policy).expect("valid then");
    let vlek_report = vector(VLEK_REPORT);
    let mut p = policy_for(&vlek_report);
    p.cert_time = snp_verify::CertTime::Unchecked;
    p.allow_vlek = true;
    p.require_vmpl0 = false;
    verify(&Evidence::new(&vlek_report, &vector(VLEK)), &p).expect("expired VLEK, unchecked");
}

#[test]
fn wrong_vcek_fails_the_report_signature() {
    let report = vector(MILAN_REPORT);
    assert_eq!(
        reason(&report, &vector(TRUSTEE_VCEK), &policy_for(&report)),
        ReasonCode::ReportSignature
    );
    let report = vector(TRUSTEE_REPORT);
    assert_eq!(
        reason(&report, &vector(MILAN_VCEK), &policy_for(&report)),
        ReasonCode::ReportSignature
    );
}

#[test]
fn invalid_trustee_vceks_fail_the_chain() {
    let report = vector(TRUSTEE_REPORT);
    for vek in [
        "trustee/verifier-snp/test-vcek-invalid-legacy.der",
        "trustee/verifier-snp/test-vcek-invalid-new.der",
    ] {
        assert_eq!(
            reason(&report, &vector(vek), &policy_for(&report)),
            ReasonCode::VcekSignature,
            "{vek}"
        );
    }
}

#[test]
fn garbage_certificates_and_lengths() {
    let report = vector(TRUSTEE_REPORT);
    let policy = policy_for(&report);
    assert_eq!(
        reason(&report, b"not a cert", &policy),
        ReasonCode::Certificate
    );
    assert_eq!(
        reason(
            &report,
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            &policy
        ),
        ReasonCode::Certificate
    );
    assert_eq!(
        reason(&report[..1183], &vector(TRUSTEE_VCEK), &policy),
        ReasonCode::Malformed
    );
}

#[test]
fn vlek_report_is_refused() {
    let report = vector(VLEK_REPORT);
    let vlek = vector(VLEK);
    let mut policy = policy_for(&report);
    assert_eq!(reason(&report, &vlek, &policy), ReasonCode::VlekNotAllowed);
    policy.allow_vlek = true;
    // It expired on 2025-12-10.
    assert_eq!(
        reason(&report, &vlek, &policy),
        ReasonCode::CertificateValidity
    );
    policy.cert_time = while_vlek_valid();
    assert_eq!(reason(&report, &vlek, &policy), ReasonCode::Vmpl);
    // Everything else about it holds: chain via the Milan ASVK, signature,
    // CPUID generation and the VLEK's TCB extensions.
    policy.require_vmpl0 = false;
    let v = verify(&Evidence::new(&report, &vlek), &policy).expect("verifies");
    assert_eq!(
        (v.generation, v.vek_kind),
        (Generation::Milan, VekKind::Vlek)
    );
    assert_eq!(v.report.vmpl, 1);
}

#[test]
fn version_2_rule() {
    let report = vector(TRUSTEE_REPORT);
    let vek = vector(TRUSTEE_VCEK);
    let mut policy = policy_for(&report);
    policy.min_report_version = 3; // the default, as Trustee
    let r = verify(&Evidence::new(&report, &vek), &policy).expect_err("refused");
    assert_eq!(r.reason, ReasonCode::Version, "{r}");
    policy.min_report_version = 2;
    verify(&Evidence::new(&report, &vek), &policy).expect("Milan v2 accepted when allowed");
    // A v3 report passes with the default minimum.
    let v3 = vector(VLEK_REPORT);
    let mut policy = policy_for(&v3);
    policy.min_report_version = 3;
    policy.allow_vlek = true;
    policy.require_vmpl0 = false;
    policy.cert_time = while_vlek_valid();
    verify(&Evidence::new(&v3, &vector(VLEK)), &policy).expect("v3 accepted");
}

#[test]
fn policy_refusals_on_real_reports() {
    let report = vector(MILAN_REPORT);
    let vek = vector(MILAN_VCEK);
    let base = policy_for(&report);

    let mut p = base.clone();
    p.allowed_measurements = vec![[0u8; 48]];
    assert_eq!(reason(&report, &vek, &p), ReasonCode::Measurement);

    let mut p = base.clone();
    p.min_tcb.get_mut(&Generation::Milan).expect("set").snp += 1;
    assert_eq!(reason(&report, &vek, &p), ReasonCode::Tcb);

    let mut p = base.clone();
    p.min_tcb.clear();
    p.min_tcb.insert(Generation::Genoa, Default::default());
    assert_eq!(reason(&report, &vek, &p), ReasonCode::Tcb);

    let mut p = base.clone();
    p.report_data = snp_verify::ReportDataCheck::padded(&[0xAB; 48]).expect("fits");
    assert_eq!(reason(&report, &vek, &p), ReasonCode::ReportData);
}

/// Any change to a signed byte is refused as `report-signature`, whatever
/// field it hits, because the signature is checked before the report is
/// parsed. Every 5th byte plus every field boundary keeps the test quick.
#[test]
fn flipped_signed_byte_fails_the_report_signature() {
    let report = vector(TRUSTEE_REPORT);
    let vek = vector(TRUSTEE_VCEK);
    let policy = policy_for(&report);
    let fields = [
        0x000, 0x004, 0x008, 0x010, 0x020, 0x030, 0x034, 0x038, 0x040, 0x048, 0x04C, 0x050, 0x090,
        0x0C0, 0x0E0, 0x110, 0x140, 0x160, 0x180, 0x188, 0x1A0, 0x1E0, 0x1E8, 0x1F0, 0x1F8, 0x29F,
    ];
    let mut offsets: Vec<usize> = (0..0x2A0).step_by(5).chain(fields).collect();
    // r and s themselves.
    offsets.extend([0x2A0, 0x2A0 + 47, 0x2E8, 0x2E8 + 47]);
    for at in offsets {
        let mut b = report.clone();
        b[at] ^= 0x01;
        assert_eq!(
            reason(&b, &vek, &policy),
            ReasonCode::ReportSignature,
            "offset {at:#x}"
        );
    }
}

#[test]
fn unsigned_area_is_parsed_after_the_signature() {
    let report = vector(TRUSTEE_REPORT);
    let vek = vector(TRUSTEE_VCEK);
    let policy = policy_for(&report);
    // Zero-extension bytes of r: not part of a P-384 scalar.
    let mut b = report.clone();
    b[0x2A0 + 60] = 1;
    assert_eq!(reason(&b, &vek, &policy), ReasonCode::ReportSignature);
    // The reserved tail after s is outside the signature: strict parse.
    let mut b = report.clone();
    b[0x400] = 1;
    assert_eq!(reason(&b, &vek, &policy), ReasonCode::Malformed);
}

/// A report whose DEBUG bit is set by editing loses its signature first:
/// the full path never reaches the policy (tested alone in src/policy/tests.rs).
#[test]
fn edited_debug_bit_fails_on_the_signature_first() {
    let report = vector(MILAN_REPORT);
    let mut b = report.clone();
    b[0x008 + 2] |= 0x08; // POLICY bit 19
    let mut policy = policy_for(&report);
    policy.allow_debug = false;
    assert_eq!(
        reason(&b, &vector(MILAN_VCEK), &policy),
        ReasonCode::ReportSignature
    );
}

#[test]
fn refusal_codes_are_stable_strings() {
    let codes = [
        (ReasonCode::Malformed, "malformed"),
        (ReasonCode::Certificate, "certificate"),
        (ReasonCode::Chain, "chain"),
        (ReasonCode::CertificateValidity, "certificate-validity"),
        (ReasonCode::VcekSignature, "vcek-signature"),
        (ReasonCode::VlekNotAllowed, "vlek-not-allowed"),
        (ReasonCode::ReportSignature, "report-signature"),
        (ReasonCode::Version, "version"),
        (ReasonCode::Generation, "generation"),
        (ReasonCode::VekBinding, "vek-binding"),
        (ReasonCode::Vmpl, "vmpl"),
        (ReasonCode::Debug, "debug"),
        (ReasonCode::MigrationAgent, "migration-agent"),
        (ReasonCode::Tcb, "tcb"),
        (ReasonCode::Measurement, "measurement"),
        (ReasonCode::ReportData, "report-data"),
    ];
    for (code, s) in codes {
        assert_eq!(code.as_str(), s);
        assert_eq!(code.to_string(), s);
    }
}
