//! Helpers shared by the integration tests: deterministic random models.
#![allow(dead_code)]

use embed_engine::bert::BertConfig;
use model_tools::mlp::FloatMlp;
use model_tools::{FloatBert, FloatLayer, FloatLinear};

/// xorshift64*: deterministic test data without a dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [-a, a).
    pub fn sym(&mut self, a: f32) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * a
    }
    pub fn vec(&mut self, n: usize, a: f32) -> Vec<f32> {
        (0..n).map(|_| self.sym(a)).collect()
    }
}

fn linear(r: &mut Rng, n: usize, k: usize) -> FloatLinear {
    FloatLinear {
        n,
        k,
        w: r.vec(n * k, 0.3),
        b: r.vec(n, 0.1),
    }
}

fn ln(r: &mut Rng, h: usize) -> (Vec<f32>, Vec<f32>) {
    ((0..h).map(|_| 1.0 + r.sym(0.2)).collect(), r.vec(h, 0.1))
}

/// A tiny BERT (2 layers, hidden 32) with a 40-word vocabulary.
pub fn tiny_bert(seed: u64) -> FloatBert {
    let config = BertConfig {
        layers: 2,
        hidden: 32,
        heads: 2,
        ffn: 64,
        vocab: 40,
        max_positions: 20,
        max_seq: 16,
        ln_eps: 1e-12,
    };
    let mut r = Rng::new(seed);
    let h = config.hidden;
    let mut vocab = String::from("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n");
    for i in 5..config.vocab {
        vocab.push_str(&format!("w{i}\n"));
    }
    let layers = (0..config.layers)
        .map(|_| {
            let (ln1_g, ln1_b) = ln(&mut r, h);
            let (ln2_g, ln2_b) = ln(&mut r, h);
            FloatLayer {
                q: linear(&mut r, h, h),
                k: linear(&mut r, h, h),
                v: linear(&mut r, h, h),
                o: linear(&mut r, h, h),
                ln1_g,
                ln1_b,
                ffn1: linear(&mut r, config.ffn, h),
                ffn2: linear(&mut r, h, config.ffn),
                ln2_g,
                ln2_b,
            }
        })
        .collect();
    let (emb_ln_g, emb_ln_b) = ln(&mut r, h);
    FloatBert {
        config,
        word_emb: r.vec(config.vocab * h, 1.0),
        pos_emb: r.vec(config.max_positions * h, 0.5),
        type_emb0: r.vec(h, 0.1),
        emb_ln_g,
        emb_ln_b,
        layers,
        vocab_text: vocab,
    }
}

/// Token sequences [CLS] w.. [SEP] for calibration and evaluation.
pub fn tiny_inputs(seed: u64, count: usize) -> Vec<Vec<u32>> {
    let mut r = Rng::new(seed);
    (0..count)
        .map(|_| {
            let len = 1 + (r.next_u64() % 14) as usize;
            let mut ids = vec![2];
            ids.extend((0..len).map(|_| 5 + (r.next_u64() % 35) as u32));
            ids.push(3);
            ids
        })
        .collect()
}

/// A 64-32-10 MLP with random weights.
pub fn tiny_mlp(seed: u64) -> FloatMlp {
    let mut r = Rng::new(seed);
    FloatMlp {
        input_scale: 1.0 / 16.0,
        layers: vec![linear(&mut r, 32, 64), linear(&mut r, 10, 32)],
    }
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}
