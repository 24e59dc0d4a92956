//! WordPiece: greedy longest-match-first over the vocabulary, `##` marking
//! a piece that continues a word; a word that cannot be covered, or is
//! longer than the limit, becomes a single `[UNK]`.

use crate::vocab::Vocab;
use alloc::vec::Vec;

/// Prefix of non-initial pieces.
pub(crate) const CONTINUATION: &str = "##";

/// Appends the ids of `word` (`char_count` characters) to `out`.
/// `pieces` is scratch space, reused across calls.
pub(crate) fn tokenize_word(
    vocab: &Vocab,
    word: &str,
    char_count: usize,
    max_chars: usize,
    pieces: &mut Vec<u32>,
    out: &mut Vec<u32>,
) {
    let unk = vocab.specials().unk;
    if char_count > max_chars {
        out.push(unk);
        return;
    }
    pieces.clear();
    let mut start = 0;
    while start < word.len() {
        let mut rest = word.get(start..).unwrap_or_default();
        let found = loop {
            if rest.is_empty() {
                break None;
            }
            let prefix = if start == 0 { "" } else { CONTINUATION };
            if let Some(id) = vocab.find_with_prefix(prefix, rest) {
                break Some(id);
            }
            // Drop the last character and try the shorter piece.
            let mut it = rest.chars();
            it.next_back();
            rest = it.as_str();
        };
        match found {
            Some(id) => {
                pieces.push(id);
                start += rest.len();
            }
            None => {
                out.push(unk);
                return;
            }
        }
    }
    out.extend_from_slice(pieces);
}
