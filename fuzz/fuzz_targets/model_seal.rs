//! The sealed model (fw_cfg `opt/appliance/model`): header and chunk stream
//! under a fixed key. The stream gives the same verdict and plaintext in one
//! piece and in small pieces; a blob sealed from fuzz bytes unseals to them,
//! and any one flipped byte makes it fail.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model_seal::{seal_with_chunk_size, unseal, Header, SealError, SealKey, Unsealer};
use rand_core::{CryptoRng, RngCore};

const KEY: [u8; 32] = [0x42; 32];
const PIN: [u8; 48] = [0x17; 48];

/// Deterministic "randomness" so that a crash replays.
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
            self.0 = self.0.wrapping_add(1);
            *b = self.0;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl CryptoRng for Counter {}

fn stream(blob: &[u8], key: &SealKey, pin: [u8; 48], piece: usize) -> Result<Vec<u8>, SealError> {
    let mut u = Unsealer::new(key, pin);
    let mut out = Vec::new();
    for part in blob.chunks(piece) {
        u.update(part, |pt| out.extend_from_slice(pt))?;
    }
    u.finish()?;
    Ok(out)
}

fuzz_target!(|data: &[u8]| {
    let key = SealKey::from_bytes(&KEY).expect("32-byte key");
    let piece = usize::from(data.first().copied().unwrap_or(0)) % 97 + 1;

    // Hostile bytes: one piece vs small pieces vs the in-memory helper.
    let whole = stream(data, &key, PIN, data.len().max(1));
    assert_eq!(whole, stream(data, &key, PIN, piece));
    assert_eq!(whole, unseal(data, &key, PIN).map(|p| p.to_vec()));

    // Round trip with a small chunk size so the input spans several chunks.
    let chunk = u32::from(data.first().copied().unwrap_or(0) % 64) + 1;
    let sealed = seal_with_chunk_size(data, &key, chunk, &mut Counter(0)).expect("seals");
    let pin = Header::parse(&sealed).expect("own header").plaintext_sha384;
    assert_eq!(stream(&sealed, &key, pin, piece).as_deref(), Ok(data));
    if data.is_empty() {
        // No chunk carries a tag: only the pinned digest (of nothing) is checked.
        return;
    }
    let at = usize::from(data.last().copied().unwrap_or(0)) * 31 % sealed.len();
    let mut bad = sealed.clone();
    bad[at] ^= 0x01;
    assert!(
        stream(&bad, &key, pin, piece).is_err(),
        "byte {at} flipped and accepted"
    );
    assert!(stream(&sealed[..sealed.len() - 1], &key, pin, piece).is_err());
});
