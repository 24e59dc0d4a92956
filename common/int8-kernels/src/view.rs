//! Raw views of already-validated operands, shared by the SIMD kernels.
//!
//! Built only after `lib.rs` checked the shapes, so every index the kernels form
//! from `m`, `blocks`, `k` and `groups` stays inside these buffers.

use crate::pack::{BLOCK, STEP_BYTES};
use crate::{PackedMatrix, QuantizedRows, GROUP};

/// Steps of 4 along K per group of 32.
pub(crate) const STEPS_PER_GROUP: usize = GROUP / 4;

#[derive(Clone, Copy)]
pub(crate) struct View {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub groups: usize,
    pub blocks: usize,
    /// `m * k` signed activations.
    pub a: *const i8,
    /// `m * groups` correction terms.
    pub corr: *const i32,
    /// `m * groups` activation scales.
    pub scales: *const f32,
    /// `blocks * k * 16` biased weight bytes.
    pub w: *const u8,
}

impl View {
    pub(crate) fn new(a: &QuantizedRows, w: &PackedMatrix) -> Self {
        Self {
            m: a.m(),
            n: w.n(),
            k: w.k(),
            groups: w.k() / GROUP,
            blocks: w.blocks(),
            a: a.values().as_ptr(),
            corr: a.corrections().as_ptr(),
            scales: a.scales().as_ptr(),
            w: w.data().as_ptr(),
        }
    }

    /// Byte offset of (block, step) in the packed weights.
    pub(crate) fn w_offset(&self, blk: usize, step: usize) -> usize {
        (blk * (self.k / 4) + step) * STEP_BYTES
    }

    /// Channels of block `blk` that exist (the last block may be partial).
    pub(crate) fn valid(&self, blk: usize) -> usize {
        BLOCK.min(self.n - blk * BLOCK)
    }
}
