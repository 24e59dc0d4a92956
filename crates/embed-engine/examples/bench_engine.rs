//! Latency of the int8 engine at batch 1, exactly 16 and 128 tokens (incl.
//! [CLS]/[SEP]), one thread: forward + mean pooling + L2 norm, tokenization
//! excluded; the same inputs as bench/engine_baselines.py. Prints JSON.
//!
//! cargo run --release -p embed-engine --example bench_engine -- BLOB [--reps16 N]
//!     [--reps128 N] [--warmup N] [--kernel NAME]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use embed_engine::{Embedder, Kernel};
use std::time::Instant;

/// Same text as bench/engine_baselines.py: its first wordpieces (repeated as
/// needed) fill the sequence between [CLS] and [SEP].
const TEXT: &str = "Confidential computing protects data in use by performing computation in a \
    hardware-based trusted execution environment. These secure and isolated \
    environments prevent unauthorized access or modification of applications and \
    data while they are in use, thereby increasing the security level of \
    organizations that manage sensitive and regulated data. Sentence embeddings map \
    text to dense vectors so that semantically similar sentences lie close together, \
    which makes them useful for search, clustering, deduplication and retrieval \
    augmented generation. The quick brown fox jumps over the lazy dog while the \
    patient engineer measures latency with great care, one thread at a time.";

fn ids(e: &Embedder<'_>, n: usize) -> Vec<u32> {
    let all = e.tokenize(TEXT); // [CLS] ... [SEP]
    let body = &all[1..all.len() - 1];
    let mut out = vec![all[0]];
    out.extend(body.iter().cycle().take(n - 2));
    out.push(all[all.len() - 1]);
    out
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: bench_engine BLOB [options]");
    let (mut reps16, mut reps128, mut warmup, mut kernel) = (300, 60, 10, Kernel::detect());
    while let Some(a) = args.next() {
        let v = args.next().expect("option value");
        match a.as_str() {
            "--reps16" => reps16 = v.parse().unwrap(),
            "--reps128" => reps128 = v.parse().unwrap(),
            "--warmup" => warmup = v.parse().unwrap(),
            "--kernel" => {
                kernel = Kernel::ALL
                    .into_iter()
                    .find(|k| k.name() == v)
                    .expect("kernel name")
            }
            _ => panic!("unknown option {a}"),
        }
    }
    let blob = std::fs::read(&path).expect("read blob");
    let t0 = Instant::now();
    let mut e = Embedder::with_kernel(&blob, kernel).expect("load blob");
    let load_ms = t0.elapsed().as_secs_f64() * 1e3;
    let mut results = Vec::new();
    for (n, reps) in [(16usize, reps16), (128, reps128)] {
        let ids = ids(&e, n);
        for _ in 0..warmup {
            e.embed_ids(&ids).unwrap();
        }
        let mut times: Vec<f64> = (0..reps)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(e.embed_ids(std::hint::black_box(&ids)).unwrap());
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let (median, min) = (times[times.len() / 2], times[0]);
        eprintln!(
            "ours-int8 [{}] tokens={n}: median {median:.3} ms, min {min:.3} ms",
            kernel.name()
        );
        results.push(format!(
            "{{\"engine\": \"ours-int8\", \"kernel\": \"{}\", \"threads\": 1, \"tokens\": {n}, \
             \"median_ms\": {median:.4}, \"min_ms\": {min:.4}, \"reps\": {reps}}}",
            kernel.name()
        ));
    }
    println!(
        "{{\"load_ms\": {load_ms:.1}, \"blob_bytes\": {}, \"results\": [{}]}}",
        blob.len(),
        results.join(", ")
    );
}
