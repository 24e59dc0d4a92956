//! The full pipeline: special tokens in the raw text, normalization,
//! pre-tokenization, WordPiece, `[CLS]`/`[SEP]` and truncation.

use crate::normalizer::normalize;
use crate::pretokenizer::for_each_word;
use crate::vocab::Vocab;
use crate::wordpiece::tokenize_word;
use alloc::string::String;
use alloc::vec::Vec;
use core::ops::ControlFlow;

/// BERT uncased WordPiece tokenizer, equivalent to HF `tokenizers` with
/// all-MiniLM-L6-v2's `tokenizer.json`, `no_padding()` and truncation.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    vocab: Vocab,
    match_special_tokens: bool,
}

/// The special tokens HF registers as "added tokens" for BERT; in the raw
/// text they are matched (case-sensitively) before normalization.
const SPECIAL_TOKENS: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

impl Tokenizer {
    /// Longer words become `[UNK]` (HF's `max_input_chars_per_word`).
    pub const MAX_INPUT_CHARS_PER_WORD: usize = 100;

    pub fn new(vocab: Vocab) -> Tokenizer {
        Tokenizer {
            vocab,
            match_special_tokens: true,
        }
    }

    /// Whether `[CLS]`, `[SEP]`, `[UNK]`, `[PAD]`, `[MASK]` written in the
    /// input text become their special ids, as HF does (the default). With
    /// `false` they are tokenized as ordinary text (HF's
    /// `split_special_tokens=True`).
    #[cfg(feature = "inspect")]
    pub fn with_special_token_matching(mut self, enabled: bool) -> Tokenizer {
        self.match_special_tokens = enabled;
        self
    }

    #[cfg(feature = "inspect")]
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// `[CLS]` + the ids of `text` + `[SEP]`, with the text's ids cut so the
    /// total is at most `max_len` (sentence-transformers uses 256). No
    /// padding. With `max_len` < 2 there is no room for both specials: the
    /// result is `[CLS, SEP]` cut to `max_len`. Never panics.
    pub fn encode(&self, text: &str, max_len: usize) -> Vec<u32> {
        let specials = self.vocab.specials();
        let mut ids = Vec::new();
        if max_len < 2 {
            ids.extend([specials.cls, specials.sep].into_iter().take(max_len));
            return ids;
        }
        ids.push(specials.cls);
        let limit = max_len - 1;
        let mut word_buf = String::new();
        let mut pieces = Vec::new();
        let _ = self.for_each_segment(text, |segment| {
            match segment {
                Segment::Special(id) => ids.push(id),
                Segment::Text(part) => {
                    for_each_word(
                        normalize(part),
                        Self::MAX_INPUT_CHARS_PER_WORD + 1,
                        &mut word_buf,
                        |word, chars| {
                            tokenize_word(
                                &self.vocab,
                                word,
                                chars,
                                Self::MAX_INPUT_CHARS_PER_WORD,
                                &mut pieces,
                                &mut ids,
                            );
                            stop_when_full(&ids, limit)
                        },
                    )?;
                }
            }
            stop_when_full(&ids, limit)
        });
        ids.truncate(limit);
        ids.push(specials.sep);
        ids
    }

    /// Like [`Tokenizer::encode`] but returns token strings, for debugging.
    #[cfg(feature = "inspect")]
    pub fn encode_to_tokens(&self, text: &str, max_len: usize) -> Vec<&str> {
        self.encode(text, max_len)
            .into_iter()
            .map(|id| self.vocab.token(id).unwrap_or("<invalid id>"))
            .collect()
    }

    /// Splits `text` on special-token strings (leftmost match first) and
    /// calls `f` for each piece in order.
    fn for_each_segment<F>(&self, text: &str, mut f: F) -> ControlFlow<()>
    where
        F: FnMut(Segment<'_>) -> ControlFlow<()>,
    {
        let mut rest = text;
        let mut search_from = 0;
        while let Some(found) = rest
            .get(search_from..)
            .filter(|_| self.match_special_tokens)
            .and_then(|s| s.find('['))
        {
            let at = search_from + found;
            let candidate = rest.get(at..).unwrap_or_default();
            let matched = SPECIAL_TOKENS
                .iter()
                .filter(|&&token| candidate.starts_with(token))
                .find_map(|&token| Some((token.len(), self.vocab.id(token)?)));
            match matched {
                Some((len, id)) => {
                    let before = rest.get(..at).unwrap_or_default();
                    if !before.is_empty() {
                        f(Segment::Text(before))?;
                    }
                    f(Segment::Special(id))?;
                    rest = rest.get(at + len..).unwrap_or_default();
                    search_from = 0;
                }
                // '[' is one byte, so `at + 1` is a char boundary.
                None => search_from = at + 1,
            }
        }
        if rest.is_empty() {
            ControlFlow::Continue(())
        } else {
            f(Segment::Text(rest))
        }
    }
}

enum Segment<'a> {
    Text(&'a str),
    Special(u32),
}

fn stop_when_full(ids: &[u32], limit: usize) -> ControlFlow<()> {
    if ids.len() >= limit {
        ControlFlow::Break(())
    } else {
        ControlFlow::Continue(())
    }
}
