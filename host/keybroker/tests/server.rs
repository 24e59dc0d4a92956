//! The broker over HTTP on 127.0.0.1: the success path with sample evidence
//! and every refusal, each answered 401 and logged with its reason code.

mod common;

use common::*;
use serde_json::json;

const RESOURCE: &str = "/kbs/v0/resource/repo/key/model";

/// The one body every refusal gets.
fn assert_refused(r: &Response) {
    assert_eq!(r.status, 401, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        r.json(),
        json!({"type": "https://github.com/confidential-containers/kbs/errors/Unauthorized", "detail": "unauthorized"})
    );
}

#[test]
fn sample_evidence_releases_the_key_with_the_flag() {
    let (broker, dir) = Broker::start("success", &["--insecure-allow-sample"]);
    broker.expect_log("WARNING *** INSECURE: --insecure-allow-sample");
    let key = std::fs::read(dir.join("model.key")).expect("key");

    let guest = Guest::auth(&broker, "sample");
    assert_eq!(guest.cookie.len(), "kbs-session-id=".len() + 32);
    assert!(guest.cookie.starts_with("kbs-session-id="));
    assert_eq!(guest.nonce.len(), 44);

    let r = guest.attest(&broker, &guest.sample(&M2, &guest.digest()));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let token = r.json()["token"].as_str().expect("token").to_string();
    let (_, claims) = keybroker::token::decode_self_signed(&token).expect("token verifies");
    assert_eq!(claims["tee"], "sample");
    assert_eq!(claims["measurement"], hex(&M2));
    assert_eq!(claims["tee-pubkey"]["x"], guest.key.public_key().jwk_x());
    broker.expect_log("ACCEPTED UNSIGNED SAMPLE EVIDENCE");

    let r = guest.get(&broker, RESOURCE);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let jwe = jwe::Jwe::from_json(&r.body).expect("flattened JWE");
    let plain = jwe::decrypt(&jwe, &guest.key).expect("decrypts with the TEE key");
    assert_eq!(plain.as_slice(), key.as_slice());
    // Another key cannot open it.
    let other = jwe::EcPrivateKey::generate(&mut rand_core::OsRng);
    assert!(jwe::decrypt(&jwe, &other).is_err());
    broker.expect_log("released resource=repo/key/model");
    // Key bytes never reach the log.
    let log = broker.log().join("\n");
    assert!(!log.contains(&hex(&key)), "key in log");
}

#[test]
fn sample_report_data_is_exactly_the_48_byte_digest() {
    // Trustee's sample verifier compares the 48-byte SHA-384 without
    // padding; the broker is exactly as strict (issue 13).
    let (broker, _dir) = Broker::start("sample-length", &["--insecure-allow-sample"]);
    let guest = Guest::auth(&broker, "sample");
    let padded = guest.report_data();
    assert_eq!(padded[..48], guest.digest());
    assert_eq!(padded[48..], [0u8; 16]);
    assert_refused(&guest.attest(&broker, &guest.sample(&M1, &padded)));
    broker.expect_refusal("report-data");
    // The 48-byte form is accepted (a fresh session: the nonce is used up).
    let guest = Guest::auth(&broker, "sample");
    let r = guest.attest(&broker, &guest.sample(&M1, &guest.digest()));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

#[test]
fn snp_report_data_must_be_64_bytes() {
    // An SNP report always has the 64-byte field; evidence whose
    // report_data array holds only the 48-byte digest is not a report.
    let (broker, _dir) = Broker::start(
        "snp-length",
        &["--min-tcb", "milan:bl=0,tee=0,snp=0,ucode=0"],
    );
    let report = snp_report::AttestationReport::from_bytes(&vector(
        "virtee-sev/certs_data/report_milan.hex",
    ))
    .expect("report parses");
    let guest = Guest::auth(&broker, "snp");
    let evidence = snp_report::evidence::SnpEvidence {
        attestation_report: report,
        cert_chain: None,
    };
    let mut json = serde_json::to_value(&evidence).expect("evidence JSON");
    assert_eq!(
        json["attestation_report"]["report_data"]
            .as_array()
            .map(Vec::len),
        Some(64)
    );
    json["attestation_report"]["report_data"] =
        serde_json::to_value(guest.digest().to_vec()).expect("array");
    assert_refused(&guest.attest(&broker, &guest.attestation(json)));
    broker.expect_refusal("bad-request");
}

#[test]
fn sample_is_refused_without_the_flag() {
    let (broker, _dir) = Broker::start("no-sample", &[]);
    let r = broker.request("POST", "/kbs/v0/auth", None, Some(&request_json("sample")));
    assert_refused(&r);
    assert!(r.header("set-cookie").is_none());
    broker.expect_refusal("sample-refused");
    assert!(!broker.log().iter().any(|l| l.contains("INSECURE")));
}

#[test]
fn measurement_must_be_in_the_manifest() {
    let (broker, _dir) = Broker::start("measurement", &["--insecure-allow-sample"]);
    let guest = Guest::auth(&broker, "sample");
    let r = guest.attest(&broker, &guest.sample(&[0x33; 48], &guest.digest()));
    assert_refused(&r);
    broker.expect_refusal("measurement");
    // And the session stays unattested.
    assert_refused(&guest.get(&broker, RESOURCE));
    broker.expect_refusal("not-attested");
}

#[test]
fn report_data_must_bind_nonce_and_key() {
    let (broker, _dir) = Broker::start("binding", &["--insecure-allow-sample"]);
    // Bound to another TEE key than the one sent.
    let guest = Guest::auth(&broker, "sample");
    let mut other = Guest::auth(&broker, "sample");
    other.nonce = guest.nonce.clone();
    let r = guest.attest(&broker, &guest.sample(&M1, &other.digest()));
    assert_refused(&r);
    broker.expect_refusal("report-data");
    // A flipped bit.
    let guest = Guest::auth(&broker, "sample");
    let mut rd = guest.digest();
    rd[5] ^= 1;
    assert_refused(&guest.attest(&broker, &guest.sample(&M1, &rd)));
    assert_eq!(broker.count_log("REFUSED reason=report-data ", 2), 2);
}

#[test]
fn a_nonce_is_used_once() {
    let (broker, _dir) = Broker::start("replay", &["--insecure-allow-sample"]);
    let guest = Guest::auth(&broker, "sample");
    let body = guest.sample(&M1, &guest.digest());
    assert_eq!(guest.attest(&broker, &body).status, 200);
    assert_refused(&guest.attest(&broker, &body));
    broker.expect_refusal("nonce-replayed");
    // The same attestation in a new session: wrong nonce.
    let second = Guest::auth(&broker, "sample");
    let r = broker.request("POST", "/kbs/v0/attest", Some(&second.cookie), Some(&body));
    assert_refused(&r);
    broker.expect_refusal("nonce-mismatch");
    // A failed attempt uses the nonce up as well.
    let third = Guest::auth(&broker, "sample");
    assert_refused(&third.attest(&broker, "{}"));
    broker.expect_refusal("bad-request");
    assert_refused(&third.attest(&broker, &third.sample(&M1, &third.digest())));
    assert_eq!(broker.count_log("REFUSED reason=nonce-replayed ", 2), 2);
}

#[test]
fn a_nonce_expires() {
    let (broker, _dir) = Broker::start(
        "expiry",
        &["--insecure-allow-sample", "--nonce-ttl-secs", "1"],
    );
    let guest = Guest::auth(&broker, "sample");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_refused(&guest.attest(&broker, &guest.sample(&M1, &guest.digest())));
    broker.expect_refusal("nonce-expired");
}

#[test]
fn a_session_expires() {
    let (broker, _dir) = Broker::start(
        "session-expiry",
        &["--insecure-allow-sample", "--session-ttl-secs", "1"],
    );
    let guest = Guest::auth(&broker, "sample");
    assert_eq!(
        guest
            .attest(&broker, &guest.sample(&M1, &guest.digest()))
            .status,
        200
    );
    assert_eq!(guest.get(&broker, RESOURCE).status, 200);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_refused(&guest.get(&broker, RESOURCE));
    broker.expect_refusal("session-expired");
}

#[test]
fn resources_need_an_attested_session() {
    let (broker, _dir) = Broker::start("unattested", &["--insecure-allow-sample"]);
    assert_refused(&broker.request("GET", RESOURCE, None, None));
    broker.expect_refusal("no-session");
    assert_refused(&broker.request(
        "GET",
        RESOURCE,
        Some("kbs-session-id=0123456789abcdef0123456789abcdef"),
        None,
    ));
    let guest = Guest::auth(&broker, "sample");
    assert_refused(&guest.get(&broker, RESOURCE));
    broker.expect_refusal("not-attested");
    // Without a session even a missing resource is "no-session": nothing
    // can be learnt about paths.
    assert_refused(&broker.request("GET", "/kbs/v0/resource/no/such/thing", None, None));
    assert_eq!(broker.count_log("reason=no-session ", 3), 3);
}

#[test]
fn unknown_or_bad_resource_paths_are_refused_alike() {
    let (broker, _dir) = Broker::start("no-resource", &["--insecure-allow-sample"]);
    let guest = Guest::auth(&broker, "sample");
    assert_eq!(
        guest
            .attest(&broker, &guest.sample(&M1, &guest.digest()))
            .status,
        200
    );
    for path in [
        "/kbs/v0/resource/repo/key/other",
        "/kbs/v0/resource/repo/key/.hidden",
        "/kbs/v0/resource/repo/%2E%2E/model",
        "/kbs/v0/resource/repo/key%2Fx/model",
    ] {
        assert_refused(&guest.get(&broker, path));
    }
    assert_eq!(broker.count_log("reason=no-resource ", 4), 4);
    // Too many or too few segments do not match the route at all.
    assert_refused(&guest.get(&broker, "/kbs/v0/resource/repo/key"));
    broker.expect_refusal("no-route");
    // The real one still works in this session.
    assert_eq!(guest.get(&broker, RESOURCE).status, 200);
}

#[test]
fn protocol_errors_are_401() {
    let (broker, _dir) = Broker::start("protocol", &["--insecure-allow-sample"]);
    let auth = |body: &str| broker.request("POST", "/kbs/v0/auth", None, Some(body));
    assert_refused(&auth(
        r#"{"version":"0.1.1","tee":"snp","extra-params":{}}"#,
    ));
    broker.expect_refusal("version");
    assert_refused(&auth(&request_json("tdx")));
    broker.expect_refusal("tee");
    assert_refused(&auth("not json"));
    broker.expect_refusal("bad-request");
    assert_refused(&broker.request("GET", "/kbs/v0/auth", None, None));
    assert_refused(&broker.request("GET", "/", None, None));
    broker.expect_refusal("no-route");
    // A client-supplied version string is quoted in the log, not echoed raw.
    assert_refused(&auth(
        r#"{"version":"0.4.0\nkeybroker: INFO forged","tee":"snp","extra-params":{}}"#,
    ));
    assert!(!broker
        .log()
        .iter()
        .any(|l| l.starts_with("keybroker: INFO forged")));
    // A TEE key that is not P-256 ECDH-ES+A256KW.
    let guest = Guest::auth(&broker, "sample");
    let body = guest
        .sample(&M1, &guest.digest())
        .replace("ECDH-ES+A256KW", "RSA-OAEP");
    assert_refused(&guest.attest(&broker, &body));
    broker.expect_refusal("tee-pubkey");
}

#[test]
fn snp_evidence_goes_through_the_verifier() {
    // A real (version-2) Milan report with its VCEK in the cert table: it
    // verifies cryptographically, so the refusal comes from the policy.
    let (broker, _dir) = Broker::start("snp", &["--min-tcb", "milan:bl=0,tee=0,snp=0,ucode=0"]);
    let report = snp_report::AttestationReport::from_bytes(&vector(
        "virtee-sev/certs_data/report_milan.hex",
    ))
    .expect("report parses");
    let evidence = snp_report::evidence::SnpEvidence {
        attestation_report: report,
        cert_chain: Some(vec![snp_report::evidence::CertTableEntry {
            cert_type: snp_report::evidence::CertType::VCEK,
            data: vector("virtee-sev/certs_data/vcek_milan.der"),
        }]),
    };
    let guest = Guest::auth(&broker, "snp");
    let body = guest.attestation(serde_json::to_value(&evidence).expect("evidence JSON"));
    assert_refused(&guest.attest(&broker, &body));
    broker.expect_refusal("version");
    // Sample evidence in an snp session is not SNP evidence.
    let guest = Guest::auth(&broker, "snp");
    assert_refused(&guest.attest(&broker, &guest.sample(&M1, &guest.digest())));
    broker.expect_refusal("bad-request");
}

#[test]
fn a_vcek_dir_supplies_the_vcek() {
    let report = snp_report::AttestationReport::from_bytes(&vector(
        "virtee-sev/certs_data/report_milan.hex",
    ))
    .expect("report parses");
    let evidence = snp_report::evidence::SnpEvidence {
        attestation_report: report,
        cert_chain: None,
    };
    let evidence = serde_json::to_value(&evidence).expect("evidence JSON");
    // Without a VCEK the evidence cannot be verified at all.
    let (broker, dir) = Broker::start("no-vcek", &["--min-tcb", "milan:bl=0,tee=0,snp=0,ucode=0"]);
    let guest = Guest::auth(&broker, "snp");
    assert_refused(&guest.attest(&broker, &guest.attestation(evidence.clone())));
    broker.expect_refusal("certificate");
    drop(broker);
    // With the chip's VCEK on file it is verified (and refused for its
    // version-2 format, after the signature checks).
    let vceks = dir.join("vceks");
    std::fs::create_dir_all(&vceks).expect("mkdir");
    std::fs::write(
        vceks.join(format!("{}.der", hex(&report.chip_id))),
        vector("virtee-sev/certs_data/vcek_milan.der"),
    )
    .expect("write VCEK");
    let broker = Broker::start_with(
        &dir.join("manifest.json"),
        &dir.join("resources"),
        &[
            "--min-tcb",
            "milan:bl=0,tee=0,snp=0,ucode=0",
            "--vcek-dir",
            vceks.to_str().expect("utf-8"),
        ],
    );
    let guest = Guest::auth(&broker, "snp");
    assert_refused(&guest.attest(&broker, &guest.attestation(evidence)));
    broker.expect_refusal("version");
}

#[test]
fn serve_refuses_non_loopback_and_open_directories() {
    let dir = tmp_dir("serve-checks");
    let manifest = write_manifest(&dir, &[M1]);
    let resources = dir.join("resources");
    add_key(&resources, &dir, "repo/key/model");
    let m = manifest.to_str().expect("utf-8");
    let r = resources.to_str().expect("utf-8");
    // Refused before anything is bound.
    let out = run(&[
        "serve",
        "--listen",
        "0.0.0.0:0",
        "--manifest",
        m,
        "--resources",
        r,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a loopback address"));
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&resources, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--manifest",
        m,
        "--resources",
        r,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("chmod 700"));
    // An empty allow-list is a broken manifest.
    let empty = write_manifest(&dir, &[]);
    std::fs::set_permissions(&resources, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let out = run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--manifest",
        empty.to_str().expect("utf-8"),
        "--resources",
        r,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no launch_configurations"));
}
