//! RFC 8785 JSON Canonicalization Scheme (JCS) over `serde_json::Value`.
//!
//! Trustee hashes the runtime data with `serde_json_canonicalizer` (JCS), so
//! the guest must produce byte-identical output for REPORT_DATA to match.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use serde_json::Value;

use crate::error::CanonicalError;
#[cfg(feature = "numbers")]
use crate::number::write_number;

/// Canonical JSON text of `value` (RFC 8785).
pub fn to_canonical_string(value: &Value) -> Result<String, CanonicalError> {
    let mut out = String::new();
    write_value(&mut out, value)?;
    Ok(out)
}

fn write_value(out: &mut String, value: &Value) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        #[cfg(feature = "numbers")]
        Value::Number(n) => write_number(out, n)?,
        // What the guest hashes (the runtime data) holds strings only.
        #[cfg(not(feature = "numbers"))]
        Value::Number(_) => return Err(CanonicalError::NumbersDisabled),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            // serde_json's map orders keys by UTF-8 bytes; JCS wants UTF-16
            // code units (they differ above U+FFFF vs U+E000..U+FFFF).
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                write_value(out, v)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// RFC 8785 3.2.2.2: only `"`, `\` and C0 controls are escaped; the short
/// forms where JSON has them, else lowercase `\u00xx`. Everything else,
/// including `/`, DEL and non-ASCII, is written as UTF-8.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                // Writing into a String cannot fail.
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
