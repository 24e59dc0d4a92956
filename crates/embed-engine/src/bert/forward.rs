//! The int8 forward pass: embeddings -> 6 x (attention, FFN) -> mean pool -> L2.

use super::attention::{attention, mean_pool, AttnScratch};
use super::model::BertModel;
use crate::error::EngineError;
use crate::math::l2_normalize;
use alloc::vec::Vec;
use int8_kernels::{layer_norm_f32, Kernel, LnOut, QuantizedRows};

/// Buffers reused across layers and calls (grown to the longest input seen).
#[derive(Default)]
pub struct Workspace {
    x: Vec<f32>,
    h: Vec<f32>,
    hs: Vec<f32>,
    qkv: Vec<f32>,
    ctx: Vec<f32>,
    ff: Vec<f32>,
    rows: QuantizedRows,
    attn: AttnScratch,
}

impl Workspace {
    fn fit(&mut self, t: usize, hidden: usize, ffn: usize) {
        for (b, n) in [
            (&mut self.x, t * hidden),
            (&mut self.h, t * hidden),
            (&mut self.hs, t * hidden),
            (&mut self.qkv, t * 3 * hidden),
            (&mut self.ctx, t * hidden),
            (&mut self.ff, t * ffn),
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
        c.check_tokens(t)?;
        ws.fit(t, h, c.ffn);
        for (p, &id) in ids.iter().enumerate() {
            let i = id as usize;
            if i >= c.vocab {
                return Err(EngineError::BadToken(id));
            }
            let s = self.word_scale[i];
            let row = &self.word_emb[i * h..(i + 1) * h];
            let pos = &self.pos_emb[p * h..(p + 1) * h];
            for ((x, &q), &pe) in ws.x[p * h..(p + 1) * h].iter_mut().zip(row).zip(pos) {
                *x = f32::from(q as i8) * s + pe;
            }
        }
        let first = &self.layers[0];
        layer_norm_f32(
            kernel,
            &ws.x,
            c.ln_eps,
            LnOut {
                gamma: &self.emb_ln_g,
                beta: &self.emb_ln_b,
                out: &mut ws.h,
            },
            Some(LnOut {
                gamma: &first.qkv_in_g,
                beta: &first.qkv_in_b,
                out: &mut ws.hs,
            }),
        )?;
        for (li, l) in self.layers.iter().enumerate() {
            ws.rows.quantize(&ws.hs, t, h)?;
            l.qkv.apply(kernel, &ws.rows, &mut ws.qkv)?;
            attention(kernel, &ws.qkv, t, h, c.heads, &mut ws.ctx, &mut ws.attn)?;
            ws.rows.quantize(&ws.ctx, t, h)?;
            l.o.apply_residual(kernel, &ws.rows, &mut ws.x, &ws.h)?;
            layer_norm_f32(
                kernel,
                &ws.x,
                c.ln_eps,
                LnOut {
                    gamma: &l.ln1_g,
                    beta: &l.ln1_b,
                    out: &mut ws.h,
                },
                Some(LnOut {
                    gamma: &l.ffn1_in_g,
                    beta: &l.ffn1_in_b,
                    out: &mut ws.hs,
                }),
            )?;
            ws.rows.quantize(&ws.hs, t, h)?;
            // ff = GELU(FFN1) / smoothing factors of FFN2's input: the same floats
            // quantize_smoothed would quantize, without its per-element division pass.
            l.ffn1
                .apply_gelu_div(kernel, &ws.rows, &mut ws.ff, &l.ffn2_in_div)?;
            ws.rows.quantize(&ws.ff, t, c.ffn)?;
            l.ffn2.apply_residual(kernel, &ws.rows, &mut ws.x, &ws.h)?;
            let smoothed = self.layers.get(li + 1).map(|next| LnOut {
                gamma: &next.qkv_in_g,
                beta: &next.qkv_in_b,
                out: &mut ws.hs,
            });
            let main = LnOut {
                gamma: &l.ln2_g,
                beta: &l.ln2_b,
                out: &mut ws.h,
            };
            layer_norm_f32(kernel, &ws.x, c.ln_eps, main, smoothed)?;
        }
        let mut out = alloc::vec![0.0f32; h];
        mean_pool(&ws.h, t, h, &mut out);
        l2_normalize(&mut out);
        Ok(out)
    }
}
