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

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    fn norm(s: &str) -> String {
        normalize(s).collect()
    }

    #[test]
    fn steps() {
        assert_eq!(norm("Héllo\tWORLD\u{0}\u{200B}!"), "hello world!");
        assert_eq!(norm("中文ab"), " 中  文 ab");
        assert_eq!(norm("Ǆ İ Å"), "ǆ i a");
        assert_eq!(norm("e\u{1DF6}"), "e\u{1DF6}"); // not Mn in Unicode 8.0
        assert_eq!(norm("한"), "\u{1112}\u{1161}\u{11AB}");
        assert_eq!(norm(""), "");
    }

    /// HF's pipeline built from the crates HF uses: `unicode_categories`
    /// (Unicode 8.0) and `unicode-normalization-alignments` (Unicode 9.0 NFD).
    fn hf_norm(s: &str) -> String {
        use unicode_categories::UnicodeCategories;
        use unicode_normalization_alignments::UnicodeNormalization as OldNfd;
        let cleaned: String = s
            .chars()
            .filter(|&c| !is_dropped(c))
            .map(|c| if is_whitespace(c) { ' ' } else { c })
            .flat_map(|c| {
                if is_cjk_ideograph(c) {
                    alloc::vec![' ', c, ' ']
                } else {
                    alloc::vec![c]
                }
            })
            .collect();
        OldNfd::nfd(cleaned.as_str())
            .map(|(c, _)| c)
            .filter(|c| !c.is_mark_nonspacing())
            .flat_map(char::to_lowercase)
            .collect()
    }

    fn word_ids(vocab: &crate::Vocab, normalized: &str) -> alloc::vec::Vec<u32> {
        let (mut buf, mut pieces, mut ids) = (String::new(), alloc::vec![], alloc::vec![]);
        let _ = crate::pretokenizer::for_each_word(normalized.chars(), 101, &mut buf, |w, n| {
            crate::wordpiece::tokenize_word(vocab, w, n, 100, &mut pieces, &mut ids);
            core::ops::ControlFlow::Continue(())
        });
        ids
    }

    /// Our NFD is Unicode 18.0, HF's 9.0: they differ only on characters
    /// that got a decomposition after 9.0. Check every code point, and that
    /// each difference gives the same tokens (none of those scripts is in
    /// the vocabulary, so the word is `[UNK]` either way).
    #[test]
    fn newer_nfd_gives_hf_tokens_on_every_code_point() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/vocab.txt");
        let text = std::fs::read_to_string(path).expect("read testdata/vocab.txt");
        let vocab = crate::Vocab::from_text(&text).expect("valid vocab");
        let mut differ = alloc::vec![];
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            for s in [alloc::format!("x{c}x"), alloc::format!("{c}\u{301}\u{5B0}")] {
                let (ours, hf) = (norm(&s), hf_norm(&s));
                if ours != hf {
                    differ.push(u32::from(c));
                    assert_eq!(
                        word_ids(&vocab, &ours),
                        word_ids(&vocab, &hf),
                        "U+{:04X}",
                        u32::from(c)
                    );
                }
            }
        }
        differ.dedup();
        std::eprintln!(
            "NFD 18.0 vs 9.0 differs on {} code points: {:X?}",
            differ.len(),
            differ
        );
        assert!(
            differ.len() < 200,
            "unexpectedly many NFD differences: {}",
            differ.len()
        );
    }
}
