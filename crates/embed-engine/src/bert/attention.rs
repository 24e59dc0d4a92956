//! Multi-head self-attention in f32 over a fused QKV buffer (rows `[q | k | v]`).
//! Loops run along contiguous rows so they auto-vectorise without reassociating sums.

use crate::math::softmax;
use alloc::vec::Vec;

/// Scratch reused across layers and calls.
#[derive(Default)]
pub struct AttnScratch {
    /// One head's keys transposed: head_dim x T.
    kt: Vec<f32>,
    /// One query row of scores: T.
    scores: Vec<f32>,
}

/// `ctx[t][h*d..(h+1)*d] = softmax(q_t . K^T / sqrt d) V` for every head.
pub fn attention(
    qkv: &[f32],
    t: usize,
    hidden: usize,
    heads: usize,
    ctx: &mut [f32],
    s: &mut AttnScratch,
) {
    let d = hidden / heads;
    let row = 3 * hidden;
    // 1/sqrt(d) as the model computes it (d is a small integer).
    let scale = crate::math::inv_sqrt(d as f64) as f32;
    s.kt.resize(d * t, 0.0);
    s.scores.resize(t, 0.0);
    ctx[..t * hidden].fill(0.0);
    for h in 0..heads {
        let (qo, ko, vo) = (h * d, hidden + h * d, 2 * hidden + h * d);
        for j in 0..t {
            for c in 0..d {
                s.kt[c * t + j] = qkv[j * row + ko + c];
            }
        }
        for i in 0..t {
            let q = &qkv[i * row + qo..i * row + qo + d];
            let scores = &mut s.scores[..t];
            scores.fill(0.0);
            for (c, &qc) in q.iter().enumerate() {
                let kr = &s.kt[c * t..(c + 1) * t];
                for (sc, &kv) in scores.iter_mut().zip(kr) {
                    *sc += qc * kv;
                }
            }
            for sc in scores.iter_mut() {
                *sc *= scale;
            }
            softmax(scores);
            let out = &mut ctx[i * hidden + qo..i * hidden + qo + d];
            for (j, &p) in scores.iter().enumerate() {
                let v = &qkv[j * row + vo..j * row + vo + d];
                for (o, &vv) in out.iter_mut().zip(v) {
                    *o += p * vv;
                }
            }
        }
    }
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
