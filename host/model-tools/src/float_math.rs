//! Float helpers of the reference (float) BERT pass that calibrates the
//! quantizer: exp, erf/GELU and LayerNorm. Host-only; the guest's int8
//! forward pass uses the vectorised, kernel-independent versions in
//! `int8-kernels` (same polynomials, FMA Horner).
//!
//! `core` has no transcendental functions. micromath 2 was measured (host,
//! sweep of the input range): exp max relative error 2.4e-3, sqrt 6.1e-2,
//! invsqrt 3.4e-2; a 6 % LayerNorm scale error or 0.2 % softmax error is far
//! above what the 0.995 cosine gate leaves for int8. So: exp by exact range
//! reduction (x = n ln2 + r, |r| <= ln2/2) and the degree-7 Taylor polynomial
//! (truncation error < 1.2e-8 relative, below f32 rounding); erf by Abramowitz &
//! Stegun 7.1.26 (max absolute error 1.5e-7, about 5e-7 once evaluated in f32);
//! 1/sqrt by Newton iteration in f64 ([`inv_sqrt_f64`]).
//! All are branch-free per element, so the loops auto-vectorise.

use int8_kernels::inv_sqrt_f64 as inv_sqrt;

const LOG2E: f32 = core::f32::consts::LOG2_E;
// ln 2 split in a high part with trailing zero bits and a low correction,
// so n * LN2_HI is exact for the |n| <= 128 used here.
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
/// 1.5 * 2^23: adding and subtracting it rounds an f32 to the nearest integer.
const ROUND_MAGIC: f32 = 12_582_912.0;

/// e^x for x in about [-87, 88]; inputs are clamped to that range.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    // t's low mantissa bits hold n = round(x / ln 2) as an integer: integer-only
    // access keeps the loop vectorised (a float->int cast saturates per lane).
    let t = x * LOG2E + ROUND_MAGIC;
    let n = t - ROUND_MAGIC;
    let ni = t.to_bits().wrapping_sub(ROUND_MAGIC.to_bits()) as i32;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0
                        + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // 2^n through the exponent bits; n is in [-126, 127] after the clamp.
    let bits = (ni.wrapping_add(127) as u32) << 23;
    p * f32::from_bits(bits)
}

/// erf(x), Abramowitz & Stegun 7.1.26.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    const P: f32 = 0.327_591_1;
    const A: [f32; 5] = [
        0.254_829_6,
        -0.284_496_74,
        1.421_413_7,
        -1.453_152,
        1.061_405_4,
    ];
    let ax = x.abs();
    let t = 1.0 / (1.0 + P * ax);
    let poly = t * (A[0] + t * (A[1] + t * (A[2] + t * (A[3] + t * A[4]))));
    let y = 1.0 - poly * exp(-ax * ax);
    y.copysign(x)
}

/// GELU with the exact (erf) form used by BERT: 0.5 x (1 + erf(x / sqrt 2)).
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * core::f32::consts::FRAC_1_SQRT_2))
}

/// Optional second LayerNorm output with other gamma/beta (the SmoothQuant-
/// scaled copy that feeds a quantized Linear).
pub struct Smoothed<'a> {
    pub gamma: &'a [f32],
    pub beta: &'a [f32],
    pub out: &'a mut [f32],
}

/// Row-wise LayerNorm of `x` (rows of `gamma.len()`), written to `out` and,
/// when given, to `smoothed.out` with the smoothed parameters.
pub fn layer_norm(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
    out: &mut [f32],
    mut smoothed: Option<Smoothed<'_>>,
) {
    let h = gamma.len();
    for (r, row) in x.chunks_exact(h).enumerate() {
        let mean = lane_sum(row) / h as f32;
        let mut sq = [0.0f32; LANES];
        for c in row.chunks_exact(LANES) {
            for (a, &v) in sq.iter_mut().zip(c) {
                *a += (v - mean) * (v - mean);
            }
        }
        let tail = &row[row.len() - row.len() % LANES..];
        let var = (sq.iter().sum::<f32>()
            + tail.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>())
            / h as f32;
        let rstd = inv_sqrt(f64::from(var) + f64::from(eps)) as f32;
        let o = &mut out[r * h..(r + 1) * h];
        for i in 0..h {
            o[i] = (row[i] - mean) * rstd * gamma[i] + beta[i];
        }
        if let Some(s) = smoothed.as_mut() {
            let o = &mut s.out[r * h..(r + 1) * h];
            for i in 0..h {
                o[i] = (row[i] - mean) * rstd * s.gamma[i] + s.beta[i];
            }
        }
    }
}

/// Partial sums/maxima kept in this many lanes so the loops vectorise; the
/// fold order is fixed, so results do not depend on the CPU.
const LANES: usize = 8;

/// Sum with LANES interleaved partial sums, folded in order, then the tail.
pub fn lane_sum(x: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let mut chunks = x.chunks_exact(LANES);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    let mut s = acc.iter().sum::<f32>();
    for &v in chunks.remainder() {
        s += v;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_accurate() {
        let mut worst = 0.0f64;
        let mut x = -80.0f32;
        while x < 80.0 {
            let want = f64::from(x).exp();
            let rel = ((f64::from(exp(x)) - want) / want).abs();
            worst = worst.max(rel);
            x += 0.0137;
        }
        assert!(worst < 4e-7, "exp worst relative error {worst}");
    }

    #[test]
    fn erf_and_gelu_are_accurate() {
        // Reference erf by its Taylor series in f64 (converges fast for |x| <= 3).
        fn erf_ref(x: f64) -> f64 {
            let mut term = x;
            let mut sum = x;
            for n in 1..200 {
                term *= -x * x / n as f64;
                sum += term / (2 * n + 1) as f64;
            }
            sum * 2.0 / core::f64::consts::PI.sqrt()
        }
        let mut worst = 0.0f64;
        let mut x = -3.0f32;
        while x <= 3.0 {
            worst = worst.max((f64::from(erf(x)) - erf_ref(f64::from(x))).abs());
            x += 0.001;
        }
        // 1.5e-7 from the approximation plus f32 evaluation rounding.
        assert!(worst < 6e-7, "erf worst abs error {worst}");
        assert!((gelu(1.0) - 0.841_344_7).abs() < 1e-6);
        assert!((gelu(-1.0) + 0.158_655_26).abs() < 1e-6);
        assert_eq!(gelu(0.0), 0.0);
    }
}
