//! Portable reference kernel: plain loops over the packed layout.

use crate::pack::{BLOCK, STEP_BYTES};
use crate::{PackedMatrix, QuantizedRows, GROUP};

/// Integer dots of one activation row with the 16 channels of one block, for group `g`.
///
/// Works on the biased weight bytes like the SIMD kernels (`corr` = -128 * sum(x)), with
/// one accumulator per packed byte position so the loop vectorizes even for SSE2.
fn group_block(a_row: &[i8], w_blk: &[u8], g: usize, corr: i32) -> [i32; BLOCK] {
    let steps = GROUP / 4;
    let mut lanes = [0i32; STEP_BYTES];
    let pairs = w_blk.chunks_exact(STEP_BYTES).zip(a_row.chunks_exact(4));
    for (ws, xs) in pairs.skip(g * steps).take(steps) {
        // The 4 activations repeat along the 64 packed bytes; 8 at a time is one SSE2 vector.
        let x = [0, 1, 2, 3, 0, 1, 2, 3].map(|j| i16::from(xs[j]));
        for (lane, w) in lanes.chunks_exact_mut(8).zip(ws.chunks_exact(8)) {
            for t in 0..8 {
                // u8 * i8 always fits i16: [-32640, 32385].
                lane[t] += i32::from(i16::from(w[t]) * x[t]);
            }
        }
    }
    let mut acc = [corr; BLOCK];
    for (acc, l) in acc.iter_mut().zip(lanes.chunks_exact(4)) {
        *acc += l[0] + l[1] + l[2] + l[3];
    }
    acc
}

/// Calls `f(row, channel, group, dot)` for every valid (row, channel) in group order.
fn for_each_dot(a: &QuantizedRows, w: &PackedMatrix, mut f: impl FnMut(usize, usize, usize, i32)) {
    let (k, n) = (w.k(), w.n());
    let groups = k / GROUP;
    let corr = a.corrections();
    for (m, a_row) in a.values().chunks_exact(k).enumerate() {
        for (blk, w_blk) in w.data().chunks_exact(BLOCK * k).enumerate() {
            let n0 = blk * BLOCK;
            let valid = BLOCK.min(n - n0);
            for g in 0..groups {
                let acc = group_block(a_row, w_blk, g, corr[m * groups + g]);
                for (c, &d) in acc[..valid].iter().enumerate() {
                    f(m, n0 + c, g, d);
                }
            }
        }
    }
}

/// See `crate::group_dots`; shapes are already checked.
#[cfg(feature = "extra-ops")]
pub(crate) fn group_dots(a: &QuantizedRows, w: &PackedMatrix, out: &mut [i32]) {
    let (n, groups) = (w.n(), w.k() / GROUP);
    for_each_dot(a, w, |m, c, g, d| out[(m * n + c) * groups + g] = d);
}

/// See [`crate::matmul`]; shapes are already checked.
pub(crate) fn matmul(a: &QuantizedRows, w: &PackedMatrix, out: &mut [f32]) {
    let (n, groups) = (w.n(), w.k() / GROUP);
    out.fill(0.0);
    let scales = a.scales();
    // Groups arrive in increasing order for each (row, channel): acc = acc + dot * scale.
    for_each_dot(a, w, |m, c, g, d| {
        out[m * n + c] += d as f32 * scales[m * groups + g];
    });
}
