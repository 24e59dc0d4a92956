//! A small MLP classifier (ReLU between layers) through the same blob format,
//! loader and int8 Linear as the BERT embedder: a fast known-answer model for
//! tests under software CPU emulation (its blobs come from host/model-tools).

use crate::blob::format::{mlp as role, mlp_cfg, tensor_id, ModelKind};
use crate::blob::Blob;
use crate::error::{BlobError, EngineError};
use crate::linear::QLinear;
use alloc::vec::Vec;
use int8_kernels::{Kernel, QuantizedRows};

/// Inputs and hidden widths must be multiples of the activation group.
pub const GROUP: usize = 32;

pub struct MlpModel {
    input_scale: f32,
    layers: Vec<QLinear>,
    rows: QuantizedRows,
    buf: [Vec<f32>; 2],
}

impl MlpModel {
    pub fn load(bytes: &[u8]) -> Result<Self, BlobError> {
        let blob = Blob::parse(bytes)?;
        if blob.kind != ModelKind::MlpClassifier {
            return Err(BlobError::UnknownModelKind(blob.kind as u32));
        }
        let c = &blob.config;
        let n = c[mlp_cfg::LAYERS] as usize;
        if n == 0 || n > mlp_cfg::MAX_LAYERS {
            return Err(BlobError::BadConfig("layer count"));
        }
        let dims = &c[mlp_cfg::DIMS..=mlp_cfg::DIMS + n];
        if dims.iter().any(|&d| d == 0 || d > 1 << 16) {
            return Err(BlobError::BadConfig("layer width"));
        }
        if dims[..n]
            .iter()
            .any(|&d| !(d as usize).is_multiple_of(GROUP))
        {
            return Err(BlobError::BadConfig("layer input width"));
        }
        if c[mlp_cfg::DIMS + n + 1..mlp_cfg::INPUT_SCALE]
            .iter()
            .any(|&v| v != 0)
        {
            return Err(BlobError::Reserved);
        }
        let input_scale = f32::from_bits(c[mlp_cfg::INPUT_SCALE]);
        if !(input_scale.is_finite() && input_scale > 0.0) {
            return Err(BlobError::BadConfig("input scale"));
        }
        let mut layers = Vec::with_capacity(n);
        for i in 0..n {
            let (k, out) = (dims[i] as usize, dims[i + 1] as usize);
            let li = i as u32;
            layers.push(QLinear::from_blob(
                &blob,
                tensor_id(role::W, li),
                tensor_id(role::WS, li),
                tensor_id(role::B, li),
                out,
                k,
            )?);
        }
        blob.only(|id| (role::W..=role::B).contains(&(id / 256)) && ((id % 256) as usize) < n)?;
        Ok(Self {
            input_scale,
            layers,
            rows: QuantizedRows::new(),
            buf: [Vec::new(), Vec::new()],
        })
    }

    pub fn inputs(&self) -> usize {
        self.layers.first().map_or(0, |l| l.k)
    }

    /// Output scores (logits) for one input vector.
    pub fn logits(&mut self, kernel: Kernel, input: &[f32]) -> Result<&[f32], EngineError> {
        if input.len() != self.inputs() {
            return Err(EngineError::BadInputLen {
                expected: self.inputs(),
                got: input.len(),
            });
        }
        let [a, b] = &mut self.buf;
        a.clear();
        a.extend(input.iter().map(|&v| v * self.input_scale));
        let last = self.layers.len() - 1;
        for (i, l) in self.layers.iter().enumerate() {
            self.rows.quantize_with(kernel, a, 1, l.k, None)?;
            b.resize(l.n, 0.0);
            l.apply(kernel, &self.rows, b)?;
            if i != last {
                b.iter_mut().for_each(|v| *v = v.max(0.0));
            }
            core::mem::swap(a, b);
        }
        Ok(a)
    }

    /// Index of the largest logit (first one on ties).
    pub fn predict(&mut self, kernel: Kernel, input: &[f32]) -> Result<usize, EngineError> {
        let logits = self.logits(kernel, input)?;
        let mut best = 0;
        for (i, &v) in logits.iter().enumerate() {
            if v > logits[best] {
                best = i;
            }
        }
        Ok(best)
    }
}
