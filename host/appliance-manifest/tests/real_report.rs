//! The manifest's policy against a real AMD Milan report and its VCEK
//! (../shared/testdata/snp): refused when the manifest knows no minimum TCB
//! for Milan, accepted with one, refused when POLICY or HOST_DATA differ.

use appliance_manifest::{Manifest, Stricter};
use snp_verify::{AttestationReport, Evidence, ReasonCode, ReportDataCheck};

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata/snp/");

fn vector(path: &str) -> Vec<u8> {
    let full = format!("{VECTORS}{path}");
    let data = std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    if !path.ends_with(".hex") {
        return data;
    }
    let text = String::from_utf8(data).expect("ASCII");
    hex::decode(text.trim()).expect("hex")
}

fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// A manifest for the report's measurement; `policy_extra` is appended to
/// the `policy` object (version-2 reports allowed: the Milan vector is one).
fn manifest(r: &AttestationReport, guest_policy: u64, policy_extra: &str) -> Manifest {
    let json = format!(
        r#"{{"launch_configurations":[{{"vcpus":1,"vcpu_type":"EPYC-Milan","launch_digest":"{}"}}],
            "policy":{{"guest_policy":"{guest_policy:#x}","min_report_version":2{policy_extra}}}}}"#,
        hex(&r.measurement)
    );
    Manifest::from_json(json.as_bytes()).expect("manifest")
}

fn verdict(report: &[u8], m: &Manifest) -> Result<(), ReasonCode> {
    let policy = m
        .verifier_policy(&Stricter::default())
        .expect("policy")
        .snp_policy(ReportDataCheck::Skip);
    let vcek = vector("virtee-sev/certs_data/vcek_milan.der");
    snp_verify::verify(&Evidence::new(report, &vcek), &policy)
        .map(|_| ())
        .map_err(|e| e.reason)
}

fn tcb_json(t: &snp_verify::TcbVersion) -> String {
    format!(
        r#""bootloader":{},"tee":{},"snp":{},"microcode":{}"#,
        t.bootloader, t.tee, t.snp, t.microcode
    )
}

#[test]
fn a_real_report_needs_a_known_minimum_tcb() {
    let bytes = vector("virtee-sev/certs_data/report_milan.hex");
    let r = AttestationReport::from_bytes(&bytes).expect("parses");
    let p = r.policy.0;
    // No minimum for Milan: refused, whatever else matches.
    assert_eq!(verdict(&bytes, &manifest(&r, p, "")), Err(ReasonCode::Tcb));
    // A minimum for another generation only: still refused.
    let genoa = format!(
        r#","min_tcb":{{"genoa":{{{}}}}}"#,
        tcb_json(&r.reported_tcb)
    );
    assert_eq!(
        verdict(&bytes, &manifest(&r, p, &genoa)),
        Err(ReasonCode::Tcb)
    );
    // Milan at the report's own level: accepted.
    let milan = format!(
        r#","min_tcb":{{"milan":{{{}}}}}"#,
        tcb_json(&r.reported_tcb)
    );
    assert_eq!(verdict(&bytes, &manifest(&r, p, &milan)), Ok(()));
    // One above in the SNP component: refused.
    let mut higher = r.reported_tcb;
    higher.snp += 1;
    let above = format!(r#","min_tcb":{{"milan":{{{}}}}}"#, tcb_json(&higher));
    assert_eq!(
        verdict(&bytes, &manifest(&r, p, &above)),
        Err(ReasonCode::Tcb)
    );
}

#[test]
fn a_real_report_with_another_policy_or_host_data_is_refused() {
    let bytes = vector("virtee-sev/certs_data/report_milan.hex");
    let r = AttestationReport::from_bytes(&bytes).expect("parses");
    let milan = format!(
        r#","min_tcb":{{"milan":{{{}}}}}"#,
        tcb_json(&r.reported_tcb)
    );
    // SMT bit flipped: neither debug nor migration agent, still refused.
    let other = r.policy.0 ^ (1 << 16);
    assert_eq!(
        verdict(&bytes, &manifest(&r, other, &milan)),
        Err(ReasonCode::GuestPolicy)
    );
    let wrong_config = format!(
        r#"{milan},"runtime_config_sha256":["{}"]"#,
        "00".repeat(31) + "01"
    );
    assert_eq!(
        verdict(&bytes, &manifest(&r, r.policy.0, &wrong_config)),
        Err(ReasonCode::HostData)
    );
    let right_config = format!(
        r#"{milan},"runtime_config_sha256":["{}"]"#,
        hex(&r.host_data)
    );
    assert_eq!(
        verdict(&bytes, &manifest(&r, r.policy.0, &right_config)),
        Ok(())
    );
}
