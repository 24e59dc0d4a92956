//! Float MLP classifier -> int8 blob that `embed_engine::mlp::MlpModel` loads.

use crate::blob_writer::BlobWriter;
use crate::error::QuantizeError;
use crate::float_model::FloatLinear;
use crate::quant::quantize_rows;
use embed_engine::blob::format::{mlp as role, mlp_cfg, tensor_id, ModelKind, CONFIG_WORDS};
use embed_engine::mlp::GROUP;

/// Float MLP as trained (e.g. scikit-learn's `coefs_` transposed to N x K).
pub struct FloatMlp {
    /// The raw input is multiplied by this first (digits: pixels / 16).
    pub input_scale: f32,
    pub layers: Vec<FloatLinear>,
}

/// Quantizes weights per output channel; activations are quantized at run time.
pub fn quantize_mlp(m: &FloatMlp) -> Result<Vec<u8>, QuantizeError> {
    let n = m.layers.len();
    if n == 0 || n > mlp_cfg::MAX_LAYERS {
        return Err(QuantizeError::BadModel("layer count"));
    }
    if !(m.input_scale.is_finite() && m.input_scale > 0.0) {
        return Err(QuantizeError::BadModel("input scale"));
    }
    let mut cfg = [0u32; CONFIG_WORDS];
    cfg[mlp_cfg::LAYERS] = n as u32;
    cfg[mlp_cfg::DIMS] = m.layers[0].k as u32;
    cfg[mlp_cfg::INPUT_SCALE] = m.input_scale.to_bits();
    for (i, l) in m.layers.iter().enumerate() {
        let k_expected = cfg[mlp_cfg::DIMS + i] as usize;
        l.check(l.n, k_expected, "layer shape")?;
        if !l.k.is_multiple_of(GROUP) || l.n == 0 {
            return Err(QuantizeError::BadModel("widths must be multiples of 32"));
        }
        cfg[mlp_cfg::DIMS + i + 1] = l.n as u32;
    }
    let mut w = BlobWriter::new(ModelKind::MlpClassifier, cfg);
    for (i, l) in m.layers.iter().enumerate() {
        let (q, s) = quantize_rows(&l.w, l.k);
        let li = i as u32;
        w.add_i8(tensor_id(role::W, li), &[l.n as u32, l.k as u32], &q);
        w.add_f32(tensor_id(role::WS, li), &[l.n as u32], &s);
        w.add_f32(tensor_id(role::B, li), &[l.n as u32], &l.b);
    }
    Ok(w.finish())
}
