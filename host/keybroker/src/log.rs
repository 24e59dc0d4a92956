//! One-line log records on stderr: `keybroker: LEVEL event key=value ...`.
//!
//! Values that come from the network are printed with `{:?}` (quoted,
//! escaped) and cut short, so a client cannot forge log lines. Resource
//! bytes, keys and session ids are never passed here.

use std::fmt::Display;
use std::io::Write;

use crate::reason::Reason;

const MAX_DETAIL: usize = 300;

fn emit(level: &str, line: &str) {
    let mut err = std::io::stderr().lock();
    // A failed log write must not take the broker down.
    let _ = writeln!(err, "keybroker: {level} {line}");
}

pub fn info(line: impl Display) {
    emit("INFO", &line.to_string());
}

pub fn warn(line: impl Display) {
    emit("WARNING", &line.to_string());
}

/// A value from outside, quoted and cut to a bounded length.
pub fn quoted(text: &str) -> String {
    let cut: String = text.chars().take(MAX_DETAIL).collect();
    format!("{cut:?}")
}

/// The one line every refusal produces.
pub fn refusal(endpoint: &str, session: Option<u64>, reason: Reason, detail: &str) {
    let session = session.map_or_else(|| "-".to_string(), |n| n.to_string());
    emit(
        "REFUSED",
        &format!(
            "reason={reason} endpoint={endpoint} session={session} detail={}",
            quoted(detail)
        ),
    );
}
