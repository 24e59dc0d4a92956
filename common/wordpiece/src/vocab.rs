//! The WordPiece vocabulary: `vocab.txt`, one token per line, id = line index.

use crate::error::TokenizerError;
use alloc::string::String;
use alloc::vec::Vec;

/// Ids of the special tokens BERT needs; `mask` is optional.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpecialIds {
    pub cls: u32,
    pub sep: u32,
    pub unk: u32,
    pub pad: u32,
    pub mask: Option<u32>,
}

/// A validated vocabulary. Tokens are stored back to back in one string and
/// found by binary search over ids sorted by token bytes: compact, no hashing,
/// and lookups of `##` + piece need no allocation.
#[derive(Debug, Clone)]
pub struct Vocab {
    data: String,
    /// Byte range of each token in `data`, indexed by id.
    spans: Vec<(u32, u32)>,
    /// All ids, ordered by their token's bytes.
    sorted: Vec<u32>,
    specials: SpecialIds,
}

impl Vocab {
    /// Upper bound on the number of tokens (BERT vocabularies have ~30k).
    pub const MAX_TOKENS: usize = 1 << 20;
    /// Upper bound on one token's length in bytes.
    pub const MAX_TOKEN_BYTES: usize = 256;

    /// Parses `vocab.txt`. Lines end in `\n` or `\r\n`; a final newline is
    /// optional. Every line must be a distinct, non-empty token without
    /// whitespace or control characters, and `[CLS]`, `[SEP]`, `[UNK]`,
    /// `[PAD]` must be present.
    pub fn from_text(text: &str) -> Result<Vocab, TokenizerError> {
        let body = text.strip_suffix('\n').unwrap_or(text);
        if body.is_empty() {
            return Err(TokenizerError::EmptyVocab);
        }
        let too_many = || TokenizerError::TooManyTokens {
            max: Self::MAX_TOKENS,
        };
        let mut data = String::new();
        let mut spans = Vec::new();
        for (index, raw) in body.split('\n').enumerate() {
            let line = index + 1;
            if index >= Self::MAX_TOKENS {
                return Err(too_many());
            }
            let token = raw.strip_suffix('\r').unwrap_or(raw);
            if token.is_empty() {
                return Err(TokenizerError::EmptyToken { line });
            }
            if token.len() > Self::MAX_TOKEN_BYTES {
                return Err(TokenizerError::TokenTooLong {
                    line,
                    len: token.len(),
                });
            }
            if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(TokenizerError::InvalidToken { line });
            }
            // Bounded above: MAX_TOKENS * MAX_TOKEN_BYTES fits in u32.
            let start = u32::try_from(data.len()).map_err(|_| too_many())?;
            data.push_str(token);
            let end = u32::try_from(data.len()).map_err(|_| too_many())?;
            spans.push((start, end));
        }
        let mut vocab = Vocab {
            data,
            spans,
            sorted: Vec::new(),
            // Set below, once `id` can search the sorted tokens.
            specials: SpecialIds::default(),
        };
        let count = u32::try_from(vocab.spans.len()).map_err(|_| too_many())?;
        let mut sorted: Vec<u32> = (0..count).collect();
        sorted.sort_unstable_by(|&a, &b| {
            vocab
                .token_bytes(a)
                .cmp(vocab.token_bytes(b))
                .then(a.cmp(&b))
        });
        for pair in sorted.windows(2) {
            if let [a, b] = *pair {
                if vocab.token_bytes(a) == vocab.token_bytes(b) {
                    return Err(TokenizerError::DuplicateToken {
                        first_line: a as usize + 1,
                        line: b as usize + 1,
                    });
                }
            }
        }
        vocab.sorted = sorted;
        let required = |token: &'static str| {
            vocab
                .id(token)
                .ok_or(TokenizerError::MissingSpecialToken { token })
        };
        vocab.specials = SpecialIds {
            cls: required("[CLS]")?,
            sep: required("[SEP]")?,
            unk: required("[UNK]")?,
            pad: required("[PAD]")?,
            mask: vocab.id("[MASK]"),
        };
        Ok(vocab)
    }

    /// Number of tokens.
    #[cfg(feature = "inspect")]
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Always false for a validated vocabulary; here for API symmetry.
    #[cfg(feature = "inspect")]
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The token with this id.
    pub fn token(&self, id: u32) -> Option<&str> {
        let &(start, end) = self.spans.get(id as usize)?;
        self.data.get(start as usize..end as usize)
    }

    /// The id of this exact token.
    pub fn id(&self, token: &str) -> Option<u32> {
        self.find_with_prefix("", token)
    }

    /// Ids of the special tokens.
    pub fn specials(&self) -> SpecialIds {
        self.specials
    }

    /// The id of the token `prefix` + `rest`, without building that string.
    pub(crate) fn find_with_prefix(&self, prefix: &str, rest: &str) -> Option<u32> {
        let wanted = || prefix.bytes().chain(rest.bytes());
        self.sorted
            .binary_search_by(|&id| self.token_bytes(id).iter().copied().cmp(wanted()))
            .ok()
            .and_then(|i| self.sorted.get(i).copied())
    }

    fn token_bytes(&self, id: u32) -> &[u8] {
        self.token(id).map_or(&[], str::as_bytes)
    }
}
