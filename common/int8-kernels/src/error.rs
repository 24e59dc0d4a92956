//! Typed errors: every caller mistake is reported, none panics.

use crate::KernelKind;

/// Why a kernel call, a packing or a quantization was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KernelError {
    /// K must be a positive multiple of the group size (32).
    #[error("K = {k} is not a positive multiple of 32")]
    KNotMultipleOf32 { k: usize },
    /// N (output channels) must be at least 1.
    #[error("N must be at least 1")]
    ZeroN,
    /// A buffer's length does not match the shape it was given with.
    #[error("{what}: expected length {expected}, got {got}")]
    LengthMismatch {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    /// Activations and weights disagree on K.
    #[error("activations have K = {activations}, weights K = {weights}")]
    KMismatch { activations: usize, weights: usize },
    /// A shape product overflows `usize`.
    #[error("shape too large")]
    TooLarge,
    /// A non-finite value (NaN or infinity) in an input row or a scale.
    #[error("non-finite value at row {row}, column {col}")]
    NonFinite { row: usize, col: usize },
    /// An activation scale that is negative (rows given already quantized).
    #[cfg(feature = "extra-ops")]
    #[error("negative scale at row {row}, group {group}")]
    NegativeScale { row: usize, group: usize },
    /// The kernel cannot run on this CPU or architecture (found by the `std` re-check,
    /// or off x86-64).
    #[error("kernel {} is not available on this CPU", .0.name())]
    Unavailable(KernelKind),
    /// A strided f32 matrix whose rows would overlap (`stride < cols`).
    #[error("row stride {stride} is smaller than the {cols} columns")]
    StrideTooSmall { stride: usize, cols: usize },
}

/// `a * b`, or `TooLarge`.
pub(crate) fn mul(a: usize, b: usize) -> Result<usize, KernelError> {
    a.checked_mul(b).ok_or(KernelError::TooLarge)
}

/// Checks that K is a positive multiple of 32.
pub(crate) fn check_k(k: usize) -> Result<(), KernelError> {
    if k == 0 || !k.is_multiple_of(crate::GROUP) {
        return Err(KernelError::KNotMultipleOf32 { k });
    }
    Ok(())
}

/// Checks a buffer length.
pub(crate) fn check_len(
    what: &'static str,
    expected: usize,
    got: usize,
) -> Result<(), KernelError> {
    if expected != got {
        return Err(KernelError::LengthMismatch {
            what,
            expected,
            got,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn messages_name_the_values() {
        assert_eq!(
            KernelError::Unavailable(KernelKind::Avx512Vnni).to_string(),
            "kernel avx512-vnni is not available on this CPU"
        );
        assert_eq!(
            KernelError::LengthMismatch {
                what: "scales",
                expected: 4,
                got: 3
            }
            .to_string(),
            "scales: expected length 4, got 3"
        );
    }
}
