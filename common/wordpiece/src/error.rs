//! The one error type of the crate: only vocabulary loading can fail.

use core::fmt;

/// Why a vocabulary was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenizerError {
    /// The vocabulary text has no tokens.
    EmptyVocab,
    /// More lines than [`crate::Vocab::MAX_TOKENS`].
    TooManyTokens { max: usize },
    /// A line (1-based) is empty.
    EmptyToken { line: usize },
    /// A line (1-based) is longer than [`crate::Vocab::MAX_TOKEN_BYTES`].
    TokenTooLong { line: usize, len: usize },
    /// A line (1-based) contains whitespace or a control character, which no
    /// word can ever match.
    InvalidToken { line: usize },
    /// The same token appears on two lines (1-based).
    DuplicateToken { first_line: usize, line: usize },
    /// One of `[CLS]`, `[SEP]`, `[UNK]`, `[PAD]` is missing.
    MissingSpecialToken { token: &'static str },
}

impl fmt::Display for TokenizerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyVocab => write!(f, "vocabulary is empty"),
            Self::TooManyTokens { max } => write!(f, "vocabulary has more than {max} tokens"),
            Self::EmptyToken { line } => write!(f, "vocabulary line {line} is empty"),
            Self::TokenTooLong { line, len } => {
                write!(f, "vocabulary line {line} is too long ({len} bytes)")
            }
            Self::InvalidToken { line } => {
                write!(
                    f,
                    "vocabulary line {line} contains whitespace or a control character"
                )
            }
            Self::DuplicateToken { first_line, line } => {
                write!(f, "vocabulary line {line} duplicates line {first_line}")
            }
            Self::MissingSpecialToken { token } => {
                write!(f, "vocabulary has no {token} token")
            }
        }
    }
}

impl core::error::Error for TokenizerError {}
