//! AVX2 group quantization: the same operations as `quantize::quantize_group`
//! (integer max of |x| bits, multiply by 127/max, add MAGIC, clamp), 8 lanes at a time.

use core::arch::x86_64::*;

use crate::quantize::{group_scale, MAGIC};
use crate::{KernelError, QuantizedRows, GROUP};

/// Quantizes all groups of `x` into `rows` (buffers already sized by the caller).
///
/// # Safety
/// The CPU supports AVX2.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn fill_avx2(
    rows: &mut QuantizedRows,
    x: &[f32],
    smooth: Option<&[f32]>,
) -> Result<(), KernelError> {
    rows.fill(x, smooth, |x, q| {
        // SAFETY: this closure only runs inside fill_avx2, i.e. on a CPU with AVX2.
        unsafe { group_avx2(x, q) }
    })
}

/// # Safety
/// The CPU supports AVX2; `q` holds 32 elements.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn group_avx2(x: &[f32; GROUP], q: &mut [i8]) -> Option<(f32, i32)> {
    let mut v = [_mm256_setzero_ps(); 4];
    let mut mx = _mm256_setzero_si256();
    let abs_mask = _mm256_set1_epi32(0x7fff_ffff);
    for (i, v) in v.iter_mut().enumerate() {
        // SAFETY: x holds 32 floats; lanes 8i..8i+8.
        *v = unsafe { _mm256_loadu_ps(x.as_ptr().add(8 * i)) };
        mx = _mm256_max_epi32(mx, _mm256_and_si256(_mm256_castps_si256(*v), abs_mask));
    }
    let (scale, inv) = group_scale(hmax_epi32(mx))?;
    if scale == 0.0 {
        q[..GROUP].fill(0);
        return Some((0.0, 0));
    }
    let (inv, magic) = (_mm256_set1_ps(inv), _mm256_set1_ps(MAGIC));
    let magic_bits = _mm256_set1_epi32(MAGIC.to_bits() as i32);
    let (lo, hi) = (_mm256_set1_epi32(-127), _mm256_set1_epi32(127));
    let mut ints = [_mm256_setzero_si256(); 4];
    for (n, v) in ints.iter_mut().zip(&v) {
        let r = _mm256_add_ps(_mm256_mul_ps(*v, inv), magic);
        let r = _mm256_sub_epi32(_mm256_castps_si256(r), magic_bits);
        *n = _mm256_min_epi32(_mm256_max_epi32(r, lo), hi);
    }
    let sum = _mm256_add_epi32(
        _mm256_add_epi32(ints[0], ints[1]),
        _mm256_add_epi32(ints[2], ints[3]),
    );
    // packs works per 128-bit lane; the qword permute restores element order.
    let w01 = _mm256_permute4x64_epi64::<0xD8>(_mm256_packs_epi32(ints[0], ints[1]));
    let w23 = _mm256_permute4x64_epi64::<0xD8>(_mm256_packs_epi32(ints[2], ints[3]));
    let b = _mm256_permute4x64_epi64::<0xD8>(_mm256_packs_epi16(w01, w23));
    // SAFETY: q holds 32 i8 (32 bytes).
    unsafe { _mm256_storeu_si256(q.as_mut_ptr().cast(), b) };
    Some((scale, -128 * hsum_epi32(sum)))
}

#[inline]
#[target_feature(enable = "avx2")]
fn hmax_epi32(v: __m256i) -> i32 {
    let m = _mm_max_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let m = _mm_max_epi32(m, _mm_shuffle_epi32::<0b01_00_11_10>(m));
    let m = _mm_max_epi32(m, _mm_shuffle_epi32::<0b10_11_00_01>(m));
    _mm_cvtsi128_si32(m)
}

#[inline]
#[target_feature(enable = "avx2")]
fn hsum_epi32(v: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
    _mm_cvtsi128_si32(s)
}
