//! Every modification of a sealed model fails: bit flips anywhere, header
//! edits, truncation, extension, reordering, splicing, wrong key or pin.

mod common;

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use common::{model, sealed, sha384, stream};
use model_seal::{
    seal_with_chunk_size, unseal, Header, SealError, SealKey, Unsealer, HEADER_LEN, MAX_CHUNK_SIZE,
    TAG_LEN,
};
use rand_core::OsRng;

const CS: usize = 16;

/// Offsets of each chunk (with its tag) in a blob of `len` plaintext bytes.
fn chunk_ranges(len: usize) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let mut at = HEADER_LEN;
    let mut left = len;
    loop {
        let n = left.min(CS);
        ranges.push(at..at + n + TAG_LEN);
        at += n + TAG_LEN;
        left -= n;
        if left == 0 {
            return ranges;
        }
    }
}

#[test]
fn every_bit_flip_fails() {
    let (key, plain, blob) = sealed(40, CS as u32);
    let pin = sha384(&plain);
    for bit in 0..blob.len() * 8 {
        let mut t = blob.clone();
        t[bit / 8] ^= 1 << (bit % 8);
        assert!(unseal(&t, &key, pin).is_err(), "bit {bit} undetected");
    }
}

#[test]
fn chunk_bit_flips_name_the_chunk() {
    let (key, plain, blob) = sealed(40, CS as u32);
    for (index, range) in chunk_ranges(40).into_iter().enumerate() {
        for byte in range {
            let mut t = blob.clone();
            t[byte] ^= 0x80;
            assert_eq!(
                unseal(&t, &key, sha384(&plain)).err(),
                Some(SealError::ChunkAuth {
                    index: index as u64
                })
            );
        }
    }
}

#[test]
fn truncation_anywhere_fails() {
    let (key, plain, blob) = sealed(5 * CS + 3, CS as u32);
    let pin = sha384(&plain);
    for cut in 0..blob.len() {
        let err = stream(&blob[..cut], &key, pin, 5).expect_err("truncated");
        assert_eq!(err, SealError::Truncated, "cut at {cut}");
    }
    // Exactly at each chunk boundary, every verified chunk was delivered
    // but finish refuses.
    for range in chunk_ranges(5 * CS + 3) {
        let mut u = Unsealer::new(&key, pin);
        let mut got = 0;
        u.update(&blob[..range.start], |pt| got += pt.len())
            .expect("prefix verifies");
        assert_eq!(u.finish(), Err(SealError::Truncated));
    }
}

#[test]
fn empty_model_cannot_be_truncated_to_its_header() {
    let (key, plain, blob) = sealed(0, CS as u32);
    assert_eq!(blob.len(), HEADER_LEN + TAG_LEN);
    assert_eq!(
        stream(&blob[..HEADER_LEN], &key, sha384(&plain), 100),
        Err(SealError::Truncated)
    );
    assert_eq!(stream(&blob, &key, sha384(&plain), 100), Ok(Vec::new()));
}

#[test]
fn extension_fails() {
    let (key, plain, blob) = sealed(3 * CS, CS as u32);
    let pin = sha384(&plain);
    let mut t = blob.clone();
    t.push(0);
    assert_eq!(unseal(&t, &key, pin).err(), Some(SealError::TrailingData));
    // Repeating the last chunk.
    let last = chunk_ranges(3 * CS).pop().expect("a chunk");
    let mut t = blob.clone();
    t.extend_from_slice(&blob[last]);
    assert_eq!(unseal(&t, &key, pin).err(), Some(SealError::TrailingData));
    // A longer header count with the same chunks: the header is bound.
    let mut h = Header::parse(&blob).expect("header");
    h.chunk_count += 1;
    h.plaintext_len += CS as u64;
    let mut t = blob.clone();
    t[..HEADER_LEN].copy_from_slice(&h.to_bytes());
    assert_eq!(
        unseal(&t, &key, pin).err(),
        Some(SealError::ChunkAuth { index: 0 })
    );
}

#[test]
fn reordering_dropping_and_duplicating_chunks_fail() {
    let (key, plain, blob) = sealed(4 * CS, CS as u32);
    let pin = sha384(&plain);
    let r = chunk_ranges(4 * CS);
    let body = |order: &[usize]| {
        let mut t = blob[..HEADER_LEN].to_vec();
        for &i in order {
            t.extend_from_slice(&blob[r[i].clone()]);
        }
        t
    };
    assert_eq!(
        unseal(&body(&[0, 1, 2, 3]), &key, pin).map(|p| p.to_vec()),
        Ok(plain.clone())
    );
    assert_eq!(
        unseal(&body(&[1, 0, 2, 3]), &key, pin).err(),
        Some(SealError::ChunkAuth { index: 0 })
    );
    assert_eq!(
        unseal(&body(&[0, 1, 3, 2]), &key, pin).err(),
        Some(SealError::ChunkAuth { index: 2 })
    );
    assert_eq!(
        unseal(&body(&[0, 2, 3]), &key, pin).err(),
        Some(SealError::ChunkAuth { index: 1 })
    );
    assert_eq!(
        unseal(&body(&[0, 1, 1, 3]), &key, pin).err(),
        Some(SealError::ChunkAuth { index: 2 })
    );
    // Dropping the last chunk: every remaining chunk verifies, finish fails.
    assert_eq!(
        unseal(&body(&[0, 1, 2]), &key, pin).err(),
        Some(SealError::Truncated)
    );
}

#[test]
fn chunks_from_another_file_fail() {
    // Same key, same model, another seal: different header and nonces.
    let key = SealKey::generate(&mut OsRng);
    let plain = model(3 * CS);
    let a = seal_with_chunk_size(&plain, &key, CS as u32, &mut OsRng).expect("seals");
    let b = seal_with_chunk_size(&plain, &key, CS as u32, &mut OsRng).expect("seals");
    let r = chunk_ranges(3 * CS);
    let mut t = a.clone();
    t[r[1].clone()].copy_from_slice(&b[r[1].clone()]);
    assert_eq!(
        unseal(&t, &key, sha384(&plain)).err(),
        Some(SealError::ChunkAuth { index: 1 })
    );
    // b's header with a's chunks.
    let mut t = a.clone();
    t[..HEADER_LEN].copy_from_slice(&b[..HEADER_LEN]);
    assert_eq!(
        unseal(&t, &key, sha384(&plain)).err(),
        Some(SealError::ChunkAuth { index: 0 })
    );
}

#[test]
fn wrong_key_fails() {
    let (_, plain, blob) = sealed(100, CS as u32);
    let other = SealKey::generate(&mut OsRng);
    assert_eq!(
        unseal(&blob, &other, sha384(&plain)).err(),
        Some(SealError::ChunkAuth { index: 0 })
    );
    let (_, empty, blob) = sealed(0, CS as u32);
    assert_eq!(
        unseal(&blob, &other, sha384(&empty)).err(),
        Some(SealError::ChunkAuth { index: 0 })
    );
}

#[test]
fn wrong_pin_fails() {
    let (key, _, blob) = sealed(100, CS as u32);
    let other = sha384(b"another model");
    assert_eq!(
        unseal(&blob, &key, other).err(),
        Some(SealError::PinnedDigestMismatch)
    );
    // Writing the expected pin into the header breaks every chunk's AAD.
    let mut h = Header::parse(&blob).expect("header");
    h.plaintext_sha384 = other;
    let mut t = blob.clone();
    t[..HEADER_LEN].copy_from_slice(&h.to_bytes());
    assert_eq!(
        unseal(&t, &key, other).err(),
        Some(SealError::ChunkAuth { index: 0 })
    );
}

/// Builds a blob by hand from the layout in `format.rs` (an independent
/// writer): our unsealer must accept it, and the final digest check must
/// catch a key holder whose header digest lies about the plaintext.
fn handmade(plain: &[u8], key: &SealKey, header_digest_field: [u8; 48]) -> Vec<u8> {
    let count = plain.len().div_ceil(CS).max(1);
    let prefix = [7u8; 8];
    let mut h = Vec::new();
    h.extend_from_slice(b"AMODSEAL");
    h.extend_from_slice(&1u16.to_le_bytes());
    h.extend_from_slice(&[0, 0]);
    h.extend_from_slice(&(CS as u32).to_le_bytes());
    h.extend_from_slice(&(count as u64).to_le_bytes());
    h.extend_from_slice(&(plain.len() as u64).to_le_bytes());
    h.extend_from_slice(&prefix);
    h.extend_from_slice(&header_digest_field);
    assert_eq!(h.len(), HEADER_LEN);
    let hd = sha384(&h);
    let gcm = Aes256Gcm::new(key.as_bytes().into());
    let mut out = h;
    for i in 0..count {
        let mut nonce = prefix.to_vec();
        nonce.extend_from_slice(&(i as u32).to_be_bytes());
        let mut aad = hd.to_vec();
        aad.extend_from_slice(&(i as u64).to_le_bytes());
        aad.push(u8::from(i + 1 == count));
        let mut chunk = plain[i * CS..((i + 1) * CS).min(plain.len())].to_vec();
        let tag = gcm
            .encrypt_in_place_detached(Nonce::from_slice(&nonce), &aad, &mut chunk)
            .expect("encrypts");
        out.extend_from_slice(&chunk);
        out.extend_from_slice(&tag);
    }
    out
}

#[test]
fn format_matches_its_documentation() {
    let key = SealKey::generate(&mut OsRng);
    let plain = model(3 * CS + 5);
    let blob = handmade(&plain, &key, sha384(&plain));
    assert_eq!(
        unseal(&blob, &key, sha384(&plain)).map(|p| p.to_vec()),
        Ok(plain.clone())
    );
    // Without its last chunk the hand-made blob is truncated too.
    let mut short = blob.clone();
    short.truncate(short.len() - (5 + TAG_LEN));
    assert_eq!(
        unseal(&short, &key, sha384(&plain)).err(),
        Some(SealError::Truncated)
    );
}

#[test]
fn final_digest_is_checked() {
    let key = SealKey::generate(&mut OsRng);
    let plain = model(2 * CS);
    let pin = sha384(b"the pinned model");
    // All chunks authentic, header claims the pin, plaintext differs.
    let blob = handmade(&plain, &key, pin);
    let mut u = Unsealer::new(&key, pin);
    let mut got = Vec::new();
    u.update(&blob, |pt| got.extend_from_slice(pt))
        .expect("chunks verify");
    assert_eq!(got, plain);
    assert_eq!(u.finish(), Err(SealError::DigestMismatch));
}

#[test]
fn errors_are_final() {
    let (key, plain, blob) = sealed(3 * CS, CS as u32);
    let mut t = blob.clone();
    t[HEADER_LEN] ^= 1;
    let mut u = Unsealer::new(&key, sha384(&plain));
    assert!(u.update(&t, |_| {}).is_err());
    assert_eq!(u.update(&blob[..1], |_| {}), Err(SealError::Poisoned));
    assert_eq!(u.finish(), Err(SealError::Poisoned));
}

#[test]
fn header_checks() {
    let (key, plain, blob) = sealed(40, CS as u32);
    let pin = sha384(&plain);
    let edit = |at: usize, bytes: &[u8]| {
        let mut t = blob.clone();
        t[at..at + bytes.len()].copy_from_slice(bytes);
        unseal(&t, &key, pin).err()
    };
    assert_eq!(edit(0, b"X"), Some(SealError::BadMagic));
    assert_eq!(
        edit(8, &2u16.to_le_bytes()),
        Some(SealError::UnsupportedVersion(2))
    );
    assert!(matches!(edit(10, &[1]), Some(SealError::BadHeader(_))));
    assert!(matches!(
        edit(12, &0u32.to_le_bytes()),
        Some(SealError::BadHeader(_))
    ));
    assert!(matches!(
        edit(12, &(MAX_CHUNK_SIZE + 1).to_le_bytes()),
        Some(SealError::BadHeader(_))
    ));
    assert!(matches!(
        edit(16, &9u64.to_le_bytes()),
        Some(SealError::BadHeader(_))
    ));
    assert!(matches!(
        edit(24, &u64::MAX.to_le_bytes()),
        Some(SealError::TooLarge)
    ));
}

#[test]
fn seal_refuses_bad_chunk_sizes() {
    let key = SealKey::generate(&mut OsRng);
    for cs in [0, MAX_CHUNK_SIZE + 1] {
        assert!(matches!(
            seal_with_chunk_size(b"x", &key, cs, &mut OsRng),
            Err(SealError::BadHeader(_))
        ));
    }
}
