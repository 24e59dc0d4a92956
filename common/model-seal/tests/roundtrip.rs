//! Round trips at the sizes around chunk boundaries, streamed in any pieces.

mod common;

use common::{model, sealed, sha384, stream};
use model_seal::{
    seal, unseal, Header, SealKey, Unsealer, DEFAULT_CHUNK_SIZE, HEADER_LEN, TAG_LEN,
};
use rand_core::OsRng;

#[test]
fn small_chunks_all_sizes() {
    let cs = 64usize;
    for len in [0, 1, cs - 1, cs, cs + 1, 2 * cs, 5 * cs + 7, 40 * cs] {
        let (key, plain, blob) = sealed(len, cs as u32);
        let chunks = len.div_ceil(cs).max(1);
        assert_eq!(blob.len(), HEADER_LEN + len + chunks * TAG_LEN, "len {len}");
        let header = Header::parse(&blob).expect("header");
        assert_eq!(header.chunk_count, chunks as u64);
        assert_eq!(header.plaintext_len, len as u64);
        assert_eq!(header.plaintext_sha384, sha384(&plain));
        assert_eq!(header.sealed_len(), blob.len() as u64);
        let pin = sha384(&plain);
        assert_eq!(unseal(&blob, &key, pin).expect("unseals").as_slice(), plain);
        for piece in [1, 7, cs + TAG_LEN, 1000, blob.len()] {
            assert_eq!(
                stream(&blob, &key, pin, piece).expect("streams"),
                plain,
                "piece {piece}"
            );
        }
    }
}

#[test]
fn default_chunk_size() {
    let cs = DEFAULT_CHUNK_SIZE as usize;
    for len in [0, 1, cs - 1, cs, cs + 1, 3 * cs + 5] {
        let key = SealKey::generate(&mut OsRng);
        let plain = model(len);
        let blob = seal(&plain, &key, &mut OsRng).expect("seals");
        let pin = sha384(&plain);
        assert_eq!(
            stream(&blob, &key, pin, 4096).expect("streams"),
            plain,
            "len {len}"
        );
    }
}

#[test]
fn sink_gets_whole_chunks_in_order() {
    let (key, plain, blob) = sealed(1000, 128);
    let mut u = Unsealer::new(&key, sha384(&plain));
    let mut sizes = Vec::new();
    let mut out = Vec::new();
    for part in blob.chunks(33) {
        u.update(part, |pt| {
            sizes.push(pt.len());
            out.extend_from_slice(pt);
        })
        .expect("update");
    }
    assert_eq!(u.header().expect("header").chunk_count, 8);
    u.finish().expect("finish");
    assert_eq!(sizes, [128, 128, 128, 128, 128, 128, 128, 104]);
    assert_eq!(out, plain);
}

#[test]
fn fresh_nonce_prefix_per_seal() {
    let key = SealKey::generate(&mut OsRng);
    let plain = model(100);
    let a = seal(&plain, &key, &mut OsRng).expect("seals");
    let b = seal(&plain, &key, &mut OsRng).expect("seals");
    assert_ne!(a, b);
    let ha = Header::parse(&a).expect("header");
    let hb = Header::parse(&b).expect("header");
    assert_ne!(ha.nonce_prefix, hb.nonce_prefix);
}

#[test]
fn key_handling() {
    assert!(SealKey::from_bytes(&[0u8; 31]).is_err());
    assert!(SealKey::from_bytes(&[0u8; 33]).is_err());
    let k = SealKey::generate(&mut OsRng);
    let again = SealKey::from_bytes(k.as_bytes()).expect("32 bytes");
    assert_eq!(again.as_bytes(), k.as_bytes());
}

// No Debug that could print the key.
static_assertions::assert_not_impl_any!(SealKey: core::fmt::Debug);
