//! The hardware path with a real AMD Milan report and VCEK (from
//! ../shared/testdata/snp): the chain and signature really verify, so the
//! refusals below come from the manifest's policy and the binding checks.
//! The report can never pass whole (its REPORT_DATA is not our binding), so
//! "accepted" here means it got past every policy check to `report-data`.

mod common;

use appliance_client::{verify, Manifest, Options, Reason, Refusal};
use appliance_manifest::Stricter;
use common::fake::Fake;
use common::*;
use serving_api::document::{b64_encode, AttestationDocument, BootEvent, Certificate, Evidence};
use snp_report::AttestationReport;
use snp_verify::{Generation, ReasonCode, TcbVersion};

/// Serves the Milan report (with its VCEK unless `with_vcek` is false) and a
/// boot log whose runtime-config digest is `config` (the report's HOST_DATA
/// unless told otherwise).
fn snp_fake_with(report: &[u8], with_vcek: bool, config: Option<String>) -> Fake {
    let fake = Fake::start(MEASUREMENT);
    let host_data = AttestationReport::from_bytes(report)
        .map(|r| hex(&r.host_data))
        .unwrap_or_else(|_| "00".repeat(32));
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
        let mut boot_log = s.boot_log.clone();
        for e in boot_log.iter_mut().filter(|e| e.event == "runtime-config") {
            e.digest = config.clone().unwrap_or_else(|| host_data.clone());
        }
        s.document = AttestationDocument {
            version: 1,
            evidence: Evidence::Snp {
                report: b64_encode(report),
                certificates,
            },
            ohttp_keys: b64_encode(&s.keys),
            boot_log,
        }
        .to_json();
    }
    fake
}

#[test]
fn the_largest_real_document_is_far_under_the_64_kib_limit() {
    // The Milan report with its VCEK and the whole ASK + ARK chain (PEM,
    // bigger than the DER a document carries) as certificates.
    let fake = snp_fake(&vector(MILAN_REPORT), true);
    let mut doc: AttestationDocument =
        serde_json::from_slice(&fake.state().document).expect("document");
    if let Evidence::Snp { certificates, .. } = &mut doc.evidence {
        let chain = vector("virtee-sev/certs_data/cert_chain_milan");
        for kind in ["ask", "ark"] {
            certificates.push(Certificate {
                kind: kind.into(),
                der: b64_encode(&chain),
            });
        }
    }
    let size = doc.to_json().len();
    assert!(size < 16 << 10, "{size} bytes");
}

fn snp_fake(report: &[u8], with_vcek: bool) -> Fake {
    snp_fake_with(report, with_vcek, None)
}

fn refusal(fake: &Fake, manifest: &Manifest, options: &Options) -> Refusal {
    let r = verify(&fake.url(), manifest, options).expect_err("refused");
    assert!(fake.seen().iter().all(|s| s.starts_with("GET ")));
    r
}

fn milan() -> (Vec<u8>, AttestationReport) {
    let report = vector(MILAN_REPORT);
    let parsed = AttestationReport::from_bytes(&report).expect("parses");
    (report, parsed)
}

fn tcb_json(t: &TcbVersion) -> String {
    format!(
        r#"{{"bootloader":{},"tee":{},"snp":{},"microcode":{}}}"#,
        t.bootloader, t.tee, t.snp, t.microcode
    )
}

/// A manifest listing `measurements` with the report's own POLICY, version-2
/// reports allowed (every real Milan vector is one) and `extra` policy
/// members (e.g. the minimum TCB).
fn manifest_for(r: &AttestationReport, measurements: &[&str], extra: &str) -> Manifest {
    let extra = format!(r#","min_report_version":2{extra}"#);
    Manifest::from_json(manifest_json_with(measurements, r.policy.0, None, &extra).as_bytes())
        .expect("manifest")
}

/// With the report's own TCB as Milan's minimum.
fn manifest_ok(r: &AttestationReport, measurements: &[&str]) -> Manifest {
    let min = format!(r#","min_tcb":{{"milan":{}}}"#, tcb_json(&r.reported_tcb));
    manifest_for(r, measurements, &min)
}

#[test]
fn a_real_report_is_refused_without_a_known_minimum_tcb_and_accepted_with_one() {
    let (report, r) = milan();
    let fake = snp_fake(&report, true);
    let m = hex(&r.measurement);
    // The manifest knows no minimum for Milan: refused at the TCB, whatever
    // the command line says (it cannot add one).
    let none = manifest_for(&r, &[&m], "");
    let reason = refusal(&fake, &none, &Options::default()).reason;
    assert_eq!(reason, Reason::Evidence(ReasonCode::Tcb));
    let genoa_only = manifest_for(
        &r,
        &[&m],
        &format!(r#","min_tcb":{{"genoa":{}}}"#, tcb_json(&r.reported_tcb)),
    );
    assert_eq!(
        refusal(&fake, &genoa_only, &Options::default()).reason,
        Reason::Evidence(ReasonCode::Tcb)
    );
    let add = Options {
        stricter: Stricter {
            min_tcb: vec![(Generation::Milan, TcbVersion::default())],
            ..Stricter::default()
        },
        ..Options::default()
    };
    assert_eq!(refusal(&fake, &none, &add).reason, Reason::Policy);
    // With the manifest's minimum it passes every policy check and stops
    // only at the binding.
    let r2 = refusal(&fake, &manifest_ok(&r, &[&m]), &Options::default());
    assert_eq!(r2.reason, Reason::Evidence(ReasonCode::ReportData), "{r2}");
}

#[test]
fn a_real_report_whose_measurement_is_not_in_the_manifest_is_refused() {
    let (report, r) = milan();
    let fake = snp_fake(&report, true);
    let refused = refusal(&fake, &manifest_ok(&r, &[MEASUREMENT]), &Options::default());
    assert_eq!(
        refused.reason,
        Reason::Evidence(ReasonCode::Measurement),
        "{refused}"
    );
    // A manifest at the default report version refuses version 2 first.
    let v3 = Manifest::from_json(
        manifest_json_with(
            &[MEASUREMENT],
            r.policy.0,
            None,
            &format!(r#","min_tcb":{{"milan":{}}}"#, tcb_json(&r.reported_tcb)),
        )
        .as_bytes(),
    )
    .expect("manifest");
    let refused = refusal(&fake, &v3, &Options::default());
    assert_eq!(
        refused.reason,
        Reason::Evidence(ReasonCode::Version),
        "{refused}"
    );
}

#[test]
fn a_real_report_with_another_policy_is_refused() {
    let (report, r) = milan();
    let fake = snp_fake(&report, true);
    let m = hex(&r.measurement);
    let min = format!(
        r#","min_report_version":2,"min_tcb":{{"milan":{}}}"#,
        tcb_json(&r.reported_tcb)
    );
    // SMT bit flipped: only the exact comparison catches it.
    let other = Manifest::from_json(
        manifest_json_with(&[&m], r.policy.0 ^ (1 << 16), None, &min).as_bytes(),
    )
    .expect("manifest");
    let refused = refusal(&fake, &other, &Options::default());
    assert_eq!(
        refused.reason,
        Reason::Evidence(ReasonCode::GuestPolicy),
        "{refused}"
    );
    assert_eq!(refused.reason.as_str(), "guest-policy");
}

#[test]
fn host_data_must_be_the_boot_logs_runtime_configuration() {
    let (report, r) = milan();
    let m = hex(&r.measurement);
    // The boot log names another configuration than HOST_DATA.
    let fake = snp_fake_with(&report, true, Some("ab".repeat(32)));
    let refused = refusal(&fake, &manifest_ok(&r, &[&m]), &Options::default());
    assert_eq!(
        refused.reason,
        Reason::Evidence(ReasonCode::HostData),
        "{refused}"
    );
    // HOST_DATA equals the boot log, but the manifest pins another one.
    let fake = snp_fake(&report, true);
    let pinned = manifest_for(
        &r,
        &[&m],
        &format!(
            r#","min_tcb":{{"milan":{}}},"runtime_config_sha256":["{}"]"#,
            tcb_json(&r.reported_tcb),
            "cd".repeat(32)
        ),
    );
    let refused = refusal(&fake, &pinned, &Options::default());
    assert_eq!(
        refused.reason,
        Reason::Evidence(ReasonCode::HostData),
        "{refused}"
    );
    assert!(refused.detail.contains("not allowed"), "{refused}");
    // Pinned to its own: past HOST_DATA to the binding.
    let own = manifest_for(
        &r,
        &[&m],
        &format!(
            r#","min_tcb":{{"milan":{}}},"runtime_config_sha256":["{}"]"#,
            tcb_json(&r.reported_tcb),
            hex(&r.host_data)
        ),
    );
    let refused = refusal(&fake, &own, &Options::default());
    assert_eq!(
        refused.reason,
        Reason::Evidence(ReasonCode::ReportData),
        "{refused}"
    );
    // A command-line pin narrows it again.
    let narrowed = Options {
        stricter: Stricter {
            runtime_config_sha256: vec![[0xcd; 32]],
            ..Stricter::default()
        },
        ..Options::default()
    };
    let refused = refusal(&fake, &manifest_ok(&r, &[&m]), &narrowed);
    assert_eq!(
        refused.reason,
        Reason::Evidence(ReasonCode::HostData),
        "{refused}"
    );
    // A boot log without a runtime-config event is refused outright.
    let fake = Fake::start(MEASUREMENT);
    {
        let mut s = fake.state();
        let boot_log: Vec<BootEvent> = s
            .boot_log
            .iter()
            .filter(|e| e.event != "runtime-config")
            .cloned()
            .collect();
        s.document = AttestationDocument {
            version: 1,
            evidence: Evidence::Snp {
                report: b64_encode(&report),
                certificates: Vec::new(),
            },
            ohttp_keys: b64_encode(&s.keys),
            boot_log,
        }
        .to_json();
    }
    let refused = refusal(&fake, &manifest_ok(&r, &[&m]), &Options::default());
    assert_eq!(
        refused.reason,
        Reason::Evidence(ReasonCode::HostData),
        "{refused}"
    );
}

#[test]
fn the_vcek_can_come_from_a_vcek_dir() {
    let (report, r) = milan();
    let fake = snp_fake(&report, false);
    let manifest = manifest_ok(&r, &[&hex(&r.measurement)]);
    let refused = refusal(&fake, &manifest, &Options::default());
    assert_eq!(
        refused.reason,
        Reason::Evidence(ReasonCode::Certificate),
        "{refused}"
    );

    let dir = temp_dir();
    std::fs::write(
        dir.join(format!("{}.der", hex(&r.chip_id))),
        vector(MILAN_VCEK),
    )
    .expect("write");
    let options = Options {
        vcek_dir: Some(dir),
        ..Options::default()
    };
    // Chain and signature pass with the cached VCEK; the binding does not.
    let refused = refusal(&fake, &manifest, &options);
    assert_eq!(
        refused.reason,
        Reason::Evidence(ReasonCode::ReportData),
        "{refused}"
    );
}

#[test]
fn a_tampered_report_fails_its_signature() {
    let (mut report, r) = milan();
    report[0x90] ^= 1; // first MEASUREMENT byte
    let fake = snp_fake(&report, true);
    let refused = refusal(
        &fake,
        &manifest_ok(&r, &[&hex(&r.measurement)]),
        &Options::default(),
    );
    assert_eq!(
        refused.reason,
        Reason::Evidence(ReasonCode::ReportSignature),
        "{refused}"
    );
}

#[test]
fn the_command_line_can_only_raise_the_minimum_tcb() {
    let (report, r) = milan();
    let fake = snp_fake(&report, true);
    let manifest = manifest_ok(&r, &[&hex(&r.measurement)]);
    let with = |min: TcbVersion| Options {
        stricter: Stricter {
            min_tcb: vec![(Generation::Milan, min)],
            ..Stricter::default()
        },
        ..Options::default()
    };
    let mut higher = r.reported_tcb;
    higher.bootloader += 1;
    let refused = refusal(&fake, &manifest, &with(higher));
    assert_eq!(
        refused.reason,
        Reason::Evidence(ReasonCode::Tcb),
        "{refused}"
    );
    let mut lower = r.reported_tcb;
    lower.bootloader = lower.bootloader.saturating_sub(1);
    assert_ne!(
        lower, r.reported_tcb,
        "the vector has a bootloader SVN above 0"
    );
    let refused = refusal(&fake, &manifest, &with(lower));
    assert_eq!(refused.reason, Reason::Policy, "{refused}");
    assert!(refused.detail.contains("may only raise"), "{refused}");
    // Its own level: past the TCB to the binding.
    let refused = refusal(&fake, &manifest, &with(r.reported_tcb));
    assert_eq!(
        refused.reason,
        Reason::Evidence(ReasonCode::ReportData),
        "{refused}"
    );
}

#[test]
fn sample_evidence_never_passes_the_snp_path_checks_by_accident() {
    // --insecure does not weaken SNP checks.
    let (report, r) = milan();
    let fake = snp_fake(&report, true);
    let options = Options {
        insecure: true,
        ..Options::default()
    };
    let refused = refusal(&fake, &manifest_ok(&r, &[&hex(&r.measurement)]), &options);
    assert_eq!(
        refused.reason,
        Reason::Evidence(ReasonCode::ReportData),
        "{refused}"
    );
}
