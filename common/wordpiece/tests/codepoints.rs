//! Exhaustive check over every Unicode scalar value against HF output made
//! by testdata/codepoints.py (not committed: ~18 MB). Run by hand:
//! `WORDPIECE_CODEPOINTS=/tmp/codepoints.txt cargo test -p wordpiece --test codepoints -- --ignored`

#![allow(clippy::unwrap_used)]

mod common;

fn body(tok: &wordpiece::Tokenizer, text: &str) -> String {
    let ids = tok.encode(text, usize::MAX);
    let inner = ids.get(1..ids.len() - 1).unwrap_or_default();
    inner
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
#[ignore = "needs WORDPIECE_CODEPOINTS from testdata/codepoints.py"]
fn matches_hf_on_every_code_point() {
    let path = std::env::var("WORDPIECE_CODEPOINTS").expect("set WORDPIECE_CODEPOINTS");
    let data = std::fs::read_to_string(path).unwrap();
    let tok = common::tokenizer();
    let mut checked = 0usize;
    let mut bad = Vec::new();
    for line in data.lines() {
        let (cp, rest) = line.split_once(' ').unwrap();
        let (wrapped, alone) = rest.split_once(" | ").unwrap();
        let c = char::from_u32(u32::from_str_radix(cp, 16).unwrap()).unwrap();
        let got_wrapped = body(&tok, &format!("x{c}x"));
        let got_alone = body(&tok, &c.to_string());
        if got_wrapped != wrapped || got_alone != alone.trim_end() {
            bad.push(format!(
                "U+{cp:>04}: x{{c}}x expected [{wrapped}] got [{got_wrapped}]; alone expected [{alone}] got [{got_alone}]"
            ));
        }
        checked += 1;
    }
    for b in bad.iter().take(40) {
        eprintln!("{b}");
    }
    assert!(
        bad.is_empty(),
        "{} of {checked} code points differ",
        bad.len()
    );
    eprintln!("all {checked} code points match");
}
