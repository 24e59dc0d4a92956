//! f32 dot/axpy: identical bits on every kernel, close to the exact value.

mod common;

use common::Rng;
use int8_kernels::{axpy_f32, dot_f32, Kernel, KernelError};

#[test]
fn dot_is_identical_across_kernels() {
    let kernels = Kernel::available_reported("f32ops::dot_is_identical_across_kernels");
    let mut rng = Rng::new(11);
    for len in (0..70).chain([127, 128, 256, 384, 1000]) {
        let a: Vec<f32> = (0..len).map(|_| rng.f32() * 3.0).collect();
        let b: Vec<f32> = (0..len).map(|_| rng.f32() * 3.0).collect();
        let want = dot_f32(Kernel::SCALAR, &a, &b).expect("dot");
        let exact: f64 = a
            .iter()
            .zip(&b)
            .map(|(x, y)| f64::from(*x) * f64::from(*y))
            .sum();
        assert!(
            (f64::from(want) - exact).abs() <= 1e-4 * (1.0 + exact.abs()),
            "len {len}"
        );
        for &kernel in &kernels {
            let got = dot_f32(kernel, &a, &b).expect("dot");
            assert_eq!(got.to_bits(), want.to_bits(), "{} len {len}", kernel.name());
        }
    }
}

#[test]
fn axpy_is_identical_across_kernels() {
    let kernels = Kernel::available_reported("f32ops::axpy_is_identical_across_kernels");
    let mut rng = Rng::new(12);
    for len in (0..40).chain([255, 256, 1000]) {
        let x: Vec<f32> = (0..len).map(|_| rng.f32()).collect();
        let y0: Vec<f32> = (0..len).map(|_| rng.f32()).collect();
        let alpha = rng.f32() * 2.0;
        let want: Vec<f32> = y0.iter().zip(&x).map(|(y, x)| y + alpha * x).collect();
        for &kernel in &kernels {
            let mut y = y0.clone();
            axpy_f32(kernel, alpha, &x, &mut y).expect("axpy");
            assert_eq!(y.len(), want.len());
            assert!(y.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()));
        }
    }
}

#[test]
fn length_mismatch_is_an_error() {
    let kernels = Kernel::available_reported("f32ops::length_mismatch_is_an_error");
    for &kernel in &kernels {
        assert!(matches!(
            dot_f32(kernel, &[1.0; 3], &[1.0; 4]),
            Err(KernelError::LengthMismatch { .. })
        ));
        assert!(matches!(
            axpy_f32(kernel, 1.0, &[1.0; 3], &mut [1.0; 4]),
            Err(KernelError::LengthMismatch { .. })
        ));
    }
}
