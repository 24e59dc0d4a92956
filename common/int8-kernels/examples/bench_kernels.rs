//! Microbenchmark: the 36 Linear GEMMs of all-MiniLM-L6-v2 (per layer Q, K, V, O 384->384,
//! FFN1 384->1536, FFN2 1536->384) with 36 distinct random weight matrices, per kernel.
//!
//! `cargo run --release -p int8-kernels --example bench_kernels [-- ROUNDS [KERNEL]]`
//! Prints median ms and GMAC/s per kernel at T = 16 and T = 128 (GEMM only, and with the
//! activation quantization), plus per-shape GMAC/s.

use std::time::Instant;

use int8_kernels::{matmul, Kernel, KernelKind, PackedMatrix, QuantizedRows};

const H: usize = 384;
const FF: usize = 1536;
const LAYERS: usize = 6;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// (n, k) of the 6 Linears of one layer.
const LAYER_SHAPES: [(usize, usize); 6] = [(H, H), (H, H), (H, H), (H, H), (FF, H), (H, FF)];

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn best(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    // Optional second argument: only kernels whose name contains it (scalar always runs).
    let only = std::env::args().nth(2).unwrap_or_default();
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let weights: Vec<PackedMatrix> = (0..LAYERS)
        .flat_map(|_| LAYER_SHAPES)
        .map(|(n, k)| {
            let w: Vec<i8> = (0..n * k).map(|_| (rng.next() >> 56) as i8).collect();
            PackedMatrix::pack(n, k, &w).expect("pack")
        })
        .collect();
    let macs_per_token: usize = weights.iter().map(|w| w.n() * w.k()).sum();
    println!("36 GEMMs, {macs_per_token} MACs/token; median [best] of {rounds} rounds");
    println!("gemm: matmul only; +quant: quantize before each GEMM (engine: once per input)");
    println!(
        "{:<12} {:>4} {:>18} {:>16} {:>8} {:>18}",
        "kernel", "T", "gemm ms", "GMAC/s", "x scalar", "+quant ms"
    );
    let kernels = Kernel::available_reported("bench_kernels");
    for t in [16usize, 128] {
        let x_h: Vec<f32> = (0..t * H)
            .map(|i| ((i * 7919 % 2001) as f32 - 1000.0) * 0.003)
            .collect();
        let x_ff: Vec<f32> = (0..t * FF)
            .map(|i| ((i * 7919 % 2001) as f32 - 1000.0) * 0.003)
            .collect();
        let mut out = vec![0f32; t * FF];
        let macs = (macs_per_token * t) as f64;
        let mut scalar_ms = None;
        for &kernel in &kernels {
            if kernel != Kernel::SCALAR && !kernel.name().contains(only.as_str()) {
                continue;
            }
            let mut qa = QuantizedRows::new();
            let mut qf = QuantizedRows::new();
            qa.quantize(&x_h, t, H).expect("quantize");
            qf.quantize(&x_ff, t, FF).expect("quantize");
            // Scalar is slow: fewer repetitions per round.
            let reps = match (kernel.kind(), t) {
                (KernelKind::Scalar, 128) => 1,
                (KernelKind::Scalar, _) => 3,
                (_, 16) => 100,
                _ => 15,
            };
            let run = |quantize: bool,
                       qa: &mut QuantizedRows,
                       qf: &mut QuantizedRows,
                       out: &mut [f32]| {
                for w in &weights {
                    let (q, x) = if w.k() == H {
                        (&mut *qa, &x_h)
                    } else {
                        (&mut *qf, &x_ff)
                    };
                    if quantize {
                        q.quantize(x, t, w.k()).expect("quantize");
                    }
                    matmul(kernel, q, w, &mut out[..t * w.n()]).expect("matmul");
                }
            };
            run(false, &mut qa, &mut qf, &mut out); // warm-up
            let mut gemm = Vec::new();
            let mut full = Vec::new();
            for _ in 0..rounds {
                for (quantize, times) in [(false, &mut gemm), (true, &mut full)] {
                    let start = Instant::now();
                    for _ in 0..reps {
                        run(quantize, &mut qa, &mut qf, &mut out);
                    }
                    times.push(start.elapsed().as_secs_f64() * 1e3 / reps as f64);
                }
            }
            let (gb, fb) = (best(&gemm), best(&full));
            let (g, f) = (median(&mut gemm), median(&mut full));
            let base = *scalar_ms.get_or_insert(g);
            println!(
                "{:<12} {:>4} {:>9.3} [{:>6.3}] {:>7.1} [{:>6.1}] {:>8.1} {:>9.3} [{:>6.3}]",
                kernel.name(),
                t,
                g,
                gb,
                macs / g / 1e6,
                macs / gb / 1e6,
                base / g,
                f,
                fb
            );
        }
    }
    // Quantization alone (36 calls, like the +quant column).
    for t in [16usize, 128] {
        let x: Vec<f32> = (0..t * FF).map(|i| (i % 97) as f32 - 48.0).collect();
        let mut q = QuantizedRows::new();
        let mut times = Vec::new();
        for _ in 0..rounds {
            let start = Instant::now();
            for _ in 0..20 {
                for w in &weights {
                    q.quantize(&x[..t * w.k()], t, w.k()).expect("quantize");
                }
            }
            times.push(start.elapsed().as_secs_f64() * 1e3 / 20.0);
        }
        println!(
            "quantize x36, T={t}: {:.3} ms [{:.3}]",
            median(&mut times),
            best(&times)
        );
    }
    // Per-shape throughput of the best kernel (one matrix of each shape, many repetitions).
    let kernel = Kernel::detect();
    println!("\nper shape, {} (GEMM only):", kernel.name());
    for t in [16usize, 128] {
        for (i, name) in [(0, "384->384"), (4, "384->1536"), (5, "1536->384")] {
            let w = &weights[i];
            let x: Vec<f32> = (0..t * w.k())
                .map(|j| ((j * 31 % 255) as f32) - 127.0)
                .collect();
            let mut q = QuantizedRows::new();
            q.quantize(&x, t, w.k()).expect("quantize");
            let mut out = vec![0f32; t * w.n()];
            let reps = if t == 16 { 2000 } else { 300 };
            let mut times = Vec::new();
            for _ in 0..rounds {
                let start = Instant::now();
                for _ in 0..reps {
                    matmul(kernel, &q, w, &mut out).expect("matmul");
                }
                times.push(start.elapsed().as_secs_f64() / reps as f64);
            }
            let b = best(&times);
            let s = median(&mut times);
            let macs = (t * w.n() * w.k()) as f64;
            println!(
                "  T={t:<4} {name:<10} {:>8.1} us [{:>7.1}] {:>7.1} GMAC/s [{:>6.1}]",
                s * 1e6,
                b * 1e6,
                macs / s / 1e9,
                macs / b / 1e9
            );
        }
    }
}
