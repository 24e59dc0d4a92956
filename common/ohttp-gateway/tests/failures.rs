//! Refusals: truncation, bit flips, stale key configurations, and no
//! Debug output for what holds secrets.
#![allow(clippy::unwrap_used)]

mod common;
use bhttp::Mode;
use common::{array, bhttp_request};
use ohttp::ClientRequest;
use ohttp_gateway::{bhttp as ours, Gateway, GatewayError};

fn gateway() -> Gateway {
    Gateway::from_ikm(7, &array(11))
}

fn encapsulated(gw: &Gateway) -> Vec<u8> {
    let request = bhttp_request(Mode::KnownLength, "GET", "/healthz", &[("a", b"b")], b"xyz");
    let client = ClientRequest::from_encoded_config(gw.key_config()).unwrap();
    client.encapsulate(&request).unwrap().0
}

#[test]
fn every_truncation_is_an_error() {
    let gw = gateway();
    let enc_request = encapsulated(&gw);
    assert!(gw.decapsulate(&enc_request).is_ok());
    for cut in 0..enc_request.len() {
        let err = gw.decapsulate(&enc_request[..cut]).err().expect("refused");
        // Header (7) + enc (32) + tag (16) is the shortest possible request.
        let want = if cut < 7 + 32 + 16 {
            GatewayError::Truncated
        } else {
            GatewayError::Decrypt
        };
        assert_eq!(err, want, "cut {cut}");
        assert!(!err.is_key_config_problem());
    }
}

#[test]
fn every_single_bit_flip_is_an_error() {
    let gw = gateway();
    let enc_request = encapsulated(&gw);
    for bit in 0..enc_request.len() * 8 {
        let mut bad = enc_request.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        let err = gw.decapsulate(&bad).err().expect("refused");
        match bit / 8 {
            0 => assert_eq!(err, GatewayError::UnknownKeyId(bad[0])),
            1..=6 => assert!(
                matches!(err, GatewayError::UnsupportedSuite { .. }),
                "{err}"
            ),
            _ => assert_eq!(err, GatewayError::Decrypt, "bit {bit}"),
        }
    }
}

#[test]
fn appended_bytes_are_an_error() {
    let gw = gateway();
    let mut enc_request = encapsulated(&gw);
    enc_request.push(0);
    assert_eq!(
        gw.decapsulate(&enc_request).err().expect("refused"),
        GatewayError::Decrypt
    );
}

#[test]
fn unknown_key_id_is_a_key_config_problem() {
    let old = Gateway::from_ikm(6, &array(12));
    let err = gateway()
        .decapsulate(&encapsulated(&old))
        .err()
        .expect("refused");
    assert_eq!(err, GatewayError::UnknownKeyId(6));
    assert!(err.is_key_config_problem());
}

#[test]
fn same_key_id_other_key_is_a_decrypt_error() {
    let rotated = Gateway::from_ikm(7, &array(13));
    let err = gateway()
        .decapsulate(&encapsulated(&rotated))
        .err()
        .expect("refused");
    assert_eq!(err, GatewayError::Decrypt);
    assert!(!err.is_key_config_problem());
}

#[test]
fn unsupported_suite_from_a_real_client_is_a_key_config_problem() {
    // Same key, but a configuration that offers only ChaCha20Poly1305.
    let gw = gateway();
    let mut config = gw.key_config()[..37].to_vec();
    config.extend_from_slice(&[0x00, 0x01, 0x00, 0x03]);
    let client = ClientRequest::from_encoded_config(&config).unwrap();
    let (enc_request, _) = client.encapsulate(b"\x00\x03GET\x00\x00\x01/").unwrap();
    let err = gw.decapsulate(&enc_request).err().expect("refused");
    assert_eq!(
        err,
        GatewayError::UnsupportedSuite {
            kem: 0x20,
            kdf: 1,
            aead: 3
        }
    );
    assert!(err.is_key_config_problem());
}

#[test]
fn small_order_enc_is_refused() {
    let gw = gateway();
    let mut enc_request = encapsulated(&gw);
    // All-zero public key: the X25519 result is zero, which HPKE rejects.
    enc_request[7..39].fill(0);
    assert_eq!(
        gw.decapsulate(&enc_request).err().expect("refused"),
        GatewayError::Decrypt
    );
}

#[test]
fn errors_display() {
    let all = [
        GatewayError::Truncated,
        GatewayError::UnknownKeyId(3),
        GatewayError::UnsupportedSuite {
            kem: 1,
            kdf: 2,
            aead: 3,
        },
        GatewayError::Decrypt,
        GatewayError::Encrypt,
        GatewayError::InvalidKey,
    ];
    for e in all {
        assert!(!e.to_string().is_empty());
    }
    assert_eq!(
        GatewayError::UnknownKeyId(3).to_string(),
        "unknown key id 3"
    );
}

// The private key, the response keys and the decrypted request have no
// Debug at all, so no `{:?}` can print them.
static_assertions::assert_not_impl_any!(Gateway: core::fmt::Debug);
static_assertions::assert_not_impl_any!(ohttp_gateway::ResponseContext: core::fmt::Debug);
static_assertions::assert_not_impl_any!(ours::Request: core::fmt::Debug);
