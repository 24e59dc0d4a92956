//! Float checkpoint -> int8 blob, with static SmoothQuant calibrated on token
//! sequences that the caller supplies (disjoint from any evaluation set).
//!
//! Where the migration factors s go (x / s into the quantizer, W * s into the weights):
//! - fused QKV and FFN1 inputs are LayerNorm outputs: x / s is folded into a
//!   second gamma/beta pair, computed in the same LayerNorm pass;
//! - the O-projection input is P V per head: x / s is folded exactly into the
//!   V rows and bias (softmax mixes tokens, not channels);
//! - the FFN2 input is a GELU output: divided by s at run time while quantizing.

use crate::blob_writer::BlobWriter;
use crate::error::QuantizeError;
use crate::float_model::{FloatBert, FloatLinear, Site};
use crate::quant::{quantize_rows, scale_columns, smooth_factors};
use embed_engine::bert::BertConfig;
use embed_engine::blob::format::{bert as role, tensor_id, ModelKind};
use embed_engine::Kernel;

/// SmoothQuant migration strength found best in the feasibility study.
pub const DEFAULT_ALPHA: f32 = 0.5;

/// Per layer, per site: max |x| per input channel over the calibration set.
struct Stats {
    amax: Vec<[Vec<f32>; 4]>,
}

fn site_index(s: Site) -> usize {
    match s {
        Site::Qkv => 0,
        Site::O => 1,
        Site::Ffn1 => 2,
        Site::Ffn2 => 3,
    }
}

fn calibrate(
    model: &FloatBert,
    calib: &[Vec<u32>],
    kernel: Kernel,
) -> Result<Stats, QuantizeError> {
    let c = &model.config;
    let (h, f) = (c.hidden, c.ffn);
    let mut stats = Stats {
        amax: (0..c.layers)
            .map(|_| [vec![0.0; h], vec![0.0; h], vec![0.0; h], vec![0.0; f]])
            .collect(),
    };
    let pass = model.prepare(kernel);
    for ids in calib {
        pass.forward(ids, |layer, site, rows| {
            let m = &mut stats.amax[layer][site_index(site)];
            for row in rows.chunks_exact(m.len()) {
                for (a, v) in m.iter_mut().zip(row) {
                    *a = a.max(v.abs());
                }
            }
        })?;
    }
    for v in stats.amax.iter().flatten().flatten() {
        if !v.is_finite() {
            return Err(QuantizeError::NonFinite("calibration activations"));
        }
    }
    Ok(stats)
}

/// Quantizes `model` to the blob format. Deterministic: same inputs, same bytes (on
/// every `kernel`, which only runs the calibration pass's attention).
pub fn quantize_bert(
    model: &FloatBert,
    calib: &[Vec<u32>],
    alpha: f32,
    kernel: Kernel,
) -> Result<Vec<u8>, QuantizeError> {
    model.check()?;
    if calib.is_empty() {
        return Err(QuantizeError::NoCalibration);
    }
    let c: BertConfig = model.config;
    let stats = calibrate(model, calib, kernel)?;
    let (h, f) = (c.hidden as u32, c.ffn as u32);
    let mut w = BlobWriter::new(ModelKind::BertEmbedder, c.to_words());

    w.add_bytes(tensor_id(role::VOCAB, 0), model.vocab_text.as_bytes());
    let (qe, se) = quantize_rows(&model.word_emb, c.hidden);
    w.add_i8(tensor_id(role::WORD_EMB, 0), &[c.vocab as u32, h], &qe);
    w.add_f32(tensor_id(role::WORD_EMB_SCALE, 0), &[c.vocab as u32], &se);
    let pos: Vec<f32> = model
        .pos_emb
        .chunks_exact(c.hidden)
        .flat_map(|r| r.iter().zip(&model.type_emb0).map(|(a, b)| a + b))
        .collect();
    w.add_f32(
        tensor_id(role::POS_EMB, 0),
        &[c.max_positions as u32, h],
        &pos,
    );
    w.add_f32(tensor_id(role::EMB_LN_G, 0), &[h], &model.emb_ln_g);
    w.add_f32(tensor_id(role::EMB_LN_B, 0), &[h], &model.emb_ln_b);

    for (li, l) in model.layers.iter().enumerate() {
        let id = |r: u32| tensor_id(r, li as u32);
        let [a_qkv, a_o, a_ffn1, a_ffn2] = &stats.amax[li];
        // The LayerNorm feeding this layer: embeddings' for layer 0, else previous LN2.
        let (in_g, in_b) = match li {
            0 => (&model.emb_ln_g, &model.emb_ln_b),
            _ => (&model.layers[li - 1].ln2_g, &model.layers[li - 1].ln2_b),
        };

        // O input: fold 1/s into V's output channels, s into O's columns.
        let mut o = l.o.clone();
        let s_o = smooth_factors(a_o, &o.w, c.hidden, alpha);
        scale_columns(&mut o.w, &s_o);
        let mut v = l.v.clone();
        for ((row, b), &s) in v.w.chunks_exact_mut(c.hidden).zip(&mut v.b).zip(&s_o) {
            row.iter_mut().for_each(|x| *x /= s);
            *b /= s;
        }

        let mut qkv = FloatLinear::stack(&[&l.q, &l.k, &v]);
        let s_qkv = smooth_factors(a_qkv, &qkv.w, c.hidden, alpha);
        scale_columns(&mut qkv.w, &s_qkv);
        add_ln(
            &mut w,
            id(role::QKV_IN_G),
            id(role::QKV_IN_B),
            in_g,
            in_b,
            &s_qkv,
        );
        add_linear(
            &mut w,
            [id(role::QKV_W), id(role::QKV_WS), id(role::QKV_B)],
            &qkv,
        );
        add_linear(&mut w, [id(role::O_W), id(role::O_WS), id(role::O_B)], &o);

        w.add_f32(id(role::LN1_G), &[h], &l.ln1_g);
        w.add_f32(id(role::LN1_B), &[h], &l.ln1_b);
        let mut ffn1 = l.ffn1.clone();
        let s_f1 = smooth_factors(a_ffn1, &ffn1.w, c.hidden, alpha);
        scale_columns(&mut ffn1.w, &s_f1);
        add_ln(
            &mut w,
            id(role::FFN1_IN_G),
            id(role::FFN1_IN_B),
            &l.ln1_g,
            &l.ln1_b,
            &s_f1,
        );
        add_linear(
            &mut w,
            [id(role::FFN1_W), id(role::FFN1_WS), id(role::FFN1_B)],
            &ffn1,
        );

        let mut ffn2 = l.ffn2.clone();
        let s_f2 = smooth_factors(a_ffn2, &ffn2.w, c.ffn, alpha);
        scale_columns(&mut ffn2.w, &s_f2);
        w.add_f32(id(role::FFN2_IN_DIV), &[f], &s_f2);
        add_linear(
            &mut w,
            [id(role::FFN2_W), id(role::FFN2_WS), id(role::FFN2_B)],
            &ffn2,
        );

        w.add_f32(id(role::LN2_G), &[h], &l.ln2_g);
        w.add_f32(id(role::LN2_B), &[h], &l.ln2_b);
    }
    Ok(w.finish())
}

/// LayerNorm parameters divided by the smoothing factors.
fn add_ln(w: &mut BlobWriter, gid: u32, bid: u32, g: &[f32], b: &[f32], s: &[f32]) {
    let gs: Vec<f32> = g.iter().zip(s).map(|(a, s)| a / s).collect();
    let bs: Vec<f32> = b.iter().zip(s).map(|(a, s)| a / s).collect();
    w.add_f32(gid, &[g.len() as u32], &gs);
    w.add_f32(bid, &[b.len() as u32], &bs);
}

fn add_linear(w: &mut BlobWriter, ids: [u32; 3], l: &FloatLinear) {
    let (q, s) = quantize_rows(&l.w, l.k);
    w.add_i8(ids[0], &[l.n as u32, l.k as u32], &q);
    w.add_f32(ids[1], &[l.n as u32], &s);
    w.add_f32(ids[2], &[l.n as u32], &l.b);
}
