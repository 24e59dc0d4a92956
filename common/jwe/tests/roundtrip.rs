//! Round trips and rejection of every kind of modification.

mod common;

use common::{b64, unb64};
use jwe::{decrypt, encrypt, EcPrivateKey, Jwe, JweError};
use rand_core::OsRng;

fn setup(plaintext: &[u8]) -> (EcPrivateKey, Jwe) {
    let key = EcPrivateKey::generate(&mut OsRng);
    let jwe = encrypt(&key.public_key(), plaintext, &mut OsRng).expect("encrypts");
    (key, jwe)
}

#[test]
fn round_trips_at_several_sizes() {
    for len in [0usize, 1, 15, 16, 17, 32, 1000, 65_537] {
        let plaintext: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        let (key, jwe) = setup(&plaintext);
        assert_eq!(jwe.ciphertext.len(), len);
        assert_eq!(decrypt(&jwe, &key).expect("decrypts").as_slice(), plaintext);
        let via_json = Jwe::from_json(jwe.to_json().as_bytes()).expect("json parses");
        assert_eq!(via_json, jwe);
        let compact = jwe.to_compact().expect("no aad");
        let via_compact = Jwe::from_compact(&compact).expect("compact parses");
        assert_eq!(
            decrypt(&via_compact, &key).expect("decrypts").as_slice(),
            plaintext
        );
    }
}

#[test]
fn fresh_randomness_per_message() {
    let key = EcPrivateKey::generate(&mut OsRng);
    let a = encrypt(&key.public_key(), b"same", &mut OsRng).expect("encrypts");
    let b = encrypt(&key.public_key(), b"same", &mut OsRng).expect("encrypts");
    assert_ne!(a.protected, b.protected);
    assert_ne!(a.encrypted_key, b.encrypted_key);
    assert_ne!(a.iv, b.iv);
}

#[test]
fn wire_form_is_the_kbs_response() {
    let (_, jwe) = setup(b"x");
    let v: serde_json::Value = serde_json::from_str(&jwe.to_json()).expect("json");
    let keys: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(|k| k.as_str())
        .collect();
    let mut expected = vec!["ciphertext", "encrypted_key", "iv", "protected", "tag"];
    expected.sort();
    let mut keys = keys;
    keys.sort();
    assert_eq!(keys, expected);
    let header: serde_json::Value =
        serde_json::from_slice(&unb64(&jwe.protected)).expect("header json");
    assert_eq!(header["alg"], "ECDH-ES+A256KW");
    assert_eq!(header["enc"], "A256GCM");
    assert_eq!(header["epk"]["kty"], "EC");
    assert_eq!(header["epk"]["crv"], "P-256");
}

#[test]
fn every_bit_of_tag_ciphertext_iv_and_key_matters() {
    let (key, jwe) = setup(b"the model key, 32 bytes long....");
    for i in 0..jwe.tag.len() * 8 {
        let mut t = jwe.clone();
        t.tag[i / 8] ^= 1 << (i % 8);
        assert_eq!(decrypt(&t, &key), Err(JweError::Decrypt));
    }
    for i in 0..jwe.ciphertext.len() * 8 {
        let mut t = jwe.clone();
        t.ciphertext[i / 8] ^= 1 << (i % 8);
        assert_eq!(decrypt(&t, &key), Err(JweError::Decrypt));
    }
    for i in 0..jwe.iv.len() * 8 {
        let mut t = jwe.clone();
        t.iv[i / 8] ^= 1 << (i % 8);
        assert_eq!(decrypt(&t, &key), Err(JweError::Decrypt));
    }
    for i in 0..jwe.encrypted_key.len() * 8 {
        let mut t = jwe.clone();
        t.encrypted_key[i / 8] ^= 1 << (i % 8);
        assert_eq!(decrypt(&t, &key), Err(JweError::KeyUnwrap));
    }
}

#[test]
fn truncation_and_extension_fail() {
    let (key, jwe) = setup(b"some secret bytes");
    let mut t = jwe.clone();
    t.ciphertext.pop();
    assert_eq!(decrypt(&t, &key), Err(JweError::Decrypt));
    let mut t = jwe.clone();
    t.ciphertext.push(0);
    assert_eq!(decrypt(&t, &key), Err(JweError::Decrypt));
    let mut t = jwe.clone();
    t.tag.pop();
    assert_eq!(decrypt(&t, &key), Err(JweError::Length("tag")));
    let mut t = jwe.clone();
    t.iv.push(0);
    assert_eq!(decrypt(&t, &key), Err(JweError::Length("iv")));
    let mut t = jwe.clone();
    t.encrypted_key.truncate(32);
    assert_eq!(decrypt(&t, &key), Err(JweError::Length("encrypted_key")));
}

fn header_json(jwe: &Jwe) -> serde_json::Value {
    serde_json::from_slice(&unb64(&jwe.protected)).expect("header json")
}

fn with_header(jwe: &Jwe, header: &serde_json::Value) -> Jwe {
    let mut t = jwe.clone();
    t.protected = b64(serde_json::to_string(header).expect("json").as_bytes());
    t
}

#[test]
fn header_changes_fail() {
    let (key, jwe) = setup(b"secret");
    // Same meaning, different bytes: the AAD no longer matches.
    let mut h = header_json(&jwe);
    h["kid"] = "x".into();
    assert_eq!(
        decrypt(&with_header(&jwe, &h), &key),
        Err(JweError::Decrypt)
    );
    // Same JSON with whitespace: also a different AAD.
    let mut t = jwe.clone();
    let pretty = serde_json::to_string_pretty(&header_json(&jwe)).expect("json");
    t.protected = b64(pretty.as_bytes());
    assert_eq!(decrypt(&t, &key), Err(JweError::Decrypt));
    // apu changes the KEK: the unwrap fails.
    let mut h = header_json(&jwe);
    h["apu"] = b64(b"Alice").into();
    assert_eq!(
        decrypt(&with_header(&jwe, &h), &key),
        Err(JweError::KeyUnwrap)
    );
    // Another (valid) epk: the unwrap fails.
    let mut h = header_json(&jwe);
    let other = EcPrivateKey::generate(&mut OsRng).public_key();
    h["epk"]["x"] = other.jwk_x().into();
    h["epk"]["y"] = other.jwk_y().into();
    assert_eq!(
        decrypt(&with_header(&jwe, &h), &key),
        Err(JweError::KeyUnwrap)
    );
    // A point off the curve is refused before any ECDH.
    let mut h = header_json(&jwe);
    h["epk"]["y"] = other.jwk_x().into();
    assert_eq!(
        decrypt(&with_header(&jwe, &h), &key),
        Err(JweError::InvalidKey)
    );
    // One flipped base64 character of the protected member.
    let mut t = jwe.clone();
    let mut bytes = t.protected.into_bytes();
    bytes[10] = if bytes[10] == b'A' { b'B' } else { b'A' };
    t.protected = String::from_utf8(bytes).expect("ascii");
    assert!(decrypt(&t, &key).is_err());
}

#[test]
fn unsupported_headers_are_refused() {
    let (key, jwe) = setup(b"secret");
    let cases: [(&str, serde_json::Value, JweError); 7] = [
        ("alg", "ECDH-ES".into(), JweError::UnsupportedAlg),
        ("alg", "RSA-OAEP-256".into(), JweError::UnsupportedAlg),
        ("enc", "A128GCM".into(), JweError::UnsupportedEnc),
        (
            "crit",
            serde_json::json!(["exp"]),
            JweError::Unsupported("crit"),
        ),
        ("zip", "DEF".into(), JweError::Unsupported("zip")),
        (
            "epk",
            serde_json::json!({"kty":"EC","crv":"P-384","x":"AA","y":"AA"}),
            JweError::InvalidKey,
        ),
        ("epk", "not an object".into(), JweError::Malformed("epk")),
    ];
    for (name, value, err) in cases {
        let mut h = header_json(&jwe);
        h[name] = value;
        assert_eq!(decrypt(&with_header(&jwe, &h), &key), Err(err), "{name}");
    }
    let mut h = header_json(&jwe);
    h.as_object_mut().expect("object").remove("epk");
    assert_eq!(
        decrypt(&with_header(&jwe, &h), &key),
        Err(JweError::Missing("epk"))
    );
}

#[test]
fn wrong_key_fails() {
    let (_, jwe) = setup(b"secret");
    let other = EcPrivateKey::generate(&mut OsRng);
    assert_eq!(decrypt(&jwe, &other), Err(JweError::KeyUnwrap));
}

#[test]
fn jwe_aad_is_authenticated() {
    let (key, jwe) = setup(b"secret");
    let mut t = jwe.clone();
    t.aad = Some(b"extra".to_vec());
    assert_eq!(decrypt(&t, &key), Err(JweError::Decrypt));
    assert_eq!(t.to_compact(), None);
}

#[test]
fn malformed_serialisations_are_refused() {
    let (_, jwe) = setup(b"secret");
    let json: serde_json::Value = serde_json::from_str(&jwe.to_json()).expect("json");
    for (edit, err) in [
        ("header", JweError::Unsupported("unprotected header")),
        ("unprotected", JweError::Unsupported("unprotected header")),
        (
            "recipients",
            JweError::Unsupported("general JSON serialisation"),
        ),
    ] {
        let mut j = json.clone();
        j[edit] = serde_json::json!({});
        let text = serde_json::to_vec(&j).expect("json");
        assert_eq!(Jwe::from_json(&text), Err(err));
    }
    let mut j = json.clone();
    j["iv"] = "not base64!".into();
    assert_eq!(
        Jwe::from_json(&serde_json::to_vec(&j).expect("json")),
        Err(JweError::Base64("iv"))
    );
    let mut j = json.clone();
    j.as_object_mut().expect("object").remove("tag");
    assert!(matches!(
        Jwe::from_json(&serde_json::to_vec(&j).expect("json")),
        Err(JweError::Malformed(_))
    ));
    assert!(Jwe::from_json(b"not json").is_err());
    assert!(Jwe::from_compact("a.b.c.d").is_err());
    assert!(Jwe::from_compact("a.b.c.d.e.f").is_err());
}

#[test]
fn private_key_checks() {
    assert_eq!(
        EcPrivateKey::from_bytes(&[0u8; 32]).err(),
        Some(JweError::InvalidKey)
    );
    assert_eq!(
        EcPrivateKey::from_bytes(&[0xff; 32]).err(),
        Some(JweError::InvalidKey)
    );
    let k = EcPrivateKey::generate(&mut OsRng);
    let again = EcPrivateKey::from_bytes(k.to_bytes().as_slice()).expect("valid");
    assert_eq!(again.public_key(), k.public_key());
}

// No Debug that could print the private key.
static_assertions::assert_not_impl_any!(EcPrivateKey: core::fmt::Debug);
