//! The parallel paths against the one-thread pass, on the real model (the blob the
//! accuracy gate quantizes): the split pass for 1..4 workers (and the degenerate splits
//! down to one row per task), and `embed_batch` / `embed_ids_batch` on 1..3 threads, all
//! bit for bit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::{lines, real_blob};
use embed_engine::bert::{SplitShared, Workspace};
use embed_engine::parallel::{Parallel, Sequential, StdThreads};
use embed_engine::{Embedder, EngineError, Kernel};
use std::sync::Arc;

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Inputs of 3 to 256 tokens (the last is truncated), incl. ones shorter than the tasks.
fn texts() -> Vec<String> {
    let eval = lines("eval_sentences.txt");
    let mut t: Vec<String> = ["ok", "", "No.", "Thanks, that works for me."]
        .iter()
        .map(|s| s.to_string())
        .collect();
    t.extend(eval.iter().skip(100).step_by(97).cloned());
    t.push(eval.iter().max_by_key(|s| s.len()).unwrap().clone());
    t.push("The quick brown fox jumps over the lazy dog. ".repeat(40));
    t
}

#[test]
fn split_pass_is_bit_identical_to_one_thread() {
    let kernels = Kernel::available_reported(
        "real_model::parallel::split_pass_is_bit_identical_to_one_thread",
    );
    let blob = real_blob();
    let texts = texts();
    for &kernel in &kernels {
        let mut one = Embedder::with_kernel(blob, kernel).unwrap();
        assert_eq!(one.threads(), 1);
        let lens: Vec<usize> = texts.iter().map(|t| one.tokenize(t).len()).collect();
        assert!(
            lens.iter().any(|&n| n <= 3) && lens.contains(&256),
            "{lens:?}"
        );
        // The scalar kernel (emulated FMA) is slow: short inputs only.
        let texts: Vec<&String> = texts
            .iter()
            .zip(&lens)
            .filter(|&(_, &n)| kernel != Kernel::SCALAR || n <= 40)
            .map(|(t, _)| t)
            .collect();
        let want: Vec<Vec<u32>> = texts.iter().map(|t| bits(&one.embed(t).unwrap())).collect();
        // Through the Embedder (its own split heuristic).
        for threads in [2, 3, 4] {
            let mut e = Embedder::with_kernel(blob, kernel).unwrap();
            e.set_parallel(Arc::new(StdThreads::new(threads)));
            assert_eq!(e.threads(), threads);
            for (t, w) in texts.iter().zip(&want) {
                let got = bits(&e.embed(t).unwrap());
                assert!(&got == w, "{} threads={threads} {t:?}", kernel.name());
            }
        }
        // The model's split directly, down to one row per task (tasks > rows too).
        let par = StdThreads::new(8);
        let mut shared = SplitShared::default();
        for tasks in [1, 2, 3, 5, 8] {
            let mut wss: Vec<Workspace> = (0..tasks).map(|_| Workspace::default()).collect();
            for (t, w) in texts.iter().zip(&want) {
                let ids = one.tokenize(t);
                let got = one
                    .model()
                    .embed_ids_split(kernel, &ids, &par, &mut wss, &mut shared)
                    .unwrap();
                assert!(&bits(&got) == w, "{} tasks={tasks} {t:?}", kernel.name());
            }
        }
    }
}

#[test]
fn split_pass_reports_input_errors() {
    let mut e = Embedder::load(real_blob()).unwrap();
    e.set_parallel(Arc::new(StdThreads::new(3)));
    let mut ids = e.tokenize(&"word ".repeat(60));
    assert!(ids.len() > 40);
    ids[30] = 40_000;
    assert_eq!(e.embed_ids(&ids), Err(EngineError::BadToken(40_000)));
    assert_eq!(
        e.embed_ids(&[101; 257]),
        Err(EngineError::TooLong {
            tokens: 257,
            max: 256
        })
    );
    assert_eq!(e.embed_ids(&[]), Err(EngineError::EmptyInput));
    // Still usable afterwards.
    assert_eq!(e.embed("still fine").unwrap().len(), 384);
}

#[test]
fn embed_batch_equals_embed_per_text() {
    let blob = real_blob();
    let eval = lines("eval_sentences.txt");
    let mut texts: Vec<&str> = eval.iter().take(40).map(String::as_str).collect();
    let long = "Confidential computing protects data in use. ".repeat(30);
    texts.insert(7, &long);
    texts.push("");
    let mut one = Embedder::load(blob).unwrap();
    let want: Vec<Vec<u32>> = texts.iter().map(|t| bits(&one.embed(t).unwrap())).collect();
    // No parallelism set (the guest): a plain loop.
    let got = one.embed_batch(&texts[..9]).unwrap();
    assert_eq!(got.len(), 9);
    assert!(got.iter().zip(&want).all(|(g, w)| &bits(g) == w));
    let pars: [Arc<dyn Parallel>; 4] = [
        Arc::new(Sequential),
        Arc::new(StdThreads::new(1)),
        Arc::new(StdThreads::new(2)),
        Arc::new(StdThreads::new(3)),
    ];
    for par in pars {
        let threads = par.threads();
        let mut e = Embedder::load(blob).unwrap();
        e.set_parallel(par);
        for size in [0, 1, 2, 8, texts.len()] {
            for chunk in texts
                .chunks(size.max(1))
                .take(if size == 0 { 0 } else { 3 })
            {
                let got = e.embed_batch(chunk).unwrap();
                assert_eq!(got.len(), chunk.len());
                for (g, t) in got.iter().zip(chunk) {
                    let i = texts.iter().position(|x| x == t).unwrap();
                    assert!(bits(g) == want[i], "threads={threads} size={size} {t:?}");
                }
            }
        }
        assert!(e.embed_batch(&[]).unwrap().is_empty());
        // Token-id batches: the same, and the first failing input's error.
        let ids: Vec<Vec<u32>> = texts.iter().map(|t| one.tokenize(t)).collect();
        let refs: Vec<&[u32]> = ids.iter().map(Vec::as_slice).collect();
        let got = e.embed_ids_batch(&refs).unwrap();
        assert_eq!(got.len(), want.len(), "threads={threads}");
        assert!(got.iter().zip(&want).all(|(g, w)| &bits(g) == w));
        let mut bad = refs.clone();
        let too_long = [101u32; 300];
        bad[5] = &too_long;
        bad[2] = &[101, 50_000, 102];
        bad[9] = &[];
        assert_eq!(e.embed_ids_batch(&bad), Err(EngineError::BadToken(50_000)));
    }
}

#[test]
fn embedder_with_threads_can_move_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Embedder<'static>>();
    send_sync::<StdThreads>();
}
