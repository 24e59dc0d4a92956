//! The int8 engine's speed, the same inputs as bench/engine_baselines.py, tokenization
//! excluded (forward + mean pooling + L2 norm). Prints JSON.
//!
//! - latency: batch 1, exactly 16 and 128 tokens (incl. [CLS]/[SEP]), median / min ms,
//!   for each thread count of `--threads` (`all` = available parallelism);
//! - throughput: embeddings per second over the first `--sentences` lines of the
//!   accuracy-gate token file (mixed lengths, 3-243 tokens), in consecutive batches of
//!   each size of `--batches` through `Embedder::embed_ids_batch`; median [best] of
//!   `--passes` passes, per thread count.
//!
//! cargo run --release -p embed-engine --features std --example bench_engine -- BLOB
//!     [--reps16 N] [--reps128 N] [--warmup N] [--kernel NAME] [--threads 1,all]
//!     [--batches 1,8,32] [--sentences 640] [--passes 5] [--tokens-file FILE]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use embed_engine::{Embedder, Kernel, StdThreads};
use std::sync::Arc;
use std::time::Instant;

const TOKENS_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../host/model-tools/testdata/eval_tokens.txt"
);

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

fn list(v: &str, all: usize) -> Vec<usize> {
    v.split(',')
        .map(|x| if x == "all" { all } else { x.parse().unwrap() })
        .collect()
}

fn median_min(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0])
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: bench_engine BLOB [options]");
    let (mut reps16, mut reps128, mut warmup, mut kernel) = (300, 60, 10, Kernel::detect());
    let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (mut threads, mut batches) = (vec![1, ncpu], vec![1, 8, 32]);
    let (mut sentences, mut passes, mut tokens_file) = (640, 5, TOKENS_FILE.to_string());
    while let Some(a) = args.next() {
        let v = args.next().expect("option value");
        match a.as_str() {
            "--reps16" => reps16 = v.parse().unwrap(),
            "--reps128" => reps128 = v.parse().unwrap(),
            "--warmup" => warmup = v.parse().unwrap(),
            "--threads" => threads = list(&v, ncpu),
            "--batches" => batches = list(&v, 0),
            "--sentences" => sentences = v.parse().unwrap(),
            "--passes" => passes = v.parse().unwrap(),
            "--tokens-file" => tokens_file = v,
            "--kernel" => {
                kernel = Kernel::from_name(&v)
                    .expect("kernel name (scalar, avx2, avx512-vnni) this CPU runs")
            }
            _ => panic!("unknown option {a}"),
        }
    }
    threads.dedup();
    let blob = std::fs::read(&path).expect("read blob");
    let t0 = Instant::now();
    let mut e = Embedder::with_kernel(&blob, kernel).expect("load blob");
    let load_ms = t0.elapsed().as_secs_f64() * 1e3;
    let kname = kernel.name();

    let mut results = Vec::new();
    for &th in &threads {
        e.set_parallel(Arc::new(StdThreads::new(th)));
        for (n, reps) in [(16usize, reps16), (128, reps128)] {
            let ids = ids(&e, n);
            for _ in 0..warmup {
                e.embed_ids(&ids).unwrap();
            }
            let times: Vec<f64> = (0..reps)
                .map(|_| {
                    let t = Instant::now();
                    std::hint::black_box(e.embed_ids(std::hint::black_box(&ids)).unwrap());
                    t.elapsed().as_secs_f64() * 1e3
                })
                .collect();
            let (median, min) = median_min(times);
            eprintln!("ours-int8 [{kname}] threads={th} tokens={n}: median {median:.3} ms, min {min:.3} ms");
            results.push(format!(
                "{{\"engine\": \"ours-int8\", \"kernel\": \"{kname}\", \"threads\": {th}, \
                 \"tokens\": {n}, \"median_ms\": {median:.4}, \"min_ms\": {min:.4}, \"reps\": {reps}}}"
            ));
        }
    }

    let text = std::fs::read_to_string(&tokens_file).expect("read tokens file");
    let seqs: Vec<Vec<u32>> = text
        .lines()
        .take(sentences)
        .map(|l| l.split_whitespace().map(|t| t.parse().unwrap()).collect())
        .collect();
    let total_tokens: usize = seqs.iter().map(Vec::len).sum();
    let mut throughput = Vec::new();
    for &th in &threads {
        e.set_parallel(Arc::new(StdThreads::new(th)));
        for &b in &batches {
            let chunks: Vec<Vec<&[u32]>> = seqs
                .chunks(b)
                .map(|c| c.iter().map(Vec::as_slice).collect())
                .collect();
            let pass = |e: &mut Embedder<'_>| {
                let t = Instant::now();
                for c in &chunks {
                    std::hint::black_box(e.embed_ids_batch(c).unwrap());
                }
                t.elapsed().as_secs_f64()
            };
            pass(&mut e); // warm-up
            let (median, best) = median_min((0..passes).map(|_| pass(&mut e)).collect());
            let (eps, eps_best) = (seqs.len() as f64 / median, seqs.len() as f64 / best);
            eprintln!(
                "ours-int8 [{kname}] threads={th} batch={b}: {eps:.1} embeddings/s (best {eps_best:.1}), \
                 {:.3} s per pass of {} sentences",
                median,
                seqs.len()
            );
            throughput.push(format!(
                "{{\"engine\": \"ours-int8\", \"threads\": {th}, \"batch\": {b}, \
                 \"median_s\": {median:.5}, \"min_s\": {best:.5}, \"emb_per_s\": {eps:.2}, \
                 \"emb_per_s_best\": {eps_best:.2}, \"passes\": {passes}}}"
            ));
        }
    }
    println!(
        "{{\"load_ms\": {load_ms:.1}, \"blob_bytes\": {}, \"kernel\": \"{kname}\", \
         \"sentences\": {}, \"tokens_total\": {total_tokens}, \"results\": [{}], \
         \"throughput\": [{}]}}",
        blob.len(),
        seqs.len(),
        results.join(", "),
        throughput.join(", ")
    );
}
