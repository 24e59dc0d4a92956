//! AVX2 / AVX-512 tiles of `f32gemm`: R rows x V vectors of accumulators, K in order,
//! one FMA per step, so each lane repeats the scalar sequence (`fma_f32`) exactly.

use core::arch::x86_64::*;

use crate::f32gemm::{F32Mat, F32MatMut, Raw};

/// AVX-512 tile: 8 rows x 2 zmm (32 columns) = 16 accumulators.
const MR512: usize = MRX;
const NR512: usize = NRX;
const MRX: usize = 8;
const NRX: usize = 32;
/// AVX2 tile: 6 rows x 2 ymm (16 columns) = 12 accumulators.
const MR256: usize = 6;
const NR256: usize = 16;

/// One `R x (16 V)` output tile at (i0, j0); lanes beyond `last` in the last vector are
/// neither loaded nor stored.
///
/// # Safety
/// The CPU supports AVX-512F; `i0 + R <= p.m`; columns `j0 .. j0 + 16 (V - 1) + popcount(last)`
/// lie below `p.n` and `last` is a prefix mask; `p` describes checked, non-overlapping views
/// (`a` M x K, `b` K x N, `out` M x N with their strides).
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn tile512<const R: usize, const V: usize>(p: &Raw, i0: usize, j0: usize, last: __mmask16) {
    let mut acc = [[_mm512_setzero_ps(); V]; R];
    for c in 0..p.k {
        let mut bv = [_mm512_setzero_ps(); V];
        for (v, bv) in bv.iter_mut().enumerate() {
            let mask = if v + 1 == V { last } else { 0xffff };
            // SAFETY: row c < K of b; the unmasked lanes are columns < N (caller), so every
            // accessed float is inside b's checked span; masked-off lanes are not accessed.
            *bv = unsafe { _mm512_maskz_loadu_ps(mask, p.b.add(c * p.ldb + j0 + 16 * v)) };
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            // SAFETY: row i0 + r < M and column c < K of a: inside a's checked span.
            let x = _mm512_set1_ps(unsafe { *p.a.add((i0 + r) * p.lda + c) });
            for (acc, &bv) in acc.iter_mut().zip(&bv) {
                *acc = _mm512_fmadd_ps(x, bv, *acc);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        for (v, &acc) in acc.iter().enumerate() {
            let mask = if v + 1 == V { last } else { 0xffff };
            // SAFETY: row i0 + r < M; unmasked lanes are columns < N: inside out's span.
            unsafe { _mm512_mask_storeu_ps(p.out.add((i0 + r) * p.ldo + j0 + 16 * v), mask, acc) };
        }
    }
}

/// Dispatches a tile with `rows` (1..=8) rows.
///
/// # Safety
/// As [`tile512`] with `R = rows`.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn rows512<const V: usize>(p: &Raw, rows: usize, i0: usize, j0: usize, last: __mmask16) {
    // SAFETY: forwarded from the caller with R = rows.
    unsafe {
        match rows {
            12 => tile512::<12, V>(p, i0, j0, last),
            11 => tile512::<11, V>(p, i0, j0, last),
            10 => tile512::<10, V>(p, i0, j0, last),
            9 => tile512::<9, V>(p, i0, j0, last),
            8 => tile512::<8, V>(p, i0, j0, last),
            7 => tile512::<7, V>(p, i0, j0, last),
            6 => tile512::<6, V>(p, i0, j0, last),
            5 => tile512::<5, V>(p, i0, j0, last),
            4 => tile512::<4, V>(p, i0, j0, last),
            3 => tile512::<3, V>(p, i0, j0, last),
            2 => tile512::<2, V>(p, i0, j0, last),
            _ => tile512::<1, V>(p, i0, j0, last),
        }
    }
}

/// See `f32gemm::gemm_f32_nn`.
///
/// # Safety
/// The CPU supports AVX-512F; the views' shapes agree (`a` M x K, `b` K x N, `out` M x N),
/// M and N are non-zero.
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn gemm_avx512(a: &F32Mat<'_>, b: &F32Mat<'_>, out: F32MatMut<'_>) {
    let p = Raw::new(a, b, out);
    // Column panels outside: a K x 32 panel of b stays in L1 for every row tile.
    for j0 in (0..p.n).step_by(NR512) {
        let w = NR512.min(p.n - j0);
        let last = (((1u32 << ((w - 1) % 16 + 1)) - 1) & 0xffff) as __mmask16;
        for i0 in (0..p.m).step_by(MR512) {
            let rows = MR512.min(p.m - i0);
            // SAFETY: rows <= 8 from row i0 stay below M; the tile covers columns
            // j0 .. j0 + w <= N (one vector if w <= 16, else two with `last` covering w - 16).
            unsafe {
                match w.div_ceil(16) {
                    4 => rows512::<4>(&p, rows, i0, j0, last),
                    3 => rows512::<3>(&p, rows, i0, j0, last),
                    2 => rows512::<2>(&p, rows, i0, j0, last),
                    _ => rows512::<1>(&p, rows, i0, j0, last),
                }
            }
        }
    }
}

/// Lane mask (all bits set in a lane = enabled) for the first `valid` (1..=8) of 8 lanes.
#[inline]
#[target_feature(enable = "avx2")]
fn mask256(valid: usize) -> __m256i {
    let idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    _mm256_cmpgt_epi32(_mm256_set1_epi32(valid as i32), idx)
}

/// AVX2 tile: `R x (8 V)`, the last vector masked by `last` (from [`mask256`]).
///
/// # Safety
/// The CPU supports AVX2 and FMA; `i0 + R <= p.m`; columns `j0 ..` up to the last enabled lane of
/// `last` in vector V - 1 lie below `p.n`; `p` describes checked views as in [`tile512`].
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile256<const R: usize, const V: usize>(p: &Raw, i0: usize, j0: usize, last: __m256i) {
    let full = _mm256_set1_epi32(-1);
    let mut acc = [[_mm256_setzero_ps(); V]; R];
    for c in 0..p.k {
        let mut bv = [_mm256_setzero_ps(); V];
        for (v, bv) in bv.iter_mut().enumerate() {
            let mask = if v + 1 == V { last } else { full };
            // SAFETY: row c < K of b, enabled lanes are columns < N; masked-off lanes are
            // not accessed (vmaskmovps).
            *bv = unsafe { _mm256_maskload_ps(p.b.add(c * p.ldb + j0 + 8 * v), mask) };
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            // SAFETY: row i0 + r < M and column c < K of a.
            let x = _mm256_set1_ps(unsafe { *p.a.add((i0 + r) * p.lda + c) });
            for (acc, &bv) in acc.iter_mut().zip(&bv) {
                *acc = _mm256_fmadd_ps(x, bv, *acc);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        for (v, &acc) in acc.iter().enumerate() {
            let mask = if v + 1 == V { last } else { full };
            // SAFETY: row i0 + r < M; enabled lanes are columns < N: inside out's span.
            unsafe { _mm256_maskstore_ps(p.out.add((i0 + r) * p.ldo + j0 + 8 * v), mask, acc) };
        }
    }
}

/// Dispatches an AVX2 tile with `rows` (1..=6) rows.
///
/// # Safety
/// As [`tile256`] with `R = rows`.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn rows256<const V: usize>(p: &Raw, rows: usize, i0: usize, j0: usize, last: __m256i) {
    // SAFETY: forwarded from the caller with R = rows.
    unsafe {
        match rows {
            6 => tile256::<6, V>(p, i0, j0, last),
            5 => tile256::<5, V>(p, i0, j0, last),
            4 => tile256::<4, V>(p, i0, j0, last),
            3 => tile256::<3, V>(p, i0, j0, last),
            2 => tile256::<2, V>(p, i0, j0, last),
            _ => tile256::<1, V>(p, i0, j0, last),
        }
    }
}

/// See `f32gemm::gemm_f32_nn`.
///
/// # Safety
/// The CPU supports AVX2 and FMA; shapes as for [`gemm_avx512`].
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn gemm_avx2(a: &F32Mat<'_>, b: &F32Mat<'_>, out: F32MatMut<'_>) {
    let p = Raw::new(a, b, out);
    for j0 in (0..p.n).step_by(NR256) {
        let w = NR256.min(p.n - j0);
        let last = mask256((w - 1) % 8 + 1);
        for i0 in (0..p.m).step_by(MR256) {
            let rows = MR256.min(p.m - i0);
            // SAFETY: rows <= 6 from row i0 stay below M; the tile covers columns
            // j0 .. j0 + w <= N (one vector if w <= 8, else two with `last` covering w - 8).
            unsafe {
                if w > 8 {
                    rows256::<2>(&p, rows, i0, j0, last);
                } else {
                    rows256::<1>(&p, rows, i0, j0, last);
                }
            }
        }
    }
}
