//! Weight packing: one layout shared by every kernel.
//!
//! Output channels are padded to blocks of 16 (zero weights). Inside a block the
//! layout is `[K/4][16 channels][4 consecutive k]`, i.e. 64 bytes per step of 4
//! along K: exactly one `vpdpbusd` operand. Weights are stored biased to u8
//! (`w + 128`) because `vpdpbusd` multiplies unsigned by signed bytes; the
//! activations stay signed and the kernels subtract `128 * sum(x)` per group.

use alloc::vec::Vec;

use crate::error::{check_k, check_len, mul};
use crate::KernelError;

/// Output channels per packed block.
pub(crate) const BLOCK: usize = 16;
/// Bytes per block per step of 4 along K.
pub(crate) const STEP_BYTES: usize = BLOCK * 4;

/// int8 weights N x K (row-major, one row per output channel), packed for every kernel.
#[derive(Clone, Debug)]
pub struct PackedMatrix {
    n: usize,
    k: usize,
    /// `blocks() * k * 16` bytes, see the module comment.
    data: Vec<u8>,
}

impl PackedMatrix {
    /// Packs `weights` (N x K, row-major). K must be a positive multiple of 32, N >= 1.
    pub fn pack(n: usize, k: usize, weights: &[i8]) -> Result<Self, KernelError> {
        check_k(k)?;
        if n == 0 {
            return Err(KernelError::ZeroN);
        }
        check_len("weights", mul(n, k)?, weights.len())?;
        let blocks = n.div_ceil(BLOCK);
        let len = mul(mul(blocks, BLOCK)?, k)?;
        // Padding channels hold weight 0, i.e. biased byte 128.
        let mut data = alloc::vec![128u8; len];
        for (row, w) in weights.chunks_exact(k).enumerate() {
            let (blk, c) = (row / BLOCK, row % BLOCK);
            let base = blk * BLOCK * k;
            for (kk, &v) in w.iter().enumerate() {
                let idx = base + (kk / 4) * STEP_BYTES + c * 4 + kk % 4;
                data[idx] = bias(v);
            }
        }
        Ok(Self { n, k, data })
    }

    /// Takes bytes produced by [`packed_bytes`](Self::packed_bytes) (e.g. stored in a model
    /// blob), so loading needs no repacking. Only the length is checked: any bytes are
    /// valid weights, but the padding channels should hold 128 (weight 0).
    #[cfg(feature = "extra-ops")]
    pub fn from_packed_bytes(n: usize, k: usize, data: Vec<u8>) -> Result<Self, KernelError> {
        check_k(k)?;
        if n == 0 {
            return Err(KernelError::ZeroN);
        }
        check_len(
            "packed weights",
            mul(mul(n.div_ceil(BLOCK), BLOCK)?, k)?,
            data.len(),
        )?;
        Ok(Self { n, k, data })
    }

    /// The packed layout (see the module docs): `ceil(N / 16) * 16 * K` bytes, stable.
    #[cfg(feature = "extra-ops")]
    pub fn packed_bytes(&self) -> &[u8] {
        &self.data
    }

    /// Output channels.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Input channels (a multiple of 32).
    pub fn k(&self) -> usize {
        self.k
    }

    /// Weight `(row, col)` as the original i8 (for tests and debugging).
    pub fn get(&self, row: usize, col: usize) -> Option<i8> {
        if row >= self.n || col >= self.k {
            return None;
        }
        let idx =
            (row / BLOCK) * BLOCK * self.k + (col / 4) * STEP_BYTES + (row % BLOCK) * 4 + col % 4;
        self.data.get(idx).map(|&b| unbias(b))
    }

    /// Number of 16-channel blocks (N rounded up).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))] // SIMD kernels only
    pub(crate) fn blocks(&self) -> usize {
        self.n.div_ceil(BLOCK)
    }

    /// Packed bytes, `blocks() * 16 * k()` long.
    pub(crate) fn data(&self) -> &[u8] {
        &self.data
    }
}

/// i8 -> u8 with +128 (flips the sign bit).
fn bias(v: i8) -> u8 {
    (v as u8) ^ 0x80
}

/// Inverse of [`bias`].
pub(crate) fn unbias(b: u8) -> i8 {
    (b ^ 0x80) as i8
}
