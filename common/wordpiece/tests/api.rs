//! Public API behaviour: vocabulary validation, specials, truncation.

#![allow(clippy::unwrap_used)]

mod common;

use wordpiece::{SpecialIds, Tokenizer, TokenizerError, Vocab};

const MINI: &str = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n##s\nworld\n";

#[test]
fn real_vocab_loads() {
    let vocab = Vocab::from_text(&common::vocab_text()).unwrap();
    assert_eq!(vocab.len(), 30522);
    assert_eq!(
        vocab.specials(),
        SpecialIds {
            cls: 101,
            sep: 102,
            unk: 100,
            pad: 0,
            mask: Some(103)
        }
    );
    assert_eq!(vocab.id("hello"), Some(7592));
    assert_eq!(vocab.token(7592), Some("hello"));
    assert_eq!(vocab.token(30522), None);
    assert_eq!(vocab.id("##s"), Some(2015));
    assert_eq!(vocab.id("nonexistenttoken"), None);
    for id in [0, 1, 999, 1000, 30521] {
        assert_eq!(vocab.id(vocab.token(id).unwrap()), Some(id));
    }
}

#[test]
fn vocab_validation() {
    use TokenizerError::*;
    assert_eq!(Vocab::from_text("").unwrap_err(), EmptyVocab);
    assert_eq!(Vocab::from_text("\n").unwrap_err(), EmptyVocab);
    assert_eq!(
        Vocab::from_text("[PAD]\n[UNK]\n[CLS]\n").unwrap_err(),
        MissingSpecialToken { token: "[SEP]" }
    );
    assert_eq!(
        Vocab::from_text("[PAD]\n[UNK]\n\n[CLS]\n[SEP]").unwrap_err(),
        EmptyToken { line: 3 }
    );
    assert_eq!(
        Vocab::from_text("[PAD]\n[UNK]\na\n[CLS]\n[SEP]\na\n").unwrap_err(),
        DuplicateToken {
            first_line: 3,
            line: 6
        }
    );
    assert_eq!(
        Vocab::from_text("[PAD]\n[UNK]\na b\n[CLS]\n[SEP]").unwrap_err(),
        InvalidToken { line: 3 }
    );
    assert_eq!(
        Vocab::from_text("[PAD]\n[UNK]\na\u{7}\n[CLS]\n[SEP]").unwrap_err(),
        InvalidToken { line: 3 }
    );
    let long = format!("[PAD]\n{}\n", "x".repeat(Vocab::MAX_TOKEN_BYTES + 1));
    assert_eq!(
        Vocab::from_text(&long).unwrap_err(),
        TokenTooLong {
            line: 2,
            len: Vocab::MAX_TOKEN_BYTES + 1
        }
    );
    let many: String = (0..=Vocab::MAX_TOKENS).map(|i| format!("t{i}\n")).collect();
    assert_eq!(
        Vocab::from_text(&many).unwrap_err(),
        TooManyTokens {
            max: Vocab::MAX_TOKENS
        }
    );
    // CRLF line ends and a missing final newline are fine.
    let crlf = Vocab::from_text("[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]").unwrap();
    assert_eq!(crlf.id("[SEP]"), Some(3));
    assert_eq!(crlf.specials().mask, None);
    // Errors print something useful.
    assert_eq!(
        EmptyToken { line: 3 }.to_string(),
        "vocabulary line 3 is empty"
    );
}

#[test]
fn encode_basics() {
    let tok = Tokenizer::new(Vocab::from_text(MINI).unwrap());
    assert_eq!(tok.encode("Hello worlds!", 256), [2, 4, 6, 5, 1, 3]);
    assert_eq!(
        tok.encode_to_tokens("Hello worlds", 256),
        ["[CLS]", "hello", "world", "##s", "[SEP]"]
    );
    assert_eq!(tok.encode("", 256), [2, 3]);
    assert_eq!(tok.encode(" \t\n ", 256), [2, 3]);
    assert_eq!(tok.encode("hellos", 256), [2, 4, 5, 3]);
    assert_eq!(tok.encode("shello", 256), [2, 1, 3]);
}

#[test]
fn truncation_limits() {
    let tok = Tokenizer::new(Vocab::from_text(MINI).unwrap());
    let text = "hello world hello world";
    assert_eq!(tok.encode(text, 0), Vec::<u32>::new());
    assert_eq!(tok.encode(text, 1), [2]);
    assert_eq!(tok.encode(text, 2), [2, 3]);
    assert_eq!(tok.encode(text, 3), [2, 4, 3]);
    assert_eq!(tok.encode(text, 5), [2, 4, 6, 4, 3]);
    assert_eq!(tok.encode(text, 100), [2, 4, 6, 4, 6, 3]);
    assert_eq!(tok.encode(text, usize::MAX), [2, 4, 6, 4, 6, 3]);
    // A cut inside a word keeps its first pieces, as HF does.
    assert_eq!(tok.encode("hellos", 3), [2, 4, 3]);
}

#[test]
fn truncation_is_a_prefix_on_real_text() {
    let tok = common::tokenizer();
    let text = "Supercalifragilistic naïve café 中文 😀 [SEP] don't stop-believing!!! ".repeat(8);
    let full = tok.encode(&text, usize::MAX);
    assert!(full.len() > 100);
    for max_len in 2..full.len() + 3 {
        let got = tok.encode(&text, max_len);
        let body = max_len.min(full.len()) - 2;
        let mut want = full[..body + 1].to_vec();
        want.push(102);
        assert_eq!(got, want, "max_len {max_len}");
    }
}

#[test]
fn special_tokens_in_text() {
    let tok = common::tokenizer();
    assert_eq!(
        tok.encode_to_tokens("x[CLS]y [cls] [MASK][PAD]", 256),
        ["[CLS]", "x", "[CLS]", "y", "[", "cl", "##s", "]", "[MASK]", "[PAD]", "[SEP]"]
    );
    assert_eq!(
        tok.encode_to_tokens("[[SEP]", 256),
        ["[CLS]", "[", "[SEP]", "[SEP]"]
    );
    let plain = common::tokenizer().with_special_token_matching(false);
    assert_eq!(
        plain.encode_to_tokens("a [SEP]", 256),
        ["[CLS]", "a", "[", "sep", "]", "[SEP]"]
    );
}

#[test]
fn long_words_become_unk() {
    let tok = common::tokenizer();
    // 100 characters is still within the limit (50 pieces, as HF gives).
    let at_limit = tok.encode(&"a".repeat(100), 256);
    assert_eq!(at_limit.len(), 52);
    assert!(!at_limit.contains(&100));
    assert_eq!(tok.encode(&"a".repeat(101), 256), [101, 100, 102]);
    // Characters are counted after normalization: "é" is one char after NFD + strip.
    assert_eq!(tok.encode(&"é".repeat(101), 256), [101, 100, 102]);
}

#[test]
fn huge_input_stops_early() {
    let tok = common::tokenizer();
    let text = "lorem ipsum dolor sit amet ".repeat(400_000); // ~10 MB
    let start = std::time::Instant::now();
    let ids = tok.encode(&text, 256);
    assert_eq!(ids.len(), 256);
    assert!(start.elapsed().as_millis() < 1000, "{:?}", start.elapsed());
    // One 10 MB word: read to its end, stored only up to the limit.
    let word = "x".repeat(10_000_000);
    assert_eq!(tok.encode(&word, 256), [101, 100, 102]);
}
