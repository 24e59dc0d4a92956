//! `verify` against the fake appliance: sample evidence passes only with
//! `insecure`, and each broken piece is refused with its own reason, before
//! anything but a GET was sent.

mod common;

use appliance_client::{verify, Manifest, Options, Reason, Refusal};
use common::fake::{boot_log, key, sample_document, Fake};
use common::*;
use serving_api::document::b64_encode;
use snp_verify::ReasonCode;

fn insecure() -> Options {
    Options {
        insecure: true,
        ..Options::default()
    }
}

fn refusal(fake: &Fake, manifest: &Manifest, options: &Options) -> Refusal {
    let r = verify(&fake.url(), manifest, options).expect_err("refused");
    assert!(
        fake.seen().iter().all(|s| s.starts_with("GET ")),
        "only GETs before verification: {:?}",
        fake.seen()
    );
    r
}

#[test]
fn sample_evidence_verifies_only_when_insecure() {
    let fake = Fake::start(MEASUREMENT);
    let manifest = manifest(&[OTHER_MEASUREMENT, MEASUREMENT]);
    let r = refusal(&fake, &manifest, &Options::default());
    assert_eq!(r.reason, Reason::SampleRefused, "{r}");

    let appliance = verify(&fake.url(), &manifest, &insecure()).expect("verifies");
    let s = appliance.summary();
    assert_eq!((s.tee.as_str(), s.insecure), ("sample", true));
    assert_eq!(s.measurement, MEASUREMENT);
    assert_eq!(s.launch_configurations, ["EPYC-v4, 2 vCPUs"]);
    assert_eq!(s.key.key_id, 1);
    assert_eq!(s.boot_log, boot_log());
    assert_eq!(s.binding, "ok");
    let text = s.lines().join("\n");
    assert!(text.contains("binding: ok"), "{text}");
    assert!(text.contains("UNSIGNED"), "{text}");
    assert_eq!(
        fake.seen(),
        [
            "GET /v1/attestation",
            "GET /.well-known/ohttp-gateway",
            "GET /v1/attestation",
            "GET /.well-known/ohttp-gateway"
        ]
    );
}

#[test]
fn measurement_not_in_the_manifest_is_refused() {
    let fake = Fake::start(MEASUREMENT);
    let r = refusal(&fake, &manifest(&[OTHER_MEASUREMENT]), &insecure());
    assert_eq!(r.reason, Reason::Evidence(ReasonCode::Measurement), "{r}");
    assert_eq!(r.reason.as_str(), "measurement");
}

#[test]
fn report_data_that_does_not_bind_the_keys_is_refused() {
    let fake = Fake::start(MEASUREMENT);
    {
        // Evidence bound to another key than the one served.
        let mut s = fake.state();
        let (_, other_keys) = key(1);
        let mut doc: serde_json::Value = serde_json::from_slice(&s.document).expect("json");
        let bound_elsewhere: serde_json::Value =
            serde_json::from_slice(&sample_document(&other_keys, &s.boot_log, MEASUREMENT))
                .expect("json");
        doc["evidence"] = bound_elsewhere["evidence"].clone();
        s.document = doc.to_string().into_bytes();
    }
    let r = refusal(&fake, &manifest(&[MEASUREMENT]), &insecure());
    assert_eq!(r.reason, Reason::Evidence(ReasonCode::ReportData), "{r}");
}

#[test]
fn a_changed_boot_log_breaks_the_binding() {
    let fake = Fake::start(MEASUREMENT);
    {
        let mut s = fake.state();
        let mut doc: serde_json::Value = serde_json::from_slice(&s.document).expect("json");
        doc["boot_log"][1]["digest"] = "33".repeat(48).into();
        s.document = doc.to_string().into_bytes();
    }
    let r = refusal(&fake, &manifest(&[MEASUREMENT]), &insecure());
    assert_eq!(r.reason, Reason::Evidence(ReasonCode::ReportData), "{r}");
}

#[test]
fn keys_endpoint_that_differs_from_the_document_is_refused() {
    let fake = Fake::start(MEASUREMENT);
    fake.state().keys_override = Some(key(1).1);
    let r = refusal(&fake, &manifest(&[MEASUREMENT]), &insecure());
    assert_eq!(r.reason, Reason::KeysMismatch, "{r}");
}

#[test]
fn unknown_tee_and_garbage_are_refused() {
    let fake = Fake::start(MEASUREMENT);
    let manifest = manifest(&[MEASUREMENT]);
    let keys = b64_encode(&fake.state().keys);
    let cases: [(String, Reason); 5] = [
        (
            format!(
                r#"{{"version":1,"evidence":{{"tee":"tdx","quote":"AA=="}},"ohttp_keys":"{keys}","boot_log":[]}}"#
            ),
            Reason::Tee,
        ),
        ("<html>not json</html>".into(), Reason::Document),
        (r#"{"version":1}"#.into(), Reason::Document),
        (
            format!(
                r#"{{"version":1,"evidence":{{"tee":"sample","svn":"1","report_data":"AA==","measurement":"{MEASUREMENT}"}},"ohttp_keys":"%%","boot_log":[]}}"#
            ),
            Reason::Document,
        ),
        (
            format!(
                r#"{{"version":1,"evidence":{{"tee":"sample","svn":"1","report_data":"AA==","measurement":"{MEASUREMENT}"}},"ohttp_keys":"{keys}","boot_log":[{{"event":"model","algorithm":"sha384","digest":"xyz"}}]}}"#
            ),
            Reason::Document,
        ),
    ];
    for (document, want) in cases {
        fake.state().document = document.clone().into_bytes();
        let r = refusal(&fake, &manifest, &insecure());
        assert_eq!(r.reason, want, "{document}: {r}");
    }
}

#[test]
fn a_document_over_64_kib_is_not_read() {
    // Valid JSON padded with whitespace: only its size is wrong.
    let fake = Fake::start(MEASUREMENT);
    let manifest = manifest(&[MEASUREMENT]);
    let mut document = fake.state().document.clone();
    document.resize(65 << 10, b' ');
    fake.state().document = document;
    let r = refusal(&fake, &manifest, &insecure());
    assert_eq!(r.reason, Reason::Connection, "{r}");
    // Just under the limit, the same document verifies.
    let mut document = fake.state().document.clone();
    document.truncate((64 << 10) - 1);
    fake.state().document = document;
    verify(&fake.url(), &manifest, &insecure()).expect("verifies");
}

#[test]
fn a_pinned_model_must_be_in_the_boot_log() {
    let fake = Fake::start(MEASUREMENT);
    let pinned = |digest: &str| {
        Manifest::from_json(manifest_json(&[MEASUREMENT], GUEST_POLICY, Some(digest)).as_bytes())
            .expect("manifest")
    };
    let ok = verify(&fake.url(), &pinned(&"22".repeat(48)), &insecure()).expect("model matches");
    assert_eq!(ok.summary().model_sha384, Some("22".repeat(48)));
    let r = refusal(&fake, &pinned(&"44".repeat(48)), &insecure());
    assert_eq!(r.reason, Reason::Model, "{r}");
}

#[test]
fn an_unreachable_appliance_is_a_connection_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let r = verify(
        &format!("http://127.0.0.1:{port}"),
        &manifest(&[MEASUREMENT]),
        &insecure(),
    )
    .expect_err("nothing listens");
    assert!(r.is_connection(), "{r}");
    let r = verify(
        "https://127.0.0.1:1",
        &manifest(&[MEASUREMENT]),
        &insecure(),
    )
    .expect_err("https is refused");
    assert!(r.is_connection(), "{r}");
}

#[test]
fn wrong_endpoint_answers_are_refused() {
    let fake = Fake::start(MEASUREMENT);
    // A key list without the required suite.
    let suite = ohttp::SymmetricSuite::new(
        ohttp::hpke::Kdf::HkdfSha256,
        ohttp::hpke::Aead::ChaCha20Poly1305,
    );
    let config =
        ohttp::KeyConfig::new(1, ohttp::hpke::Kem::X25519Sha256, vec![suite]).expect("key");
    let keys = ohttp::KeyConfig::encode_list(&[&config]).expect("encode");
    {
        let mut s = fake.state();
        s.document = sample_document(&keys, &boot_log(), MEASUREMENT);
        s.keys = keys;
    }
    let r = refusal(&fake, &manifest(&[MEASUREMENT]), &insecure());
    assert_eq!(r.reason, Reason::KeyConfig, "{r}");
}
