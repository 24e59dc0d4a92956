//! Blob format: round trip, determinism, and that truncated, mutated or
//! hostile blobs are rejected with a typed error and never a panic.
#![allow(clippy::unwrap_used)] // tests may panic on unexpected errors

mod common;

use embed_engine::bert::BertModel;
use embed_engine::blob::format::{DIGEST_OFFSET, ENTRY_LEN, HEADER_LEN};
use embed_engine::blob::{Blob, DType, ModelKind};
use embed_engine::mlp::MlpModel;
use embed_engine::{BlobError, Embedder, Kernel};
use model_tools::mlp::quantize_mlp;
use model_tools::{quantize_bert, BlobWriter, DEFAULT_ALPHA};
use sha2::{Digest, Sha256};

fn tiny_blob() -> Vec<u8> {
    let m = common::tiny_bert(1);
    quantize_bert(
        &m,
        &common::tiny_inputs(2, 8),
        DEFAULT_ALPHA,
        Kernel::detect(),
    )
    .expect("quantize")
}

/// Parse and load as the guest would (any kind); Ok(()) if it loads.
fn load_any(bytes: &[u8]) -> Result<(), BlobError> {
    let blob = Blob::parse(bytes)?;
    match blob.kind {
        ModelKind::BertEmbedder => Embedder::load(bytes).map(|_| ()),
        ModelKind::MlpClassifier => MlpModel::load(bytes).map(|_| ()),
    }
}

/// Recomputes the header digest after the test edited the header or table,
/// as an attacker who knows the format would.
fn reseal(b: &mut [u8]) {
    let count = u32::from_le_bytes(b[16..20].try_into().unwrap()) as usize;
    let end = (HEADER_LEN + count * ENTRY_LEN).min(b.len());
    let mut h = Sha256::new();
    h.update(&b[..DIGEST_OFFSET]);
    h.update(&b[HEADER_LEN..end]);
    let d = h.finalize();
    b[DIGEST_OFFSET..HEADER_LEN].copy_from_slice(&d);
}

fn entry(i: usize) -> usize {
    HEADER_LEN + i * ENTRY_LEN
}

#[test]
fn writer_round_trip_and_alignment() {
    let mut w = BlobWriter::new(ModelKind::MlpClassifier, [7; 16]);
    w.add_f32(300, &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, -6.5]);
    w.add_i8(5, &[3], &[-127, 0, 127]);
    w.add_bytes(9, b"hello");
    let bytes = w.finish();
    let blob = Blob::parse(&bytes).expect("parse");
    assert_eq!(blob.kind, ModelKind::MlpClassifier);
    assert_eq!(blob.config, [7; 16]);
    let ids: Vec<u32> = blob.tensors().iter().map(|t| t.id).collect();
    assert_eq!(ids, [5, 9, 300], "table sorted by id");
    assert_eq!(blob.i8s(5, &[3]).unwrap(), [-127, 0, 127]);
    assert_eq!(blob.f32s(300, &[2, 3]).unwrap()[5], -6.5);
    assert_eq!(blob.get(9).unwrap().bytes, b"hello");
    for t in blob.tensors() {
        let off = t.bytes.as_ptr() as usize - bytes.as_ptr() as usize;
        assert_eq!(off % 64, 0);
    }
    assert_eq!(bytes.len() % 64, 0);
    assert_eq!(
        blob.f32s(300, &[3, 2]),
        Err(BlobError::ShapeMismatch { tensor: 300 })
    );
    assert_eq!(
        blob.i8s(300, &[2, 3]),
        Err(BlobError::ShapeMismatch { tensor: 300 })
    );
    assert_eq!(
        blob.i8s(4, &[3]),
        Err(BlobError::MissingTensor { tensor: 4 })
    );
}

#[test]
fn quantize_is_deterministic_and_loads_unaligned() {
    let a = tiny_blob();
    let b = tiny_blob();
    assert_eq!(a, b, "same model, same bytes");
    // The guest's buffer may have any alignment: load from an odd offset.
    let mut shifted = vec![0u8; a.len() + 1];
    shifted[1..].copy_from_slice(&a);
    let mut e1 = Embedder::load(&a).expect("load");
    let mut e2 = Embedder::load(&shifted[1..]).expect("load unaligned");
    let ids = [2, 7, 9, 11, 3];
    assert_eq!(e1.embed_ids(&ids).unwrap(), e2.embed_ids(&ids).unwrap());
}

#[test]
fn every_truncation_is_rejected() {
    for bytes in [tiny_blob(), quantize_mlp(&common::tiny_mlp(3)).unwrap()] {
        load_any(&bytes).expect("intact blob loads");
        for cut in 0..bytes.len() {
            let r = load_any(&bytes[..cut]);
            assert!(r.is_err(), "prefix of {cut} bytes accepted");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            load_any(&longer),
            Err(BlobError::TrailingBytes { .. })
        ));
    }
}

#[test]
fn every_byte_flip_is_rejected() {
    let bytes = tiny_blob();
    // Header and table bytes all, data bytes with a stride (each parse hashes the blob).
    let table_end = entry(Blob::parse(&bytes).unwrap().tensors().len());
    let positions = (0..table_end).chain((table_end..bytes.len()).step_by(29));
    for pos in positions {
        let mut m = bytes.clone();
        m[pos] ^= 0x5a;
        assert!(load_any(&m).is_err(), "flip at {pos} accepted");
    }
}

#[test]
fn resealed_header_mutations_never_panic() {
    // With a valid header digest the structural checks are all that stand in the way.
    let bytes = tiny_blob();
    let table_end = entry(Blob::parse(&bytes).unwrap().tensors().len());
    // Entry checksum bytes (48..80) are skipped: they only lead to TensorChecksum.
    let fields = (HEADER_LEN..table_end).filter(|p| (p - HEADER_LEN) % ENTRY_LEN < 48);
    for pos in (0..DIGEST_OFFSET).chain(fields) {
        for v in [0xffu8, bytes[pos] ^ 1] {
            let mut m = bytes.clone();
            if m[pos] == v {
                continue;
            }
            m[pos] = v;
            reseal(&mut m);
            let _ = load_any(&m); // Ok or Err, but no panic
        }
    }
}

fn set_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn set_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn hostile_fields_give_typed_errors() {
    let good = tiny_blob();
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut m = good.clone();
        f(&mut m);
        reseal(&mut m);
        load_any(&m)
    };
    assert_eq!(edit(&|b| b[0] = b'X'), Err(BlobError::BadMagic));
    assert_eq!(
        edit(&|b| set_u32(b, 8, 2)),
        Err(BlobError::UnsupportedVersion(2))
    );
    assert_eq!(
        edit(&|b| set_u32(b, 12, 9)),
        Err(BlobError::UnknownModelKind(9))
    );
    assert_eq!(
        edit(&|b| set_u32(b, 16, u32::MAX)),
        Err(BlobError::TooManyTensors(u32::MAX))
    );
    assert!(matches!(
        edit(&|b| set_u32(b, 16, 4000)),
        Err(BlobError::Truncated { .. })
    ));
    assert!(matches!(
        edit(&|b| set_u64(b, 24, u64::MAX)),
        Err(BlobError::Truncated { .. })
    ));
    // Entry 0: dtype, rank, dims, offset, length.
    let e = entry(0);
    assert!(matches!(
        edit(&|b| set_u32(b, e + 4, 77)),
        Err(BlobError::UnknownDType { .. })
    ));
    assert!(matches!(
        edit(&|b| set_u32(b, e + 8, 0)),
        Err(BlobError::BadRank { .. })
    ));
    assert!(matches!(
        edit(&|b| set_u32(b, e + 8, 5)),
        Err(BlobError::BadRank { .. })
    ));
    assert!(matches!(
        edit(&|b| {
            set_u32(b, e + 8, 4);
            for i in 0..4 {
                set_u32(b, e + 12 + 4 * i, u32::MAX);
            }
        }),
        Err(BlobError::Overflow)
    ));
    assert!(matches!(
        edit(&|b| set_u64(b, e + 32, u64::MAX - 63)),
        Err(BlobError::Overflow)
    ));
    assert!(matches!(
        edit(&|b| set_u64(b, e + 32, 1 << 40)),
        Err(BlobError::BadExtent { .. })
    ));
    assert!(matches!(
        edit(&|b| set_u64(b, e + 32, 65)),
        Err(BlobError::Misaligned { .. })
    ));
    assert!(matches!(
        edit(&|b| set_u64(b, e + 40, u64::MAX)),
        Err(BlobError::Overflow)
    ));
    // Second tensor starting inside the first: overlap.
    assert!(matches!(
        edit(&|b| {
            let first = u64::from_le_bytes(b[e + 32..e + 40].try_into().unwrap());
            set_u64(b, entry(1) + 32, first);
        }),
        Err(BlobError::BadExtent { .. })
    ));
    // Duplicate id.
    assert!(matches!(
        edit(&|b| {
            let id0 = u32::from_le_bytes(b[e..e + 4].try_into().unwrap());
            set_u32(b, entry(1), id0);
        }),
        Err(BlobError::TensorOrder { .. })
    ));
    // Config out of range and inconsistent with the tensors.
    assert_eq!(
        edit(&|b| set_u32(b, 32, 1000)),
        Err(BlobError::BadConfig("layers"))
    );
    assert_eq!(
        edit(&|b| set_u32(b, 36, 0)),
        Err(BlobError::BadConfig("hidden"))
    );
    assert!(matches!(
        edit(&|b| set_u32(b, 36, 64)),
        Err(BlobError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        edit(&|b| set_u32(b, 32, 1)),
        Err(BlobError::UnexpectedTensor { .. })
    ));
}

#[test]
fn non_finite_and_bad_vocab_are_rejected_even_with_valid_checksums() {
    let good = tiny_blob();
    let blob = Blob::parse(&good).unwrap();
    let reseal_tensor = |b: &mut Vec<u8>, i: usize| {
        let t = &blob.tensors()[i];
        let off = t.bytes.as_ptr() as usize - good.as_ptr() as usize;
        let d = Sha256::digest(&b[off..off + t.bytes.len()]);
        b[entry(i) + 48..entry(i) + 80].copy_from_slice(&d);
        reseal(b);
    };
    let find = |dtype: DType| {
        blob.tensors()
            .iter()
            .position(|t| t.dtype == dtype)
            .unwrap()
    };
    let fi = find(DType::F32);
    let off = blob.tensors()[fi].bytes.as_ptr() as usize - good.as_ptr() as usize;
    let mut m = good.clone();
    m[off..off + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    reseal_tensor(&mut m, fi);
    assert!(matches!(load_any(&m), Err(BlobError::NonFinite { .. })));

    let vi = find(DType::U8);
    let off = blob.tensors()[vi].bytes.as_ptr() as usize - good.as_ptr() as usize;
    let mut m = good.clone();
    m[off] = 0xff;
    reseal_tensor(&mut m, vi);
    assert_eq!(load_any(&m).err(), Some(BlobError::BadVocab));
}

#[test]
fn model_kinds_are_not_confused() {
    let mlp = quantize_mlp(&common::tiny_mlp(3)).unwrap();
    assert!(Embedder::load(&mlp).is_err());
    assert!(MlpModel::load(&tiny_blob()).is_err());
    let blob = Blob::parse(&mlp).unwrap();
    assert!(BertModel::from_blob(&blob).is_err());
}
