//! LayerNorm: identical bits on every kernel, close to an f64 reference.

mod common;

use common::Rng;
use int8_kernels::{inv_sqrt_f64, layer_norm_f32, Kernel, KernelError, LnOut};

#[test]
fn identical_across_kernels_and_accurate() {
    let kernels = Kernel::available_reported("layernorm::identical_across_kernels_and_accurate");
    let mut rng = Rng::new(41);
    for (rows, h) in [
        (1, 1),
        (3, 7),
        (5, 16),
        (4, 17),
        (9, 33),
        (13, 384),
        (128, 384),
        (2, 1536),
    ] {
        // Offset and outlier channels, as in real hidden states.
        let x: Vec<f32> = (0..rows * h)
            .map(|i| rng.f32() * if i % 97 == 3 { 30.0 } else { 2.0 } + 0.5)
            .collect();
        let g: [Vec<f32>; 2] = [0, 1].map(|_| (0..h).map(|_| 1.0 + rng.f32() * 0.5).collect());
        let b: [Vec<f32>; 2] = [0, 1].map(|_| (0..h).map(|_| rng.f32() * 0.1).collect());
        let eps = 1e-12;
        let run = |kernel: Kernel| {
            let (mut o1, mut o2) = (vec![0f32; rows * h], vec![0f32; rows * h]);
            let first = LnOut {
                gamma: &g[0],
                beta: &b[0],
                out: &mut o1,
            };
            let second = LnOut {
                gamma: &g[1],
                beta: &b[1],
                out: &mut o2,
            };
            layer_norm_f32(kernel, &x, eps, first, Some(second)).expect("layer norm");
            (o1, o2)
        };
        let (w1, w2) = run(Kernel::SCALAR);
        for r in 0..rows {
            let row: Vec<f64> = x[r * h..(r + 1) * h]
                .iter()
                .map(|&v| f64::from(v))
                .collect();
            let mean = row.iter().sum::<f64>() / h as f64;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / h as f64;
            let rstd = 1.0 / (var + eps as f64).sqrt();
            for i in 0..h {
                for (w, k) in [(&w1, 0), (&w2, 1)] {
                    let want = (row[i] - mean) * rstd * f64::from(g[k][i]) + f64::from(b[k][i]);
                    let got = f64::from(w[r * h + i]);
                    assert!(
                        (got - want).abs() < 2e-5 * (1.0 + want.abs()),
                        "{rows}x{h} ({r}, {i})"
                    );
                }
            }
        }
        for &kernel in &kernels {
            let (o1, o2) = run(kernel);
            let same = |a: &[f32], b: &[f32]| {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
            };
            assert!(
                same(&o1, &w1) && same(&o2, &w2),
                "{} {rows}x{h}",
                kernel.name()
            );
        }
    }
}

#[test]
fn shape_errors_and_inv_sqrt() {
    let x = [1.0f32; 10];
    let (g, b) = ([1.0f32; 4], [0.0f32; 4]);
    let mut o = [0f32; 10];
    let r = layer_norm_f32(
        Kernel::SCALAR,
        &x,
        1e-5,
        LnOut {
            gamma: &g,
            beta: &b,
            out: &mut o,
        },
        None,
    );
    assert!(matches!(r, Err(KernelError::LengthMismatch { .. })));
    let mut o = [0f32; 8];
    let r = layer_norm_f32(
        Kernel::SCALAR,
        &x[..8],
        1e-5,
        LnOut {
            gamma: &g,
            beta: &b[..3],
            out: &mut o,
        },
        None,
    );
    assert!(matches!(r, Err(KernelError::LengthMismatch { .. })));
    for v in [1e-12, 1e-6, 0.3, 1.0, 2.0, 1234.5, 1e9] {
        assert!((inv_sqrt_f64(v) * v.sqrt() - 1.0).abs() < 1e-14, "{v}");
    }
}
