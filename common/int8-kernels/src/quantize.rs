//! Per-group symmetric int8 quantization of activation rows.

use alloc::vec::Vec;

use crate::error::{check_k, check_len, mul};
use crate::{Kernel, KernelError, KernelKind, GROUP};

/// M rows of K activations quantized per group of 32 along K: i8 values and one
/// f32 scale per (row, group), value ~= q * scale.
#[derive(Clone, Debug, Default)]
pub struct QuantizedRows {
    m: usize,
    k: usize,
    /// M x K quantized values.
    q: Vec<i8>,
    /// M x K/32 scales.
    scales: Vec<f32>,
    /// M x K/32 corrections `-128 * sum(q over the group)` for the u8-biased weights.
    corr: Vec<i32>,
}

impl QuantizedRows {
    /// Empty rows (M = 0); buffers grow on first use and are reused afterwards.
    pub fn new() -> Self {
        Self::default()
    }

    /// Quantizes `x` (M x K, row-major): per row and group of 32, scale = max|x| / 127,
    /// q = round-half-even(x * (127 / max|x|)) clamped to [-127, 127]. All-zero groups get scale 0.
    /// NaN or infinity anywhere is an error (the rows are then left empty). Uses the
    /// probed kernel (`std` only; library code calls [`quantize_with`](Self::quantize_with)).
    #[cfg(any(test, feature = "std"))]
    pub fn quantize(&mut self, x: &[f32], m: usize, k: usize) -> Result<(), KernelError> {
        self.quantize_with(Kernel::detect(), x, m, k, None)
    }

    /// Like [`quantize`](Self::quantize) on `x[r][c] / smooth[c]` (SmoothQuant factors,
    /// one per input channel, `smooth.len() == k`), without a temporary copy (`std` only).
    #[cfg(any(test, feature = "std"))]
    pub fn quantize_smoothed(
        &mut self,
        x: &[f32],
        m: usize,
        k: usize,
        smooth: &[f32],
    ) -> Result<(), KernelError> {
        self.quantize_with(Kernel::detect(), x, m, k, Some(smooth))
    }

    /// [`quantize`](Self::quantize) (`smooth == None`) or
    /// [`quantize_smoothed`](Self::quantize_smoothed) with a chosen code path: `Scalar`
    /// (feature `scalar`) portable code, `Avx2` and `Avx512Vnni` AVX2. Results are
    /// identical.
    pub fn quantize_with(
        &mut self,
        kernel: Kernel,
        x: &[f32],
        m: usize,
        k: usize,
        smooth: Option<&[f32]>,
    ) -> Result<(), KernelError> {
        if !crate::detect::runnable(kernel) {
            return Err(KernelError::Unavailable(kernel.kind()));
        }
        check_k(k)?;
        check_len("activations", mul(m, k)?, x.len())?;
        if let Some(s) = smooth {
            check_len("smooth factors", k, s.len())?;
        }
        self.reset(m, k);
        self.q.resize(m * k, 0);
        self.scales.resize(m * (k / GROUP), 0.0);
        self.corr.resize(m * (k / GROUP), 0);
        let res = match kernel.kind() {
            #[cfg(feature = "scalar")]
            KernelKind::Scalar => self.fill(x, smooth, quantize_group),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the token proves AVX2 for both SIMD kinds (kernel.rs).
            KernelKind::Avx2 | KernelKind::Avx512Vnni => unsafe {
                crate::quantize_simd::fill_avx2(self, x, smooth)
            },
            #[cfg(not(target_arch = "x86_64"))]
            _ => self.fill(x, smooth, quantize_group),
        };
        if res.is_err() {
            self.reset(0, 0);
        }
        res
    }

    /// Takes already-quantized rows: `values` M x K, `scales` M x K/32 (finite, >= 0).
    /// Any i8 is accepted, including -128.
    #[cfg(feature = "extra-ops")]
    pub fn from_parts(
        &mut self,
        m: usize,
        k: usize,
        values: &[i8],
        scales: &[f32],
    ) -> Result<(), KernelError> {
        check_k(k)?;
        let groups = k / GROUP;
        check_len("values", mul(m, k)?, values.len())?;
        check_len("scales", mul(m, groups)?, scales.len())?;
        for (i, &s) in scales.iter().enumerate() {
            let (row, group) = (i / groups, i % groups);
            if !s.is_finite() {
                return Err(KernelError::NonFinite {
                    row,
                    col: group * GROUP,
                });
            }
            if s < 0.0 {
                return Err(KernelError::NegativeScale { row, group });
            }
        }
        self.reset(m, k);
        self.q.extend_from_slice(values);
        self.scales.extend_from_slice(scales);
        self.derive();
        Ok(())
    }

    /// Rows.
    pub fn m(&self) -> usize {
        self.m
    }

    /// Columns (a multiple of 32, or 0 before the first quantize).
    pub fn k(&self) -> usize {
        self.k
    }

    /// Quantized values, M x K row-major.
    pub fn values(&self) -> &[i8] {
        &self.q
    }

    /// Scales, M x K/32 row-major.
    pub fn scales(&self) -> &[f32] {
        &self.scales
    }

    pub(crate) fn corrections(&self) -> &[i32] {
        &self.corr
    }

    fn reset(&mut self, m: usize, k: usize) {
        self.m = m;
        self.k = k;
        self.q.clear();
        self.scales.clear();
        self.corr.clear();
    }

    /// Quantizes every group of `x` with `group` into the already-sized buffers.
    #[inline]
    pub(crate) fn fill(
        &mut self,
        x: &[f32],
        smooth: Option<&[f32]>,
        group: impl Fn(&[f32; GROUP], &mut [i8]) -> Option<(f32, i32)>,
    ) -> Result<(), KernelError> {
        let groups = self.k / GROUP;
        let outs = self
            .q
            .chunks_exact_mut(GROUP)
            .zip(self.scales.iter_mut().zip(self.corr.iter_mut()));
        for (i, (xg, (q, (scale, corr)))) in x.chunks_exact(GROUP).zip(outs).enumerate() {
            let mut buf = [0f32; GROUP];
            buf.copy_from_slice(xg);
            if let Some(s) = smooth {
                let c0 = (i % groups) * GROUP;
                for (b, &s) in buf.iter_mut().zip(&s[c0..c0 + GROUP]) {
                    *b /= s;
                }
            }
            match group(&buf, q) {
                Some((s, c)) => (*scale, *corr) = (s, c),
                None => {
                    let (row, g) = (i / groups, i % groups);
                    let col = g * GROUP + buf.iter().position(|v| !v.is_finite()).unwrap_or(0);
                    return Err(KernelError::NonFinite { row, col });
                }
            }
        }
        Ok(())
    }

    /// Fills the kernel-specific views from `q`.
    #[cfg(feature = "extra-ops")]
    fn derive(&mut self) {
        self.corr.extend(self.q.chunks_exact(GROUP).map(group_corr));
    }
}

/// Quantizes one group into `q` (32 values) and returns (scale, correction), or
/// `None` if it holds NaN or infinity. Fixed-size arrays, integer max and bit tricks so the
/// compiler vectorizes it even for SSE2; `quantize_simd` does the same operations.
#[cfg(feature = "scalar")]
fn quantize_group(x: &[f32; GROUP], q: &mut [i8]) -> Option<(f32, i32)> {
    // For finite floats, |x| ordered as float == ordered as the bits of |x|; NaN/inf have
    // the largest bit patterns, so one max also detects them.
    // (i32, not u32: SSE2 has a signed 32-bit compare only.)
    let mut lanes = [0i32; 4];
    for chunk in x.chunks_exact(4) {
        for (l, v) in lanes.iter_mut().zip(chunk) {
            *l = (*l).max((v.to_bits() & 0x7fff_ffff) as i32);
        }
    }
    let (scale, inv) = group_scale(lanes.into_iter().fold(0, i32::max))?;
    let mut out = [0i8; GROUP];
    // scale == 0: a zero group (inv is 0 too, but skip the work).
    if scale != 0.0 {
        for (o, &v) in out.iter_mut().zip(x) {
            *o = round_clamp(v * inv);
        }
    }
    q.copy_from_slice(&out);
    Some((scale, group_corr(&out)))
}

/// (scale, 127 / max|x|) from the bits of max|x|; `None` for NaN/inf. scale is 0 for a
/// zero group and also when max|x| / 127 underflows (then the group is treated as zero).
pub(crate) fn group_scale(amax_bits: i32) -> Option<(f32, f32)> {
    if amax_bits >= f32::INFINITY.to_bits() as i32 {
        return None;
    }
    let amax = f32::from_bits(amax_bits as u32);
    let scale = amax / 127.0;
    if scale == 0.0 {
        return Some((0.0, 0.0));
    }
    // Multiply by the reciprocal (much faster than dividing); |x * inv| <= 127 + tiny.
    Some((scale, 127.0 / amax))
}

/// `-128 * sum(q)`: undoes the +128 bias of the packed weights.
#[cfg(any(feature = "scalar", feature = "extra-ops"))]
fn group_corr(q: &[i8]) -> i32 {
    -128 * q.iter().map(|&v| i32::from(v)).sum::<i32>()
}

/// 1.5 * 2^23: adding it rounds |v| < 2^22 to an integer held in the low mantissa bits.
pub(crate) const MAGIC: f32 = 12_582_912.0;

/// Round half to even, clamp to [-127, 127]. `v` is finite and |v| <= ~127.
#[cfg(feature = "scalar")]
fn round_clamp(v: f32) -> i8 {
    // Adding MAGIC = 1.5 * 2^23 rounds to an integer (nearest-even mode) that then sits in the
    // low mantissa bits; core has no f32::round without std.
    let r = (v + MAGIC).to_bits() as i32 - MAGIC.to_bits() as i32;
    r.clamp(-127, 127) as i8
}
