//! Token-for-token comparison with HF `tokenizers` on the committed corpus
//! (testdata/reference.jsonl, made by testdata/make_reference.py).

#![allow(clippy::unwrap_used)]

mod common;

use serde_json::Value;

/// sentence-transformers' max_seq_length for all-MiniLM-L6-v2.
const MAX_LEN: usize = 256;

struct Case {
    text: String,
    ids: Vec<u32>,
}

fn load_cases() -> Vec<Case> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/reference.jsonl");
    let data = std::fs::read_to_string(path).expect("read testdata/reference.jsonl");
    data.lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            Case {
                text: v["text"].as_str().unwrap().to_owned(),
                ids: v["ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| u32::try_from(x.as_u64().unwrap()).unwrap())
                    .collect(),
            }
        })
        .collect()
}

#[test]
fn matches_hf_tokenizers_on_reference_corpus() {
    let tok = common::tokenizer();
    let cases = load_cases();
    assert!(cases.len() >= 500, "corpus too small: {}", cases.len());
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let got = tok.encode(&case.text, MAX_LEN);
        if got != case.ids {
            failures.push((i, case, got));
        }
    }
    for (i, case, got) in failures.iter().take(10) {
        let names = |ids: &[u32]| -> Vec<String> {
            ids.iter()
                .map(|&id| tok.vocab().token(id).unwrap_or("?").to_owned())
                .collect()
        };
        let first_diff = case
            .ids
            .iter()
            .zip(got.iter())
            .take_while(|(a, b)| a == b)
            .count();
        eprintln!(
            "case {i}: {:?}\n  first difference at position {first_diff}\n  expected {:?}\n  got      {:?}",
            case.text,
            names(&case.ids),
            names(got)
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} strings differ from HF tokenizers (first ones above)",
        failures.len(),
        cases.len()
    );
    eprintln!("all {} reference strings match", cases.len());
}
