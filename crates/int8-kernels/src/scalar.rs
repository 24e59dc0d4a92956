//! Portable reference kernel: plain loops over the packed layout.

use crate::pack::{unbias, BLOCK, STEP_BYTES};
use crate::{PackedMatrix, QuantizedRows, GROUP};

/// Integer dots of one activation row with the 16 channels of one block, for group `g`.
fn group_block(a_row: &[i8], w_blk: &[u8], g: usize) -> [i32; BLOCK] {
    let steps = GROUP / 4;
    let mut acc = [0i32; BLOCK];
    for s in g * steps..(g + 1) * steps {
        let ws = &w_blk[s * STEP_BYTES..(s + 1) * STEP_BYTES];
        let xs = &a_row[s * 4..s * 4 + 4];
        for (c, acc) in acc.iter_mut().enumerate() {
            for (j, &x) in xs.iter().enumerate() {
                *acc += i32::from(unbias(ws[c * 4 + j])) * i32::from(x);
            }
        }
    }
    acc
}

/// Calls `f(row, channel, group, dot)` for every valid (row, channel) in group order.
fn for_each_dot(a: &QuantizedRows, w: &PackedMatrix, mut f: impl FnMut(usize, usize, usize, i32)) {
    let (k, n) = (w.k(), w.n());
    let groups = k / GROUP;
    for (m, a_row) in a.values().chunks_exact(k).enumerate() {
        for (blk, w_blk) in w.data().chunks_exact(BLOCK * k).enumerate() {
            let n0 = blk * BLOCK;
            let valid = BLOCK.min(n - n0);
            for g in 0..groups {
                let acc = group_block(a_row, w_blk, g);
                for (c, &d) in acc[..valid].iter().enumerate() {
                    f(m, n0 + c, g, d);
                }
            }
        }
    }
}

/// See [`crate::group_dots`]; shapes are already checked.
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
