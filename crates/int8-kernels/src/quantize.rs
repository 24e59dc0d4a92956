//! Per-group symmetric int8 quantization of activation rows.

use alloc::vec::Vec;

use crate::error::{check_k, check_len, mul};
use crate::{KernelError, GROUP};

/// M rows of K activations quantized per group of 32 along K: i8 values and one
/// f32 scale per (row, group), value ~= q * scale.
#[derive(Clone, Debug, Default)]
pub struct QuantizedRows {
    m: usize,
    k: usize,
    /// M x K quantized values.
    q: Vec<i8>,
    /// The same values widened, for the AVX2 kernel's int16 products.
    q16: Vec<i16>,
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
    /// NaN or infinity anywhere is an error (the rows are then left empty).
    pub fn quantize(&mut self, x: &[f32], m: usize, k: usize) -> Result<(), KernelError> {
        self.quantize_impl(x, m, k, None)
    }

    /// Like [`quantize`](Self::quantize) on `x[r][c] / smooth[c]` (SmoothQuant factors,
    /// one per input channel, `smooth.len() == k`), without a temporary copy.
    pub fn quantize_smoothed(
        &mut self,
        x: &[f32],
        m: usize,
        k: usize,
        smooth: &[f32],
    ) -> Result<(), KernelError> {
        check_len("smooth factors", k, smooth.len())?;
        self.quantize_impl(x, m, k, Some(smooth))
    }

    /// Takes already-quantized rows: `values` M x K, `scales` M x K/32 (finite, >= 0).
    /// Any i8 is accepted, including -128.
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

    pub(crate) fn values_i16(&self) -> &[i16] {
        &self.q16
    }

    pub(crate) fn corrections(&self) -> &[i32] {
        &self.corr
    }

    fn reset(&mut self, m: usize, k: usize) {
        self.m = m;
        self.k = k;
        self.q.clear();
        self.q16.clear();
        self.scales.clear();
        self.corr.clear();
    }

    fn quantize_impl(
        &mut self,
        x: &[f32],
        m: usize,
        k: usize,
        smooth: Option<&[f32]>,
    ) -> Result<(), KernelError> {
        check_k(k)?;
        check_len("activations", mul(m, k)?, x.len())?;
        let groups = k / GROUP;
        self.reset(m, k);
        self.q.resize(m * k, 0);
        self.q16.resize(m * k, 0);
        self.scales.resize(m * groups, 0.0);
        self.corr.resize(m * groups, 0);
        let outs = self
            .q
            .chunks_exact_mut(GROUP)
            .zip(self.q16.chunks_exact_mut(GROUP))
            .zip(self.scales.iter_mut().zip(self.corr.iter_mut()));
        for (i, (xg, ((q, q16), (scale, corr)))) in x.chunks_exact(GROUP).zip(outs).enumerate() {
            let mut buf = [0f32; GROUP];
            buf.copy_from_slice(xg);
            if let Some(s) = smooth {
                let c0 = (i % groups) * GROUP;
                for (b, &s) in buf.iter_mut().zip(&s[c0..c0 + GROUP]) {
                    *b /= s;
                }
            }
            match quantize_group(&buf) {
                Some(g) => {
                    *scale = g.scale;
                    *corr = g.corr;
                    q.copy_from_slice(&g.q);
                    for (w, &v) in q16.iter_mut().zip(&g.q) {
                        *w = i16::from(v);
                    }
                }
                None => {
                    let (row, g) = (i / groups, i % groups);
                    let col = g * GROUP + buf.iter().position(|v| !v.is_finite()).unwrap_or(0);
                    self.reset(0, 0);
                    return Err(KernelError::NonFinite { row, col });
                }
            }
        }
        Ok(())
    }

    /// Fills the kernel-specific views from `q`.
    fn derive(&mut self) {
        self.q16.extend(self.q.iter().map(|&v| i16::from(v)));
        self.corr.extend(self.q.chunks_exact(GROUP).map(group_corr));
    }
}

/// One quantized group.
struct Group {
    q: [i8; GROUP],
    scale: f32,
    corr: i32,
}

/// Quantizes one group, or `None` if it holds NaN or infinity. Written over fixed-size
/// arrays with integer max and bit tricks so the compiler vectorizes it (even SSE2).
fn quantize_group(x: &[f32; GROUP]) -> Option<Group> {
    // For finite floats, |x| ordered as float == ordered as the bits of |x|; NaN/inf have
    // the largest bit patterns, so one max also detects them.
    // (i32, not u32: SSE2 has a signed 32-bit compare only.)
    let mut lanes = [0i32; 4];
    for chunk in x.chunks_exact(4) {
        for (l, v) in lanes.iter_mut().zip(chunk) {
            *l = (*l).max((v.to_bits() & 0x7fff_ffff) as i32);
        }
    }
    let amax_bits = lanes.into_iter().fold(0, i32::max);
    if amax_bits >= f32::INFINITY.to_bits() as i32 {
        return None;
    }
    let amax = f32::from_bits(amax_bits as u32);
    let scale = amax / 127.0;
    let mut q = [0i8; GROUP];
    // scale == 0 also when amax is so tiny that amax/127 underflows: a zero group.
    if scale == 0.0 {
        return Some(Group {
            q,
            scale: 0.0,
            corr: 0,
        });
    }
    // Multiply by the reciprocal (much faster than dividing); |x * inv| <= 127 + tiny.
    let inv = 127.0 / amax;
    for (q, &v) in q.iter_mut().zip(x) {
        *q = round_clamp(v * inv);
    }
    let corr = group_corr(&q);
    Some(Group { q, scale, corr })
}

/// `-128 * sum(q)`: undoes the +128 bias of the packed weights.
fn group_corr(q: &[i8]) -> i32 {
    -128 * q.iter().map(|&v| i32::from(v)).sum::<i32>()
}

/// Round half to even, clamp to [-127, 127]. `v` is finite and |v| <= ~127.
fn round_clamp(v: f32) -> i8 {
    // Adding 1.5 * 2^23 rounds to an integer (nearest-even mode) that then sits in the
    // low mantissa bits; core has no f32::round without std.
    const MAGIC: f32 = 12_582_912.0;
    let r = (v + MAGIC).to_bits() as i32 - MAGIC.to_bits() as i32;
    r.clamp(-127, 127) as i8
}
