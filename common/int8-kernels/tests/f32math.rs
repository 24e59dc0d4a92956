//! Vectorised exp / GELU / softmax: identical bits on every kernel, accuracy of the
//! reference sequences.

mod common;

use common::Rng;
use int8_kernels::{erf_one, exp_f32, exp_one, gelu_f32, gelu_one, softmax_f32, Kernel};

fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Inputs: a dense sweep plus special values, in a length that leaves a tail.
fn inputs() -> Vec<f32> {
    let mut v: Vec<f32> = (0..40_001).map(|i| -100.0 + i as f32 * 0.005).collect();
    let mut rng = Rng::new(31);
    v.extend((0..5000).map(|_| rng.f32() * 10.0));
    v.extend([
        0.0,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::MAX,
        f32::MIN,
        1e-40,
        -1e-40,
        87.0,
        88.0,
        88.5,
        -87.0,
        -87.5,
        -103.0,
    ]);
    v
}

#[test]
fn exp_and_gelu_are_identical_across_kernels() {
    let kernels = Kernel::available_reported("f32math::exp_and_gelu_are_identical_across_kernels");
    let x = inputs();
    let exp_ref: Vec<f32> = x.iter().map(|&v| exp_one(v)).collect();
    let gelu_ref: Vec<f32> = x.iter().map(|&v| gelu_one(v)).collect();
    for &kernel in &kernels {
        for len in [0, 1, 7, 8, 15, 16, 17, 33, x.len()] {
            let mut e = x[..len].to_vec();
            exp_f32(kernel, &mut e).expect("exp");
            let mut g = x[..len].to_vec();
            gelu_f32(kernel, &mut g).expect("gelu");
            for i in 0..len {
                assert!(same(e[i], exp_ref[i]), "{} exp({})", kernel.name(), x[i]);
                assert!(same(g[i], gelu_ref[i]), "{} gelu({})", kernel.name(), x[i]);
            }
        }
    }
}

#[test]
fn exp_is_accurate() {
    let mut worst = 0.0f64;
    let mut x = -80.0f32;
    while x < 80.0 {
        let want = f64::from(x).exp();
        worst = worst.max(((f64::from(exp_one(x)) - want) / want).abs());
        x += 0.0137;
    }
    assert!(worst < 4e-7, "exp worst relative error {worst}");
    assert_eq!(exp_one(0.0), 1.0);
    assert!(exp_one(-1000.0) > 0.0 && exp_one(-1000.0) < 1e-37);
    assert!(exp_one(1000.0).is_finite());
}

#[test]
fn erf_and_gelu_are_accurate() {
    // erf by its Taylor series in f64 (converges fast for |x| <= 3).
    fn erf_ref(x: f64) -> f64 {
        let (mut term, mut sum) = (x, x);
        for n in 1..200 {
            term *= -x * x / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / core::f64::consts::PI.sqrt()
    }
    let (mut worst_erf, mut worst_gelu) = (0.0f64, 0.0f64);
    let mut x = -3.0f32;
    while x <= 3.0 {
        let xd = f64::from(x);
        worst_erf = worst_erf.max((f64::from(erf_one(x)) - erf_ref(xd)).abs());
        let g = 0.5 * xd * (1.0 + erf_ref(xd / 2f64.sqrt()));
        worst_gelu = worst_gelu.max((f64::from(gelu_one(x)) - g).abs());
        x += 0.001;
    }
    // 1.5e-7 from the approximation plus f32 evaluation rounding.
    assert!(worst_erf < 6e-7, "erf worst abs error {worst_erf}");
    assert!(worst_gelu < 1e-6, "gelu worst abs error {worst_gelu}");
    assert!((gelu_one(1.0) - 0.841_344_7).abs() < 1e-6);
    assert!((gelu_one(-1.0) + 0.158_655_26).abs() < 1e-6);
    assert_eq!(gelu_one(0.0), 0.0);
    assert_eq!(gelu_one(10.0), 10.0);
    assert_eq!(gelu_one(-10.0), 0.0);
}

#[test]
fn softmax_is_identical_across_kernels_and_accurate() {
    let kernels =
        Kernel::available_reported("f32math::softmax_is_identical_across_kernels_and_accurate");
    let mut rng = Rng::new(32);
    let scale = 0.176_776_7;
    for len in (1..70).chain([127, 128, 129, 256, 1000]) {
        let x: Vec<f32> = (0..len).map(|_| rng.f32() * 40.0).collect();
        let mut want = x.clone();
        softmax_f32(Kernel::SCALAR, &mut want, scale).expect("softmax");
        // Against f64.
        let mx = x
            .iter()
            .fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
        let e: Vec<f64> = x
            .iter()
            .map(|&v| ((f64::from(v) - mx) * f64::from(scale)).exp())
            .collect();
        let s: f64 = e.iter().sum();
        for (w, e) in want.iter().zip(&e) {
            let p = e / s;
            assert!(
                (f64::from(*w) - p).abs() <= 2e-6 * p + 1e-12,
                "len {len}: {w} vs {p}"
            );
        }
        for &kernel in &kernels {
            let mut got = x.clone();
            softmax_f32(kernel, &mut got, scale).expect("softmax");
            assert!(
                got.iter()
                    .zip(&want)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{} len {len}",
                kernel.name()
            );
        }
    }
    let mut empty: [f32; 0] = [];
    softmax_f32(Kernel::SCALAR, &mut empty, 1.0).expect("empty");
}

#[test]
fn softmax_rows_equals_row_by_row() {
    use int8_kernels::{softmax_rows_f32, F32MatMut};
    let kernels = Kernel::available_reported("f32math::softmax_rows_equals_row_by_row");
    let mut rng = Rng::new(33);
    for (rows, cols) in [
        (1, 5),
        (3, 16),
        (4, 17),
        (5, 33),
        (9, 128),
        (13, 7),
        (128, 128),
    ] {
        let stride = cols + 3;
        let x: Vec<f32> = (0..rows * stride).map(|_| rng.f32() * 30.0).collect();
        let mut want = x.clone();
        for r in 0..rows {
            softmax_f32(
                Kernel::SCALAR,
                &mut want[r * stride..r * stride + cols],
                0.3,
            )
            .expect("row");
        }
        for &kernel in &kernels {
            let mut got = x.clone();
            let m = F32MatMut::new(&mut got, rows, cols, stride).expect("view");
            softmax_rows_f32(kernel, m, 0.3).expect("rows");
            assert!(
                got.iter()
                    .zip(&want)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{} {rows} x {cols}",
                kernel.name()
            );
        }
    }
}
