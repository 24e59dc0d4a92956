//! int8 matrix kernels for the embedding engine: AVX2 and AVX-512 VNNI, chosen at run
//! time, and a portable scalar reference (feature `scalar`: host tools and tests; the
//! guest has no scalar kernel and requires AVX2 + FMA). The only crate of the engine
//! with `unsafe` (SIMD intrinsics).
//!
//! Scheme: symmetric per-output-channel int8 weights ([`PackedMatrix`]); activations
//! quantized symmetrically per group of 32 along K ([`QuantizedRows`]); int32 dot per
//! group, scaled to f32 and summed over groups ([`matmul`]). Every kernel gives the
//! same integers and bit-identical floats.
//!
//! ```
//! use int8_kernels::{matmul, Kernel, PackedMatrix, QuantizedRows};
//!
//! let (n, k, m) = (3, 64, 2);
//! let w: Vec<i8> = (0..n * k).map(|i| (i % 7) as i8 - 3).collect(); // N x K, row-major
//! let packed = PackedMatrix::pack(n, k, &w)?; // once, at model load
//! let x: Vec<f32> = (0..m * k).map(|i| i as f32 * 0.01).collect(); // M x K
//! let mut rows = QuantizedRows::new(); // reuse across calls
//! rows.quantize_with(Kernel::SCALAR, &x, m, k, None)?;
//! let mut out = vec![0f32; m * n];
//! matmul(Kernel::SCALAR, &rows, &packed, &mut out)?;
//! // out[r * n + c] ~= dot(x[r], w[c]); multiply by the weight scale of c and add the bias.
//! # Ok::<(), int8_kernels::KernelError>(())
//! ```
//!
//! The f32 helpers for the rest of a transformer layer follow the same rule (identical
//! floats on every kernel, order documented per function): [`gemm_f32_nn`] /
//! [`gemm_f32_nt`] (register-blocked, FMA accumulation; [`fma_f32`] reproduces it in
//! portable code: the scalar kernel and the SIMD kernels' tails), [`softmax_rows_f32`],
//! `exp_f32`, [`gelu_f32`], [`layer_norm_f32`], and [`matmul_epilogue`] (scale, bias,
//! residual, GELU, divisor fused into the store). On the AVX-512 VNNI kernel only the f32
//! GEMMs and the fused epilogue use zmm registers; softmax, LayerNorm, exp/GELU over a
//! slice and activation quantization run their AVX2 code (bench/README.md has the figures).
//!
//! Kernel choice: the caller passes a [`Kernel`], a token proving that the CPU runs that
//! implementation ([`KernelKind`] is its name). Safe code gets `Kernel::SCALAR`
//! (feature `scalar`), or a SIMD kernel from the `std` run-time probe ([`Kernel::detect`],
//! [`Kernel::available`]: host tools and tests, the only place the crate executes
//! CPUID/XGETBV). A guest reads the kind from CPUID values it trusts
//! ([`CpuidValues::best_kind`], after [`SimdPlan`] enabled the register state) and
//! vouches for it with the `unsafe` [`Kernel::assume_supported`]; with no SIMD kind
//! (no AVX2 + FMA) it does not run. See `kernel.rs` for the design, `detect.rs` for what
//! each build checks.
//!
//! A SIMD kernel cannot be named in safe code, neither as a constant nor by building
//! the token (stable rustdoc checks only that these fail to compile, the error codes
//! only on nightly; the compiling example after them uses the same paths):
//!
//! ```compile_fail,E0599
//! let k = int8_kernels::Kernel::AVX2;
//! ```
//!
//! ```compile_fail,E0423
//! let k = int8_kernels::Kernel(int8_kernels::KernelKind::Avx512Vnni);
//! ```
//!
//! ```compile_fail,E0133
//! let k = int8_kernels::Kernel::assume_supported(int8_kernels::KernelKind::Avx2);
//! ```
//!
//! What compiles: the scalar kernel, the probe, or the stated obligation.
//!
//! ```
//! use int8_kernels::{Kernel, KernelKind};
//!
//! let scalar = Kernel::SCALAR;
//! let best = Kernel::detect(); // `std` only: CPUID/XGETBV on this CPU
//! assert_eq!(Kernel::available().first(), Some(&scalar));
//! if best.kind() == KernelKind::Avx2 {
//!     // SAFETY: the probe just found AVX2 (and its register state) on this CPU.
//!     let again = unsafe { Kernel::assume_supported(KernelKind::Avx2) };
//!     assert_eq!(again, best);
//! }
//! ```
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]

// Off x86-64 there are no SIMD kernels, so nothing to run without the scalar one.
#[cfg(not(any(target_arch = "x86_64", feature = "scalar")))]
compile_error!("int8-kernels without feature `scalar` needs x86-64 (AVX2 + FMA)");

extern crate alloc;
#[cfg(all(feature = "std", not(test)))]
extern crate std;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
pub mod cpu_features;
mod detect;
mod error;
#[cfg(all(target_arch = "x86_64", feature = "extra-ops"))]
mod f32_simd;
mod f32gemm;
#[cfg(target_arch = "x86_64")]
mod f32gemm_simd;
mod f32math;
#[cfg(target_arch = "x86_64")]
mod f32math_simd;
#[cfg(feature = "extra-ops")]
mod f32ops;
mod kernel;
mod layernorm;
mod pack;
mod quantize;
#[cfg(target_arch = "x86_64")]
mod quantize_simd;
#[cfg(feature = "scalar")]
mod scalar;
#[cfg(target_arch = "x86_64")]
mod view;

pub use cpu_features::SimdPlan;
#[cfg(any(test, feature = "std"))]
pub use detect::probe_cpuid_values;
pub use detect::{CpuidValues, Missing};
pub use error::KernelError;
pub use f32gemm::{fma_f32, gemm_f32_nn, gemm_f32_nt, F32Mat, F32MatMut};
pub use f32math::{erf_one, exp_one, gelu_f32, gelu_one, softmax_rows_f32};
#[cfg(feature = "extra-ops")]
pub use f32math::{exp_f32, softmax_f32};
#[cfg(feature = "extra-ops")]
pub use f32ops::{axpy_f32, dot_f32};
pub use kernel::{Kernel, KernelKind};
pub use layernorm::{inv_sqrt_f64, layer_norm_f32, LnOut};
pub use pack::PackedMatrix;
pub use quantize::QuantizedRows;

/// Activation quantization group along K.
pub const GROUP: usize = 32;

/// `out[m * N + n] = sum over groups g (in order) of dot(a[m, g], w[n, g]) as f32 * a.scale[m][g]`.
///
/// The caller then applies the per-channel weight scale and the bias (or use
/// [`matmul_epilogue`]). `out.len()` must be M x N.
#[cfg(feature = "extra-ops")]
pub fn matmul(
    kernel: Kernel,
    a: &QuantizedRows,
    w: &PackedMatrix,
    out: &mut [f32],
) -> Result<(), KernelError> {
    check(kernel, a, w, out.len(), 1)?;
    matmul_unchecked(kernel, a, w, out, None);
    Ok(())
}

/// The per-output step after [`matmul`]: `x * scale[n] + bias[n]` (multiply, then add),
/// then optionally `+ residual[m][n]`, then optionally GELU ([`gelu_one`]), then
/// optionally `/ div[n]` (e.g. the SmoothQuant factors of the next layer's input).
#[derive(Clone, Copy, Debug)]
pub struct Epilogue<'a> {
    /// N weight scales.
    pub scale: &'a [f32],
    /// N biases.
    pub bias: &'a [f32],
    /// Apply GELU after the bias.
    pub gelu: bool,
    /// N divisors applied last.
    pub div: Option<&'a [f32]>,
    /// M x N values added after the bias (a residual connection).
    pub residual: Option<&'a [f32]>,
}

/// [`matmul`] followed by `ep` on every output: the same floats on every kernel (the
/// AVX-512 kernel applies it in registers before the store, the others in a second pass).
pub fn matmul_epilogue(
    kernel: Kernel,
    a: &QuantizedRows,
    w: &PackedMatrix,
    ep: Epilogue<'_>,
    out: &mut [f32],
) -> Result<(), KernelError> {
    check(kernel, a, w, out.len(), 1)?;
    error::check_len("epilogue scales", w.n(), ep.scale.len())?;
    error::check_len("epilogue biases", w.n(), ep.bias.len())?;
    if let Some(d) = ep.div {
        error::check_len("epilogue divisors", w.n(), d.len())?;
    }
    if let Some(r) = ep.residual {
        error::check_len("epilogue residuals", out.len(), r.len())?;
    }
    #[cfg(target_arch = "x86_64")]
    if kernel.kind() == KernelKind::Avx512Vnni {
        // SAFETY: the token proves AVX-512 F/BW/VL/VNNI (kernel.rs; `check` re-checked it where it can) and the shapes match; the epilogue slices hold N values (checked above).
        unsafe { avx512::matmul(a, w, out, Some(ep)) };
        return Ok(());
    }
    matmul_unchecked(kernel, a, w, out, None);
    for row in out.chunks_exact_mut(w.n()) {
        for ((o, &s), &b) in row.iter_mut().zip(ep.scale).zip(ep.bias) {
            *o = *o * s + b;
        }
    }
    if let Some(res) = ep.residual {
        for (o, &r) in out.iter_mut().zip(res) {
            *o += r;
        }
    }
    if ep.gelu {
        gelu_f32(kernel, out)?;
    }
    if let Some(div) = ep.div {
        for row in out.chunks_exact_mut(w.n()) {
            for (o, &d) in row.iter_mut().zip(div) {
                *o /= d;
            }
        }
    }
    Ok(())
}

/// [`matmul`] after `check`.
fn matmul_unchecked(
    kernel: Kernel,
    a: &QuantizedRows,
    w: &PackedMatrix,
    out: &mut [f32],
    ep: Option<Epilogue<'_>>,
) {
    match kernel.kind() {
        #[cfg(feature = "scalar")]
        KernelKind::Scalar => scalar::matmul(a, w, out),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the token proves AVX2 (kernel.rs); the caller ran `check`, so the shapes match.
        KernelKind::Avx2 => unsafe { avx2::matmul(a, w, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the token proves AVX-512 F/BW/VL/VNNI (kernel.rs); the caller ran `check`, so the shapes match; `ep` slices (if any) hold N values.
        KernelKind::Avx512Vnni => unsafe { avx512::matmul(a, w, out, ep) },
        // `check` refuses the SIMD kernels on other architectures; never reached.
        #[cfg(not(target_arch = "x86_64"))]
        _ => {
            let _ = ep;
            scalar::matmul(a, w, out)
        }
    }
}

/// The raw int32 per-group dot products: `out[(m * N + n) * (K / 32) + g]`.
#[cfg(feature = "extra-ops")]
pub fn group_dots(
    kernel: Kernel,
    a: &QuantizedRows,
    w: &PackedMatrix,
    out: &mut [i32],
) -> Result<(), KernelError> {
    check(kernel, a, w, out.len(), w.k() / GROUP)?;
    match kernel.kind() {
        #[cfg(feature = "scalar")]
        KernelKind::Scalar => scalar::group_dots(a, w, out),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the token proves AVX2 (kernel.rs); `check` passed, so the shapes match.
        KernelKind::Avx2 => unsafe { avx2::group_dots(a, w, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the token proves AVX-512 F/BW/VL/VNNI (kernel.rs); `check` passed, so the shapes match.
        KernelKind::Avx512Vnni => unsafe { avx512::group_dots(a, w, out) },
        #[cfg(not(target_arch = "x86_64"))]
        _ => return Err(KernelError::Unavailable(kernel.kind())),
    }
    Ok(())
}

/// Kernel availability, K agreement and `out_len == M * N * per_entry`.
fn check(
    kernel: Kernel,
    a: &QuantizedRows,
    w: &PackedMatrix,
    out_len: usize,
    per_entry: usize,
) -> Result<(), KernelError> {
    if !detect::runnable(kernel) {
        return Err(KernelError::Unavailable(kernel.kind()));
    }
    if a.m() > 0 && a.k() != w.k() {
        return Err(KernelError::KMismatch {
            activations: a.k(),
            weights: w.k(),
        });
    }
    let expected = error::mul(error::mul(a.m(), w.n())?, per_entry)?;
    error::check_len("output", expected, out_len)
}
