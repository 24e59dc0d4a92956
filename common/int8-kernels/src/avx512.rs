//! AVX-512 VNNI kernel: `vpdpbusd` (u8 weights x s8 activations), tiles of
//! 4 rows x 48 channels: 12 int32 + 12 f32 accumulators fit the 32 zmm registers.

use core::arch::x86_64::*;

use crate::pack::BLOCK;
use crate::view::{View, STEPS_PER_GROUP};
use crate::{PackedMatrix, QuantizedRows};

const MR: usize = 4;
const NB: usize = 3;

/// Integer dots of `MR` rows x `NB` blocks for group `g`, correction included.
///
/// # Safety
/// The CPU supports AVX-512 F/BW/VL/VNNI; `m0 + MR <= v.m`, `blk0 + NB <= v.blocks`, `g < v.groups`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn group_acc<const R: usize, const B: usize>(
    v: &View,
    m0: usize,
    blk0: usize,
    g: usize,
) -> [[__m512i; B]; R] {
    let mut acc = [[_mm512_setzero_si512(); B]; R];
    for (r, acc) in acc.iter_mut().enumerate() {
        // SAFETY: row m0 + r < m and g < groups index the m * groups corrections.
        let corr = unsafe { *v.corr.add((m0 + r) * v.groups + g) };
        *acc = [_mm512_set1_epi32(corr); B];
    }
    for s in g * STEPS_PER_GROUP..(g + 1) * STEPS_PER_GROUP {
        let mut wv = [_mm512_setzero_si512(); B];
        for (b, wv) in wv.iter_mut().enumerate() {
            // SAFETY: block blk0 + b < blocks and step s < k / 4: 64 bytes inside the weights.
            *wv = unsafe { _mm512_loadu_si512(v.w.add(v.w_offset(blk0 + b, s)).cast()) };
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            // SAFETY: row m0 + r < m and 4 * s + 4 <= k: 4 bytes inside the activations.
            let x = unsafe {
                v.a.add((m0 + r) * v.k + 4 * s)
                    .cast::<i32>()
                    .read_unaligned()
            };
            let xv = _mm512_set1_epi32(x);
            for (acc, &wv) in acc.iter_mut().zip(&wv) {
                *acc = _mm512_dpbusd_epi32(*acc, wv, xv);
            }
        }
    }
    acc
}

/// One output tile of `matmul`; with `EP` = [`EP_AFFINE`] / [`EP_GELU`] the epilogue
/// `x * scale[n] + bias[n]` (then GELU, then `/ div[n]` if `div` is not null) runs on the
/// registers before the store.
///
/// # Safety
/// As [`group_acc`], and `out` holds `v.m * v.n` floats; for `EP != EP_NONE`, `ep` points to
/// `v.n` scales, `v.n` biases, (unless null) `v.n` divisors and (unless null) `v.m * v.n`
/// residuals.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn matmul_tile_ep<const R: usize, const B: usize, const EP: u8>(
    v: &View,
    m0: usize,
    blk0: usize,
    out: *mut f32,
    ep: (*const f32, *const f32, *const f32, *const f32),
) {
    let mut f = [[_mm512_setzero_ps(); B]; R];
    for g in 0..v.groups {
        // SAFETY: the caller's bounds are exactly group_acc's.
        let acc = unsafe { group_acc::<R, B>(v, m0, blk0, g) };
        for (r, (f, acc)) in f.iter_mut().zip(&acc).enumerate() {
            // SAFETY: row m0 + r < m and g < groups index the m * groups scales.
            let s = _mm512_set1_ps(unsafe { *v.scales.add((m0 + r) * v.groups + g) });
            for (f, &acc) in f.iter_mut().zip(acc) {
                // mul then add (no FMA): the same f32 rounding as the scalar kernel.
                *f = _mm512_add_ps(*f, _mm512_mul_ps(_mm512_cvtepi32_ps(acc), s));
            }
        }
    }
    for b in 0..B {
        let n0 = (blk0 + b) * BLOCK;
        let mask = ((1u32 << v.valid(blk0 + b)) - 1) as __mmask16;
        let (mut sc, mut bi, mut dv) = (_mm512_setzero_ps(), _mm512_setzero_ps(), None);
        if EP != EP_NONE {
            // SAFETY: the mask keeps channels n0 + i < n: inside the n scales, biases and (when given) divisors.
            unsafe {
                sc = _mm512_maskz_loadu_ps(mask, ep.0.add(n0));
                bi = _mm512_maskz_loadu_ps(mask, ep.1.add(n0));
                if !ep.2.is_null() {
                    dv = Some(_mm512_maskz_loadu_ps(mask, ep.2.add(n0)));
                }
            }
        }
        for (r, f) in f.iter().enumerate() {
            let mut x = f[b];
            if EP != EP_NONE {
                // mul then add, as the separate epilogue pass of the other kernels.
                x = _mm512_add_ps(_mm512_mul_ps(x, sc), bi);
                if !ep.3.is_null() {
                    // SAFETY: row m0 + r < m, masked columns n0 + i < n: inside the m * n residuals.
                    let res = unsafe { _mm512_maskz_loadu_ps(mask, ep.3.add((m0 + r) * v.n + n0)) };
                    x = _mm512_add_ps(x, res);
                }
            }
            if EP == EP_GELU {
                x = crate::f32math_simd::gelu_zmm(x);
            }
            if let Some(dv) = dv {
                // Masked-off lanes divide by 0 but are never stored.
                x = _mm512_div_ps(x, dv);
            }
            // SAFETY: row m0 + r < m; the mask keeps columns n0 + i < n, so every written float is inside out (m * n); masked-off lanes are not accessed.
            unsafe { _mm512_mask_storeu_ps(out.add((m0 + r) * v.n + n0), mask, x) };
        }
    }
}

/// No epilogue / scale + bias / scale + bias + GELU.
pub(crate) const EP_NONE: u8 = 0;
pub(crate) const EP_AFFINE: u8 = 1;
pub(crate) const EP_GELU: u8 = 2;

/// [`matmul_tile_ep`] for the `drive!` macro: `out` = (pointer, [scales, biases, divisors,
/// residuals],
/// epilogue kind).
///
/// # Safety
/// As [`matmul_tile_ep`].
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn matmul_tile<const R: usize, const B: usize>(
    v: &View,
    m0: usize,
    blk0: usize,
    out: (*mut f32, [*const f32; 4], u8),
) {
    let (o, [sc, bi, dv, rs], ep) = out;
    // SAFETY: forwarded; `ep` selects the epilogue the caller provided pointers for.
    unsafe {
        match ep {
            EP_AFFINE => matmul_tile_ep::<R, B, EP_AFFINE>(v, m0, blk0, o, (sc, bi, dv, rs)),
            EP_GELU => matmul_tile_ep::<R, B, EP_GELU>(v, m0, blk0, o, (sc, bi, dv, rs)),
            _ => matmul_tile_ep::<R, B, EP_NONE>(v, m0, blk0, o, (sc, bi, dv, rs)),
        }
    }
}

/// One output tile of `group_dots`.
///
/// # Safety
/// As [`group_acc`], and `out` holds `v.m * v.n * v.groups` ints.
#[cfg(feature = "extra-ops")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn dots_tile<const R: usize, const B: usize>(
    v: &View,
    m0: usize,
    blk0: usize,
    out: *mut i32,
) {
    for g in 0..v.groups {
        // SAFETY: the caller's bounds are exactly group_acc's.
        let acc = unsafe { group_acc::<R, B>(v, m0, blk0, g) };
        for (r, acc) in acc.iter().enumerate() {
            for (b, &acc) in acc.iter().enumerate() {
                let mut tmp = [0i32; BLOCK];
                // SAFETY: tmp is 16 i32 = 64 bytes.
                unsafe { _mm512_storeu_si512(tmp.as_mut_ptr().cast(), acc) };
                let n0 = (blk0 + b) * BLOCK;
                for (c, &d) in tmp[..v.valid(blk0 + b)].iter().enumerate() {
                    let idx = ((m0 + r) * v.n + n0 + c) * v.groups + g;
                    // SAFETY: row < m, channel < n, g < groups: inside out.
                    unsafe { *out.add(idx) = d };
                }
            }
        }
    }
}

/// Walks the output in tiles, using smaller const tiles at the edges.
macro_rules! drive {
    ($v:expr, $tile:ident, $out:expr) => {{
        let v = $v;
        // Column tiles outside: a 48-channel weight tile (18-72 KiB) is fetched from
        // memory once and reused from L1/L2 by every row tile.
        let w_len = v.blocks * BLOCK * v.k;
        let row_tiles = v.m.div_ceil(MR).max(1);
        for blk0 in (0..v.blocks).step_by(NB) {
            let nb = NB.min(v.blocks - blk0);
            // The next column tile's weights, prefetched into L2 in equal slices while the
            // row tiles of this one run (the first row tile would otherwise wait on memory).
            let next = ((blk0 + NB) * BLOCK * v.k).min(w_len);
            let next_end = ((blk0 + 2 * NB) * BLOCK * v.k).min(w_len);
            let slice = (next_end - next).div_ceil(row_tiles).next_multiple_of(64);
            for (ti, m0) in (0..v.m).step_by(MR).enumerate() {
                let mr = MR.min(v.m - m0);
                let (p0, p1) = ((next + ti * slice).min(next_end), (next + (ti + 1) * slice).min(next_end));
                for off in (p0..p1).step_by(64) {
                    // Prefetch only: no memory is accessed architecturally; off < w_len.
                    _mm_prefetch::<_MM_HINT_T1>(v.w.wrapping_add(off).cast());
                }
                // SAFETY: mr/nb tiles stay within m rows and `blocks` blocks; the caller guarantees the CPU features and the output length.
                unsafe {
                    match (mr, nb) {
                        (4, 3) => $tile::<4, 3>(&v, m0, blk0, $out),
                        (4, 2) => $tile::<4, 2>(&v, m0, blk0, $out),
                        (4, _) => $tile::<4, 1>(&v, m0, blk0, $out),
                        (3, 3) => $tile::<3, 3>(&v, m0, blk0, $out),
                        (3, 2) => $tile::<3, 2>(&v, m0, blk0, $out),
                        (3, _) => $tile::<3, 1>(&v, m0, blk0, $out),
                        (2, 3) => $tile::<2, 3>(&v, m0, blk0, $out),
                        (2, 2) => $tile::<2, 2>(&v, m0, blk0, $out),
                        (2, _) => $tile::<2, 1>(&v, m0, blk0, $out),
                        (_, 3) => $tile::<1, 3>(&v, m0, blk0, $out),
                        (_, 2) => $tile::<1, 2>(&v, m0, blk0, $out),
                        (_, _) => $tile::<1, 1>(&v, m0, blk0, $out),
                    }
                }
            }
        }
    }};
}

/// See [`crate::matmul`] and [`crate::matmul_epilogue`].
///
/// # Safety
/// The CPU supports AVX-512 F/BW/VL/VNNI; shapes are checked: `a.k() == w.k()`,
/// `out.len() == a.m() * w.n()`, and the epilogue slices hold `w.n()` values.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
pub(crate) unsafe fn matmul(
    a: &QuantizedRows,
    w: &PackedMatrix,
    out: &mut [f32],
    ep: Option<crate::Epilogue<'_>>,
) {
    let null = core::ptr::null();
    let arg = match ep {
        None => (out.as_mut_ptr(), [null; 4], EP_NONE),
        Some(e) => (
            out.as_mut_ptr(),
            [
                e.scale.as_ptr(),
                e.bias.as_ptr(),
                e.div.map_or(null, <[f32]>::as_ptr),
                e.residual.map_or(null, <[f32]>::as_ptr),
            ],
            if e.gelu { EP_GELU } else { EP_AFFINE },
        ),
    };
    drive!(View::new(a, w), matmul_tile, arg);
}

/// See `crate::group_dots`.
///
/// # Safety
/// The CPU supports AVX-512 F/BW/VL/VNNI; shapes are checked: `a.k() == w.k()`,
/// `out.len() == a.m() * w.n() * w.k() / 32`.
#[cfg(feature = "extra-ops")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
pub(crate) unsafe fn group_dots(a: &QuantizedRows, w: &PackedMatrix, out: &mut [i32]) {
    drive!(View::new(a, w), dots_tile, out.as_mut_ptr());
}
