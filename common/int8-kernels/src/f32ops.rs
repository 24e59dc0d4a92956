//! Small f32 helpers for attention (Q·K^T, P·V): dot and axpy.
//!
//! Every kernel computes the same floats: the dot keeps 16 interleaved partial sums
//! (lane = index mod 16), folds them in a fixed tree (lane + 8, + 4, + 2, + 1), then adds
//! the tail in order; products and sums are separate operations (no FMA).

use crate::{error::check_len, Kernel, KernelError, KernelKind};

/// Partial sums in the dot product.
pub(crate) const LANES: usize = 16;

/// `sum(a[i] * b[i])` with the fixed order above. `a` and `b` must have equal lengths.
pub fn dot_f32(kernel: Kernel, a: &[f32], b: &[f32]) -> Result<f32, KernelError> {
    check_len("dot operand", a.len(), b.len())?;
    if !crate::detect::runnable(kernel) {
        return Err(KernelError::Unavailable(kernel.kind()));
    }
    let main = a.len() - a.len() % LANES;
    let mut s = match kernel.kind() {
        #[cfg(feature = "scalar")]
        KernelKind::Scalar => dot_scalar(&a[..main], &b[..main]),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the token proves the kind's instruction set (kernel.rs); the slices have equal lengths, multiples of 16.
        KernelKind::Avx2 => unsafe { crate::f32_simd::dot_avx2(&a[..main], &b[..main]) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the token proves the kind's instruction set (kernel.rs); the slices have equal lengths, multiples of 16.
        KernelKind::Avx512Vnni => unsafe { crate::f32_simd::dot_avx512(&a[..main], &b[..main]) },
        #[cfg(not(target_arch = "x86_64"))]
        _ => return Err(KernelError::Unavailable(kernel.kind())),
    };
    for (x, y) in a[main..].iter().zip(&b[main..]) {
        s += x * y;
    }
    Ok(s)
}

/// `y[i] += alpha * x[i]` (multiply, then add). `x` and `y` must have equal lengths.
pub fn axpy_f32(kernel: Kernel, alpha: f32, x: &[f32], y: &mut [f32]) -> Result<(), KernelError> {
    check_len("axpy operand", y.len(), x.len())?;
    if !crate::detect::runnable(kernel) {
        return Err(KernelError::Unavailable(kernel.kind()));
    }
    match kernel.kind() {
        #[cfg(feature = "scalar")]
        KernelKind::Scalar => axpy_scalar(alpha, x, y),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the token proves the kind's instruction set (kernel.rs); equal lengths checked above.
        KernelKind::Avx2 => unsafe { crate::f32_simd::axpy_avx2(alpha, x, y) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the token proves the kind's instruction set (kernel.rs); equal lengths checked above.
        KernelKind::Avx512Vnni => unsafe { crate::f32_simd::axpy_avx512(alpha, x, y) },
        #[cfg(not(target_arch = "x86_64"))]
        _ => return Err(KernelError::Unavailable(kernel.kind())),
    }
    Ok(())
}

/// Reference dot over whole 16-element chunks (lengths are equal multiples of 16).
#[cfg(feature = "scalar")]
fn dot_scalar(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    for (ca, cb) in a.chunks_exact(LANES).zip(b.chunks_exact(LANES)) {
        for ((s, x), y) in acc.iter_mut().zip(ca).zip(cb) {
            *s += x * y;
        }
    }
    let mut width = LANES / 2;
    while width > 0 {
        for l in 0..width {
            acc[l] += acc[l + width];
        }
        width /= 2;
    }
    acc[0]
}

#[cfg(feature = "scalar")]
fn axpy_scalar(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}
