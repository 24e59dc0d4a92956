//! The one error type of the crate: only vocabulary loading can fail.

/// Why a vocabulary was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenizerError {
    /// The vocabulary text has no tokens.
    #[error("vocabulary is empty")]
    EmptyVocab,
    /// More lines than [`crate::Vocab::MAX_TOKENS`].
    #[error("vocabulary has more than {max} tokens")]
    TooManyTokens { max: usize },
    /// A line (1-based) is empty.
    #[error("vocabulary line {line} is empty")]
    EmptyToken { line: usize },
    /// A line (1-based) is longer than [`crate::Vocab::MAX_TOKEN_BYTES`].
    #[error("vocabulary line {line} is too long ({len} bytes)")]
    TokenTooLong { line: usize, len: usize },
    /// A line (1-based) contains whitespace or a control character, which no
    /// word can ever match.
    #[error("vocabulary line {line} contains whitespace or a control character")]
    InvalidToken { line: usize },
    /// The same token appears on two lines (1-based).
    #[error("vocabulary line {line} duplicates line {first_line}")]
    DuplicateToken { first_line: usize, line: usize },
    /// One of `[CLS]`, `[SEP]`, `[UNK]`, `[PAD]` is missing.
    #[error("vocabulary has no {token} token")]
    MissingSpecialToken { token: &'static str },
}
