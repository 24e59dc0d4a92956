//! Register-blocked f32 matrix products for attention (Q·Kᵀ, P·V).
//!
//! Every kernel computes the same floats. The order is fixed per output element: starting
//! from `acc = 0`, for c = 0, 1, ..., K-1 in order `acc = fma(a[i][c], b[c][j], acc)`, where
//! `fma` is the fused multiply-add (one rounding, as `vfmadd`). The SIMD kernels vectorise
//! across `j` (every lane runs that sequence for its own column) and block rows into
//! registers, so the blocking never changes the result; the scalar kernel (feature
//! `scalar`) reproduces the fused rounding exactly with [`fma_f32`].
//!
//! (FMA rather than multiply-then-add: on the Zen 4 dev machine a `vmulps` + `vaddps` pair
//! sustains ~2/3 of the `vfmadd` rate, and on Intel cores the gap is 2x.)

use alloc::vec::Vec;

use crate::error::{check_len, mul};
use crate::{Kernel, KernelError, KernelKind};

/// A row-major f32 matrix inside a slice: `rows x cols`, row `r` starting at `r * stride`.
#[derive(Clone, Copy, Debug)]
pub struct F32Mat<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    stride: usize,
}

/// The mutable counterpart of [`F32Mat`] (an output).
#[derive(Debug)]
pub struct F32MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
    stride: usize,
}

/// Elements a `rows x cols` matrix with row `stride` spans: `(rows - 1) * stride + cols`
/// (0 for an empty matrix); `stride >= cols` unless there is at most one row.
fn span(rows: usize, cols: usize, stride: usize) -> Result<usize, KernelError> {
    if rows == 0 || cols == 0 {
        return Ok(0);
    }
    if rows > 1 && stride < cols {
        return Err(KernelError::StrideTooSmall { stride, cols });
    }
    mul(rows - 1, stride)?
        .checked_add(cols)
        .ok_or(KernelError::TooLarge)
}

fn check_span(data_len: usize, rows: usize, cols: usize, stride: usize) -> Result<(), KernelError> {
    let need = span(rows, cols, stride)?;
    if data_len < need {
        return Err(KernelError::LengthMismatch {
            what: "matrix data",
            expected: need,
            got: data_len,
        });
    }
    Ok(())
}

/// The constructors and shape of a matrix view over `$slice` (shared or mutable).
macro_rules! matrix_view {
    ($name:ident, $slice:ty) => {
        impl<'a> $name<'a> {
            /// `rows x cols` at the start of `data`, rows `stride` elements apart. `data`
            /// must hold at least `(rows - 1) * stride + cols` elements and `stride >= cols`
            /// (for rows > 1).
            pub fn new(
                data: $slice,
                rows: usize,
                cols: usize,
                stride: usize,
            ) -> Result<Self, KernelError> {
                check_span(data.len(), rows, cols, stride)?;
                Ok(Self {
                    data,
                    rows,
                    cols,
                    stride,
                })
            }

            /// A dense `rows x cols` matrix (`stride == cols`).
            pub fn dense(data: $slice, rows: usize, cols: usize) -> Result<Self, KernelError> {
                Self::new(data, rows, cols, cols)
            }

            pub fn rows(&self) -> usize {
                self.rows
            }

            pub fn cols(&self) -> usize {
                self.cols
            }

            pub fn stride(&self) -> usize {
                self.stride
            }
        }
    };
}
matrix_view!(F32Mat, &'a [f32]);
matrix_view!(F32MatMut, &'a mut [f32]);

#[cfg(feature = "scalar")]
impl F32Mat<'_> {
    /// Element (r, c); `r < rows`, `c < cols`.
    #[inline(always)]
    fn at(&self, r: usize, c: usize) -> f32 {
        self.data[r * self.stride + c]
    }
}

impl<'a> F32MatMut<'a> {
    /// The underlying slice (element (r, c) at `r * stride + c`).
    pub(crate) fn into_slice(self) -> &'a mut [f32] {
        self.data
    }
}

/// `out = a · b` (`a`: M x K, `b`: K x N, `out`: M x N), order as in the module docs.
pub fn gemm_f32_nn(
    kernel: Kernel,
    a: F32Mat<'_>,
    b: F32Mat<'_>,
    out: F32MatMut<'_>,
) -> Result<(), KernelError> {
    if !crate::detect::runnable(kernel) {
        return Err(KernelError::Unavailable(kernel.kind()));
    }
    check_len("inner dimension (b rows)", a.cols, b.rows)?;
    check_len("output rows", a.rows, out.rows)?;
    check_len("output columns", b.cols, out.cols)?;
    run(kernel, a, b, out);
    Ok(())
}

/// `out = a · bᵀ` (`a`: M x K, `b`: N x K, `out`: M x N), with the same per-element order
/// as [`gemm_f32_nn`] on `bᵀ`. `pack` is scratch (grown to K x N, reuse it across calls):
/// `b` is transposed into it, then the NN kernel runs.
pub fn gemm_f32_nt(
    kernel: Kernel,
    a: F32Mat<'_>,
    b: F32Mat<'_>,
    out: F32MatMut<'_>,
    pack: &mut Vec<f32>,
) -> Result<(), KernelError> {
    if !crate::detect::runnable(kernel) {
        return Err(KernelError::Unavailable(kernel.kind()));
    }
    check_len("inner dimension (b columns)", a.cols, b.cols)?;
    check_len("output rows", a.rows, out.rows)?;
    check_len("output columns", b.rows, out.cols)?;
    let (n, k) = (b.rows, b.cols);
    let len = mul(n, k)?;
    if pack.len() < len {
        pack.resize(len, 0.0);
    }
    let bt = &mut pack[..len];
    match kernel.kind() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the token proves AVX2 for both SIMD kinds (kernel.rs); `b` is a checked N x K view and bt holds N * K floats.
        KernelKind::Avx2 | KernelKind::Avx512Vnni => unsafe {
            crate::f32gemm_simd::transpose_avx2(b.data.as_ptr(), n, k, b.stride, bt)
        },
        #[cfg(feature = "scalar")]
        _ => transpose(b, bt),
    }
    run(kernel, a, F32Mat::dense(bt, k, n)?, out);
    Ok(())
}

/// `bt[c * n + j] = b[j][c]` (`bt` is K x N dense). Blocks of 8 x 8 keep both sides in cache.
#[cfg(feature = "scalar")]
fn transpose(b: F32Mat<'_>, bt: &mut [f32]) {
    const T: usize = 8;
    let (n, k) = (b.rows, b.cols);
    for j0 in (0..n).step_by(T) {
        let j1 = (j0 + T).min(n);
        for c0 in (0..k).step_by(T) {
            let c1 = (c0 + T).min(k);
            for j in j0..j1 {
                let row = &b.data[j * b.stride..];
                for c in c0..c1 {
                    bt[c * n + j] = row[c];
                }
            }
        }
    }
}

/// Shapes are checked; dispatches to the kernel.
fn run(kernel: Kernel, a: F32Mat<'_>, b: F32Mat<'_>, out: F32MatMut<'_>) {
    if out.rows == 0 || out.cols == 0 {
        return;
    }
    match kernel.kind() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the token proves AVX2 + FMA (kernel.rs); the views' constructors checked that every (row, col) < (rows, cols) lies inside its slice, and the shapes agree.
        KernelKind::Avx2 => unsafe { crate::f32gemm_simd::gemm_avx2(&a, &b, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above, with AVX-512F (part of the AVX-512 VNNI kernel's requirements).
        KernelKind::Avx512Vnni => unsafe { crate::f32gemm_simd::gemm_avx512(&a, &b, out) },
        #[cfg(feature = "scalar")]
        _ => gemm_scalar(&a, &b, out),
    }
}

/// Reference: one output row at a time, K in order, the whole row updated per step.
#[cfg(feature = "scalar")]
fn gemm_scalar(a: &F32Mat<'_>, b: &F32Mat<'_>, out: F32MatMut<'_>) {
    let (m, n, k) = (a.rows, b.cols, a.cols);
    for i in 0..m {
        let o = &mut out.data[i * out.stride..i * out.stride + n];
        o.fill(0.0);
        for c in 0..k {
            let x = a.at(i, c);
            let brow = &b.data[c * b.stride..c * b.stride + n];
            for (o, &y) in o.iter_mut().zip(brow) {
                *o = fma_f32(x, y, *o);
            }
        }
    }
}

/// `a * b + c` rounded once to f32 (round to nearest even), as the FMA instructions
/// compute it, in portable code: the product is exact in f64 (24 + 24 bits <= 53); the
/// f64 sum is turned into its round-to-odd value using its exact error (TwoSum), and
/// rounding that to f32 is correct because f64 keeps more than 2 extra bits (the
/// round-to-odd theorem, Boldo & Melquiond). NaN in gives NaN out; overflow gives ±inf.
#[inline]
pub fn fma_f32(a: f32, b: f32, c: f32) -> f32 {
    let p = f64::from(a) * f64::from(b);
    let c = f64::from(c);
    let s = p + c;
    // TwoSum: p + c == s + e exactly when s is finite (|p| < 2^256, |c| < 2^128); for an
    // infinite or NaN s, e is NaN and s is returned as it is.
    let bb = s - p;
    let e = (p - (s - bb)) + (c - bb);
    // Inexact with an even last bit: take the odd neighbour on the side of p + c (s != 0
    // here: a zero sum of these operands is always exact). Branch-free, so it vectorises.
    let bits = s.to_bits();
    let fix = s.is_finite() & (e != 0.0) & (bits & 1 == 0);
    let away_from_zero = (e > 0.0) == (s > 0.0);
    let delta = match (fix, away_from_zero) {
        (false, _) => 0,
        (true, true) => 1,
        (true, false) => u64::MAX,
    };
    f64::from_bits(bits.wrapping_add(delta)) as f32
}

/// Raw parts of checked views for the SIMD kernels.
#[cfg(target_arch = "x86_64")]
pub(crate) struct Raw {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub a: *const f32,
    pub lda: usize,
    pub b: *const f32,
    pub ldb: usize,
    pub out: *mut f32,
    pub ldo: usize,
}

#[cfg(target_arch = "x86_64")]
impl Raw {
    /// Shapes must agree (`a` M x K, `b` K x N, `out` M x N) and be non-empty in M and N.
    pub(crate) fn new(a: &F32Mat<'_>, b: &F32Mat<'_>, out: F32MatMut<'_>) -> Self {
        Self {
            m: a.rows,
            n: b.cols,
            k: a.cols,
            a: a.data.as_ptr(),
            lda: a.stride,
            b: b.data.as_ptr(),
            ldb: b.stride,
            out: out.data.as_mut_ptr(),
            ldo: out.stride,
        }
    }
}
