//! Builds a blob (the layout is `embed_engine::blob::format`). Output depends only on the tensors added (sorted by id), so the
//! same model always gives the same bytes.

use embed_engine::blob::format::{
    header_digest, DType, ModelKind, ALIGN, CONFIG_WORDS, DIGEST_OFFSET, ENTRY_LEN, FORMAT_VERSION,
    HEADER_LEN, MAGIC, MAX_RANK,
};
use sha2::{Digest, Sha256};

struct Pending {
    id: u32,
    dtype: DType,
    dims: Vec<u32>,
    bytes: Vec<u8>,
}

pub struct BlobWriter {
    kind: ModelKind,
    config: [u32; CONFIG_WORDS],
    tensors: Vec<Pending>,
}

impl BlobWriter {
    pub fn new(kind: ModelKind, config: [u32; CONFIG_WORDS]) -> Self {
        Self {
            kind,
            config,
            tensors: Vec::new(),
        }
    }

    pub fn add_f32(&mut self, id: u32, dims: &[u32], values: &[f32]) {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.push(id, DType::F32, dims, bytes);
    }

    pub fn add_i8(&mut self, id: u32, dims: &[u32], values: &[i8]) {
        let bytes = values.iter().map(|&v| v as u8).collect();
        self.push(id, DType::I8, dims, bytes);
    }

    pub fn add_bytes(&mut self, id: u32, bytes: &[u8]) {
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        self.push(id, DType::U8, &[len], bytes.to_vec());
    }

    fn push(&mut self, id: u32, dtype: DType, dims: &[u32], bytes: Vec<u8>) {
        assert!(!dims.is_empty() && dims.len() <= MAX_RANK, "tensor rank");
        let count: u64 = dims.iter().map(|&d| u64::from(d)).product();
        assert_eq!(
            count * dtype.size(),
            bytes.len() as u64,
            "tensor {id}: shape vs data"
        );
        assert!(
            self.tensors.iter().all(|t| t.id != id),
            "duplicate tensor {id}"
        );
        self.tensors.push(Pending {
            id,
            dtype,
            dims: dims.to_vec(),
            bytes,
        });
    }

    /// Lays out and serialises the blob. Panics only on writer misuse (the
    /// asserts above), never on data values.
    pub fn finish(mut self) -> Vec<u8> {
        self.tensors.sort_by_key(|t| t.id);
        let table_end = HEADER_LEN + self.tensors.len() * ENTRY_LEN;
        let mut offsets = Vec::with_capacity(self.tensors.len());
        let mut pos = align_up(table_end as u64);
        for t in &self.tensors {
            offsets.push(pos);
            pos = align_up(pos + t.bytes.len() as u64);
        }
        let total = pos;
        let mut out = Vec::with_capacity(total as usize);
        out.extend_from_slice(&MAGIC);
        put_u32(&mut out, FORMAT_VERSION);
        put_u32(&mut out, self.kind as u32);
        put_u32(&mut out, self.tensors.len() as u32);
        put_u32(&mut out, 0);
        out.extend_from_slice(&total.to_le_bytes());
        for w in self.config {
            put_u32(&mut out, w);
        }
        debug_assert_eq!(out.len(), DIGEST_OFFSET);
        out.resize(HEADER_LEN, 0); // digest placeholder
        for (t, &off) in self.tensors.iter().zip(&offsets) {
            put_u32(&mut out, t.id);
            put_u32(&mut out, t.dtype as u32);
            put_u32(&mut out, t.dims.len() as u32);
            for i in 0..MAX_RANK {
                put_u32(&mut out, t.dims.get(i).copied().unwrap_or(0));
            }
            put_u32(&mut out, 0);
            out.extend_from_slice(&off.to_le_bytes());
            out.extend_from_slice(&(t.bytes.len() as u64).to_le_bytes());
            out.extend_from_slice(&Sha256::digest(&t.bytes));
        }
        let digest = header_digest(&out[..DIGEST_OFFSET], &out[HEADER_LEN..table_end]);
        out[DIGEST_OFFSET..HEADER_LEN].copy_from_slice(&digest);
        for (t, &off) in self.tensors.iter().zip(&offsets) {
            out.resize(off as usize, 0);
            out.extend_from_slice(&t.bytes);
        }
        out.resize(total as usize, 0);
        out
    }
}

fn align_up(v: u64) -> u64 {
    v.div_ceil(ALIGN) * ALIGN
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}
