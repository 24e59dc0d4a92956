//! Message shapes of KBS protocol 0.4.0 (docs/kbs.md 1.1-1.5)
//! and the resource path rule (Trustee ResourceDesc test cases).

use kbs_protocol::{
    error_information, snp_request, Attestation, AttestationToken, Challenge, ErrorInformation,
    ResourcePath, ResourcePathError, Tee, TeePubKey,
};

#[test]
fn snp_request_wire_form() {
    let json = serde_json::to_string(&snp_request()).expect("serialises");
    assert_eq!(json, r#"{"version":"0.4.0","tee":"snp","extra-params":{}}"#);
}

#[test]
fn challenge_from_trustee() {
    let c: Challenge = serde_json::from_str(
        r#"{"nonce":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","extra-params":""}"#,
    )
    .expect("parses");
    assert_eq!(c.nonce.len(), 44);
    assert_eq!(c.extra_params, "");
}

#[test]
fn attestation_wire_form() {
    let att: Attestation = serde_json::from_str(
        r#"{"init-data":null,
            "runtime-data":{"nonce":"n","tee-pubkey":{"kty":"EC","crv":"P-256","alg":"ECDH-ES+A256KW","x":"X","y":"Y"}},
            "tee-evidence":{"primary_evidence":{"a":1},"additional_evidence":""}}"#,
    )
    .expect("parses");
    assert!(matches!(att.runtime_data.tee_pubkey, TeePubKey::EC { .. }));
    let back = serde_json::to_value(&att).expect("serialises");
    assert_eq!(back["runtime-data"]["tee-pubkey"]["kty"], "EC");
    assert_eq!(back["tee-evidence"]["additional_evidence"], "");
    assert!(back["init-data"].is_null());
}

#[test]
fn tee_names() {
    let t: Tee = serde_json::from_str("\"snp\"").expect("parses");
    assert_eq!(t, Tee::Snp);
    assert!(serde_json::from_str::<Tee>("\"bogus\"").is_err());
}

#[test]
fn token_and_error_bodies() {
    let t: AttestationToken = serde_json::from_str(r#"{"token":"a.b.c"}"#).expect("parses");
    assert_eq!(t.token, "a.b.c");
    let e = error_information("PolicyDeny", "denied");
    let json = serde_json::to_string(&e).expect("serialises");
    assert_eq!(
        json,
        r#"{"type":"https://github.com/confidential-containers/kbs/errors/PolicyDeny","detail":"denied"}"#
    );
    let back: ErrorInformation = serde_json::from_str(&json).expect("parses");
    assert_eq!(back.detail, "denied");
}

#[test]
fn resource_paths_accepted() {
    for (path, parts) in [
        ("default/1/2", ("default", "1", "2")),
        ("repo/type/tag", ("repo", "type", "tag")),
        (
            "123--_default/1Abff-_/___-afds44BC",
            ("123--_default", "1Abff-_", "___-afds44BC"),
        ),
        ("1.ok/2ok./3...", ("1.ok", "2ok.", "3...")),
    ] {
        let p = ResourcePath::parse(path).expect(path);
        assert_eq!((p.repository(), p.kind(), p.tag()), parts);
        assert_eq!(p.to_string(), path);
    }
    let p = ResourcePath::parse("appliance/key/model").expect("valid");
    assert_eq!(p.url_path(), "/kbs/v0/resource/appliance/key/model");
}

#[test]
fn resource_paths_rejected() {
    use ResourcePathError::*;
    for (path, err) in [
        ("/1/2", BadStart),
        ("/repo/type/tag", SegmentCount),
        ("1/2", SegmentCount),
        ("a/b/c/d", SegmentCount),
        ("", SegmentCount),
        (".1.ok/2ok./3...", BadStart),
        ("1.ok/.2ok./3...", BadStart),
        ("1.ok/2ok./.3...", BadStart),
        ("a/../c", BadStart),
        ("a/b/", BadStart),
        ("a/b c/d", BadCharacter),
        ("a/b/c%2F", BadCharacter),
        ("a/b/\u{e9}", BadCharacter),
    ] {
        assert_eq!(ResourcePath::parse(path), Err(err), "{path:?}");
    }
}
