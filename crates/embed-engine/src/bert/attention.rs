//! Multi-head self-attention in f32 over a fused QKV buffer (rows `[q | k | v]`).
//! The inner products run on the int8-kernels f32 helpers (SIMD picked at run
//! time, the same floats on every kernel, so results do not depend on the CPU).

use crate::error::EngineError;
use crate::math::softmax;
use alloc::vec::Vec;
use int8_kernels::{axpy_f32, dot_f32, Kernel};

/// Scratch reused across layers and calls.
#[derive(Default)]
pub struct AttnScratch {
    /// One head's keys transposed: head_dim x T.
    kt: Vec<f32>,
    /// One head's values transposed: head_dim x T.
    vt: Vec<f32>,
    /// One query row of scores: T.
    scores: Vec<f32>,
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
    s.kt.resize(d * t, 0.0);
    s.vt.resize(d * t, 0.0);
    s.scores.resize(t, 0.0);
    for h in 0..heads {
        let (qo, ko, vo) = (h * d, hidden + h * d, 2 * hidden + h * d);
        for j in 0..t {
            for c in 0..d {
                s.kt[c * t + j] = qkv[j * row + ko + c];
                s.vt[c * t + j] = qkv[j * row + vo + c];
            }
        }
        for i in 0..t {
            let q = &qkv[i * row + qo..i * row + qo + d];
            let scores = &mut s.scores[..t];
            scores.fill(0.0);
            for (c, &qc) in q.iter().enumerate() {
                axpy_f32(kernel, qc, &s.kt[c * t..(c + 1) * t], scores)?;
            }
            for sc in scores.iter_mut() {
                *sc *= scale;
            }
            softmax(scores);
            let out = &mut ctx[i * hidden + qo..i * hidden + qo + d];
            for (c, o) in out.iter_mut().enumerate() {
                *o = dot_f32(kernel, scores, &s.vt[c * t..(c + 1) * t])?;
            }
        }
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
