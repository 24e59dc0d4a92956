//! RFC 9458 Appendix A, end to end. The RFC publishes the gateway's
//! private key (skR), not an ikm, so the gateway is built with
//! `Gateway::from_private_key`.
#![allow(clippy::unwrap_used)]

mod common;
use common::hex;
use ohttp_gateway::{bhttp, Gateway};

const SK_R: &str = "3c168975674b2fa8e465970b79c8dcf09f1c741626480bd4c6162fc5b6a98e1a";
/// The RFC's configuration offers two suites (AES-128-GCM and
/// ChaCha20Poly1305); this gateway offers the first only.
const RFC_KEY_CONFIG: &str =
    "01002031e1f05a740102115220e9af918f738674aec95f54db6e04eb705aae8e79815500080001000100010003";
const REQUEST: &str = "00034745540568747470730b6578616d706c652e636f6d012f";
const ENC_REQUEST: &str = concat!(
    "010020000100014b28f881333e7c164ffc499ad9796f877f4e1051ee6d31bad19dec96c208b472",
    "6374e469135906992e1268c594d2a10c695d858c40a026e7965e7d86b83dd440b2c0185204b4d63525"
);
const RESPONSE: &str = "0140c8";
const RESPONSE_NONCE: &str = "c789e7151fcba46158ca84b04464910d";
const ENC_RESPONSE: &str = "c789e7151fcba46158ca84b04464910d86f9013e404feea014e7be4a441f234f857fbd";

fn gateway() -> Gateway {
    Gateway::from_private_key(1, &hex(SK_R).try_into().unwrap()).unwrap()
}

#[test]
fn key_config_matches_the_rfc_for_our_one_suite() {
    let gw = gateway();
    let rfc = hex(RFC_KEY_CONFIG);
    // key_id, kem_id and public key are byte-identical.
    assert_eq!(&gw.key_config()[..35], &rfc[..35]);
    // Then one suite instead of two: length 4, HKDF-SHA256 / AES-128-GCM.
    let mut ours = rfc[..35].to_vec();
    ours.extend_from_slice(&[0x00, 0x04, 0x00, 0x01, 0x00, 0x01]);
    assert_eq!(gw.key_config(), &ours[..]);
    assert_eq!(gw.public_key(), &rfc[3..35]);
    let mut keys = vec![0x00, 41];
    keys.extend_from_slice(&ours);
    assert_eq!(gw.ohttp_keys(), keys);
}

#[test]
fn decapsulates_the_rfc_request_and_reproduces_its_response() {
    let gw = gateway();
    let (plain, ctx) = gw.decapsulate(&hex(ENC_REQUEST)).unwrap();
    assert_eq!(&plain[..], &hex(REQUEST)[..]);

    // The request is the truncated GET https://example.com/ of the RFC.
    let req = bhttp::decode_request(&plain).unwrap();
    assert_eq!(
        (&*req.method, &*req.scheme, &*req.authority, &*req.path),
        ("GET", "https", "example.com", "/")
    );
    assert!(req.headers.is_empty() && req.body.is_empty());

    let nonce: [u8; 16] = hex(RESPONSE_NONCE).try_into().unwrap();
    let enc_response = ctx.encapsulate(&hex(RESPONSE), &nonce).unwrap();
    assert_eq!(enc_response, hex(ENC_RESPONSE));
}

#[test]
fn our_encoding_of_status_200_is_the_rfc_response_plus_explicit_empty_sections() {
    // RFC: 01 40c8 (sections truncated). Ours writes them out: 00 00 00.
    assert_eq!(
        bhttp::encode_response(200, &[], &[]),
        [hex(RESPONSE), vec![0, 0, 0]].concat()
    );
}

#[test]
fn from_ikm_is_rfc9180_derive_key_pair() {
    // RFC 9180 A.1 (DHKEM(X25519), HKDF-SHA256, AES-128-GCM), base mode:
    // ikmR -> pkRm.
    let ikm: [u8; 32] = hex("6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037")
        .try_into()
        .unwrap();
    let gw = Gateway::from_ikm(7, &ikm);
    assert_eq!(
        gw.public_key(),
        &hex("3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d")[..]
    );
    assert_eq!(gw.key_id(), 7);
    assert_eq!(gw.key_config()[0], 7);
}
