//! Our gateway against the `ohttp` crate's client (an independent
//! RFC 9458 implementation) and the `bhttp` crate's codec.
#![allow(clippy::unwrap_used)]

mod common;
use std::io::Cursor;

use bhttp::Mode;
use common::{array, bhttp_request, bytes};
use ohttp::hpke::{Aead, Kdf, Kem};
use ohttp::{ClientRequest, KeyConfig, SymmetricSuite};
use ohttp_gateway::{bhttp as ours, Gateway};

const SIZES: [usize; 7] = [0, 1, 15, 16, 17, 1000, 100_000];

fn gateway(seed: u64) -> Gateway {
    Gateway::from_ikm(0x2a, &array(seed))
}

/// One full exchange: `ohttp` client -> our gateway -> our response ->
/// `ohttp` client -> `bhttp` decoder.
fn round_trip(gw: &Gateway, client: ClientRequest, mode: Mode, size: usize) {
    let body = bytes(size as u64, size);
    let headers: [(&str, &[u8]); 2] = [
        ("content-type", b"application/json"),
        ("authorization", b"Bearer abc"),
    ];
    let request = bhttp_request(mode, "POST", "/v1/embeddings", &headers, &body);
    let (enc_request, client_response) = client.encapsulate(&request).unwrap();

    let (plain, ctx) = gw.decapsulate(&enc_request).unwrap();
    assert_eq!(&plain[..], &request[..]);
    let req = ours::decode_request(&plain).unwrap();
    assert_eq!(req.method, "POST");
    assert_eq!(req.scheme, "https");
    assert_eq!(req.authority, "appliance.example");
    assert_eq!(req.path, "/v1/embeddings");
    assert_eq!(req.header("Content-Type"), Some(&b"application/json"[..]));
    assert_eq!(req.headers.len(), 2);
    assert_eq!(&req.body[..], &body[..]);

    let reply = bytes(size as u64 + 1, size);
    let response = ours::encode_response(
        200,
        &[("Content-Type", b"application/octet-stream")],
        &reply,
    );
    let enc_response = ctx.encapsulate(&response, &array(size as u64 + 2)).unwrap();
    let decrypted = client_response.decapsulate(&enc_response).unwrap();
    assert_eq!(decrypted, response);

    let msg = bhttp::Message::read_bhttp(&mut Cursor::new(&decrypted[..])).unwrap();
    assert_eq!(msg.control().status().unwrap().code(), 200);
    assert_eq!(
        msg.header().get(b"content-type"),
        Some(&b"application/octet-stream"[..])
    );
    assert_eq!(msg.content(), &reply[..]);
    assert!(msg.trailer().is_empty());
}

#[test]
fn ohttp_client_via_key_config_all_sizes_both_framings() {
    let gw = gateway(1);
    for mode in [Mode::KnownLength, Mode::IndeterminateLength] {
        for size in SIZES {
            let client = ClientRequest::from_encoded_config(gw.key_config()).unwrap();
            round_trip(&gw, client, mode, size);
        }
    }
}

#[test]
fn ohttp_client_via_ohttp_keys_list() {
    let gw = gateway(2);
    for size in SIZES {
        let client = ClientRequest::from_encoded_config_list(gw.ohttp_keys()).unwrap();
        round_trip(&gw, client, Mode::KnownLength, size);
    }
}

#[test]
fn key_config_equals_ohttp_crate_derive() {
    // The ohttp crate's DeriveKeyPair from the same ikm gives the same bytes.
    let ikm: [u8; 32] = array(3);
    let suite = SymmetricSuite::new(Kdf::HkdfSha256, Aead::Aes128Gcm);
    let theirs = KeyConfig::derive(0x2a, Kem::X25519Sha256, vec![suite], &ikm).unwrap();
    assert_eq!(
        theirs.encode().unwrap(),
        Gateway::from_ikm(0x2a, &ikm).key_config()
    );
    assert_eq!(
        KeyConfig::encode_list(&[theirs]).unwrap(),
        Gateway::from_ikm(0x2a, &ikm).ohttp_keys()
    );
}

#[test]
fn responses_differ_for_different_requests_and_nonces() {
    let gw = gateway(4);
    let mut seen = std::collections::HashSet::new();
    for i in 0..16u64 {
        let client = ClientRequest::from_encoded_config(gw.key_config()).unwrap();
        let request = bhttp_request(Mode::KnownLength, "GET", "/healthz", &[], &[]);
        let (enc_request, client_response) = client.encapsulate(&request).unwrap();
        let (_, ctx) = gw.decapsulate(&enc_request).unwrap();
        // Identical plaintext responses, distinct nonces and requests.
        let response = ours::encode_response(200, &[], b"ok");
        let enc_response = ctx.encapsulate(&response, &array(100 + i)).unwrap();
        assert!(seen.insert(enc_response.clone()), "repeated response bytes");
        // And the ciphertext part alone is fresh too (different keys).
        assert!(seen.insert(enc_response[16..].to_vec()));
        assert_eq!(
            client_response.decapsulate(&enc_response).unwrap(),
            response
        );
    }
}

#[test]
fn same_request_same_nonce_is_deterministic_but_another_nonce_is_not() {
    // The response key depends on the request's enc and the nonce: two
    // decapsulations of one request sealed with the same nonce match (the
    // caller's RNG must supply fresh nonces), a different nonce does not.
    let gw = gateway(5);
    let client = ClientRequest::from_encoded_config(gw.key_config()).unwrap();
    let (enc_request, _) = client.encapsulate(b"\x00\x03GET\x00\x00\x01/").unwrap();
    let seal = |nonce: u64| {
        let (_, ctx) = gw.decapsulate(&enc_request).unwrap();
        ctx.encapsulate(b"r", &array(nonce)).unwrap()
    };
    assert_eq!(seal(1), seal(1));
    assert_ne!(seal(1), seal(2));
}
