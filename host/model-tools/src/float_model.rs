//! The float checkpoint as the quantizer sees it, and a plain f32 forward pass
//! used for SmoothQuant calibration (and as a reference in tests).

use crate::error::QuantizeError;
use crate::float_math::{gelu, layer_norm};
use embed_engine::bert::attention::{attention, mean_pool, AttnIn, AttnScratch};
use embed_engine::bert::BertConfig;
use embed_engine::math::l2_normalize;
use embed_engine::{EngineError, Kernel};

/// y = x W^T + b with W stored N x K row-major (PyTorch's layout).
#[derive(Clone, Debug)]
pub struct FloatLinear {
    pub n: usize,
    pub k: usize,
    pub w: Vec<f32>,
    pub b: Vec<f32>,
}

impl FloatLinear {
    pub fn check(&self, n: usize, k: usize, what: &'static str) -> Result<(), QuantizeError> {
        if self.n != n || self.k != k || self.w.len() != n * k || self.b.len() != n {
            return Err(QuantizeError::BadModel(what));
        }
        if self.w.iter().chain(&self.b).any(|v| !v.is_finite()) {
            return Err(QuantizeError::NonFinite(what));
        }
        Ok(())
    }

    /// Transposed copy (K x N) so the product loop runs along contiguous outputs.
    fn transposed(&self) -> Vec<f32> {
        let mut t = vec![0.0; self.n * self.k];
        for r in 0..self.n {
            for c in 0..self.k {
                t[c * self.n + r] = self.w[r * self.k + c];
            }
        }
        t
    }

    /// Rows of a fused linear: `parts` stacked along N.
    pub fn stack(parts: &[&FloatLinear]) -> FloatLinear {
        let k = parts.first().map_or(0, |p| p.k);
        FloatLinear {
            n: parts.iter().map(|p| p.n).sum(),
            k,
            w: parts.iter().flat_map(|p| p.w.iter().copied()).collect(),
            b: parts.iter().flat_map(|p| p.b.iter().copied()).collect(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct FloatLayer {
    pub q: FloatLinear,
    pub k: FloatLinear,
    pub v: FloatLinear,
    pub o: FloatLinear,
    pub ln1_g: Vec<f32>,
    pub ln1_b: Vec<f32>,
    pub ffn1: FloatLinear,
    pub ffn2: FloatLinear,
    pub ln2_g: Vec<f32>,
    pub ln2_b: Vec<f32>,
}

#[derive(Clone, Debug)]
pub struct FloatBert {
    pub config: BertConfig,
    /// vocab x hidden.
    pub word_emb: Vec<f32>,
    /// max_positions x hidden.
    pub pos_emb: Vec<f32>,
    /// Token type 0 (single-segment inputs only).
    pub type_emb0: Vec<f32>,
    pub emb_ln_g: Vec<f32>,
    pub emb_ln_b: Vec<f32>,
    pub layers: Vec<FloatLayer>,
    /// vocab.txt, one token per line.
    pub vocab_text: String,
}

/// Where a Linear's input is observed during calibration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Site {
    Qkv,
    O,
    Ffn1,
    Ffn2,
}

impl FloatBert {
    /// Shapes and finiteness of every tensor against the config.
    pub fn check(&self) -> Result<(), QuantizeError> {
        let c = &self.config;
        c.validate()
            .map_err(|_| QuantizeError::BadModel("config"))?;
        if c.layers != self.layers.len() {
            return Err(QuantizeError::BadModel("layer count"));
        }
        let h = c.hidden;
        let vecs: [(&[f32], usize, &'static str); 5] = [
            (&self.word_emb, c.vocab * h, "word embeddings"),
            (&self.pos_emb, c.max_positions * h, "position embeddings"),
            (&self.type_emb0, h, "token type embedding"),
            (&self.emb_ln_g, h, "embedding LN"),
            (&self.emb_ln_b, h, "embedding LN"),
        ];
        for (v, n, what) in vecs {
            check_vec(v, n, what)?;
        }
        for l in &self.layers {
            l.q.check(h, h, "query")?;
            l.k.check(h, h, "key")?;
            l.v.check(h, h, "value")?;
            l.o.check(h, h, "attention output")?;
            l.ffn1.check(c.ffn, h, "intermediate")?;
            l.ffn2.check(h, c.ffn, "output")?;
            for v in [&l.ln1_g, &l.ln1_b, &l.ln2_g, &l.ln2_b] {
                check_vec(v, h, "layer norm")?;
            }
        }
        Ok(())
    }

    /// Transposes the Linear weights once for [`FloatPass::forward`], whose attention
    /// runs on `kernel`.
    pub fn prepare(&self, kernel: Kernel) -> FloatPass<'_> {
        let layers = self
            .layers
            .iter()
            .map(|l| {
                [
                    Transposed::new(&FloatLinear::stack(&[&l.q, &l.k, &l.v])),
                    Transposed::new(&l.o),
                    Transposed::new(&l.ffn1),
                    Transposed::new(&l.ffn2),
                ]
            })
            .collect();
        FloatPass {
            model: self,
            layers,
            kernel,
        }
    }
}

/// A Linear with W^T (K x N) and its bias.
struct Transposed {
    n: usize,
    k: usize,
    wt: Vec<f32>,
    b: Vec<f32>,
}

impl Transposed {
    fn new(l: &FloatLinear) -> Self {
        Self {
            n: l.n,
            k: l.k,
            wt: l.transposed(),
            b: l.b.clone(),
        }
    }

    /// out (T x N) = x (T x K) W^T + b.
    fn apply(&self, x: &[f32], t: usize, out: &mut [f32]) {
        for r in 0..t {
            let o = &mut out[r * self.n..(r + 1) * self.n];
            o.copy_from_slice(&self.b);
            for (c, &xv) in x[r * self.k..(r + 1) * self.k].iter().enumerate() {
                for (ov, &w) in o.iter_mut().zip(&self.wt[c * self.n..(c + 1) * self.n]) {
                    *ov += xv * w;
                }
            }
        }
    }
}

/// The float model ready to run.
pub struct FloatPass<'m> {
    model: &'m FloatBert,
    /// Per layer: fused QKV, O, FFN1, FFN2.
    layers: Vec<[Transposed; 4]>,
    kernel: Kernel,
}

impl FloatPass<'_> {
    /// f32 forward pass: L2-normalised mean-pooled embedding of `ids`.
    /// `probe(layer, site, rows)` sees the input of every Linear (T rows).
    pub fn forward(
        &self,
        ids: &[u32],
        mut probe: impl FnMut(usize, Site, &[f32]),
    ) -> Result<Vec<f32>, EngineError> {
        let m = self.model;
        let c = &m.config;
        let (h, t) = (c.hidden, ids.len());
        c.check_tokens(t)?;
        let mut x = vec![0.0f32; t * h];
        for (p, &id) in ids.iter().enumerate() {
            let id = id as usize;
            if id >= c.vocab {
                return Err(EngineError::BadToken(id as u32));
            }
            for i in 0..h {
                x[p * h + i] = m.word_emb[id * h + i] + m.pos_emb[p * h + i] + m.type_emb0[i];
            }
        }
        let mut hs = vec![0.0f32; t * h];
        layer_norm(&x, &m.emb_ln_g, &m.emb_ln_b, c.ln_eps, &mut hs, None);
        let mut scratch = AttnScratch::default();
        let mut qkv = vec![0.0f32; t * 3 * h];
        let mut ctx = vec![0.0f32; t * h];
        let mut ff = vec![0.0f32; t * c.ffn];
        for (li, (l, [w_qkv, w_o, w_ffn1, w_ffn2])) in m.layers.iter().zip(&self.layers).enumerate()
        {
            probe(li, Site::Qkv, &hs);
            w_qkv.apply(&hs, t, &mut qkv);
            let input = AttnIn {
                q: &qkv,
                q_stride: 3 * h,
                m: t,
                kv: &qkv,
                kv_stride: 3 * h,
                k_off: h,
                v_off: 2 * h,
                t,
            };
            attention(self.kernel, input, h, c.heads, &mut ctx, &mut scratch)?;
            probe(li, Site::O, &ctx);
            w_o.apply(&ctx, t, &mut x);
            for (a, b) in x.iter_mut().zip(&hs) {
                *a += b;
            }
            layer_norm(&x, &l.ln1_g, &l.ln1_b, c.ln_eps, &mut hs, None);
            probe(li, Site::Ffn1, &hs);
            w_ffn1.apply(&hs, t, &mut ff);
            for v in ff.iter_mut() {
                *v = gelu(*v);
            }
            probe(li, Site::Ffn2, &ff);
            w_ffn2.apply(&ff, t, &mut x);
            for (a, b) in x.iter_mut().zip(&hs) {
                *a += b;
            }
            layer_norm(&x, &l.ln2_g, &l.ln2_b, c.ln_eps, &mut hs, None);
        }
        let mut out = vec![0.0f32; h];
        mean_pool(&hs, t, h, &mut out);
        l2_normalize(&mut out);
        Ok(out)
    }
}

fn check_vec(v: &[f32], n: usize, what: &'static str) -> Result<(), QuantizeError> {
    if v.len() != n {
        return Err(QuantizeError::BadModel(what));
    }
    if v.iter().any(|x| !x.is_finite()) {
        return Err(QuantizeError::NonFinite(what));
    }
    Ok(())
}
