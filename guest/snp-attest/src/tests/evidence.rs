use crate::sample_evidence;
use base64::Engine;

fn digest() -> [u8; 48] {
    core::array::from_fn(|i| 200 - i as u8)
}

#[test]
fn exact_shape() {
    let ev = sample_evidence(&[0xFB; 48], &[0xAB; 48]);
    // 48 bytes of 0xFB in standard base64 (with `+`/`/`, no padding needed).
    assert_eq!(
        ev,
        format!(
            r#"{{"svn":"1","report_data":"{}","measurement":"{}"}}"#,
            "+/v7".repeat(16),
            "ab".repeat(48)
        )
    );
}

#[test]
fn report_data_is_the_48_byte_digest_and_the_broker_accepts_it() {
    let digest = digest();
    let measurement: [u8; 48] = core::array::from_fn(|i| 0xF0 ^ i as u8);
    let json: serde_json::Value =
        serde_json::from_str(&sample_evidence(&digest, &measurement)).expect("JSON");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(json["report_data"].as_str().expect("string"))
        .expect("base64");
    // Exactly what Trustee's sample verifier compares: no zero padding.
    assert_eq!(decoded.len(), 48);
    assert_eq!(decoded, digest);
    assert_eq!(json["svn"], "1");
    assert_eq!(
        keybroker::sample::check(&json, &digest, &[measurement]).expect("accepted"),
        measurement
    );
    // Another measurement or another binding is refused by the same check.
    assert!(keybroker::sample::check(&json, &digest, &[[0; 48]]).is_err());
    assert!(keybroker::sample::check(&json, &[1; 48], &[measurement]).is_err());
}
