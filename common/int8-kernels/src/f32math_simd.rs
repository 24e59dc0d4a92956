//! AVX2 versions of `f32math` (both SIMD kernels run them) and [`gelu_zmm`] for the AVX-512
//! VNNI matmul's fused epilogue: the same IEEE operation sequence per lane.
//!
//! The element functions are written once over a small vector trait, so the ymm paths and
//! the zmm GELU cannot drift apart; the scalar reference is `f32math::exp_one` / `gelu_one`.
//! (Softmax, LayerNorm and the slice map had zmm paths too; on Zen 4 they bought under 2 %
//! of an embedding, see bench/README.md.)

use core::arch::x86_64::*;

use crate::f32math::{
    exp_one, fold, gelu_one, softmax_max_tail, C2, C3, C4, C5, C6, C7, ERF_A, ERF_P, EXP, EXP_HI,
    EXP_LO, LANES, LN2_HI, LN2_LO, LOG2E, ROUND_MAGIC,
};
use crate::layernorm::{ln_mean_tail, ln_out_row, ln_rstd_tail, LnOut};

/// The lane-wise operations the element functions need. Every method is one IEEE
/// operation (or a bit operation) per lane.
trait Vf: Copy {
    const W: usize;
    /// # Safety
    /// `p` is valid for reading `W` floats and the CPU supports the vector width.
    unsafe fn load(p: *const f32) -> Self;
    /// # Safety
    /// `p` is valid for writing `W` floats and the CPU supports the vector width.
    unsafe fn store(self, p: *mut f32);
    fn splat(v: f32) -> Self;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn div(self, o: Self) -> Self;
    /// `self * b + c`, one rounding.
    fn fma(self, b: Self, c: Self) -> Self;
    /// Sign flip (exact).
    fn neg(self) -> Self;
    /// `maxps self, o`: `self > o ? self : o`.
    fn max(self, o: Self) -> Self;
    /// `minps self, o`: `self < o ? self : o`.
    fn min(self, o: Self) -> Self;
    fn and_bits(self, mask: u32) -> Self;
    fn or(self, o: Self) -> Self;
    /// `(bits(self) - bits(o) + 127) << 23` per lane, reinterpreted as f32.
    fn pow2_from_magic(self, magic: f32) -> Self;
}

#[derive(Clone, Copy)]
struct V8(__m256);
#[derive(Clone, Copy)]
struct V16(__m512);

/// Two-operand methods of [`Vf`] that are one intrinsic each.
macro_rules! lane_ops {
    ($v:ident: $($name:ident $intrinsic:ident),* $(,)?) => {$(
        #[inline(always)]
        fn $name(self, o: Self) -> Self {
            // SAFETY: only reached from functions that enable this vector width.
            $v(unsafe { $intrinsic(self.0, o.0) })
        }
    )*};
}

// The trait methods are plain (non-target-feature) fns; they are `#[inline(always)]` and only
// called from `#[target_feature]` functions of the matching width (AVX2 ones also enable FMA),
// where they inline.
impl Vf for V8 {
    const W: usize = 8;
    lane_ops!(V8: add _mm256_add_ps, sub _mm256_sub_ps, mul _mm256_mul_ps, div _mm256_div_ps,
        max _mm256_max_ps, min _mm256_min_ps, or _mm256_or_ps);
    /// # Safety
    /// As [`Vf::load`].
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the caller guarantees 8 readable floats and AVX.
        V8(unsafe { _mm256_loadu_ps(p) })
    }
    /// # Safety
    /// As [`Vf::store`].
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: the caller guarantees 8 writable floats and AVX.
        unsafe { _mm256_storeu_ps(p, self.0) }
    }
    #[inline(always)]
    fn splat(v: f32) -> Self {
        // SAFETY: only reached from AVX2 functions (see the impl comment).
        V8(unsafe { _mm256_set1_ps(v) })
    }
    #[inline(always)]
    fn fma(self, b: Self, c: Self) -> Self {
        // SAFETY: only reached from AVX2 + FMA functions.
        V8(unsafe { _mm256_fmadd_ps(self.0, b.0, c.0) })
    }
    #[inline(always)]
    fn neg(self) -> Self {
        // SAFETY: only reached from AVX2 functions.
        V8(unsafe { _mm256_xor_ps(self.0, _mm256_set1_ps(-0.0)) })
    }
    #[inline(always)]
    fn and_bits(self, mask: u32) -> Self {
        // SAFETY: only reached from AVX2 functions.
        V8(unsafe { _mm256_and_ps(self.0, _mm256_castsi256_ps(_mm256_set1_epi32(mask as i32))) })
    }
    #[inline(always)]
    fn pow2_from_magic(self, magic: f32) -> Self {
        // SAFETY: only reached from AVX2 functions.
        unsafe {
            let n = _mm256_sub_epi32(
                _mm256_castps_si256(self.0),
                _mm256_set1_epi32(magic.to_bits() as i32),
            );
            let e = _mm256_slli_epi32::<23>(_mm256_add_epi32(n, _mm256_set1_epi32(127)));
            V8(_mm256_castsi256_ps(e))
        }
    }
}

impl Vf for V16 {
    const W: usize = 16;
    lane_ops!(V16: add _mm512_add_ps, sub _mm512_sub_ps, mul _mm512_mul_ps, div _mm512_div_ps,
        max _mm512_max_ps, min _mm512_min_ps);
    /// # Safety
    /// As [`Vf::load`].
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the caller guarantees 16 readable floats and AVX-512F.
        V16(unsafe { _mm512_loadu_ps(p) })
    }
    /// # Safety
    /// As [`Vf::store`].
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: the caller guarantees 16 writable floats and AVX-512F.
        unsafe { _mm512_storeu_ps(p, self.0) }
    }
    #[inline(always)]
    fn splat(v: f32) -> Self {
        // SAFETY: only reached from AVX-512F functions (see the V8 impl comment).
        V16(unsafe { _mm512_set1_ps(v) })
    }
    #[inline(always)]
    fn fma(self, b: Self, c: Self) -> Self {
        // SAFETY: only reached from AVX-512F functions.
        V16(unsafe { _mm512_fmadd_ps(self.0, b.0, c.0) })
    }
    #[inline(always)]
    fn neg(self) -> Self {
        // SAFETY: only reached from AVX-512F functions.
        V16(unsafe {
            _mm512_castsi512_ps(_mm512_xor_si512(
                _mm512_castps_si512(self.0),
                _mm512_set1_epi32(i32::MIN),
            ))
        })
    }
    #[inline(always)]
    fn and_bits(self, mask: u32) -> Self {
        // SAFETY: only reached from AVX-512F functions.
        V16(unsafe {
            _mm512_castsi512_ps(_mm512_and_si512(
                _mm512_castps_si512(self.0),
                _mm512_set1_epi32(mask as i32),
            ))
        })
    }
    #[inline(always)]
    fn or(self, o: Self) -> Self {
        // SAFETY: only reached from AVX-512F functions.
        V16(unsafe {
            _mm512_castsi512_ps(_mm512_or_si512(
                _mm512_castps_si512(self.0),
                _mm512_castps_si512(o.0),
            ))
        })
    }
    #[inline(always)]
    fn pow2_from_magic(self, magic: f32) -> Self {
        // SAFETY: only reached from AVX-512F functions.
        unsafe {
            let n = _mm512_sub_epi32(
                _mm512_castps_si512(self.0),
                _mm512_set1_epi32(magic.to_bits() as i32),
            );
            let e = _mm512_slli_epi32::<23>(_mm512_add_epi32(n, _mm512_set1_epi32(127)));
            V16(_mm512_castsi512_ps(e))
        }
    }
}

/// `f32math::exp_one` per lane.
#[inline(always)]
fn exp_v<V: Vf>(x: V) -> V {
    let x = x.max(V::splat(EXP_LO)).min(V::splat(EXP_HI));
    let t = x.fma(V::splat(LOG2E), V::splat(ROUND_MAGIC));
    let n = t.sub(V::splat(ROUND_MAGIC));
    let nn = n.neg();
    let r = nn.fma(V::splat(LN2_LO), nn.fma(V::splat(LN2_HI), x));
    let mut p = r.fma(V::splat(C7), V::splat(C6));
    for c in [C5, C4, C3, C2, 1.0, 1.0] {
        p = r.fma(p, V::splat(c));
    }
    p.mul(t.pow2_from_magic(ROUND_MAGIC))
}

/// `f32math::gelu_one` per lane.
#[inline(always)]
fn gelu_v<V: Vf>(x: V) -> V {
    let one = V::splat(1.0);
    let z = x.mul(V::splat(core::f32::consts::FRAC_1_SQRT_2));
    let ax = z.and_bits(0x7fff_ffff);
    let t = one.div(V::splat(ERF_P).fma(ax, one));
    let mut p = t.fma(V::splat(ERF_A[4]), V::splat(ERF_A[3]));
    for a in [ERF_A[2], ERF_A[1], ERF_A[0]] {
        p = t.fma(p, V::splat(a));
    }
    let y = p.mul(t).neg().fma(exp_v(ax.mul(ax).neg()), one);
    let erf = y.and_bits(0x7fff_ffff).or(z.and_bits(0x8000_0000));
    let h = V::splat(0.5).mul(x);
    h.fma(erf, h)
}

/// [`gelu_v`] on one zmm register (the fused epilogue of the VNNI matmul).
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn gelu_zmm(x: __m512) -> __m512 {
    gelu_v(V16(x)).0
}

#[inline(always)]
fn apply<const F: u8, V: Vf>(v: V) -> V {
    if F == EXP {
        exp_v(v)
    } else {
        gelu_v(v)
    }
}

/// Applies element function `F` in place: whole vectors, then the reference function on the
/// tail.
///
/// # Safety
/// The CPU supports the width of `V`.
#[inline(always)]
unsafe fn map<const F: u8, V: Vf>(x: &mut [f32]) {
    let main = x.len() - x.len() % V::W;
    let (body, tail) = x.split_at_mut(main);
    for c in body.chunks_exact_mut(V::W) {
        // SAFETY: the chunk holds W floats; the caller guarantees the CPU width.
        unsafe { apply::<F, V>(V::load(c.as_ptr())).store(c.as_mut_ptr()) };
    }
    for v in tail {
        *v = if F == EXP { exp_one(*v) } else { gelu_one(*v) };
    }
}

/// # Safety
/// The CPU supports AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn map_avx2<const F: u8>(x: &mut [f32]) {
    // SAFETY: AVX2 is enabled here.
    unsafe { map::<F, V8>(x) }
}

/// Softmax (see `f32math::softmax_f32`) of `R` rows starting at `p`, `stride` apart,
/// interleaved pass by pass.
///
/// # Safety
/// The CPU supports the width of `V`; rows `0..R` of `cols` floats at `p + r * stride` are
/// valid for reading and writing and do not overlap.
#[inline(always)]
unsafe fn softmax_block<V: Vf, const R: usize>(
    p: *mut f32,
    stride: usize,
    cols: usize,
    scale: f32,
) {
    const { assert!(LANES == 16) };
    let per = LANES / V::W;
    let main = cols - cols % LANES;
    let row = |r: usize, c: usize| p.wrapping_add(r * stride + c);

    let mut mx = [[V::splat(f32::NEG_INFINITY); 2]; R];
    for c0 in (0..main).step_by(LANES) {
        for (r, mx) in mx.iter_mut().enumerate() {
            for (i, mx) in mx[..per].iter_mut().enumerate() {
                // SAFETY: column c0 + i * W + W <= main <= cols of row r < R.
                *mx = unsafe { V::load(row(r, c0 + i * V::W)) }.max(*mx);
            }
        }
    }
    let mut m = [0f32; R];
    for (r, (m, mx)) in m.iter_mut().zip(&mx).enumerate() {
        let mut lanes = [0f32; LANES];
        for (i, v) in mx[..per].iter().enumerate() {
            // SAFETY: lanes holds 16 floats; i * W + W <= 16.
            unsafe { v.store(lanes.as_mut_ptr().add(i * V::W)) };
        }
        // SAFETY: columns main..cols of row r < R are inside the row.
        let tail = unsafe { core::slice::from_raw_parts(row(r, main), cols - main) };
        *m = softmax_max_tail(lanes, tail);
    }

    let sv = V::splat(scale);
    let mv = m.map(V::splat);
    let mut sum = [[V::splat(0.0); 2]; R];
    for c0 in (0..main).step_by(LANES) {
        for (r, (sum, &mv)) in sum.iter_mut().zip(&mv).enumerate() {
            for (i, s) in sum[..per].iter_mut().enumerate() {
                let q = row(r, c0 + i * V::W);
                // SAFETY: as in the first pass; writing the same floats back.
                unsafe {
                    let e = exp_v(V::load(q).sub(mv).mul(sv));
                    e.store(q);
                    *s = s.add(e);
                }
            }
        }
    }
    let mut inv = [0f32; R];
    for (r, ((inv, sum), &m)) in inv.iter_mut().zip(&sum).zip(&m).enumerate() {
        let mut lanes = [0f32; LANES];
        for (i, v) in sum[..per].iter().enumerate() {
            // SAFETY: lanes holds 16 floats.
            unsafe { v.store(lanes.as_mut_ptr().add(i * V::W)) };
        }
        // SAFETY: columns main..cols of row r, no other live reference to them.
        let tail = unsafe { core::slice::from_raw_parts_mut(row(r, main), cols - main) };
        *inv = softmax_inv_tail_v::<V>(lanes, tail, m, scale);
    }

    let vmain = cols - cols % V::W;
    for (r, &inv) in inv.iter().enumerate() {
        let f = V::splat(inv);
        for c in (0..vmain).step_by(V::W) {
            // SAFETY: c + W <= cols of row r.
            unsafe { V::load(row(r, c)).mul(f).store(row(r, c)) };
        }
        for c in vmain..cols {
            // SAFETY: c < cols of row r.
            unsafe { *row(r, c) *= inv };
        }
    }
}

/// `f32math::softmax_inv_tail` with the tail's exponentials computed in vectors: the tail (fewer
/// than 16 values) is copied to a 16-lane buffer, `exp_v` runs on every lane (the same
/// per-lane sequence as `exp_one`), and only the tail's lanes are added and written back,
/// lane `i` into sum lane `i` as in the scalar code. Short rows (T not a multiple of 16)
/// otherwise spend most of the softmax in the scalar `exp_one`, whose fused multiply-adds
/// are emulated.
///
/// Only called from `#[target_feature]` functions of `V`'s width (where it inlines).
#[inline(always)]
fn softmax_inv_tail_v<V: Vf>(mut acc: [f32; LANES], tail: &mut [f32], m: f32, scale: f32) -> f32 {
    let n = tail.len().min(LANES);
    let mut buf = [0f32; LANES];
    buf[..n].copy_from_slice(&tail[..n]);
    let (mv, sv) = (V::splat(m), V::splat(scale));
    for i in 0..LANES / V::W {
        let q = buf.as_mut_ptr().wrapping_add(i * V::W);
        // SAFETY: `buf` holds 16 floats and i * W + W <= 16; the CPU supports V's width (caller).
        unsafe { exp_v(V::load(q).sub(mv).mul(sv)).store(q) };
    }
    for ((a, v), &e) in acc.iter_mut().zip(tail.iter_mut()).zip(&buf) {
        *v = e;
        *a += e;
    }
    1.0 / fold(acc, |a, b| a + b)
}

/// Rows in blocks of 4, then the remaining 1-3.
///
/// # Safety
/// The CPU supports the width of `V`; every (r, c) < (rows, cols) at `r * stride + c` is
/// inside `data` and `stride >= cols` when rows > 1.
#[inline(always)]
unsafe fn softmax_rows<V: Vf>(
    data: &mut [f32],
    rows: usize,
    cols: usize,
    stride: usize,
    scale: f32,
) {
    let p = data.as_mut_ptr();
    for r in (0..rows).step_by(4) {
        let q = p.wrapping_add(r * stride);
        // SAFETY: rows r .. r + min(4, rows - r) are inside `data` (caller) and disjoint (stride >= cols).
        unsafe {
            match rows - r {
                1 => softmax_block::<V, 1>(q, stride, cols, scale),
                2 => softmax_block::<V, 2>(q, stride, cols, scale),
                3 => softmax_block::<V, 3>(q, stride, cols, scale),
                _ => softmax_block::<V, 4>(q, stride, cols, scale),
            }
        }
    }
}

/// # Safety
/// The CPU supports AVX2 and FMA; `data` holds the `rows x cols` matrix with row `stride`.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn softmax_rows_avx2(
    data: &mut [f32],
    rows: usize,
    cols: usize,
    stride: usize,
    scale: f32,
) {
    // SAFETY: forwarded.
    unsafe { softmax_rows::<V8>(data, rows, cols, stride, scale) }
}

/// LayerNorm statistics and outputs (see `layernorm`) of `R` rows from row `r0`,
/// interleaved pass by pass.
///
/// # Safety
/// The CPU supports the width of `V`; `x` holds rows `r0 .. r0 + R` of `h` floats and every
/// output slice has `x`'s length, its gamma and beta `h` values.
#[inline(always)]
unsafe fn ln_block<V: Vf, const R: usize>(
    x: &[f32],
    r0: usize,
    h: usize,
    eps: f32,
    outs: &mut [Option<LnOut<'_>>; 2],
) {
    let per = LANES / V::W;
    let main = h - h % LANES;
    let row = |r: usize| &x[(r0 + r) * h..(r0 + r + 1) * h];
    let mut sum = [[V::splat(0.0); 2]; R];
    for c0 in (0..main).step_by(LANES) {
        for (r, s) in sum.iter_mut().enumerate() {
            for (i, s) in s[..per].iter_mut().enumerate() {
                // SAFETY: c0 + i * W + W <= main <= h: inside the row.
                *s = s.add(unsafe { V::load(row(r).as_ptr().add(c0 + i * V::W)) });
            }
        }
    }
    let mut mean = [0f32; R];
    for (r, (m, s)) in mean.iter_mut().zip(&sum).enumerate() {
        let mut lanes = [0f32; LANES];
        for (i, v) in s[..per].iter().enumerate() {
            // SAFETY: lanes holds 16 floats.
            unsafe { v.store(lanes.as_mut_ptr().add(i * V::W)) };
        }
        *m = ln_mean_tail(lanes, row(r));
    }
    let mv = mean.map(V::splat);
    let mut sq = [[V::splat(0.0); 2]; R];
    for c0 in (0..main).step_by(LANES) {
        for (r, (s, &m)) in sq.iter_mut().zip(&mv).enumerate() {
            for (i, s) in s[..per].iter_mut().enumerate() {
                // SAFETY: as above.
                let d = unsafe { V::load(row(r).as_ptr().add(c0 + i * V::W)) }.sub(m);
                *s = s.add(d.mul(d));
            }
        }
    }
    let mut rstd = [0f32; R];
    for (r, ((rs, s), &m)) in rstd.iter_mut().zip(&sq).zip(&mean).enumerate() {
        let mut lanes = [0f32; LANES];
        for (i, v) in s[..per].iter().enumerate() {
            // SAFETY: lanes holds 16 floats.
            unsafe { v.store(lanes.as_mut_ptr().add(i * V::W)) };
        }
        *rs = ln_rstd_tail(lanes, row(r), m, eps);
    }
    let vmain = h - h % V::W;
    for o in outs.iter_mut().flatten() {
        for r in 0..R {
            let (m, rs) = (mean[r], rstd[r]);
            let (mv, rv) = (V::splat(m), V::splat(rs));
            let src = row(r);
            let dst = &mut o.out[(r0 + r) * h..(r0 + r + 1) * h];
            for c in (0..vmain).step_by(V::W) {
                // SAFETY: c + W <= h: inside the row, gamma, beta and the output row.
                unsafe {
                    let v = V::load(src.as_ptr().add(c)).sub(mv).mul(rv);
                    let y = v
                        .mul(V::load(o.gamma.as_ptr().add(c)))
                        .add(V::load(o.beta.as_ptr().add(c)));
                    y.store(dst.as_mut_ptr().add(c));
                }
            }
            ln_out_row(
                &src[vmain..],
                m,
                rs,
                &o.gamma[vmain..],
                &o.beta[vmain..],
                &mut dst[vmain..],
            );
        }
    }
}

/// Rows in blocks of 4, then the remaining 1-3.
///
/// # Safety
/// The CPU supports the width of `V`; shapes as checked by `layer_norm_f32` (x.len() a
/// multiple of h; outputs of x's length; gamma/beta of h).
#[inline(always)]
unsafe fn layer_norm<V: Vf>(x: &[f32], h: usize, eps: f32, mut outs: [Option<LnOut<'_>>; 2]) {
    let rows = x.len() / h;
    for r0 in (0..rows).step_by(4) {
        // SAFETY: rows r0 .. r0 + min(4, rows - r0) exist; the output shapes are the caller's.
        unsafe {
            match rows - r0 {
                1 => ln_block::<V, 1>(x, r0, h, eps, &mut outs),
                2 => ln_block::<V, 2>(x, r0, h, eps, &mut outs),
                3 => ln_block::<V, 3>(x, r0, h, eps, &mut outs),
                _ => ln_block::<V, 4>(x, r0, h, eps, &mut outs),
            }
        }
    }
}

/// # Safety
/// The CPU supports AVX2; shapes as checked by `layer_norm_f32`.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn layer_norm_avx2(x: &[f32], h: usize, eps: f32, outs: [Option<LnOut<'_>>; 2]) {
    // SAFETY: forwarded.
    unsafe { layer_norm::<V8>(x, h, eps, outs) }
}
