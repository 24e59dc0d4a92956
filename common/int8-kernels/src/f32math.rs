//! Vectorised f32 exp, GELU (erf form) and softmax with identical results on every kernel.
//!
//! The element functions are sequences of IEEE operations and fused multiply-adds (no
//! estimate instructions); the SIMD kernels run the same sequence per lane (`vfmadd` where
//! the reference calls [`fma_f32`]), so [`exp_f32`] and [`gelu_f32`] give the same bits
//! everywhere. Softmax reductions use 16 lanes
//! (lane = index mod 16), folded by a fixed tree (lane + 8, + 4, + 2, + 1).
//!
//! Accuracy (tests/f32math.rs): exp by exact range reduction x = n ln2 + r, |r| <= ln2/2,
//! and the degree-7 Taylor polynomial: max relative error < 4e-7 over [-80, 80]; erf by
//! Abramowitz & Stegun 7.1.26: max absolute error < 6e-7 (1.5e-7 from the formula plus f32
//! rounding). Inputs are clamped to [-87, 88] (e^x stays a normal f32).

use crate::{fma_f32, F32MatMut, Kernel, KernelError, KernelKind};

pub(crate) const LOG2E: f32 = core::f32::consts::LOG2_E;
/// ln 2 split in a high part with trailing zero bits and a low correction,
/// so n * LN2_HI is exact for the |n| <= 128 used here.
pub(crate) const LN2_HI: f32 = 0.693_145_75;
pub(crate) const LN2_LO: f32 = 1.428_606_8e-6;
/// 1.5 * 2^23: adding and subtracting it rounds an f32 to the nearest integer.
pub(crate) const ROUND_MAGIC: f32 = 12_582_912.0;
pub(crate) const EXP_LO: f32 = -87.0;
pub(crate) const EXP_HI: f32 = 88.0;
/// Taylor coefficients 1/i! for i = 2..=7 (1 and 1 for i = 0, 1).
pub(crate) const C2: f32 = 0.5;
pub(crate) const C3: f32 = 1.0 / 6.0;
pub(crate) const C4: f32 = 1.0 / 24.0;
pub(crate) const C5: f32 = 1.0 / 120.0;
pub(crate) const C6: f32 = 1.0 / 720.0;
pub(crate) const C7: f32 = 1.0 / 5040.0;
/// Abramowitz & Stegun 7.1.26.
pub(crate) const ERF_P: f32 = 0.327_591_1;
pub(crate) const ERF_A: [f32; 5] = [
    0.254_829_6,
    -0.284_496_74,
    1.421_413_7,
    -1.453_152,
    1.061_405_4,
];

/// Reduction lanes of [`softmax_f32`].
pub(crate) const LANES: usize = 16;

/// `if a > b { a } else { b }`: the x86 `maxps a, b` rule (b when either is NaN).
#[inline(always)]
pub(crate) fn max_rule(a: f32, b: f32) -> f32 {
    if a > b {
        a
    } else {
        b
    }
}

/// `if a < b { a } else { b }`: the x86 `minps a, b` rule.
#[inline(always)]
fn min_rule(a: f32, b: f32) -> f32 {
    if a < b {
        a
    } else {
        b
    }
}

/// e^x, the reference sequence every kernel follows (NaN gives e^-87). `fma` is the
/// fused multiply-add ([`fma_f32`] here, `vfmadd` in the SIMD kernels).
#[inline(always)]
pub fn exp_one(x: f32) -> f32 {
    let x = min_rule(max_rule(x, EXP_LO), EXP_HI);
    // t's low mantissa bits hold n = round(x / ln 2) as an integer.
    let t = fma_f32(x, LOG2E, ROUND_MAGIC);
    let n = t - ROUND_MAGIC;
    let ni = t.to_bits().wrapping_sub(ROUND_MAGIC.to_bits()) as i32;
    let r = fma_f32(-n, LN2_LO, fma_f32(-n, LN2_HI, x));
    // Horner, highest degree first.
    let mut p = fma_f32(r, C7, C6);
    for c in [C5, C4, C3, C2, 1.0, 1.0] {
        p = fma_f32(r, p, c);
    }
    // 2^n through the exponent bits; n is in [-126, 127] after the clamp.
    let bits = (ni.wrapping_add(127) as u32) << 23;
    p * f32::from_bits(bits)
}

/// erf(x), Abramowitz & Stegun 7.1.26, the reference sequence.
#[inline(always)]
pub fn erf_one(x: f32) -> f32 {
    let ax = f32::from_bits(x.to_bits() & 0x7fff_ffff);
    let t = 1.0 / fma_f32(ERF_P, ax, 1.0);
    let mut p = fma_f32(t, ERF_A[4], ERF_A[3]);
    for a in [ERF_A[2], ERF_A[1], ERF_A[0]] {
        p = fma_f32(t, p, a);
    }
    let y = fma_f32(-(p * t), exp_one(-(ax * ax)), 1.0);
    f32::from_bits((y.to_bits() & 0x7fff_ffff) | (x.to_bits() & 0x8000_0000))
}

/// GELU with the exact (erf) form, `h + h erf(x / sqrt 2)` with `h = 0.5 x` (one fma),
/// the reference sequence.
#[inline(always)]
pub fn gelu_one(x: f32) -> f32 {
    let h = 0.5 * x;
    fma_f32(h, erf_one(x * core::f32::consts::FRAC_1_SQRT_2), h)
}

fn check(kernel: Kernel) -> Result<(), KernelError> {
    if crate::detect::runnable(kernel) {
        Ok(())
    } else {
        Err(KernelError::Unavailable(kernel.kind()))
    }
}

/// `x[i] = e^x[i]` in place ([`exp_one`] per element).
#[cfg(feature = "extra-ops")]
pub fn exp_f32(kernel: Kernel, x: &mut [f32]) -> Result<(), KernelError> {
    check(kernel)?;
    match kernel.kind() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the token proves AVX2 + FMA for both SIMD kinds (kernel.rs).
        KernelKind::Avx2 | KernelKind::Avx512Vnni => unsafe {
            crate::f32math_simd::map_avx2::<EXP>(x)
        },
        #[cfg(feature = "scalar")]
        _ => x.iter_mut().for_each(|v| *v = exp_one(*v)),
    }
    Ok(())
}

/// `x[i] = gelu(x[i])` in place ([`gelu_one`] per element).
pub fn gelu_f32(kernel: Kernel, x: &mut [f32]) -> Result<(), KernelError> {
    check(kernel)?;
    match kernel.kind() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the token proves AVX2 + FMA for both SIMD kinds (kernel.rs).
        KernelKind::Avx2 | KernelKind::Avx512Vnni => unsafe {
            crate::f32math_simd::map_avx2::<GELU>(x)
        },
        #[cfg(feature = "scalar")]
        _ => x.iter_mut().for_each(|v| *v = gelu_one(*v)),
    }
    Ok(())
}

/// Element function selectors for the SIMD map.
pub(crate) const EXP: u8 = 0;
pub(crate) const GELU: u8 = 1;

/// In-place softmax of `scale * row` (`scale > 0`, e.g. 1/sqrt(d) for attention scores):
///
/// 1. `m` = maximum of the row: 16 lanes (lane = index mod 16), each
///    `lane = max_rule(x, lane)` in index order from -inf, then the fold tree;
/// 2. `row[i] = exp_one((row[i] - m) * scale)`, summed per lane in index order from 0,
///    folded by the tree;
/// 3. `row[i] *= 1 / sum`.
///
/// An empty row is left as is. See [`softmax_rows_f32`] for many rows at once.
#[cfg(feature = "extra-ops")]
pub fn softmax_f32(kernel: Kernel, row: &mut [f32], scale: f32) -> Result<(), KernelError> {
    let n = row.len();
    softmax_rows_f32(kernel, F32MatMut::dense(row, 1, n)?, scale)
}

/// `softmax_f32` on every row of `m` (the SIMD kernels interleave several rows, which
/// hides the latency of the three dependent passes; the results are the same).
pub fn softmax_rows_f32(kernel: Kernel, m: F32MatMut<'_>, scale: f32) -> Result<(), KernelError> {
    check(kernel)?;
    let (rows, cols, stride) = (m.rows(), m.cols(), m.stride());
    if rows == 0 || cols == 0 {
        return Ok(());
    }
    let data = m.into_slice();
    match kernel.kind() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the token proves AVX2 + FMA for both SIMD kinds (kernel.rs); the view's constructor checked that every (row, col) < (rows, cols) at row * stride + col lies inside `data`.
        KernelKind::Avx2 | KernelKind::Avx512Vnni => unsafe {
            crate::f32math_simd::softmax_rows_avx2(data, rows, cols, stride, scale)
        },
        #[cfg(feature = "scalar")]
        _ => {
            for r in 0..rows {
                softmax_row_scalar(&mut data[r * stride..r * stride + cols], scale);
            }
        }
    }
    Ok(())
}

/// The reference of `softmax_f32`.
#[cfg(feature = "scalar")]
fn softmax_row_scalar(row: &mut [f32], scale: f32) {
    let main = row.len() - row.len() % LANES;
    let mut mx = [f32::NEG_INFINITY; LANES];
    for c in row[..main].chunks_exact(LANES) {
        for (m, &v) in mx.iter_mut().zip(c) {
            *m = max_rule(v, *m);
        }
    }
    let (body, tail) = row.split_at_mut(main);
    let m = softmax_max_tail(mx, tail);
    let mut acc = [0f32; LANES];
    for c in body.chunks_exact_mut(LANES) {
        for (a, v) in acc.iter_mut().zip(c) {
            *v = exp_one((*v - m) * scale);
            *a += *v;
        }
    }
    let inv = softmax_inv_tail(acc, tail, m, scale);
    row.iter_mut().for_each(|v| *v *= inv);
}

/// Step 1's end: the tail (fewer than 16 values) into the lane maxima, then the fold.
#[inline]
pub(crate) fn softmax_max_tail(mut mx: [f32; LANES], tail: &[f32]) -> f32 {
    for (m, &v) in mx.iter_mut().zip(tail) {
        *m = max_rule(v, *m);
    }
    fold(mx, max_rule)
}

/// Step 2's end: exp of the tail, added to the lane sums; returns 1 / folded sum.
#[cfg(feature = "scalar")]
#[inline]
fn softmax_inv_tail(mut acc: [f32; LANES], tail: &mut [f32], m: f32, scale: f32) -> f32 {
    for (a, v) in acc.iter_mut().zip(tail) {
        *v = exp_one((*v - m) * scale);
        *a += *v;
    }
    1.0 / fold(acc, |a, b| a + b)
}

/// `lanes[l] = op(lanes[l], lanes[l + w])` for w = 8, 4, 2, 1; returns lane 0.
pub(crate) fn fold(mut lanes: [f32; LANES], op: impl Fn(f32, f32) -> f32) -> f32 {
    let mut w = LANES / 2;
    while w > 0 {
        for l in 0..w {
            lanes[l] = op(lanes[l], lanes[l + w]);
        }
        w /= 2;
    }
    lanes[0]
}
