//! REPORT_DATA binding, known answer from docs/kbs.md section 1.7.

use kbs_protocol::{
    ec_p256_tee_pubkey, expected_report_data, expected_runtime_digest, report_data,
    runtime_data_digest, runtime_data_json, Attestation, TeePubKey, REPORT_DATA_LEN,
    RUNTIME_DIGEST_LEN,
};

const NONCE: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
/// The P-256 generator G as JWK coordinates.
const GX: &str = "axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY";
const GY: &str = "T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU";
const DIGEST: &str = "bc18735746472713c97d2b881e0a178e1b09bb652fd2a3d5e7945e756c7f14496d7cc1a29bf74a6b3bfe248691e5f3b4";

fn key() -> TeePubKey {
    ec_p256_tee_pubkey(GX.into(), GY.into())
}

#[test]
fn runtime_data_is_the_documented_string() {
    let json = runtime_data_json(NONCE, &key(), "").expect("canonical");
    assert_eq!(
        json,
        format!(
            "{{\"additional-evidence\":\"\",\"nonce\":\"{NONCE}\",\"tee-pubkey\":{{\"alg\":\"ECDH-ES+A256KW\",\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"{GX}\",\"y\":\"{GY}\"}}}}"
        )
    );
}

#[test]
fn report_data_known_answer() {
    let rd = report_data(NONCE, &key(), "").expect("canonical");
    assert_eq!(rd.len(), REPORT_DATA_LEN);
    assert_eq!(hex(&rd[..48]), DIGEST);
    assert_eq!(rd[48..], [0u8; 16]);
}

#[test]
fn sample_digest_is_the_unpadded_48_bytes() {
    // Trustee's sample verifier compares the decoded report_data to the
    // digest itself: 48 bytes, no padding.
    let digest = runtime_data_digest(NONCE, &key(), "").expect("canonical");
    assert_eq!(digest.len(), RUNTIME_DIGEST_LEN);
    assert_eq!(RUNTIME_DIGEST_LEN, 48);
    assert_eq!(hex(&digest), DIGEST);
}

#[test]
fn extra_jwk_members_are_not_hashed() {
    // Trustee hashes the parsed TeePubKey, so `use`/`kid` must drop out.
    let jwk = format!(
        r#"{{"kty":"EC","use":"enc","kid":"k1","crv":"P-256","alg":"ECDH-ES+A256KW","x":"{GX}","y":"{GY}"}}"#
    );
    let parsed: TeePubKey = serde_json::from_str(&jwk).expect("JWK parses");
    assert_eq!(
        hex(&report_data(NONCE, &parsed, "").expect("canonical")[..48]),
        DIGEST
    );
}

#[test]
fn broker_recomputes_the_same_report_data() {
    let body = format!(
        r#"{{"init-data":null,
            "runtime-data":{{"nonce":"{NONCE}","tee-pubkey":{{"kty":"EC","crv":"P-256","alg":"ECDH-ES+A256KW","x":"{GX}","y":"{GY}"}}}},
            "tee-evidence":{{"primary_evidence":{{"attestation_report":{{}}}},"additional_evidence":""}}}}"#
    );
    let att: Attestation = serde_json::from_str(&body).expect("attestation parses");
    assert_eq!(
        expected_report_data(&att).expect("canonical"),
        report_data(NONCE, &key(), "").expect("canonical")
    );
    assert_eq!(
        hex(&expected_runtime_digest(&att).expect("canonical")),
        DIGEST
    );
}

#[test]
fn every_input_changes_the_binding() {
    let base = report_data(NONCE, &key(), "").expect("canonical");
    let other_nonce = report_data("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=", &key(), "");
    let other_key = report_data(NONCE, &ec_p256_tee_pubkey(GY.into(), GX.into()), "");
    let other_extra = report_data(NONCE, &key(), "{}");
    for other in [other_nonce, other_key, other_extra] {
        assert_ne!(other.expect("canonical"), base);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
