//! The int8 BERT embedder loaded from a validated blob. Linear weights are
//! packed for the kernels (a copy); the large word-embedding table and the
//! vocabulary stay borrowed from the blob bytes.

use super::config::BertConfig;
use crate::blob::format::{bert as role, tensor_id, DType, ModelKind};
use crate::blob::Blob;
use crate::error::BlobError;
use crate::linear::QLinear;
use alloc::vec::Vec;

pub struct QLayer {
    pub qkv_in_g: Vec<f32>,
    pub qkv_in_b: Vec<f32>,
    pub qkv: QLinear,
    pub o: QLinear,
    pub ln1_g: Vec<f32>,
    pub ln1_b: Vec<f32>,
    pub ffn1_in_g: Vec<f32>,
    pub ffn1_in_b: Vec<f32>,
    pub ffn1: QLinear,
    pub ffn2_in_div: Vec<f32>,
    pub ffn2: QLinear,
    pub ln2_g: Vec<f32>,
    pub ln2_b: Vec<f32>,
}

pub struct BertModel<'a> {
    pub config: BertConfig,
    /// vocab x hidden int8, borrowed from the blob.
    pub word_emb: &'a [u8],
    pub word_scale: Vec<f32>,
    /// max_positions x hidden (token type 0 added).
    pub pos_emb: Vec<f32>,
    pub emb_ln_g: Vec<f32>,
    pub emb_ln_b: Vec<f32>,
    pub layers: Vec<QLayer>,
    pub vocab_text: &'a str,
}

impl<'a> BertModel<'a> {
    pub fn from_blob(blob: &Blob<'a>) -> Result<Self, BlobError> {
        if blob.kind != ModelKind::BertEmbedder {
            return Err(BlobError::UnknownModelKind(blob.kind as u32));
        }
        let c = BertConfig::from_words(&blob.config)?;
        let (h, f, v) = (c.hidden, c.ffn, c.vocab);
        let g = |r: u32, shape: &[usize]| blob.f32s(tensor_id(r, 0), shape);

        let vocab_id = tensor_id(role::VOCAB, 0);
        let vocab_bytes = blob
            .get(vocab_id)
            .filter(|t| t.dtype == DType::U8 && t.rank == 1)
            .ok_or(BlobError::MissingTensor { tensor: vocab_id })?
            .bytes;
        let vocab_text = core::str::from_utf8(vocab_bytes).map_err(|_| BlobError::BadVocab)?;
        if vocab_text.lines().count() != v {
            return Err(BlobError::BadVocab);
        }
        let word_emb = blob.expect(tensor_id(role::WORD_EMB, 0), DType::I8, &[v, h])?;
        let mut layers = Vec::with_capacity(c.layers);
        for l in 0..c.layers {
            let vec = |r: u32, n: usize| blob.f32s(tensor_id(r, l as u32), &[n]);
            let lin = |w: u32, s: u32, b: u32, n: usize, k: usize| {
                QLinear::from_blob(
                    blob,
                    tensor_id(w, l as u32),
                    tensor_id(s, l as u32),
                    tensor_id(b, l as u32),
                    n,
                    k,
                )
            };
            let ffn2_in_div = vec(role::FFN2_IN_DIV, f)?;
            if ffn2_in_div.iter().any(|&s| s <= 0.0) {
                return Err(BlobError::NonFinite {
                    tensor: tensor_id(role::FFN2_IN_DIV, l as u32),
                });
            }
            layers.push(QLayer {
                qkv_in_g: vec(role::QKV_IN_G, h)?,
                qkv_in_b: vec(role::QKV_IN_B, h)?,
                qkv: lin(role::QKV_W, role::QKV_WS, role::QKV_B, 3 * h, h)?,
                o: lin(role::O_W, role::O_WS, role::O_B, h, h)?,
                ln1_g: vec(role::LN1_G, h)?,
                ln1_b: vec(role::LN1_B, h)?,
                ffn1_in_g: vec(role::FFN1_IN_G, h)?,
                ffn1_in_b: vec(role::FFN1_IN_B, h)?,
                ffn1: lin(role::FFN1_W, role::FFN1_WS, role::FFN1_B, f, h)?,
                ffn2_in_div,
                ffn2: lin(role::FFN2_W, role::FFN2_WS, role::FFN2_B, h, f)?,
                ln2_g: vec(role::LN2_G, h)?,
                ln2_b: vec(role::LN2_B, h)?,
            });
        }
        let layers_n = c.layers as u32;
        blob.only(|id| {
            let (r, l) = (id / 256, id % 256);
            match r {
                role::VOCAB..=role::EMB_LN_B => l == 0,
                role::QKV_IN_G..=role::LN2_B => l < layers_n,
                _ => false,
            }
        })?;
        Ok(Self {
            config: c,
            word_emb,
            word_scale: g(role::WORD_EMB_SCALE, &[v])?,
            pos_emb: g(role::POS_EMB, &[c.max_positions, h])?,
            emb_ln_g: g(role::EMB_LN_G, &[h])?,
            emb_ln_b: g(role::EMB_LN_B, &[h])?,
            layers,
            vocab_text,
        })
    }
}
