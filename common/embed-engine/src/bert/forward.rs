//! The int8 forward pass: embeddings -> 6 x (attention, FFN) -> mean pool -> L2.
//!
//! Written over a range of token rows (`embed_rows`, `project_qkv`, `finish_layer` are
//! row-wise; only attention looks at other rows, through its key/value input), so the
//! one-thread pass here and the split pass of `split.rs` run the same code per row.

use super::attention::{attention, AttnIn, AttnScratch};
use super::model::BertModel;
use crate::error::EngineError;
use crate::math::l2_normalize;
use alloc::vec::Vec;
use int8_kernels::{layer_norm_f32, Kernel, LnOut, QuantizedRows};

/// Buffers reused across layers and calls (grown to the longest input seen).
#[derive(Default)]
pub struct Workspace {
    pub(super) x: Vec<f32>,
    pub(super) h: Vec<f32>,
    pub(super) hs: Vec<f32>,
    pub(super) qkv: Vec<f32>,
    pub(super) ctx: Vec<f32>,
    pub(super) ff: Vec<f32>,
    /// Keys and values of the whole sequence (rows `[k | v]`) when this workspace holds
    /// only some of its rows (split pass).
    pub(super) kv: Vec<f32>,
    pub(super) rows: QuantizedRows,
    pub(super) attn: AttnScratch,
}

impl Workspace {
    /// Sizes the per-row buffers for `m` rows.
    pub(super) fn fit(&mut self, m: usize, hidden: usize, ffn: usize) {
        for (b, n) in [
            (&mut self.x, m * hidden),
            (&mut self.h, m * hidden),
            (&mut self.hs, m * hidden),
            (&mut self.qkv, m * 3 * hidden),
            (&mut self.ctx, m * hidden),
            (&mut self.ff, m * ffn),
        ] {
            b.resize(n, 0.0);
        }
    }
}

impl BertModel<'_> {
    /// Embedding (unit L2 norm, `hidden` values) of one token sequence that
    /// already has `[CLS]` ... `[SEP]`.
    pub fn embed_ids(
        &self,
        kernel: Kernel,
        ids: &[u32],
        ws: &mut Workspace,
    ) -> Result<Vec<f32>, EngineError> {
        let c = &self.config;
        let (h, t) = (c.hidden, ids.len());
        self.check_ids(ids)?;
        ws.fit(t, h, c.ffn);
        self.embed_rows(kernel, ids, 0, ws)?;
        for l in 0..c.layers {
            self.project_qkv(kernel, l, t, ws)?;
            let input = AttnIn {
                q: &ws.qkv,
                q_stride: 3 * h,
                m: t,
                kv: &ws.qkv,
                kv_stride: 3 * h,
                k_off: h,
                v_off: 2 * h,
                t,
            };
            attention(kernel, input, h, c.heads, &mut ws.ctx, &mut ws.attn)?;
            self.finish_layer(kernel, l, t, ws)?;
        }
        Ok(self.pool([&ws.h[..t * h]], t))
    }

    /// Length within the model's limits and every id inside the vocabulary.
    pub(super) fn check_ids(&self, ids: &[u32]) -> Result<(), EngineError> {
        self.config.check_tokens(ids.len())?;
        match ids.iter().find(|&&id| id as usize >= self.config.vocab) {
            Some(&id) => Err(EngineError::BadToken(id)),
            None => Ok(()),
        }
    }

    /// `x` = word + position embeddings of `ids` (at positions `pos0..`), `h` = its
    /// LayerNorm, `hs` = the first layer's smoothed LayerNorm. Ids are checked.
    pub(super) fn embed_rows(
        &self,
        kernel: Kernel,
        ids: &[u32],
        pos0: usize,
        ws: &mut Workspace,
    ) -> Result<(), EngineError> {
        let c = &self.config;
        let (h, m) = (c.hidden, ids.len());
        for (p, &id) in ids.iter().enumerate() {
            let i = id as usize;
            let s = self.word_scale[i];
            let row = &self.word_emb[i * h..(i + 1) * h];
            let pos = &self.pos_emb[(pos0 + p) * h..(pos0 + p + 1) * h];
            for ((x, &q), &pe) in ws.x[p * h..(p + 1) * h].iter_mut().zip(row).zip(pos) {
                *x = f32::from(q as i8) * s + pe;
            }
        }
        let first = &self.layers[0];
        layer_norm_f32(
            kernel,
            &ws.x[..m * h],
            c.ln_eps,
            LnOut {
                gamma: &self.emb_ln_g,
                beta: &self.emb_ln_b,
                out: &mut ws.h[..m * h],
            },
            Some(LnOut {
                gamma: &first.qkv_in_g,
                beta: &first.qkv_in_b,
                out: &mut ws.hs[..m * h],
            }),
        )?;
        Ok(())
    }

    /// `qkv` = layer `li`'s fused Q/K/V projection of the `m` rows of `hs`.
    pub(super) fn project_qkv(
        &self,
        kernel: Kernel,
        li: usize,
        m: usize,
        ws: &mut Workspace,
    ) -> Result<(), EngineError> {
        let h = self.config.hidden;
        ws.rows.quantize_with(kernel, &ws.hs[..m * h], m, h, None)?;
        self.layers[li]
            .qkv
            .apply(kernel, &ws.rows, &mut ws.qkv[..m * 3 * h])
    }

    /// Layer `li` after attention (context in `ctx`): output projection + residual,
    /// LayerNorm, FFN + residual, LayerNorm into `h` (and the next layer's smoothed copy
    /// into `hs`), for `m` rows.
    pub(super) fn finish_layer(
        &self,
        kernel: Kernel,
        li: usize,
        m: usize,
        ws: &mut Workspace,
    ) -> Result<(), EngineError> {
        let c = &self.config;
        let (h, f) = (c.hidden, c.ffn);
        let l = &self.layers[li];
        let (x, hb, hs) = (&mut ws.x[..m * h], &mut ws.h[..m * h], &mut ws.hs[..m * h]);
        ws.rows
            .quantize_with(kernel, &ws.ctx[..m * h], m, h, None)?;
        l.o.apply_residual(kernel, &ws.rows, x, hb)?;
        layer_norm_f32(
            kernel,
            x,
            c.ln_eps,
            LnOut {
                gamma: &l.ln1_g,
                beta: &l.ln1_b,
                out: hb,
            },
            Some(LnOut {
                gamma: &l.ffn1_in_g,
                beta: &l.ffn1_in_b,
                out: hs,
            }),
        )?;
        ws.rows.quantize_with(kernel, hs, m, h, None)?;
        // ff = GELU(FFN1) / smoothing factors of FFN2's input: the same floats
        // quantize_smoothed would quantize, without its per-element division pass.
        let ff = &mut ws.ff[..m * f];
        l.ffn1
            .apply_gelu_div(kernel, &ws.rows, ff, &l.ffn2_in_div)?;
        ws.rows.quantize_with(kernel, ff, m, f, None)?;
        l.ffn2.apply_residual(kernel, &ws.rows, x, hb)?;
        let smoothed = self.layers.get(li + 1).map(|next| LnOut {
            gamma: &next.qkv_in_g,
            beta: &next.qkv_in_b,
            out: hs,
        });
        let main = LnOut {
            gamma: &l.ln2_g,
            beta: &l.ln2_b,
            out: hb,
        };
        layer_norm_f32(kernel, x, c.ln_eps, main, smoothed)?;
        Ok(())
    }

    /// Mean over the `t` rows (given as consecutive row blocks, in order) of the final
    /// hidden states, then L2 normalisation. Sums row by row in order, so the split
    /// pass gives the same floats.
    pub(super) fn pool<'r>(
        &self,
        blocks: impl IntoIterator<Item = &'r [f32]>,
        t: usize,
    ) -> Vec<f32> {
        let h = self.config.hidden;
        let mut out = alloc::vec![0.0f32; h];
        for r in blocks.into_iter().flat_map(|b| b.chunks_exact(h)) {
            for (o, &v) in out.iter_mut().zip(r) {
                *o += v;
            }
        }
        let inv = 1.0 / t as f32;
        for o in out.iter_mut() {
            *o *= inv;
        }
        l2_normalize(&mut out);
        out
    }
}
