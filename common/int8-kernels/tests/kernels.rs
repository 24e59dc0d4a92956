//! Every available kernel against the naive reference and the scalar kernel.

mod common;

use common::{random_weights, reference_dots, reference_matmul, Rng};
use int8_kernels::{
    group_dots, matmul, Kernel, KernelError, KernelKind, PackedMatrix, QuantizedRows, GROUP,
};

/// Checks `kernels` on one (activations, weights) pair, bit for bit.
fn check_all(kernels: &[Kernel], a: &QuantizedRows, packed: &PackedMatrix, w: &[i8]) {
    let n = packed.n();
    let want_dots = reference_dots(a, w, n);
    let want_mm = reference_matmul(a, w, n);
    for &kernel in kernels {
        let mut dots = vec![i32::MIN; want_dots.len()];
        group_dots(kernel, a, packed, &mut dots).expect("group_dots");
        assert_eq!(
            dots,
            want_dots,
            "{} dots, m={} n={} k={}",
            kernel.name(),
            a.m(),
            n,
            a.k()
        );
        let mut out = vec![f32::NAN; want_mm.len()];
        matmul(kernel, a, packed, &mut out).expect("matmul");
        let same = out
            .iter()
            .zip(&want_mm)
            .all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(
            same,
            "{} matmul, m={} n={} k={}",
            kernel.name(),
            a.m(),
            n,
            a.k()
        );
    }
}

#[test]
fn reports_kernels() {
    let avail = Kernel::available_reported("kernels::reports_kernels");
    eprintln!("detect: {}", Kernel::detect().name());
    assert_eq!(avail[0], Kernel::SCALAR);
    assert_eq!(avail.last(), Some(&Kernel::detect()));
    // The probe against std's own detection (independent code), kind by kind.
    #[cfg(target_arch = "x86_64")]
    {
        let avx2 = std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma");
        let vnni = avx2
            && std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512vnni");
        assert_eq!(KernelKind::Avx2.is_available(), avx2);
        assert_eq!(KernelKind::Avx512Vnni.is_available(), vnni);
        let kinds: Vec<KernelKind> = avail.iter().map(|k| k.kind()).collect();
        let want: Vec<KernelKind> = [
            (true, KernelKind::Scalar),
            (avx2, KernelKind::Avx2),
            (vnni, KernelKind::Avx512Vnni),
        ]
        .into_iter()
        .filter_map(|(on, k)| on.then_some(k))
        .collect();
        assert_eq!(kinds, want);
    }
}

#[test]
fn random_shapes_agree() {
    let kernels = Kernel::available_reported("kernels::random_shapes_agree");
    let mut rng = Rng::new(1);
    let ns = [
        1, 2, 15, 16, 17, 31, 33, 47, 48, 49, 63, 64, 65, 96, 100, 128, 130, 384,
    ];
    for &k in &[32, 64, 384, 1536] {
        for &n in &ns {
            let (packed, w) = random_weights(&mut rng, n, k);
            // K = 1536 with every N and M would dominate the run time: all M on a few N.
            let rows: Vec<usize> = if k < 1536 || [1, 17, 64, 100].contains(&n) {
                (1..=17).collect()
            } else {
                vec![1, 4, 5, 17]
            };
            for &m in &rows {
                let x: Vec<f32> = (0..m * k).map(|_| rng.f32() * 10.0).collect();
                let mut a = QuantizedRows::new();
                a.quantize(&x, m, k).expect("quantize");
                check_all(&kernels, &a, &packed, &w);
            }
        }
    }
}

#[test]
fn raw_random_values_incl_minus_128() {
    let kernels = Kernel::available_reported("kernels::raw_random_values_incl_minus_128");
    let mut rng = Rng::new(2);
    for _ in 0..40 {
        let k = [32, 64, 384][rng.below(3)];
        let n = 1 + rng.below(80);
        let m = 1 + rng.below(17);
        let (packed, w) = random_weights(&mut rng, n, k);
        let values: Vec<i8> = (0..m * k).map(|_| rng.i8()).collect();
        let scales: Vec<f32> = (0..m * k / GROUP).map(|_| rng.f32().abs() * 0.1).collect();
        let mut a = QuantizedRows::new();
        a.from_parts(m, k, &values, &scales).expect("from_parts");
        check_all(&kernels, &a, &packed, &w);
    }
}

#[test]
fn extremes() {
    let kernels = Kernel::available_reported("kernels::extremes");
    for &(av, wv) in &[
        (-128i8, -128i8),
        (127, 127),
        (-128, 127),
        (127, -128),
        (-127, -127),
    ] {
        for &(m, n, k) in &[(1, 1, 32), (5, 17, 1536), (4, 48, 384), (17, 65, 64)] {
            let w = vec![wv; n * k];
            let packed = PackedMatrix::pack(n, k, &w).expect("pack");
            let mut a = QuantizedRows::new();
            a.from_parts(m, k, &vec![av; m * k], &vec![1.0; m * k / GROUP])
                .expect("parts");
            check_all(&kernels, &a, &packed, &w);
            let mut dots = vec![0; m * n * k / GROUP];
            group_dots(Kernel::detect(), &a, &packed, &mut dots).expect("dots");
            let want = 32 * i32::from(av) * i32::from(wv);
            assert!(dots.iter().all(|&d| d == want));
        }
    }
}

#[test]
fn zero_activations_and_weights() {
    let kernels = Kernel::available_reported("kernels::zero_activations_and_weights");
    let (m, n, k) = (3, 20, 64);
    let mut rng = Rng::new(3);
    let (packed, w) = random_weights(&mut rng, n, k);
    let mut a = QuantizedRows::new();
    a.quantize(&vec![0.0; m * k], m, k).expect("quantize");
    check_all(&kernels, &a, &packed, &w);
    let zero_w = PackedMatrix::pack(n, k, &vec![0; n * k]).expect("pack");
    let x: Vec<f32> = (0..m * k).map(|_| rng.f32()).collect();
    a.quantize(&x, m, k).expect("quantize");
    check_all(&kernels, &a, &zero_w, &vec![0; n * k]);
}

#[test]
fn shape_errors() {
    let kernels = Kernel::available_reported("kernels::shape_errors");
    let w = PackedMatrix::pack(16, 64, &[1; 16 * 64]).expect("pack");
    assert_eq!(
        PackedMatrix::pack(16, 48, &[0; 16 * 48]).err(),
        Some(KernelError::KNotMultipleOf32 { k: 48 })
    );
    assert_eq!(
        PackedMatrix::pack(16, 0, &[]).err(),
        Some(KernelError::KNotMultipleOf32 { k: 0 })
    );
    assert_eq!(
        PackedMatrix::pack(0, 32, &[]).err(),
        Some(KernelError::ZeroN)
    );
    assert!(matches!(
        PackedMatrix::pack(2, 32, &[0; 63]),
        Err(KernelError::LengthMismatch {
            expected: 64,
            got: 63,
            ..
        })
    ));
    assert_eq!(
        PackedMatrix::pack(usize::MAX, 64, &[]).err(),
        Some(KernelError::TooLarge)
    );

    let mut a = QuantizedRows::new();
    a.quantize(&[0.5; 2 * 32], 2, 32).expect("quantize");
    for &kernel in &kernels {
        let mut out = vec![0f32; 2 * 16];
        assert!(matches!(
            matmul(kernel, &a, &w, &mut out),
            Err(KernelError::KMismatch { .. })
        ));
    }
    a.quantize(&[0.5; 2 * 64], 2, 64).expect("quantize");
    for &kernel in &kernels {
        let mut out = vec![0f32; 2 * 16 + 1];
        assert!(matches!(
            matmul(kernel, &a, &w, &mut out),
            Err(KernelError::LengthMismatch {
                expected: 32,
                got: 33,
                ..
            })
        ));
        let mut dots = vec![0i32; 2 * 16];
        assert!(matches!(
            group_dots(kernel, &a, &w, &mut dots),
            Err(KernelError::LengthMismatch {
                expected: 64,
                got: 32,
                ..
            })
        ));
    }
    // The `std` re-check: a kernel promised for a kind this CPU lacks is refused, not run.
    for kind in KernelKind::ALL {
        if !kind.is_available() {
            eprintln!("shape_errors: {} refused on this CPU", kind.name());
            // A deliberately false promise: builds with `std` (this test) re-check the
            // kernel with the probe before any SIMD instruction, which is what is tested.
            // SAFETY: the std re-check refuses the kernel before any SIMD instruction runs.
            let kernel = unsafe { Kernel::assume_supported(kind) };
            let mut out = vec![0f32; 2 * 16];
            assert_eq!(
                matmul(kernel, &a, &w, &mut out),
                Err(KernelError::Unavailable(kind))
            );
        }
    }
    // M = 0 is a valid, empty product.
    let empty = QuantizedRows::new();
    assert_eq!(matmul(Kernel::SCALAR, &empty, &w, &mut []), Ok(()));
}

#[test]
fn packed_get_roundtrip() {
    let mut rng = Rng::new(4);
    let (packed, w) = random_weights(&mut rng, 21, 64);
    for r in 0..21 {
        for c in 0..64 {
            assert_eq!(packed.get(r, c), Some(w[r * 64 + c]));
        }
    }
    assert_eq!(packed.get(21, 0), None);
    assert_eq!(packed.get(0, 64), None);
}

#[test]
fn packed_bytes_roundtrip() {
    let kernels = Kernel::available_reported("kernels::packed_bytes_roundtrip");
    let mut rng = Rng::new(5);
    let (packed, w) = random_weights(&mut rng, 21, 64);
    assert_eq!(packed.packed_bytes().len(), 32 * 64);
    let again = PackedMatrix::from_packed_bytes(21, 64, packed.packed_bytes().to_vec())
        .expect("from bytes");
    let mut a = QuantizedRows::new();
    a.quantize(
        &(0..3 * 64).map(|i| i as f32 - 90.0).collect::<Vec<_>>(),
        3,
        64,
    )
    .expect("q");
    check_all(&kernels, &a, &again, &w);
    assert!(matches!(
        PackedMatrix::from_packed_bytes(21, 64, vec![128; 21 * 64]),
        Err(KernelError::LengthMismatch { .. })
    ));
    assert_eq!(
        PackedMatrix::from_packed_bytes(0, 64, vec![]).err(),
        Some(KernelError::ZeroN)
    );
}

#[test]
fn epilogue_matches_matmul_then_scale_bias_gelu_div() {
    use int8_kernels::{gelu_one, matmul_epilogue, Epilogue};
    let kernels =
        Kernel::available_reported("kernels::epilogue_matches_matmul_then_scale_bias_gelu_div");
    let mut rng = Rng::new(77);
    let shapes = [
        (1, 1, 32),
        (5, 17, 64),
        (9, 48, 96),
        (4, 50, 32),
        (13, 100, 128),
        (128, 384, 64),
    ];
    for &(m, n, k) in &shapes {
        let (packed, _) = random_weights(&mut rng, n, k);
        let x: Vec<f32> = (0..m * k).map(|_| rng.f32() * 4.0).collect();
        let mut a = QuantizedRows::new();
        a.quantize(&x, m, k).expect("quantize");
        let scale: Vec<f32> = (0..n).map(|_| rng.f32().abs() * 0.05).collect();
        let bias: Vec<f32> = (0..n).map(|_| rng.f32()).collect();
        let div: Vec<f32> = (0..n).map(|_| 0.1 + rng.f32().abs() * 3.0).collect();
        let res: Vec<f32> = (0..m * n).map(|_| rng.f32() * 2.0).collect();
        let mut plain = vec![0f32; m * n];
        matmul(Kernel::SCALAR, &a, &packed, &mut plain).expect("matmul");
        let variants = [
            (false, false, false),
            (true, false, false),
            (true, true, false),
            (false, true, false),
            (false, false, true),
            (true, true, true),
        ];
        for (gelu, with_div, with_res) in variants {
            let want: Vec<f32> = plain
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    let y = v * scale[i % n] + bias[i % n];
                    let y = if with_res { y + res[i] } else { y };
                    let y = if gelu { gelu_one(y) } else { y };
                    if with_div {
                        y / div[i % n]
                    } else {
                        y
                    }
                })
                .collect();
            for &kernel in &kernels {
                let mut out = vec![0f32; m * n];
                let ep = Epilogue {
                    scale: &scale,
                    bias: &bias,
                    gelu,
                    div: with_div.then_some(&div[..]),
                    residual: with_res.then_some(&res[..]),
                };
                matmul_epilogue(kernel, &a, &packed, ep, &mut out).expect("epilogue");
                assert!(
                    out.iter()
                        .zip(&want)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{} {m}x{n}x{k} gelu {gelu} div {with_div} res {with_res}",
                    kernel.name()
                );
            }
        }
        for (sc, bi, dv) in [(1, 0, 0), (0, 1, 0), (0, 0, 1)] {
            let ep = Epilogue {
                scale: &scale[sc..],
                bias: &bias[bi..],
                gelu: false,
                div: Some(&div[dv..]),
                residual: Some(&res[dv..]),
            };
            let mut out = vec![0f32; m * n];
            assert!(matches!(
                matmul_epilogue(Kernel::SCALAR, &a, &packed, ep, &mut out),
                Err(KernelError::LengthMismatch { .. })
            ));
        }
    }
}
