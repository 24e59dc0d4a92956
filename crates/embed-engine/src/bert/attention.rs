//! Multi-head self-attention in f32 over a fused QKV buffer (rows `[q | k | v]`).
//! Per head: scores = Q·Kᵀ and ctx = P·V run on the int8-kernels register-blocked f32
//! GEMMs, the scaled softmax on its vectorised exp (SIMD picked at run time, the same
//! floats on every kernel, so results do not depend on the CPU). Q, K and V are read
//! in place from the QKV rows and the context is written in place (strided views).

use crate::error::EngineError;
use alloc::vec::Vec;
use int8_kernels::{gemm_f32_nn, gemm_f32_nt, softmax_rows_f32, F32Mat, F32MatMut, Kernel};

/// Scratch reused across layers and calls.
#[derive(Default)]
pub struct AttnScratch {
    /// One head's scores / probabilities: T x T.
    scores: Vec<f32>,
    /// Kᵀ of one head for the NT product (head_dim x T).
    pack: Vec<f32>,
}

/// `ctx[t][h*d..(h+1)*d] = softmax(q_t . K^T / sqrt d) V` for every head.
pub fn attention(
    kernel: Kernel,
    qkv: &[f32],
    t: usize,
    hidden: usize,
    heads: usize,
    ctx: &mut [f32],
    s: &mut AttnScratch,
) -> Result<(), EngineError> {
    let d = hidden / heads;
    let row = 3 * hidden;
    // 1/sqrt(d) as the model computes it (d is a small integer).
    let scale = crate::math::inv_sqrt(d as f64) as f32;
    s.scores.resize(t * t, 0.0);
    let scores = &mut s.scores[..t * t];
    for h in 0..heads {
        let (qo, ko, vo) = (h * d, hidden + h * d, 2 * hidden + h * d);
        let q = F32Mat::new(&qkv[qo..], t, d, row)?;
        let k = F32Mat::new(&qkv[ko..], t, d, row)?;
        gemm_f32_nt(kernel, q, k, F32MatMut::dense(scores, t, t)?, &mut s.pack)?;
        softmax_rows_f32(kernel, F32MatMut::dense(scores, t, t)?, scale)?;
        let v = F32Mat::new(&qkv[vo..], t, d, row)?;
        let out = F32MatMut::new(&mut ctx[qo..], t, d, hidden)?;
        gemm_f32_nn(kernel, F32Mat::dense(scores, t, t)?, v, out)?;
    }
    Ok(())
}

/// Mean over the T rows of `x` (T x hidden) into `out`.
pub fn mean_pool(x: &[f32], t: usize, hidden: usize, out: &mut [f32]) {
    out.fill(0.0);
    for r in x[..t * hidden].chunks_exact(hidden) {
        for (o, &v) in out.iter_mut().zip(r) {
            *o += v;
        }
    }
    let inv = 1.0 / t as f32;
    for o in out.iter_mut() {
        *o *= inv;
    }
}
