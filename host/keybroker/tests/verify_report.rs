//! `keybroker verify-report` on the real AMD vectors in ../shared/testdata/snp.

mod common;

use std::path::{Path, PathBuf};

use base64::Engine;
use common::*;
use serde_json::json;

const MILAN_REPORT: &str = "virtee-sev/certs_data/report_milan.hex";
const MILAN_VCEK: &str = "virtee-sev/certs_data/vcek_milan.der";

struct Outcome {
    code: Option<i32>,
    last: String,
    stdout: String,
}

fn verify(args: &[&Path]) -> Outcome {
    verify_args(
        &args
            .iter()
            .map(|p| p.to_str().expect("utf-8"))
            .collect::<Vec<_>>(),
    )
}

fn verify_args(args: &[&str]) -> Outcome {
    let mut all = vec!["verify-report"];
    all.extend_from_slice(args);
    let out = run(&all);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    Outcome {
        code: out.status.code(),
        last: stdout.lines().last().unwrap_or_default().to_string(),
        stdout,
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

fn milan_measurement() -> String {
    let r = snp_report::AttestationReport::from_bytes(&vector(MILAN_REPORT)).expect("parses");
    hex(&r.measurement)
}

/// Allows `measurements`, the Milan vector's TCB and report version 2.
fn policy(dir: &Path, measurements: &[String]) -> PathBuf {
    let policy = json!({
        "allowed_measurements": measurements,
        "min_tcb": {"milan": {"bootloader": 3, "tee": 0, "snp": 8, "microcode": 115}},
        "min_report_version": 2,
    });
    write(dir, "policy.json", policy.to_string().as_bytes())
}

#[test]
fn milan_report_verifies_when_its_measurement_is_allowed() {
    let dir = tmp_dir("verify-ok");
    let report = write(&dir, "report.bin", &vector(MILAN_REPORT));
    let vcek = write(&dir, "vcek.der", &vector(MILAN_VCEK));
    let allow = policy(&dir, &[milan_measurement()]);
    let out = verify_args(&[
        "--report",
        report.to_str().expect("utf-8"),
        "--vcek",
        vcek.to_str().expect("utf-8"),
        "--policy",
        allow.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        (out.code, out.last.as_str()),
        (Some(0), "ok"),
        "{}",
        out.stdout
    );
    assert!(out
        .stdout
        .contains(&format!("measurement: {}", milan_measurement())));
    assert!(out.stdout.contains("generation: Milan"));

    // The hex file as given, a PEM VCEK, and the KDS chain file.
    let hex_report = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/snp")
        .join(MILAN_REPORT);
    let der = vector(MILAN_VCEK);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("ascii"))
        .collect();
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    );
    let pem = write(&dir, "vcek.pem", pem.as_bytes());
    let chain = write(
        &dir,
        "chain.pem",
        &vector("virtee-sev/certs_data/cert_chain_milan"),
    );
    let out = verify(&[
        Path::new("--report"),
        &hex_report,
        Path::new("--vcek"),
        &pem,
        Path::new("--chain"),
        &chain,
        Path::new("--policy"),
        &allow,
    ]);
    assert_eq!(
        (out.code, out.last.as_str()),
        (Some(0), "ok"),
        "{}",
        out.stdout
    );

    // Trustee evidence JSON carrying the VCEK in its cert table.
    let evidence = snp_report::evidence::SnpEvidence {
        attestation_report: snp_report::AttestationReport::from_bytes(&vector(MILAN_REPORT))
            .expect("parses"),
        cert_chain: Some(vec![snp_report::evidence::CertTableEntry {
            cert_type: snp_report::evidence::CertType::VCEK,
            data: der,
        }]),
    };
    let json = write(
        &dir,
        "evidence.json",
        &serde_json::to_vec(&evidence).expect("JSON"),
    );
    let out = verify(&[Path::new("--report"), &json, Path::new("--policy"), &allow]);
    assert_eq!(
        (out.code, out.last.as_str()),
        (Some(0), "ok"),
        "{}",
        out.stdout
    );
}

#[test]
fn measurement_not_allowed_is_refused() {
    let dir = tmp_dir("verify-measurement");
    let report = write(&dir, "report.bin", &vector(MILAN_REPORT));
    let vcek = write(&dir, "vcek.der", &vector(MILAN_VCEK));
    let other = policy(&dir, &[hex(&M1)]);
    let out = verify(&[
        Path::new("--report"),
        &report,
        Path::new("--vcek"),
        &vcek,
        Path::new("--policy"),
        &other,
    ]);
    assert_eq!(
        (out.code, out.last.as_str()),
        (Some(1), "refused: measurement"),
        "{}",
        out.stdout
    );

    // Measurements from a manifest when the policy lists none.
    let no_list = json!({"min_tcb": {"milan": {"bootloader": 3, "tee": 0, "snp": 8, "microcode": 115}}, "min_report_version": 2});
    let no_list = write(&dir, "nolist.json", no_list.to_string().as_bytes());
    let manifest = write_manifest(&dir, &[M1, M2]);
    let out = verify(&[
        Path::new("--report"),
        &report,
        Path::new("--vcek"),
        &vcek,
        Path::new("--policy"),
        &no_list,
        Path::new("--manifest"),
        &manifest,
    ]);
    assert_eq!(
        (out.code, out.last.as_str()),
        (Some(1), "refused: measurement"),
        "{}",
        out.stdout
    );

    // Without any policy: version 2 is below the default minimum of 3.
    let out = verify(&[Path::new("--report"), &report, Path::new("--vcek"), &vcek]);
    assert_eq!(
        (out.code, out.last.as_str()),
        (Some(1), "refused: version"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_flipped_byte_breaks_the_signature() {
    let dir = tmp_dir("verify-flip");
    let mut bytes = vector(MILAN_REPORT);
    bytes[0x90] ^= 0x01;
    let report = write(&dir, "report.bin", &bytes);
    let vcek = write(&dir, "vcek.der", &vector(MILAN_VCEK));
    let allow = policy(&dir, &[milan_measurement()]);
    let out = verify(&[
        Path::new("--report"),
        &report,
        Path::new("--vcek"),
        &vcek,
        Path::new("--policy"),
        &allow,
    ]);
    assert_eq!(
        (out.code, out.last.as_str()),
        (Some(1), "refused: report-signature"),
        "{}",
        out.stdout
    );
}

#[test]
fn invalid_certificates_are_refused() {
    let dir = tmp_dir("verify-vcek");
    let report = write(&dir, "report.bin", &vector(MILAN_REPORT));
    let allow = policy(&dir, &[milan_measurement()]);
    for (vcek, reason) in [
        (
            vector("trustee/verifier-snp/test-vcek-invalid-new.der"),
            "refused: vcek-signature",
        ),
        (
            vector("trustee/verifier-snp/test-vcek-invalid-legacy.der"),
            "refused: vcek-signature",
        ),
        // Another chip's valid VCEK: the report signature fails.
        (
            vector("trustee/verifier-snp/test-vcek.der"),
            "refused: report-signature",
        ),
        (b"not a certificate".to_vec(), "refused: certificate"),
    ] {
        let vcek = write(&dir, "vcek.der", &vcek);
        let out = verify(&[
            Path::new("--report"),
            &report,
            Path::new("--vcek"),
            &vcek,
            Path::new("--policy"),
            &allow,
        ]);
        assert_eq!(
            (out.code, out.last.as_str()),
            (Some(1), reason),
            "{}",
            out.stdout
        );
    }
    // No VCEK at all.
    let out = verify(&[
        Path::new("--report"),
        &report,
        Path::new("--policy"),
        &allow,
    ]);
    assert_eq!(
        (out.code, out.last.as_str()),
        (Some(1), "refused: certificate"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_vlek_report_is_refused() {
    let dir = tmp_dir("verify-vlek");
    let report = write(
        &dir,
        "report.bin",
        &vector("trustee/verifier-snp/test-vlek-report.bin"),
    );
    let vlek = write(
        &dir,
        "vlek.der",
        &vector("trustee/verifier-snp/test-vlek.der"),
    );
    let r = snp_report::AttestationReport::from_bytes(&vector(
        "trustee/verifier-snp/test-vlek-report.bin",
    ))
    .expect("parses");
    let base = json!({
        "allowed_measurements": [hex(&r.measurement)],
        "min_tcb": {"milan": {"bootloader": 0, "tee": 0, "snp": 0, "microcode": 0}},
    });
    let strict = write(&dir, "strict.json", base.to_string().as_bytes());
    let out = verify(&[
        Path::new("--report"),
        &report,
        Path::new("--vcek"),
        &vlek,
        Path::new("--policy"),
        &strict,
    ]);
    assert_eq!(
        (out.code, out.last.as_str()),
        (Some(1), "refused: vlek-not-allowed"),
        "{}",
        out.stdout
    );
    // VLEKs allowed: the VLEK has expired.
    let mut lax = base.clone();
    lax["allow_vlek"] = json!(true);
    let lax_path = write(&dir, "lax.json", lax.to_string().as_bytes());
    let out = verify(&[
        Path::new("--report"),
        &report,
        Path::new("--vcek"),
        &vlek,
        Path::new("--policy"),
        &lax_path,
    ]);
    assert_eq!(
        (out.code, out.last.as_str()),
        (Some(1), "refused: certificate-validity"),
        "{}",
        out.stdout
    );
    // Checked while it was valid: the report is from VMPL 1.
    lax["cert_time"] = json!(1_748_736_000u64);
    let lax_path = write(&dir, "lax.json", lax.to_string().as_bytes());
    let out = verify(&[
        Path::new("--report"),
        &report,
        Path::new("--vcek"),
        &vlek,
        Path::new("--policy"),
        &lax_path,
    ]);
    assert_eq!(
        (out.code, out.last.as_str()),
        (Some(1), "refused: vmpl"),
        "{}",
        out.stdout
    );
}

#[test]
fn unreadable_inputs_are_errors_not_verdicts() {
    let dir = tmp_dir("verify-io");
    let out = verify(&[Path::new("--report"), &dir.join("missing.bin")]);
    assert_eq!(out.code, Some(2));
    let bad = write(&dir, "bad-policy.json", br#"{"allowed_measurement":[]}"#);
    let report = write(&dir, "report.bin", &vector(MILAN_REPORT));
    let out = verify(&[Path::new("--report"), &report, Path::new("--policy"), &bad]);
    assert_eq!(out.code, Some(2));
    // A truncated report is a verdict: malformed.
    let short = write(&dir, "short.bin", &vector(MILAN_REPORT)[..1000]);
    let vcek = write(&dir, "vcek.der", &vector(MILAN_VCEK));
    let out = verify(&[Path::new("--report"), &short, Path::new("--vcek"), &vcek]);
    assert_eq!(
        (out.code, out.last.as_str()),
        (Some(1), "refused: malformed"),
        "{}",
        out.stdout
    );
}
