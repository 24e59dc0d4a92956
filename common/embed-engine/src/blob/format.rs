//! On-disk layout of a model blob (all integers little-endian).
//!
//! ```text
//! 0    magic "EMBQ8BLB"
//! 8    u32 format version
//! 12   u32 model kind
//! 16   u32 tensor count
//! 20   u32 reserved (0)
//! 24   u64 total blob length in bytes
//! 32   [u32; 16] model config (meaning depends on the kind)
//! 96   SHA-256 over bytes 0..96 followed by the whole tensor table
//! 128  tensor table: `count` entries of ENTRY_LEN bytes
//!      data: each tensor at an offset aligned to ALIGN, in table order, zero padding
//! ```
//! Tensor entry: u32 id, u32 dtype, u32 rank, [u32; 4] dims (unused = 0), u32 reserved,
//! u64 offset, u64 length, [u8; 32] SHA-256 of the tensor bytes.

pub const MAGIC: [u8; 8] = *b"EMBQ8BLB";
pub const FORMAT_VERSION: u32 = 1;
pub const ALIGN: u64 = 64;
pub const CONFIG_WORDS: usize = 16;
pub const HEADER_LEN: usize = 128;
/// Bytes 0..DIGEST_OFFSET plus the table are covered by the header digest.
pub const DIGEST_OFFSET: usize = 96;
pub const ENTRY_LEN: usize = 80;
pub const MAX_RANK: usize = 4;
/// Far more than any supported model has; bounds the table before it is read.
pub const MAX_TENSORS: u32 = 4096;

/// The header digest: SHA-256 over bytes 0..DIGEST_OFFSET, then the tensor table.
pub fn header_digest(fixed: &[u8], table: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(fixed);
    h.update(table);
    h.finalize().into()
}

/// What the blob holds: decides how `config` and the tensors are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// BERT encoder + mean pooling + L2 normalisation (all-MiniLM-L6-v2).
    BertEmbedder = 1,
    /// Small multi-layer perceptron classifier (test model).
    MlpClassifier = 2,
}

impl ModelKind {
    pub fn from_u32(v: u32) -> Option<Self> {
        match v {
            1 => Some(Self::BertEmbedder),
            2 => Some(Self::MlpClassifier),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    I8 = 1,
    F32 = 2,
    I32 = 3,
    /// Raw bytes (the vocabulary text).
    U8 = 4,
}

impl DType {
    pub fn from_u32(v: u32) -> Option<Self> {
        match v {
            1 => Some(Self::I8),
            2 => Some(Self::F32),
            3 => Some(Self::I32),
            4 => Some(Self::U8),
            _ => None,
        }
    }

    pub fn size(self) -> u64 {
        match self {
            Self::I8 | Self::U8 => 1,
            Self::F32 | Self::I32 => 4,
        }
    }
}

/// Tensor ids: `role * 256 + layer`. Global tensors use layer 0.
pub const fn tensor_id(role: u32, layer: u32) -> u32 {
    role * 256 + layer
}

/// Roles of BERT embedder tensors.
pub mod bert {
    pub const VOCAB: u32 = 1;
    pub const WORD_EMB: u32 = 2;
    pub const WORD_EMB_SCALE: u32 = 3;
    /// Position embeddings with the token-type-0 embedding already added.
    pub const POS_EMB: u32 = 4;
    pub const EMB_LN_G: u32 = 5;
    pub const EMB_LN_B: u32 = 6;
    // Per layer (id = role * 256 + layer).
    /// LayerNorm parameters of the LN feeding this layer, divided by the
    /// SmoothQuant factors of the fused QKV input.
    pub const QKV_IN_G: u32 = 16;
    pub const QKV_IN_B: u32 = 17;
    pub const QKV_W: u32 = 18;
    pub const QKV_WS: u32 = 19;
    pub const QKV_B: u32 = 20;
    pub const O_W: u32 = 21;
    pub const O_WS: u32 = 22;
    pub const O_B: u32 = 23;
    pub const LN1_G: u32 = 24;
    pub const LN1_B: u32 = 25;
    pub const FFN1_IN_G: u32 = 26;
    pub const FFN1_IN_B: u32 = 27;
    pub const FFN1_W: u32 = 28;
    pub const FFN1_WS: u32 = 29;
    pub const FFN1_B: u32 = 30;
    /// SmoothQuant factors s: the GELU output is divided by s while quantized.
    pub const FFN2_IN_DIV: u32 = 31;
    pub const FFN2_W: u32 = 32;
    pub const FFN2_WS: u32 = 33;
    pub const FFN2_B: u32 = 34;
    pub const LN2_G: u32 = 35;
    pub const LN2_B: u32 = 36;
}

/// Roles of MLP classifier tensors (per layer: id = role * 256 + layer).
#[cfg(feature = "mlp")]
pub mod mlp {
    pub const W: u32 = 1;
    pub const WS: u32 = 2;
    pub const B: u32 = 3;
}

/// Config word indices for the BERT embedder.
pub mod bert_cfg {
    pub const LAYERS: usize = 0;
    pub const HIDDEN: usize = 1;
    pub const HEADS: usize = 2;
    pub const FFN: usize = 3;
    pub const VOCAB: usize = 4;
    pub const MAX_POS: usize = 5;
    pub const MAX_SEQ: usize = 6;
    /// f32 bits.
    pub const LN_EPS: usize = 7;
    pub const GROUP: usize = 8;
}

/// Config word indices for the MLP classifier.
#[cfg(feature = "mlp")]
pub mod mlp_cfg {
    /// Number of Linear layers; ReLU between them, none after the last.
    pub const LAYERS: usize = 0;
    /// Input dimension, then the output dimension of each layer (words 1..=LAYERS+1).
    pub const DIMS: usize = 1;
    /// f32 bits: the raw input is multiplied by this before the first layer.
    pub const INPUT_SCALE: usize = 15;
    pub const MAX_LAYERS: usize = 8;
}
