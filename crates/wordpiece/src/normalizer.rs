//! BertNormalizer(clean_text, handle_chinese_chars, strip_accents, lowercase),
//! as a lazy char stream so that truncation can stop early on huge input.

use crate::chars::{is_cjk_ideograph, is_dropped, is_nonspacing_mark, is_whitespace};
use unicode_normalization::UnicodeNormalization;

/// Yields the normalized characters of `text`, in HF's step order: clean,
/// pad CJK ideographs with spaces, NFD, drop Mn, lowercase. Each step is a
/// per-character stream transform (NFD reorders only within a run of
/// combining marks), so chaining them equals running them one by one.
pub(crate) fn normalize(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars()
        .filter(|&c| !is_dropped(c))
        .map(|c| if is_whitespace(c) { ' ' } else { c })
        .flat_map(|c| {
            let (chars, n) = if is_cjk_ideograph(c) {
                ([' ', c, ' '], 3)
            } else {
                ([c, ' ', ' '], 1)
            };
            chars.into_iter().take(n)
        })
        .nfd()
        .filter(|&c| !is_nonspacing_mark(c))
        .flat_map(char::to_lowercase)
}
