//! JWE as the key broker sends it (flattened JSON) and in compact form:
//! parsing never panics, re-serialising round-trips, and decryption with a
//! fixed P-256 key fails cleanly on anything not made for it. A JWE made
//! from the fuzz bytes decrypts back to them.
//!
//! Speed: the key is made once per process, and the round trip (three P-256
//! operations) runs on the short inputs whose length is a multiple of 8, so
//! most executions go to parsing and decrypting hostile bytes.
#![no_main]

use std::sync::OnceLock;

use jwe::{decrypt, encrypt, EcPrivateKey, Jwe};
use libfuzzer_sys::fuzz_target;
use rand_core::{CryptoRng, RngCore};

/// RFC 7518 Appendix C, Bob's private key `d`.
const D: [u8; 32] = [
    0x54, 0x49, 0x83, 0x66, 0x90, 0xd7, 0x5c, 0xaf, 0x29, 0xf0, 0xdd, 0x02, 0x9d, 0xdb, 0x31, 0xb3,
    0xdd, 0xb8, 0xab, 0xa9, 0xd2, 0xd5, 0x15, 0xc5, 0x01, 0x24, 0x65, 0xe8, 0x17, 0xd4, 0xa9, 0xdc,
];

struct Counter(u8);
impl RngCore for Counter {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }
    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            self.0 = self.0.wrapping_add(37);
            *b = self.0;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl CryptoRng for Counter {}

fn check(jwe: &Jwe, key: &EcPrivateKey) {
    assert_eq!(Jwe::from_json(jwe.to_json().as_bytes()).as_ref(), Ok(jwe));
    let _ = decrypt(jwe, key);
}

static KEY: OnceLock<EcPrivateKey> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let key = KEY.get_or_init(|| EcPrivateKey::from_bytes(&D).expect("RFC 7518 key"));
    if let Ok(jwe) = Jwe::from_json(data) {
        check(&jwe, key);
    }
    if let Ok(text) = core::str::from_utf8(data) {
        if let Ok(jwe) = Jwe::from_compact(text) {
            check(&jwe, key);
            let compact = jwe.to_compact().expect("no AAD in compact form");
            assert_eq!(Jwe::from_compact(&compact), Ok(jwe));
        }
    }
    // Round trip on short inputs (one ECDH each way per run).
    if data.len() <= 256 && data.len() % 8 == 0 {
        let jwe =
            encrypt(&key.public_key(), data, &mut Counter(data.len() as u8)).expect("encrypts");
        let back = Jwe::from_json(jwe.to_json().as_bytes()).expect("own JSON parses");
        assert_eq!(decrypt(&back, key).expect("decrypts").as_slice(), data);
    }
});
