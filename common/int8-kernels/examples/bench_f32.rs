//! Microbenchmark of the f32 attention helpers at the model's shapes (12 heads x 6
//! layers per forward pass): Q·Kᵀ (T x T x 32, NT), P·V (T x 32 x T, NN), row softmax
//! (T x T), and GELU over T x 1536, per kernel at T = 16 and 128.
//!
//! `cargo run --release -p int8-kernels --example bench_f32 [-- ROUNDS [KERNEL]]`
//! Prints the median ms for the 72 heads (softmax, GEMMs) / 6 layers (GELU) and GMAC/s.

use std::hint::black_box;
use std::time::Instant;

use int8_kernels::{
    gelu_f32, gemm_f32_nn, gemm_f32_nt, softmax_rows_f32, F32Mat, F32MatMut, Kernel,
};

const D: usize = 32;
const HIDDEN: usize = 384;
const FFN: usize = 1536;
const HEADS_TOTAL: usize = 72;
const LAYERS: usize = 6;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time(rounds: usize, mut f: impl FnMut()) -> f64 {
    f();
    median(
        (0..rounds)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    )
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(50, |s| s.parse().expect("ROUNDS"));
    let only = std::env::args().nth(2);
    let mut seed = 1u32;
    let mut rnd = move || {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (seed >> 8) as f32 / (1 << 24) as f32 - 0.5
    };
    let kernels = Kernel::available_reported("bench_f32");
    for t in [16usize, 128] {
        let qkv: Vec<f32> = (0..t * 3 * HIDDEN).map(|_| rnd()).collect();
        let mut scores: Vec<f32> = (0..t * t).map(|_| rnd() * 8.0).collect();
        let mut ctx = vec![0f32; t * HIDDEN];
        let ff0: Vec<f32> = (0..t * FFN).map(|_| rnd() * 6.0).collect();
        let mut ff = ff0.clone();
        let mut pack = Vec::new();
        let macs = (HEADS_TOTAL * t * t * D) as f64;
        for &kernel in &kernels {
            if only.as_deref().is_some_and(|o| o != kernel.name()) {
                continue;
            }
            let qk = time(rounds, || {
                for h in 0..HEADS_TOTAL {
                    let h = h % 12;
                    let q = F32Mat::new(&qkv[h * D..], t, D, 3 * HIDDEN).expect("q");
                    let k = F32Mat::new(&qkv[HIDDEN + h * D..], t, D, 3 * HIDDEN).expect("k");
                    let o = F32MatMut::dense(&mut scores, t, t).expect("s");
                    gemm_f32_nt(kernel, q, k, o, &mut pack).expect("nt");
                }
                black_box(&scores);
            });
            let kt: Vec<f32> = (0..D * t).map(|i| qkv[i % qkv.len()]).collect();
            let qk_nn = time(rounds, || {
                for h in 0..HEADS_TOTAL {
                    let h = h % 12;
                    let q = F32Mat::new(&qkv[h * D..], t, D, 3 * HIDDEN).expect("q");
                    let k = F32Mat::dense(&kt, D, t).expect("kt");
                    let o = F32MatMut::dense(&mut scores, t, t).expect("s");
                    gemm_f32_nn(kernel, q, k, o).expect("nn");
                }
                black_box(&scores);
            });
            let pv = time(rounds, || {
                for h in 0..HEADS_TOTAL {
                    let h = h % 12;
                    let p = F32Mat::dense(&scores, t, t).expect("p");
                    let v = F32Mat::new(&qkv[2 * HIDDEN + h * D..], t, D, 3 * HIDDEN).expect("v");
                    let o = F32MatMut::new(&mut ctx[h * D..], t, D, HIDDEN).expect("ctx");
                    gemm_f32_nn(kernel, p, v, o).expect("nn");
                }
                black_box(&ctx);
            });
            let sm = time(rounds, || {
                for _ in 0..HEADS_TOTAL {
                    let m = F32MatMut::dense(&mut scores, t, t).expect("s");
                    softmax_rows_f32(kernel, m, 0.176_776_7).expect("softmax");
                }
                black_box(&scores);
            });
            let ge = time(rounds, || {
                for _ in 0..LAYERS {
                    ff.copy_from_slice(&ff0);
                    gelu_f32(kernel, &mut ff).expect("gelu");
                }
                black_box(&ff);
            });
            println!(
                "T={t:>3} {:>12}: QK^T {qk:.3} ms ({:.1} GMAC/s, {qk_nn:.3} without the transpose)  PV {pv:.3} ms ({:.1} GMAC/s)  \
                 softmax {sm:.3} ms  gelu(+copy) {ge:.3} ms",
                kernel.name(),
                macs / qk / 1e6,
                macs / pv / 1e6
            );
        }
    }
}
