//! BERT uncased WordPiece tokenizer for all-MiniLM-L6-v2, `no_std` + `alloc`.
//!
//! Matches Hugging Face `tokenizers` (BertNormalizer with clean_text,
//! handle_chinese_chars, strip_accents and lowercase; BertPreTokenizer;
//! WordPiece with `##` and a 100-character word limit; `[CLS]` ... `[SEP]`;
//! truncation; no padding) token for token. The vocabulary is not built in:
//! load it with [`Vocab::from_text`].
//!
//! Unicode versions, chosen for parity with HF: character classes (Cc/Cf/Co,
//! P*, Mn) are HF's Unicode 8.0 tables (`tables.rs`); NFD comes from
//! `unicode-normalization` (newer than HF's 9.0, which differs only on 21
//! code points that map to `[UNK]` either way); lowercase and whitespace are
//! `core`'s, as in HF. The tests check all of this on every code point.
//!
//! ```
//! # let vocab_txt = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n##s\n";
//! let vocab = wordpiece::Vocab::from_text(vocab_txt)?;
//! let tokenizer = wordpiece::Tokenizer::new(vocab);
//! assert_eq!(tokenizer.encode("Hellos", 256), [2, 4, 5, 3]);
//! # Ok::<(), wordpiece::TokenizerError>(())
//! ```
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

extern crate alloc;

mod chars;
mod error;
mod normalizer;
mod pretokenizer;
mod tables;
mod tokenizer;
mod vocab;
mod wordpiece;

pub use error::TokenizerError;
pub use tokenizer::Tokenizer;
pub use vocab::{SpecialIds, Vocab};
