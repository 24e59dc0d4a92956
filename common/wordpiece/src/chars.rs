//! Character classes exactly as HF `tokenizers` defines them for BERT.
//!
//! Categories come from `tables.rs` (the Unicode 8.0 tables HF uses), not a
//! current Unicode crate: a newer release would reclassify characters added
//! since 8.0 (e.g. U+08E2 is Cf today, unassigned for HF) and break parity.

use crate::tables;
use core::cmp::Ordering;

fn in_table(c: char, table: &[(u32, u32)]) -> bool {
    let cp = u32::from(c);
    table
        .binary_search_by(|&(lo, hi)| {
            if hi < cp {
                Ordering::Less
            } else if lo > cp {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        })
        .is_ok()
}

/// Tab, LF and CR are Cc but BERT treats them as whitespace.
fn is_bert_space_control(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r')
}

/// Whitespace for clean_text: mapped to a plain space.
pub(crate) fn is_whitespace(c: char) -> bool {
    is_bert_space_control(c) || c.is_whitespace()
}

/// Removed by clean_text: NUL, U+FFFD and Cc/Cf/Co (except tab, LF, CR).
pub(crate) fn is_dropped(c: char) -> bool {
    c == '\0' || c == '\u{FFFD}' || (!is_bert_space_control(c) && in_table(c, tables::OTHER))
}

/// BERT punctuation: ASCII symbols too (`$`, `+`, `^`, ...), plus Unicode P*.
pub(crate) fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation() || in_table(c, tables::PUNCTUATION)
}

/// Mn: what accent stripping removes after NFD.
pub(crate) fn is_nonspacing_mark(c: char) -> bool {
    in_table(c, tables::NONSPACING_MARK)
}

/// The CJK ideograph blocks BERT pads with spaces. HF's list as it is: it
/// leaves out U+2B820..=U+2B91F and later extensions, and so do we, for parity.
pub(crate) fn is_cjk_ideograph(c: char) -> bool {
    matches!(
        u32::from(c),
        0x4E00..=0x9FFF
            | 0x3400..=0x4DBF
            | 0x20000..=0x2A6DF
            | 0x2A700..=0x2B73F
            | 0x2B740..=0x2B81F
            | 0x2B920..=0x2CEAF
            | 0xF900..=0xFAFF
            | 0x2F800..=0x2FA1F
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_categories::UnicodeCategories;

    fn all_chars() -> impl Iterator<Item = char> {
        (0..=0x10FFFF).filter_map(char::from_u32)
    }

    /// Our range tables must equal, on every code point, the crate HF uses.
    #[test]
    fn tables_match_unicode_categories() {
        for c in all_chars() {
            let hf_dropped =
                c == '\0' || c == '\u{FFFD}' || (!matches!(c, '\t' | '\n' | '\r') && c.is_other());
            assert_eq!(is_dropped(c), hf_dropped, "dropped U+{:04X}", u32::from(c));
            let hf_punct = c.is_ascii_punctuation() || c.is_punctuation();
            assert_eq!(
                is_punctuation(c),
                hf_punct,
                "punctuation U+{:04X}",
                u32::from(c)
            );
            assert_eq!(
                is_nonspacing_mark(c),
                c.is_mark_nonspacing(),
                "Mn U+{:04X}",
                u32::from(c)
            );
        }
    }

    #[test]
    fn spot_checks() {
        assert!(is_punctuation('$') && is_punctuation('¿') && is_punctuation('、'));
        assert!(!is_punctuation('a') && !is_punctuation('€'));
        // Unicode 9+ additions are not classified, as in HF.
        assert!(!is_punctuation('\u{2E43}') && !is_dropped('\u{08E2}'));
        assert!(is_dropped('\u{200D}') && is_dropped('\u{E000}') && !is_dropped('\t'));
        assert!(is_whitespace('\u{3000}') && is_whitespace('\r'));
        assert!(is_cjk_ideograph('中') && !is_cjk_ideograph('か') && !is_cjk_ideograph('한'));
    }
}
