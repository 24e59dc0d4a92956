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
            // SAFETY: row c < K of b; the unmasked lanes are columns < N (caller), so every accessed float is inside b's checked span; masked-off lanes are not accessed.
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
            // SAFETY: rows <= 8 from row i0 stay below M; the tile covers columns j0 .. j0 + w <= N (one vector if w <= 16, else two with `last` covering w - 16).
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
            // SAFETY: row c < K of b, enabled lanes are columns < N; masked-off lanes are not accessed (vmaskmovps).
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
            // SAFETY: rows <= 6 from row i0 stay below M; the tile covers columns j0 .. j0 + w <= N (one vector if w <= 8, else two with `last` covering w - 8).
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

/// `bt[c * n + j] = b[j * ldb + c]` for j < n, c < k (`bt` is K x N dense): 8 x 8 blocks
/// transposed in registers, the edges element by element.
///
/// # Safety
/// The CPU supports AVX2; `b` points to a checked `n x k` view with row stride `ldb`;
/// `bt.len() >= n * k`.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn transpose_avx2(b: *const f32, n: usize, k: usize, ldb: usize, bt: &mut [f32]) {
    let (n8, k8) = (n - n % 8, k - k % 8);
    let out = bt.as_mut_ptr();
    for j0 in (0..n8).step_by(8) {
        for c0 in (0..k8).step_by(8) {
            let mut r = [_mm256_setzero_ps(); 8];
            for (i, r) in r.iter_mut().enumerate() {
                // SAFETY: row j0 + i < n, columns c0 .. c0 + 8 <= k: inside b's view.
                *r = unsafe { _mm256_loadu_ps(b.add((j0 + i) * ldb + c0)) };
            }
            let t = [
                _mm256_unpacklo_ps(r[0], r[1]),
                _mm256_unpackhi_ps(r[0], r[1]),
                _mm256_unpacklo_ps(r[2], r[3]),
                _mm256_unpackhi_ps(r[2], r[3]),
                _mm256_unpacklo_ps(r[4], r[5]),
                _mm256_unpackhi_ps(r[4], r[5]),
                _mm256_unpacklo_ps(r[6], r[7]),
                _mm256_unpackhi_ps(r[6], r[7]),
            ];
            // u[c % 4] (+4 for rows 4..8): column c of rows 0..4 in each 128-bit half.
            let u = [
                _mm256_shuffle_ps::<0x44>(t[0], t[2]),
                _mm256_shuffle_ps::<0xEE>(t[0], t[2]),
                _mm256_shuffle_ps::<0x44>(t[1], t[3]),
                _mm256_shuffle_ps::<0xEE>(t[1], t[3]),
                _mm256_shuffle_ps::<0x44>(t[4], t[6]),
                _mm256_shuffle_ps::<0xEE>(t[4], t[6]),
                _mm256_shuffle_ps::<0x44>(t[5], t[7]),
                _mm256_shuffle_ps::<0xEE>(t[5], t[7]),
            ];
            for c in 0..4 {
                let lo = _mm256_permute2f128_ps::<0x20>(u[c], u[c + 4]);
                let hi = _mm256_permute2f128_ps::<0x31>(u[c], u[c + 4]);
                // SAFETY: columns c0 + c and c0 + c + 4 < k, rows j0 .. j0 + 8 <= n: inside the n * k floats of bt.
                unsafe {
                    _mm256_storeu_ps(out.add((c0 + c) * n + j0), lo);
                    _mm256_storeu_ps(out.add((c0 + c + 4) * n + j0), hi);
                }
            }
        }
    }
    // Edges: columns k8.. of the blocked rows, then the rows n8.. entirely.
    for j in 0..n {
        let c_start = if j < n8 { k8 } else { 0 };
        for c in c_start..k {
            // SAFETY: j < n, c < k: inside b's view and bt.
            unsafe { *out.add(c * n + j) = *b.add(j * ldb + c) };
        }
    }
}
