//! The hardware path with a real AMD Milan report and VCEK (from
//! ../shared/testdata/snp): the chain and signature really verify, so the
//! refusals below come from the manifest and the binding checks.

mod common;

use appliance_client::{verify, Manifest, Options, Reason, Refusal};
use common::fake::Fake;
use common::*;
use serving_api::document::{b64_encode, AttestationDocument, Certificate, Evidence};
use snp_report::AttestationReport;
use snp_verify::{Generation, ReasonCode, TcbVersion};

/// Serves the Milan report (with its VCEK unless `with_vcek` is false).
fn snp_fake(report: &[u8], with_vcek: bool) -> Fake {
    let fake = Fake::start(MEASUREMENT);
    {
        let mut s = fake.state();
        let certificates = if with_vcek {
            vec![Certificate {
                kind: "vcek".into(),
                der: b64_encode(&vector(MILAN_VCEK)),
            }]
        } else {
            Vec::new()
        };
        s.document = AttestationDocument {
            version: 1,
            evidence: Evidence::Snp {
                report: b64_encode(report),
                certificates,
            },
            ohttp_keys: b64_encode(&s.keys),
            boot_log: s.boot_log.clone(),
        }
        .to_json();
    }
    fake
}

/// Version-2 reports allowed: every real Milan vector is version 2.
fn v2() -> Options {
    Options {
        min_report_version: 2,
        ..Options::default()
    }
}

fn refusal(fake: &Fake, manifest: &Manifest, options: &Options) -> Refusal {
    let r = verify(&fake.url(), manifest, options).expect_err("refused");
    assert!(fake.seen().iter().all(|s| s.starts_with("GET ")));
    r
}

fn milan() -> (Vec<u8>, String) {
    let report = vector(MILAN_REPORT);
    let measurement = AttestationReport::from_bytes(&report)
        .expect("parses")
        .measurement;
    (report, hex(&measurement))
}

#[test]
fn a_real_report_whose_measurement_is_not_in_the_manifest_is_refused() {
    let (report, _) = milan();
    let fake = snp_fake(&report, true);
    let r = refusal(&fake, &manifest(&[MEASUREMENT]), &v2());
    assert_eq!(r.reason, Reason::Evidence(ReasonCode::Measurement), "{r}");
    // The strict default refuses a version-2 report before that.
    let r = refusal(&fake, &manifest(&[MEASUREMENT]), &Options::default());
    assert_eq!(r.reason, Reason::Evidence(ReasonCode::Version), "{r}");
}

#[test]
fn a_real_report_with_a_listed_measurement_is_refused_at_the_binding() {
    let (report, measurement) = milan();
    let fake = snp_fake(&report, true);
    let r = refusal(&fake, &manifest(&[MEASUREMENT, &measurement]), &v2());
    assert_eq!(r.reason, Reason::Evidence(ReasonCode::ReportData), "{r}");
    assert_eq!(r.reason.as_str(), "report-data");
}

#[test]
fn the_vcek_can_come_from_a_vcek_dir() {
    let (report, measurement) = milan();
    let fake = snp_fake(&report, false);
    let manifest = manifest(&[&measurement]);
    let r = refusal(&fake, &manifest, &v2());
    assert_eq!(r.reason, Reason::Evidence(ReasonCode::Certificate), "{r}");

    let dir = temp_dir();
    let chip_id = AttestationReport::from_bytes(&report)
        .expect("parses")
        .chip_id;
    std::fs::write(
        dir.join(format!("{}.der", hex(&chip_id))),
        vector(MILAN_VCEK),
    )
    .expect("write");
    let options = Options {
        vcek_dir: Some(dir),
        ..v2()
    };
    // Chain and signature pass with the cached VCEK; the binding does not.
    let r = refusal(&fake, &manifest, &options);
    assert_eq!(r.reason, Reason::Evidence(ReasonCode::ReportData), "{r}");
}

#[test]
fn a_tampered_report_fails_its_signature() {
    let (mut report, measurement) = milan();
    report[0x90] ^= 1; // first MEASUREMENT byte
    let fake = snp_fake(&report, true);
    let r = refusal(&fake, &manifest(&[&measurement]), &v2());
    assert_eq!(
        r.reason,
        Reason::Evidence(ReasonCode::ReportSignature),
        "{r}"
    );
}

#[test]
fn min_tcb_limits_generations_and_levels() {
    let (report, measurement) = milan();
    let fake = snp_fake(&report, true);
    let manifest = manifest(&[&measurement]);
    let tcb = |bl| TcbVersion {
        fmc: None,
        bootloader: bl,
        tee: 0,
        snp: 0,
        microcode: 0,
    };
    for min_tcb in [
        vec![(Generation::Genoa, tcb(0))],
        vec![(Generation::Milan, tcb(4))],
    ] {
        let options = Options { min_tcb, ..v2() };
        let r = refusal(&fake, &manifest, &options);
        assert_eq!(r.reason, Reason::Evidence(ReasonCode::Tcb), "{r}");
    }
    // At its own level the TCB passes and the binding is what fails.
    let options = Options {
        min_tcb: vec![(Generation::Milan, tcb(3))],
        ..v2()
    };
    let r = refusal(&fake, &manifest, &options);
    assert_eq!(r.reason, Reason::Evidence(ReasonCode::ReportData), "{r}");
}

#[test]
fn sample_evidence_never_passes_the_snp_path_checks_by_accident() {
    // --insecure does not weaken SNP checks.
    let (report, measurement) = milan();
    let fake = snp_fake(&report, true);
    let options = Options {
        insecure: true,
        ..v2()
    };
    let r = refusal(&fake, &manifest(&[&measurement]), &options);
    assert_eq!(r.reason, Reason::Evidence(ReasonCode::ReportData), "{r}");
}
