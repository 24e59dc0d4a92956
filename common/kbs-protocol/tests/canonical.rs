//! RFC 8785 test examples (sections 3.2.2, 3.2.3 and appendix B) and the
//! Trustee attestation-service known answer.

use kbs_protocol::{to_canonical_string, write_ecmascript_number, CanonicalError};
use serde_json::Value;
use sha2::{Digest, Sha384};

fn canon(json: &str) -> String {
    let v: Value = serde_json::from_str(json).expect("test JSON parses");
    to_canonical_string(&v).expect("canonicalisable")
}

#[test]
fn rfc8785_section_3_2_2_example() {
    let input = r#"{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }"#;
    let expected = "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\"string\":\"\u{20ac}$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";
    assert_eq!(canon(input), expected);
}

#[test]
fn rfc8785_section_3_2_3_sorting() {
    let input = r#"{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }"#;
    let expected = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
\"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
    assert_eq!(canon(input), expected);
}

/// RFC 8785 appendix B: IEEE-754 bit patterns and their canonical text
/// (each also checked against node's `String(x)` when written).
const APPENDIX_B: &[(u64, &str)] = &[
    (0x0000000000000000, "0"),
    (0x8000000000000000, "0"),
    (0x0000000000000001, "5e-324"),
    (0x8000000000000001, "-5e-324"),
    (0x7fefffffffffffff, "1.7976931348623157e+308"),
    (0xffefffffffffffff, "-1.7976931348623157e+308"),
    (0x4340000000000000, "9007199254740992"),
    (0xc340000000000000, "-9007199254740992"),
    (0x4430000000000000, "295147905179352830000"),
    (0x44b52d02c7e14af5, "9.999999999999997e+22"),
    (0x44b52d02c7e14af6, "1e+23"),
    (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
    (0x444b1ae4d6e2ef4e, "999999999999999700000"),
    (0x444b1ae4d6e2ef4f, "999999999999999900000"),
    (0x444b1ae4d6e2ef50, "1e+21"),
    (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
    (0x3eb0c6f7a0b5ed8d, "0.000001"),
    (0x41b3de4355555553, "333333333.3333332"),
    (0x41b3de4355555554, "333333333.33333325"),
    (0x41b3de4355555555, "333333333.3333333"),
    (0x41b3de4355555556, "333333333.3333334"),
    (0x41b3de4355555557, "333333333.33333343"),
    (0xbecbf647612f3696, "-0.0000033333333333333333"),
    (0x43143ff3c1cb0959, "1424953923781206.2"),
];

#[test]
fn rfc8785_appendix_b_numbers() {
    for &(bits, expected) in APPENDIX_B {
        let mut s = String::new();
        write_ecmascript_number(&mut s, f64::from_bits(bits)).expect("finite");
        assert_eq!(s, expected, "bits {bits:016x}");
    }
}

#[test]
fn non_finite_numbers_are_rejected() {
    for bits in [
        0x7fffffffffffffffu64,
        0x7ff0000000000000,
        0xfff0000000000000,
    ] {
        let mut s = String::new();
        assert_eq!(
            write_ecmascript_number(&mut s, f64::from_bits(bits)),
            Err(CanonicalError::NonFiniteNumber)
        );
    }
}

#[test]
fn integers() {
    assert_eq!(
        canon("[0, -0, 1, -1, 42, 9007199254740992, -9007199254740992]"),
        "[0,0,1,-1,42,9007199254740992,-9007199254740992]"
    );
    // Beyond 2^53 the value is the nearest double, as ECMAScript reads it.
    assert_eq!(
        canon("[18446744073709551615, 9007199254740993]"),
        "[18446744073709552000,9007199254740992]"
    );
    assert_eq!(canon("[1.0, 100, 1e2, 1E+2]"), "[1,100,100,100]");
}

#[test]
fn string_escaping() {
    // Short escapes where JSON has them, lowercase \u00xx for other C0
    // controls, nothing else escaped (not '/', DEL, U+2028, non-ASCII).
    assert_eq!(
        canon(r#""\b\f\n\r\t\u0000\u001F\u007f/\u2028é""#),
        "\"\\b\\f\\n\\r\\t\\u0000\\u001f\u{7f}/\u{2028}\u{e9}\""
    );
}

#[test]
fn nested_objects_and_whitespace() {
    assert_eq!(
        canon(r#" { "b" : [ 1 , { "z" : null , "a" : { } } ] , "a" : [ ] } "#),
        r#"{"a":[],"b":[1,{"a":{},"z":null}]}"#
    );
}

/// Trustee attestation-service/src/lib.rs test (via docs/kbs.md section 1.7).
#[test]
fn trustee_attestation_service_known_answer() {
    let json = canon(r#"{"b":1,"a":"test","c":{"d":"e"}}"#);
    assert_eq!(json, r#"{"a":"test","b":1,"c":{"d":"e"}}"#);
    let digest = Sha384::digest(json.as_bytes());
    assert_eq!(
        hex(&digest),
        "e71ce8e70d814ba6639c3612ebee0ff1f76f650f8dbb5e47157e0f3f525cd22c4597480a186427c813ca941da78870c3"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Independent check of the shortest-digit choice on many doubles: Python's
/// `repr` (David Gay's correctly rounded shortest, ties to even) against our
/// ECMAScript text, compared as (digits, exponent).
#[test]
fn random_doubles_match_python_repr() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut values = Vec::new();
    while values.len() < 20_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let f = f64::from_bits(state);
        if f.is_finite() {
            values.push(f);
        }
    }
    // Short decimal values exercise exact ties (x.5 at the last place).
    for i in 0..2000u32 {
        values.push(f64::from(i) * 1.25e-2 + 1e15);
    }
    let input: String = values
        .iter()
        .map(|f| format!("{:016x}\n", f.to_bits()))
        .collect();
    let script = "import sys,struct\nfor l in sys.stdin.read().split():\n print(repr(struct.unpack('>d', bytes.fromhex(l))[0]))";
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("python3 finishes");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let reprs: Vec<&str> = text.lines().collect();
    assert_eq!(reprs.len(), values.len());
    for (f, py) in values.iter().zip(reprs) {
        let mut ours = String::new();
        write_ecmascript_number(&mut ours, *f).expect("finite");
        assert_eq!(digits_and_exp(&ours), digits_and_exp(py), "{py} vs {ours}");
        // Our text parses back to the same double.
        assert_eq!(ours.parse::<f64>().expect("parses"), *f);
    }
}

/// (sign, significant digits, decimal exponent of the first digit).
fn digits_and_exp(s: &str) -> (bool, String, i32) {
    let neg = s.starts_with('-');
    let s = s.trim_start_matches('-');
    let (mant, exp) = match s.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().expect("exponent")),
        None => (s, 0),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let all: String = format!("{int}{frac}");
    let lead = all.len() - all.trim_start_matches('0').len();
    let digits = all
        .trim_start_matches('0')
        .trim_end_matches('0')
        .to_string();
    if digits.is_empty() {
        return (false, "0".into(), 0);
    }
    (neg, digits, exp + int.len() as i32 - 1 - lead as i32)
}
