//! AVX2 / AVX-512 versions of the f32 helpers, same operation order as `f32ops`.

use core::arch::x86_64::*;

use crate::f32ops::LANES;

/// # Safety
/// The CPU supports AVX2; `a.len() == b.len()`, a multiple of 16.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    // lo holds lanes 0..8, hi lanes 8..16 of the 16 partial sums.
    let (mut lo, mut hi) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    for (ca, cb) in a.chunks_exact(LANES).zip(b.chunks_exact(LANES)) {
        // SAFETY: each chunk holds 16 floats: two 8-float loads per chunk.
        unsafe {
            let (pa, pb) = (ca.as_ptr(), cb.as_ptr());
            lo = _mm256_add_ps(lo, _mm256_mul_ps(_mm256_loadu_ps(pa), _mm256_loadu_ps(pb)));
            hi = _mm256_add_ps(
                hi,
                _mm256_mul_ps(_mm256_loadu_ps(pa.add(8)), _mm256_loadu_ps(pb.add(8))),
            );
        }
    }
    fold8(_mm256_add_ps(lo, hi))
}

/// # Safety
/// The CPU supports AVX-512F; `a.len() == b.len()`, a multiple of 16.
#[target_feature(enable = "avx512f,avx2")]
pub(crate) unsafe fn dot_avx512(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = _mm512_setzero_ps();
    for (ca, cb) in a.chunks_exact(LANES).zip(b.chunks_exact(LANES)) {
        // SAFETY: each chunk holds 16 floats.
        let (x, y) = unsafe { (_mm512_loadu_ps(ca.as_ptr()), _mm512_loadu_ps(cb.as_ptr())) };
        acc = _mm512_add_ps(acc, _mm512_mul_ps(x, y));
    }
    let lo = _mm512_castps512_ps256(acc);
    let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(acc)));
    fold8(_mm256_add_ps(lo, hi))
}

/// Folds 8 partial sums: lane + 4, + 2, + 1 (the scalar tree's last three levels).
#[inline]
#[target_feature(enable = "avx2")]
fn fold8(v: __m256) -> f32 {
    let v4 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let v2 = _mm_add_ps(v4, _mm_movehl_ps(v4, v4));
    let v1 = _mm_add_ss(v2, _mm_shuffle_ps::<1>(v2, v2));
    _mm_cvtss_f32(v1)
}

/// # Safety
/// The CPU supports AVX2; `x.len() == y.len()`.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn axpy_avx2(alpha: f32, x: &[f32], y: &mut [f32]) {
    let a = _mm256_set1_ps(alpha);
    let mut xs = x.chunks_exact(8);
    let mut ys = y.chunks_exact_mut(8);
    for (cx, cy) in (&mut xs).zip(&mut ys) {
        // SAFETY: both chunks hold 8 floats.
        unsafe {
            let v = _mm256_add_ps(
                _mm256_loadu_ps(cy.as_ptr()),
                _mm256_mul_ps(a, _mm256_loadu_ps(cx.as_ptr())),
            );
            _mm256_storeu_ps(cy.as_mut_ptr(), v);
        }
    }
    for (y, x) in ys.into_remainder().iter_mut().zip(xs.remainder()) {
        *y += alpha * x;
    }
}

/// # Safety
/// The CPU supports AVX-512F; `x.len() == y.len()`.
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn axpy_avx512(alpha: f32, x: &[f32], y: &mut [f32]) {
    let a = _mm512_set1_ps(alpha);
    let mut xs = x.chunks_exact(16);
    let mut ys = y.chunks_exact_mut(16);
    for (cx, cy) in (&mut xs).zip(&mut ys) {
        // SAFETY: both chunks hold 16 floats.
        unsafe {
            let v = _mm512_add_ps(
                _mm512_loadu_ps(cy.as_ptr()),
                _mm512_mul_ps(a, _mm512_loadu_ps(cx.as_ptr())),
            );
            _mm512_storeu_ps(cy.as_mut_ptr(), v);
        }
    }
    for (y, x) in ys.into_remainder().iter_mut().zip(xs.remainder()) {
        *y += alpha * x;
    }
}
