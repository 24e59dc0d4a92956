//! Known answer for the request encryption (key, IV, AAD, tag placement),
//! computed independently with Python `cryptography`:
//!
//! ```python
//! from cryptography.hazmat.primitives.ciphers.aead import AESGCM
//! import struct
//! key = bytes(range(32))
//! seqno = 0x01020304 + 1                       # msg_seqno_0 + 1
//! iv = struct.pack('<Q', seqno) + bytes(4)
//! aad = bytes([1, 1]) + struct.pack('<H', 0x60) + bytes([5, 1]) \
//!     + struct.pack('<H', 96) + bytes(4) + bytes([0]) + bytes(35)
//! pt = bytes(range(0x40, 0x80)) + struct.pack('<II', 0, 0) + bytes(24)
//! out = AESGCM(key).encrypt(iv, pt, aad)
//! print(out[:-16].hex()); print(out[-16:].hex())
//! ```

use super::*;

const CIPHERTEXT: &str = "73d687b2404ebae42cb4db47c83ae74540e803c1efce62675cb551dc6ac658d2\
54df77cbbed586cc8a5cb18c476320348519a120b22ef6db1854330d06a0910a\
41339c73ebadef31833ea0d0c5dd3964e6a90cc253551ea8cd8b01aeeced2926";
const TAG: &str = "e86acd5a9a25cbf4e5db52e635dce07a";

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn request_encryption_known_answer() {
    let key: [u8; 32] = core::array::from_fn(|i| i as u8);
    let secrets = SecretsPage::parse(&secrets_page(2, &key, 0x0102_0304)).expect("valid");
    let mut guest = GuestMessenger::new(&secrets);
    let mut sp = MockSecureProcessor::new(key, 0x0102_0304);
    let rd: [u8; 64] = core::array::from_fn(|i| 0x40 + i as u8);
    guest.request_report(&mut sp, rd, 0).expect("report");
    let page = &sp.received()[0];
    assert_eq!(page[0x20..0x28], 0x0102_0305u64.to_le_bytes());
    assert_eq!(page[HEADER_LEN..HEADER_LEN + 96], unhex(CIPHERTEXT)[..]);
    assert_eq!(page[..16], unhex(TAG)[..]);
    assert_eq!(page[16..32], [0; 16]);
}
