//! BERT encoder hyper-parameters and their range checks.

use crate::blob::format::{bert_cfg, CONFIG_WORDS};
use crate::error::BlobError;

/// Activation quantization group along K (fixed by the int8 kernels).
pub const GROUP: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BertConfig {
    pub layers: usize,
    pub hidden: usize,
    pub heads: usize,
    pub ffn: usize,
    pub vocab: usize,
    /// Rows of the position table.
    pub max_positions: usize,
    /// Longest input accepted, `[CLS]` and `[SEP]` included (sentence-transformers: 256).
    pub max_seq: usize,
    pub ln_eps: f32,
}

impl BertConfig {
    /// A token sequence this model can embed: non-empty, at most `max_seq`.
    pub fn check_tokens(&self, tokens: usize) -> Result<(), crate::error::EngineError> {
        if tokens == 0 {
            return Err(crate::error::EngineError::EmptyInput);
        }
        if tokens > self.max_seq {
            return Err(crate::error::EngineError::TooLong {
                tokens,
                max: self.max_seq,
            });
        }
        Ok(())
    }

    /// Checks ranges and divisibility so shape products cannot overflow and
    /// the kernels accept every matrix.
    pub fn validate(&self) -> Result<(), BlobError> {
        let c = self;
        let bad = |m| Err(BlobError::BadConfig(m));
        if c.layers == 0 || c.layers > 64 {
            return bad("layers");
        }
        if c.hidden == 0 || c.hidden > 4096 || !c.hidden.is_multiple_of(GROUP) {
            return bad("hidden");
        }
        if c.heads == 0 || !c.hidden.is_multiple_of(c.heads) {
            return bad("heads");
        }
        if c.ffn == 0 || c.ffn > 16384 || !c.ffn.is_multiple_of(GROUP) {
            return bad("ffn");
        }
        if c.vocab == 0 || c.vocab > (1 << 20) {
            return bad("vocab");
        }
        if c.max_positions < 2 || c.max_positions > 8192 {
            return bad("max positions");
        }
        if c.max_seq < 2 || c.max_seq > c.max_positions {
            return bad("max sequence length");
        }
        if !(c.ln_eps.is_finite() && c.ln_eps > 0.0) {
            return bad("layer norm eps");
        }
        Ok(())
    }

    /// The blob's config words (the quantizer writes them; the guest only reads).
    #[cfg(feature = "host")]
    pub fn to_words(&self) -> [u32; CONFIG_WORDS] {
        let mut w = [0u32; CONFIG_WORDS];
        w[bert_cfg::LAYERS] = self.layers as u32;
        w[bert_cfg::HIDDEN] = self.hidden as u32;
        w[bert_cfg::HEADS] = self.heads as u32;
        w[bert_cfg::FFN] = self.ffn as u32;
        w[bert_cfg::VOCAB] = self.vocab as u32;
        w[bert_cfg::MAX_POS] = self.max_positions as u32;
        w[bert_cfg::MAX_SEQ] = self.max_seq as u32;
        w[bert_cfg::LN_EPS] = self.ln_eps.to_bits();
        w[bert_cfg::GROUP] = GROUP as u32;
        w
    }

    pub fn from_words(w: &[u32; CONFIG_WORDS]) -> Result<Self, BlobError> {
        if w[bert_cfg::GROUP] as usize != GROUP {
            return Err(BlobError::BadConfig("group size"));
        }
        if w[bert_cfg::GROUP + 1..].iter().any(|&v| v != 0) {
            return Err(BlobError::Reserved);
        }
        let c = Self {
            layers: w[bert_cfg::LAYERS] as usize,
            hidden: w[bert_cfg::HIDDEN] as usize,
            heads: w[bert_cfg::HEADS] as usize,
            ffn: w[bert_cfg::FFN] as usize,
            vocab: w[bert_cfg::VOCAB] as usize,
            max_positions: w[bert_cfg::MAX_POS] as usize,
            max_seq: w[bert_cfg::MAX_SEQ] as usize,
            ln_eps: f32::from_bits(w[bert_cfg::LN_EPS]),
        };
        c.validate()?;
        Ok(c)
    }
}
