//! Activation quantization: scales, rounding, zero groups, errors.

mod common;

use int8_kernels::{KernelError, QuantizedRows};

#[test]
fn scale_is_group_max_over_127() {
    let k = 64;
    let mut x = vec![0f32; 2 * k];
    for (i, v) in x.iter_mut().enumerate() {
        *v = (i as f32 - 50.0) * 0.25;
    }
    let mut a = QuantizedRows::new();
    a.quantize(&x, 2, k).expect("quantize");
    assert_eq!(a.scales().len(), 4);
    for (g, xs) in x.chunks(32).enumerate() {
        let amax = xs.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert_eq!(a.scales()[g], amax / 127.0);
        let qs = &a.values()[g * 32..(g + 1) * 32];
        // The group's max maps to +-127 and every value reconstructs within half a step.
        assert_eq!(qs.iter().map(|q| i32::from(*q).abs()).max(), Some(127));
        for (&v, &q) in xs.iter().zip(qs) {
            assert!((f32::from(q) * a.scales()[g] - v).abs() <= a.scales()[g] * 0.5001);
        }
    }
}

#[test]
fn rounds_half_to_even_and_clamps() {
    // Scale 1 (max 127): values land exactly on .5 steps.
    let mut x = vec![0f32; 32];
    x[0] = 127.0;
    x[1] = 2.5;
    x[2] = -2.5;
    x[3] = 3.5;
    x[4] = -127.0;
    x[5] = 0.49999997;
    let mut a = QuantizedRows::new();
    a.quantize(&x, 1, 32).expect("quantize");
    assert_eq!(a.scales()[0], 1.0);
    assert_eq!(&a.values()[..6], &[127, 2, -2, 4, -127, 0]);
}

#[test]
fn zero_groups_give_zero_scale() {
    let mut x = vec![0f32; 3 * 32];
    x[40] = 1.0; // only row 1 is non-zero
    x[64] = -0.0;
    let mut a = QuantizedRows::new();
    a.quantize(&x, 3, 32).expect("quantize");
    assert_eq!(a.scales(), &[0.0, 1.0 / 127.0, 0.0]);
    assert!(a.values()[..32].iter().all(|&q| q == 0));
    assert!(a.values()[64..].iter().all(|&q| q == 0));
    // A group so small that max/127 underflows is treated as zero, not as inf/NaN.
    let mut tiny = vec![0f32; 32];
    tiny[3] = f32::from_bits(1);
    a.quantize(&tiny, 1, 32).expect("quantize");
    assert_eq!(a.scales(), &[0.0]);
    assert!(a.values().iter().all(|&q| q == 0));
}

#[test]
fn non_finite_is_an_error() {
    let mut a = QuantizedRows::new();
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut x = vec![1f32; 2 * 64];
        x[64 + 33] = bad;
        assert_eq!(
            a.quantize(&x, 2, 64),
            Err(KernelError::NonFinite { row: 1, col: 33 })
        );
        assert_eq!(a.m(), 0);
    }
    // Smooth factors producing inf (division by zero) are caught too.
    let mut smooth = vec![1f32; 32];
    smooth[7] = 0.0;
    assert_eq!(
        a.quantize_smoothed(&[1.0; 32], 1, 32, &smooth),
        Err(KernelError::NonFinite { row: 0, col: 7 })
    );
    assert_eq!(
        a.from_parts(1, 32, &[0; 32], &[f32::NAN]),
        Err(KernelError::NonFinite { row: 0, col: 0 })
    );
    assert_eq!(
        a.from_parts(1, 32, &[0; 32], &[-1.0]),
        Err(KernelError::NegativeScale { row: 0, group: 0 })
    );
}

#[test]
fn shape_errors() {
    let mut a = QuantizedRows::new();
    assert_eq!(
        a.quantize(&[0.0; 40], 1, 40),
        Err(KernelError::KNotMultipleOf32 { k: 40 })
    );
    assert!(matches!(
        a.quantize(&[0.0; 63], 2, 32),
        Err(KernelError::LengthMismatch { .. })
    ));
    assert!(matches!(
        a.quantize_smoothed(&[0.0; 32], 1, 32, &[1.0; 31]),
        Err(KernelError::LengthMismatch { .. })
    ));
    assert_eq!(a.quantize(&[], usize::MAX, 64), Err(KernelError::TooLarge));
}

#[test]
fn smoothed_equals_divided_then_quantized() {
    let k = 64;
    let x: Vec<f32> = (0..3 * k)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.1)
        .collect();
    let smooth: Vec<f32> = (0..k).map(|i| 0.5 + (i % 7) as f32 * 0.3).collect();
    let divided: Vec<f32> = x
        .iter()
        .enumerate()
        .map(|(i, v)| v / smooth[i % k])
        .collect();
    let (mut a, mut b) = (QuantizedRows::new(), QuantizedRows::new());
    a.quantize_smoothed(&x, 3, k, &smooth).expect("smoothed");
    b.quantize(&divided, 3, k).expect("plain");
    assert_eq!(a.values(), b.values());
    assert_eq!(a.scales(), b.scales());
}

#[test]
fn buffers_are_reused() {
    let mut a = QuantizedRows::new();
    a.quantize(&[1.0; 4 * 64], 4, 64).expect("quantize");
    a.quantize(&[1.0; 32], 1, 32).expect("quantize");
    assert_eq!(
        (a.m(), a.k(), a.values().len(), a.scales().len()),
        (1, 32, 32, 1)
    );
}

#[test]
fn simd_quantize_equals_scalar() {
    use int8_kernels::Kernel;
    let kernels = Kernel::available_reported("quantize::simd_quantize_equals_scalar");
    let mut rng = common::Rng::new(21);
    for trial in 0..300 {
        let k = [32, 64, 384, 1536][trial % 4];
        let m = 1 + rng.below(5);
        let mag = [1e-40f32, 1e-3, 1.0, 127.0, 3e30][rng.below(5)];
        let mut x: Vec<f32> = (0..m * k).map(|_| rng.f32() * mag).collect();
        // Exact ties and zero groups.
        if trial % 3 == 0 {
            for (i, v) in x.iter_mut().enumerate() {
                *v = ((i % 255) as f32 - 127.0) * 0.5;
            }
        }
        if trial % 5 == 0 {
            x[..32].fill(0.0);
        }
        let smooth: Vec<f32> = (0..k).map(|_| 0.25 + rng.f32().abs() * 4.0).collect();
        for s in [None, Some(smooth.as_slice())] {
            let mut want = QuantizedRows::new();
            want.quantize_with(Kernel::SCALAR, &x, m, k, s)
                .expect("scalar");
            for &kernel in &kernels {
                let mut got = QuantizedRows::new();
                got.quantize_with(kernel, &x, m, k, s).expect("simd");
                assert_eq!(
                    got.values(),
                    want.values(),
                    "{} trial {trial}",
                    kernel.name()
                );
                let bits =
                    |r: &QuantizedRows| r.scales().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want));
            }
        }
        // The kernels must agree on the corrections too: checked through matmul bits.
        let w: Vec<i8> = (0..16 * k).map(|_| rng.i8()).collect();
        let packed = int8_kernels::PackedMatrix::pack(16, k, &w).expect("pack");
        let mut a = QuantizedRows::new();
        a.quantize(&x, m, k).expect("quantize");
        let mut ref_dots = vec![0; m * 16 * k / 32];
        int8_kernels::group_dots(Kernel::SCALAR, &a, &packed, &mut ref_dots).expect("dots");
        let want = common::reference_dots(&a, &w, 16);
        assert_eq!(ref_dots, want);
    }
}

#[test]
fn simd_quantize_reports_non_finite() {
    use int8_kernels::Kernel;
    let kernels = Kernel::available_reported("quantize::simd_quantize_reports_non_finite");
    for &kernel in &kernels {
        let mut a = QuantizedRows::new();
        let mut x = vec![0.5f32; 3 * 64];
        x[2 * 64 + 40] = f32::NAN;
        assert_eq!(
            a.quantize_with(kernel, &x, 3, 64, None),
            Err(KernelError::NonFinite { row: 2, col: 40 })
        );
        assert_eq!(a.m(), 0);
    }
}
