//! `application/ohttp-keys` bodies as the client reads them (RFC 9458 §3):
//! parsing never panics, and the configuration it selects, re-encoded with
//! only the required suite and framed, parses back to that configuration.
#![no_main]

use appliance_client::keys::{parse_list, select, AEAD_AES_128_GCM, KDF_HKDF_SHA256};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(list) = parse_list(data) {
        // Each configuration takes at least 2 + 1 + 2 + 32 + 2 + 4 bytes.
        assert!(list.len() * 43 <= data.len());
        assert!(list.iter().all(|c| !c.suites.is_empty()));
    }
    let Ok(chosen) = select(data) else { return };
    assert!(chosen.suites.contains(&(KDF_HKDF_SHA256, AEAD_AES_128_GCM)));
    let one = chosen.encode_required_suite();
    let mut framed = (one.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&one);
    let back = parse_list(&framed).expect("own encoding parses");
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].key_id, chosen.key_id);
    assert_eq!(back[0].public_key, chosen.public_key);
    assert_eq!(back[0].suites, vec![(KDF_HKDF_SHA256, AEAD_AES_128_GCM)]);
});
