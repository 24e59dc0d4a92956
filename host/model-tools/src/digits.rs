//! Reads the exported digits MLP (`tools/model/train_digits.py`): float weights
//! plus the 450 test images with labels and reference predictions.

use crate::error::QuantizeError;
use crate::float_model::FloatLinear;
use crate::mlp::FloatMlp;

pub const MAGIC: &[u8; 8] = b"DIGITS01";

pub struct DigitsExport {
    pub model: FloatMlp,
    /// n x inputs raw pixels (0..16).
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
    /// scikit-learn's float predictions.
    pub float_pred: Vec<u8>,
    /// A numpy simulation of the engine's int8 arithmetic.
    pub int8_pred: Vec<u8>,
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], QuantizeError> {
        if n > self.0.len() {
            return Err(QuantizeError::BadModel("digits export truncated"));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u32(&mut self) -> Result<u32, QuantizeError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn f32s(&mut self, n: usize) -> Result<Vec<f32>, QuantizeError> {
        let len = n.checked_mul(4).ok_or(QuantizeError::BadModel("size"))?;
        Ok(self
            .take(len)?
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
}

impl DigitsExport {
    pub fn parse(bytes: &[u8]) -> Result<Self, QuantizeError> {
        let mut r = Reader(bytes);
        if r.take(8)? != MAGIC {
            return Err(QuantizeError::BadModel("digits export magic"));
        }
        let layers = r.u32()? as usize;
        if layers == 0 || layers > 8 {
            return Err(QuantizeError::BadModel("digits layer count"));
        }
        let dims: Vec<usize> = (0..=layers)
            .map(|_| r.u32().map(|d| d as usize))
            .collect::<Result<_, _>>()?;
        if dims.iter().any(|&d| d == 0 || d > 4096) {
            return Err(QuantizeError::BadModel("digits layer width"));
        }
        let input_scale = r.f32s(1)?[0];
        let mut ls = Vec::with_capacity(layers);
        for w in dims.windows(2) {
            let (k, n) = (w[0], w[1]);
            ls.push(FloatLinear {
                n,
                k,
                w: r.f32s(n * k)?,
                b: r.f32s(n)?,
            });
        }
        let count = r.u32()? as usize;
        let images = r.take(
            count
                .checked_mul(dims[0])
                .ok_or(QuantizeError::BadModel("size"))?,
        )?;
        let labels = r.take(count)?.to_vec();
        let float_pred = r.take(count)?.to_vec();
        let int8_pred = r.take(count)?.to_vec();
        if !r.0.is_empty() {
            return Err(QuantizeError::BadModel("digits export trailing bytes"));
        }
        Ok(Self {
            model: FloatMlp {
                input_scale,
                layers: ls,
            },
            images: images.to_vec(),
            labels,
            float_pred,
            int8_pred,
        })
    }
}
