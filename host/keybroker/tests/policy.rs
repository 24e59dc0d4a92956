//! The manifest's whole policy is what the broker enforces: POLICY exactly,
//! a minimum TCB per generation (none known: refused), the report version,
//! HOST_DATA against the allowed runtime configurations; the command line
//! may only tighten it; sample evidence never leaves loopback.

mod common;

use common::*;
use serde_json::{json, Value};
use snp_report::evidence::{CertTableEntry, CertType, SnpEvidence};
use snp_report::AttestationReport;

fn milan() -> AttestationReport {
    AttestationReport::from_bytes(&vector("virtee-sev/certs_data/report_milan.hex"))
        .expect("report parses")
}

fn evidence(report: &AttestationReport) -> Value {
    serde_json::to_value(SnpEvidence {
        attestation_report: *report,
        cert_chain: Some(vec![CertTableEntry {
            cert_type: CertType::VCEK,
            data: vector("virtee-sev/certs_data/vcek_milan.der"),
        }]),
    })
    .expect("evidence JSON")
}

fn tcb(r: &AttestationReport) -> Value {
    let t = r.reported_tcb;
    json!({"bootloader": t.bootloader, "tee": t.tee, "snp": t.snp, "microcode": t.microcode})
}

/// A broker whose only manifest lists the Milan report's measurement, with
/// `policy` (version-2 reports allowed unless `policy` says otherwise).
fn broker(name: &str, policy: Value, extra: &[&str]) -> Broker {
    let dir = tmp_dir(name);
    let r = milan();
    let manifest = write_manifest_named(&dir, "manifest.json", &[r.measurement], policy);
    let resources = dir.join("resources");
    add_key(&resources, &dir, "repo/key/model");
    Broker::start_with(&manifest, &resources, extra)
}

/// Attests the real Milan report in a fresh snp session; returns the log
/// line of its refusal (it can never pass: its REPORT_DATA is not ours).
fn refusal_of(broker: &Broker, report: &AttestationReport) -> String {
    let guest = Guest::auth(broker, "snp");
    let r = guest.attest(broker, &guest.attestation(evidence(report)));
    assert_eq!(r.status, 401);
    broker.expect_log("REFUSED reason=")
}

#[test]
fn the_broker_refuses_a_report_whose_policy_differs_from_the_manifest() {
    let r = milan();
    // SMT (bit 16) flipped: neither the debug nor the migration-agent bit,
    // so only the exact comparison catches it.
    let other = r.policy.0 ^ (1 << 16);
    let b = broker(
        "policy-differs",
        json!({"guest_policy": format!("{other:#x}"), "min_report_version": 2, "min_tcb": {"milan": tcb(&r)}}),
        &[],
    );
    let line = refusal_of(&b, &r);
    assert!(line.contains("reason=guest-policy "), "{line}");
    assert!(line.contains(&format!("{:#x}", r.policy.0)), "{line}");

    // The same report against its own POLICY gets past every policy check
    // and stops only at the binding.
    let b = broker(
        "policy-equal",
        json!({"guest_policy": format!("{:#x}", r.policy.0), "min_report_version": 2, "min_tcb": {"milan": tcb(&r)}}),
        &[],
    );
    let line = refusal_of(&b, &r);
    assert!(line.contains("reason=report-data "), "{line}");
}

#[test]
fn no_known_minimum_tcb_refuses_and_host_data_is_checked() {
    let r = milan();
    let p = format!("{:#x}", r.policy.0);
    // No minimum for Milan in the manifest (one for Genoa only).
    let b = broker(
        "no-min",
        json!({"guest_policy": p, "min_report_version": 2, "min_tcb": {"genoa": tcb(&r)}}),
        &[],
    );
    assert!(b
        .log()
        .iter()
        .any(|l| l.contains("check tcb: Milan: none known, refused")));
    let line = refusal_of(&b, &r);
    assert!(
        line.contains("reason=tcb ") && line.contains("no minimum TCB"),
        "{line}"
    );

    // HOST_DATA must be one of the manifest's runtime configurations.
    let b = broker(
        "host-data",
        json!({"guest_policy": p, "min_report_version": 2, "min_tcb": {"milan": tcb(&r)},
               "runtime_config_sha256": ["11".repeat(32)]}),
        &[],
    );
    let line = refusal_of(&b, &r);
    assert!(line.contains("reason=host-data "), "{line}");
    let own = hex(&r.host_data);
    let b = broker(
        "host-data-ok",
        json!({"guest_policy": p, "min_report_version": 2, "min_tcb": {"milan": tcb(&r)},
               "runtime_config_sha256": ["11".repeat(32), own]}),
        &[],
    );
    let line = refusal_of(&b, &r);
    assert!(line.contains("reason=report-data "), "{line}");

    // A command-line pin narrows the allowed configurations.
    let b = broker(
        "host-data-cli",
        json!({"guest_policy": p, "min_report_version": 2, "min_tcb": {"milan": tcb(&r)}}),
        &["--config-sha256", &"22".repeat(32)],
    );
    assert!(b
        .log()
        .iter()
        .any(|l| l.contains("stricter: runtime configuration")));
    let line = refusal_of(&b, &r);
    assert!(line.contains("reason=host-data "), "{line}");
}

#[test]
fn the_command_line_only_tightens() {
    let dir = tmp_dir("tighten");
    let manifest = write_manifest_named(
        &dir,
        "manifest.json",
        &[M1],
        json!({"guest_policy": "0x30000",
               "min_tcb": {"milan": {"bootloader": 3, "tee": 0, "snp": 8, "microcode": 115}}}),
    );
    let resources = dir.join("resources");
    add_key(&resources, &dir, "repo/key/model");
    let serve = |extra: &[&str]| {
        let mut args = vec![
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--manifest",
            manifest.to_str().expect("utf-8"),
            "--resources",
            resources.to_str().expect("utf-8"),
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    for (extra, why) in [
        (
            &["--min-tcb", "milan:bl=3,tee=0,snp=7,ucode=200"][..],
            "may only raise",
        ),
        (
            &["--min-tcb", "genoa:bl=0,tee=0,snp=0,ucode=0"][..],
            "cannot add one",
        ),
        (&["--min-report-version", "2"][..], "may only raise"),
    ] {
        let out = serve(extra);
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(why), "{extra:?}: {stderr}");
    }
    // Raising is fine, and logged as such.
    let b = Broker::start_with(
        &manifest,
        &resources,
        &[
            "--min-tcb",
            "milan:bl=3,tee=0,snp=9,ucode=115",
            "--min-report-version",
            "4",
        ],
    );
    b.expect_log(
        "stricter: minimum TCB for Milan raised by --min-tcb to bl=3 tee=0 snp=9 ucode=115",
    );
    b.expect_log("stricter: report version at least 4");
    b.expect_log("check guest-policy: 0x30000 exactly");
}

#[test]
fn sample_evidence_never_listens_beyond_loopback() {
    let dir = tmp_dir("sample-loopback");
    let manifest = write_manifest(&dir, &[M1]);
    let resources = dir.join("resources");
    add_key(&resources, &dir, "repo/key/model");
    let out = run(&[
        "serve",
        "--listen",
        "0.0.0.0:0",
        "--allow-non-loopback",
        "--insecure-allow-sample",
        "--manifest",
        manifest.to_str().expect("utf-8"),
        "--resources",
        resources.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("loopback development only"), "{stderr}");
}
