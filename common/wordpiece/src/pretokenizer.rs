//! BertPreTokenizer: split on whitespace (dropped) and on every punctuation
//! character (kept as a word of its own).

use crate::chars::is_punctuation;
use core::ops::ControlFlow;

/// Splits `chars` into words and calls `word(text, char_count)` for each.
///
/// Only the first `keep_chars` characters of a word are stored: a longer
/// word becomes `[UNK]` whatever its content, so memory stays bounded on
/// hostile input while `char_count` is still exact.
pub(crate) fn for_each_word<I, F>(
    chars: I,
    keep_chars: usize,
    buf: &mut alloc::string::String,
    mut word: F,
) -> ControlFlow<()>
where
    I: Iterator<Item = char>,
    F: FnMut(&str, usize) -> ControlFlow<()>,
{
    buf.clear();
    let mut count = 0usize;
    for c in chars {
        if c.is_whitespace() || is_punctuation(c) {
            if count > 0 {
                word(buf, count)?;
                buf.clear();
                count = 0;
            }
            if !c.is_whitespace() {
                let mut one = [0u8; 4];
                word(c.encode_utf8(&mut one), 1)?;
            }
        } else {
            if count < keep_chars {
                buf.push(c);
            }
            count = count.saturating_add(1);
        }
    }
    if count > 0 {
        word(buf, count)?;
    }
    ControlFlow::Continue(())
}
