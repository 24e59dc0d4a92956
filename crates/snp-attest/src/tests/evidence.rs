use crate::sample_evidence;
use base64::Engine;

fn expected_binding() -> [u8; 64] {
    let mut rd = [0u8; 64];
    rd[..48].copy_from_slice(&core::array::from_fn::<u8, 48, _>(|i| 200 - i as u8));
    rd
}

#[test]
fn exact_shape() {
    let ev = sample_evidence(&[0xFB, 0xFF], &[0xAB; 48]);
    assert_eq!(
        ev,
        format!(
            r#"{{"svn":"1","report_data":"+/8=","measurement":"{}"}}"#,
            "ab".repeat(48)
        )
    );
}

#[test]
fn the_key_broker_accepts_it() {
    let expected = expected_binding();
    let measurement: [u8; 48] = core::array::from_fn(|i| 0xF0 ^ i as u8);
    // Both forms the broker takes: the 64-byte SNP form and the 48-byte digest.
    for rd in [&expected[..], &expected[..48]] {
        let json: serde_json::Value =
            serde_json::from_str(&sample_evidence(rd, &measurement)).expect("JSON");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(json["report_data"].as_str().expect("string"))
            .expect("base64");
        assert_eq!(decoded, rd);
        assert_eq!(json["svn"], "1");
        assert_eq!(
            keybroker::sample::check(&json, &expected, &[measurement]).expect("accepted"),
            measurement
        );
        // Another measurement or another binding is refused by the same check.
        assert!(keybroker::sample::check(&json, &expected, &[[0; 48]]).is_err());
        assert!(keybroker::sample::check(&json, &[1; 64], &[measurement]).is_err());
    }
}
