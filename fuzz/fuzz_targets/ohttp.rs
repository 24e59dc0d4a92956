//! OHTTP decapsulation (RFC 9458) with the RFC's Appendix A gateway key: hostile
//! `message/ohttp-req` bodies are refused without a panic. A request that
//! the independent `ohttp` client encapsulates from the fuzz bytes comes out
//! unchanged, and the sealed response opens to the same bytes.
//!
//! Speed: the gateway is made once per process, and the round trip (three
//! X25519 operations) runs on the inputs whose length is a multiple of 8,
//! so most executions go to decapsulating hostile bytes.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ohttp::ClientRequest;
use ohttp_gateway::Gateway;

/// RFC 9458 Appendix A `skR`, key id 1.
const SK_R: [u8; 32] = [
    0x3c, 0x16, 0x89, 0x75, 0x67, 0x4b, 0x2f, 0xa8, 0xe4, 0x65, 0x97, 0x0b, 0x79, 0xc8, 0xdc, 0xf0,
    0x9f, 0x1c, 0x74, 0x16, 0x26, 0x48, 0x0b, 0xd4, 0xc6, 0x16, 0x2f, 0xc5, 0xb6, 0xa9, 0x8e, 0x1a,
];

static GATEWAY: OnceLock<Gateway> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let gw = GATEWAY.get_or_init(|| Gateway::from_private_key(1, &SK_R).expect("RFC key"));
    if let Ok((plain, _ctx)) = gw.decapsulate(data) {
        // Only a sender holding the public key can make this.
        assert!(plain.len() < data.len());
    }
    if data.len() % 8 != 0 {
        return;
    }
    // Round trip through the other implementation (random per run, as the
    // ohttp crate takes its own randomness).
    let client = ClientRequest::from_encoded_config(gw.key_config()).expect("own key config");
    let (enc, client_response) = client.encapsulate(data).expect("encapsulates");
    let (plain, ctx) = gw
        .decapsulate(&enc)
        .expect("gateway opens the client's request");
    assert_eq!(&plain[..], data);
    let nonce: [u8; 16] = core::array::from_fn(|i| data.get(i).copied().unwrap_or(0));
    let sealed = ctx.encapsulate(data, &nonce).expect("seals");
    assert_eq!(
        client_response.decapsulate(&sealed).expect("client opens"),
        data
    );
});
