//! The model blob reader: arbitrary bytes never panic and every tensor view
//! lies inside the input; a blob written by `model_tools::BlobWriter` from fuzz bytes
//! reads back to the same tensors. Memory stays bounded by the input (the
//! reader borrows; only the table is allocated).
#![no_main]

use embed_engine::blob::{Blob, DType, ModelKind};
use libfuzzer_sys::fuzz_target;
use model_tools::BlobWriter;

fuzz_target!(|data: &[u8]| {
    if let Ok(blob) = Blob::parse(data) {
        let range = data.as_ptr_range();
        for t in blob.tensors() {
            let r = t.bytes.as_ptr_range();
            assert!(range.start <= r.start && r.end <= range.end);
            let count: u64 = t.shape().iter().map(|&d| u64::from(d)).product();
            assert_eq!(count * t.dtype.size(), t.bytes.len() as u64);
        }
    }

    // Round trip: split the input into up to four tensors (U8 and I8).
    let config = core::array::from_fn(|i| u32::from(data.get(i).copied().unwrap_or(0)));
    let mut writer = BlobWriter::new(ModelKind::MlpClassifier, config);
    let parts: Vec<&[u8]> = data.chunks(data.len().div_ceil(4).max(1)).collect();
    for (i, part) in parts.iter().enumerate() {
        let id = 100 + i as u32;
        if i % 2 == 0 {
            writer.add_bytes(id, part);
        } else {
            let v: Vec<i8> = part.iter().map(|&b| b as i8).collect();
            writer.add_i8(id, &[1, part.len() as u32], &v);
        }
    }
    let bytes = writer.finish();
    let blob = Blob::parse(&bytes).expect("a written blob reads back");
    assert_eq!(blob.kind, ModelKind::MlpClassifier);
    assert_eq!(blob.config, config);
    assert_eq!(blob.tensors().len(), parts.len());
    for (i, part) in parts.iter().enumerate() {
        let t = blob.get(100 + i as u32).expect("tensor present");
        let want = if i % 2 == 0 { DType::U8 } else { DType::I8 };
        assert_eq!(t.dtype, want);
        assert_eq!(t.bytes, *part);
    }
});
