//! Text in, embedding out: the WordPiece tokenizer plus the int8 BERT model,
//! both read from one borrowed blob.

use crate::bert::{BertModel, Workspace};
use crate::blob::Blob;
use crate::error::{BlobError, EngineError};
use alloc::vec::Vec;
use int8_kernels::Kernel;
use wordpiece::{Tokenizer, Vocab};

pub struct Embedder<'a> {
    model: BertModel<'a>,
    tokenizer: Tokenizer,
    kernel: Kernel,
    ws: Workspace,
}

impl<'a> Embedder<'a> {
    /// Validates and loads `blob`, using the fastest kernel this CPU runs.
    /// Detection executes CPUID: in an SEV-SNP guest (where CPUID traps) feed the
    /// CPUID page values to `int8_kernels::set_cpuid_values` first, or pick the
    /// kernel with [`Embedder::with_kernel`].
    pub fn load(blob: &'a [u8]) -> Result<Self, BlobError> {
        Self::with_kernel(blob, Kernel::detect())
    }

    pub fn with_kernel(blob: &'a [u8], kernel: Kernel) -> Result<Self, BlobError> {
        let parsed = Blob::parse(blob)?;
        let model = BertModel::from_blob(&parsed)?;
        let vocab = Vocab::from_text(model.vocab_text).map_err(|_| BlobError::BadVocab)?;
        Ok(Self {
            model,
            tokenizer: Tokenizer::new(vocab),
            kernel,
            ws: Workspace::default(),
        })
    }

    pub fn dim(&self) -> usize {
        self.model.config.hidden
    }

    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    pub fn model(&self) -> &BertModel<'a> {
        &self.model
    }

    /// Token ids with `[CLS]`/`[SEP]`, truncated to the model's maximum length.
    pub fn tokenize(&self, text: &str) -> Vec<u32> {
        self.tokenizer.encode(text, self.model.config.max_seq)
    }

    /// Unit-norm embedding of `text`.
    pub fn embed(&mut self, text: &str) -> Result<Vec<f32>, EngineError> {
        let ids = self.tokenize(text);
        self.embed_ids(&ids)
    }

    pub fn embed_ids(&mut self, ids: &[u32]) -> Result<Vec<f32>, EngineError> {
        self.model.embed_ids(self.kernel, ids, &mut self.ws)
    }
}
