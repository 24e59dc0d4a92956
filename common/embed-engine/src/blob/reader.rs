//! Parses and validates a blob borrowed as `&[u8]`. Every offset and length is
//! checked with checked arithmetic before it is used; the byte buffer needs no
//! particular alignment (values are decoded with `from_le_bytes`).

use super::format::{
    header_digest, DType, ModelKind, ALIGN, CONFIG_WORDS, DIGEST_OFFSET, ENTRY_LEN, FORMAT_VERSION,
    HEADER_LEN, MAGIC, MAX_RANK, MAX_TENSORS,
};
use crate::error::BlobError;
use alloc::vec::Vec;
use sha2::{Digest, Sha256};

/// One validated tensor: its bytes lie inside the blob and match its shape.
#[derive(Debug, Clone, Copy)]
pub struct TensorView<'a> {
    pub id: u32,
    pub dtype: DType,
    pub dims: [u32; MAX_RANK],
    pub rank: usize,
    pub bytes: &'a [u8],
}

impl<'a> TensorView<'a> {
    pub fn shape(&self) -> &[u32] {
        &self.dims[..self.rank]
    }
}

/// A validated blob: header, config and tensor table, borrowing the bytes.
#[derive(Debug)]
pub struct Blob<'a> {
    pub kind: ModelKind,
    pub config: [u32; CONFIG_WORDS],
    tensors: Vec<TensorView<'a>>,
}

impl<'a> Blob<'a> {
    /// Validates the header, table, every extent and every tensor checksum.
    pub fn parse(data: &'a [u8]) -> Result<Self, BlobError> {
        let have = data.len() as u64;
        let head = data.get(..HEADER_LEN).ok_or(BlobError::Truncated {
            needed: HEADER_LEN as u64,
            have,
        })?;
        if head[..8] != MAGIC {
            return Err(BlobError::BadMagic);
        }
        let version = le_u32(head, 8);
        if version != FORMAT_VERSION {
            return Err(BlobError::UnsupportedVersion(version));
        }
        let kind_raw = le_u32(head, 12);
        let kind = ModelKind::from_u32(kind_raw).ok_or(BlobError::UnknownModelKind(kind_raw))?;
        let count = le_u32(head, 16);
        if le_u32(head, 20) != 0 {
            return Err(BlobError::Reserved);
        }
        let total = le_u64(head, 24);
        if total > have {
            return Err(BlobError::Truncated {
                needed: total,
                have,
            });
        }
        if total < have {
            return Err(BlobError::TrailingBytes {
                declared: total,
                have,
            });
        }
        if count > MAX_TENSORS {
            return Err(BlobError::TooManyTensors(count));
        }
        let mut config = [0u32; CONFIG_WORDS];
        for (i, w) in config.iter_mut().enumerate() {
            *w = le_u32(head, 32 + 4 * i);
        }
        // count <= MAX_TENSORS, so this cannot overflow.
        let table_end = HEADER_LEN + count as usize * ENTRY_LEN;
        let table = data
            .get(HEADER_LEN..table_end)
            .ok_or(BlobError::Truncated {
                needed: table_end as u64,
                have,
            })?;
        if header_digest(&head[..DIGEST_OFFSET], table)[..] != head[DIGEST_OFFSET..HEADER_LEN] {
            return Err(BlobError::HeaderChecksum);
        }

        let mut tensors = Vec::with_capacity(count as usize);
        let mut prev_id: Option<u32> = None;
        let mut data_pos = table_end as u64; // end of the previous extent
        for e in table.chunks_exact(ENTRY_LEN) {
            let view = parse_entry(e, data, &mut data_pos)?;
            if prev_id.is_some_and(|p| view.id <= p) {
                return Err(BlobError::TensorOrder { tensor: view.id });
            }
            prev_id = Some(view.id);
            tensors.push(view);
        }
        // Padding after the last tensor must be zero too (canonical bytes).
        let tail = data.get(data_pos as usize..).unwrap_or(&[]);
        if tail.len() as u64 >= ALIGN || tail.iter().any(|&b| b != 0) {
            return Err(BlobError::Reserved);
        }
        Ok(Self {
            kind,
            config,
            tensors,
        })
    }

    #[cfg(feature = "host")]
    pub fn tensors(&self) -> &[TensorView<'a>] {
        &self.tensors
    }

    pub fn get(&self, id: u32) -> Option<&TensorView<'a>> {
        self.tensors
            .binary_search_by_key(&id, |t| t.id)
            .ok()
            .map(|i| &self.tensors[i])
    }

    /// The tensor `id`, required to have exactly this dtype and shape.
    pub fn expect(&self, id: u32, dtype: DType, shape: &[usize]) -> Result<&'a [u8], BlobError> {
        let t = self
            .get(id)
            .ok_or(BlobError::MissingTensor { tensor: id })?;
        let same = t.dtype == dtype
            && t.rank == shape.len()
            && t.shape().iter().zip(shape).all(|(&a, &b)| a as usize == b);
        if !same {
            return Err(BlobError::ShapeMismatch { tensor: id });
        }
        Ok(t.bytes)
    }

    /// An f32 tensor of this shape, decoded; all values must be finite.
    pub fn f32s(&self, id: u32, shape: &[usize]) -> Result<Vec<f32>, BlobError> {
        let bytes = self.expect(id, DType::F32, shape)?;
        let v: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if v.iter().any(|x| !x.is_finite()) {
            return Err(BlobError::NonFinite { tensor: id });
        }
        Ok(v)
    }

    /// An i8 tensor of this shape, copied out.
    pub fn i8s(&self, id: u32, shape: &[usize]) -> Result<Vec<i8>, BlobError> {
        let bytes = self.expect(id, DType::I8, shape)?;
        Ok(bytes.iter().map(|&b| b as i8).collect())
    }

    /// Rejects tensors outside `allowed` (a blob has exactly the tensors its kind needs).
    pub fn only(&self, allowed: impl Fn(u32) -> bool) -> Result<(), BlobError> {
        match self.tensors.iter().find(|t| !allowed(t.id)) {
            Some(t) => Err(BlobError::UnexpectedTensor { tensor: t.id }),
            None => Ok(()),
        }
    }
}

fn parse_entry<'a>(
    e: &[u8],
    data: &'a [u8],
    data_pos: &mut u64,
) -> Result<TensorView<'a>, BlobError> {
    let id = le_u32(e, 0);
    let dtype_raw = le_u32(e, 4);
    let dtype = DType::from_u32(dtype_raw).ok_or(BlobError::UnknownDType {
        tensor: id,
        dtype: dtype_raw,
    })?;
    let rank = le_u32(e, 8);
    if rank == 0 || rank as usize > MAX_RANK {
        return Err(BlobError::BadRank { tensor: id, rank });
    }
    let mut dims = [0u32; MAX_RANK];
    let mut elems: u64 = 1;
    for (i, d) in dims.iter_mut().enumerate() {
        *d = le_u32(e, 12 + 4 * i);
        if i < rank as usize {
            elems = elems
                .checked_mul(u64::from(*d))
                .ok_or(BlobError::Overflow)?;
        } else if *d != 0 {
            return Err(BlobError::Reserved);
        }
    }
    if le_u32(e, 28) != 0 {
        return Err(BlobError::Reserved);
    }
    let offset = le_u64(e, 32);
    let len = le_u64(e, 40);
    if !offset.is_multiple_of(ALIGN) {
        return Err(BlobError::Misaligned { tensor: id, offset });
    }
    let bytes_needed = elems.checked_mul(dtype.size()).ok_or(BlobError::Overflow)?;
    let end = offset.checked_add(len).ok_or(BlobError::Overflow)?;
    if bytes_needed != len || offset < *data_pos || end > data.len() as u64 {
        return Err(BlobError::BadExtent { tensor: id });
    }
    // Gap between extents: zero padding shorter than one alignment unit.
    let gap = &data[*data_pos as usize..offset as usize];
    if gap.len() as u64 >= ALIGN || gap.iter().any(|&b| b != 0) {
        return Err(BlobError::Reserved);
    }
    let bytes = &data[offset as usize..end as usize];
    if Sha256::digest(bytes)[..] != e[48..80] {
        return Err(BlobError::TensorChecksum { tensor: id });
    }
    *data_pos = end;
    Ok(TensorView {
        id,
        dtype,
        dims,
        rank: rank as usize,
        bytes,
    })
}

/// Callers pass offsets inside a slice whose length was checked.
fn le_u32(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}
