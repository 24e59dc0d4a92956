//! f32 GEMM (attention products): identical bits on every kernel, equal to the
//! documented per-element order, close to the exact value; strides and errors.

mod common;

use common::Rng;
use int8_kernels::{fma_f32, gemm_f32_nn, gemm_f32_nt, F32Mat, F32MatMut, Kernel, KernelError};

/// Naive `a · b` in the documented order: 0, then fma(a[i][c], b[c][j], acc) for c in order
/// (std's `mul_add` is the correctly rounded fused multiply-add).
fn reference(
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    m: usize,
    n: usize,
    k: usize,
) -> Vec<f32> {
    let mut out = vec![0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut s = 0f32;
            for c in 0..k {
                s = a[i * lda + c].mul_add(b[c * ldb + j], s);
            }
            out[i * n + j] = s;
        }
    }
    out
}

fn random(rng: &mut Rng, len: usize) -> Vec<f32> {
    (0..len).map(|_| rng.f32() * 2.0).collect()
}

/// Shapes (m, n, k) covering every tile edge of the kernels and the attention shapes.
fn shapes() -> Vec<(usize, usize, usize)> {
    let mut s = vec![
        (128, 128, 32),
        (128, 32, 128),
        (16, 16, 32),
        (16, 32, 16),
        (7, 33, 5),
    ];
    let mut rng = Rng::new(5);
    for m in [1, 2, 5, 6, 7, 8, 9, 13, 17] {
        for n in [1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 48, 63] {
            s.push((m, n, rng.below(40)));
        }
    }
    s
}

#[test]
fn nn_is_identical_across_kernels_and_matches_reference() {
    let kernels =
        Kernel::available_reported("f32gemm::nn_is_identical_across_kernels_and_matches_reference");
    let mut rng = Rng::new(21);
    for (m, n, k) in shapes() {
        // Strided operands: a gap after every row, which must stay untouched in `out`.
        let (lda, ldb, ldo) = (k + 3, n + 5, n + 2);
        let a = random(&mut rng, m * lda);
        let b = random(&mut rng, k.max(1) * ldb);
        let want = reference(&a, lda, &b, ldb, m, n, k);
        for &kernel in &kernels {
            let mut out = vec![-7.0f32; m * ldo];
            gemm_f32_nn(
                kernel,
                F32Mat::new(&a, m, k, lda).expect("a"),
                F32Mat::new(&b, k, n, ldb).expect("b"),
                F32MatMut::new(&mut out, m, n, ldo).expect("out"),
            )
            .expect("gemm");
            for i in 0..m {
                for j in 0..ldo {
                    let got = out[i * ldo + j];
                    if j < n {
                        assert_eq!(
                            got.to_bits(),
                            want[i * n + j].to_bits(),
                            "{} m {m} n {n} k {k} ({i}, {j})",
                            kernel.name()
                        );
                    } else {
                        assert_eq!(got, -7.0, "{} wrote outside the view", kernel.name());
                    }
                }
            }
        }
    }
}

#[test]
fn nt_equals_nn_on_the_transpose() {
    let kernels = Kernel::available_reported("f32gemm::nt_equals_nn_on_the_transpose");
    let mut rng = Rng::new(22);
    let mut pack = Vec::new();
    for (m, n, k) in shapes() {
        let (lda, ldb) = (k + 1, k + 4);
        let a = random(&mut rng, m * lda);
        let b = random(&mut rng, n * ldb); // N x K
        let mut bt = vec![0f32; k * n];
        for j in 0..n {
            for c in 0..k {
                bt[c * n + j] = b[j * ldb + c];
            }
        }
        let want = reference(&a, lda, &bt, n, m, n, k);
        // Close to the exact product (f64), relative to the sum of |terms|.
        for i in 0..m {
            for j in 0..n {
                let (mut exact, mut mag) = (0f64, 0f64);
                for c in 0..k {
                    let t = f64::from(a[i * lda + c]) * f64::from(bt[c * n + j]);
                    exact += t;
                    mag += t.abs();
                }
                let err = (f64::from(want[i * n + j]) - exact).abs();
                assert!(err <= 1e-6 * (1.0 + mag) * (k as f64 + 1.0), "({i}, {j})");
            }
        }
        for &kernel in &kernels {
            let mut out = vec![0f32; m * n];
            gemm_f32_nt(
                kernel,
                F32Mat::new(&a, m, k, lda).expect("a"),
                F32Mat::new(&b, n, k, ldb).expect("b"),
                F32MatMut::dense(&mut out, m, n).expect("out"),
                &mut pack,
            )
            .expect("gemm nt");
            assert!(
                out.iter()
                    .zip(&want)
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "{} m {m} n {n} k {k}",
                kernel.name()
            );
        }
    }
}

#[test]
fn special_values_propagate_identically() {
    let kernels = Kernel::available_reported("f32gemm::special_values_propagate_identically");
    let (m, n, k) = (9, 37, 11);
    let mut rng = Rng::new(23);
    let mut a = random(&mut rng, m * k);
    let mut b = random(&mut rng, k * n);
    a[3] = f32::INFINITY;
    a[20] = f32::NAN;
    b[40] = -0.0;
    b[77] = f32::MAX;
    b[78] = 1e-40; // subnormal
    let want = reference(&a, k, &b, n, m, n, k);
    for &kernel in &kernels {
        let mut out = vec![0f32; m * n];
        gemm_f32_nn(
            kernel,
            F32Mat::dense(&a, m, k).expect("a"),
            F32Mat::dense(&b, k, n).expect("b"),
            F32MatMut::dense(&mut out, m, n).expect("out"),
        )
        .expect("gemm");
        for (x, y) in out.iter().zip(&want) {
            assert!(
                x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
                "{}",
                kernel.name()
            );
        }
    }
}

#[test]
fn bad_shapes_are_errors() {
    let kernels = Kernel::available_reported("f32gemm::bad_shapes_are_errors");
    let data = [0f32; 20];
    let mut out = [0f32; 20];
    assert!(matches!(
        F32Mat::new(&data, 3, 5, 4),
        Err(KernelError::StrideTooSmall { stride: 4, cols: 5 })
    ));
    assert!(matches!(
        F32Mat::new(&data, 3, 5, 8),
        Err(KernelError::LengthMismatch { .. })
    ));
    assert!(F32Mat::new(&data, 3, 4, 8).is_ok()); // (3 - 1) * 8 + 4 = 20
    assert!(F32Mat::new(&data, 1, 20, 0).is_ok());
    assert!(F32Mat::new(&[], 0, 5, 5).is_ok());
    for &kernel in &kernels {
        let a = F32Mat::dense(&data[..6], 2, 3).expect("a");
        let b = F32Mat::dense(&data[..8], 4, 2).expect("b");
        let o = F32MatMut::dense(&mut out[..4], 2, 2).expect("out");
        assert!(matches!(
            gemm_f32_nn(kernel, a, b, o),
            Err(KernelError::LengthMismatch { .. })
        ));
        let b = F32Mat::dense(&data[..6], 3, 2).expect("b");
        let o = F32MatMut::dense(&mut out[..6], 2, 3).expect("out");
        assert!(matches!(
            gemm_f32_nn(kernel, a, b, o),
            Err(KernelError::LengthMismatch { .. })
        ));
        let o = F32MatMut::dense(&mut out[..4], 2, 2).expect("out");
        assert!(matches!(
            gemm_f32_nt(kernel, a, b, o, &mut Vec::new()),
            Err(KernelError::LengthMismatch { .. })
        ));
    }
}

/// Bits of the correctly rounded f32 FMA; every NaN maps to one value.
fn fma_bits(x: f32) -> u32 {
    if x.is_nan() {
        u32::MAX
    } else {
        x.to_bits()
    }
}

#[test]
fn portable_fma_is_correctly_rounded() {
    let check = |a: f32, b: f32, c: f32| {
        assert_eq!(
            fma_bits(fma_f32(a, b, c)),
            fma_bits(a.mul_add(b, c)),
            "fma({a:e}, {b:e}, {c:e})"
        );
    };
    // Double-rounding traps: a*b + c lies just below / above an f32 midpoint, so a plain
    // f64 sum rounds onto the midpoint and then (ties to even) the wrong way.
    let one_ulp = f32::EPSILON; // 2^-23
    for x in [1.0 + one_ulp, 1.0 + 2.0 * one_ulp, 1.5, 1.0 + 3.0 * one_ulp] {
        for (a, b) in [
            (1.0 + one_ulp, one_ulp / 2.0 * (1.0 - one_ulp)),
            (1.0 - one_ulp / 2.0, one_ulp / 2.0 * (1.0 + one_ulp)),
            (1.0 + one_ulp, one_ulp / 2.0),
            (1.0 - one_ulp / 2.0, one_ulp / 2.0),
        ] {
            for (sa, sc) in [(1.0, 1.0), (-1.0, 1.0), (1.0, -1.0), (-1.0, -1.0)] {
                for scale in [1.0f32, 2f32.powi(-100), 2f32.powi(60), 2f32.powi(-126)] {
                    check(sa * a, b * scale, sc * x * scale);
                    check(sa * a, b * scale, sc * x * scale * 0.75);
                }
            }
        }
    }
    // Subnormal results and operands, zeros, infinities, NaN, overflow.
    let specials = [
        0.0,
        -0.0,
        1e-45,
        -1e-45,
        1e-40,
        1.17e-38,
        -1.18e-38,
        1e-20,
        1.0,
        -1.0,
        3.4e38,
        -3.4e38,
        1e20,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
    ];
    for &a in &specials {
        for &b in &specials {
            for &c in &specials {
                check(a, b, c);
            }
        }
    }
    // Random operands over many exponent ranges, incl. near-cancellation.
    let mut rng = Rng::new(24);
    for i in 0..2_000_000 {
        let e = |rng: &mut Rng| 2f32.powi(rng.below(80) as i32 - 40);
        let a = rng.f32() * e(&mut rng);
        let b = rng.f32() * e(&mut rng);
        let c = if i % 3 == 0 {
            -(a * b) * (1.0 + rng.f32() * 1e-6)
        } else if i % 3 == 1 {
            rng.f32() * 2f32.powi(rng.below(250) as i32 - 140)
        } else {
            rng.f32() * e(&mut rng)
        };
        check(a, b, c);
    }
}
