//! Known answers: RFC 7518 appendix C (ECDH-ES + Concat KDF), RFC 3394
//! section 4 (AES-256 key wrap), RFC 7516 appendix A.1 (A256GCM content
//! encryption) and the KBS protected header from docs/kbs.md.

mod common;

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use aes_kw::KekAes256;
use common::{b64, unb64, ScriptRng};
use jwe::{concat_kdf, decrypt, encrypt, EcPrivateKey, EcPublicKey, Jwe};

// RFC 7518 appendix C: Alice (ephemeral) and Bob (static) keys.
const ALICE_D: &str = "0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo";
const ALICE_X: &str = "gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0";
const ALICE_Y: &str = "SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps";
const BOB_D: &str = "VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw";
const BOB_X: &str = "weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ";
const BOB_Y: &str = "e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck";
const Z: [u8; 32] = [
    158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49, 110, 163,
    218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196,
];

#[test]
fn rfc7518_appendix_c_key_agreement() {
    let alice = EcPrivateKey::from_bytes(&unb64(ALICE_D)).expect("valid d");
    let bob = EcPrivateKey::from_bytes(&unb64(BOB_D)).expect("valid d");
    assert_eq!(alice.public_key().jwk_x(), ALICE_X);
    assert_eq!(alice.public_key().jwk_y(), ALICE_Y);
    let bob_pub = EcPublicKey::from_jwk_coordinates(BOB_X, BOB_Y).expect("on curve");
    assert_eq!(bob.public_key(), bob_pub);
    assert_eq!(*alice.diffie_hellman(&bob_pub), Z);
    assert_eq!(*bob.diffie_hellman(&alice.public_key()), Z);

    // Direct agreement for A128GCM: AlgorithmID = "A128GCM", 128 bits.
    let mut key = [0u8; 16];
    concat_kdf(&Z, b"A128GCM", b"Alice", b"Bob", &mut key);
    assert_eq!(
        key,
        [86, 170, 141, 234, 248, 35, 109, 32, 92, 34, 40, 205, 113, 167, 16, 26]
    );
    assert_eq!(b64(&key), "VqqN6vgjbSBcIijNcacQGg");
}

#[test]
fn rfc3394_aes256_key_wrap() {
    let kek: Vec<u8> = (0u8..32).collect();
    let kek = KekAes256::try_from(kek.as_slice()).expect("256-bit KEK");
    // 4.3 (128-bit data), 4.5 (192-bit), 4.6 (256-bit, our CEK size).
    for (data, wrapped) in [
        (
            "00112233445566778899AABBCCDDEEFF",
            "64E8C3F9CE0F5BA263E9777905818A2A93C8191E7D6E8AE7",
        ),
        (
            "00112233445566778899AABBCCDDEEFF0001020304050607",
            "A8F9BC1612C68B3FF6E6F4FBE30E71E4769C8B80A32CB8958CD5D17D6B254DA1",
        ),
        (
            "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
            "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21",
        ),
    ] {
        let data = hex(data);
        let wrapped = hex(wrapped);
        let mut out = vec![0u8; wrapped.len()];
        kek.wrap(&data, &mut out).expect("wraps");
        assert_eq!(out, wrapped);
        let mut back = vec![0u8; data.len()];
        kek.unwrap(&wrapped, &mut back).expect("unwraps");
        assert_eq!(back, data);
        let mut bad = wrapped.clone();
        bad[0] ^= 1;
        assert!(kek.unwrap(&bad, &mut back).is_err());
    }
}

#[test]
fn rfc7516_appendix_a1_content_encryption() {
    // A256GCM with the AAD = ASCII of the protected header, as we use it.
    let cek: [u8; 32] = [
        177, 161, 244, 128, 84, 143, 225, 115, 63, 180, 3, 255, 107, 154, 212, 246, 138, 7, 110,
        91, 112, 46, 34, 105, 47, 130, 203, 46, 122, 234, 64, 252,
    ];
    let iv = unb64("48V1_ALb6US04U3b");
    let aad = b"eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ";
    let plaintext = b"The true sign of intelligence is not knowledge but imagination.";
    let ciphertext =
        "5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A";
    let tag = "XFBoMYUZodetZdvTiFvSkQ";
    let gcm = Aes256Gcm::new(&cek.into());
    let mut buf = plaintext.to_vec();
    let t = gcm
        .encrypt_in_place_detached(Nonce::from_slice(&iv), aad, &mut buf)
        .expect("encrypts");
    assert_eq!(b64(&buf), ciphertext);
    assert_eq!(b64(&t), tag);
    gcm.decrypt_in_place_detached(Nonce::from_slice(&iv), aad, &mut buf, Tag::from_slice(&t))
        .expect("decrypts");
    assert_eq!(buf, plaintext);
}

/// docs/kbs.md 1.9: the KBS header for epk = G (ephemeral scalar 1).
const HEADER_EPK_G: &str = "eyJhbGciOiJFQ0RILUVTK0EyNTZLVyIsImVuYyI6IkEyNTZHQ00iLCJlcGsiOnsiY3J2IjoiUC0yNTYiLCJrdHkiOiJFQyIsIngiOiJheGZSOHVFc1FrZjR2T2JsWTZSQThuY0RmWUV0NnpPZzlLRTVSZGlZd3BZIiwieSI6IlQtTkM0djRhZjV1TzUtdEtmQS1lRml2T00xZHJNVjdPeTdaQWFEZV9VZlUifX0";

#[test]
fn protected_header_matches_the_kbs() {
    let bob = EcPrivateKey::from_bytes(&unb64(BOB_D)).expect("valid d");
    // RNG script: ephemeral scalar = 1, then CEK, then IV.
    let mut script = vec![0u8; 31];
    script.push(1);
    script.extend((0u8..32).map(|i| i.wrapping_mul(7)));
    script.extend([9u8; 12]);
    let jwe =
        encrypt(&bob.public_key(), b"model key", &mut ScriptRng::new(script)).expect("encrypts");
    assert_eq!(jwe.protected, HEADER_EPK_G);
    assert_eq!(jwe.iv, [9u8; 12]);
    assert_eq!(jwe.encrypted_key.len(), 40);
    assert_eq!(jwe.tag.len(), 16);
    // Deterministic given the script; decrypts with Bob's key.
    let json = jwe.to_json();
    assert!(json.starts_with(&format!(
        "{{\"protected\":\"{HEADER_EPK_G}\",\"encrypted_key\":\""
    )));
    let parsed = Jwe::from_json(json.as_bytes()).expect("parses");
    assert_eq!(
        decrypt(&parsed, &bob).expect("decrypts").as_slice(),
        b"model key"
    );
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}
