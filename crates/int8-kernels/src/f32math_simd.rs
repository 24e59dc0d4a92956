//! AVX2 / AVX-512 versions of `f32math`: the same IEEE operation sequence per lane.
//!
//! The element functions are written once over a small vector trait, so the AVX2 and
//! AVX-512 paths cannot drift apart; the scalar reference is `f32math::exp_one` / `gelu_one`.

use core::arch::x86_64::*;

use crate::f32math::{
    exp_one, gelu_one, C2, C3, C4, C5, C6, C7, ERF_A, ERF_P, EXP, EXP_HI, EXP_LO, LANES, LN2_HI,
    LN2_LO, LOG2E, ROUND_MAGIC,
};

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

// The trait methods are plain (non-target-feature) fns; they are `#[inline(always)]` and only
// called from `#[target_feature]` functions of the matching width, where they inline.
impl Vf for V8 {
    const W: usize = 8;
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the caller guarantees 8 readable floats and AVX.
        V8(unsafe { _mm256_loadu_ps(p) })
    }
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
    fn add(self, o: Self) -> Self {
        // SAFETY: only reached from AVX2 functions.
        V8(unsafe { _mm256_add_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        // SAFETY: only reached from AVX2 functions.
        V8(unsafe { _mm256_sub_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        // SAFETY: only reached from AVX2 functions.
        V8(unsafe { _mm256_mul_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        // SAFETY: only reached from AVX2 functions.
        V8(unsafe { _mm256_div_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        // SAFETY: only reached from AVX2 functions.
        V8(unsafe { _mm256_max_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn min(self, o: Self) -> Self {
        // SAFETY: only reached from AVX2 functions.
        V8(unsafe { _mm256_min_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn and_bits(self, mask: u32) -> Self {
        // SAFETY: only reached from AVX2 functions.
        V8(unsafe { _mm256_and_ps(self.0, _mm256_castsi256_ps(_mm256_set1_epi32(mask as i32))) })
    }
    #[inline(always)]
    fn or(self, o: Self) -> Self {
        // SAFETY: only reached from AVX2 functions.
        V8(unsafe { _mm256_or_ps(self.0, o.0) })
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
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the caller guarantees 16 readable floats and AVX-512F.
        V16(unsafe { _mm512_loadu_ps(p) })
    }
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
    fn add(self, o: Self) -> Self {
        // SAFETY: only reached from AVX-512F functions.
        V16(unsafe { _mm512_add_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        // SAFETY: only reached from AVX-512F functions.
        V16(unsafe { _mm512_sub_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        // SAFETY: only reached from AVX-512F functions.
        V16(unsafe { _mm512_mul_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        // SAFETY: only reached from AVX-512F functions.
        V16(unsafe { _mm512_div_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        // SAFETY: only reached from AVX-512F functions.
        V16(unsafe { _mm512_max_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn min(self, o: Self) -> Self {
        // SAFETY: only reached from AVX-512F functions.
        V16(unsafe { _mm512_min_ps(self.0, o.0) })
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
    let t = x.mul(V::splat(LOG2E)).add(V::splat(ROUND_MAGIC));
    let n = t.sub(V::splat(ROUND_MAGIC));
    let r = x.sub(n.mul(V::splat(LN2_HI))).sub(n.mul(V::splat(LN2_LO)));
    let one = V::splat(1.0);
    let p = V::splat(C6).add(r.mul(V::splat(C7)));
    let p = V::splat(C5).add(r.mul(p));
    let p = V::splat(C4).add(r.mul(p));
    let p = V::splat(C3).add(r.mul(p));
    let p = V::splat(C2).add(r.mul(p));
    let p = one.add(r.mul(p));
    let p = one.add(r.mul(p));
    p.mul(t.pow2_from_magic(ROUND_MAGIC))
}

/// `f32math::gelu_one` per lane.
#[inline(always)]
fn gelu_v<V: Vf>(x: V) -> V {
    let one = V::splat(1.0);
    let z = x.mul(V::splat(core::f32::consts::FRAC_1_SQRT_2));
    let ax = z.and_bits(0x7fff_ffff);
    let t = one.div(one.add(V::splat(ERF_P).mul(ax)));
    let p = V::splat(ERF_A[3]).add(t.mul(V::splat(ERF_A[4])));
    let p = V::splat(ERF_A[2]).add(t.mul(p));
    let p = V::splat(ERF_A[1]).add(t.mul(p));
    let p = t.mul(V::splat(ERF_A[0]).add(t.mul(p)));
    // -ax * ax: negate (exact) then multiply, as the scalar `-ax * ax`.
    let neg_ax = ax.or(V::splat(-0.0));
    let y = one.sub(p.mul(exp_v(neg_ax.mul(ax))));
    let erf = y.and_bits(0x7fff_ffff).or(z.and_bits(0x8000_0000));
    V::splat(0.5).mul(x).mul(one.add(erf))
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
/// The CPU supports AVX2.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn map_avx2<const F: u8>(x: &mut [f32]) {
    // SAFETY: AVX2 is enabled here.
    unsafe { map::<F, V8>(x) }
}

/// # Safety
/// The CPU supports AVX-512F.
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn map_avx512<const F: u8>(x: &mut [f32]) {
    // SAFETY: AVX-512F is enabled here.
    unsafe { map::<F, V16>(x) }
}

/// Lane maxima over whole 16-float chunks: `mx[l] = max_rule(x, mx[l])`.
///
/// # Safety
/// The CPU supports the width of `V`; `x.len()` is a multiple of 16 and of `V::W`.
#[inline(always)]
unsafe fn max_lanes<V: Vf>(x: &[f32], mx: &mut [f32; LANES]) {
    const { assert!(LANES == 16) };
    let per = LANES / V::W;
    let mut acc = [V::splat(f32::NEG_INFINITY); 2];
    for (i, a) in acc[..per].iter_mut().enumerate() {
        // SAFETY: mx holds 16 floats; i * W + W <= 16.
        *a = unsafe { V::load(mx.as_ptr().add(i * V::W)) };
    }
    for c in x.chunks_exact(LANES) {
        for (i, a) in acc[..per].iter_mut().enumerate() {
            // SAFETY: the chunk holds 16 floats.
            *a = unsafe { V::load(c.as_ptr().add(i * V::W)) }.max(*a);
        }
    }
    for (i, a) in acc[..per].iter().enumerate() {
        // SAFETY: as for the loads from mx.
        unsafe { a.store(mx.as_mut_ptr().add(i * V::W)) };
    }
}

/// `x[i] = exp((x[i] - m) * scale)` over whole 16-float chunks, `acc[i mod 16] += x[i]`.
///
/// # Safety
/// The CPU supports the width of `V`; `x.len()` is a multiple of 16.
#[inline(always)]
unsafe fn exp_sum<V: Vf>(x: &mut [f32], m: f32, scale: f32, acc: &mut [f32; LANES]) {
    let per = LANES / V::W;
    let (mv, sv) = (V::splat(m), V::splat(scale));
    let mut sum = [V::splat(0.0); 2];
    for (i, s) in sum[..per].iter_mut().enumerate() {
        // SAFETY: acc holds 16 floats.
        *s = unsafe { V::load(acc.as_ptr().add(i * V::W)) };
    }
    for c in x.chunks_exact_mut(LANES) {
        for (i, s) in sum[..per].iter_mut().enumerate() {
            // SAFETY: the chunk holds 16 floats.
            unsafe {
                let p = c.as_mut_ptr().add(i * V::W);
                let e = exp_v(V::load(p).sub(mv).mul(sv));
                e.store(p);
                *s = s.add(e);
            }
        }
    }
    for (i, s) in sum[..per].iter().enumerate() {
        // SAFETY: acc holds 16 floats.
        unsafe { s.store(acc.as_mut_ptr().add(i * V::W)) };
    }
}

/// `x[i] *= f`, whole vectors then the tail.
///
/// # Safety
/// The CPU supports the width of `V`.
#[inline(always)]
unsafe fn scale<V: Vf>(x: &mut [f32], f: f32) {
    let fv = V::splat(f);
    let main = x.len() - x.len() % V::W;
    let (body, tail) = x.split_at_mut(main);
    for c in body.chunks_exact_mut(V::W) {
        // SAFETY: the chunk holds W floats.
        unsafe { V::load(c.as_ptr()).mul(fv).store(c.as_mut_ptr()) };
    }
    for v in tail {
        *v *= f;
    }
}

/// # Safety
/// The CPU supports AVX2; `x.len()` is a multiple of 16.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn max_lanes_avx2(x: &[f32], mx: &mut [f32; LANES]) {
    // SAFETY: forwarded.
    unsafe { max_lanes::<V8>(x, mx) }
}

/// # Safety
/// The CPU supports AVX-512F; `x.len()` is a multiple of 16.
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn max_lanes_avx512(x: &[f32], mx: &mut [f32; LANES]) {
    // SAFETY: forwarded.
    unsafe { max_lanes::<V16>(x, mx) }
}

/// # Safety
/// The CPU supports AVX2; `x.len()` is a multiple of 16.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn exp_sum_avx2(x: &mut [f32], m: f32, s: f32, acc: &mut [f32; LANES]) {
    // SAFETY: forwarded.
    unsafe { exp_sum::<V8>(x, m, s, acc) }
}

/// # Safety
/// The CPU supports AVX-512F; `x.len()` is a multiple of 16.
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn exp_sum_avx512(x: &mut [f32], m: f32, s: f32, acc: &mut [f32; LANES]) {
    // SAFETY: forwarded.
    unsafe { exp_sum::<V16>(x, m, s, acc) }
}

/// # Safety
/// The CPU supports AVX2.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn scale_avx2(x: &mut [f32], f: f32) {
    // SAFETY: forwarded.
    unsafe { scale::<V8>(x, f) }
}

/// # Safety
/// The CPU supports AVX-512F.
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn scale_avx512(x: &mut [f32], f: f32) {
    // SAFETY: forwarded.
    unsafe { scale::<V16>(x, f) }
}
