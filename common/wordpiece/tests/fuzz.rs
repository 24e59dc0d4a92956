//! Fuzz-like tests: random bytes and strings must never panic and must give
//! well-formed output. Deterministic (fixed-seed xorshift, no dependency).

#![allow(clippy::unwrap_used)]

mod common;

use wordpiece::{Tokenizer, Vocab};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn random_text(rng: &mut Rng) -> String {
    let len = rng.below(200) as usize;
    let mut s = String::new();
    for _ in 0..len {
        let c = match rng.below(6) {
            0 => char::from_u32(rng.below(0x80) as u32),
            1 => char::from_u32(rng.below(0x110000) as u32),
            2 => char::from_u32(0x300 + rng.below(0x70) as u32),
            3 => char::from_u32(0x4E00 + rng.below(0x100) as u32),
            4 => Some([' ', '[', ']', '#', '\u{301}', '\u{200D}'][rng.below(6) as usize]),
            _ => char::from_u32(0x1F300 + rng.below(0x700) as u32),
        };
        s.extend(c);
        if rng.below(20) == 0 {
            s.push_str(["[CLS]", "[SEP]", "[UNK]", "[PAD]", "[MASK]", "##"][rng.below(6) as usize]);
        }
    }
    s
}

fn check(tok: &Tokenizer, text: &str, max_len: usize) {
    let ids = tok.encode(text, max_len);
    assert!(ids.len() <= max_len);
    if max_len >= 2 {
        assert_eq!(ids.first(), Some(&101));
        assert_eq!(ids.last(), Some(&102));
        // Truncating further gives a prefix.
        let full = tok.encode(text, usize::MAX);
        assert_eq!(&ids[..ids.len() - 1], &full[..ids.len() - 1]);
    }
    assert!(ids.iter().all(|&id| (id as usize) < tok.vocab().len()));
}

#[test]
fn random_strings_never_panic() {
    let tok = common::tokenizer();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for i in 0..3000 {
        let text = random_text(&mut rng);
        let max_len = [0, 1, 2, 3, 8, 64, 256][i % 7];
        check(&tok, &text, max_len);
    }
}

#[test]
fn random_bytes_never_panic() {
    let tok = common::tokenizer();
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    for i in 0..3000 {
        let len = rng.below(300) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| rng.below(256) as u8).collect();
        let text = String::from_utf8_lossy(&bytes);
        check(&tok, &text, [2, 16, 256][i % 3]);
    }
}

#[test]
fn random_vocab_text_never_panics() {
    let base = common::vocab_text();
    let lines: Vec<&str> = base.lines().take(200).collect();
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    for _ in 0..2000 {
        let mut text = String::new();
        for _ in 0..rng.below(60) {
            match rng.below(4) {
                0 => text.push_str(&random_text(&mut rng)),
                _ => text.push_str(lines[rng.below(lines.len() as u64) as usize]),
            }
            text.push_str(["\n", "\r\n", "\n\n", ""][rng.below(4) as usize]);
        }
        if let Ok(vocab) = Vocab::from_text(&text) {
            let tok = Tokenizer::new(vocab);
            let ids = tok.encode(&random_text(&mut rng), 32);
            assert!(ids.len() <= 32);
        }
    }
}
