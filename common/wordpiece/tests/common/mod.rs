//! Shared by the integration tests: the committed vocabulary.

use wordpiece::{Tokenizer, Vocab};

pub fn vocab_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/vocab.txt");
    std::fs::read_to_string(path).expect("read testdata/vocab.txt")
}

pub fn tokenizer() -> Tokenizer {
    Tokenizer::new(Vocab::from_text(&vocab_text()).expect("valid vocab"))
}
