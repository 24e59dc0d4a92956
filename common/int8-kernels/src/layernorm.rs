//! Row-wise LayerNorm with one or two (gamma, beta) outputs, identical on every kernel.
//!
//! Per row of `h` values: `sum` over 16 lanes (lane = index mod 16, index order, from 0),
//! folded by the tree lane + 8, + 4, + 2, + 1; `mean = sum / h`; the same for
//! `(x - mean) * (x - mean)` giving `var = q / h`; `rstd = 1 / sqrt(var + eps)` in f64
//! ([`inv_sqrt_f64`]) rounded to f32; then `out[i] = ((x[i] - mean) * rstd) * gamma[i] +
//! beta[i]` (separate multiplies and add, no FMA).

use crate::error::{check_len, mul};
use crate::f32math::{fold, LANES};
use crate::{Kernel, KernelError, KernelKind};

/// One LayerNorm output: `out` (rows x h) with its `gamma` and `beta` (h each).
#[derive(Debug)]
pub struct LnOut<'a> {
    pub gamma: &'a [f32],
    pub beta: &'a [f32],
    pub out: &'a mut [f32],
}

/// 1 / sqrt(v) for v > 0, accurate to f64 rounding (bit-trick seed + 5 Newton steps).
pub fn inv_sqrt_f64(v: f64) -> f64 {
    let mut y = f64::from_bits(0x5FE6_EB50_C7B5_37A9 - (v.to_bits() >> 1));
    for _ in 0..5 {
        y = y * (1.5 - 0.5 * v * y * y);
    }
    y
}

/// LayerNorm of every row of `x` (rows of `h = first.gamma.len()` values) into `first`
/// and, when given, `second` (e.g. a SmoothQuant-scaled copy), as described in the module
/// docs.
pub fn layer_norm_f32(
    kernel: Kernel,
    x: &[f32],
    eps: f32,
    first: LnOut<'_>,
    second: Option<LnOut<'_>>,
) -> Result<(), KernelError> {
    if !crate::detect::runnable(kernel) {
        return Err(KernelError::Unavailable(kernel.kind()));
    }
    let h = first.gamma.len();
    if h == 0 {
        return Err(KernelError::LengthMismatch {
            what: "layer norm width",
            expected: 1,
            got: 0,
        });
    }
    let rows = x.len() / h;
    check_len("layer norm input", mul(rows, h)?, x.len())?;
    for o in core::iter::once(&first).chain(second.as_ref()) {
        check_len("layer norm gamma", h, o.gamma.len())?;
        check_len("layer norm beta", h, o.beta.len())?;
        check_len("layer norm output", x.len(), o.out.len())?;
    }
    let outs = [Some(first), second];
    match kernel.kind() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the token proves AVX2 + FMA for both SIMD kinds (kernel.rs); every slice length checked above.
        KernelKind::Avx2 | KernelKind::Avx512Vnni => unsafe {
            crate::f32math_simd::layer_norm_avx2(x, h, eps, outs)
        },
        #[cfg(feature = "scalar")]
        _ => {
            let [Some(mut first), mut second] = outs else {
                return Ok(());
            };
            for (r, row) in x.chunks_exact(h).enumerate() {
                let (mean, rstd) = ln_stats_scalar(row, eps);
                for o in core::iter::once(&mut first).chain(second.as_mut()) {
                    ln_out_row(
                        row,
                        mean,
                        rstd,
                        o.gamma,
                        o.beta,
                        &mut o.out[r * h..(r + 1) * h],
                    );
                }
            }
        }
    }
    Ok(())
}

/// (mean, rstd) of one row, the reference order.
#[cfg(feature = "scalar")]
fn ln_stats_scalar(row: &[f32], eps: f32) -> (f32, f32) {
    let main = row.len() - row.len() % LANES;
    let mut acc = [0f32; LANES];
    for c in row[..main].chunks_exact(LANES) {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    let mean = ln_mean_tail(acc, row);
    let mut sq = [0f32; LANES];
    for c in row[..main].chunks_exact(LANES) {
        for (a, &v) in sq.iter_mut().zip(c) {
            *a += (v - mean) * (v - mean);
        }
    }
    (mean, ln_rstd_tail(sq, row, mean, eps))
}

/// Adds the row's tail (after its whole 16-chunks) to the lane sums; returns the mean.
#[inline]
pub(crate) fn ln_mean_tail(mut acc: [f32; LANES], row: &[f32]) -> f32 {
    let main = row.len() - row.len() % LANES;
    for (a, &v) in acc.iter_mut().zip(&row[main..]) {
        *a += v;
    }
    fold(acc, |a, b| a + b) / row.len() as f32
}

/// Adds the tail's squared deviations; returns rstd.
#[inline]
pub(crate) fn ln_rstd_tail(mut sq: [f32; LANES], row: &[f32], mean: f32, eps: f32) -> f32 {
    let main = row.len() - row.len() % LANES;
    for (a, &v) in sq.iter_mut().zip(&row[main..]) {
        *a += (v - mean) * (v - mean);
    }
    let var = fold(sq, |a, b| a + b) / row.len() as f32;
    inv_sqrt_f64(f64::from(var) + f64::from(eps)) as f32
}

/// `out[i] = ((row[i] - mean) * rstd) * gamma[i] + beta[i]`.
#[inline]
pub(crate) fn ln_out_row(row: &[f32], mean: f32, rstd: f32, g: &[f32], b: &[f32], out: &mut [f32]) {
    for (((o, &v), &g), &b) in out.iter_mut().zip(row).zip(g).zip(b) {
        *o = (v - mean) * rstd * g + b;
    }
}
