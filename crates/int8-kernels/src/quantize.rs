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
    /// q = round-half-even(x / scale) clamped to [-127, 127]. All-zero groups get scale 0.
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
        self.reset(m, k);
        self.q.reserve(m * k);
        self.scales.reserve(m * (k / GROUP));
        let mut buf = [0f32; GROUP];
        for (row, xr) in x.chunks_exact(k).enumerate() {
            for (g, xg) in xr.chunks_exact(GROUP).enumerate() {
                let mut amax = 0f32;
                for (i, (b, &v)) in buf.iter_mut().zip(xg).enumerate() {
                    let v = match smooth {
                        Some(s) => v / s[g * GROUP + i],
                        None => v,
                    };
                    if !v.is_finite() {
                        self.reset(0, 0);
                        return Err(KernelError::NonFinite {
                            row,
                            col: g * GROUP + i,
                        });
                    }
                    *b = v;
                    amax = amax.max(v.abs());
                }
                let scale = amax / 127.0;
                // scale == 0 also when amax is so tiny that amax/127 underflows.
                if scale == 0.0 {
                    self.scales.push(0.0);
                    self.q.extend_from_slice(&[0; GROUP]);
                    continue;
                }
                self.scales.push(scale);
                for &v in &buf {
                    self.q.push(round_clamp(v / scale));
                }
            }
        }
        self.derive();
        Ok(())
    }

    /// Fills the kernel-specific views from `q`.
    fn derive(&mut self) {
        self.q16.extend(self.q.iter().map(|&v| i16::from(v)));
        self.corr.extend(
            self.q
                .chunks_exact(GROUP)
                .map(|g| -128 * g.iter().map(|&v| i32::from(v)).sum::<i32>()),
        );
    }
}

/// Round half to even, clamp to [-127, 127]. `v` is finite and |v| <= ~127.
fn round_clamp(v: f32) -> i8 {
    // Adding and removing 1.5 * 2^23 rounds to an integer in the current (nearest-even)
    // mode; core has no f32::round without std.
    const MAGIC: f32 = 12_582_912.0;
    let r = (v + MAGIC) - MAGIC;
    r.clamp(-127.0, 127.0) as i8
}
