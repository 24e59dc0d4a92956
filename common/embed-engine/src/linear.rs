//! An int8 Linear layer: packed weights, per-output-channel scales, f32 bias.

use crate::blob::Blob;
use crate::error::{BlobError, EngineError};
use alloc::vec::Vec;
use int8_kernels::{matmul_epilogue, Epilogue, Kernel, PackedMatrix, QuantizedRows};

pub struct QLinear {
    pub n: usize,
    pub k: usize,
    w: PackedMatrix,
    scale: Vec<f32>,
    bias: Vec<f32>,
}

impl QLinear {
    /// Reads weight (i8, n x k), scale (f32, n) and bias (f32, n) tensors and packs the
    /// weights for the kernels.
    pub fn from_blob(
        blob: &Blob<'_>,
        w: u32,
        s: u32,
        b: u32,
        n: usize,
        k: usize,
    ) -> Result<Self, BlobError> {
        let weights = blob.i8s(w, &[n, k])?;
        let scale = blob.f32s(s, &[n])?;
        if scale.iter().any(|&v| v < 0.0) {
            return Err(BlobError::NonFinite { tensor: s });
        }
        let bias = blob.f32s(b, &[n])?;
        let packed = PackedMatrix::pack(n, k, &weights).map_err(BlobError::Kernel)?;
        Ok(Self {
            n,
            k,
            w: packed,
            scale,
            bias,
        })
    }

    /// out (m x n) = dequant(rows) W^T * scale + bias, for rows already quantized.
    pub fn apply(
        &self,
        kernel: Kernel,
        rows: &QuantizedRows,
        out: &mut [f32],
    ) -> Result<(), EngineError> {
        self.apply_ep(kernel, rows, out, false, None, None)
    }

    /// [`apply`](Self::apply) plus `residual` (m x n, e.g. the block's input), fused into
    /// the kernel's store where it can.
    pub fn apply_residual(
        &self,
        kernel: Kernel,
        rows: &QuantizedRows,
        out: &mut [f32],
        residual: &[f32],
    ) -> Result<(), EngineError> {
        self.apply_ep(kernel, rows, out, false, None, Some(residual))
    }

    /// `GELU(apply(..)) / div` (per output channel), fused into the kernel's store where
    /// it can: the input of the next Linear, with its SmoothQuant factors divided out.
    pub fn apply_gelu_div(
        &self,
        kernel: Kernel,
        rows: &QuantizedRows,
        out: &mut [f32],
        div: &[f32],
    ) -> Result<(), EngineError> {
        self.apply_ep(kernel, rows, out, true, Some(div), None)
    }

    fn apply_ep(
        &self,
        kernel: Kernel,
        rows: &QuantizedRows,
        out: &mut [f32],
        gelu: bool,
        div: Option<&[f32]>,
        residual: Option<&[f32]>,
    ) -> Result<(), EngineError> {
        let m = rows.m();
        let out = &mut out[..m * self.n];
        let ep = Epilogue {
            scale: &self.scale,
            bias: &self.bias,
            gelu,
            div,
            residual: residual.map(|r| &r[..m * self.n]),
        };
        matmul_epilogue(kernel, rows, &self.w, ep, out)?;
        Ok(())
    }
}
