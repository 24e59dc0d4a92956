//! Text in, embedding out: the WordPiece tokenizer plus the int8 BERT model,
//! both read from one borrowed blob.

use crate::bert::{BertModel, SplitShared, Workspace};
use crate::blob::Blob;
use crate::error::{BlobError, EngineError};
use crate::parallel::Parallel;
use alloc::borrow::Cow;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};
use int8_kernels::Kernel;
use wordpiece::{Tokenizer, Vocab};

/// Fewest token rows per task when one sequence is split over several threads (below
/// this, a task's GEMMs load the whole weight set for too few rows, and the per-layer
/// meeting points and thread start-up cost more than they save). Measured on the dev VM,
/// 2 threads: 8 tokens 0.45 ms split in two vs 0.70 ms on one thread.
const MIN_SPLIT_ROWS: usize = 4;

pub struct Embedder<'a> {
    model: BertModel<'a>,
    tokenizer: Tokenizer,
    kernel: Kernel,
    /// `ws[0]` serves the one-thread pass; a parallel pass uses one per task.
    ws: Vec<Workspace>,
    shared: SplitShared,
    /// `None`: one thread.
    par: Option<Arc<dyn Parallel>>,
}

impl<'a> Embedder<'a> {
    /// Validates and loads `blob`, using the fastest kernel this CPU runs (probed with
    /// CPUID: host builds only, feature `std`; a guest uses [`Embedder::with_kernel`]
    /// with the kernel its platform layer chose).
    #[cfg(any(test, feature = "std"))]
    pub fn load(blob: &'a [u8]) -> Result<Self, BlobError> {
        Self::with_kernel(blob, Kernel::detect())
    }

    /// Validates and loads `blob`; every pass runs on `kernel` (see `int8_kernels` for
    /// what a SIMD kernel value promises in a build without the probe).
    pub fn with_kernel(blob: &'a [u8], kernel: Kernel) -> Result<Self, BlobError> {
        let parsed = Blob::parse(blob)?;
        let model = BertModel::from_blob(&parsed)?;
        let vocab = Vocab::from_text(model.vocab_text).map_err(|_| BlobError::BadVocab)?;
        Ok(Self {
            model,
            tokenizer: Tokenizer::new(vocab),
            kernel,
            ws: alloc::vec![Workspace::default()],
            shared: SplitShared::default(),
            par: None,
        })
    }

    /// Runs later calls on `par`'s threads (e.g. `StdThreads` on the
    /// host): one sequence is split by token rows, a batch by sequences. Results stay bit
    /// for bit those of one thread.
    pub fn set_parallel(&mut self, par: Arc<dyn Parallel>) {
        self.par = Some(par);
    }

    /// Threads a call may use (1 unless [`set_parallel`](Self::set_parallel) gave more).
    pub fn threads(&self) -> usize {
        self.par.as_ref().map_or(1, |p| p.threads().max(1))
    }

    #[cfg(feature = "host")]
    pub fn dim(&self) -> usize {
        self.model.config.hidden
    }

    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    #[cfg(feature = "host")]
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
        let tasks = (ids.len() / MIN_SPLIT_ROWS).min(self.threads());
        match &self.par {
            Some(par) if tasks > 1 => {
                if self.ws.len() < tasks {
                    self.ws.resize_with(tasks, Workspace::default);
                }
                self.model.embed_ids_split(
                    self.kernel,
                    ids,
                    par.as_ref(),
                    &mut self.ws[..tasks],
                    &mut self.shared,
                )
            }
            _ => self.model.embed_ids(self.kernel, ids, &mut self.ws[0]),
        }
    }

    /// Unit-norm embeddings of `texts`, in order; each equals [`embed`](Self::embed) of
    /// that text bit for bit. With several threads, each thread takes whole texts
    /// (longest first); a single text is split as in `embed`. On failure, the error of
    /// the first failing text.
    #[cfg(feature = "host")]
    pub fn embed_batch(&mut self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EngineError> {
        if let [one] = texts {
            return Ok(alloc::vec![self.embed(one)?]);
        }
        let (tok, max) = (&self.tokenizer, self.model.config.max_seq);
        let weight: Vec<usize> = texts.iter().map(|t| t.len()).collect();
        let par = self.par.as_deref();
        let ids_of = |i: usize| Cow::Owned(tok.encode(texts[i], max));
        run_batch(&self.model, self.kernel, par, &mut self.ws, &weight, ids_of)
    }

    /// [`embed_batch`](Self::embed_batch) for token sequences (each as for
    /// [`embed_ids`](Self::embed_ids)).
    pub fn embed_ids_batch(&mut self, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>, EngineError> {
        if let [one] = batch {
            return Ok(alloc::vec![self.embed_ids(one)?]);
        }
        let weight: Vec<usize> = batch.iter().map(|b| b.len()).collect();
        let par = self.par.as_deref();
        let ids_of = |i: usize| Cow::Borrowed(batch[i]);
        run_batch(&self.model, self.kernel, par, &mut self.ws, &weight, ids_of)
    }
}

type Embedding = Result<Vec<f32>, EngineError>;

/// Embeds inputs `0..weight.len()` (`ids_of(i)` gives input i's tokens): in order on one
/// thread, or with whole inputs claimed from a shared counter by `par`'s tasks, heaviest
/// `weight` first, each task with its own workspace. Nothing is shared but the counter, so
/// every input is computed exactly as by `embed_ids` alone.
fn run_batch<'i>(
    model: &BertModel<'_>,
    kernel: Kernel,
    par: Option<&dyn Parallel>,
    wss: &mut Vec<Workspace>,
    weight: &[usize],
    ids_of: impl Fn(usize) -> Cow<'i, [u32]> + Sync,
) -> Result<Vec<Vec<f32>>, EngineError> {
    let n = weight.len();
    let tasks = par.map_or(1, |p| p.threads().max(1)).min(n);
    let (Some(par), true) = (par, tasks > 1) else {
        return (0..n)
            .map(|i| model.embed_ids(kernel, &ids_of(i), &mut wss[0]))
            .collect();
    };
    if wss.len() < tasks {
        wss.resize_with(tasks, Workspace::default);
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| core::cmp::Reverse(weight[i]));
    let next = AtomicUsize::new(0);
    let mut outs: Vec<Vec<(usize, Embedding)>> = (0..tasks).map(|_| Vec::new()).collect();
    let (order, next, ids_of) = (&order, &next, &ids_of);
    let work: Vec<_> = wss[..tasks]
        .iter_mut()
        .zip(outs.iter_mut())
        .map(|(ws, out)| {
            move || loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&i) = order.get(k) else { break };
                out.push((i, model.embed_ids(kernel, &ids_of(i), ws)));
            }
        })
        .collect();
    crate::parallel::run_all(par, work);
    let mut slots: Vec<Option<Embedding>> = (0..n).map(|_| None).collect();
    for (i, e) in outs.into_iter().flatten() {
        slots[i] = Some(e);
    }
    slots
        .into_iter()
        .map(|s| s.unwrap_or(Err(EngineError::TaskFailed)))
        .collect()
}
