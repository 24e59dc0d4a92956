//! Multi-head self-attention in f32 over a fused QKV buffer (rows `[q | k | v]`), or, in
//! the split pass, over some query rows and the gathered `[k | v]` rows of the sequence.
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
    /// One head's scores / probabilities: M x T.
    scores: Vec<f32>,
    /// Kᵀ of one head for the NT product (head_dim x T).
    pack: Vec<f32>,
}

/// Attention inputs: `m` query rows and the `t` key/value rows of the whole sequence
/// (the same rows when one workspace holds the sequence, more when it holds a part).
pub struct AttnIn<'a> {
    /// Query rows, `q_stride` apart; head `h`'s query at column `h * d`.
    pub q: &'a [f32],
    pub q_stride: usize,
    pub m: usize,
    /// Key/value rows, `kv_stride` apart; head `h`'s key at `k_off + h * d`, its value at
    /// `v_off + h * d`.
    pub kv: &'a [f32],
    pub kv_stride: usize,
    pub k_off: usize,
    pub v_off: usize,
    pub t: usize,
}

/// `ctx[i][h*d..(h+1)*d] = softmax(q_i . K^T / sqrt d) V` for every head and query row.
/// Every score and context value depends only on its query row and all keys/values, so a
/// query row gives the same floats whichever other query rows are in the call.
pub fn attention(
    kernel: Kernel,
    a: AttnIn<'_>,
    hidden: usize,
    heads: usize,
    ctx: &mut [f32],
    s: &mut AttnScratch,
) -> Result<(), EngineError> {
    let d = hidden / heads;
    let (m, t) = (a.m, a.t);
    // 1/sqrt(d) as the model computes it (d is a small integer).
    let scale = int8_kernels::inv_sqrt_f64(d as f64) as f32;
    s.scores.resize(m * t, 0.0);
    let scores = &mut s.scores[..m * t];
    for h in 0..heads {
        let q = F32Mat::new(&a.q[h * d..], m, d, a.q_stride)?;
        let k = F32Mat::new(&a.kv[a.k_off + h * d..], t, d, a.kv_stride)?;
        gemm_f32_nt(kernel, q, k, F32MatMut::dense(scores, m, t)?, &mut s.pack)?;
        softmax_rows_f32(kernel, F32MatMut::dense(scores, m, t)?, scale)?;
        let v = F32Mat::new(&a.kv[a.v_off + h * d..], t, d, a.kv_stride)?;
        let out = F32MatMut::new(&mut ctx[h * d..], m, d, hidden)?;
        gemm_f32_nn(kernel, F32Mat::dense(scores, m, t)?, v, out)?;
    }
    Ok(())
}

/// Mean over the T rows of `x` (T x hidden) into `out` (the float reference model).
#[cfg(feature = "host")]
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
