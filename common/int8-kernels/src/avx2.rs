//! AVX2 kernel with exact int16 products: `vpmaddwd` of zero-extended u8 weights
//! (0..=255) and sign-extended activations never saturates, unlike `vpmaddubsw`.
//!
//! Each 16-byte slice of a packed step is 4 channels x 4 k; broadcasting the
//! row's 4 activations (as i16) makes `vpmaddwd` produce two partial sums per
//! channel, folded with `vphaddd` once per group. Tiles: `MR` rows x 16 channels.

use core::arch::x86_64::*;

use crate::pack::BLOCK;
use crate::view::{View, STEPS_PER_GROUP};
use crate::{PackedMatrix, QuantizedRows};

const MR: usize = 3;

/// Integer dots of `R` rows x 16 channels of block `blk` for group `g`, correction
/// included; per row two vectors of 8 channels in order.
///
/// # Safety
/// The CPU supports AVX2; `m0 + R <= v.m`, `blk < v.blocks`, `g < v.groups`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn group_acc<const R: usize>(
    v: &View,
    m0: usize,
    blk: usize,
    g: usize,
) -> [[__m256i; 2]; R] {
    let mut acc = [[_mm256_setzero_si256(); 4]; R];
    for s in g * STEPS_PER_GROUP..(g + 1) * STEPS_PER_GROUP {
        let base = v.w_offset(blk, s);
        let mut wv = [_mm256_setzero_si256(); 4];
        for (q, wv) in wv.iter_mut().enumerate() {
            // SAFETY: block blk < blocks, step s < k / 4: the 64-byte step holds 4 x 16 bytes.
            let bytes = unsafe { _mm_loadu_si128(v.w.add(base + 16 * q).cast()) };
            *wv = _mm256_cvtepu8_epi16(bytes);
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            // SAFETY: row m0 + r < m and 4 * s + 4 <= k: 4 bytes inside the activations.
            let x = unsafe {
                v.a.add((m0 + r) * v.k + 4 * s)
                    .cast::<i32>()
                    .read_unaligned()
            };
            // 4 copies of the 4 activations, sign-extended to i16.
            let xv = _mm256_cvtepi8_epi16(_mm_set1_epi32(x));
            for (acc, &wv) in acc.iter_mut().zip(&wv) {
                *acc = _mm256_add_epi32(*acc, _mm256_madd_epi16(wv, xv));
            }
        }
    }
    let mut out = [[_mm256_setzero_si256(); 2]; R];
    for (r, (out, acc)) in out.iter_mut().zip(&acc).enumerate() {
        // SAFETY: row m0 + r < m and g < groups index the m * groups corrections.
        let corr = _mm256_set1_epi32(unsafe { *v.corr.add((m0 + r) * v.groups + g) });
        // hadd gives channels (0 1 4 5 | 2 3 6 7); the qword permute restores 0..7.
        let lo = _mm256_permute4x64_epi64::<0xD8>(_mm256_hadd_epi32(acc[0], acc[1]));
        let hi = _mm256_permute4x64_epi64::<0xD8>(_mm256_hadd_epi32(acc[2], acc[3]));
        *out = [_mm256_add_epi32(lo, corr), _mm256_add_epi32(hi, corr)];
    }
    out
}

/// One output tile of `matmul`.
///
/// # Safety
/// As [`group_acc`], and `out` holds `v.m * v.n` floats.
#[target_feature(enable = "avx2")]
unsafe fn matmul_tile<const R: usize>(v: &View, m0: usize, blk: usize, out: *mut f32) {
    let mut f = [[_mm256_setzero_ps(); 2]; R];
    for g in 0..v.groups {
        // SAFETY: the caller's bounds are exactly group_acc's.
        let acc = unsafe { group_acc::<R>(v, m0, blk, g) };
        for (r, (f, acc)) in f.iter_mut().zip(&acc).enumerate() {
            // SAFETY: row m0 + r < m and g < groups index the m * groups scales.
            let s = _mm256_set1_ps(unsafe { *v.scales.add((m0 + r) * v.groups + g) });
            for (f, &acc) in f.iter_mut().zip(acc) {
                // mul then add (no FMA): the same f32 rounding as the scalar kernel.
                *f = _mm256_add_ps(*f, _mm256_mul_ps(_mm256_cvtepi32_ps(acc), s));
            }
        }
    }
    let n0 = blk * BLOCK;
    let valid = v.valid(blk);
    for (r, f) in f.iter().enumerate() {
        // SAFETY: row m0 + r < m; `valid` columns from n0 are inside the row.
        let dst = unsafe { out.add((m0 + r) * v.n + n0) };
        if valid == BLOCK {
            // SAFETY: 16 floats at dst are inside out (see above).
            unsafe {
                _mm256_storeu_ps(dst, f[0]);
                _mm256_storeu_ps(dst.add(8), f[1]);
            }
        } else {
            let mut tmp = [0f32; BLOCK];
            // SAFETY: tmp holds 16 floats.
            unsafe {
                _mm256_storeu_ps(tmp.as_mut_ptr(), f[0]);
                _mm256_storeu_ps(tmp.as_mut_ptr().add(8), f[1]);
            }
            for (c, &x) in tmp[..valid].iter().enumerate() {
                // SAFETY: column n0 + c < n.
                unsafe { *dst.add(c) = x };
            }
        }
    }
}

/// One output tile of `group_dots`.
///
/// # Safety
/// As [`group_acc`], and `out` holds `v.m * v.n * v.groups` ints.
#[cfg(feature = "extra-ops")]
#[target_feature(enable = "avx2")]
unsafe fn dots_tile<const R: usize>(v: &View, m0: usize, blk: usize, out: *mut i32) {
    let n0 = blk * BLOCK;
    for g in 0..v.groups {
        // SAFETY: the caller's bounds are exactly group_acc's.
        let acc = unsafe { group_acc::<R>(v, m0, blk, g) };
        for (r, acc) in acc.iter().enumerate() {
            let mut tmp = [0i32; BLOCK];
            // SAFETY: tmp holds 16 i32.
            unsafe {
                _mm256_storeu_si256(tmp.as_mut_ptr().cast(), acc[0]);
                _mm256_storeu_si256(tmp.as_mut_ptr().add(8).cast(), acc[1]);
            }
            for (c, &d) in tmp[..v.valid(blk)].iter().enumerate() {
                let idx = ((m0 + r) * v.n + n0 + c) * v.groups + g;
                // SAFETY: row < m, channel < n, g < groups: inside out.
                unsafe { *out.add(idx) = d };
            }
        }
    }
}

/// Walks the output in tiles, using smaller const tiles for the last rows.
macro_rules! drive {
    ($v:expr, $tile:ident, $out:expr) => {{
        let v = $v;
        for m0 in (0..v.m).step_by(MR) {
            for blk in 0..v.blocks {
                // SAFETY: the tile stays within m rows and `blocks` blocks; the caller guarantees AVX2 and the output length.
                unsafe {
                    match MR.min(v.m - m0) {
                        3 => $tile::<3>(&v, m0, blk, $out),
                        2 => $tile::<2>(&v, m0, blk, $out),
                        _ => $tile::<1>(&v, m0, blk, $out),
                    }
                }
            }
        }
    }};
}

/// See [`crate::matmul`].
///
/// # Safety
/// The CPU supports AVX2; shapes are checked: `a.k() == w.k()`, `out.len() == a.m() * w.n()`.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn matmul(a: &QuantizedRows, w: &PackedMatrix, out: &mut [f32]) {
    drive!(View::new(a, w), matmul_tile, out.as_mut_ptr());
}

/// See `crate::group_dots`.
///
/// # Safety
/// The CPU supports AVX2; shapes are checked: `a.k() == w.k()`,
/// `out.len() == a.m() * w.n() * w.k() / 32`.
#[cfg(feature = "extra-ops")]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn group_dots(a: &QuantizedRows, w: &PackedMatrix, out: &mut [i32]) {
    drive!(View::new(a, w), dots_tile, out.as_mut_ptr());
}
